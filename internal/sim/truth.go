package sim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// Rows of the answer key, produced by the generator and formatted by the
// truth writer goroutine.
type (
	addrRow struct {
		a      addr
		ent    int32
		cust   int32
		role   addrRole
		height int32
	}
	txRow struct {
		txid    [32]byte
		height  int32
		index   int32
		kind    txKind
		spender int32
		change  int32
		nin     int32
		nout    int32
		fee     int64
	}
	cjRow struct {
		txid                           [32]byte
		height                         int32
		kind                           txKind
		denom                          int64
		participants, nin, nout, equal int32
		coord                          int32 // unknown coordinator id (coinjoin_unknown only)
	}
	peelRow struct {
		cs         uint8
		chain, hop int32
		txid       [32]byte
		peel, rest int32
		height     int32
	}
	taintRow struct {
		cs      uint8
		txid    [32]byte
		vout    int32
		a       addr
		ent     int32
		value   int64
		tainted int64
		role    uint8
		height  int32
	}
	swapRow struct {
		txid   [32]byte
		vout   uint32
		value  int64
		payer  int32
		chain  string
		height int32
	}
	victimRow struct {
		ent    int32
		txid   [32]byte
		addr   int32 // index of the ransom address
		value  int64
		height int32
	}
)

// entInfo is the part of an entity the truth writer needs.
type entInfo struct {
	kind    entityKind
	name    string
	private bool // never tagged in public/tagpack.yaml
}

// truthBatch is one block's worth of answer-key rows. Batches are recycled.
type truthBatch struct {
	ents    []entInfo // set on the first batch only
	addrs   []addrRow
	txs     []txRow
	cjs     []cjRow
	peels   []peelRow
	taint   []taintRow
	swaps   []swapRow
	victims []victimRow
}

// tag is one entry of the public TagPack.
type tag struct {
	address, label, category, abuse, concept, confidence, source, context string
}

// truthWriter writes truth/*.csv from batches and collects the public tags.
type truthWriter struct {
	out     string
	params  *chaincfg.Params
	network *btc.Network
	ents    []entInfo
	files   []*os.File
	w       map[string]*bufio.Writer
	line    []byte

	tags       []tag
	depTags    int
	ransomAddr []string // by fixed index
	theftAddrs []string
}

var truthFiles = []struct{ name, header string }{
	{"addresses.csv", "address,entity_id,entity_type,script_type,role,customer_id,height"},
	{"txs.csv", "txid,height,index,kind,spender_entity,change_vout,n_in,n_out,fee"},
	{"coinjoins.csv", "txid,height,kind,denomination,participants,n_in,n_out,n_equal,coord"},
	{"peel_chains.csv", "case,chain,hop,txid,height,peel_vout,rest_vout"},
	{"taint.csv", "case,role,txid,vout,address,entity_id,entity_type,value,tainted,clean,height"},
	{"swaps.csv", "txid,vout,height,value,payer_entity,to_chain"},
	{"ransom_victims.csv", "entity_id,txid,height,ransom_address,value"},
}

func newTruthWriter(out string, params *chaincfg.Params, network *btc.Network) (*truthWriter, error) {
	tw := &truthWriter{out: out, params: params, network: network, w: map[string]*bufio.Writer{}}
	for _, f := range truthFiles {
		fh, err := os.Create(filepath.Join(out, "truth", f.name))
		if err != nil {
			tw.close()
			return nil, fmt.Errorf("sim: create truth file: %w", err)
		}
		tw.files = append(tw.files, fh)
		bw := bufio.NewWriterSize(fh, 1<<18)
		bw.WriteString(f.header + "\n")
		tw.w[f.name] = bw
	}
	return tw, nil
}

func (tw *truthWriter) close() {
	for _, f := range tw.files {
		f.Close()
	}
}

// run writes every batch, hands it back on free, then flushes and closes
// the files.
func (tw *truthWriter) run(batches <-chan *truthBatch, free chan<- *truthBatch) error {
	for b := range batches {
		if err := tw.write(b); err != nil {
			tw.close()
			return err
		}
		select {
		case free <- b:
		default:
		}
	}
	for _, f := range truthFiles {
		if err := tw.w[f.name].Flush(); err != nil {
			tw.close()
			return fmt.Errorf("sim: write truth/%s: %w", f.name, err)
		}
	}
	for _, f := range tw.files {
		if err := f.Close(); err != nil {
			return fmt.Errorf("sim: close truth file: %w", err)
		}
	}
	return nil
}

