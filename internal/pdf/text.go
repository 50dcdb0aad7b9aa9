package pdf

// Font is one of the standard Type1 fonts a document uses.
type Font uint8

// The fonts: body text, headings and table headers, and identifiers
// (txids, addresses) in a fixed-width face.
const (
	Helvetica Font = iota
	Bold
	Courier
	numFonts
)

var baseFonts = [numFonts]string{"Helvetica", "Helvetica-Bold", "Courier"}

// winAnsiHigh maps the runes of WinAnsiEncoding's 0x80–0x9F range to
// their byte; 0xA0–0xFF are Latin-1's own code points.
var winAnsiHigh = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87, 'ˆ': 0x88,
	'‰': 0x89, 'Š': 0x8A, '‹': 0x8B, 'Œ': 0x8C, 'Ž': 0x8E, '‘': 0x91, '’': 0x92, '“': 0x93,
	'”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97, '˜': 0x98, '™': 0x99, 'š': 0x9A, '›': 0x9B,
	'œ': 0x9C, 'ž': 0x9E, 'Ÿ': 0x9F,
}

// winAnsiByte is r in WinAnsiEncoding: control characters become spaces
// and runes the encoding lacks '?' (P1).
func winAnsiByte(r rune) byte {
	switch {
	case r < 0x20 || r == 0x7F || (r >= 0x80 && r < 0xA0):
		return ' '
	case r < 0x7F || (r >= 0xA0 && r <= 0xFF):
		return byte(r)
	}
	if b, ok := winAnsiHigh[r]; ok {
		return b
	}
	return '?'
}

// Encode maps s to WinAnsiEncoding bytes, one per rune (invalid UTF-8
// counts as U+FFFD, so '?').
func Encode(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		out = append(out, winAnsiByte(r))
	}
	return out
}

// appendLiteral appends b (WinAnsi bytes) as a PDF string literal: '(',
// ')' and '\' escaped, everything outside printable ASCII as a 3-digit
// octal escape, so the literal is plain ASCII and ends only at its own
// closing parenthesis (P1).
func appendLiteral(dst, b []byte) []byte {
	dst = append(dst, '(')
	for _, c := range b {
		switch {
		case c == '(' || c == ')' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20 || c > 0x7E:
			dst = append(dst, '\\', '0'+c>>6, '0'+(c>>3)&7, '0'+c&7)
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, ')')
}

// helvetica holds Helvetica's advance widths (1/1000 em, from Adobe's
// AFM) for WinAnsi bytes 0x20–0xFF; unused codes are 0.
var helvetica = [224]uint16{
	// 0x20–0x7F
	278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
	556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
	1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
	667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
	333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
	556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 0,
	// 0x80–0x9F
	556, 0, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0,
	0, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 0, 500, 667,
	// 0xA0–0xFF
	278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333,
	400, 584, 333, 333, 333, 556, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611,
	667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,
	722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
	556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278,
	556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,
}

// helveticaBold holds Helvetica-Bold's advance widths (Adobe's AFM) for
// ASCII 0x20–0x7F; above, width takes Helvetica's times 1.1, which no
// Latin-1 letter of the bold face exceeds.
var helveticaBold = [96]uint16{
	278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
	556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
	975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
	667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
	333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
	611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 0,
}

// width is the advance of WinAnsi bytes b in font f at size pt, in points.
func width(f Font, b []byte, size float64) float64 {
	if f == Courier {
		return float64(len(b)) * 0.6 * size
	}
	var w uint32
	for _, c := range b {
		switch {
		case c < 0x20 || helvetica[c-0x20] == 0:
			w += 1000 // never written (winAnsiByte): the widest glyph
		case f == Bold && c < 0x80:
			w += uint32(helveticaBold[c-0x20])
		case f == Bold:
			w += uint32(helvetica[c-0x20]) * 11 / 10
		default:
			w += uint32(helvetica[c-0x20])
		}
	}
	return float64(w) / 1000 * size
}
