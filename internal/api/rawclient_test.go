package api

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// rawClient is a lean HTTP/1.1 keep-alive client for the load benchmark
// (SLEUTH_SERVE_CLIENT=raw): one connection, one request at a time, written
// and read by the calling goroutine, where net/http's client hands every
// request to two goroutines of its own (a connection's read and write
// loops). The clients of a deployed server run on other machines; here
// they share the server's 2 cores, and the lighter they are, the less of
// their cost is charged to the server. It speaks enough of HTTP/1.1 for
// the server's answers: a status line, headers, and a body of
// Content-Length bytes or chunks.
type rawClient struct {
	addr string // host:port
	c    net.Conn
	r    *bufio.Reader
	req  []byte
}

// get sends GET path and reads the whole answer; anything but a 200 is an
// error, and so is a broken connection (the next get dials again).
func (rc *rawClient) get(path string) error {
	if rc.c == nil {
		c, err := net.DialTimeout("tcp", rc.addr, 10*time.Second)
		if err != nil {
			return err
		}
		rc.c, rc.r = c, bufio.NewReaderSize(c, 32<<10)
	}
	rc.req = append(append(append(append(rc.req[:0], "GET "...), path...), " HTTP/1.1\r\nHost: "...), rc.addr...)
	rc.req = append(rc.req, "\r\n\r\n"...)
	status, err := rc.exchange()
	if err != nil {
		rc.c.Close()
		rc.c = nil
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if status != 200 {
		return fmt.Errorf("GET %s: status %d", path, status)
	}
	return nil
}

// exchange writes the request and reads the answer, returning its status.
func (rc *rawClient) exchange() (status int, err error) {
	if err := rc.c.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		return 0, err
	}
	if _, err := rc.c.Write(rc.req); err != nil {
		return 0, err
	}
	line, err := rc.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, fmt.Errorf("status line %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, fmt.Errorf("status line %q", line)
	}
	length, chunked, closing := -1, false, false
	for {
		h, err := rc.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, fmt.Errorf("header %q", h)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, fmt.Errorf("header %q", h)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		err = rc.chunks()
	case length >= 0:
		_, err = rc.r.Discard(length)
	default:
		err = errors.New("an answer with neither a length nor chunks")
	}
	if err == nil && closing {
		err = errors.New("the server closed the connection")
	}
	return status, err
}

// chunks reads a chunked body and its (empty) trailer.
func (rc *rawClient) chunks() error {
	for {
		line, err := rc.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseUint(string(size), 16, 31)
		if err != nil {
			return fmt.Errorf("chunk size %q", line)
		}
		if n == 0 {
			_, err := rc.r.Discard(2)
			return err
		}
		if _, err := rc.r.Discard(int(n) + 2); err != nil {
			return err
		}
	}
}