func (tw *truthWriter) entType(ent int32) string {
	if ent < 0 {
		return ""
	}
	return tw.ents[ent].kind.String()
}

func (tw *truthWriter) write(b *truthBatch) error {
	if b.ents != nil {
		tw.ents = b.ents
	}
	w := tw.w["addresses.csv"]
	for i := range b.addrs {
		r := &b.addrs[i]
		s, err := encodeAddress(&r.a, tw.params)
		if err != nil {
			return err
		}
		l := append(tw.line[:0], s...)
		l = append(l, ',')
		l = strconv.AppendInt(l, int64(r.ent), 10)
		l = append(l, ',')
		l = append(l, tw.entType(r.ent)...)
		l = append(l, ',')
		l = append(l, r.a.st.String()...)
		l = append(l, ',')
		l = append(l, r.role.String()...)
		l = append(l, ',')
		l = strconv.AppendInt(l, int64(r.cust), 10)
		l = append(l, ',')
		l = strconv.AppendInt(l, int64(r.height), 10)
		l = append(l, '\n')
		tw.line = l
		w.Write(l)
		tw.maybeTag(r, s)
	}
	w = tw.w["txs.csv"]
	for i := range b.txs {
		r := &b.txs[i]
		l := appendHashHex(tw.line[:0], &r.txid)
		l = append(l, ',')
		l = strconv.AppendInt(l, int64(r.height), 10)
		l = append(l, ',')
		l = strconv.AppendInt(l, int64(r.index), 10)
		l = append(l, ',')
		l = append(l, r.kind.String()...)
		l = append(l, ',')
		l = strconv.AppendInt(l, int64(r.spender), 10)
		l = append(l, ',')
		l = strconv.AppendInt(l, int64(r.change), 10)
		l = append(l, ',')
		l = strconv.AppendInt(l, int64(r.nin), 10)
		l = append(l, ',')
		l = strconv.AppendInt(l, int64(r.nout), 10)
		l = append(l, ',')
		l = strconv.AppendInt(l, r.fee, 10)
		l = append(l, '\n')
		tw.line = l
		w.Write(l)
	}
	w = tw.w["coinjoins.csv"]
	for _, r := range b.cjs {
		coord := int32(-1)
		if r.kind == kCoinjoinUnknown {
			coord = r.coord
		}
		fmt.Fprintf(w, "%s,%d,%s,%d,%d,%d,%d,%d,%d\n", hashHex(r.txid), r.height, r.kind, r.denom, r.participants, r.nin, r.nout, r.equal, coord)
	}
	w = tw.w["peel_chains.csv"]
	for _, r := range b.peels {
		fmt.Fprintf(w, "%s,%d,%d,%s,%d,%d,%d\n", caseNames[r.cs], r.chain, r.hop, hashHex(r.txid), r.height, r.peel, r.rest)
	}
	w = tw.w["taint.csv"]
	for _, r := range b.taint {
		as := ""
		if r.role != trFee {
			var err error
			if as, err = encodeAddress(&r.a, tw.params); err != nil {
				return err
			}
		}
		fmt.Fprintf(w, "%s,%s,%s,%d,%s,%d,%s,%d,%d,%d,%d\n", caseNames[r.cs], taintRoleNames[r.role], hashHex(r.txid), r.vout,
			as, r.ent, tw.entType(r.ent), r.value, r.tainted, r.value-r.tainted, r.height)
		if r.role == trFee {
			continue
		}
		if r.role == trHeld && r.height > 0 && r.cs == caseTheft && len(tw.theftAddrs) < 12 && tw.ents[r.ent].kind == ekAttacker {
			tw.theftAddrs = append(tw.theftAddrs, as)
		}
	}
	w = tw.w["swaps.csv"]
	for _, r := range b.swaps {
		fmt.Fprintf(w, "%s,%d,%d,%d,%d,%s\n", hashHex(r.txid), r.vout, r.height, r.value, r.payer, r.chain)
	}
	w = tw.w["ransom_victims.csv"]
	for _, r := range b.victims {
		addr := ""
		if int(r.addr) < len(tw.ransomAddr) {
			addr = tw.ransomAddr[r.addr]
		}
		fmt.Fprintf(w, "%d,%s,%d,%s,%d\n", r.ent, hashHex(r.txid), r.height, addr, r.value)
	}
	return nil
}

