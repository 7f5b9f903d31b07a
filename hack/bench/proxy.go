package main

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// latencyProxy stands between the operator and the stand-in on loopback and holds every
// chunk the operator sends for a fixed delay, so that each request, and each step of a TLS
// handshake, takes about that much longer, as across a network to the real API.
type latencyProxy struct {
	listener net.Listener
	target   string
	delay    time.Duration
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]bool
}

// startLatencyProxy listens on 127.0.0.1 and forwards to target, itself on loopback.
func startLatencyProxy(target string, delay time.Duration) (*latencyProxy, error) {
	host, _, err := net.SplitHostPort(target)
	if err != nil || host != "127.0.0.1" {
		return nil, errors.New("the latency proxy forwards to 127.0.0.1 only")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &latencyProxy{listener: l, target: target, delay: delay, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

func (p *latencyProxy) addr() string { return p.listener.Addr().String() }

func (p *latencyProxy) serve() {
	defer p.wg.Done()
	for {
		in, err := p.listener.Accept()
		if err != nil {
			return // closed
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		if !p.track(in, out) {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			var pair sync.WaitGroup
			pair.Add(2)
			go func() {
				defer pair.Done()
				p.delayed(out, in)
				_ = out.(*net.TCPConn).CloseWrite()
			}()
			go func() {
				defer pair.Done()
				_, _ = io.Copy(in, out)
				_ = in.(*net.TCPConn).CloseWrite()
			}()
			pair.Wait()
			p.untrack(in, out)
		}()
	}
}

// track records a connection pair so that close can end it; it refuses once closed.
func (p *latencyProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = true
	}
	return true
}

// untrack closes a finished connection pair and forgets it.
func (p *latencyProxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		c.Close()
		if p.conns != nil {
			delete(p.conns, c)
		}
	}
}

// delayed copies from src to dst, holding each chunk for the delay.
func (p *latencyProxy) delayed(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			time.Sleep(p.delay)
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// close stops accepting, ends every connection and waits for the copying to stop.
func (p *latencyProxy) close() {
	p.listener.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}
