package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/jsonstrict"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// WebSocket close codes. 4xxx mirror the HTTP statuses a client already knows how to handle.
const (
	closeBadFrame      websocket.StatusCode = 4400 // the first frame was not a valid auth frame
	closeSessionEnded  websocket.StatusCode = 4401 // invalid, revoked or rotated session
	closeOriginRefused websocket.StatusCode = 4403
	closeReplaced      websocket.StatusCode = 4409 // a newer socket of the same session took this one's place
)

const (
	authTimeout    = 5 * time.Second
	writeTimeout   = 10 * time.Second
	pingInterval   = 30 * time.Second
	socketBuffer   = 256 // events queued per socket before it counts as too slow
	maxClientFrame = 4 << 10
)

// widgetSocket serves GET /v1/widget/ws. Browsers cannot put headers on a WebSocket, so the session
// token arrives in the first frame; the workspace — and with it the allowed origins — is known only
// then, which is why the Origin is checked after authentication rather than by Accept.
func (a *API) widgetSocket(w http.ResponseWriter, r *http.Request) {
	ip := clientIP(r, a.trusted)
	if err := a.upgradeLimit.allow(ip); err != nil {
		a.writeError(w, r, err)
		return
	}
	entry, overloaded, err := a.socketTable.open(ip)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		if entry != nil {
			a.socketTable.close(entry)
		}
		return // Accept has written the HTTP error
	}
	a.sockets.Add(1)
	defer a.sockets.Done()
	defer c.CloseNow()
	if overloaded {
		c.Close(websocket.StatusTryAgainLater, "server full; retry later")
		return
	}
	defer a.socketTable.close(entry)
	c.SetReadLimit(maxClientFrame)

	// ctx ends the socket's work: on shutdown or when the reader sees the client go. Frames are read and
	// written under connCtx instead, which shutdown does not cancel: coder/websocket drops the connection
	// without a close frame when the context of a Read or Write in progress (or one that has just
	// returned) ends, and that would race the 1001 close that tells clients to reconnect elsewhere.
	ctx, cancel := context.WithCancel(a.socketCtx)
	defer cancel()
	connCtx, closeConn := context.WithCancel(context.WithoutCancel(ctx))
	defer closeConn()
	if ctx.Err() != nil {
		c.Close(websocket.StatusGoingAway, "server shutting down; reconnect")
		return
	}

	v, code, reason := a.authenticateSocket(ctx, c, r)
	if v == nil {
		c.Close(code, reason)
		return
	}
	a.socketTable.authenticated(entry, v.Session.ID)
	sub := a.events.SubscribeQueue(socketBuffer, v.Topics()...)
	defer sub.Close()
	// The session may have been revoked between authentication and subscription; look again now that
	// no session_ended can be missed.
	if _, err := a.chat.Recheck(ctx, v.tokenForRecheck); err != nil {
		c.Close(closeSessionEnded, "session_invalid")
		return
	}
	id, err := a.chat.Identity(ctx, &v.Visitor)
	if err != nil {
		a.log.Error("socket identity", "err", err)
		c.Close(websocket.StatusInternalError, "internal_error")
		return
	}
	// The conversations summary (as GET /v1/widget/session has it) lets a widget whose panel is closed
	// count what arrived before the subscription without loading any messages.
	convs, err := a.chat.LauncherSummary(ctx, &v.Visitor)
	if err != nil {
		a.log.Error("socket summary", "err", err)
		c.Close(websocket.StatusInternalError, "internal_error")
		return
	}
	if err := writeFrame(connCtx, c, map[string]any{"type": "ready", "identity": identityShape(id), "session": sessionShape(&v.Visitor), "conversations": summaryShapes(convs)}); err != nil {
		return
	}

	// The reader runs on its own so control frames (ping, close) are processed; a client may send
	// {"type":"ping"} and gets {"type":"pong"}, and the client frames of socketframes.go.
	go func() {
		defer cancel()
		frames := a.newClientFrames(v)
		for {
			_, data, err := c.Read(connCtx)
			if err != nil {
				return
			}
			var f struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(data, &f) != nil {
				continue
			}
			var reply any
			if f.Type == "ping" {
				reply = map[string]string{"type": "pong"}
			} else {
				reply = frames.handle(ctx, f.Type, data)
			}
			if reply != nil && writeFrame(connCtx, c, reply) != nil {
				return
			}
		}
	}()

	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		select {
		case <-sub.Ready():
			for _, ev := range sub.Take() {
				if !a.deliverWidgetEvent(ctx, connCtx, c, v, ev) {
					return
				}
			}
		case <-sub.Done():
			if errors.Is(sub.Err(), realtime.ErrOverflow) {
				c.Close(websocket.StatusTryAgainLater, "too slow; reconnect and resume with ?after=")
			} else {
				c.Close(websocket.StatusGoingAway, "server shutting down; reconnect")
			}
			return
		case <-entry.replaced:
			c.Close(closeReplaced, "replaced by a newer connection of this session")
			return
		case <-ping.C:
			// Sessions may end without an event reaching this process (the CLI on SQLite, a rule
			// checked on use, an expiry): look again every ping. A ping is not activity, so this does not
			// keep an idle session alive.
			if _, err := a.chat.Recheck(ctx, v.tokenForRecheck); err != nil {
				if p, ok := problem.As(err); ok && p.Status == http.StatusUnauthorized {
					_ = writeFrame(connCtx, c, map[string]any{"type": "session_ended", "reason": chat.EndReason(err)})
					c.Close(closeSessionEnded, "session_ended")
					return
				}
			}
			pctx, pcancel := context.WithTimeout(connCtx, writeTimeout)
			err := c.Ping(pctx)
			pcancel()
			if err != nil {
				return
			}
		case <-ctx.Done():
			if a.socketCtx.Err() != nil {
				c.Close(websocket.StatusGoingAway, "server shutting down; reconnect")
			}
			return
		}
	}
}

