package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// askStandin asks the stand-in for the database of apiKey, as the operator does, and returns
// the connection URI it answers with.
func (d *demo) askStandin(ctx context.Context, apiKey string) (string, error) {
	pem, err := os.ReadFile(d.standinCA)
	if err != nil {
		return "", fmt.Errorf("read the stand-in's certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return "", errors.New("the stand-in's certificate file holds no certificate")
	}
	client := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			Proxy:           nil,
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		},
	}
	defer client.CloseIdleConnections()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.standinURL+"/v1/misc/db", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("x-api-key", apiKey)
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("ask the stand-in: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("the stand-in answered %d", resp.StatusCode)
	}
	var answer struct {
		ConnectionURI struct {
			URI string `json:"uri"`
		} `json:"connection_uri"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return "", fmt.Errorf("the stand-in's answer is not JSON: %w", err)
	}
	return answer.ConnectionURI.URI, nil
}
