package address

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	btcdaddr "github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// btcdType maps btcd's script class to ours.
var btcdType = map[txscript.ScriptClass]Type{
	txscript.NonStandardTy:         NonStandard,
	txscript.PubKeyTy:              P2PK,
	txscript.PubKeyHashTy:          P2PKH,
	txscript.ScriptHashTy:          P2SH,
	txscript.WitnessV0PubKeyHashTy: P2WPKH,
	txscript.WitnessV0ScriptHashTy: P2WSH,
	txscript.WitnessV1TaprootTy:    P2TR,
	txscript.MultiSigTy:            Multisig,
	txscript.NullDataTy:            OpReturn,
	txscript.WitnessUnknownTy:      WitnessUnknown,
	txscript.PayToAnchorTy:         P2A,
}

// knownClassDiff explains a class disagreement with btcd that is ours by
// design (Core's Solver, or the package's OP_RETURN rule), or returns "".
//
//   - btcd's nulldata is OP_RETURN plus at most one push of <= 80 bytes;
//     every script starting OP_RETURN is OpReturn here (Core: any push-only
//     data; the brief: all of them, as all are unspendable).
//   - btcd's ExtractPkScriptAddrs never returns witness_unknown; witness
//     programs v1 (not 32 bytes, not the anchor) and v2..v16 are
//     nonstandard there and WitnessUnknown here, as in Core.
//   - btcd's multisig template accepts m = 0, m > n and pushes that are not
//     pubkey-sized; Core's MatchMultisig (and Classify) do not.
func knownClassDiff(ours Type, theirs txscript.ScriptClass, script []byte) string {
	switch {
	case ours == OpReturn && theirs == txscript.NonStandardTy:
		return "op_return beyond btcd's nulldata"
	case ours == WitnessUnknown && theirs == txscript.NonStandardTy:
		return "witness_unknown (btcd: nonstandard)"
	case ours == NonStandard && theirs == txscript.MultiSigTy && !isMultisig(script):
		return "btcd multisig, not Core's"
	}
	return ""
}

// outputStats counts one file's outputs.
type outputStats struct {
	byType    [numTypes]int
	diffs     map[string]int
	noBtcd    int // P2PK whose pubkey btcd cannot parse (no address there)
	btcdNoDec int // addresses btcd's DecodeAddress rejects (witness v2+)
	total     int
}

// TestAgreementWithBtcd classifies and encodes every output of every real
// block and compares with btcd's ExtractPkScriptAddrs and EncodeAddress.
func TestAgreementWithBtcd(t *testing.T) {
	files := loadReal(t)
	var all outputStats
	all.diffs = map[string]int{}
	for _, f := range files {
		st := outputStats{diffs: map[string]int{}}
		seen := map[Key]bool{}
		for _, tx := range f.txs {
			txid := tx.TxHash()
			for i, out := range tx.TxOut {
				where := fmt.Sprintf("%s %s:%d", f.name, txid, i)
				checkOutput(t, where, out.PkScript, &st, seen)
			}
		}
		t.Logf("%-28s %7d outputs %s; diffs %v; p2pk btcd-unparsable %d; btcd DecodeAddress rejects %d",
			f.name, st.total, countsString(st.byType), st.diffs, st.noBtcd, st.btcdNoDec)
		for i, n := range st.byType {
			all.byType[i] += n
		}
		for d, n := range st.diffs {
			all.diffs[d] += n
		}
		all.total += st.total
		all.noBtcd += st.noBtcd
		all.btcdNoDec += st.btcdNoDec

		if f.name == "block-574200.raw" {
			// PROVENANCE.md's per-type counts for block 574200.
			want := map[Type]int{P2PKH: 4035, P2SH: 2601, P2WPKH: 442, P2WSH: 58, P2PK: 38, OpReturn: 976}
			for typ, n := range want {
				if st.byType[typ] != n {
					t.Errorf("block 574200: %d %s outputs, PROVENANCE.md says %d", st.byType[typ], typ, n)
				}
			}
		}
	}
	t.Logf("%-28s %7d outputs %s; diffs %v", "all", all.total, countsString(all.byType), all.diffs)
}

func countsString(c [numTypes]int) string {
	var parts []string
	for i, n := range c {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", Type(i), n))
		}
	}
	return strings.Join(parts, ", ")
}

