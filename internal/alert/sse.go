package alert

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"time"
)

// WriteSSE writes ev as one text/event-stream message: its sequence number
// as the id (what a client sends back as Last-Event-ID), its type as the
// event and its body as data.
func WriteSSE(w io.Writer, ev *Event) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "id: %d\nevent: %s\n", ev.Seq, ev.Type)
	for line := range bytes.SplitSeq(ev.Body, []byte{'\n'}) {
		b.WriteString("data: ")
		b.Write(line)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// ParseLastEventID parses a Last-Event-ID header ("" means from the start).
func ParseLastEventID(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("Last-Event-ID %q: not an event id of this stream", s)
	}
	return n, nil
}

// Stream writes every event after lastEventID to w, then the new ones as
// they are stored (looking every poll), calling flush after each batch,
// until ctx ends or a write fails. The server mounts it on
// GET /v1/alerts/stream.
func Stream(ctx context.Context, w io.Writer, flush func(), s Store, lastEventID string, poll time.Duration) error {
	after, err := ParseLastEventID(lastEventID)
	if err != nil {
		return err
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		n := 0
		err := s.Events(ctx, after, func(ev *Event) (bool, error) {
			if err := WriteSSE(w, ev); err != nil {
				return false, err
			}
			after = ev.Seq
			n++
			return true, nil
		})
		if err != nil {
			return err
		}
		if n > 0 && flush != nil {
			flush()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
