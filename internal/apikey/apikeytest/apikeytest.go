// Package apikeytest is the conformance suite every apikey.Store
// implementation passes: the embedded one (apikey.DB) and PostgreSQL's
// (pgstore.APIKeys).
package apikeytest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/apikey"
)

// Run checks the Store that open returns (a new, empty one per call).
func Run(t *testing.T, open func(t *testing.T) apikey.Store) {
	ctx := context.Background()
	t.Run("create authenticate revoke", func(t *testing.T) {
		st := open(t)
		v0, err := st.Version(ctx)
		if err != nil {
			t.Fatal(err)
		}
		read, readSecret, err := apikey.Create(ctx, st, "investigations", apikey.Read)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := apikey.Create(ctx, st, "deposit pipeline", apikey.Screen); err != nil {
			t.Fatal(err)
		}
		if _, _, err := apikey.Create(ctx, st, " ", apikey.Read); err == nil {
			t.Error("a key without a name was created")
		}
		v1, err := st.Version(ctx)
		if err != nil || v1 == v0 {
			t.Errorf("version %d before two creates, %d after (%v): want a change", v0, v1, err)
		}
		set, err := apikey.Load(ctx, st, 0)
		if err != nil || set.Len() != 2 {
			t.Fatalf("load: %v", err)
		}
		if k, err := set.Authenticate(readSecret); err != nil || k.ID != read.ID || k.Scope != apikey.Read || k.Name != "investigations" {
			t.Fatalf("authenticate: %+v, %v", k, err)
		}
		for _, bad := range []string{"", "sk_", "sk_1", "sk_1_", readSecret + "x", "sk_9_" + readSecret[5:], strings.Replace(readSecret, "sk_1_", "sk_2_", 1)} {
			if _, err := set.Authenticate(bad); !errors.Is(err, apikey.ErrUnknown) {
				t.Errorf("secret %q authenticated: %v", bad, err)
			}
		}
		// K2: a revoked key never authenticates, and ids are not reused.
		if err := st.Revoke(ctx, read.ID); err != nil {
			t.Fatal(err)
		}
		if err := st.Revoke(ctx, 99); !errors.Is(err, apikey.ErrUnknown) {
			t.Errorf("revoking an unknown key: %v", err)
		}
		if v2, err := st.Version(ctx); err != nil || v2 == v1 {
			t.Errorf("version %d before a revocation, %d after (%v): want a change", v1, v2, err)
		}
		set, err = apikey.Load(ctx, st, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := set.Authenticate(readSecret); !errors.Is(err, apikey.ErrUnknown) {
			t.Error("a revoked key authenticated")
		}
		k3, _, err := apikey.Create(ctx, st, "third", apikey.Write)
		if err != nil || k3.ID != 3 {
			t.Errorf("new key id %d after 2 keys, one revoked: want 3 (%v)", k3.ID, err)
		}
		keys, err := st.List(ctx)
		if err != nil || len(keys) != 3 || !keys[0].Revoked || keys[1].Revoked || keys[2].Scope != apikey.Write {
			t.Fatalf("list %+v, %v", keys, err)
		}
		for _, k := range keys {
			if k.Created.IsZero() || k.Created.Location() != time.UTC || k.Hash == [32]byte{} {
				t.Errorf("key %d lists created %v, hash %x", k.ID, k.Created, k.Hash)
			}
		}
	})
	t.Run("follow", func(t *testing.T) {
		st := open(t)
		set, err := apikey.Load(ctx, st, 0)
		if err != nil || set.Len() != 0 {
			t.Fatalf("load of an empty store: %d keys, %v", set.Len(), err)
		}
		fctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); set.Follow(fctx, st, 20*time.Millisecond, nil) }()
		defer func() { stop(); <-done }()
		k, secret, err := apikey.Create(ctx, st, "late", apikey.Screen)
		if err != nil {
			t.Fatal(err)
		}
		Within(t, time.Second, "the new key authenticates", func() bool { _, err := set.Authenticate(secret); return err == nil })
		if err := st.Revoke(ctx, k.ID); err != nil {
			t.Fatal(err)
		}
		Within(t, time.Second, "the revoked key stops", func() bool { _, err := set.Authenticate(secret); return err != nil })
	})
}

// Within fails t unless cond holds within d (it polls every 10 ms): a
// deadline, not a sleep, so a fast store passes fast.
func Within(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
