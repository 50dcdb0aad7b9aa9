// Package lint holds tests that keep the architecture's layer rules, after
// Pebble's internal/lint: which stage may import which, with a reason for
// each rule. It has no code of its own.
package lint
