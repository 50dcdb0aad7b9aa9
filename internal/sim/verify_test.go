package sim

// An independent reader of simulator output: btcd's wire package parses the
// block files, and the checks below rebuild the chain, the UTXO set and the
// answer-key totals from scratch.

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"
	"golang.org/x/crypto/ripemd160" //nolint:staticcheck // HASH160 needs RIPEMD160.
)

// fileRecord is one framed block as found on disk.
type fileRecord struct {
	file   string
	offset int64 // of the block, after magic and size
	raw    []byte
}

// readBlockFiles returns every record of dir's blk files in file order and
// the raw (still obfuscated) bytes of each file. Padding is recognised by
// raw zero bytes where a record would start, as Core's pre-allocation
// leaves it (never obfuscated).
func readBlockFiles(t *testing.T, dir string, magic [4]byte) ([]fileRecord, map[string][]byte) {
	t.Helper()
	var key [8]byte
	if k, err := os.ReadFile(filepath.Join(dir, "xor.dat")); err == nil {
		if len(k) != 8 {
			t.Fatalf("xor.dat has %d bytes", len(k))
		}
		copy(key[:], k)
	} else if !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "blk?????.dat"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no block files in %s: %v", dir, err)
	}
	sort.Strings(files)
	raws := map[string][]byte{}
	var recs []fileRecord
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		raws[filepath.Base(f)] = raw
		deob := func(off, n int64) []byte {
			b := make([]byte, n)
			for i := range b {
				b[i] = raw[off+int64(i)] ^ key[(off+int64(i))%8]
			}
			return b
		}
		off := int64(0)
		for off+8 <= int64(len(raw)) {
			if bytes.Equal(raw[off:off+4], []byte{0, 0, 0, 0}) {
				// Padding: the rest of the file must be zero.
				if bytes.ContainsFunc(raw[off:], func(r rune) bool { return r != 0 }) {
					t.Fatalf("%s: non-zero bytes after padding at %d", f, off)
				}
				break
			}
			hdr := deob(off, 8)
			if !bytes.Equal(hdr[:4], magic[:]) {
				t.Fatalf("%s: bad magic %x at %d", f, hdr[:4], off)
			}
			size := int64(binary.LittleEndian.Uint32(hdr[4:]))
			if off+8+size > int64(len(raw)) {
				t.Fatalf("%s: record at %d overruns the file", f, off)
			}
			recs = append(recs, fileRecord{file: filepath.Base(f), offset: off + 8, raw: deob(off+8, size)})
			off += 8 + size
		}
	}
	return recs, raws
}

type verifyResult struct {
	blocks, stale, outOfOrder, txs int
	utxoValue                      int64
	files                          int
	segwitBlocks                   int
	kinds                          map[string]int
	spentClasses                   map[string]int
}

type parsedBlock struct {
	blk  *wire.MsgBlock
	hash chainhash.Hash
	seq  int
}

type utxoEntry struct {
	value    int64
	script   []byte
	height   int32
	coinbase bool
}