// socketVisitor is an authenticated socket's visitor and the token it presented.
type socketVisitor struct {
	chat.Visitor
	tokenForRecheck string
	fingerprint     string // chat.TokenFingerprint of tokenForRecheck
}

// authenticateSocket reads the auth frame. On failure it returns the close code and reason.
func (a *API) authenticateSocket(ctx context.Context, c *websocket.Conn, r *http.Request) (*socketVisitor, websocket.StatusCode, string) {
	actx, cancel := context.WithTimeout(ctx, authTimeout)
	defer cancel()
	typ, data, err := c.Read(actx)
	if err != nil {
		return nil, closeSessionEnded, "no auth frame"
	}
	var f struct {
		Type         string `json:"type"`
		SessionToken string `json:"session_token"`
	}
	if typ != websocket.MessageText || jsonstrict.Unmarshal(data, &f) != nil || f.Type != "auth" {
		return nil, closeBadFrame, `the first frame must be {"type":"auth","session_token":"…"}`
	}
	v, err := a.chat.Authenticate(ctx, f.SessionToken)
	if err != nil {
		return nil, closeSessionEnded, "session_invalid"
	}
	if a.checkOrigin(r, v) != nil {
		return nil, closeOriginRefused, "origin_not_allowed"
	}
	return &socketVisitor{Visitor: *v, tokenForRecheck: f.SessionToken, fingerprint: chat.TokenFingerprint(f.SessionToken)}, 0, ""
}

// widgetFrame renders an event for a widget; events meant for agents only are skipped.
func widgetFrame(ev realtime.Event) (any, bool) {
	switch d := ev.Data.(type) {
	case store.Message:
		if !chat.CustomerVisible(d) { // an internal note: agents only, whatever topic it came by
			return nil, false
		}
		return map[string]any{"type": "message", "message": messageShape(d)}, true
	case store.Conversation:
		return map[string]any{"type": "conversation", "conversation": conversationShape(d)}, true
	case chat.SessionEnded:
		return map[string]any{"type": "session_ended", "reason": d.Reason}, true
	case chat.Typing:
		return typingFrame(d)
	case chat.ReadReceipt:
		return map[string]string{"type": "read", "conversation_id": d.ConversationID, "message_id": chat.MessageID(store.Message{ConversationID: d.ConversationID, N: d.N})}, true
	}
	return nil, false
}

func writeFrame(ctx context.Context, c *websocket.Conn, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return c.Write(wctx, websocket.MessageText, data)
}

// deliverWidgetEvent writes one event to an authenticated widget socket; false means the socket is
// done (the write failed, or the event ended the session and the socket was closed).
func (a *API) deliverWidgetEvent(ctx, connCtx context.Context, c *websocket.Conn, v *socketVisitor, ev realtime.Event) bool {
	if ev.Type == chat.EventSessionEnded {
		// The event may be about an older token of this session (a login rotated it): with several
		// instances, events arrive after the response that handed out the new token, so a socket
		// already using the new one must not be ended by it — not even when the session has since
		// ended for another reason, whose own event says why.
		if d, ok := ev.Data.(chat.SessionEnded); ok && d.Token != "" && d.Token != v.fingerprint {
			return true
		}
		// For the rest, the database decides.
		if _, err := a.chat.Recheck(ctx, v.tokenForRecheck); err == nil {
			return true
		}
	}
	if frame, ok := widgetFrame(ev); ok {
		if err := writeFrame(connCtx, c, frame); err != nil {
			return false
		}
	}
	if ev.Final {
		c.Close(closeSessionEnded, "session_ended")
		return false
	}
	return true
}
