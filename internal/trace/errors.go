package trace

import "errors"

// Sentinels for errors.Is.
var (
	// ErrPolicy means a policy name is not one of Policies.
	ErrPolicy = errors.New("unknown taint policy")
	// ErrSource means a source argument is malformed or names nothing.
	ErrSource = errors.New("bad trace source")
)