// verifyOutput checks a whole simulator output directory.
func verifyOutput(t *testing.T, out string, params *chaincfg.Params, magic [4]byte) verifyResult {
	t.Helper()
	var res verifyResult
	recs, raws := readBlockFiles(t, filepath.Join(out, "blocks"), magic)
	res.files = len(raws)

	// Parse every record with btcd and check the bytes round-trip.
	type parsed = parsedBlock
	byHash := map[chainhash.Hash]*parsed{}
	for i, r := range recs {
		var blk wire.MsgBlock
		rd := bytes.NewReader(r.raw)
		if err := blk.Deserialize(rd); err != nil {
			t.Fatalf("%s@%d: btcd cannot parse block: %v", r.file, r.offset, err)
		}
		if rd.Len() != 0 {
			t.Fatalf("%s@%d: %d trailing bytes", r.file, r.offset, rd.Len())
		}
		var buf bytes.Buffer
		if err := blk.Serialize(&buf); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), r.raw) {
			t.Fatalf("%s@%d: btcd re-serialization differs", r.file, r.offset)
		}
		h := blk.BlockHash()
		if _, dup := byHash[h]; dup {
			t.Fatalf("block %v written twice", h)
		}
		byHash[h] = &parsed{blk: &blk, hash: h, seq: i}
	}

	// Heights and the best chain (most work = longest, all bits equal).
	genesis := *params.GenesisHash
	if _, ok := byHash[genesis]; !ok {
		t.Fatalf("genesis %v missing", genesis)
	}
	heights := map[chainhash.Hash]int{}
	var height func(h chainhash.Hash) int
	height = func(h chainhash.Hash) int {
		if h == genesis {
			return 0
		}
		if v, ok := heights[h]; ok {
			return v
		}
		p, ok := byHash[h]
		if !ok {
			t.Fatalf("block %v has no parent in the files", h)
		}
		v := height(p.blk.Header.PrevBlock) + 1
		heights[h] = v
		return v
	}
	var tip chainhash.Hash
	best := -1
	for h, p := range byHash {
		if hh := height(h); hh > best || (hh == best && p.seq < byHash[tip].seq) {
			best, tip = hh, h
		}
		if p.blk.Header.Bits != params.PowLimitBits {
			t.Fatalf("block %v has bits %08x", h, p.blk.Header.Bits)
		}
	}
	chain := make([]*parsed, best+1)
	onBest := map[chainhash.Hash]bool{}
	for h := tip; ; {
		p := byHash[h]
		chain[height(h)] = p
		onBest[h] = true
		if h == genesis {
			break
		}
		h = p.blk.Header.PrevBlock
	}
	res.blocks = len(chain)
	res.stale = len(byHash) - len(chain)
	for _, p := range byHash {
		if p.hash != genesis {
			if pp := byHash[p.blk.Header.PrevBlock]; pp.seq > p.seq {
				res.outOfOrder++
			}
		}
	}

	// Every block: Merkle root, witness commitment, BIP34 height; every
	// transaction: spends exist exactly once, value is conserved, revealed
	// keys hash to the spent script.
	utxos := map[wire.OutPoint]utxoEntry{}
	spent := map[wire.OutPoint]bool{}
	txKinds := readTxKinds(t, out)
	inScripts := map[chainhash.Hash][][]byte{} // the spent scripts of every transaction with several inputs
	res.kinds = map[string]int{}
	res.spentClasses = map[string]int{}
	for hgt, p := range chain {
		blk := p.blk
		checkMerkle(t, blk, hgt)
		if hgt == 0 {
			res.txs++
			res.kinds["genesis"]++
			continue // the genesis output is unspendable
		}
		checkWitnessCommitment(t, blk, hgt, &res)
		cb := blk.Transactions[0]
		if err := checkBIP34(cb, hgt); err != nil {
			t.Fatalf("height %d: %v", hgt, err)
		}
		var fees int64
		for ti, tx := range blk.Transactions {
			res.txs++
			txid := tx.TxHash()
			res.kinds[txKinds[txid]]++
			if ti > 0 {
				var in, out int64
				for vi, txin := range tx.TxIn {
					op := txin.PreviousOutPoint
					u, ok := utxos[op]
					if !ok {
						if spent[op] {
							t.Fatalf("height %d tx %v input %d: %v spent twice", hgt, txid, vi, op)
						}
						t.Fatalf("height %d tx %v input %d: %v does not exist", hgt, txid, vi, op)
					}
					if u.coinbase && hgt-int(u.height) < 100 {
						t.Fatalf("height %d tx %v spends an immature coinbase", hgt, txid)
					}
					class := txscript.GetScriptClass(u.script).String()
					if class == txscript.ScriptHashTy.String() && len(txin.Witness) > 0 {
						class += "-p2wpkh"
					}
					res.spentClasses[class]++
					if err := checkReveal(u.script, txin); err != nil {
						t.Fatalf("height %d tx %v input %d (%s): %v", hgt, txid, vi, txKinds[txid], err)
					}
					if len(tx.TxIn) > 1 {
						inScripts[txid] = append(inScripts[txid], u.script)
					}
					delete(utxos, op)
					spent[op] = true
					in += u.value
				}
				for _, o := range tx.TxOut {
					out += o.Value
				}
				if out >= in {
					t.Fatalf("height %d tx %v: outputs %d >= inputs %d", hgt, txid, out, in)
				}
				fee := in - out
				vsize := (blockTxWeight(tx) + 3) / 4
				if float64(fee)/float64(vsize) < 0.2 {
					t.Fatalf("height %d tx %v: fee rate %.2f sat/vB", hgt, txid, float64(fee)/float64(vsize))
				}
				fees += fee
			}
			for vo, o := range tx.TxOut {
				if len(o.PkScript) > 0 && o.PkScript[0] == txscript.OP_RETURN {
					continue
				}
				utxos[wire.OutPoint{Hash: txid, Index: uint32(vo)}] = utxoEntry{value: o.Value, script: o.PkScript, height: int32(hgt), coinbase: ti == 0}
			}
		}
		var cbOut int64
		for _, o := range cb.TxOut {
			cbOut += o.Value
		}
		if want := subsidy(params, hgt) + fees; cbOut != want {
			t.Fatalf("height %d: coinbase pays %d, subsidy+fees is %d", hgt, cbOut, want)
		}
	}
	var supply int64
	for h := 1; h < len(chain); h++ {
		supply += subsidy(params, h)
	}
	for _, u := range utxos {
		res.utxoValue += u.value
	}
	if res.utxoValue != supply {
		t.Fatalf("UTXO set holds %d sats, issued %d", res.utxoValue, supply)
	}

	checkBlocksCSV(t, out, byHash, onBest, recs)
	checkTruth(t, out, params, utxos)
	checkMultiOwner(t, out, params, inScripts, txKinds)
	return res
}

