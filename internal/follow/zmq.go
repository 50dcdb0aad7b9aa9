package follow

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// ErrBadNotification means a ZMQ message is not a bitcoind notification.
var ErrBadNotification = errors.New("malformed ZMQ notification")

// Notification is one bitcoind ZMQ message of the topics the follower
// subscribes to.
type Notification struct {
	Topic string   // "hashblock" or "sequence"
	Hash  btc.Hash // the block (or transaction) hash, in internal byte order
	// Label is the sequence topic's event: 'C' block connected, 'D'
	// disconnected, 'A'/'R' transaction added to/removed from the mempool;
	// 0 for hashblock.
	Label byte
	Seq   uint32 // per-topic message counter
}

// Block reports whether n announces a block change (all hashblock
// messages and sequence C/D).
func (n Notification) Block() bool {
	return n.Topic == "hashblock" || n.Label == 'C' || n.Label == 'D'
}

// ParseNotification decodes a 3-frame message topic | body | LE uint32
// sequence number. Hashes in bodies are sent in display order (reversed).
func ParseNotification(frames [][]byte) (Notification, error) {
	var n Notification
	if len(frames) != 3 {
		return n, fmt.Errorf("%w: %d frames, want 3 (topic, body, sequence)", ErrBadNotification, len(frames))
	}
	n.Topic = string(frames[0])
	body, seq := frames[1], frames[2]
	if len(seq) != 4 {
		return n, fmt.Errorf("%w: %s: %d-byte sequence number, want 4", ErrBadNotification, n.Topic, len(seq))
	}
	n.Seq = binary.LittleEndian.Uint32(seq)
	switch n.Topic {
	case "hashblock":
		if len(body) != btc.HashSize {
			return n, fmt.Errorf("%w: hashblock body of %d bytes, want 32", ErrBadNotification, len(body))
		}
	case "sequence":
		if len(body) < btc.HashSize+1 {
			return n, fmt.Errorf("%w: sequence body of %d bytes, want at least 33", ErrBadNotification, len(body))
		}
		n.Label = body[btc.HashSize]
		want := btc.HashSize + 1
		switch n.Label {
		case 'C', 'D':
		case 'A', 'R':
			want += 8 // mempool sequence
		default:
			return n, fmt.Errorf("%w: sequence label %q, want C, D, A or R", ErrBadNotification, n.Label)
		}
		if len(body) != want {
			return n, fmt.Errorf("%w: sequence %c body of %d bytes, want %d", ErrBadNotification, n.Label, len(body), want)
		}
	default:
		return n, fmt.Errorf("%w: topic %q, want hashblock or sequence", ErrBadNotification, n.Topic)
	}
	for i := range btc.HashSize {
		n.Hash[i] = body[btc.HashSize-1-i]
	}
	return n, nil
}

// subscribe reads notifications from endpoint until ctx ends and wakes the
// follower on each block change, and on any gap in a topic's sequence
// numbers (lost messages). ZMQ is only a hint: polling goes on regardless.
func (f *Follower) subscribe(ctx context.Context, endpoint string) {
	last := map[string]uint32{}
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		sub := zmq4.NewSub(ctx, zmq4.WithDialerRetry(time.Second), zmq4.WithDialerMaxRetries(-1), zmq4.WithAutomaticReconnect(true))
		err := sub.Dial(endpoint)
		if err == nil {
			for _, topic := range []string{"sequence", "hashblock"} {
				if err = sub.SetOption(zmq4.OptionSubscribe, topic); err != nil {
					break
				}
			}
		}
		if err == nil {
			f.log.Info("zmq subscribed", "endpoint", endpoint)
			backoff = 0
			for {
				msg, rerr := sub.Recv()
				if rerr != nil {
					err = rerr
					break
				}
				n, perr := ParseNotification(msg.Frames)
				if perr != nil {
					f.log.Warn("zmq: ignoring message", "endpoint", endpoint, "err", perr)
					continue
				}
				if prev, ok := last[n.Topic]; ok && n.Seq != prev+1 {
					f.log.Warn("zmq: notifications lost", "topic", n.Topic, "missed", n.Seq-prev-1)
					f.Wake()
				}
				last[n.Topic] = n.Seq
				if n.Block() {
					f.log.Debug("zmq: block notification", "topic", n.Topic, "hash", n.Hash, "label", string(rune(n.Label)))
					f.Wake()
				}
			}
		}
		sub.Close()
		if ctx.Err() != nil {
			return
		}
		backoff = min(max(2*backoff, time.Second), f.cfg.MaxBackoff)
		f.log.Warn("zmq: subscription failed; polling goes on, retrying", "endpoint", endpoint, "err", err, "in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
