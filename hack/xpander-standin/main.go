// Command xpander-standin serves a stand-in for the xpander.ai API's GET /v1/misc/db over TLS
// on loopback, for the demo and the end-to-end test. Its answers come from a JSON file that
// maps API keys to answers in the documented schema; the file is read again whenever it
// changes, which is how the demo rotates a password.
//
//	xpander-standin --answers answers.json --ca-out ca.pem --url-out url.txt
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/xpander-ai/xpander-db-operator/internal/xpander/xpandertest"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "loopback address to serve on")
	answers := flag.String("answers", "", "JSON file mapping each API key to its answer (required)")
	caOut := flag.String("ca-out", "", "write the server's certificate (PEM) here for clients to trust")
	urlOut := flag.String("url-out", "", "write the server's base URL here once it is serving")
	flag.Parse()

	if *answers == "" {
		log.Fatal("--answers is required")
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		log.Fatalf("--listen: %v", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		log.Fatalf("--listen must be a loopback address, not %q", host)
	}

	l, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	srv := xpandertest.NewServerOn(l)
	defer srv.Close()

	known := map[string]bool{}
	var last []byte
	reload := func() {
		data, err := os.ReadFile(*answers)
		if err != nil {
			log.Printf("read answers: %v", err)
			return
		}
		if bytes.Equal(data, last) {
			return
		}
		var byKey map[string]xpandertest.Database
		if err := json.Unmarshal(data, &byKey); err != nil {
			log.Printf("answers file is not a JSON object of answers: %v", err)
			return
		}
		for key := range known {
			if _, ok := byKey[key]; !ok {
				srv.RemoveKey(key)
				delete(known, key)
			}
		}
		for key, db := range byKey {
			srv.SetDatabase(key, db)
			known[key] = true
		}
		last = data
		log.Printf("answers loaded for %d API key(s)", len(byKey))
	}
	reload()

	if *caOut != "" {
		if err := os.WriteFile(*caOut, srv.CACertPEM(), 0o644); err != nil {
			log.Fatalf("write CA: %v", err)
		}
	}
	if *urlOut != "" {
		if err := os.WriteFile(*urlOut, []byte(srv.URL+"\n"), 0o644); err != nil {
			log.Fatalf("write URL: %v", err)
		}
	}
	fmt.Println(srv.URL)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			log.Printf("served %d call(s); stopping", len(srv.CallLog()))
			return
		case <-tick.C:
			reload()
		}
	}
}