func subsidy(params *chaincfg.Params, h int) int64 {
	n := h / int(params.SubsidyReductionInterval)
	if n >= 64 {
		return 0
	}
	return (50 * 1e8) >> n
}

func blockTxWeight(tx *wire.MsgTx) int {
	return tx.SerializeSizeStripped()*3 + tx.SerializeSize()
}

func checkMerkle(t *testing.T, blk *wire.MsgBlock, hgt int) {
	t.Helper()
	var leaves []chainhash.Hash
	for _, tx := range blk.Transactions {
		leaves = append(leaves, tx.TxHash())
	}
	if root := merkle(leaves); root != blk.Header.MerkleRoot {
		t.Fatalf("height %d: Merkle root %v, header says %v", hgt, root, blk.Header.MerkleRoot)
	}
}

func merkle(l []chainhash.Hash) chainhash.Hash {
	for len(l) > 1 {
		if len(l)%2 == 1 {
			l = append(l, l[len(l)-1])
		}
		next := make([]chainhash.Hash, len(l)/2)
		for i := range next {
			next[i] = chainhash.DoubleHashH(append(l[2*i][:], l[2*i+1][:]...))
		}
		l = next
	}
	return l[0]
}

// checkWitnessCommitment recomputes the BIP141 commitment.
func checkWitnessCommitment(t *testing.T, blk *wire.MsgBlock, hgt int, res *verifyResult) {
	t.Helper()
	segwit := false
	for _, tx := range blk.Transactions[1:] {
		segwit = segwit || tx.HasWitness()
	}
	cb := blk.Transactions[0]
	var commit []byte
	for _, o := range cb.TxOut {
		if len(o.PkScript) >= 38 && bytes.Equal(o.PkScript[:6], []byte{0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed}) {
			commit = o.PkScript[6:38]
		}
	}
	if !segwit {
		if commit != nil || cb.HasWitness() {
			t.Fatalf("height %d: commitment without segwit transactions", hgt)
		}
		return
	}
	res.segwitBlocks++
	if commit == nil {
		t.Fatalf("height %d: segwit block without witness commitment", hgt)
	}
	wit := cb.TxIn[0].Witness
	if len(wit) != 1 || len(wit[0]) != 32 {
		t.Fatalf("height %d: coinbase witness is not one 32-byte item", hgt)
	}
	leaves := []chainhash.Hash{{}}
	for _, tx := range blk.Transactions[1:] {
		leaves = append(leaves, tx.WitnessHash())
	}
	root := merkle(leaves)
	want := chainhash.DoubleHashB(append(root[:], wit[0]...))
	if !bytes.Equal(want, commit) {
		t.Fatalf("height %d: witness commitment mismatch", hgt)
	}
}

// checkBIP34 checks the height push at the start of the coinbase scriptSig.
func checkBIP34(cb *wire.MsgTx, hgt int) error {
	ss := cb.TxIn[0].SignatureScript
	if len(ss) < 2 || len(ss) > 100 {
		return errors.New("coinbase scriptSig length out of range")
	}
	var got int
	switch op := ss[0]; {
	case op >= txscript.OP_1 && op <= txscript.OP_16:
		got = int(op - txscript.OP_1 + 1)
	case op >= 1 && op <= 8:
		for i := int(op); i >= 1; i-- {
			got = got<<8 | int(ss[i])
		}
	default:
		return errors.New("no BIP34 height push")
	}
	if got != hgt {
		return errors.New("BIP34 height " + strconv.Itoa(got) + " at height " + strconv.Itoa(hgt))
	}
	return nil
}

