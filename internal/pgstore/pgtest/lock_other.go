//go:build !unix

package pgtest

import "errors"

func lockFile(string, bool) (func(), error) {
	return nil, errors.New("restarting the test server needs flock (unix)")
}
