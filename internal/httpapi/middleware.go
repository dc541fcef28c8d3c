package httpapi

import (
	"context"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
)

// statusRecorder remembers the status a handler wrote, for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	start  time.Time
	// upgraded, if set, is called when the handler switches protocols (a WebSocket opens); it sets
	// socketClosed, which ends the open-sockets gauge's count of it.
	upgraded     func()
	socketClosed func()
	// kept: the handler took over the end of the request (keepRequest).
	kept bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	if code == http.StatusSwitchingProtocols && s.upgraded != nil {
		s.upgraded()
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController and the WebSocket upgrade reach the real writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests writes one structured line per request. Paths carry no secrets (tokens travel in
// headers and bodies), and query strings are left out.
func (a *API) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, start: time.Now()}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if a.metrics != nil {
			a.measure(rec, r, func() { next.ServeHTTP(rec, r) })
		} else {
			next.ServeHTTP(rec, r)
		}
		if !rec.kept {
			a.log.Debug("http", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(rec.start))
		}
	})
}

// keepRequest is for a handler whose hijacked connection outlives it (a WebSocket served on a goroutine
// of its own, so that the request, its response writer and the handler's stack can go): the middleware
// then leaves the end of the request to the returned func, which counts the request, ends the
// open-sockets gauge's count and writes the access log line as the middleware would have when the
// handler returned. It keeps a few strings of the request, not the request.
func (a *API) keepRequest(w http.ResponseWriter, r *http.Request) (end func()) {
	for {
		if rec, ok := w.(*statusRecorder); ok {
			rec.kept = true
			pattern, method, path, status, start, closed := r.Pattern, r.Method, strings.Clone(r.URL.Path), rec.status, rec.start, rec.socketClosed
			return func() {
				// Counted before the gauge drops, as when the handler returns (measure): whoever sees
				// the socket gone from the gauge sees its request counted.
				if a.metrics != nil {
					a.metrics.Request(pattern, method, status, time.Since(start))
				}
				if closed != nil {
					closed()
				}
				a.log.Debug("http", "method", method, "path", path, "status", status, "duration", time.Since(start))
			}
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return func() {}
		}
		w = u.Unwrap()
	}
}

func (a *API) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.Error("panic", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				a.writeError(w, r, problem.New(http.StatusInternalServerError, "internal_error", "something went wrong on our side; try again"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// widgetCORS lets pages on other origins call the widget API. The Origin is reflected on every response
// so that the widget can read errors; the workspace's allowed origins are enforced by the handlers,
// which refuse a disallowed origin outright, since CORS only hides responses and never stops a request.
func (a *API) widgetCORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", "Retry-After")
		}
		next.ServeHTTP(w, r)
	})
}

func preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// checkOrigin refuses a browser request from an origin the workspace does not allow. Parley's own
// origin, where its chat page (/chat/{workspace}) runs, is always allowed.
func (a *API) checkOrigin(r *http.Request, v *chat.Visitor) error {
	if !chat.OriginAllowed(v.Workspace.Settings, r.Header.Get("Origin")) && !a.isOwnOrigin(r) {
		return problem.New(http.StatusForbidden, "origin_not_allowed",
			"origin %s is not among this workspace's allowed origins; add it with `parley workspace update --allowed-origins`", r.Header.Get("Origin"))
	}
	return nil
}

// bearer extracts the token of an "Authorization: Bearer …" header.
func bearer(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

type visitorKey struct{}

// withVisitor authenticates the session token and checks the origin before the handler runs.
func (a *API) withVisitor(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := a.chat.Authenticate(r.Context(), bearer(r))
		if err == nil {
			err = a.checkOrigin(r, v)
		}
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		// The one place the domain learns where a widget request came from (blocks by address).
		v.ClientAddr = clientIP(r, a.trusted)
		next(w, r.WithContext(context.WithValue(r.Context(), visitorKey{}, v)))
	}
}

func visitorFrom(r *http.Request) *chat.Visitor {
	v, _ := r.Context().Value(visitorKey{}).(*chat.Visitor)
	return v
}

func (a *API) notFound(w http.ResponseWriter, r *http.Request) {
	a.writeError(w, r, problem.NotFound("not_found", "no route %s %s", r.Method, r.URL.Path))
}

func (a *API) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	if a.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.ready(ctx); err != nil {
			a.log.Warn("not ready", "err", err)
			a.writeError(w, r, problem.New(http.StatusServiceUnavailable, "not_ready", "the database is not reachable"))
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// home answers / when neither a site nor the console (whose status page it is otherwise, console.Home)
// is configured, so an operator opening the address sees it is alive.
func (a *API) home(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("Parley is running.\nEmbed the chat widget with <script src=\"/widget.js\" data-workspace=\"ws_…\" async></script>.\nRun `parley serve --demo` for a demo site.\n"))
}
