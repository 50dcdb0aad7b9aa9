package alert

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// The Standard Webhooks test vector (SERVICE.md §C.1, from the reference
// Go library's webhook_test.go).
func TestSignVector(t *testing.T) {
	key, err := ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	const id, ts, body = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, `{"test": 2432232314}`
	got := Sign(key, id, ts, []byte(body))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	now := time.Unix(ts, 0)
	other, _ := ParseSecret(NewSecret())
	for _, tc := range []struct {
		name string
		id   string
		ts   string
		sig  string
		body string
		now  time.Time
		key  []byte
		want error
	}{
		{"valid", id, "1614265330", got, body, now, key, nil},
		{"rotation: second signature matches", id, "1614265330", "v1,AAAA " + got, body, now, key, nil},
		{"unknown version ignored", id, "1614265330", "v1a," + got[3:], body, now, key, ErrBadSignature},
		{"body changed", id, "1614265330", got, body + " ", now, key, ErrBadSignature},
		{"id changed", id + "x", "1614265330", got, body, now, key, ErrBadSignature},
		{"other secret", id, "1614265330", got, body, now, other, ErrBadSignature},
		{"too old", id, "1614265330", got, body, now.Add(6 * time.Minute), key, ErrBadTimestamp},
		{"too new", id, "1614265330", got, body, now.Add(-6 * time.Minute), key, ErrBadTimestamp},
		{"timestamp not a number", id, "16142653.0", got, body, now, key, ErrBadTimestamp},
		{"no id", "", "1614265330", got, body, now, key, ErrNoSignature},
		{"no signature", id, "1614265330", "", body, now, key, ErrNoSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			h.Set(HeaderID, tc.id)
			h.Set(HeaderTimestamp, tc.ts)
			h.Set(HeaderSignature, tc.sig)
			err := Verify(tc.key, h, []byte(tc.body), tc.now, DefaultTolerance)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestParseSecret(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", true},
		{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", true},
		{"whsec_not base64!", false},
		{"whsec_AAAA", false}, // 3 bytes: too short
	} {
		if _, err := ParseSecret(tc.in); (err == nil) != tc.ok {
			t.Errorf("ParseSecret(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
	if _, err := ParseSecret(NewSecret()); err != nil {
		t.Fatalf("NewSecret does not parse: %v", err)
	}
}
