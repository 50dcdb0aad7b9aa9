package apikey_test

import (
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/apikey"
	"github.com/sleuth-forensics/sleuth/internal/apikey/apikeytest"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
)

// TestConformance runs the suite every Store passes on the embedded one.
func TestConformance(t *testing.T) {
	apikeytest.Run(t, func(t *testing.T) apikey.Store { return apikey.NewDB(indextest.Open(t, t.TempDir())) })
}
