package progress

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestBarAndLog(t *testing.T) {
	var tty bytes.Buffer
	r := &Reporter{w: &tty, tty: true}
	r.Report(Update{Phase: "connect", Done: 50, Total: 100, Unit: "blocks", Txs: 5000, Elapsed: 2 * time.Second})
	r.Report(Update{Phase: "connect", Done: 100, Total: 100, Unit: "blocks", Txs: 10000, Elapsed: 4 * time.Second, Final: true})
	out := tty.String()
	for _, want := range []string{"\r", "[===============               ] 50/100 blocks", "2500 tx/s", "ETA 2s", "100/100", "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("bar output %q lacks %q", out, want)
		}
	}

	var logs bytes.Buffer
	l := &Reporter{log: slog.New(slog.NewTextHandler(&logs, nil)), every: time.Hour}
	l.Report(Update{Phase: "connect", Done: 1, Total: 10, Txs: 10, Elapsed: time.Second})
	l.Report(Update{Phase: "connect", Done: 2, Total: 10, Txs: 20, Elapsed: time.Second}) // within the hour: dropped
	l.Report(Update{Phase: "connect", Done: 10, Total: 10, Txs: 100, Elapsed: time.Second, Final: true})
	if n := strings.Count(logs.String(), "msg=connect"); n != 2 {
		t.Errorf("got %d log lines, want 2 (first and final):\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "\r") {
		t.Error("log output contains a carriage return")
	}
}
