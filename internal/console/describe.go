package console

import (
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// describeEvent says what a timeline event means, in a sentence for agents. name looks up an agent's
// name by id. The sentence is plain text: the template escapes it like any other customer data, since
// claimed names and emails are whatever the visitor typed. zone is the workspace's business-hours time
// zone, in which times are told (nil: UTC).
func describeEvent(e store.Event, name func(id string) string, zone *time.Location) string {
	d := e.Data
	switch e.Type {
	case "started":
		switch d["level"] {
		case store.LevelVerified:
			if k := d["key_id"]; k != "" {
				return "Conversation started by a verified customer (key " + k + ")"
			}
			return "Conversation started by a verified customer"
		case store.LevelIdentified:
			return "Conversation started by a visitor who gave their name or email (not verified)"
		}
		return "Conversation started by an anonymous visitor"
	case "identified":
		var parts []string
		for _, k := range []string{"name", "email", "phone"} {
			if v := d[k]; v != "" {
				parts = append(parts, v)
			}
		}
		if len(parts) == 0 {
			return "The visitor identified themselves (not verified)"
		}
		return "The visitor said they are " + strings.Join(parts, ", ") + " (not verified)"
	case "authenticated":
		who := firstOf(d["email"], d["name"], d["external_id"], "a verified customer")
		if k := d["key_id"]; k != "" {
			return "Authenticated as " + who + " (key " + k + ")"
		}
		return "Authenticated as " + who
	case "logged_out":
		return "The visitor signed out"
	case "routed":
		return "Routed to the " + firstOf(d["inbox"], "(deleted)") + " inbox"
	case "assigned":
		to := agentOrSomeone(name, d["assignee_id"])
		if d["by"] == "routing" {
			return "Assigned to " + to + " by routing"
		}
		if d["by"] == d["assignee_id"] {
			return to + " took the conversation"
		}
		return "Assigned to " + to + " by " + agentOrSomeone(name, firstOf(d["agent_id"], d["by"]))
	case "transferred":
		// The note is an agent's words for other agents; events never reach the customer.
		by, what := agentOrSomeone(name, d["agent_id"]), ""
		switch {
		case d["to_agent_id"] != "" && d["to_agent_id"] == d["agent_id"]:
			what = by + " took the conversation"
		case d["to_agent_id"] != "":
			what = by + " transferred to " + agentOrSomeone(name, d["to_agent_id"])
		case d["to_inbox_id"] != "":
			what = by + " transferred to the " + firstOf(d["inbox"], "(deleted)") + " inbox"
		default:
			what = by + " unassigned the conversation"
		}
		if note := d["note"]; note != "" {
			what += ": " + note
		}
		return what
	case "unassigned":
		return "Unassigned by " + agentOrSomeone(name, firstOf(d["agent_id"], d["by"]))
	case "closed":
		return "Closed by " + agentOrSomeone(name, d["agent_id"])
	case "reopened":
		if d["reason"] == "follow-up" {
			return "Reopened by " + agentOrSomeone(name, d["agent_id"]) + "'s follow-up"
		}
		if d["agent_id"] == "" {
			return "Reopened"
		}
		return "Reopened by " + agentOrSomeone(name, d["agent_id"])
	case "login_requested":
		return agentOrSomeone(name, d["agent_id"]) + " asked the visitor to sign in"
	case "out_of_hours":
		next, err := time.Parse(time.RFC3339, d["next_open"])
		if err != nil { // none within two weeks
			return "Arrived out of hours"
		}
		if zone == nil {
			zone = time.UTC
		}
		return "Arrived out of hours; the team is back " + dayTime(next, e.CreatedAt, zone) + " (" + zoneName(zone) + ")"
	}
	return strings.ReplaceAll(e.Type, "_", " ")
}

func agentOrSomeone(name func(string) string, id string) string {
	if id == "" {
		return "an agent"
	}
	if n := name(id); n != "" {
		return n
	}
	return "a former agent"
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// zoneName names a time zone for people: its IANA name, UTC for UTC.
func zoneName(loc *time.Location) string {
	if loc == time.UTC {
		return "UTC"
	}
	return loc.String()
}

// hoursZone is the workspace's business-hours time zone, or nil when it has none the server knows.
func hoursZone(st store.Settings) *time.Location {
	if st.Hours.TimeZone == "" {
		return nil
	}
	loc, err := time.LoadLocation(st.Hours.TimeZone)
	if err != nil {
		return nil
	}
	return loc
}
