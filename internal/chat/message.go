package chat

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/attributes"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// Message limits.
const (
	MaxMessageLength  = 4000 // characters
	maxClientIDLength = 64
	// DefaultPageSize is how many messages one read returns unless asked for fewer.
	DefaultPageSize = 500
)

// MessageID renders a message's public id: msg_<its conversation's id without cv_>_<its number within
// the conversation, 16 lowercase hex digits>. Fixed-width hex makes a conversation's ids sort as strings
// in the order of their numbers, i.e. in commit order; the conversation part keeps them unique across
// conversations. The number counts only the conversation's own messages, so an id tells nothing of how
// much anybody else writes (the store's Seq, which once was the id, is installation-wide).
//
// An internal note (numbered apart, N < 0) gets an id of its own form (noteID) that no customer path
// accepts.
func MessageID(m store.Message) string {
	if m.Internal || m.N < 0 {
		return noteID(m)
	}
	return messageIDPrefix(m.ConversationID) + fmt.Sprintf("%016x", m.N)
}

func messageIDPrefix(conversationID string) string {
	return "msg_" + strings.TrimPrefix(conversationID, "cv_") + "_"
}

// ParseMessageID returns the number within the conversation of a message id that MessageID gave one of
// conversationID's messages (or would give, for a number not yet taken). Ids of other conversations, of
// another form or in another case are refused.
func ParseMessageID(conversationID, id string) (int64, error) {
	hex, ok := strings.CutPrefix(id, messageIDPrefix(conversationID))
	if !ok || len(hex) != 16 {
		return 0, errors.New("not a message id of this conversation")
	}
	n, err := strconv.ParseUint(hex, 16, 63)
	if err != nil || strings.ToLower(hex) != hex {
		return 0, errors.New("not a message id of this conversation")
	}
	return int64(n), nil
}

func validateBody(body string) error {
	if strings.TrimSpace(body) == "" {
		return problem.InvalidField("body", "must not be empty")
	}
	return checkText("body", body, MaxMessageLength, true)
}

func validateClientID(id string) error {
	if len(id) > maxClientIDLength {
		return problem.InvalidField("client_id", "must be at most %d characters", maxClientIDLength)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return problem.InvalidField("client_id", "may contain only letters, digits and - _ . :")
		}
	}
	return nil
}

// StartGate decides whether a visitor may start one more conversation. Rate limits by client address or
// customer belong to the caller, which knows the address; chat asks only when a post is about to open a
// new conversation, so ordinary messages cost nothing.
type StartGate func(v *Visitor) error

type startGateKey struct{}

// WithStartGate attaches a StartGate to the posts made with ctx.
func WithStartGate(ctx context.Context, g StartGate) context.Context {
	return context.WithValue(ctx, startGateKey{}, g)
}

// PostMessage appends a customer message to the visitor's open conversation, starting one if there is
// none. A client id the session already used returns the earlier message instead (created is false), so
// retries never duplicate. The message is trusted only if the session is verified right now.
func (s *Service) PostMessage(ctx context.Context, v *Visitor, body, clientID string) (msg store.Message, created bool, err error) {
	return s.PostMessageInput(ctx, v, MessageInput{Body: body, ClientID: clientID})
}

// MessageInput is a message to send: its text, the client's id for it, and the ids of the attachments
// it carries (uploaded before by the same sender). Body may be empty when there are attachments.
type MessageInput struct {
	Body        string
	ClientID    string
	Attachments []string
}

func (in MessageInput) validate() error {
	if len(in.Attachments) == 0 || in.Body != "" {
		if err := validateBody(in.Body); err != nil {
			return err
		}
	}
	if len(in.Attachments) > MaxAttachmentsPerMessage {
		return problem.InvalidField("attachments", "at most %d files per message", MaxAttachmentsPerMessage)
	}
	return validateClientID(in.ClientID)
}

// PostMessageInput is PostMessage with attachments.
func (s *Service) PostMessageInput(ctx context.Context, v *Visitor, in MessageInput) (msg store.Message, created bool, err error) {
	body, clientID := in.Body, in.ClientID
	if err := in.validate(); err != nil {
		return msg, false, err
	}
	sess := v.Session
	err = s.mayChat(v)
	if err == nil {
		err = s.refuseBlocked(ctx, v)
	}
	if err != nil {
		// A retry of a message sent before the rules changed (or a block) still gets its answer.
		if m, rerr := s.store.MessageByClientID(ctx, sess.ID, clientID); clientID != "" && rerr == nil {
			return m, false, nil
		}
		return msg, false, err
	}
	err = s.update(ctx, func(tx store.Tx, out *outbox) error {
		if v.ClientAddr != "" {
			// Where the visitor's messages come from, for a block by address; a write only when it changed.
			if err := tx.SetSessionClientAddr(ctx, sess.ID, v.ClientAddr); err != nil {
				return err
			}
		}
		msg = store.Message{
			Sender: store.SenderCustomer, SessionID: sess.ID, Body: body,
			Trusted: sess.Level == store.LevelVerified, ClientID: clientID, CreatedAt: s.clock(),
		}
		if len(in.Attachments) > 0 {
			atts, err := takeAttachments(ctx, tx, sess.WorkspaceID, sess.ID, "", in.Attachments)
			if err != nil {
				return err
			}
			msg.Attachments = atts
		}
		conv, err := tx.AppendToOpenConversation(ctx, v.Owner(), &msg)
		if isNotFound(err) {
			if gate, ok := ctx.Value(startGateKey{}).(StartGate); ok && gate != nil {
				if err := gate(v); err != nil {
					return err
				}
			}
			if conv, err = s.startConversation(ctx, tx, out, v); err == nil {
				// Stamped after the "started" event, so the timeline reads in order.
				msg.ConversationID, msg.CreatedAt = conv.ID, s.clock()
				err = tx.AppendMessage(ctx, &msg)
			}
		}
		if err != nil {
			return err
		}
		out.add(realtime.Event{Type: EventMessage, Data: msg}, conversationTopics(conv)...)
		if err := s.webhookMessage(ctx, tx, conv.WorkspaceID, msg, sess.Level); err != nil {
			return err
		}
		// Agents who asked for it are mailed if nobody reads it in time (alertmail.go).
		return s.enqueueUnreadCheck(ctx, tx, v.Workspace.Settings, msg)
	})
	if errors.Is(err, store.ErrConflict) && clientID != "" {
		// The session already sent this client id: a retry. Its first message is the answer. The unique
		// index decides, so new messages — nearly all of them — cost no extra read. (The store reports
		// this failure only after the batch that held the first send has committed.)
		m, rerr := s.store.MessageByClientID(ctx, sess.ID, clientID)
		return m, false, rerr
	}
	return msg, err == nil, attachmentTaken(err)
}