func checkOutput(t *testing.T, where string, script []byte, st *outputStats, seen map[Key]bool) {
	t.Helper()
	st.total++
	typ, k := Classify(script)
	st.byType[typ]++
	cls, addrs, _, err := txscript.ExtractPkScriptAddrs(script, &chaincfg.MainNetParams)
	if err != nil {
		t.Fatalf("%s: btcd ExtractPkScriptAddrs(%x): %v", where, script, err)
	}
	if want := btcdType[cls]; want != typ {
		d := knownClassDiff(typ, cls, script)
		if d == "" {
			t.Errorf("%s: Classify(%x) = %v, btcd says %v", where, script, typ, cls)
			return
		}
		st.diffs[d]++
	}
	if kb, err := KeyFromBytes(k.Bytes()); err != nil || kb != k {
		t.Errorf("%s: KeyFromBytes(%x) = %v, %v", where, k.Bytes(), kb, err)
	}
	s, ok := Encode(k, btc.Mainnet)
	switch typ {
	case OpReturn, Multisig, NonStandard:
		if ok {
			t.Errorf("%s: Encode of a %v key = %q, want no address", where, typ, s)
		}
		return
	}
	if !ok {
		t.Errorf("%s: Encode(%v) of a %v output not ok", where, k, typ)
		return
	}
	// Our string against btcd's.
	switch {
	case typ == WitnessUnknown:
		// btcd has no address for it; checked against the BIP vectors.
	case typ == P2PK:
		if len(addrs) == 0 {
			st.noBtcd++
			break
		}
		pk, isPK := addrs[0].(*btcdaddr.AddressPubKey)
		if !isPK {
			t.Errorf("%s: btcd address for p2pk is %T", where, addrs[0])
			break
		}
		if want := pk.AddressPubKeyHash().EncodeAddress(); s != want {
			t.Errorf("%s: p2pk %x: Encode = %s, btcd %s", where, script, s, want)
		}
	default:
		if len(addrs) != 1 {
			t.Errorf("%s: btcd gives %d addresses for %v %x", where, len(addrs), typ, script)
			break
		}
		if want := addrs[0].EncodeAddress(); s != want {
			t.Errorf("%s: %v %x: Encode = %s, btcd %s", where, typ, script, s, want)
		}
	}
	if seen[k] {
		return
	}
	seen[k] = true
	checkAddress(t, where, s, k, st)
}

// checkAddress checks Decode(Encode(k)) == k on every network family and
// that btcd's DecodeAddress agrees the string is valid.
func checkAddress(t *testing.T, where, s string, k Key, st *outputStats) {
	t.Helper()
	back, err := Decode(s, btc.Mainnet)
	if err != nil || back != k {
		t.Errorf("%s: Decode(%s) = %v, %v; want %v", where, s, back, err, k)
	}
	if strings.HasPrefix(s, "bc1") {
		if back, err := Decode(strings.ToUpper(s), btc.Mainnet); err != nil || back != k {
			t.Errorf("%s: Decode(%s upper) = %v, %v; want %v", where, s, back, err, k)
		}
	}
	ba, err := btcdaddr.DecodeAddress(s, &chaincfg.MainNetParams)
	switch {
	case err != nil && k.Kind() == WitnessUnknown:
		st.btcdNoDec++ // btcd supports witness v0 and v1 only
	case err != nil:
		t.Errorf("%s: btcd DecodeAddress(%s): %v", where, s, err)
	case ba.EncodeAddress() != s || !ba.IsForNet(&chaincfg.MainNetParams):
		t.Errorf("%s: btcd DecodeAddress(%s) = %s", where, s, ba.EncodeAddress())
	}
	for _, net := range []*btc.Network{btc.Testnet3, btc.Regtest} {
		ts, ok := Encode(k, net)
		if !ok {
			t.Errorf("%s: Encode(%v, %s) not ok", where, k, net.Name)
			continue
		}
		if back, err := Decode(ts, net); err != nil || back != k {
			t.Errorf("%s: Decode(%s, %s) = %v, %v", where, ts, net.Name, back, err)
		}
		if _, err := Decode(ts, btc.Mainnet); !errors.Is(err, ErrWrongNetwork) {
			t.Errorf("%s: Decode(%s, mainnet) error = %v, want wrong network", where, ts, err)
		}
		if _, err := Decode(s, net); !errors.Is(err, ErrWrongNetwork) {
			t.Errorf("%s: Decode(%s, %s) error = %v, want wrong network", where, s, net.Name, err)
		}
	}
}

