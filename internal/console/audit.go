package console

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// The audit trail page: every change recorded in the workspace (package chat writes the trail, inside
// the transaction of each change), filtered by who, which action and when, paged by seq, and exported
// as CSV with the same filters.

const (
	auditPageSize = 100 // events per page
	auditCSVBatch = 500 // events per read while the export streams
	auditCSVPath  = "/console/settings/audit.csv"
)

// auditGroups lists every action the trail records, grouped as the filter offers them, with a label for
// people. Prefix, when set, selects the whole group (the store reads an action ending in "." as one).
var auditGroups = []struct {
	Label, Prefix string
	Actions       [][2]string // action, label
}{
	{"Sign-in", "signin.", [][2]string{
		{"signin.succeeded", "Signed in"},
		{"signin.failed", "Sign-in failed"},
	}},
	{"Two-factor", "2fa.", [][2]string{
		{"2fa.enrolled", "Two-factor turned on"},
		{"2fa.disabled", "Two-factor turned off"},
		{"2fa.recovery_codes_regenerated", "New recovery codes"},
		{"2fa.reset", "Two-factor reset by an administrator"},
	}},
	{"Passwords", "password.", [][2]string{
		{"password.changed", "Password changed"},
		{"password.change_failed", "Password change refused"},
		{"password.reset_link_created", "Password reset link created"},
		{"password.reset", "Password reset"},
	}},
	{"Agents", "", [][2]string{
		{"agent.created", "Agent created"},
		{"agent.invited", "Agent invited"},
		{"invite.accepted", "Invitation accepted"},
		{"agent.provisioned", "Agent created by single sign-on"},
		{"agent.role_changed", "Role changed"},
		{"agent.disabled", "Agent disabled"},
		{"agent.enabled", "Agent enabled"},
	}},
	{"Sessions", "", [][2]string{
		{"session.ended", "Console session ended"},
		{"sessions.agent_signed_out", "Agent signed out everywhere"},
		{"sessions.ended_all", "Every widget session ended"},
	}},
	{"Settings", "settings.", [][2]string{
		{"settings.changed", "Setting changed"},
		{"settings.sso", "Single sign-on changed"},
	}},
	{"Routing", "routing.", [][2]string{
		{"routing.inbox_created", "Inbox created"},
		{"routing.inbox_updated", "Inbox changed"},
		{"routing.inbox_deleted", "Inbox deleted"},
		{"routing.rule_added", "Routing rule added"},
		{"routing.rule_removed", "Routing rule removed"},
		{"routing.rules_reordered", "Routing rules reordered"},
	}},
	{"Canned responses", "canned.", [][2]string{
		{"canned.created", "Canned response created"},
		{"canned.updated", "Canned response changed"},
		{"canned.deleted", "Canned response deleted"},
	}},
	{"Keys", "", [][2]string{
		{"key.created", "Secret created"},
		{"key.rotated", "Secret rotated"},
		{"key.revoked", "Key revoked"},
		{"key.registered", "Public key registered"},
		{"jwks.added", "JWKS URL added"},
		{"server_key.created", "Customers API signing key created"},
		{"apikey.created", "API key created"},
		{"apikey.revoked", "API key revoked"},
	}},
	{"Blocks", "block.", [][2]string{
		{"block.created", "Visitor blocked"},
		{"block.lifted", "Block lifted"},
	}},
	{"Exports", "transcript.", [][2]string{
		{"transcript.emailed", "Transcript emailed"},
	}},
}

// auditActions names each action of the audit trail for people.
var auditActions = func() map[string]string {
	m := map[string]string{}
	for _, g := range auditGroups {
		for _, a := range g.Actions {
			m[a[0]] = a[1]
		}
	}
	return m
}()

// actionLabel names an action for people; an action this build has no label for shows as recorded.
func actionLabel(action string) string {
	if label, ok := auditActions[action]; ok {
		return label
	}
	return action
}

