package alert

import (
	"bytes"
	"context"
	"errors"
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

// EventSource is what Stream reads: Store's Events.
type EventSource interface {
	Events(ctx context.Context, after uint64, fn func(*Event) (bool, error)) error
}

// Stream writes every event after lastEventID to w, then the new ones as
// they are stored (looking every poll), calling flush after each batch,
// until ctx ends or a write fails. StreamWith adds heartbeats and a done
// channel.
func Stream(ctx context.Context, w io.Writer, flush func(), s EventSource, lastEventID string, poll time.Duration) error {
	after, err := ParseLastEventID(lastEventID)
	if err != nil {
		return err
	}
	return StreamWith(ctx, w, flush, s, after, StreamOptions{Poll: poll})
}

// StreamOptions configure StreamWith.
type StreamOptions struct {
	// Poll is how often the source is read for new events. Default 1 s.
	Poll time.Duration
	// Heartbeat, when positive, writes a comment line (": keep-alive")
	// after that long without a message, so that proxies keep the
	// connection open and a gone client is noticed.
	Heartbeat time.Duration
	// Done ends the stream like ctx (a server shutting down closes it).
	Done <-chan struct{}
	// BeforeWrite, when set, is called before each write (the server
	// extends the connection's write deadline there).
	BeforeWrite func()
}

// ErrStreamDone is StreamWith's answer when opts.Done closes.
var ErrStreamDone = errors.New("alert stream: closed by the server")

// StreamWith writes every event after the sequence number after to w,
// then the new ones as they are stored, calling flush after each batch
// and heartbeat, until ctx ends (its error), opts.Done closes
// (ErrStreamDone) or a write or read fails. The server mounts it on
// GET /v1/alerts/stream.
func StreamWith(ctx context.Context, w io.Writer, flush func(), s EventSource, after uint64, opts StreamOptions) error {
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	before := func() {
		if opts.BeforeWrite != nil {
			opts.BeforeWrite()
		}
	}
	t := time.NewTicker(opts.Poll)
	defer t.Stop()
	lastWrite := time.Now()
	for {
		// A closed Done wins over a tick that is ready at the same
		// moment (select would pick either): no write after it.
		select {
		case <-opts.Done:
			return ErrStreamDone
		default:
		}
		n := 0
		err := s.Events(ctx, after, func(ev *Event) (bool, error) {
			before()
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
		if n == 0 && opts.Heartbeat > 0 && time.Since(lastWrite) >= opts.Heartbeat {
			before()
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil {
				return err
			}
			n = 1
		}
		if n > 0 {
			lastWrite = time.Now()
			if flush != nil {
				flush()
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-opts.Done:
			return ErrStreamDone
		case <-t.C:
		}
	}
}
