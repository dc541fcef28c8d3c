package console_test

import (
	"encoding/csv"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

var (
	formInput    = regexp.MustCompile(`<input ([^>]*)>`)
	formTextarea = regexp.MustCompile(`(?s)<textarea [^>]*name="([^"]+)"[^>]*>(.*?)</textarea>`)
	formAttr     = regexp.MustCompile(`(\w+)(?:="([^"]*)")?`)
)

// settingsForm reads the settings form as the page shows it: what a browser would post unchanged.
func settingsForm(t *testing.T, body string) url.Values {
	t.Helper()
	start := strings.Index(body, `action="/console/settings">`)
	if start < 0 {
		t.Fatalf("no settings form:\n%s", body)
	}
	form := body[start : start+strings.Index(body[start:], "</form>")]
	v := url.Values{}
	for _, m := range formInput.FindAllStringSubmatch(form, -1) {
		attrs := map[string]string{}
		for _, a := range formAttr.FindAllStringSubmatch(m[1], -1) {
			attrs[a[1]] = html.UnescapeString(a[2])
		}
		_, checked := attrs["checked"]
		switch name, typ := attrs["name"], attrs["type"]; {
		case name == "":
		case typ == "checkbox" || typ == "radio":
			if checked {
				val := attrs["value"]
				if val == "" {
					val = "on"
				}
				v.Add(name, val)
			}
		default:
			v.Add(name, attrs["value"])
		}
	}
	for _, m := range formTextarea.FindAllStringSubmatch(form, -1) {
		v.Set(m[1], html.UnescapeString(strings.TrimPrefix(m[2], "\n")))
	}
	return v
}

// auditRow finds the row of the page's audit table for the action with that detail text.
func auditTableRows(body string) []string {
	var rows []string
	for _, part := range strings.Split(body, "<tr data-audit-action=")[1:] {
		rows = append(rows, part[:strings.Index(part, "</tr>")])
	}
	return rows
}

// Changes made in the console are recorded with the admin and the request's address; the page filters
// them by who, which action (or group) and which days, and pages through them.
func TestAuditTrailRecordsAndFilters(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "ada@acme.example")
	bob := e.agent(tn.ws.ID, "bob@acme.example", "Bob", store.RoleAgent)
	b := e.signedIn(tn.admin)

	// The settings form posted with one change records one event, for that field.
	form := settingsForm(t, b.mustGet("/console/settings").body)
	form.Set("name", "Acme & Sons")
	b.mustPost("/console/settings", form)
	b.mustPost("/console/settings/agents/"+bob.ID+"/role", url.Values{"role": {"admin"}})

	ada := chat.AgentActor(tn.admin)
	p := b.mustGet("/console/settings/audit?action=settings.changed")
	rows := auditTableRows(p.body)
	if len(rows) != 1 || !strings.Contains(rows[0], `name: &#34;Acme&#34; → &#34;Acme &amp; Sons&#34;`) || !strings.Contains(rows[0], "<td>"+ada+"</td>") ||
		!strings.Contains(rows[0], `<td class="mono">127.0.0.1</td>`) || !strings.Contains(rows[0], "Setting changed") {
		t.Errorf("saving the form with a new name: rows\n%s", strings.Join(rows, "\n---\n"))
	}
	p = b.mustGet("/console/settings/audit?action=agent.role_changed")
	if rows := auditTableRows(p.body); len(rows) != 1 || !strings.Contains(rows[0], "agent → admin (bob@acme.example)") ||
		!strings.Contains(rows[0], "<code>"+bob.ID+"</code>") || !strings.Contains(rows[0], "Role changed") || !strings.Contains(rows[0], "127.0.0.1") {
		t.Errorf("role change rows:\n%s", strings.Join(rows, "\n---\n"))
	}
	if !strings.Contains(p.body, `<option value="agent.role_changed" selected>Role changed</option>`) {
		t.Error("the action select does not keep the filter")
	}

	count := func(query string) int {
		t.Helper()
		return len(auditTableRows(b.mustGet("/console/settings/audit" + query).body))
	}
	today := time.Now().UTC().Format(time.DateOnly)
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	all := count("")
	for _, c := range []struct {
		query string
		want  int
	}{
		{"?action=settings.", 1},
		{"?action=agent.", 3}, // ada and bob created, bob's role
		{"?action=key.created", 1},
		{"?actor=nobody", 0},
		{"?from=" + today + "&to=" + today, all},
		{"?to=" + yesterday, 0},
		{"?from=" + tomorrow, 0},
		{"?actor=ada&action=agent.role_changed&from=" + today, 1},
	} {
		if got := count(c.query); got != c.want {
			t.Errorf("%s: %d rows; want %d", c.query, got, c.want)
		}
	}
	// The actor filter: any case, a part of the actor.
	byAda := auditTableRows(b.mustGet("/console/settings/audit?actor=ADA%40ACME").body)
	for _, r := range byAda {
		if !strings.Contains(r, "<td>"+ada+"</td>") {
			t.Errorf("a row by someone else than ada:\n%s", r)
		}
	}
	if len(byAda) < 2 || len(byAda) >= all {
		t.Errorf("ada's rows: %d of %d", len(byAda), all)
	}
	// A date that is no date is refused, on the page.
	if p := b.get("/console/settings/audit?from=05/12/2026"); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "YYYY-MM-DD") {
		t.Errorf("a bad date: %d\n%s", p.status, p.body)
	}
	// An action the select does not list is still filtered on, and shown as recorded.
	mustAudit(t, e, tn.ws.ID, store.AuditEvent{Actor: "cli", Action: "future.thing", Detail: "x"})
	p = b.mustGet("/console/settings/audit?action=future.thing")
	if rows := auditTableRows(p.body); len(rows) != 1 || !strings.Contains(rows[0], "future.thing <code") {
		t.Errorf("an unknown action:\n%s", strings.Join(rows, "\n"))
	}

	// Paging: 100 a page, newest first, "Older" goes on from the last one shown.
	for i := range 150 {
		mustAudit(t, e, tn.ws.ID, store.AuditEvent{Actor: "cli", Action: "block.created", Target: fmt.Sprintf("bl_%03d", i)})
	}
	p = b.mustGet("/console/settings/audit?action=block.created")
	first := auditTableRows(p.body)
	older := regexp.MustCompile(`<a href="([^"]+)" rel="next" data-audit-older>Older</a>`).FindStringSubmatch(p.body)
	if len(first) != 100 || older == nil || !strings.Contains(first[0], "bl_149") || !strings.Contains(first[99], "bl_050") {
		t.Fatalf("first page: %d rows, older link %v", len(first), older)
	}
	p = b.mustGet(html.UnescapeString(older[1]))
	second := auditTableRows(p.body)
	if len(second) != 50 || !strings.Contains(second[0], "bl_049") || !strings.Contains(second[49], "bl_000") || strings.Contains(p.body, "data-audit-older") ||
		!strings.Contains(p.body, "data-audit-newest") {
		t.Errorf("second page: %d rows, first %q", len(second), second[0])
	}

	// Only administrators see the trail.
	carol := e.agent(tn.ws.ID, "carol@acme.example", "Carol", store.RoleAgent)
	if p := e.signedIn(carol).get("/console/settings/audit"); p.status != http.StatusForbidden {
		t.Errorf("a plain agent opening the audit trail: %d", p.status)
	}
}

