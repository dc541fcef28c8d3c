package httpapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/ratelimit"
	"github.com/parleyhq/parley/internal/widget"
)

// chatPage serves GET /chat/{workspace}: the widget on a page of its own (internal/widget), for links
// and apps' WebViews. Its calls come from Parley's own origin, which checkOrigin admits.
func (a *API) chatPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("workspace")
	if id == "" || len(id) > 64 {
		a.widget.ServeChatNotFound(w, r)
		return
	}
	ws, err := a.chat.Workspace(r.Context(), id)
	if problem.HasCode(err, "workspace_not_found") {
		a.widget.ServeChatNotFound(w, r)
		return
	}
	if err != nil {
		a.log.Error("chat page", "err", err)
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "The chat is not available right now. Please try again in a moment.", http.StatusInternalServerError)
		return
	}
	page := widget.ChatPage{Workspace: ws.ID, Name: ws.Name, Origin: a.ownOrigin(r)}
	if logo, err := url.Parse(ws.Settings.Appearance.LogoURL); err == nil && logo.Scheme == "https" && logo.Host != "" {
		page.LogoOrigin = "https://" + logo.Host
	}
	a.widget.ServeChatPage(w, r, page)
}

// ownOrigin is the origin this request was made to, as the browser sees it: the Host it asked for, over
// TLS or not; behind a trusted proxy, the host and scheme the proxy forwarded. "" when it is no origin.
func (a *API) ownOrigin(r *http.Request) string {
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if ratelimit.FromTrustedProxy(r, a.trusted) {
		if p := firstForwarded(r.Header.Get("X-Forwarded-Proto")); strings.EqualFold(p, "https") || strings.EqualFold(p, "http") {
			scheme = strings.ToLower(p)
		}
		if fh := firstForwarded(r.Header.Get("X-Forwarded-Host")); fh != "" {
			host = fh
		}
	}
	origin, err := chat.CanonicalOrigin(scheme + "://" + host)
	if err != nil {
		return ""
	}
	return origin
}

func firstForwarded(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}

// isOwnOrigin reports whether a browser request comes from a page Parley itself served (the chat page):
// its Origin is the origin the request was made to.
func (a *API) isOwnOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return false
	}
	canon, err := chat.CanonicalOrigin(origin)
	own := a.ownOrigin(r)
	return err == nil && own != "" && canon == own
}
