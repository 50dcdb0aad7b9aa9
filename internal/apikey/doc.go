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
//   - Store, the interface over where keys live, with its conformance
//     suite (apikeytest.Run). DB keeps keys in keyspace 0x70 of the
//     index's store (index.StageKeys): 70 <id BE32> → key record
//     (docs/format/index.md draws it); pgstore.APIKeys keeps them in
//     PostgreSQL for several servers (sleuth serve --shared).
//   - Set, the keys a server authenticates against: Load reads them,
//     Follow polls the store's Version (every 250 ms) and reloads when it
//     changed. While the store cannot be reached (PostgreSQL down), the
//     Set keeps answering from the keys it last loaded: valid keys keep
//     working, and a key revoked during the outage stops only once the
//     store is back (K4).
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
//	K4. A Set that follows its store sees every create and revoke within
//	    its interval plus one round trip (a second with the default), and
//	    never fewer keys than it last loaded because the store failed.
package apikey
