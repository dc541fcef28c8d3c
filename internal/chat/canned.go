package chat

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"unicode"

	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// Canned responses: saved replies an agent inserts from the reply box.
//
//   - A shared response belongs to the workspace: every agent sees it and inserts it; only
//     administrators create, edit or delete it.
//   - A personal response belongs to one agent: only they see, insert and manage it. To anyone else it
//     does not exist (404 canned_response_not_found), as another workspace's response does not.
//   - Shortcuts are unique among a workspace's shared responses, and among one agent's personal ones.
//     A personal shortcut may equal a shared one: the agent's own response wins in their picker (the
//     shared one is left out of it), so an agent can keep their own wording of a common reply.
//
// A body may hold the variables {{customer.first_name}}, {{customer.name}}, {{customer.email}} and
// {{agent.first_name}}, written exactly so. Inserting a response fills them from the conversation: a
// verified customer's profile, or else what the visitor claimed — inserted too, but named in the
// composer as claimed, not verified. A variable with no value (an anonymous visitor's name, say) stays
// as written, and a reply that still holds one is refused (422 unfilled_variable), so that a customer
// never reads "Hello {{customer.first_name}}". Any other {{…}} text is text like the rest.

// Canned response limits.
const (
	MaxCannedTitle    = 100 // characters
	MaxCannedShortcut = 32
	// MaxCannedResponses bounds how many responses one agent's picker holds (shared plus their own),
	// and so how many each scope may hold: the page embeds them all.
	MaxCannedResponses = 500
)

// Canned response scopes.
const (
	CannedShared   = "shared"
	CannedPersonal = "personal"
)

// The variables a canned response's body may hold.
const (
	VarCustomerFirstName = "{{customer.first_name}}"
	VarCustomerName      = "{{customer.name}}"
	VarCustomerEmail     = "{{customer.email}}"
	VarAgentFirstName    = "{{agent.first_name}}"
)

// knownVariables lists the variables in the order they are filled and reported.
var knownVariables = [...]string{VarCustomerFirstName, VarCustomerName, VarCustomerEmail, VarAgentFirstName}

var shortcutPattern = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// CannedInput is what an agent submits to create or edit a canned response. Scope is read on create
// only: a response keeps its scope.
type CannedInput struct {
	Scope    string
	Title    string
	Shortcut string
	Body     string
}

func cannedNotFound(id string) *problem.Error {
	return problem.NotFound("canned_response_not_found", "no canned response %q", id)
}

// CannedScope is the scope of a stored response.
func CannedScope(c store.CannedResponse) string {
	if c.OwnerID == "" {
		return CannedShared
	}
	return CannedPersonal
}

// CanManageCanned reports whether the agent may edit and delete the response: an administrator a
// shared one, the owner a personal one.
func CanManageCanned(agent store.Agent, c store.CannedResponse) bool {
	if c.WorkspaceID != agent.WorkspaceID {
		return false
	}
	if c.OwnerID == "" {
		return agent.Role == store.RoleAdmin
	}
	return c.OwnerID == agent.ID
}

// checkCanned validates and normalizes an input: titles and shortcuts are trimmed, bodies kept as typed.
func checkCanned(in CannedInput) (CannedInput, error) {
	in.Title = strings.TrimSpace(in.Title)
	in.Shortcut = strings.TrimSpace(in.Shortcut)
	if in.Title == "" {
		return in, problem.InvalidField("title", "must not be empty")
	}
	if err := checkText("title", in.Title, MaxCannedTitle, false); err != nil {
		return in, err
	}
	if !shortcutPattern.MatchString(in.Shortcut) {
		return in, problem.InvalidField("shortcut", "must be 1 to %d characters, each a lower-case letter a-z, a digit, _ or -", MaxCannedShortcut)
	}
	if strings.TrimSpace(in.Body) == "" {
		return in, problem.InvalidField("body", "must not be empty")
	}
	if err := checkText("body", in.Body, MaxMessageLength, true); err != nil {
		return in, err
	}
	return in, nil
}

func shortcutTaken(scope, shortcut string) *problem.Error {
	if scope == CannedShared {
		return conflict("shortcut_taken", "the workspace already has a shared response with the shortcut /%s", shortcut)
	}
	return conflict("shortcut_taken", "you already have a personal response with the shortcut /%s", shortcut)
}

// CannedResponses lists what the agent sees: the workspace's shared responses and their own, by
// shortcut (shared first at an equal shortcut).
func (s *Service) CannedResponses(ctx context.Context, agent store.Agent) ([]store.CannedResponse, error) {
	return s.store.CannedResponses(ctx, agent.WorkspaceID, agent.ID)
}

// CannedResponse returns one response the agent sees; anything else is 404 canned_response_not_found.
func (s *Service) CannedResponse(ctx context.Context, agent store.Agent, id string) (store.CannedResponse, error) {
	return cannedFor(ctx, s.store, agent, id)
}