func mustAudit(t *testing.T, e *env, ws string, ev store.AuditEvent) {
	t.Helper()
	ev.WorkspaceID = ws
	if ev.At.IsZero() {
		ev.At = time.Now()
	}
	if err := e.st.Update(t.Context(), func(tx store.Tx) error { return tx.AddAuditEvent(t.Context(), &ev) }); err != nil {
		t.Fatal(err)
	}
}

// The CSV export holds every event the filters select, in batches past the page size, with cells a
// spreadsheet would run as formulas defused.
func TestAuditCSVExport(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "ada@acme.example")
	other := e.tenant("Other", "olga@other.example")
	mustAudit(t, e, other.ws.ID, store.AuditEvent{Actor: "cli", Action: "block.created", Target: "theirs"})
	b := e.signedIn(tn.admin)
	for _, d := range []string{"=HYPERLINK(\"https://evil.example\")", "+1", "-1", "@SUM(A1)", "\tx", "\rx", `plain, with "quotes"`} {
		mustAudit(t, e, tn.ws.ID, store.AuditEvent{Actor: "cli", Action: "canned.created", Target: "cr_1", Detail: d, Addr: "203.0.113.9"})
	}
	for i := range 1020 {
		mustAudit(t, e, tn.ws.ID, store.AuditEvent{Actor: "cli", Action: "block.created", Target: fmt.Sprintf("bl_%04d", i)})
	}

	p := b.get("/console/settings/audit.csv?action=canned.created")
	if p.status != http.StatusOK || p.header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(p.header.Get("Content-Disposition"), `attachment; filename="parley-audit-`) {
		t.Fatalf("export: %d %q %q", p.status, p.header.Get("Content-Type"), p.header.Get("Content-Disposition"))
	}
	records, err := csv.NewReader(strings.NewReader(p.body)).ReadAll()
	if err != nil {
		t.Fatalf("the export is not CSV: %v\n%s", err, p.body)
	}
	if strings.Join(records[0], ",") != "time_utc,actor,action,action_label,target,detail,address" {
		t.Errorf("header row %q", records[0])
	}
	var details []string
	for _, r := range records[1:] {
		details = append(details, r[5])
		if r[1] != "cli" || r[2] != "canned.created" || r[3] != "Canned response created" || r[4] != "cr_1" || r[6] != "203.0.113.9" {
			t.Errorf("row %q", r)
		}
		if _, err := time.Parse(time.RFC3339, r[0]); err != nil || !strings.HasSuffix(r[0], "Z") {
			t.Errorf("time %q; want RFC 3339 in UTC", r[0])
		}
	}
	want := []string{`plain, with "quotes"`, "'\rx", "'\tx", "'@SUM(A1)", "'-1", "'+1", `'=HYPERLINK("https://evil.example")`}
	if strings.Join(details, "|") != strings.Join(want, "|") {
		t.Errorf("details %q; want %q", details, want)
	}

	// Every matching row, past the batches of 500, and nothing of another workspace.
	p = b.get("/console/settings/audit.csv?action=block.")
	records, err = csv.NewReader(strings.NewReader(p.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 1+1020 || records[1][4] != "bl_1019" || records[1020][4] != "bl_0000" {
		t.Errorf("export of 1020 blocks: %d records, first %q, last %q", len(records), records[1], records[len(records)-1])
	}
	seen := map[string]bool{}
	for _, r := range records[1:] {
		if seen[r[4]] || r[4] == "theirs" {
			t.Errorf("row %q twice or from another workspace", r)
		}
		seen[r[4]] = true
	}
	p = b.get("/console/settings/audit.csv?to=2000-01-01")
	if records, _ := csv.NewReader(strings.NewReader(p.body)).ReadAll(); len(records) != 1 {
		t.Errorf("an export of nothing: %d records; want the header alone", len(records))
	}
	if p := b.get("/console/settings/audit.csv?from=yesterday"); p.status != http.StatusUnprocessableEntity {
		t.Errorf("a bad date: %d", p.status)
	}
	carol := e.agent(tn.ws.ID, "carol@acme.example", "Carol", store.RoleAgent)
	if p := e.signedIn(carol).get("/console/settings/audit.csv"); p.status != http.StatusForbidden || strings.Contains(p.body, "canned.created") {
		t.Errorf("a plain agent exporting: %d", p.status)
	}
	if p := e.browser().get("/console/settings/audit.csv"); p.status == http.StatusOK {
		t.Errorf("exporting signed out: %d", p.status)
	}
}
