package widget

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"strconv"
	"strings"
)

// The chat page, GET /chat/{workspace}: the widget alone on a page of its own, for a browser tab, a
// link in an email or an app's WebView. Its script is widget.js in page mode (data-mode="page"), which
// takes a login token from the URL's fragment before anything else runs.

//go:embed assets/chat.html assets/chat-404.html
var pageFiles embed.FS

// ChatPage is what the chat page shows of a workspace.
type ChatPage struct {
	Workspace string // the workspace's id
	Name      string // the workspace's name: the page's title
	// Origin is Parley's own origin as the browser reached it (scheme://host[:port]); the page's
	// Content-Security-Policy names its WebSocket origin, which not every browser counts as 'self'.
	Origin string
	// LogoOrigin is the origin of the workspace's logo (https only, "" without one): the page's policy
	// lets images come from it, and from nowhere else outside Parley.
	LogoOrigin string
}

// pages are the chat page's templates, parsed once.
type pages struct {
	chat, notFound *template.Template
}

func loadPages() (*pages, error) {
	chat, err := template.ParseFS(pageFiles, "assets/chat.html")
	if err != nil {
		return nil, err
	}
	notFound, err := template.ParseFS(pageFiles, "assets/chat-404.html")
	if err != nil {
		return nil, err
	}
	return &pages{chat: chat, notFound: notFound}, nil
}

// ServeChatPage serves GET /chat/{workspace} for a workspace that exists.
func (a *Assets) ServeChatPage(w http.ResponseWriter, r *http.Request, p ChatPage) {
	a.servePage(w, r, http.StatusOK, a.pages.chat, map[string]string{
		"Workspace": p.Workspace, "Name": p.Name,
		"JS": a.JS, "JSIntegrity": a.jsIntegrity, "CSS": a.CSS, "CSSIntegrity": a.cssIntegrity,
	}, chatPagePolicy(p.Origin, p.LogoOrigin))
}

// ServeChatNotFound answers GET /chat/{workspace} for a workspace that does not exist: a plain page
// that says so, and nothing else (no script, no hint of which workspaces exist).
func (a *Assets) ServeChatNotFound(w http.ResponseWriter, r *http.Request) {
	a.servePage(w, r, http.StatusNotFound, a.pages.notFound, nil,
		"default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
}

func (a *Assets) servePage(w http.ResponseWriter, r *http.Request, status int, t *template.Template, data any, csp string) {
	var body bytes.Buffer
	if err := t.Execute(&body, data); err != nil {
		http.Error(w, "the chat page could not be rendered", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csp)
	// The page is opened with a login token in its URL's fragment: browsers never send a fragment, and
	// no-referrer keeps the page's own address out of every request it makes and every link it opens.
	h.Set("Referrer-Policy", "no-referrer")
	// Nothing of the page is kept: it names the workspace, and a shared computer's cache is not the
	// place for it (and a new Parley version's checksummed script must reach the page at once).
	h.Set("Cache-Control", "no-store")
	// WebViews load the page as a top-level document, which frame-ancestors does not restrict; other
	// sites embed the widget (widget.js), never this page, so no one may frame it (clickjacking).
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(body.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body.Bytes())
	}
}

// chatPagePolicy is the chat page's Content-Security-Policy: its own scripts and stylesheets only (no
// inline script, no eval), calls and the live connection to its own origin only; images from blob: URLs,
// which is how the widget shows attachments it fetched with its session header.
func chatPagePolicy(origin, logoOrigin string) string {
	connect := "'self'"
	if ws, ok := strings.CutPrefix(origin, "http"); ok && (strings.HasPrefix(ws, "://") || strings.HasPrefix(ws, "s://")) && plainOrigin(origin) {
		connect += " ws" + ws
	}
	img := "'self' data: blob:"
	if strings.HasPrefix(logoOrigin, "https://") && plainOrigin(logoOrigin) {
		img += " " + logoOrigin
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; connect-src " + connect +
		"; img-src " + img + "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// plainOrigin reports whether origin holds only the characters of a scheme, host name or IP literal and
// port, so that it cannot end the policy's directive early.
func plainOrigin(origin string) bool {
	for _, c := range origin {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:/[]", c)) {
			return false
		}
	}
	return origin != ""
}