func cannedFor(ctx context.Context, r store.Reader, agent store.Agent, id string) (store.CannedResponse, error) {
	c, err := r.CannedResponse(ctx, agent.WorkspaceID, id)
	if isNotFound(err) || (err == nil && c.OwnerID != "" && c.OwnerID != agent.ID) {
		return store.CannedResponse{}, cannedNotFound(id)
	}
	return c, err
}

// CreateCannedResponse stores a new response in the scope asked for: shared (administrators only) or
// personal (the agent's own).
func (s *Service) CreateCannedResponse(ctx context.Context, agent store.Agent, in CannedInput) (store.CannedResponse, error) {
	in, err := checkCanned(in)
	if err != nil {
		return store.CannedResponse{}, err
	}
	c := store.CannedResponse{ID: newID("cr_"), WorkspaceID: agent.WorkspaceID, Title: in.Title, Shortcut: in.Shortcut, Body: in.Body}
	switch in.Scope {
	case CannedShared:
		if err := RequireAdmin(agent); err != nil {
			return store.CannedResponse{}, err
		}
	case CannedPersonal:
		c.OwnerID = agent.ID
	default:
		return store.CannedResponse{}, problem.InvalidField("scope", "must be %q or %q", CannedShared, CannedPersonal)
	}
	err = s.update(ctx, func(tx store.Tx, _ *outbox) error {
		list, err := tx.CannedResponses(ctx, agent.WorkspaceID, c.OwnerID)
		if err != nil {
			return err
		}
		if n := countScope(list, c.OwnerID); n >= MaxCannedResponses/2 {
			return conflict("too_many_canned_responses", "there are already %d %s responses; delete some first", n, in.Scope)
		}
		c.CreatedAt = s.clock()
		c.UpdatedAt = c.CreatedAt
		err = tx.CreateCannedResponse(ctx, &c)
		if errors.Is(err, store.ErrConflict) {
			return shortcutTaken(in.Scope, c.Shortcut)
		}
		if err != nil {
			return err
		}
		return s.auditCanned(ctx, tx, AuditCannedCreated, c, "")
	})
	return c, err
}

// countScope counts the responses of one scope: shared (ownerID "") or one agent's.
func countScope(list []store.CannedResponse, ownerID string) int {
	n := 0
	for _, c := range list {
		if c.OwnerID == ownerID {
			n++
		}
	}
	return n
}

// manageable reads a response the agent may change: one they cannot see is 404, a shared one they see
// but do not administer is 403 admin_required.
func manageable(ctx context.Context, r store.Reader, agent store.Agent, id string) (store.CannedResponse, error) {
	c, err := cannedFor(ctx, r, agent, id)
	if err != nil {
		return c, err
	}
	if !CanManageCanned(agent, c) {
		return c, adminOnly()
	}
	return c, nil
}

// UpdateCannedResponse changes a response's title, shortcut and body (its scope stays).
func (s *Service) UpdateCannedResponse(ctx context.Context, agent store.Agent, id string, in CannedInput) (store.CannedResponse, error) {
	in, err := checkCanned(in)
	if err != nil {
		return store.CannedResponse{}, err
	}
	var c store.CannedResponse
	err = s.update(ctx, func(tx store.Tx, _ *outbox) error {
		var err error
		if c, err = manageable(ctx, tx, agent, id); err != nil {
			return err
		}
		prev := c
		c.Title, c.Shortcut, c.Body, c.UpdatedAt = in.Title, in.Shortcut, in.Body, s.clock()
		err = tx.UpdateCannedResponse(ctx, &c)
		if errors.Is(err, store.ErrConflict) {
			return shortcutTaken(CannedScope(c), c.Shortcut)
		}
		if err != nil {
			return err
		}
		return s.auditCanned(ctx, tx, AuditCannedUpdated, c, cannedChanges(prev, c))
	})
	return c, err
}

// DeleteCannedResponse deletes a response the agent may manage.
func (s *Service) DeleteCannedResponse(ctx context.Context, agent store.Agent, id string) (store.CannedResponse, error) {
	var c store.CannedResponse
	err := s.update(ctx, func(tx store.Tx, _ *outbox) error {
		var err error
		if c, err = manageable(ctx, tx, agent, id); err != nil {
			return err
		}
		if err := tx.DeleteCannedResponse(ctx, agent.WorkspaceID, id); err != nil {
			return err
		}
		return s.auditCanned(ctx, tx, AuditCannedDeleted, c, "")
	})
	return c, err
}

// ---------------------------------------------------------------- variables

// VariableValue is what a variable is filled with, and whether the value was only claimed by the
// visitor (not verified). An empty Text means no value.
type VariableValue struct {
	Text    string
	Claimed bool
}

// Variables are the values a conversation gives the known variables.
type Variables map[string]VariableValue

// firstWord is the first word of a name: a first name when nothing better is known.
func firstWord(name string) string {
	name = strings.TrimSpace(name)
	if i := strings.IndexFunc(name, unicode.IsSpace); i > 0 {
		return name[:i]
	}
	return name
}

