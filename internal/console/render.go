package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/files"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

//go:embed templates
var templateFiles embed.FS

// csp allows the console's own files and nothing else: no inline script or style, no framing.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// securityHeaders go on every console response.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Content-Type-Options", "nosniff")
}

// pages holds one template set per page: the shared layout and partials, plus the page's own file.
type pages struct {
	sets map[string]*template.Template
}

func loadPages(as *assets) (*pages, error) {
	funcs := template.FuncMap{
		"asset":        as.url,
		"levelLabel":   levelLabel,
		"when":         when,
		"iso":          iso,
		"percent":      percent,
		"lines":        func(list []string) string { return strings.Join(list, "\n") },
		"roleLabel":    roleLabel,
		"actionLabel":  actionLabel,
		"segment":      url.PathEscape, // an id inside a URL path, where a kid may hold "/" or "?"
		"utc":          utc,
		"fileSize":     files.HumanSize, // attachments.go
		"kindLabel":    kindLabel,
		"isImage":      isImage,
		"languageName": languageName,
	}
	base, err := template.New("console").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, fmt.Errorf("console: parse templates: %w", err)
	}
	names, err := fs.Glob(templateFiles, "templates/page_*.html")
	if err != nil {
		return nil, err
	}
	ps := &pages{sets: map[string]*template.Template{}}
	for _, n := range names {
		set, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := set.ParseFS(templateFiles, n); err != nil {
			return nil, fmt.Errorf("console: parse %s: %w", n, err)
		}
		key := strings.TrimSuffix(strings.TrimPrefix(n, "templates/page_"), ".html")
		ps.sets[key] = set
	}
	return ps, nil
}

// view is what every page template gets: the signed-in agent and workspace for the header, the CSRF
// token for its forms, a flash message, and the page's own data.
type view struct {
	Title     string
	Nav       string // which left-nav entry is current
	Agent     store.Agent
	Workspace store.Workspace
	CSRF      string
	Path      string // the page's own path and query, where forms on it come back to
	Flash     *flash
	Live      string // "inbox" or "conversation": the page opens the console socket
	LiveURL   string // the fragment the script re-fetches on live events
	Data      any
	// NoReferrer: the page's URL holds a secret (an invitation or reset link), so no Referer may carry it.
	NoReferrer bool
}

// Admin tells the layout whether to show the administration links.
func (v *view) Admin() bool { return v.Agent.Role == store.RoleAdmin }

// page starts the view of a page for the signed-in agent.
func (c *Console) page(w http.ResponseWriter, r *http.Request, title, nav string, data any) *view {
	s := signedIn(r)
	return &view{
		Title: title, Nav: nav, Agent: s.agent, Workspace: s.workspace, CSRF: s.sess.CSRFToken,
		Path: r.URL.RequestURI(), Flash: c.takeFlash(w, r, s), Data: data,
	}
}

// render writes a full page. Templates run into a buffer first, so a template error is a clean 500
// rather than half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) {
	c.execute(w, r, status, page, "layout", v)
}

// fragment writes one named template of a page without the layout, for the live script to swap in.
func (c *Console) fragment(w http.ResponseWriter, r *http.Request, page, name string, v *view) {
	c.execute(w, r, http.StatusOK, page, name, v)
}

func (c *Console) execute(w http.ResponseWriter, r *http.Request, status int, page, name string, v *view) {
	set, ok := c.pages.sets[page]
	var buf bytes.Buffer
	var err error
	if !ok {
		err = fmt.Errorf("console: no page %q", page)
	} else {
		err = set.ExecuteTemplate(&buf, name, v)
	}
	h := w.Header()
	securityHeaders(h)
	h.Set("Cache-Control", "no-store")
	if v != nil && v.NoReferrer {
		h.Set("Referrer-Policy", "no-referrer")
	}
	if err != nil {
		c.log.Error("console template", "page", page, "template", name, "err", err)
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("Something went wrong on our side; reload the page.\n"))
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorPage is the data of the error page.
type errorPage struct {
	Status  int
	Heading string
	Message string
	SignIn  bool // offer the sign-in link
}

// problemOf is the problem a failed request answers with, logged by its severity (anything that is
// not a problem is an internal error that reveals nothing), with Retry-After set when it has one.
func (c *Console) problemOf(w http.ResponseWriter, r *http.Request, err error) *problem.Error {
	p, ok := problem.As(err)
	if !ok {
		c.log.Error("console request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		p = problem.New(http.StatusInternalServerError, "internal_error", "something went wrong on our side; try again")
	} else if p.Status >= 500 {
		c.log.Error("console request failed", "method", r.Method, "path", r.URL.Path, "code", p.Code, "err", err)
	} else {
		c.log.Debug("console request refused", "method", r.Method, "path", r.URL.Path, "code", p.Code, "status", p.Status)
	}
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(p.RetryAfter.Seconds())))
	}
	return p
}