func hashHex(h [32]byte) string { return string(appendHashHex(nil, &h)) }

const tagSource = "https://sleuth.invalid/sim/"

// maybeTag decides whether the investigator knows address s at the start.
// The choice depends only on the address, so it is deterministic.
func (tw *truthWriter) maybeTag(r *addrRow, s string) {
	if r.ent < 0 {
		return
	}
	e := tw.ents[r.ent]
	if e.private {
		return
	}
	sample := r.a.prog[0] // uniform, fixed by the key
	switch r.role {
	case roleHot:
		switch e.kind {
		case ekExchange:
			ctx := "hot wallet"
			if r.ent == int32(firstExchangeEnt(tw.ents)) {
				ctx = "hot wallet of the exchange robbed on 2017-04-22"
			}
			tw.tags = append(tw.tags, tag{s, e.name, "exchange", "", "hot_wallet", "service_data", tagSource + "exchange-disclosures", ctx})
		case ekProcessor:
			tw.tags = append(tw.tags, tag{s, e.name, "payment_processor", "", "", "service_data", tagSource + "processor-payouts", "settlement wallet"})
		case ekGambling:
			tw.tags = append(tw.tags, tag{s, e.name, "gambling", "", "", "web_crawl", tagSource + "gambling-sites", "house wallet"})
		}
	case roleCold:
		if sample%2 == 0 {
			tw.tags = append(tw.tags, tag{s, e.name, "exchange", "", "cold_wallet", "service_data", tagSource + "proof-of-reserves", "cold storage"})
		}
	case roleDeposit:
		if sample < 8 && tw.depTags < 5000 {
			tw.depTags++
			tw.tags = append(tw.tags, tag{s, e.name, "exchange", "", "", "manual_transaction", tagSource + "test-deposits", "deposit address"})
		}
	case roleSwapHot:
		// Instant exchangers were public knowledge (ShapeShift in
		// WalletExplorer, GraphSense's walletexplorer pack): the concept
		// taxonomy files them under exchange.
		tw.tags = append(tw.tags, tag{s, e.name, "exchange", "", "hot_wallet", "service_data", tagSource + "swap-services", "instant exchange (swap service) hot wallet"})
	case roleSwapDeposit:
		if sample < 8 {
			tw.tags = append(tw.tags, tag{s, e.name, "exchange", "", "", "manual_transaction", tagSource + "test-swaps", "swap order deposit address"})
		}
	case roleCoinbase:
		tw.tags = append(tw.tags, tag{s, e.name, "miner", "", "", "ledger_immanent", tagSource + "coinbase-tags", "coinbase payout address"})
	case roleGame:
		tw.tags = append(tw.tags, tag{s, e.name, "gambling", "", "", "web_crawl", tagSource + "gambling-sites", "betting address"})
	case roleCoordinator:
		tw.tags = append(tw.tags, tag{s, e.name, "coinjoin", "", "", "heuristic", tagSource + "coinjoin-coordinators", "coordinator fee address"})
	case roleRansom:
		tw.ransomAddr = append(tw.ransomAddr, s)
		tw.tags = append(tw.tags, tag{s, "Ransomware campaign 2017", "perpetrator", "ransomware", "", "forensic", tagSource + "ransom-notes", "ransom payment address"})
	}
}

func firstExchangeEnt(ents []entInfo) int {
	for i, e := range ents {
		if e.kind == ekExchange {
			return i
		}
	}
	return -1
}

// yamlQuote quotes s for YAML.
func yamlQuote(s string) string { return strconv.Quote(s) }