// utc formats an audit time to the second, in UTC: a trail is compared with logs, which are in UTC.
func utc(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// auditFilter is the trail's filter as the page's form and the CSV link carry it.
type auditFilter struct {
	Actor, Action, From, To string
	Before                  int64
}

// actionPattern admits the actions the trail records, and prefixes of them ending in ".".
var actionPattern = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]*)*$`)

// parseAuditFilter reads the filter from the query. The dates are whole days in UTC: "to" includes
// its day.
func parseAuditFilter(q url.Values) (auditFilter, store.AuditFilter, error) {
	f := auditFilter{Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("action")),
		From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to"))}
	sf := store.AuditFilter{Actor: f.Actor, Action: f.Action}
	if utf8.RuneCountInString(f.Actor) > 200 || !utf8.ValidString(f.Actor) {
		return f, sf, problem.InvalidField("actor", "must be at most 200 characters of text")
	}
	if f.Action != "" && (len(f.Action) > 64 || !actionPattern.MatchString(f.Action)) {
		return f, sf, problem.InvalidField("action", "%q is not an action of the audit trail", f.Action)
	}
	day := func(field, s string) (time.Time, error) {
		if s == "" {
			return time.Time{}, nil
		}
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return d, problem.InvalidField(field, "must be a date written YYYY-MM-DD, not %q", s)
		}
		return d, nil
	}
	var err error
	if sf.From, err = day("from", f.From); err != nil {
		return f, sf, err
	}
	if sf.To, err = day("to", f.To); err != nil {
		return f, sf, err
	}
	if !sf.To.IsZero() {
		sf.To = sf.To.AddDate(0, 0, 1)
	}
	if b := q.Get("before"); b != "" {
		if f.Before, err = strconv.ParseInt(b, 10, 64); err != nil || f.Before <= 0 {
			return f, sf, problem.InvalidField("before", "must be an event number")
		}
		sf.BeforeSeq = f.Before
	}
	return f, sf, nil
}

// query writes the filter back into a URL query, with before as given (0: none).
func (f auditFilter) query(before int64) string {
	q := url.Values{}
	for k, v := range map[string]string{"actor": f.Actor, "action": f.Action, "from": f.From, "to": f.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if before > 0 {
		q.Set("before", strconv.FormatInt(before, 10))
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

type auditOption struct {
	Value, Label string
	Selected     bool
}

type auditGroup struct {
	Label   string
	Options []auditOption
}

type auditPage struct {
	Filter   auditFilter
	Groups   []auditGroup
	Other    *auditOption // an action typed into the URL that the select does not list
	Events   []store.AuditEvent
	Older    string // the next page's URL, "" on the last
	Newest   string // the first page's URL, "" on it
	CSV      string
	PageSize int
}

func auditOptions(selected string) ([]auditGroup, *auditOption) {
	var groups []auditGroup
	found := selected == ""
	for _, g := range auditGroups {
		var opts []auditOption
		if g.Prefix != "" {
			opts = append(opts, auditOption{Value: g.Prefix, Label: "Any " + strings.ToLower(g.Label) + " action", Selected: selected == g.Prefix})
		}
		for _, a := range g.Actions {
			opts = append(opts, auditOption{Value: a[0], Label: a[1], Selected: selected == a[0]})
		}
		for _, o := range opts {
			found = found || o.Selected
		}
		groups = append(groups, auditGroup{Label: g.Label, Options: opts})
	}
	if !found {
		return groups, &auditOption{Value: selected, Label: selected, Selected: true}
	}
	return groups, nil
}

// AuditPage serves GET /console/settings/audit: the workspace's audit trail, newest first, filtered.
func (c *Console) AuditPage(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	f, sf, err := parseAuditFilter(r.URL.Query())
	p := auditPage{Filter: f, PageSize: auditPageSize, CSV: auditCSVPath + f.query(0)}
	p.Groups, p.Other = auditOptions(f.Action)
	status := http.StatusOK
	var refused string
	if err != nil {
		pr := c.problemOf(w, r, err)
		status, refused = pr.Status, problemSentence(pr)
	} else {
		sf.Limit = auditPageSize
		if p.Events, err = c.chat.AuditEventsFiltered(r.Context(), s.agent.WorkspaceID, sf); err != nil {
			c.fail(w, r, err)
			return
		}
		if len(p.Events) == auditPageSize {
			p.Older = auditPath + f.query(p.Events[len(p.Events)-1].Seq)
		}
		if f.Before > 0 {
			p.Newest = auditPath + f.query(0)
		}
	}
	v := c.page(w, r, "Audit trail", "audit", p)
	v.Path = auditPath
	if refused != "" {
		v.Flash = &flash{Kind: "error", Message: refused}
	}
	c.render(w, r, status, "audit", v)
}

// AuditCSV serves GET /console/settings/audit.csv: every event the filter selects, newest first, read
// from the store in batches while the response streams, so a long trail costs no more memory than a page.
func (c *Console) AuditCSV(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	_, sf, err := parseAuditFilter(r.URL.Query())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	sf.Limit = auditCSVBatch
	events, err := c.chat.AuditEventsFiltered(r.Context(), s.agent.WorkspaceID, sf)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="parley-audit-`+csvName(s.agent.WorkspaceID)+`-`+c.now().UTC().Format("20060102-150405")+`.csv"`)
	h.Set("Cache-Control", "no-store")
	out := csv.NewWriter(w)
	_ = out.Write([]string{"time_utc", "actor", "action", "action_label", "target", "detail", "address"})
	for {
		for _, e := range events {
			_ = out.Write([]string{e.At.UTC().Format(time.RFC3339), csvCell(e.Actor), csvCell(e.Action), csvCell(actionLabel(e.Action)),
				csvCell(e.Target), csvCell(e.Detail), csvCell(e.Addr)})
		}
		out.Flush()
		if err := out.Error(); err != nil {
			return // the client went away
		}
		if len(events) < auditCSVBatch {
			return
		}
		sf.BeforeSeq = events[len(events)-1].Seq
		if events, err = c.chat.AuditEventsFiltered(r.Context(), s.agent.WorkspaceID, sf); err != nil {
			// The status is sent: the file ends short, and the log says why.
			c.log.Error("audit export", "workspace", s.agent.WorkspaceID, "err", err)
			return
		}
	}
}

// csvCell defuses a cell a spreadsheet would run as a formula. Excel, LibreOffice and Google Sheets
// treat a cell that begins with = + - or @ (and, in some versions, a tab or carriage return before
// one) as a formula; the trail holds text that others chose — an agent's name, a rule's attribute, an
// inbox name, a sign-in's email — so an export opened by an administrator could otherwise run
// =HYPERLINK(…) or a DDE command. A leading single quote makes the spreadsheet show the text as text;
// it is what OWASP's "CSV injection" advice prescribes.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// csvName keeps the letters, digits, - and _ of an id, for a file name.
func csvName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return -1
	}, s)
}
