// Package address classifies Bitcoin output scripts and encodes the
// addresses they pay to.
//
// Every output of the chain passes through [Classify], which matches the
// script against Bitcoin Core's standard templates and returns its [Type]
// and a compact binary [Key]: the identity the address index is keyed on.
// [InputKey] recovers the same Key from an input's scriptSig or witness when
// the spend reveals it, so inputs can be attributed without looking up the
// output they spend. [Encode] and [Decode] convert Keys to and from address
// strings (base58check, bech32 and bech32m) for every network in
// [btc.Networks].
//
// # Owns
//
//   - The script classes ([Type]) and the templates that define them.
//   - The binary [Key] the index keys on, and its layout.
//   - The address string codecs: base58check (P2PKH, P2SH), bech32 (witness
//     v0, BIP173) and bech32m (witness v1+, BIP350), implemented here.
//
// # Does not touch
//
//   - The store: this package never reads or writes the index; it only
//     defines the bytes written there.
//   - Blocks and transactions: callers hand in scripts and witnesses; block
//     parsing lives in the blockfile package.
//   - Cryptographic validation: pubkeys are checked by size and prefix only,
//     signatures by shape only; nothing is verified on the curve.
//
// # Invariants
//
//	A1. Classify never allocates and never fails: every byte string,
//	    including the empty script, gets a Type, and every Type but
//	    OpReturn a Key.
//	A2. The Key bytes Classify and InputKey return for a given script are
//	    stable forever: they are stored on disk. Changing a template or the
//	    layout below needs a reindex.
//	A3. The Type numbers are on-disk values (the Key's kind byte): never
//	    renumber; add new classes at the end.
//	A4. Encode(Decode(s)) == s for base58 addresses and the lower-case form
//	    of s for bech32/bech32m ones; Decode(Encode(k)) == k for every k that
//	    Encode accepts.
//	A5. KeyFromBytes(k.Bytes()) == k for every Key this package returns;
//	    KeyFromBytes rejects byte strings that break the layout below.
//	A6. Decode never panics; its errors wrap exactly one of ErrChecksum,
//	    ErrWrongNetwork, ErrLength, ErrFormat and quote the input (truncated).
//	A7. InputKey returns ok=false rather than guess: it recognises only the
//	    spend shapes listed on it, and a Key it returns has the kind
//	    (P2PKH, P2WPKH or P2SH) and bytes that Classify gives the output
//	    such a spend pays from.
//
// # Key layout
//
//	kind byte           then                          length  address string
//	0  NonStandard      HASH160(script)               21      none
//	2  P2PKH            20-byte pubkey hash           21      base58check, PubKeyHashPrefix
//	3  P2SH             20-byte script hash           21      base58check, ScriptHashPrefix
//	4  P2WPKH           20-byte program               21      bech32, witness v0
//	5  P2WSH            32-byte program               33      bech32, witness v0
//	6  P2TR             32-byte program               33      bech32m, witness v1
//	7  Multisig         HASH160(script)               21      none
//	9  WitnessUnknown   version 1..16, 2..40-byte     4..42   bech32m, witness v1..v16
//	                    program (never v1 with 32
//	                    bytes or the anchor)
//	10 P2A              4e 73                         3       bech32m, witness v1
//
// A P2PK output (class 1) has the key of kind P2PKH with HASH160(pubkey); an
// OP_RETURN output (class 8) has no key (Len() == 0).
//
// HASH160 is RIPEMD-160 of SHA-256. A P2PK output and a P2PKH output paying
// the same public key share one Key, as block explorers show them.
package address
