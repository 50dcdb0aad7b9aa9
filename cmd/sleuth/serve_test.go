package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/api"
	"github.com/sleuth-forensics/sleuth/internal/apikey"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
)

// startServer runs sleuth serve's api.Run on the store at dir (as
// runServe does, on 127.0.0.1:0) until the returned stop is called; with
// a key it first creates a write-scope key and returns its secret.
func startServer(t *testing.T, dir string, withKey bool) (url, secret string, stop func()) {
	t.Helper()
	db, err := index.Open(dir, &index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if withKey {
		if _, secret, err = apikey.Create(ctx, apikey.NewDB(db), "cli test", apikey.Write); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := apikey.Load(ctx, apikey.NewDB(db), 0)
	if err != nil {
		t.Fatal(err)
	}
	pl := pipeline.New(db, pipeline.Options{})
	urlc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- api.Run(ctx, pl, db, api.RunOptions{Options: api.Options{Keys: keys}, Listen: "127.0.0.1:0",
			Ready: func(u string) { urlc <- u }})
	}()
	select {
	case url = <-urlc:
	case err := <-done:
		t.Fatal(err)
	}
	return url, secret, func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		db.Close()
	}
}

// elapsed matches the timings that differ between two runs of a command.
var elapsed = regexp.MustCompile(`"elapsed_seconds": [0-9.e+-]+|in [0-9.]+m?s|[0-9]+ transactions in [0-9.]+s`)

