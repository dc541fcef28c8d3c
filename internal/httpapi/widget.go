package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// The widget HTTP API of docs/api.md.

func (a *API) createSession(w http.ResponseWriter, r *http.Request) {
	if err := a.sessionLimit.allow(clientIP(r, a.trusted)); err != nil {
		a.writeError(w, r, err)
		return
	}
	var req struct {
		Workspace string `json:"workspace"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	if req.Workspace == "" || len(req.Workspace) > 64 {
		a.writeError(w, r, problem.InvalidField("workspace", "must be the workspace id from your embed snippet"))
		return
	}
	ws, err := a.chat.Workspace(r.Context(), req.Workspace)
	if err == nil && !chat.OriginAllowed(ws.Settings, r.Header.Get("Origin")) {
		err = a.checkOrigin(r, &chat.Visitor{Workspace: ws})
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	token, v, err := a.chat.CreateSession(r.Context(), req.Workspace)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"session_token": token,
		"identity":      identityJSON{Level: v.Session.Level},
		"session":       sessionShape(v),
		"config":        configShape(v.Workspace, a.chat.Hours(v.Workspace.Settings)),
	})
}

// getSession answers everything a returning visitor's launcher needs in one request: who is there, the
// workspace's config, and the conversations (is one open, what may be unread).
func (a *API) getSession(w http.ResponseWriter, r *http.Request) {
	v := visitorFrom(r)
	id, err := a.chat.Identity(r.Context(), v)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	convs, err := a.chat.LauncherSummary(r.Context(), v)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"identity": identityShape(id), "session": sessionShape(v),
		"config": configShape(v.Workspace, a.chat.Hours(v.Workspace.Settings)), "conversations": summaryShapes(convs)})
}

// getConfig serves GET /v1/widget/config?workspace=ws_…: the workspace's widget config without a
// session, so a visitor who only browses costs one read and no write. It is the same for every visitor
// of an allowed origin, so browsers may keep it, revalidating each time (the hours and settings it holds
// change), and a revalidation whose config did not change is a body-less 304.
func (a *API) getConfig(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("workspace")
	if id == "" || len(id) > 64 || len(q) != 1 || len(q["workspace"]) != 1 {
		a.writeError(w, r, problem.InvalidField("workspace", "must be the workspace id from your embed snippet, the only parameter"))
		return
	}
	ws, err := a.chat.Workspace(r.Context(), id)
	if err == nil {
		err = a.checkOrigin(r, &chat.Visitor{Workspace: ws})
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	// json.Marshal escapes HTML as writeJSON does.
	body, err := json.Marshal(map[string]any{"config": configShape(ws, a.chat.Hours(ws.Settings))})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(body, '\n'))
}

func (a *API) identify(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name       string          `json:"name"`
		Email      string          `json:"email"`
		Phone      string          `json:"phone"`
		Attributes json.RawMessage `json:"attributes"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	claimed, err := attributesField(req.Attributes)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	token, v, err := a.chat.Identify(r.Context(), visitorFrom(r), chat.Claims{Name: req.Name, Email: req.Email, Phone: req.Phone, Attributes: claimed})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if token == "" {
		token = bearer(r) // the level did not change, so neither did the token
	}
	id, err := a.chat.Identity(r.Context(), v)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"identity": identityShape(id), "session": sessionShape(v), "session_token": token})
}

func (a *API) login(w http.ResponseWriter, r *http.Request) {
	err := a.tryLogin(w, r)
	if err != nil {
		a.writeError(w, r, err)
	}
	if a.metrics != nil {
		a.metrics.WidgetLogin(loginResult(err))
	}
}

// tryLogin answers a login that succeeds; the caller answers and counts failures.
func (a *API) tryLogin(w http.ResponseWriter, r *http.Request) error {
	if err := a.loginLimit.allow(clientIP(r, a.trusted)); err != nil {
		return err
	}
	v, err := a.chat.Authenticate(r.Context(), bearer(r))
	if err == nil {
		err = a.checkOrigin(r, v)
	}
	if err != nil {
		return err
	}
	var req struct {
		Token string `json:"token"`
		// SingleUse refuses a token without a jti: the chat page's login from a #token= link.
		SingleUse bool `json:"single_use"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	login := a.chat.Login
	if req.SingleUse {
		login = a.chat.LoginSingleUse
	}
	token, next, id, err := login(r.Context(), v, req.Token)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"session_token": token, "identity": identityShape(id), "session": sessionShape(next)})
	return nil
}

func (a *API) logout(w http.ResponseWriter, r *http.Request) {
	token, v, err := a.chat.Logout(r.Context(), visitorFrom(r))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"session_token": token, "identity": identityJSON{Level: v.Session.Level}, "session": sessionShape(v)})
}

func (a *API) listConversations(w http.ResponseWriter, r *http.Request) {
	convs, err := a.chat.Conversations(r.Context(), visitorFrom(r))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := make([]conversationJSON, len(convs))
	for i, c := range convs {
		out[i] = conversationShape(c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversations": out})
}

func (a *API) postMessage(w http.ResponseWriter, r *http.Request) {
	v := visitorFrom(r)
	var req struct {
		Body        string   `json:"body"`
		ClientID    string   `json:"client_id"`
		Attachments []string `json:"attachments"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.messageLimit.allow(v.Session.ID); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.ipMessages.allow(clientIP(r, a.trusted)); err != nil {
		a.writeError(w, r, err)
		return
	}
	if v.Session.CustomerID != "" {
		if err := a.custMessages.allow(v.Session.CustomerID); err != nil {
			a.writeError(w, r, err)
			return
		}
	}
	ip := clientIP(r, a.trusted)
	ctx := chat.WithStartGate(r.Context(), func(v *chat.Visitor) error {
		if err := a.ipStarts.allow(ip); err != nil {
			return err
		}
		if v.Session.CustomerID != "" {
			return a.custStarts.allow(v.Session.CustomerID)
		}
		return nil
	})
	msg, created, err := a.chat.PostMessageInput(ctx, v, chat.MessageInput{Body: req.Body, ClientID: req.ClientID, Attachments: req.Attachments})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	writeJSON(w, status, map[string]any{"message": messageShape(msg)})
}

func (a *API) listMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 0
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > chat.DefaultPageSize {
			a.writeError(w, r, problem.InvalidField("limit", "must be a number from 1 to %d", chat.DefaultPageSize))
			return
		}
		limit = n
	}
	msgs, err := a.chat.Messages(r.Context(), visitorFrom(r), r.PathValue("id"), q.Get("after"), limit)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	// read: the visitor's newest message an agent has read (absent when none, or when the workspace
	// hides read receipts), so a reloaded widget shows "Read" where it was.
	body := map[string]any{"messages": messageShapes(msgs)}
	read, err := a.chat.ReadUpTo(r.Context(), visitorFrom(r), r.PathValue("id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if read != "" {
		body["read"] = read
	}
	writeJSON(w, http.StatusOK, body)
}

// markSeen serves POST /v1/widget/conversations/{id}/seen ({"message_id": "msg_…"}): the newest agent
// message the customer has seen, as the socket's seen frame does. 204.
func (a *API) markSeen(w http.ResponseWriter, r *http.Request) {
	var body struct {
		MessageID string `json:"message_id"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.chat.MarkSeen(r.Context(), visitorFrom(r), r.PathValue("id"), body.MessageID); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func messageShapes(msgs []store.Message) []messageJSON {
	out := make([]messageJSON, len(msgs))
	for i, m := range msgs {
		out[i] = messageShape(m)
	}
	return out
}
