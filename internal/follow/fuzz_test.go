package follow

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// TestParseNotification covers the bitcoind ZMQ message shapes.
func TestParseNotification(t *testing.T) {
	hash := bytes.Repeat([]byte{0xaa}, 31)
	hash = append([]byte{0x01}, hash...) // display order: first byte is the last internal one
	seq := binary.LittleEndian.AppendUint32(nil, 7)
	mempool := make([]byte, 8)
	cases := []struct {
		name   string
		frames [][]byte
		label  byte
		block  bool
		ok     bool
	}{
		{"hashblock", [][]byte{[]byte("hashblock"), hash, seq}, 0, true, true},
		{"connected", [][]byte{[]byte("sequence"), append(append([]byte(nil), hash...), 'C'), seq}, 'C', true, true},
		{"disconnected", [][]byte{[]byte("sequence"), append(append([]byte(nil), hash...), 'D'), seq}, 'D', true, true},
		{"mempool add", [][]byte{[]byte("sequence"), append(append(append([]byte(nil), hash...), 'A'), mempool...), seq}, 'A', false, true},
		{"mempool add without its sequence", [][]byte{[]byte("sequence"), append(append([]byte(nil), hash...), 'A'), seq}, 0, false, false},
		{"unknown label", [][]byte{[]byte("sequence"), append(append([]byte(nil), hash...), 'X'), seq}, 0, false, false},
		{"two frames", [][]byte{[]byte("hashblock"), hash}, 0, false, false},
		{"short hash", [][]byte{[]byte("hashblock"), hash[:31], seq}, 0, false, false},
		{"short sequence", [][]byte{[]byte("hashblock"), hash, seq[:3]}, 0, false, false},
		{"other topic", [][]byte{[]byte("rawtx"), hash, seq}, 0, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := ParseNotification(tc.frames)
			if !tc.ok {
				if !errors.Is(err, ErrBadNotification) {
					t.Fatalf("got %+v, %v; want ErrBadNotification", n, err)
				}
				return
			}
			if err != nil || n.Seq != 7 || n.Label != tc.label || n.Block() != tc.block || n.Hash[31] != 0x01 || n.Hash[0] != 0xaa {
				t.Fatalf("got %+v, %v", n, err)
			}
		})
	}
}

// FuzzParseNotification: any frames give a notification or
// ErrBadNotification, never a panic.
func FuzzParseNotification(f *testing.F) {
	f.Add([]byte("sequence"), append(make([]byte, 32), 'C'), []byte{1, 0, 0, 0})
	f.Add([]byte("hashblock"), make([]byte, 32), []byte{0, 0, 0, 0})
	f.Add([]byte("sequence"), append(make([]byte, 32), 'R', 1, 2, 3, 4, 5, 6, 7, 8), []byte{9, 0, 0, 0})
	f.Fuzz(func(t *testing.T, topic, body, seq []byte) {
		n, err := ParseNotification([][]byte{topic, body, seq})
		if err != nil {
			if !errors.Is(err, ErrBadNotification) {
				t.Fatalf("error %v does not wrap ErrBadNotification", err)
			}
			return
		}
		if n.Topic != "hashblock" && n.Topic != "sequence" {
			t.Fatalf("accepted topic %q", n.Topic)
		}
	})
}

// FuzzDecodeReply: any answer body decodes or gives ErrBadReply,
// ErrWarmingUp or an *RPCError, never a panic.
func FuzzDecodeReply(f *testing.F) {
	f.Add([]byte(`{"result":{"chain":"main","blocks":5,"bestblockhash":"00"},"error":null,"id":1}`))
	f.Add([]byte(`{"result":null,"error":{"code":-28,"message":"Loading block index…"},"id":1}`))
	f.Add([]byte(`{"result":null,"error":{"code":-8,"message":"Block height out of range"},"id":1}`))
	f.Add([]byte(`<html>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var ci ChainInfo
		err := decodeReply("getblockchaininfo", body, &ci)
		var re *RPCError
		if err != nil && !errors.Is(err, ErrBadReply) && !errors.Is(err, ErrWarmingUp) && !errors.As(err, &re) {
			t.Fatalf("unclassified error %v", err)
		}
	})
}