// TestReadThroughServer runs every read command on a store with no
// server, then with sleuth serve owning it: the second run goes through
// the server (the store is locked) and must print the same bytes (text
// and --json; timings aside) and exit the same way. Commands that write,
// and reads no route serves, say that the server owns the store and what
// to use instead.
func TestReadThroughServer(t *testing.T) {
	db, addrs := riskStore(t)
	work := t.TempDir()
	// A dated list, so the basis has a publication date.
	list := filepath.Join(work, "list.txt")
	if err := os.WriteFile(list, []byte(addrs[3]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, "labels", "import", "--db", db, "--format", "address_list", "--date", "2024-01-02", list); code != 0 {
		t.Fatalf("labels import: %d %s %s", code, out, errOut)
	}
	a, b := addrs[0], addrs[1]
	// A transaction, an entity with more than one member and its members.
	var txs []struct {
		TxID string `json:"txid"`
	}
	_, out, _ := runCLI(t, "address", "--db", db, "--txs", "--json", a)
	if err := json.Unmarshal([]byte(out), &txs); err != nil || len(txs) == 0 {
		t.Fatalf("address --txs: %v %q", err, out)
	}
	txid := txs[0].TxID
	var ent struct {
		ID   uint64 `json:"id"`
		Size uint64 `json:"size"`
	}
	var member string
	for _, x := range addrs {
		_, out, _ := runCLI(t, "entity", "--db", db, "--json", x)
		if json.Unmarshal([]byte(out), &ent) == nil && ent.Size > 2 {
			var ms []struct {
				Address string `json:"address"`
			}
			_, out, _ = runCLI(t, "entity", "--db", db, "--json", "--addresses", "--limit", "2", x)
			if json.Unmarshal([]byte(out), &ms) == nil && len(ms) == 2 {
				a, member = x, ms[1].Address
				if member == a {
					member = ms[0].Address
				}
				break
			}
		}
	}
	if member == "" {
		t.Fatal("no entity of more than 2 addresses among the sample")
	}
	// Batches: CSV (with bad rows and a txid), JSON lines, and 12,000
	// rows (more than one POST /v1/screen of 10,000).
	csvIn := filepath.Join(work, "in.csv")
	rows := []string{"id,address", "1," + a, "2," + b, "3,1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "4,notanaddress", "5," + txid, "6", "7,\"unterminated", "8,tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "9," + strings.Repeat("z", 64), "10,"}
	if err := os.WriteFile(csvIn, []byte(strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	jsonlIn := filepath.Join(work, "in.jsonl")
	if err := os.WriteFile(jsonlIn, []byte(fmt.Sprintf("{\"address\":%q,\"k\":1}\n%q\n{bad\n{\"x\":2}\n", a, b)), 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(work, "big.txt")
	var sb strings.Builder
	for i := range 12_000 {
		switch i % 3 {
		case 0:
			sb.WriteString(addrs[i%len(addrs)])
		case 1:
			sb.WriteString("1BadAddress" + fmt.Sprint(i))
		default:
			sb.WriteString(addrs[(i*7)%len(addrs)])
		}
		sb.WriteByte('\n')
	}
	if err := os.WriteFile(big, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	entity := fmt.Sprint(ent.ID)
	reads := [][]string{
		{"status"}, {"status", "--json"},
		{"block", "1"}, {"block", "--json", "2"}, {"block", "zz"}, {"block", "99999999"},
		{"tx", txid}, {"tx", "--json", txid}, {"tx", strings.Repeat("ab", 32)},
		{"address", a}, {"address", "--json", a}, {"address", "--txs", a}, {"address", "--txs", "--json", "--limit", "0", a},
		{"address", "--txs", "--json", "--limit", "2", "--after", txid, a}, {"address", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"}, {"address", "1BoatSLRHtKNngkdXEeobR76b53LETtpyU"},
		{"entity", a}, {"entity", "--json", entity}, {"entity", "--addresses", a}, {"entity", "--addresses", "--json", "--limit", "0", a},
		{"entity", "--addresses", "--limit", "1", "--after", a, a},
		{"entity", "--explain", member, a}, {"entity", "--json", "--explain", member, a}, {"entity", "--json", "--explain", b, a},
		{"labels", "show", addrs[3]}, {"labels", "show", "--json", addrs[3]}, {"labels", "show", "--json", "--as-of", "2020-01-01", addrs[3]}, {"labels", "show", entity},
		{"screen", a, b, txid, "bogus"}, {"screen", "--json", a, b, txid, "bogus", strings.Repeat("z", 64)},
		{"screen", "--csv", csvIn}, {"screen", "--csv", csvIn, "--out", "json"}, {"screen", "--jsonl", jsonlIn}, {"screen", "--jsonl", jsonlIn, "--out", "text"},
		{"screen", "--csv", big, "--out", "jsonl"},
		{"exposure", a}, {"exposure", "--json", a}, {"exposure", "--json", entity}, {"exposure", "--json", txid}, {"exposure", "--json", "bogus"},
		{"exposure", "--json", "99999999999999999999999"}, {"exposure", "--json", strings.Repeat("z", 64)},
		{"exposure", "--paths", "--json", a}, {"exposure", "--paths", a},
	}
	type result struct {
		code     int
		out, err string
	}
	run := func(args []string) result {
		full := append([]string{args[0], "--db", db}, args[1:]...)
		if args[0] == "labels" {
			full = append([]string{"labels", args[1], "--db", db}, args[2:]...)
		}
		code, out, errOut := runCLI(t, full...)
		return result{code, elapsed.ReplaceAllString(out, "TIME"), errOut}
	}
	local := make([]result, len(reads))
	for i, args := range reads {
		local[i] = run(args)
	}
	url, _, stop := startServer(t, db, false)
	defer stop()
	for i, args := range reads {
		got := run(args)
		if got.code != local[i].code || got.out != local[i].out {
			t.Errorf("%v through the server: exit %d, stderr %q; locally exit %d, stderr %q\n%s", args, got.code, got.err, local[i].code, local[i].err,
				firstDiff(local[i].out, got.out))
		}
		if local[i].code == 0 && local[i].out != "" && len(got.out) == 0 {
			t.Errorf("%v: no output", args)
		}
	}
	// Writes, and reads no route serves, name the server and what to use.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"labels", "import", "--db", db, list}, "POST /v1/labels/import"},
		{[]string{"label", "remove", "--db", db, "--id", "1"}, "DELETE /v1/labels/{id}"},
		{[]string{"trace", "--db", db, "--from", txid}, "POST /v1/trace"},
		{[]string{"stats", "--db", db}, "GET /v1/status (sleuth status)"},
		{[]string{"cluster", "--db", db}, "the server clusters after every block"},
		{[]string{"incident", "list", "--db", db}, "no route does this: stop the server first"},
	} {
		code, _, errOut := runCLI(t, c.args...)
		if code == 0 || !strings.Contains(errOut, "sleuth serve at "+url+" owns this store") || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want the server named and %q", c.args, code, errOut, c.want)
		}
	}
	for _, args := range [][]string{{"screen", "--db", db, "--as-of", "2024-01-01", a}, {"exposure", "--db", db, "--rules", "/nonexistent", a}, {"exposure", "--db", db, "--paths", "--policy", "haircut", a}} {
		code, _, errOut := runCLI(t, args...)
		if args[3] == "--rules" {
			continue // the rules file is read (and refused) before the store is opened
		}
		if code != exitUsage || !strings.Contains(errOut, "owns this store") {
			t.Errorf("%v: exit %d, stderr %q; want a usage error naming the server", args, code, errOut)
		}
	}
}

// firstDiff shows where two outputs part.
func firstDiff(want, got string) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	from := max(0, i-80)
	return fmt.Sprintf("at byte %d:\n local: %q\n server: %q", i, want[from:min(len(want), i+120)], got[from:min(len(got), i+120)])
}

// TestServerNeedsKey: a server with API keys answers a read command
// without one with a 401, which the CLI explains naming --api-key; with
// the key (flag or $SLEUTH_API_KEY) the command answers.
func TestServerNeedsKey(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db") // a copy: the key is stored in it
	if err := os.CopyFS(db, os.DirFS(demoIndex(t))); err != nil {
		t.Fatal(err)
	}
	const a = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
	_, want, _ := runCLI(t, "address", "--db", db, "--json", a)
	_, secret, stop := startServer(t, db, true)
	defer stop()
	code, out, errOut := runCLI(t, "address", "--db", db, "--json", a)
	if code != exitFailure || out != "" || !strings.Contains(errOut, "401") || !strings.Contains(errOut, "--api-key") {
		t.Errorf("no key: exit %d, stdout %q, stderr %q; want a 401 naming --api-key", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "address", "--db", db, "--json", "--api-key", "sk_wrong", a)
	if code != exitFailure || !strings.Contains(errOut, "unknown or revoked API key") {
		t.Errorf("wrong key: exit %d, stderr %q", code, errOut)
	}
	code, out, errOut = runCLI(t, "address", "--db", db, "--json", "--api-key", secret, a)
	if code != 0 || out != want {
		t.Errorf("with --api-key: exit %d, stderr %q\n%s", code, errOut, firstDiff(want, out))
	}
	t.Setenv("SLEUTH_API_KEY", secret)
	if code, out, errOut = runCLI(t, "address", "--db", db, "--json", a); code != 0 || out != want {
		t.Errorf("with $SLEUTH_API_KEY: exit %d, stderr %q", code, errOut)
	}
}

// TestStaleServerFile: a SERVER file left by a server that is gone is
// ignored with a note, and the store opens as usual.
func TestStaleServerFile(t *testing.T) {
	db := demoIndex(t)
	const a = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
	_, want, _ := runCLI(t, "address", "--db", db, "--json", a)
	file := filepath.Join(db, api.ServerFile)
	if err := os.WriteFile(file, []byte(`{"url":"http://127.0.0.1:1","pid":1073741824}`), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(file)
	code, out, errOut := runCLI(t, "address", "--db", db, "--json", a)
	if code != 0 || out != want || !strings.Contains(errOut, "ignoring "+file) || !strings.Contains(errOut, "1073741824 is not running") {
		t.Errorf("stale SERVER file: exit %d, stderr %q\n%s", code, errOut, firstDiff(want, out))
	}
	// A store held by another process while a stale file names a server:
	// the holder is named, and the file is noted as stale.
	holder, err := index.Open(db, &index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	code, _, errOut = runCLI(t, "address", "--db", db, "--json", a)
	if code != exitFailure || !strings.Contains(errOut, "in use") || !strings.Contains(errOut, "ignoring "+file) || strings.Contains(errOut, "owns this store") {
		t.Errorf("held store, stale file: exit %d, stderr %q", code, errOut)
	}
}
