// Package invariants turns sleuth's costly self-checks on in test builds, as
// Pebble's internal/invariants does: Enabled is true under the "invariants"
// or "race" build tags (make test sets the first), false otherwise.
//
//	if invariants.Enabled { checkSorted(keys) }
package invariants