// fail is the console's one path from an error to a response: a problem becomes its status and message
// on an error page; anything else is logged and becomes a 500 that reveals nothing.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	p := c.problemOf(w, r, err)
	ep := errorPage{Status: p.Status, Message: problemSentence(p)}
	switch p.Status {
	case http.StatusNotFound:
		ep.Heading = "Not found"
	case http.StatusForbidden:
		ep.Heading = "Not allowed"
	case http.StatusUnauthorized:
		ep.Heading = "Signed out"
		ep.SignIn = true
	case http.StatusTooManyRequests:
		ep.Heading = "Too many attempts"
	default:
		if p.Status >= 500 {
			ep.Heading = "Something went wrong"
		} else {
			ep.Heading = "That did not work"
		}
	}
	v := &view{Title: ep.Heading, Data: ep}
	if s := signedIn(r); s != nil {
		v.Agent, v.Workspace, v.CSRF = s.agent, s.workspace, s.sess.CSRFToken
	}
	c.render(w, r, p.Status, "error", v)
}

// sentence capitalizes a problem message for display.
// fieldLabel names a field of a refusal (problem.InvalidField messages start with the field's API name)
// the way the console's forms do.
func fieldLabel(field string) string {
	switch field {
	case "confirm":
		return "The confirmation"
	case "jwks_url":
		return "The JWKS URL"
	case "public_key":
		return "The public key"
	case "alg":
		return "The algorithm"
	case "kid":
		return "The key id"
	case "login_url":
		return "The login URL"
	case "allowed_origins":
		return "Allowed origins"
	case "allowed_email_domains":
		return "Allowed email domains"
	case "max_token_lifetime":
		return "The maximum token lifetime"
	case "attachment_max_size":
		return "The maximum attachment size"
	case "attachment_kinds":
		return "Allowed file kinds:"
	case "attachments":
		return "The attached files:"
	case "hours":
		return "Business hours:"
	case "time_zone":
		return "Time zone:"
	case "holidays":
		return "Holidays:"
	case "out_of_hours":
		return "Out of hours, the widget"
	}
	return "The " + strings.ReplaceAll(field, "_", " ")
}

// problemSentence is a refusal's message as a sentence, with a field's API name ("jwks_url: must use
// https") turned into words ("The JWKS URL must use https.").
func problemSentence(p *problem.Error) string {
	msg := p.Message
	if p.Field != "" {
		if rest, ok := strings.CutPrefix(msg, p.Field+": "); ok {
			msg = fieldLabel(p.Field) + " " + rest
		}
	}
	return sentence(msg)
}

func sentence(s string) string {
	if s == "" {
		return s
	}
	if s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}

// Template helpers.

func levelLabel(level string) string {
	switch level {
	case store.LevelVerified:
		return "Verified"
	case store.LevelIdentified:
		return "Identified (unverified)"
	}
	return "Anonymous"
}

func roleLabel(role string) string {
	if role == store.RoleAdmin {
		return "Administrator"
	}
	return "Agent"
}

// when formats a time for people; the script rewrites it in the reader's time zone.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("Jan 2, 2006 15:04 UTC")
}

func iso(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func percent(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" }

// languageName names a customer's language (a canonical BCP 47 tag) for agents, in English like the
// rest of the console: "German (de-AT)" for a language the widget speaks, the tag alone otherwise.
func languageName(tag string) string {
	names := map[string]string{"ar": "Arabic", "de": "German", "en": "English", "es": "Spanish", "fr": "French",
		"ja": "Japanese", "nl": "Dutch", "pl": "Polish", "pt": "Portuguese"}
	base, _, _ := strings.Cut(tag, "-")
	if name, ok := names[base]; ok {
		return name + " (" + tag + ")"
	}
	return tag
}
