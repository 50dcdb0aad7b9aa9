// Package ofac reads the US Treasury OFAC sanctions list in the formats it
// is really published and mirrored in, and extracts the Bitcoin (XBT)
// addresses it names, each with where it came from.
//
// Three formats are read ([Format]):
//
//   - [SDNCSV]: the legacy SDN.CSV. Twelve columns, no header, the
//     literal "-0- " for an empty field, CRLF line ends, latin-1 text and
//     sometimes a DOS end-of-file byte (0x1a) as a last line. Addresses sit
//     in the Remarks column as "Digital Currency Address - XBT <addr>;" or
//     "alt. Digital Currency Address - XBT <addr>;" (the last remark of a
//     row ends in "." instead of ";"). OFAC cuts Remarks at 1000 characters
//     ([RemarksLimit]) and publishes the overflow elsewhere, so SDN.CSV is
//     never a complete list of addresses.
//   - [AddressList]: a plain list, as 0xB10C's
//     ofac-sanctioned-digital-currency-addresses tool writes them from
//     sdn_advanced.xml: sanctioned_addresses_XBT.txt (one address per line)
//     or sanctioned_addresses_XBT.json (a JSON array of strings).
//   - [SDNAdvancedXML]: the "SDN Advanced" XML (sdn_advanced.xml),
//     namespace https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ADVANCED_XML
//     or the older http://www.un.org/sanctions/1.0. Addresses are the
//     Profile/Feature elements whose FeatureTypeID names the FeatureType
//     "Digital Currency Address - XBT" in ReferenceValueSets; the value is
//     the Feature's FeatureVersion/VersionDetail text; Name is the profile's
//     primary alias written as SDN.CSV writes it ("LAST, First" when a part
//     is of the NamePartType "Last Name"), Program its SanctionsEntry's
//     programs joined as SDN.CSV joins them. The parser follows the
//     published schema as OpenSanctions' us_ofac crawler and 0xB10C's tool
//     read it; no real sdn_advanced.xml was available while writing it, and
//     the excerpt in testdata/ is CONSTRUCTED after that schema (with real
//     addresses, names and entity numbers), not downloaded; see
//     testdata/PROVENANCE.md.
//
// [ParseFile] opens a file (gunzipping it when it starts with the gzip magic),
// detects its format by content and parses it; [Open], [Detect] and [Parse]
// are its parts.
//
// # Owns
//
//   - The readers of the three formats and the rule that sorts every string
//     published as XBT into imported, cut off, rejected or damaged (below).
//   - The publication date of a list: DateOfIssue in the XML, otherwise a
//     YYYY-MM-DD date in the file name.
//
// # Does not touch
//
//   - Labels and the store: a [List] is a value; importing it as labels is
//     the label package's job. Nothing here reads or writes the index.
//   - The network: files are read from disk or any io.Reader; downloading
//     the lists is someone else's job.
//   - Other currencies: only "Digital Currency Address - XBT" is read.
//
// # What happens to each string published as XBT
//
// Every string OFAC (or a plain list) publishes as an XBT address ends in
// exactly one of four places, decided in this order:
//
//  1. It decodes as a Bitcoin mainnet address (internal/address.Decode with
//     btc.Mainnet, which verifies the base58check or bech32/bech32m
//     checksum): it becomes an [Entry]. A checksum over the whole string
//     proves it is complete, so this holds even where the string runs to the
//     end of a cut Remarks field.
//  2. SDN.CSV only: it is cut off. It becomes a [Truncated] entry (reported,
//     never imported) when either
//     (a) it runs, unterminated by ";" or ".", to the very end of a Remarks
//     field exactly [RemarksLimit] characters long, i.e. OFAC's cut went
//     through it; or
//     (b) it is a prefix-like fragment: made only of the characters of the
//     encoding its first characters announce and shorter than any
//     complete mainnet address of that kind (a "1…" string under 26
//     characters, "3…" under 34, "bc1…" under 42, or empty, "b", "bc").
//     In the real SDN.CSV of 2024-05-03 all 7 cut strings meet both tests.
//  3. It is an intact address of another chain or network: its own
//     base58check or bech32/bech32m checksum verifies, but it is not a
//     Bitcoin mainnet address. It becomes a [Rejected] entry (reported,
//     never imported). OFAC lists a TRON address (TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq,
//     SDN 45404) under XBT, and the plain lists copy it from 2023-10-04 on;
//     the file is intact, the publication is wrong, and the rest of it must
//     still import.
//  4. Anything else is damaged (a checksum that fails on a string that is
//     not cut off, a character no address uses, an empty XML value): the
//     whole parse fails with an [*Error] wrapping [ErrAddress] and naming
//     the file and line. [ParseWith] with [Options.KeepDamaged] instead
//     collects each in [List.Damaged] and parses on, for a caller that
//     imports the rest and reports these (package label does, and then
//     treats the publication as partial, so the damaged string's absence
//     ends no listing).
//
// Rule 2 is the only place the reader guesses, and it guesses only about
// strings that are already known not to be addresses: nothing is imported
// that does not pass its checksum, and nothing is dropped without being
// reported in [List.Truncated] or [List.Rejected].
//
// A cut inside the label itself ("…; alt. Digital Currency A" at the end of
// a 1000-character Remarks field) cannot be attributed to a currency and is
// not reported; the full lists are the XML and the plain lists.
//
// # Invariants
//
//	O1. A parse returns a complete *List or an error, never both: a List is
//	    never partial.
//	O2. Every Entry.Address decodes with address.Decode(s, btc.Mainnet).
//	    No Truncated.Fragment and no Rejected.Value does.
//	O3. Within a List, no two Entries have the same address (compared by the
//	    decoded key, so bech32 case does not matter) and the same EntNum. The
//	    same address under two SDN entities is two Entries.
//	O4. Entries, Truncated and Rejected keep the order of the file; Line is
//	    1-based and points at the line holding the value.
//	O5. Errors from Parse and ParseFile are *Error values whose Err wraps
//	    ErrFormat or ErrAddress, or an I/O error from the reader (and
//	    ParseFile returns the *fs.PathError of a file it cannot open).
//	O6. An empty file, or an SDN.CSV with no rows or a plain list with no
//	    addresses (a failed download), is an ErrFormat error, not an empty
//	    List.
package ofac
