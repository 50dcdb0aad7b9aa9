package watch

import (
	"bytes"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
)

// FuzzListRecord: a stored list record decodes without panic, and what
// decodes re-encodes to the same bytes.
func FuzzListRecord(f *testing.F) {
	var e encoding.Encbuf
	r1, _ := ParseRule("exposure:theft>=12.5%", In, alert.High)
	r2, _ := ParseRule("value>=100000", Both, alert.Low)
	(&List{Name: "deposits", Rules: []Rule{r1, r2}, Entities: []uint64{3, 900}}).encode(&e)
	f.Add(e.B)
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, v []byte) {
		var l List
		if l.decode(v) != nil {
			return
		}
		var e encoding.Encbuf
		l.encode(&e)
		if !bytes.Equal(e.B, v) {
			t.Fatalf("decoded %x re-encodes to %x", v, e.B)
		}
	})
}

// FuzzParseRule: any string parses or fails with ErrRule, and a parsed
// rule's String parses back to it.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"any", "sanctioned", "value>=5", "exposure:theft>=10%", "exposure:mixer>=7", "exposure:theft>=1e-9%", "exposure:x>=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRule(s, Out, alert.Low)
		if err != nil {
			return
		}
		back, err := ParseRule(r.String(), Out, alert.Low)
		if err != nil || back != r {
			t.Fatalf("%q → %+v → %q → %+v, %v", s, r, r.String(), back, err)
		}
	})
}
