package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
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
//
// An idle socket is the common case (every open widget has one), so once it is ready it costs one
// goroutine, which reads the client's frames (widgetConn.serve). Events are written by a goroutine that
// exists only while events wait (realtime.SubscribeNotify), pings by a timer, and being replaced,
// shutting down and an ended subscription close the socket from callbacks. The reading goroutine is a
// new one rather than this handler's: this one's stack has grown by then (net/http, the middleware,
// authentication's database reads) to 16 KiB, more than it can be shrunk back from while it waits in a
// read under net/http's frames, and returning lets the request and its response writer go.
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
	c, err := websocket.Accept(smallBuffers{w}, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		if entry != nil {
			a.socketTable.close(entry)
		}
		return // Accept has written the HTTP error
	}
	a.sockets.Add(1)
	handedOver := false // to the socket's own goroutine, with what follows
	defer func() {
		if handedOver {
			return
		}
		if entry != nil {
			a.socketTable.close(entry)
		}
		c.CloseNow()
		a.sockets.Done()
	}()
	if overloaded {
		c.Close(websocket.StatusTryAgainLater, "server full; retry later")
		return
	}
	c.SetReadLimit(maxClientFrame)

	// Frames are read and written without a context that ends (timeouts are timers that close the
	// connection, as an ended context would): coder/websocket keeps the context of the last read and
	// write for as long as the socket lives, and drops the connection without a close frame when the
	// context of a Read or Write in progress ends, which would race the 1001 close of a shutdown.
	// Database calls use socketCtx, which shutdown ends.
	if a.socketCtx.Err() != nil {
		c.Close(websocket.StatusGoingAway, "server shutting down; reconnect")
		return
	}
	s := a.startWidgetSocket(a.socketCtx, c, r, entry)
	if s == nil {
		return
	}
	endRequest := a.keepRequest(w, r)
	handedOver = true
	go s.serve(entry, endRequest)
}

// Buffer sizes of a widget socket's connection. net/http's, which coder/websocket would keep after the
// hijack, are 4 KiB each: 8 KiB of every idle socket's 13 KiB of live heap, for frames that are
// mostly a few hundred bytes. A read longer than the buffer goes straight into the frame's bytes, and a
// frame longer than the write buffer costs one more write to the connection.
const (
	socketReadBuffer  = 1 << 10
	socketWriteBuffer = 2 << 10
)

// smallBuffers hands coder/websocket the hijacked connection with buffers of its own sizes; net/http's
// go with its connection once the handler returns.
type smallBuffers struct{ http.ResponseWriter }

func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil { // the 101 response, if net/http left it there
		conn.Close()
		return nil, nil, err
	}
	// What the client sent after its request (net/http reads ahead) must be in the new reader's buffer,
	// where coder/websocket looks for it, not behind it.
	var rd io.Reader = conn
	n := brw.Reader.Buffered()
	if n > 0 {
		b, _ := brw.Reader.Peek(n)
		rd = io.MultiReader(bytes.NewReader(bytes.Clone(b)), conn)
	}
	br := bufio.NewReaderSize(rd, max(socketReadBuffer, n))
	if _, err := br.Peek(n); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, bufio.NewReadWriter(br, bufio.NewWriterSize(conn, socketWriteBuffer)), nil
}

