package pgstore

import (
	"context"
	"sync"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/apikey"
	"github.com/sleuth-forensics/sleuth/internal/apikey/apikeytest"
)

// TestAPIKeysConformance runs apikey's conformance suite on PostgreSQL:
// the same suite the embedded store passes.
func TestAPIKeysConformance(t *testing.T) {
	dsn(t)
	apikeytest.Run(t, func(t *testing.T) apikey.Store { return open(t, freshSchema(t)).APIKeys() })
}

// TestAPIKeysTwoServers: keys created from two pools (two servers) at
// once get distinct ids, and each server's Set (following the store)
// authenticates the other's keys.
func TestAPIKeysTwoServers(t *testing.T) {
	d := freshSchema(t)
	a, b := open(t, d).APIKeys(), open(t, d).APIKeys()
	ctx := context.Background()
	const n = 10
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		secrets []string
		ids     = map[uint32]bool{}
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := apikey.Store(a)
			if i%2 == 1 {
				st = b
			}
			k, s, err := apikey.Create(ctx, st, "client", apikey.Screen)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if ids[k.ID] {
				t.Errorf("id %d given twice", k.ID)
			}
			ids[k.ID] = true
			secrets = append(secrets, s)
		}()
	}
	wg.Wait()
	set, err := apikey.Load(ctx, b, 0)
	if err != nil || set.Len() != n {
		t.Fatalf("server B loads %d keys, %v; want %d", set.Len(), err, n)
	}
	for _, s := range secrets {
		if _, err := set.Authenticate(s); err != nil {
			t.Errorf("a key made on one server does not authenticate on B: %v", err)
		}
	}
}
