//go:build invariants || race

package invariants

// Enabled is true: costly self-checks run.
const Enabled = true
