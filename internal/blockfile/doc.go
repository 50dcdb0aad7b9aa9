// Package blockfile reads Bitcoin Core's block files and decodes the blocks
// and transactions in them without copying.
//
// # Owns
//
//   - Framing: the magic+length records of blk*.dat files (Scan, ListFiles),
//     including Bitcoin Core's zero pre-allocation padding, and follow mode
//     (ScanOptions.Tail): a record still being written at the end of a file
//     ends the scan before it instead of being an error.
//   - De-obfuscation: the XOR key of Bitcoin Core 28+ (xor.dat).
//   - Block and transaction decoding (Block.Parse, ParseTx, ParseHeader),
//     including BIP144 segwit serialization.
//   - Txids, block hashes and the Merkle-root check (CheckMerkle), with the
//     CVE-2012-2459 duplicate-pair detection.
//   - Standalone block files (ReadRawBlockFile): raw bytes, hex text or one
//     framed record, optionally gzip or bzip2 compressed.
//   - Reading whole records by location (Reader), with an open-file cache.
//
// # Does not touch
//
// The store, chain selection (package chain), scripts and addresses (package
// address), and every consensus rule beyond what decoding needs: sleuth reads
// blocks that a node already validated, and only guards against corrupt or
// hostile bytes.
//
// # Format
//
// A blk?????.dat file is a sequence of records, each
//
//	<4b magic><4b LE length><length bytes: block>
//
// with the network's magic (mainnet f9 be b4 d9). Bitcoin Core pre-allocates
// files in chunks, so valid data is usually followed by zero bytes: a record
// whose magic is four zero bytes marks the end of the data. A block is
//
//	<80b header><varint tx count><tx>...
//
// and a transaction <4b version>[<0x00 marker><0x01 flag>]<varint n><input>...
// <varint n><output>...[<witness stack per input>]<4b locktime>; its txid is
// the double-SHA256 of the serialization without marker, flag and witnesses.
//
// Since Bitcoin Core 28 the files may be obfuscated: when DIR/xor.dat holds a
// non-zero 8-byte key, byte i of every block file (i the absolute offset in
// the file) is stored as plain[i] XOR key[i mod 8].
//
// # Invariants
//
//	F1. Scan never returns an end offset inside a record: it is the start
//	    offset or the end of a record Scan delivered, so a later Scan can
//	    resume there.
//	F2. Parse and ParseTx never read outside the slice they are given and
//	    never panic, whatever its bytes.
//	F3. Every slice in a decoded Block or Tx (scripts, witness items) aliases
//	    the raw bytes; Ins, Outs and witness stacks alias the Block's reusable
//	    storage and stay valid until the next Parse into the same Block.
//	F4. Every count and length is checked against the bytes that remain and
//	    against a consensus ceiling (MaxBlockSize) before anything is
//	    allocated for it, so memory use is bounded by a constant times the
//	    input size.
//	F5. A steady-state Parse into a reused Block allocates nothing.
//	F6. Every error from decoding or framing wraps one of the package's
//	    sentinel errors and is an *Error locating it (file, byte offset,
//	    transaction index where known). I/O errors are *Error values wrapping
//	    the operating system's error; Scan returns ctx.Err() and fn's errors
//	    as they are.
//	F7. De-obfuscation always uses absolute file offsets: a record read at
//	    any offset decodes the same as in a full-file pass.
package blockfile