func hash160(b []byte) []byte {
	s := sha256.Sum256(b)
	r := ripemd160.New()
	r.Write(s[:])
	return r.Sum(nil)
}

// checkReveal checks that the spend reveals a public key or script hashing
// to what the spent output commits to.
func checkReveal(script []byte, in *wire.TxIn) error {
	isDER := func(sig []byte) bool {
		return len(sig) >= 70 && len(sig) <= 73 && sig[0] == 0x30 && int(sig[1]) == len(sig)-3 && sig[len(sig)-1] == 0x01
	}
	switch txscript.GetScriptClass(script) {
	case txscript.PubKeyHashTy:
		pushes, err := txscript.PushedData(in.SignatureScript)
		if err != nil || len(pushes) != 2 || !isDER(pushes[0]) || len(pushes[1]) != 33 {
			return errors.New("P2PKH scriptSig is not <sig> <pubkey>")
		}
		if !bytes.Equal(hash160(pushes[1]), script[3:23]) {
			return errors.New("P2PKH pubkey does not hash to the address")
		}
	case txscript.WitnessV0PubKeyHashTy:
		if len(in.SignatureScript) != 0 || len(in.Witness) != 2 || !isDER(in.Witness[0]) || len(in.Witness[1]) != 33 {
			return errors.New("P2WPKH spend is not an empty scriptSig and <sig> <pubkey>")
		}
		if !bytes.Equal(hash160(in.Witness[1]), script[2:22]) {
			return errors.New("P2WPKH pubkey does not hash to the program")
		}
	case txscript.ScriptHashTy:
		pushes, err := txscript.PushedData(in.SignatureScript)
		if err != nil || len(pushes) == 0 {
			return errors.New("P2SH scriptSig has no redeem script")
		}
		redeem := pushes[len(pushes)-1]
		if !bytes.Equal(hash160(redeem), script[2:22]) {
			return errors.New("P2SH redeem script does not hash to the address")
		}
		switch {
		case len(redeem) == 22 && redeem[0] == 0 && redeem[1] == 20:
			if len(in.Witness) != 2 || !isDER(in.Witness[0]) || !bytes.Equal(hash160(in.Witness[1]), redeem[2:]) {
				return errors.New("P2SH-P2WPKH witness pubkey does not hash to the program")
			}
		case txscript.GetScriptClass(redeem) == txscript.MultiSigTy:
			if len(pushes) != 4 || len(pushes[0]) != 0 || !isDER(pushes[1]) || !isDER(pushes[2]) {
				return errors.New("P2SH multisig scriptSig is not OP_0 <sig> <sig> <script>")
			}
		default:
			return errors.New("unexpected P2SH redeem script")
		}
	case txscript.WitnessV0ScriptHashTy:
		if len(in.Witness) != 4 {
			return errors.New("P2WSH multisig witness needs 4 items")
		}
		ws := in.Witness[3]
		if h := sha256.Sum256(ws); !bytes.Equal(h[:], script[2:34]) || txscript.GetScriptClass(ws) != txscript.MultiSigTy {
			return errors.New("P2WSH witness script does not hash to the program")
		}
	case txscript.WitnessV1TaprootTy:
		if len(in.SignatureScript) != 0 || len(in.Witness) != 1 || len(in.Witness[0]) != 64 {
			return errors.New("P2TR key-path spend is not one 64-byte signature")
		}
	default:
		return errors.New("spend of an unexpected script class")
	}
	return nil
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = false
	var rows [][]string
	if _, err := r.Read(); err != nil { // header
		t.Fatalf("%s: %v", path, err)
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		rows = append(rows, rec)
	}
}