// writeTagPack writes public/tagpack.yaml.
func (tw *truthWriter) writeTagPack(seed int64, lastmod string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "title: %s\n", yamlQuote(fmt.Sprintf("sleuth simulator: labels known at the start (seed %d)", seed)))
	b.WriteString("creator: sleuth sim\n")
	b.WriteString("description: Synthetic attribution tags for a simulated chain. Every address is also in truth/addresses.csv.\n")
	b.WriteString("is_public: true\n")
	b.WriteString("currency: BTC\n")
	b.WriteString("network: BTC\n")
	fmt.Fprintf(&b, "lastmod: %s\n", lastmod)
	b.WriteString("tags:\n")
	theft := make([]tag, 0, len(tw.theftAddrs))
	for i, a := range tw.theftAddrs {
		if i%2 == 0 { // the investigator knows some of the attacker's first addresses
			theft = append(theft, tag{a, "Hanbit Exchange hack 2017", "perpetrator", "service_hack", "", "forensic_investigation",
				tagSource + "incident-report", "received stolen funds"})
		}
	}
	for _, t := range append(tw.tags, theft...) {
		fmt.Fprintf(&b, "- address: %s\n  label: %s\n  category: %s\n", t.address, yamlQuote(t.label), t.category)
		if t.abuse != "" {
			fmt.Fprintf(&b, "  abuse: %s\n", t.abuse)
		}
		if t.concept != "" {
			fmt.Fprintf(&b, "  concepts:\n  - %s\n", t.concept)
		}
		fmt.Fprintf(&b, "  confidence: %s\n  source: %s\n  context: %s\n", t.confidence, t.source, yamlQuote(t.context))
	}
	return writeFile(filepath.Join(tw.out, "public", "tagpack.yaml"), []byte(b.String()))
}

func writeFile(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("sim: write %s: %w", filepath.Base(path), err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("sim: encode %s: %w", filepath.Base(path), err)
	}
	return writeFile(path, append(data, '\n'))
}

