package identity

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// ErrResponseTooLarge is a response body longer than an OutboundClient allows.
var ErrResponseTooLarge = errors.New("response body too large")

// OutboundClient returns an HTTP client for other URLs a workspace admin configured than JWKS URLs (an
// OpenID provider's discovery document, keys and token endpoint). It goes through the fetcher's own
// transports, chosen by each request's scheme, so the operator's network policy (AllowNetworks, checked
// at dial time) and the fetcher's timeouts apply alike; it follows no redirect; and a response body
// longer than maxBytes fails to read, so a hostile server can neither hang Parley nor fill its memory.
func (f *JWKSFetcher) OutboundClient(maxBytes int64) *http.Client {
	return &http.Client{
		Transport:     outboundTransport{https: f.https.Transport, plain: f.plain.Transport, maxBytes: maxBytes},
		Timeout:       f.opts.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type outboundTransport struct {
	https, plain http.RoundTripper
	maxBytes     int64
}

func (t outboundTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var rt http.RoundTripper
	switch r.URL.Scheme {
	case "https":
		rt = t.https
	case "http":
		rt = t.plain
	default:
		return nil, fmt.Errorf("refusing scheme %q", r.URL.Scheme)
	}
	resp, err := rt.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.maxBytes}
	return resp, nil
}

// limitedBody fails once more than its limit was read, rather than truncating silently.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, ErrResponseTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return 0, ErrResponseTooLarge
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