func readTxKinds(t *testing.T, out string) map[chainhash.Hash]string {
	t.Helper()
	m := map[chainhash.Hash]string{}
	for _, r := range readCSV(t, filepath.Join(out, "truth", "txs.csv")) {
		h, err := chainhash.NewHashFromStr(r[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := m[*h]; dup {
			t.Fatalf("txs.csv lists %v twice", h)
		}
		m[*h] = r[3]
	}
	return m
}

// checkBlocksCSV compares truth/blocks.csv with what is on disk.
func checkBlocksCSV(t *testing.T, out string, byHash map[chainhash.Hash]*parsedBlock, onBest map[chainhash.Hash]bool, recs []fileRecord) {
	t.Helper()
	rows := readCSV(t, filepath.Join(out, "truth", "blocks.csv"))
	if len(rows) != len(recs) {
		t.Fatalf("blocks.csv has %d rows for %d records", len(rows), len(recs))
	}
	for _, r := range rows {
		h, err := chainhash.NewHashFromStr(r[1])
		if err != nil {
			t.Fatal(err)
		}
		p, ok := byHash[*h]
		if !ok {
			t.Fatalf("blocks.csv lists %v, not on disk", h)
		}
		seq, _ := strconv.Atoi(r[11])
		off, _ := strconv.ParseInt(r[10], 10, 64)
		if seq != p.seq || recs[seq].file != r[9] || recs[seq].offset != off {
			t.Fatalf("blocks.csv row %v does not match the record on disk (%s@%d)", r, recs[p.seq].file, recs[p.seq].offset)
		}
		if stale := r[8] == "true"; stale == onBest[*h] {
			t.Fatalf("block %v: stale=%v in blocks.csv, on best chain=%v", h, stale, onBest[*h])
		}
		size, _ := strconv.Atoi(r[5])
		stripped, _ := strconv.Atoi(r[6])
		if size != p.blk.SerializeSize() || stripped != p.blk.SerializeSizeStripped() {
			t.Fatalf("block %v: sizes %d/%d in blocks.csv, %d/%d on disk", h, size, stripped, p.blk.SerializeSize(), p.blk.SerializeSizeStripped())
		}
	}
}

type owner struct {
	ent  int
	kind string
}

// readOwners returns truth/addresses.csv as address → owner.
func readOwners(t *testing.T, out string) map[string]owner {
	t.Helper()
	owners := map[string]owner{}
	for _, r := range readCSV(t, filepath.Join(out, "truth", "addresses.csv")) {
		ent, _ := strconv.Atoi(r[1])
		if _, dup := owners[r[0]]; dup {
			t.Fatalf("addresses.csv lists %s twice", r[0])
		}
		owners[r[0]] = owner{ent, r[2]}
	}
	return owners
}

// scriptAddr decodes a single-address output script.
func scriptAddr(t *testing.T, script []byte, params *chaincfg.Params) string {
	t.Helper()
	_, addrs, _, err := txscript.ExtractPkScriptAddrs(script, params)
	if err != nil || len(addrs) != 1 {
		t.Fatalf("cannot decode output script %x: %v", script, err)
	}
	return addrs[0].EncodeAddress()
}

// collabKinds are the multi-owner transaction kinds that are not CoinJoins
// of a known protocol.
var collabKinds = map[string]bool{"coinjoin_unknown": true, "payjoin": true, "collab_batch": true}

// checkMultiOwner checks that every best-chain transaction whose inputs
// belong to two or more entities (by truth/addresses.csv) is listed in
// truth/coinjoins.csv, with the kind txs.csv gives it, and that every
// collaborative transaction listed there really has inputs of as many
// entities as it says participants (PayJoins exactly two).
func checkMultiOwner(t *testing.T, out string, params *chaincfg.Params, inScripts map[chainhash.Hash][][]byte, kinds map[chainhash.Hash]string) {
	t.Helper()
	owners := readOwners(t, out)
	type cj struct {
		kind  string
		parts int
	}
	listed := map[chainhash.Hash]cj{}
	for _, r := range readCSV(t, filepath.Join(out, "truth", "coinjoins.csv")) {
		h, err := chainhash.NewHashFromStr(r[0])
		if err != nil {
			t.Fatal(err)
		}
		parts, _ := strconv.Atoi(r[4])
		listed[*h] = cj{r[2], parts}
		if kinds[*h] != r[2] {
			t.Fatalf("coinjoins.csv says %v is %s, txs.csv says %q", h, r[2], kinds[*h])
		}
	}
	multi := 0
	for txid, scripts := range inScripts {
		ents := map[int]bool{}
		for _, sc := range scripts {
			o, ok := owners[scriptAddr(t, sc, params)]
			if !ok {
				t.Fatalf("tx %v spends an output with no owner in addresses.csv", txid)
			}
			ents[o.ent] = true
		}
		c, ok := listed[txid]
		if len(ents) >= 2 {
			multi++
			if !ok {
				t.Fatalf("tx %v (%s) spends coins of %d entities but is not in coinjoins.csv", txid, kinds[txid], len(ents))
			}
		}
		if ok && collabKinds[c.kind] && len(ents) != c.parts {
			t.Fatalf("%s %v: inputs of %d entities, coinjoins.csv says %d participants", c.kind, txid, len(ents), c.parts)
		}
		if ok && c.kind == "payjoin" && len(ents) != 2 {
			t.Fatalf("payjoin %v has inputs of %d entities", txid, len(ents))
		}
	}
	for txid, c := range listed {
		if collabKinds[c.kind] && inScripts[txid] == nil {
			t.Fatalf("%s %v has a single input", c.kind, txid)
		}
	}
	t.Logf("%d multi-owner transactions, all in coinjoins.csv", multi)
}

// checkTruth checks the answer key against the chain's final UTXO set.
func checkTruth(t *testing.T, out string, params *chaincfg.Params, utxos map[wire.OutPoint]utxoEntry) {
	t.Helper()
	owners := readOwners(t, out)
	addrOf := func(script []byte) string { return scriptAddr(t, script, params) }
	// Every unspent output has an owner; balances per entity match.
	bal := map[int]int64{}
	for _, u := range utxos {
		a := addrOf(u.script)
		o, ok := owners[a]
		if !ok {
			t.Fatalf("output to %s has no owner in addresses.csv", a)
		}
		bal[o.ent] += u.value
	}
	for _, r := range readCSV(t, filepath.Join(out, "truth", "balances.csv")) {
		ent, _ := strconv.Atoi(r[0])
		v, _ := strconv.ParseInt(r[2], 10, 64)
		if bal[ent] != v {
			t.Fatalf("entity %d: balances.csv says %d, UTXO set holds %d", ent, v, bal[ent])
		}
		delete(bal, ent)
	}
	for ent, v := range bal {
		if v != 0 {
			t.Fatalf("entity %d holds %d sats but is not in balances.csv", ent, v)
		}
	}

	// Taint: origin = received + fees + held and still unspent.
	origin := [2]int64{}
	acc := [2]int64{}
	for _, r := range readCSV(t, filepath.Join(out, "truth", "taint.csv")) {
		cs := 0
		if r[0] == "ransomware" {
			cs = 1
		}
		tainted, _ := strconv.ParseInt(r[8], 10, 64)
		value, _ := strconv.ParseInt(r[7], 10, 64)
		clean, _ := strconv.ParseInt(r[9], 10, 64)
		if tainted+clean != value || tainted <= 0 {
			t.Fatalf("taint row %v: tainted+clean != value", r)
		}
		switch r[1] {
		case "stolen", "origin":
			origin[cs] += tainted
		case "received", "fee":
			acc[cs] += tainted
		}
		if r[1] == "origin" || r[1] == "held" {
			h, _ := chainhash.NewHashFromStr(r[2])
			vout, _ := strconv.Atoi(r[3])
			if _, ok := utxos[wire.OutPoint{Hash: *h, Index: uint32(vout)}]; ok {
				acc[cs] += tainted
			}
			if o := owners[r[4]]; o.kind != "attacker" && o.kind != "ransomware" {
				t.Fatalf("held taint at %s owned by a %s", r[4], o.kind)
			}
		}
		if r[1] == "received" {
			if o := owners[r[4]]; o.kind == "attacker" || o.kind == "ransomware" {
				t.Fatalf("taint 'received' by the perpetrator at %s", r[4])
			}
		}
	}
	for cs := range origin {
		if origin[cs] == 0 || origin[cs] != acc[cs] {
			t.Fatalf("%s: origin %d sats, received+fees+unspent %d", caseNames[cs], origin[cs], acc[cs])
		}
	}
	var sum []struct {
		Case     string `json:"case"`
		Origin   int64  `json:"origin_sats"`
		Balanced bool   `json:"balanced"`
	}
	data, err := os.ReadFile(filepath.Join(out, "truth", "taint_summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatal(err)
	}
	for cs, c := range sum {
		if !c.Balanced || c.Origin != origin[cs] {
			t.Fatalf("taint_summary.json %s: origin %d (taint.csv %d), balanced %v", c.Case, c.Origin, origin[cs], c.Balanced)
		}
	}
}
