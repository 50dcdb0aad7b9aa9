package apikey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/encoding"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/poll"
)

const pKey = index.StageKeys // 70 <id BE32> -> record

// Scope is what a key may do.
type Scope uint8

const (
	// Read: lookups (addresses, transactions, blocks, entities, labels,
	// status).
	Read Scope = 1
	// Screen: screening only (GET/POST /v1/screen and the Chainalysis and
	// TRM drop-ins): what a deposit pipeline needs, nothing more.
	Screen Scope = 2
	// Write: everything.
	Write Scope = 3
)

func (s Scope) String() string {
	switch s {
	case Read:
		return "read"
	case Screen:
		return "screen"
	case Write:
		return "write"
	}
	return fmt.Sprintf("scope(%d)", uint8(s))
}

// ParseScope reads read, screen or write.
func ParseScope(s string) (Scope, error) {
	for _, sc := range []Scope{Read, Screen, Write} {
		if s == sc.String() {
			return sc, nil
		}
	}
	return 0, fmt.Errorf("unknown scope %q (want read, screen or write)", s)
}

// Need is what a route asks of a key.
type Need uint8

const (
	NeedRead Need = iota
	NeedScreen
	NeedWrite
	// NeedAny: any valid key (the store's status, which every screening
	// answer cites as its basis).
	NeedAny
)

// Allows reports whether scope s may use a route that needs n.
func (s Scope) Allows(n Need) bool {
	if n == NeedAny {
		return s == Read || s == Screen || s == Write
	}
	switch s {
	case Write:
		return true
	case Read:
		return n == NeedRead
	case Screen:
		return n == NeedScreen
	}
	return false
}

// Key is one stored key (never its secret).
type Key struct {
	ID      uint32    `json:"id"`
	Name    string    `json:"name"`
	Scope   Scope     `json:"-"`
	Created time.Time `json:"created"`
	Revoked bool      `json:"revoked"`
	// Hash is the SHA-256 of the secret (K1), for the stores.
	Hash [32]byte `json:"-"`
}

// ErrUnknown is returned for a secret that names no valid key.
var ErrUnknown = errors.New("apikey: unknown or revoked key")

func keyOf(id uint32) []byte { return binary.BigEndian.AppendUint32([]byte{pKey}, id) }

func (k *Key) encode() []byte {
	var e encoding.Encbuf
	e.PutUvarintBytes([]byte(k.Name))
	e.PutByte(byte(k.Scope))
	e.PutVarint(k.Created.Unix())
	r := byte(0)
	if k.Revoked {
		r = 1
	}
	e.PutByte(r)
	e.PutBytes(k.Hash[:])
	return e.Get()
}

func decode(id uint32, v []byte) (Key, error) {
	d := encoding.Decbuf{B: v}
	k := Key{ID: id, Name: string(d.UvarintBytes()), Scope: Scope(d.Byte())}
	k.Created = time.Unix(d.Varint(), 0).UTC()
	k.Revoked = d.Byte() == 1
	copy(k.Hash[:], d.Bytes(32))
	if d.Err() != nil || d.Len() != 0 || k.Scope < Read || k.Scope > Write {
		return k, fmt.Errorf("apikey: corrupt record of key %d", id)
	}
	return k, nil
}

// Store keeps the keys. DB keeps them in the index's store; package
// pgstore keeps them in PostgreSQL, shared by several servers. Both pass
// apikeytest.Run.
type Store interface {
	// Add stores the key mk builds from the store's next id (ids are
	// never reused, K2) and returns it.
	Add(ctx context.Context, mk func(id uint32) Key) (Key, error)
	// List returns every key, revoked ones included, by id.
	List(ctx context.Context) ([]Key, error)
	// Revoke marks key id revoked (ErrUnknown for no such key).
	Revoke(ctx context.Context, id uint32) error
	// Version changes whenever a key is added or revoked, so that a Set
	// reloads only then (Set.Follow).
	Version(ctx context.Context) (uint64, error)
}

// Create stores a new key and returns it with its secret, which is not
// kept and cannot be shown again.
func Create(ctx context.Context, st Store, name string, scope Scope) (Key, string, error) {
	if strings.TrimSpace(name) == "" || len(name) > 200 {
		return Key{}, "", errors.New("apikey: a name of 1 to 200 characters is required")
	}
	if scope < Read || scope > Write {
		return Key{}, "", fmt.Errorf("apikey: scope %d", scope)
	}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Key{}, "", err
	}
	var secret string
	k, err := st.Add(ctx, func(id uint32) Key {
		secret = "sk_" + strconv.FormatUint(uint64(id), 10) + "_" + base64.RawURLEncoding.EncodeToString(raw[:])
		return Key{ID: id, Name: name, Scope: scope, Created: time.Now().UTC().Truncate(time.Second), Hash: sha256.Sum256([]byte(secret))}
	})
	if err != nil {
		return Key{}, "", err
	}
	return k, secret, nil
}

// DB is the Store in the index's Pebble store (keyspace 0x70).
type DB struct {
	db *index.DB
	mu sync.Mutex // serialises Add's read of the last id with its write
}

var _ Store = (*DB)(nil)

// NewDB returns the key store kept in db.
func NewDB(db *index.DB) *DB { return &DB{db: db} }