// serve runs the ready socket on its own goroutine until it closes, then ends it as the handler would
// have: the socket table, the connection, the sockets Shutdown waits for, and the request (its count,
// the open-sockets gauge, the access log).
func (s *widgetConn) serve(entry *socketEntry, endRequest func()) {
	a := s.a
	// Deferred first, so it runs last: this goroutine is under no net/http recover, and a panic in the
	// ending below would otherwise end the process.
	defer func() {
		if v := recover(); v != nil {
			a.log.Error("panic", "path", "/v1/widget/ws", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	defer a.sockets.Done()
	defer endRequest()
	defer s.c.CloseNow()
	defer a.socketTable.close(entry)
	defer s.finish()
	// From here on the socket keeps its token only, not the visitor (the session and the workspace
	// with all its settings): the client frames that need a visitor look it up when the first arrives.
	s.goLive()
	a.socketTable.whenReplaced(entry, func() { s.closeWith(closeReplaced, "replaced by a newer connection of this session") })
	stopShutdown := context.AfterFunc(a.socketCtx, func() { s.closeWith(websocket.StatusGoingAway, "server shutting down; reconnect") })
	defer stopShutdown()
	s.read()
}

// startWidgetSocket authenticates the socket, subscribes it and writes the ready frame. It returns nil
// when the socket is done (closed with the reason, or gone).
func (a *API) startWidgetSocket(ctx context.Context, c *websocket.Conn, r *http.Request, entry *socketEntry) (s *widgetConn) {
	defer func() {
		if v := recover(); v != nil {
			a.log.Error("panic", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			c.CloseNow()
			if s != nil {
				s.finish()
			}
			s = nil
		}
	}()
	v, code, reason := a.authenticateSocket(ctx, c, r)
	if v == nil {
		c.Close(code, reason)
		return nil
	}
	a.socketTable.authenticated(entry, v.Session.ID)
	s = &widgetConn{a: a, c: c, token: v.token}
	s.sub = a.events.SubscribeNotify(socketBuffer, s.wake, v.Topics()...)
	fail := func(code websocket.StatusCode, reason string) *widgetConn {
		c.Close(code, reason)
		s.finish()
		return nil
	}
	// The session may have been revoked between authentication and subscription; look again now that
	// no session_ended can be missed.
	if _, err := a.chat.Recheck(ctx, s.token); err != nil {
		return fail(closeSessionEnded, "session_invalid")
	}
	id, err := a.chat.Identity(ctx, &v.Visitor)
	if err != nil {
		a.log.Error("socket identity", "err", err)
		return fail(websocket.StatusInternalError, "internal_error")
	}
	// The conversations summary (as GET /v1/widget/session has it) lets a widget whose panel is closed
	// count what arrived before the subscription without loading any messages.
	convs, err := a.chat.LauncherSummary(ctx, &v.Visitor)
	if err != nil {
		a.log.Error("socket summary", "err", err)
		return fail(websocket.StatusInternalError, "internal_error")
	}
	if err := writeFrame(c, map[string]any{"type": "ready", "identity": identityShape(id), "session": sessionShape(&v.Visitor), "conversations": summaryShapes(convs)}); err != nil {
		s.finish()
		return nil
	}
	return s
}

// widgetConn is an authenticated widget socket. One goroutine reads (serve, read); everything else runs
// on goroutines that exist only while they work, counted in busy so that serve returns — and the socket
// counts as closed — only once they are done.
type widgetConn struct {
	a     *API
	c     *websocket.Conn
	sub   *realtime.Subscription
	token string // for rechecks

	mu      sync.Mutex
	live    bool        // the ready frame is written: events may follow
	waiting bool        // events (or the subscription's end) arrived before live
	done    bool        // the socket is finishing: start nothing more
	ping    *time.Timer // nil until live
	busy    sync.WaitGroup
}

// begin counts a goroutine about to work on the socket; false means the socket is finishing.
func (s *widgetConn) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return false
	}
	s.busy.Add(1)
	return true
}

// end is begin's counterpart; a panic on the goroutine is logged and ends the connection, not the
// process.
func (s *widgetConn) end() {
	if v := recover(); v != nil {
		s.a.log.Error("panic", "path", "/v1/widget/ws", "panic", v, "stack", string(debug.Stack()))
		s.c.CloseNow()
	}
	s.busy.Done()
}

// goLive lets events be delivered (the ready frame has gone) and starts the pings.
func (s *widgetConn) goLive() {
	s.mu.Lock()
	s.live = true
	waiting := s.waiting
	s.ping = time.AfterFunc(pingInterval, s.pingTick)
	s.mu.Unlock()
	if waiting {
		s.wake()
	}
}

// wake is the subscription's notify: events wait, or the subscription ended. It starts the goroutine
// that delivers them; the hub calls it again only once that goroutine has found the queue empty, so
// one delivers at a time, in order. It must not block.
func (s *widgetConn) wake() {
	s.mu.Lock()
	if !s.live {
		s.waiting = !s.done
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	if s.begin() {
		go s.deliver()
	}
}

// deliver writes the waiting events until none are left; a subscription that ended is the end of the
// socket.
func (s *widgetConn) deliver() {
	defer s.end()
	for {
		select {
		case <-s.sub.Done():
			switch err := s.sub.Err(); {
			case errors.Is(err, realtime.ErrOverflow):
				s.c.Close(websocket.StatusTryAgainLater, "too slow; reconnect and resume with ?after=")
			case err != nil:
				s.c.Close(websocket.StatusGoingAway, "server shutting down; reconnect")
			}
			return
		default:
		}
		evs := s.sub.Take()
		if len(evs) == 0 {
			return
		}
		for _, ev := range evs {
			if !s.a.deliverWidgetEvent(s, ev) {
				// The hub wakes this socket no more until it drains its queue: a socket that cannot be
				// written to is closed (the reader then ends it), not left open and deaf.
				s.c.CloseNow()
				return
			}
		}
	}
}

// closeWith closes the socket with code on a goroutine of its own: callers hold locks.
func (s *widgetConn) closeWith(code websocket.StatusCode, reason string) {
	if !s.begin() {
		return
	}
	go func() {
		defer s.end()
		s.c.Close(code, reason)
	}()
}

// pingTick runs every pingInterval on the timer's goroutine. Sessions may end without an event reaching
// this process (the CLI on SQLite, a rule checked on use, an expiry): look again every ping. A ping is
// not activity, so this does not keep an idle session alive.
func (s *widgetConn) pingTick() {
	if !s.begin() {
		return
	}
	defer s.end()
	if _, err := s.a.chat.Recheck(s.a.socketCtx, s.token); err != nil {
		if p, ok := problem.As(err); ok && p.Status == http.StatusUnauthorized {
			_ = writeFrame(s.c, map[string]any{"type": "session_ended", "reason": chat.EndReason(err)})
			s.c.Close(closeSessionEnded, "session_ended")
			return
		}
	}
	pctx, pcancel := context.WithTimeout(context.Background(), writeTimeout)
	err := s.c.Ping(pctx)
	pcancel()
	if err != nil {
		s.c.CloseNow()
		return
	}
	s.mu.Lock()
	if !s.done {
		s.ping.Reset(pingInterval)
	}
	s.mu.Unlock()
}

// read reads the client's frames until the connection ends: control frames (ping, close) are processed
// only while someone reads. A client may send {"type":"ping"} and gets {"type":"pong"}, and the client
// frames of socketframes.go.
func (s *widgetConn) read() {
	var frames *clientFrames // made for the first frame that needs it
	for {
		_, data, err := s.c.Read(context.Background())
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
		switch f.Type {
		case "ping":
			reply = map[string]string{"type": "pong"}
		case "typing", "seen":
			if frames == nil {
				var ended bool
				if frames, reply, ended = s.newClientFrames(); ended {
					_ = writeFrame(s.c, reply)
					s.c.Close(closeSessionEnded, "session_ended")
					return
				}
			}
			if frames != nil {
				reply = frames.handle(s.a.socketCtx, f.Type, data)
			}
		}
		if reply != nil && writeFrame(s.c, reply) != nil {
			return
		}
	}
}

// newClientFrames makes the socket's client-frame handler with the session as it is now. When it
// cannot, it returns the reply to send instead, and ended when that is session_ended: the socket then
// closes, as a ping that found the session over would close it.
func (s *widgetConn) newClientFrames() (frames *clientFrames, reply any, ended bool) {
	v, err := s.a.chat.Recheck(s.a.socketCtx, s.token)
	if err == nil {
		return s.a.newClientFrames(&socketVisitor{Visitor: *v, token: s.token}), nil, false
	}
	if p, ok := problem.As(err); ok && p.Status == http.StatusUnauthorized {
		return nil, map[string]any{"type": "session_ended", "reason": chat.EndReason(err)}, true
	}
	s.a.log.Error("socket frame", "err", err)
	return nil, frameError(problem.New(http.StatusInternalServerError, "internal_error", "something went wrong on our side; try again")), false
}

// finish ends the socket's other work once it is done reading, and waits for it.
func (s *widgetConn) finish() {
	s.mu.Lock()
	s.done = true
	if s.ping != nil {
		s.ping.Stop()
	}
	s.mu.Unlock()
	s.c.CloseNow() // a write to a client that has gone need not wait for its timeout
	s.sub.Close()
	s.busy.Wait()
}

// socketVisitor is an authenticated socket's visitor and the token it presented.
type socketVisitor struct {
	chat.Visitor
	token string
}

// authenticateSocket reads the auth frame. On failure it returns the close code and reason.
func (a *API) authenticateSocket(ctx context.Context, c *websocket.Conn, r *http.Request) (*socketVisitor, websocket.StatusCode, string) {
	// No auth frame within authTimeout, or a shutdown meanwhile, drops the connection (see writeFrame
	// for why a timer rather than a context).
	t := time.AfterFunc(authTimeout, func() { c.CloseNow() })
	stop := context.AfterFunc(ctx, func() { c.CloseNow() })
	typ, data, err := c.Read(context.Background())
	t.Stop()
	stop()
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
	return &socketVisitor{Visitor: *v, token: f.SessionToken}, 0, ""
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

// writeFrame writes one frame. Its timeout is a timer that closes the connection, as coder/websocket
// does when the context of a write ends, rather than a context: the library keeps the context of the
// last write in the connection, so an idle socket would hold a spent context and its timer.
func writeFrame(c *websocket.Conn, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	t := time.AfterFunc(writeTimeout, func() { c.CloseNow() })
	defer t.Stop()
	return c.Write(context.Background(), websocket.MessageText, data)
}

// deliverWidgetEvent writes one event to an authenticated widget socket; false means the socket is
// done (the write failed, or the event ended the session and the socket was closed).
func (a *API) deliverWidgetEvent(s *widgetConn, ev realtime.Event) bool {
	if ev.Type == chat.EventSessionEnded {
		// The event may be about an older token of this session (a login rotated it): with several
		// instances, events arrive after the response that handed out the new token, so a socket
		// already using the new one must not be ended by it — not even when the session has since
		// ended for another reason, whose own event says why.
		if d, ok := ev.Data.(chat.SessionEnded); ok && d.Token != "" && d.Token != chat.TokenFingerprint(s.token) {
			return true
		}
		// For the rest, the database decides.
		if _, err := a.chat.Recheck(a.socketCtx, s.token); err == nil {
			return true
		}
	}
	if frame, ok := widgetFrame(ev); ok {
		if err := writeFrame(s.c, frame); err != nil {
			return false
		}
	}
	if ev.Final {
		s.c.Close(closeSessionEnded, "session_ended")
		return false
	}
	return true
}
