// Package apikey owns the API keys of sleuth serve: their names, scopes
// and hashed secrets, and the per-key rate limit.
//
// A key's secret is shown once, when it is created ("sk_<id>_<random>",
// 24 random bytes), and stored only as its SHA-256: a copy of the store
// gives no usable key. Authenticate finds the key by the id in the secret
// and compares hashes in constant time.
//
// # Owns
//
// Keyspace 0x70 of the store (index.StageKeys): 70 <id BE32> → key record.
// docs/format/index.md draws it.
//
// # Does not touch
//
// Any other keyspace; HTTP (package api applies keys and limits to
// requests).
//
// # Invariants
//
//	K1. No secret is stored: a record holds its SHA-256 only.
//	K2. A revoked key never authenticates; ids are never reused.
//	K3. Scopes are ordered by what they allow: Read (lookups), Screen
//	    (screening only), Write (everything); Allows says which routes.
//	    The store's status (NeedAny) is open to every valid key: it is
//	    the basis every screening answer cites.
package apikey
