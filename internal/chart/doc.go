// Package chart draws the line charts of sleuth's benchmark reports as
// standalone SVG (docs/BENCHMARKS.md embeds them).
//
// # Owns
//
// Layout (panels stacked over one x axis, ticks at round numbers), one
// polyline per series, and the legend.
//
// # Does not touch
//
// Measuring: callers pass the numbers; this package never reads a store
// or a clock.
//
// # Invariants
//
//	C1. The output is well-formed XML (SVG 1.1), with one polyline per
//	    non-empty series and every point inside its panel's plot area.
//	C2. The same input gives the same bytes.
package chart