// ConversationVariables are the values of the variables in a conversation answered by the agent: a
// verified customer's profile, else what the visitor claimed (marked claimed), and the agent's own
// first name. An anonymous visitor gives no customer variable a value.
func ConversationVariables(agent store.Agent, p Profile) Variables {
	v := Variables{VarAgentFirstName: {Text: firstWord(agent.Name)}}
	if c := p.Customer; c != nil {
		first := strings.TrimSpace(c.FirstName)
		if first == "" {
			first = firstWord(c.Name)
		}
		v[VarCustomerFirstName] = VariableValue{Text: first}
		v[VarCustomerName] = VariableValue{Text: strings.TrimSpace(c.Name)}
		v[VarCustomerEmail] = VariableValue{Text: c.Email}
		return v
	}
	v[VarCustomerFirstName] = VariableValue{Text: firstWord(p.ClaimedName), Claimed: true}
	v[VarCustomerName] = VariableValue{Text: strings.TrimSpace(p.ClaimedName), Claimed: true}
	v[VarCustomerEmail] = VariableValue{Text: p.ClaimedEmail, Claimed: true}
	return v
}

// Filled is a body with its variables filled.
type Filled struct {
	Body string
	// Claimed lists the claimed values inserted (each once), for the composer's warning: "Ada Lovelace
	// is claimed, not verified".
	Claimed []string
	// Unfilled lists the variables left as written for want of a value (each once): sending is refused
	// until the agent edits them out.
	Unfilled []string
}

// Fill fills the known variables of body with vars. Filling is one pass: a value that happens to
// contain a variable's text is inserted as is, never filled again.
func Fill(body string, vars Variables) Filled {
	var f Filled
	var b strings.Builder
	rest := body
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		rest = rest[i:]
		name, ok := variableAt(rest)
		if !ok {
			b.WriteByte('{') // the next brace may start one: "{{{customer.name}}}"
			rest = rest[1:]
			continue
		}
		rest = rest[len(name):]
		val := vars[name]
		if val.Text == "" {
			b.WriteString(name)
			f.Unfilled = appendUnique(f.Unfilled, name)
			continue
		}
		b.WriteString(val.Text)
		if val.Claimed {
			f.Claimed = appendUnique(f.Claimed, val.Text)
		}
	}
	f.Body = b.String()
	return f
}

// variableAt returns the known variable s starts with.
func variableAt(s string) (string, bool) {
	for _, name := range knownVariables {
		if strings.HasPrefix(s, name) {
			return name, true
		}
	}
	return "", false
}

// UnfilledVariables lists the known variables a body still holds, each once, in order of appearance.
func UnfilledVariables(body string) []string {
	var out []string
	for i := strings.Index(body, "{{"); i >= 0; {
		if name, ok := variableAt(body[i:]); ok {
			out = appendUnique(out, name)
		}
		j := strings.Index(body[i+1:], "{{")
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return out
}

// refuseUnfilled is the server's half of "a variable with no value blocks sending": the browser checks
// first, but a reply posted any other way is held to it too.
func refuseUnfilled(body string) error {
	names := UnfilledVariables(body)
	if len(names) == 0 {
		return nil
	}
	return &problem.Error{
		Status:  http.StatusUnprocessableEntity,
		Code:    "unfilled_variable",
		Message: "the reply still holds " + strings.Join(names, ", ") + ", which has no value here; replace it with the text you mean before sending",
		Field:   "body",
	}
}

// CannedChoice is a response as the agent's picker offers it in one conversation: filled for it.
type CannedChoice struct {
	store.CannedResponse
	Filled Filled
}

// CannedChoices returns the responses the agent's picker offers in a conversation they see, filled for
// it: the shared ones and their own, their own winning at an equal shortcut.
func (s *Service) CannedChoices(ctx context.Context, agent store.Agent, v ConversationView) ([]CannedChoice, error) {
	if v.Conversation.WorkspaceID != agent.WorkspaceID {
		return nil, problem.NotFound("conversation_not_found", "no conversation %q", v.Conversation.ID)
	}
	list, err := s.store.CannedResponses(ctx, agent.WorkspaceID, agent.ID)
	if err != nil {
		return nil, err
	}
	personal := map[string]bool{}
	for _, c := range list {
		if c.OwnerID != "" {
			personal[c.Shortcut] = true
		}
	}
	vars := ConversationVariables(agent, v.Profile)
	out := make([]CannedChoice, 0, len(list))
	for _, c := range list {
		if c.OwnerID == "" && personal[c.Shortcut] {
			continue
		}
		out = append(out, CannedChoice{CannedResponse: c, Filled: Fill(c.Body, vars)})
	}
	return out, nil
}

// FillCanned fills one response the agent sees for a conversation they see: what "Insert" puts in the
// reply box when the page runs no script.
func (s *Service) FillCanned(ctx context.Context, agent store.Agent, v ConversationView, id string) (Filled, error) {
	if v.Conversation.WorkspaceID != agent.WorkspaceID {
		return Filled{}, problem.NotFound("conversation_not_found", "no conversation %q", v.Conversation.ID)
	}
	c, err := cannedFor(ctx, s.store, agent, id)
	if err != nil {
		return Filled{}, err
	}
	return Fill(c.Body, ConversationVariables(agent, v.Profile)), nil
}
