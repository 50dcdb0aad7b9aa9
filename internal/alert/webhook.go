package alert

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks 1.0 header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
	secretPrefix    = "whsec_"
)

// DefaultTolerance is how far a webhook-timestamp may be from the
// receiver's clock (the reference libraries' 5 minutes).
const DefaultTolerance = 5 * time.Minute

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrBadTimestamp = errors.New("webhook: timestamp outside the tolerance")
	ErrBadSignature = errors.New("webhook: no matching v1 signature")
	ErrBadSecret    = errors.New("webhook: malformed secret")
)

// ParseSecret decodes a "whsec_<base64>" secret (the prefix is optional)
// into its key bytes.
func ParseSecret(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, secretPrefix))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSecret, err)
	}
	if len(b) < 16 || len(b) > 64 {
		return nil, fmt.Errorf("%w: %d key bytes, want 16 to 64 (24 or more advised)", ErrBadSecret, len(b))
	}
	return b, nil
}

// NewSecret returns a random 32-byte secret as "whsec_<base64>".
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// Sign returns the webhook-signature value "v1,<base64 HMAC-SHA256(key,
// id.timestamp.body)>".
func Sign(key []byte, id string, ts int64, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, ts, body))
}

func mac(key []byte, id string, ts int64, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, ts, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a received webhook's headers and raw body against key, as a
// receiver must: the timestamp within tolerance of now, and one of the
// space-separated v1 signatures equal (in constant time) to the expected one.
func Verify(key []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, tss, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tss == "" || sigs == "" {
		return ErrNoSignature
	}
	ts, err := strconv.ParseInt(tss, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q is not unix seconds", ErrBadTimestamp, tss)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: %s off by %s", ErrBadTimestamp, tss, d)
	}
	want := mac(key, id, ts, body)
	for _, s := range strings.Fields(sigs) {
		ver, b64, ok := strings.Cut(s, ",")
		if !ok || ver != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrBadSignature
}
