// Package pdf writes simple text documents as PDF 1.4 without a browser
// or a dependency: headings, paragraphs of mixed Helvetica and Courier
// runs, and tables whose cells wrap, on A4 pages with a footer naming the
// page ("page 3 of 7"). The server's case report (GET
// /v1/cases/{id}/report?format=pdf) is its one user.
//
// # Owns
//
//   - Layout: word wrapping by the standard fonts' metrics (Helvetica's
//     and Helvetica-Bold's AFM widths, Latin-1 bold letters measured
//     conservatively; Courier is 600/1000 em), breaking a word longer than its line (a txid in a
//     narrow cell) between characters, pagination, and table header rows
//     repeated on every page a table continues on.
//   - The file: the 14 standard Type1 fonts need no embedding; text is
//     WinAnsiEncoding, page contents are Flate-compressed, and the
//     cross-reference table holds each object's byte offset.
//
// # Does not touch
//
// What a document says (the caller builds it) or HTTP.
//
// # Invariants
//
//   - P1: any Go string can be written: text is mapped to WinAnsi
//     (runes outside it become '?', control characters spaces) and every
//     string literal escapes '(', ')' and '\' and writes bytes outside
//     printable ASCII as octal escapes, so hostile text never ends a
//     literal or the file early (FuzzEscape, FuzzDocument).
//   - P2: nothing is drawn outside the page's margins: lines wrap at the
//     column's width and a row or line that does not fit starts a new
//     page.
package pdf