// TestBlock170 finds Satoshi's payment to Hal Finney in the early-chain file
// and checks the two P2PK outputs' addresses.
func TestBlock170(t *testing.T) {
	f := realFileNamed(t, "blk_0_to_14131.dat.gz")
	want := map[string]string{
		"f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:0": "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3",
		"f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:1": "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S",
		"4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b:0": "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
	}
	found := 0
	for _, tx := range f.txs {
		id := tx.TxHash().String()
		for i, out := range tx.TxOut {
			addr, ok := want[fmt.Sprintf("%s:%d", id, i)]
			if !ok {
				continue
			}
			found++
			typ, k := Classify(out.PkScript)
			s, _ := Encode(k, btc.Mainnet)
			if typ != P2PK || s != addr {
				t.Errorf("%s:%d (%d sat): %v %s, want p2pk %s", id, i, out.Value, typ, s, addr)
			}
		}
	}
	if found != len(want) {
		t.Fatalf("found %d of %d outputs", found, len(want))
	}
}

// inputRule names the InputKey rule a revealed input matched, for counting.
func inputRule(in *wire.TxIn, k Key) string {
	switch k.Kind() {
	case P2PKH:
		return "p2pkh"
	case P2WPKH:
		return "p2wpkh"
	}
	if len(in.Witness) == 0 && len(in.SignatureScript) > 0 && in.SignatureScript[0] == op0 {
		return "p2sh-multisig"
	}
	if len(in.SignatureScript) == 23 {
		return "p2sh-p2wpkh"
	}
	return "p2sh-p2wsh"
}

// TestInputKeyRealBlocks counts the inputs InputKey attributes in real
// blocks, spot-checks P2PKH ones with btcec, and wherever the spent output
// is in the same file checks the key against Classify of that output.
func TestInputKeyRealBlocks(t *testing.T) {
	files := loadReal(t)
	for _, f := range files {
		outs := map[wire.OutPoint][]byte{}
		for _, tx := range f.txs {
			h := tx.TxHash()
			for i, out := range tx.TxOut {
				outs[wire.OutPoint{Hash: h, Index: uint32(i)}] = out.PkScript
			}
		}
		counts := map[string]int{}
		inputs, revealed, prevKnown, prevAgree, spot := 0, 0, 0, 0, 0
		for _, tx := range f.txs {
			for _, in := range tx.TxIn {
				if in.PreviousOutPoint.Index == wire.MaxPrevOutIndex {
					continue // coinbase
				}
				inputs++
				k, ok := InputKey(in.SignatureScript, in.Witness)
				if prev, have := outs[in.PreviousOutPoint]; have && ok {
					prevKnown++
					_, pk := Classify(prev)
					if pk != k {
						t.Errorf("%s %s: InputKey = %v, the spent output %x has %v",
							f.name, in.PreviousOutPoint, k, prev, pk)
					} else {
						prevAgree++
					}
				}
				if !ok {
					continue
				}
				revealed++
				rule := inputRule(in, k)
				counts[rule]++
				if rule == "p2pkh" && spot < 25 {
					spot++
					spotCheckP2PKH(t, f.name, in, k)
				}
				if kb, err := KeyFromBytes(k.Bytes()); err != nil || kb != k {
					t.Errorf("%s: KeyFromBytes(%x) = %v, %v", f.name, k.Bytes(), kb, err)
				}
			}
		}
		share := 0.0
		if inputs > 0 {
			share = 100 * float64(revealed) / float64(inputs)
		}
		t.Logf("%-28s %6d inputs, %6d revealed (%.1f%%) %v; %d checked against the spent output",
			f.name, inputs, revealed, share, sortedCounts(counts), prevAgree)
		if (f.name == "block-574200.raw" || f.name == "block-540107.raw") && share < 90 {
			t.Errorf("%s: only %.1f%% of inputs revealed, PROVENANCE.md says ~95%%", f.name, share)
		}
	}
}

func sortedCounts(m map[string]int) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// spotCheckP2PKH re-derives a P2PKH input's key the long way: parse the
// pubkey on the curve with btcec, serialize it in the same format, and
// hash it with the reference hash160.
func spotCheckP2PKH(t *testing.T, file string, in *wire.TxIn, k Key) {
	t.Helper()
	pushes, err := txscript.PushedData(in.SignatureScript)
	if err != nil || len(pushes) != 2 {
		t.Errorf("%s %s: btcd sees %d pushes (%v)", file, in.PreviousOutPoint, len(pushes), err)
		return
	}
	raw := pushes[1]
	pub, err := btcec.ParsePubKey(raw)
	if err != nil {
		t.Errorf("%s %s: pubkey %x is not on the curve: %v", file, in.PreviousOutPoint, raw, err)
		return
	}
	ser := pub.SerializeUncompressed()
	if len(raw) == 33 {
		ser = pub.SerializeCompressed()
	}
	if !bytes.Equal(ser, raw) {
		t.Errorf("%s %s: pubkey %x re-serializes as %x", file, in.PreviousOutPoint, raw, ser)
	}
	if want := keyOf(P2PKH, refHash160(ser)); !bytes.Equal(k.Bytes(), want) {
		t.Errorf("%s %s: InputKey = %x, btcec+hash160 gives %x", file, in.PreviousOutPoint, k.Bytes(), want)
	}
}