// finish writes the files that need the whole run: entities, the taint
// summary, the incident description and the TagPack.
func (s *sim) finish(tw *truthWriter) error {
	f, err := os.Create(filepath.Join(s.opts.Out, "truth", "entities.csv"))
	if err != nil {
		return fmt.Errorf("sim: create entities.csv: %w", err)
	}
	w := bufio.NewWriter(f)
	w.WriteString("entity_id,name,type,software,country\n")
	for i, e := range s.entities {
		name := e.name
		if name == "" {
			name = fmt.Sprintf("%s-%d", e.kind, i)
		}
		fmt.Fprintf(w, "%d,%s,%s,%s,%s\n", i, name, e.kind, e.soft, e.country)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("sim: write entities.csv: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sim: close entities.csv: %w", err)
	}
	var b strings.Builder
	b.WriteString("entity_id,utxos,sats\n")
	for i, e := range s.entities {
		var n, v int64
		for _, wid := range e.wallets {
			n += int64(len(s.wallets[wid].utxos))
			v += s.wallets[wid].bal
		}
		if n > 0 {
			fmt.Fprintf(&b, "%d,%d,%d\n", i, n, v)
		}
	}
	if err := writeFile(filepath.Join(s.opts.Out, "truth", "balances.csv"), []byte(b.String())); err != nil {
		return err
	}

	type entityTotal struct {
		EntityID int32  `json:"entity_id"`
		Name     string `json:"name"`
		Type     string `json:"type"`
		Sats     int64  `json:"sats"`
	}
	type caseSummary struct {
		Case         string        `json:"case"`
		OriginSats   int64         `json:"origin_sats"`
		ReceivedSats int64         `json:"received_sats"`
		FeeSats      int64         `json:"fee_sats"`
		HeldSats     int64         `json:"held_unspent_sats"`
		Balanced     bool          `json:"balanced"`
		ReceivedBy   []entityTotal `json:"received_by"`
	}
	var cases []caseSummary
	for cs := range caseNames {
		c := caseSummary{Case: caseNames[cs], OriginSats: s.crime.origin[cs], FeeSats: s.crime.fees[cs], HeldSats: s.heldTaint(cs)}
		for ent, v := range s.crime.received[cs] {
			name, typ := "", ""
			if ent >= 0 {
				name, typ = s.entityName(ent), s.entities[ent].kind.String()
			}
			c.ReceivedBy = append(c.ReceivedBy, entityTotal{ent, name, typ, v})
			c.ReceivedSats += v
		}
		sort.Slice(c.ReceivedBy, func(i, j int) bool {
			a, b := c.ReceivedBy[i], c.ReceivedBy[j]
			if a.Sats != b.Sats {
				return a.Sats > b.Sats
			}
			return a.EntityID < b.EntityID
		})
		c.Balanced = c.OriginSats == c.ReceivedSats+c.FeeSats+c.HeldSats
		if !c.Balanced {
			return fmt.Errorf("sim: internal error: %s taint does not balance: origin %d != received %d + fees %d + held %d",
				c.Case, c.OriginSats, c.ReceivedSats, c.FeeSats, c.HeldSats)
		}
		cases = append(cases, c)
	}
	if err := writeJSON(filepath.Join(s.opts.Out, "truth", "taint_summary.json"), cases); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(s.opts.Out, "truth", "coordinators.json"), &s.collab); err != nil {
		return err
	}

	// The investigator's incident description.
	type theftIncident struct {
		Victim          string   `json:"victim"`
		VictimCountry   string   `json:"victim_country"`
		Date            string   `json:"date"`
		Height          int32    `json:"height"`
		ReportedBTC     float64  `json:"reported_btc"`
		Txids           []string `json:"txids"`
		VictimHotWallet []string `json:"victim_hot_wallets"`
		Attribution     string   `json:"attribution"`
	}
	type ransomIncident struct {
		Family        string     `json:"family"`
		CampaignStart string     `json:"campaign_start"`
		Addresses     []string   `json:"ransom_addresses"`
		RansomBTC     [2]float64 `json:"ransom_range_btc"`
	}
	victim := &s.w.exch[victimExchange]
	var hot []string
	for i := range s.wallets[victim.hot].fixed {
		a, err := encodeAddress(&s.wallets[victim.hot].fixed[i], s.params)
		if err != nil {
			return err
		}
		hot = append(hot, a)
	}
	var txids []string
	for _, t := range s.crime.theftTxids {
		txids = append(txids, hashHex(t))
	}
	inc := struct {
		Network string         `json:"network"`
		Theft   theftIncident  `json:"theft"`
		Ransom  ransomIncident `json:"ransomware"`
	}{
		Network: s.opts.Network.Name,
		Theft: theftIncident{
			Victim: s.entities[victim.ent].name, VictimCountry: s.entities[victim.ent].country,
			Date: time.Unix(s.crime.theftTime, 0).UTC().Format("2006-01-02"), Height: s.crime.theftHeight,
			ReportedBTC: float64(roundSats(s.crime.origin[caseTheft])) / 1e8, Txids: txids, VictimHotWallet: hot,
			Attribution: "a state-backed group (as reported by national authorities)",
		},
		Ransom: ransomIncident{Family: "Ransomware campaign 2017", CampaignStart: time.Unix(ransomStart, 0).UTC().Format("2006-01-02"),
			Addresses: tw.ransomAddr, RansomBTC: [2]float64{0.1, 1}},
	}
	if err := writeJSON(filepath.Join(s.opts.Out, "public", "incident.json"), inc); err != nil {
		return err
	}
	return tw.writeTagPack(s.opts.Seed, time.Unix(theftDate, 0).UTC().Format("2006-01-02"))
}

func (s *sim) entityName(ent int32) string {
	if n := s.entities[ent].name; n != "" {
		return n
	}
	return fmt.Sprintf("%s-%d", s.entities[ent].kind, ent)
}

// writeSummary writes truth/summary.json (without the duration, so that
// the output stays byte-identical across runs).
func (tw *truthWriter) writeSummary(sum *Summary) error {
	return writeJSON(filepath.Join(tw.out, "truth", "summary.json"), sum)
}

func (b *truthBatch) reset() {
	b.ents = nil
	b.addrs = b.addrs[:0]
	b.txs = b.txs[:0]
	b.cjs = b.cjs[:0]
	b.peels = b.peels[:0]
	b.taint = b.taint[:0]
	b.swaps = b.swaps[:0]
	b.victims = b.victims[:0]
}
