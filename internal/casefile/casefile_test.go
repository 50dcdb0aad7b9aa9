package casefile_test

import (
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/casefile"
	"github.com/sleuth-forensics/sleuth/internal/casefile/casefiletest"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
)

func TestEmbedded(t *testing.T) {
	casefiletest.Run(t, func(t *testing.T) casefile.Store {
		return casefile.NewDB(indextest.Open(t, t.TempDir()))
	})
}