// Add implements Store.
func (s *DB) Add(ctx context.Context, mk func(id uint32) Key) (Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys, err := s.List(ctx)
	if err != nil {
		return Key{}, err
	}
	id := uint32(1)
	if n := len(keys); n > 0 {
		id = keys[n-1].ID + 1
	}
	k := mk(id)
	b := s.db.NewStageBatch()
	defer b.Close()
	b.Set(keyOf(id), k.encode())
	if err := b.Commit(); err != nil {
		return Key{}, fmt.Errorf("apikey: store: %w", err)
	}
	return k, nil
}

// List implements Store.
func (s *DB) List(ctx context.Context) ([]Key, error) {
	var out []Key
	err := s.db.StageScan(ctx, []byte{pKey}, []byte{pKey + 1}, func(k, v []byte) (bool, error) {
		if len(k) != 5 {
			return false, fmt.Errorf("apikey: corrupt key %x", k)
		}
		key, err := decode(binary.BigEndian.Uint32(k[1:]), v)
		out = append(out, key)
		return err == nil, err
	})
	return out, err
}

// Revoke implements Store.
func (s *DB) Revoke(ctx context.Context, id uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.db.StageGet(keyOf(id))
	if err != nil {
		return err
	}
	if v == nil {
		return fmt.Errorf("%w: no key %d", ErrUnknown, id)
	}
	k, err := decode(id, v)
	if err != nil {
		return err
	}
	k.Revoked = true
	b := s.db.NewStageBatch()
	defer b.Close()
	b.Set(keyOf(id), k.encode())
	return b.Commit()
}

// Version implements Store: the number of keys plus the number revoked.
// Both only grow (ids are not reused, a revocation is final), so every
// change raises it, and the keyspace needs no counter record.
func (s *DB) Version(ctx context.Context) (uint64, error) {
	keys, err := s.List(ctx)
	if err != nil {
		return 0, err
	}
	return versionOf(keys), nil
}

// versionOf is DB.Version of keys.
func versionOf(keys []Key) uint64 {
	v := uint64(len(keys))
	for _, k := range keys {
		if k.Revoked {
			v++
		}
	}
	return v
}

// Set is the keys a server authenticates against, with a token bucket per
// key. Load reads them once; Follow keeps them current.
type Set struct {
	keys  atomic.Pointer[map[uint32]Key]
	ver   atomic.Uint64
	rate  float64 // tokens per second
	burst float64
	mu    sync.Mutex
	bkt   map[uint32]*bucket
	now   func() time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// Load reads the store's valid keys; rate is the requests per second each
// key may make (burst twice that), 0 for no limit.
func Load(ctx context.Context, st Store, rate float64) (*Set, error) {
	s := &Set{rate: rate, burst: 2 * rate, bkt: map[uint32]*bucket{}, now: time.Now}
	if err := s.reload(ctx, st); err != nil {
		return nil, err
	}
	return s, nil
}

// reload replaces the set's keys with the store's valid ones.
func (s *Set) reload(ctx context.Context, st Store) error {
	v, err := st.Version(ctx)
	if err != nil {
		return fmt.Errorf("apikey: version: %w", err)
	}
	keys, err := st.List(ctx)
	if err != nil {
		return fmt.Errorf("apikey: load: %w", err)
	}
	m := make(map[uint32]Key, len(keys))
	for _, k := range keys {
		if !k.Revoked {
			m[k.ID] = k
		}
	}
	s.keys.Store(&m)
	s.ver.Store(v)
	return nil
}

// Follow keeps s equal to st's keys until ctx ends: every interval
// (default 250 ms) it reads st's Version and reloads when it changed, so a
// key created or revoked on another server takes effect here within
// interval plus one round trip (K4). When st fails (PostgreSQL down), s
// keeps the last keys it loaded, onErr hears of the failure (once per
// outage), and Follow tries again at the next tick.
func (s *Set) Follow(ctx context.Context, st Store, interval time.Duration, onErr func(error)) {
	poll.Every(ctx, interval, func(ctx context.Context) error {
		v, err := st.Version(ctx)
		if err == nil && v != s.ver.Load() {
			err = s.reload(ctx, st)
		}
		return err
	}, onErr)
}

// Len is the number of valid keys.
func (s *Set) Len() int { return len(*s.keys.Load()) }

// Authenticate returns the key whose secret this is (K1, K2).
func (s *Set) Authenticate(secret string) (Key, error) {
	rest, ok := strings.CutPrefix(secret, "sk_")
	if !ok {
		return Key{}, ErrUnknown
	}
	idStr, _, ok := strings.Cut(rest, "_")
	id, err := strconv.ParseUint(idStr, 10, 32)
	if !ok || err != nil {
		return Key{}, ErrUnknown
	}
	k, found := (*s.keys.Load())[uint32(id)]
	h := sha256.Sum256([]byte(secret))
	if !found || subtle.ConstantTimeCompare(h[:], k.Hash[:]) != 1 {
		return Key{}, ErrUnknown
	}
	return k, nil
}

// Allow takes one request from key id's bucket; when empty it returns how
// long until the next token.
func (s *Set) Allow(id uint32) (bool, time.Duration) {
	if s.rate <= 0 {
		return true, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	b := s.bkt[id]
	if b == nil {
		b = &bucket{tokens: s.burst, last: now}
		s.bkt[id] = b
	}
	b.tokens = min(s.burst, b.tokens+now.Sub(b.last).Seconds()*s.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / s.rate * float64(time.Second))
}