// mayChat applies the workspace's identity requirements to sending.
func (s *Service) mayChat(v *Visitor) error {
	st := v.Workspace.Settings
	level := v.Session.Level
	if level == store.LevelVerified {
		return nil
	}
	if !AnonymousChatAllowed(st) {
		msg := "this workspace requires a verified login to chat; sign in on the website first"
		if st.LoginURL != "" {
			msg += " (" + st.LoginURL + ")"
		}
		return forbidden("verification_required", "%s", msg)
	}
	// Onboarding asks for a name and an email; a phone number alone, or either half, is not enough.
	if st.Onboarding && (v.Session.ClaimedName == "" || v.Session.ClaimedEmail == "") {
		return forbidden("identification_required", "this workspace asks for your name and email before the first message; send both with POST /v1/widget/identify")
	}
	return nil
}

// startConversation starts a new conversation for the visitor.
func (s *Service) startConversation(ctx context.Context, tx store.Tx, out *outbox, v *Visitor) (store.Conversation, error) {
	now := s.clock()
	sess := v.Session
	conv := store.Conversation{
		ID: newID("cv_"), WorkspaceID: sess.WorkspaceID, CustomerID: sess.CustomerID, SessionID: sess.ID,
		Status: store.StatusOpen, ClaimedName: sess.ClaimedName, ClaimedEmail: sess.ClaimedEmail,
		CreatedAt: now, UpdatedAt: now,
	}
	if err := tx.CreateConversation(ctx, &conv); err != nil {
		return conv, err
	}
	data := map[string]string{"level": sess.Level, "session_id": sess.ID}
	if sess.Level == store.LevelVerified {
		data["key_id"] = sess.KeyID
	}
	if err := s.addEvent(ctx, tx, out, conv, "started", data); err != nil {
		return conv, err
	}
	email := sess.ClaimedEmail
	var verified attributes.Set // never the session's claimed attributes
	if sess.CustomerID != "" {
		c, err := tx.Customer(ctx, sess.CustomerID)
		if err != nil {
			return conv, err
		}
		email, verified = c.Email, c.Attributes
	}
	if err := s.route(ctx, tx, out, &conv, v.Workspace.Settings, sess.Level, email, verified); err != nil {
		return conv, err
	}
	out.add(realtime.Event{Type: EventConversation, Data: conv}, conversationTopics(conv)...)
	return conv, nil
}

// addEvent appends a timeline event and queues it for agents.
func (s *Service) addEvent(ctx context.Context, tx store.Tx, out *outbox, conv store.Conversation, typ string, data map[string]string) error {
	e := store.Event{ConversationID: conv.ID, Type: typ, Data: data, CreatedAt: s.clock()}
	if err := tx.AppendEvent(ctx, &e); err != nil {
		return err
	}
	out.add(realtime.Event{Type: EventTimeline, Data: e}, WorkspaceTopic(conv.WorkspaceID))
	// conversation.created, .closed and .reopened (webhooks.go), in the same transaction.
	return s.webhookConversationEvent(ctx, tx, conv, e)
}

// Conversations lists the visitor's conversations, newest first.
func (s *Service) Conversations(ctx context.Context, v *Visitor) ([]store.Conversation, error) {
	return s.store.Conversations(ctx, v.Owner())
}

// Messages returns the messages of one of the visitor's conversations after a message id ("" for the
// start), oldest first. Conversations the visitor may not see do not exist for them.
func (s *Service) Messages(ctx context.Context, v *Visitor, conversationID, after string, limit int) ([]store.Message, error) {
	conv, err := s.store.Conversation(ctx, conversationID)
	if (err == nil && !v.canSee(conv)) || isNotFound(err) {
		return nil, problem.NotFound("conversation_not_found", "no conversation %q for this session", conversationID)
	}
	if err != nil {
		return nil, err
	}
	// Checked against the conversation found, so the answer quotes an id the visitor may see.
	var afterN int64
	if after != "" {
		if afterN, err = ParseMessageID(conv.ID, after); err != nil {
			return nil, problem.InvalidField("after", "must be the id of a message of this conversation, such as %s",
				MessageID(store.Message{ConversationID: conv.ID, N: 1}))
		}
	}
	if limit <= 0 || limit > DefaultPageSize {
		limit = DefaultPageSize
	}
	msgs, err := s.store.MessagesAfterNumber(ctx, conv.ID, afterN, limit)
	return customerVisible(msgs), err // the store leaves notes out already; the rule is applied here too
}
