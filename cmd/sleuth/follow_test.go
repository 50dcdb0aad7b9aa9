package main

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// TestFollowCLI: flag errors exit 2; a node on another network stops
// follow with exit 1 and a message naming both networks.
func TestFollowCLI(t *testing.T) {
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"result":{"chain":"test","blocks":5,"headers":5,"bestblockhash":"` + strings.Repeat("0", 64) + `"},"error":null,"id":1}`))
	}))
	defer node.Close()
	db := filepath.Join(t.TempDir(), "db")
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no source", []string{"follow", "--db", db}, exitUsage, "--rpc URL or --blocks DIR"},
		{"both sources", []string{"follow", "--db", db, "--rpc", node.URL, "--blocks", t.TempDir()}, exitUsage, "exactly one"},
		{"cookie and password", []string{"follow", "--db", db, "--rpc", node.URL, "--rpc-cookie", "c", "--rpc-user", "u"}, exitUsage, "not both"},
		{"zmq without rpc", []string{"follow", "--db", db, "--blocks", t.TempDir(), "--zmq", "tcp://127.0.0.1:1"}, exitUsage, "need --rpc"},
		{"bad url", []string{"follow", "--db", db, "--rpc", "127.0.0.1:8332"}, exitUsage, "want http://"},
		{"wrong network", []string{"follow", "--db", db, "--rpc", node.URL, "--no-cluster"}, exitFailure, `node follows "test", the store holds mainnet`},
		{"serve: both sources", []string{"serve", "--db", db, "--rpc", node.URL, "--blocks", t.TempDir()}, exitUsage, "exactly one"},
		{"serve: cookie and password", []string{"serve", "--db", db, "--rpc", node.URL, "--rpc-cookie", "c", "--rpc-pass", "p"}, exitUsage, "not both"},
		{"serve: rest without rpc", []string{"serve", "--db", db, "--rest"}, exitUsage, "need --rpc"},
		{"serve: no ingest share", []string{"serve", "--db", db, "--blocks", t.TempDir(), "--ingest-share", "0"}, exitUsage, "--ingest-share 0: want a share"},
		{"serve: ingest share above 1", []string{"serve", "--db", db, "--blocks", t.TempDir(), "--ingest-share", "1.5"}, exitUsage, "at most 1"},
		{"serve: ingest share not a number", []string{"serve", "--db", db, "--blocks", t.TempDir(), "--ingest-share", "NaN"}, exitUsage, "--ingest-share NaN"},
		{"serve: wrong network", []string{"serve", "--db", db, "--listen", "127.0.0.1:0", "--rpc", node.URL}, exitFailure, `node follows "test", the store holds mainnet`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.msg) {
				t.Fatalf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr, tc.code, tc.msg)
			}
		})
	}
}