// checkBtcdClass fails tb unless btcd classes script as typ, or the
// difference is one knownClassDiff explains. It returns the difference.
func checkBtcdClass(tb testing.TB, script []byte, typ Type) string {
	tb.Helper()
	cls, _, _, err := txscript.ExtractPkScriptAddrs(script, &chaincfg.MainNetParams)
	if err != nil {
		tb.Fatalf("btcd ExtractPkScriptAddrs(%x): %v", script, err)
	}
	if btcdType[cls] == typ {
		return ""
	}
	d := knownClassDiff(typ, cls, script)
	if d == "" {
		tb.Errorf("Classify(%x) = %v, btcd says %v", script, typ, cls)
	}
	return d
}

// TestAnchorBtcd pins how btcd classes the pay-to-anchor script: its own
// "anchor" class with the single address bc1pfeessrawgf, as Classify.
func TestAnchorBtcd(t *testing.T) {
	script := txscript.PayToAnchorScript
	cls, addrs, _, err := txscript.ExtractPkScriptAddrs(script, &chaincfg.MainNetParams)
	if err != nil || cls != txscript.PayToAnchorTy || len(addrs) != 1 {
		t.Fatalf("btcd: %v %v %v", cls, addrs, err)
	}
	typ, k := Classify(script)
	s, _ := Encode(k, btc.Mainnet)
	if typ != P2A || s != addrs[0].EncodeAddress() || s != "bc1pfeessrawgf" {
		t.Fatalf("Classify(%x) = %v %s, btcd %v %s", script, typ, s, cls, addrs[0].EncodeAddress())
	}
}

// TestDecodeMutationsAgreeWithBtcd corrupts real and known addresses one
// character at a time (substitution, deletion, swap) and checks that Decode
// and btcd's DecodeAddress agree on validity, and that every single
// substitution in a bech32 string is caught as a checksum error.
func TestDecodeMutationsAgreeWithBtcd(t *testing.T) {
	var addrs []string
	for _, c := range knownAddresses {
		if c.net == btc.Mainnet {
			addrs = append(addrs, c.addr)
		}
	}
	perType := map[Type]int{}
	for _, f := range loadReal(t) {
		for _, tx := range f.txs {
			for _, out := range tx.TxOut {
				typ, k := Classify(out.PkScript)
				if s, ok := Encode(k, btc.Mainnet); ok && perType[typ] < 40 {
					perType[typ]++
					addrs = append(addrs, s)
				}
			}
		}
	}
	checked := 0
	for _, a := range addrs {
		alphabet := base58Alphabet
		segwit := isBech32Like(a)
		if segwit {
			alphabet = bech32Charset
			if strings.ToUpper(a) == a {
				alphabet = strings.ToUpper(bech32Charset)
			}
		}
		var variants []string
		start := 0
		if segwit {
			start = strings.LastIndexByte(a, '1') + 1
		}
		for i := start; i < len(a); i++ {
			for _, d := range []int{1, 17} {
				j := (strings.IndexByte(alphabet, a[i]) + d) % len(alphabet)
				v := a[:i] + alphabet[j:j+1] + a[i+1:]
				variants = append(variants, v)
				if segwit {
					if _, err := Decode(v, btc.Mainnet); !errors.Is(err, ErrChecksum) {
						t.Errorf("Decode(%s) (one substitution in %s) error = %v, want bad checksum", v, a, err)
					}
				}
			}
			variants = append(variants, a[:i]+a[i+1:])
			if i+1 < len(a) && a[i] != a[i+1] {
				variants = append(variants, a[:i]+a[i+1:i+2]+a[i:i+1]+a[i+2:])
			}
		}
		for _, v := range variants {
			checked++
			k, err := Decode(v, btc.Mainnet)
			ba, berr := btcdaddr.DecodeAddress(v, &chaincfg.MainNetParams)
			theirs := berr == nil && ba.IsForNet(&chaincfg.MainNetParams)
			if err == nil && k.Kind() == WitnessUnknown {
				continue // btcd has no witness v2+ addresses
			}
			if (err == nil) != theirs {
				t.Errorf("mutation %s of %s: Decode error %v, btcd error %v", v, a, err, berr)
			}
		}
	}
	t.Logf("%d corrupted strings from %d addresses: Decode and btcd agree", checked, len(addrs))
}
