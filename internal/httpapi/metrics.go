package httpapi

import (
	"net/http"
	"time"

	"github.com/parleyhq/parley/internal/problem"
)

// Metrics is what the HTTP layer records for monitoring (package metrics implements it).
type Metrics interface {
	// Request counts an answered request: route is the ServeMux pattern that matched ("" for none),
	// code the status written (0 if none: net/http sends 200), d the time to answer.
	Request(route, method string, code int, d time.Duration)
	// SocketOpened counts an open WebSocket of kind "widget" or "console" until closed is called.
	SocketOpened(kind string) (closed func())
	// WidgetLogin counts a widget login by result: "ok", one of loginCodes, or "other".
	WidgetLogin(result string)
}

// socketKinds names the WebSocket routes, by pattern, for the connections gauge.
var socketKinds = map[string]string{
	"GET /v1/widget/ws": "widget",
	"GET /console/ws":   "console",
}

// measure records every request with the pattern that routed it, which the mux sets on the request
// before calling the handler, so ids in paths never become labels. A request switching protocols
// (101) is an open WebSocket until its handler returns, or, if the handler kept the request
// (keepRequest), until the socket ends.
func (a *API) measure(rec *statusRecorder, r *http.Request, serve func()) {
	rec.upgraded = func() {
		if kind, ok := socketKinds[r.Pattern]; ok {
			rec.socketClosed = a.metrics.SocketOpened(kind)
		}
	}
	defer func() {
		if rec.socketClosed != nil && !rec.kept {
			rec.socketClosed()
		}
	}()
	serve()
	if !rec.kept {
		a.metrics.Request(r.Pattern, r.Method, rec.status, time.Since(rec.start))
	}
}

// loginCodes are the error codes POST /v1/widget/login answers with (docs/api.md), the label values of
// parley_widget_logins_total beside "ok"; any other code counts as "other".
var loginCodes = map[string]bool{
	"token_missing": true, "token_too_large": true, "token_malformed": true, "token_invalid": true,
	"token_alg_not_allowed": true, "token_unknown_key": true, "token_bad_signature": true,
	"token_expired": true, "token_not_yet_valid": true, "token_lifetime_too_long": true,
	"token_audience_mismatch": true, "token_claims_invalid": true, "token_replayed": true,
	"token_revoked": true, "email_domain_not_allowed": true, "session_invalid": true,
	"origin_not_allowed": true, "rate_limited": true, "blocked": true, "internal_error": true,
}

// loginResult is the label of a login that ended with err.
func loginResult(err error) string {
	if err == nil {
		return "ok"
	}
	p, ok := problem.As(err)
	if !ok {
		return "internal_error"
	}
	if loginCodes[p.Code] {
		return p.Code
	}
	return "other"
}
