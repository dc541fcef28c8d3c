package console

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// The console's WebSocket only says that something changed and where ({"type":"message",
// "conversation_id":"cv_…"}); the page then fetches the HTML it needs through the same checks as any
// other request. No customer text travels on the socket.

const (
	closeSessionEnded websocket.StatusCode = 4401
	writeTimeout                           = 10 * time.Second
	pingInterval                           = 30 * time.Second
	// recheckInterval is how often a socket makes sure its sign-in is still valid (signed out elsewhere,
	// expired, agent disabled).
	recheckInterval = time.Minute
	socketBuffer    = 256
	maxClientFrame  = 1 << 10
)

// Socket serves GET /console/ws. Fragment has authenticated the cookie; the Origin must be the
// console's own, since a WebSocket is not bound by the same-origin policy.
func (c *Console) Socket(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	if origin := r.Header.Get("Origin"); origin == "" || !strings.EqualFold(origin, c.ownOrigin(r)) {
		c.fail(w, r, errOriginRefused)
		return
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true}) // the Origin is checked above
	if err != nil {
		return // Accept has written the HTTP error
	}
	c.sockets.Add(1)
	defer c.sockets.Done()
	defer conn.CloseNow()
	conn.SetReadLimit(maxClientFrame)

	// As in the widget's socket: ctx ends the work (shutdown, client gone), while frames are read and
	// written under connCtx, which shutdown does not cancel, so the 1001 close frame still goes out.
	ctx, cancel := context.WithCancel(c.socketCtx)
	defer cancel()
	connCtx, closeConn := context.WithCancel(context.WithoutCancel(ctx))
	defer closeConn()
	if ctx.Err() != nil {
		conn.Close(websocket.StatusGoingAway, "server shutting down; reconnect")
		return
	}
	sub := c.events.SubscribeQueue(socketBuffer, chat.WorkspaceTopic(s.agent.WorkspaceID), chat.AgentTopic(s.agent.ID))
	defer sub.Close()
	if err := writeFrame(connCtx, conn, map[string]string{"type": "ready"}); err != nil {
		return
	}

	// The reader runs on its own so control frames (ping, close) are processed; the page sends only
	// typing frames (typing.go).
	go func() {
		defer cancel()
		typing := c.chat.AgentTyping(s.agent)
		for {
			_, data, err := conn.Read(connCtx)
			if err != nil {
				return
			}
			c.clientFrame(ctx, typing, data)
		}
	}()

	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	recheck := time.NewTicker(recheckInterval)
	defer recheck.Stop()
	stillSignedIn := func() bool {
		return c.chat.CheckAgentSession(ctx, s.token) == nil
	}
	for {
		select {
		case <-sub.Ready():
			for _, ev := range sub.Take() {
				frame, self := consoleFrame(ev, s.agent.ID)
				if self && !stillSignedIn() {
					conn.Close(closeSessionEnded, "session_invalid")
					return
				}
				if frame != nil {
					if err := writeFrame(connCtx, conn, frame); err != nil {
						return
					}
				}
			}
		case <-sub.Done():
			if errors.Is(sub.Err(), realtime.ErrOverflow) {
				conn.Close(websocket.StatusTryAgainLater, "too slow; reconnect")
			} else {
				conn.Close(websocket.StatusGoingAway, "server shutting down; reconnect")
			}
			return
		case <-recheck.C:
			if !stillSignedIn() {
				conn.Close(closeSessionEnded, "session_invalid")
				return
			}
		case <-ping.C:
			pctx, pcancel := context.WithTimeout(connCtx, writeTimeout)
			err := conn.Ping(pctx)
			pcancel()
			if err != nil {
				return
			}
		case <-ctx.Done():
			if c.socketCtx.Err() != nil {
				conn.Close(websocket.StatusGoingAway, "server shutting down; reconnect")
			}
			return
		}
	}
}

// consoleFrame is the frame an event becomes; self reports an event about the socket's own agent (who
// may just have been disabled, or signed out of this very session): the socket then checks its sign-in.
func consoleFrame(ev realtime.Event, me string) (frame map[string]any, self bool) {
	switch d := ev.Data.(type) {
	case store.Message:
		// sender and internal tell alerts a customer's message from an agent's reply or note.
		return map[string]any{"type": "message", "conversation_id": d.ConversationID, "sender": d.Sender, "internal": d.Internal}, false
	case chat.Mention:
		// Published to the mentioned agent's topic only (chat.PostNote).
		return map[string]any{"type": "mention", "conversation_id": d.ConversationID,
			"message_id": chat.MessageID(store.Message{ConversationID: d.ConversationID, N: d.N, Internal: true}), "by": d.By}, false
	case store.Conversation:
		return map[string]any{"type": "conversation", "conversation_id": d.ID}, false
	case store.Event:
		if ev.Type == chat.EventTransfer { // to the receiving agents' topics only (chat.Transfer); alerts.js
			return map[string]any{"type": "transfer", "conversation_id": d.ConversationID, "by": d.Data["agent_name"]}, false
		}
		return map[string]any{"type": "timeline", "conversation_id": d.ConversationID}, false
	case chat.Typing, chat.SeenMark:
		f := typingSeenFrame(d)
		if f == nil {
			return nil, false
		}
		out := make(map[string]any, len(f))
		for k, v := range f {
			out[k] = v
		}
		return out, false
	case string:
		switch ev.Type {
		case chat.EventAgent:
			return map[string]any{"type": "agent", "agent_id": d}, d == me
		case chat.EventAgentSessionEnded:
			return nil, d == me
		}
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
