// Package webhooks signs and sends webhook deliveries as the Standard Webhooks specification
// (https://www.standardwebhooks.com) describes them: a JSON body POSTed with the headers webhook-id,
// webhook-timestamp and webhook-signature, the signature being "v1," and the base64 HMAC-SHA256 of
// "id.timestamp.body" under the endpoint's secret, which is shown to the receiver as "whsec_" and the
// base64 of its bytes. Which events go where is package chat's to decide; this package knows nothing of
// workspaces.
package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Limits of one delivery.
const (
	Timeout = 10 * time.Second
	// MaxResponseBytes of a receiver's response are read (and dropped); the rest is not waited for.
	MaxResponseBytes = 64 << 10
	// SecretPrefix starts every secret as the receiver sees it.
	SecretPrefix = "whsec_"
	secretBytes  = 32
)

// Headers of a delivery.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// NewSecret returns fresh secret bytes and their whsec_ form, the one shown to the admin once.
func NewSecret() ([]byte, string) {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return b, FormatSecret(b)
}

// FormatSecret writes secret bytes as the receiver configures them: whsec_ and standard base64.
func FormatSecret(secret []byte) string {
	return SecretPrefix + base64.StdEncoding.EncodeToString(secret)
}

// ParseSecret reads a whsec_ secret back into its bytes.
func ParseSecret(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
	if err != nil || len(b) == 0 {
		return nil, errors.New("webhooks: not a whsec_ secret")
	}
	return b, nil
}

// Sign returns the webhook-signature header value for a delivery: one "v1,<signature>" per secret,
// separated by spaces, so that during a rotation a receiver holding either secret can verify it.
func Sign(id string, at time.Time, body []byte, secrets ...[]byte) string {
	ts := strconv.FormatInt(at.Unix(), 10)
	sigs := make([]string, 0, len(secrets))
	for _, secret := range secrets {
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(id))
		mac.Write([]byte{'.'})
		mac.Write([]byte(ts))
		mac.Write([]byte{'.'})
		mac.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return strings.Join(sigs, " ")
}

// Result is how one delivery attempt went.
type Result struct {
	Status   int // the response's status; 0 when none came
	Duration time.Duration
	Err      error // nil exactly when the receiver answered 2xx
}

// Send POSTs body to url signed with secrets, at the given time, through client (which carries the
// address guard, the timeout and the no-redirect rule: package identity's OutboundClient). Up to
// MaxResponseBytes of the response are read so that the connection can be reused; a status outside
// 2xx is a failure, and so is a redirect, which is never followed.
func Send(ctx context.Context, client *http.Client, url, id string, at time.Time, body []byte, secrets ...[]byte) Result {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Result{Err: fmt.Errorf("webhook request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Parley-Webhooks/1")
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(id, at, body, secrets...))
	resp, err := client.Do(req)
	if err != nil {
		return Result{Duration: time.Since(start), Err: err}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxResponseBytes))
	_ = resp.Body.Close()
	r := Result{Status: resp.StatusCode, Duration: time.Since(start)}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		r.Err = fmt.Errorf("the receiver answered %s", resp.Status)
	}
	return r
}
