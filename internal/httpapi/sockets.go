package httpapi

import (
	"net/http"
	"sync"

	"github.com/parleyhq/parley/internal/problem"
)

// SocketLimits bound the widget WebSockets one process holds. Zero means no limit.
type SocketLimits struct {
	PerIP        int // sockets from one client address, authenticated or not
	PendingPerIP int // sockets from one client address that have not authenticated yet
	PerSession   int // sockets of one session; a new one beyond it ends the oldest (close 4409)
	Total        int // sockets of the whole process; beyond it new ones close with 1013
}

// DefaultSocketLimits allow a visitor several tabs and a household behind one address, not a script
// holding thousands of idle connections.
func DefaultSocketLimits() SocketLimits {
	return SocketLimits{PerIP: 50, PendingPerIP: 10, PerSession: 5, Total: 10000}
}

// socketTable counts the open widget sockets by address and session.
type socketTable struct {
	limits SocketLimits

	mu        sync.Mutex
	total     int
	perIP     map[string]int
	pending   map[string]int
	bySession map[string][]*socketEntry // oldest first
}

// socketEntry is one open socket. When a newer socket of its session takes its place, onReplaced is
// called (under the table's lock, so it must not block); until the socket sets it, wasReplaced
// remembers, so a socket replaced while it was still starting learns it once it is ready.
type socketEntry struct {
	ip          string
	session     string
	authed      bool
	wasReplaced bool
	onReplaced  func()
}

func newSocketTable(l SocketLimits) *socketTable {
	return &socketTable{limits: l, perIP: map[string]int{}, pending: map[string]int{}, bySession: map[string][]*socketEntry{}}
}

func tooManySockets(format string, args ...any) *problem.Error {
	return problem.New(http.StatusTooManyRequests, "too_many_connections", format, args...)
}

// open admits a socket from ip before its upgrade. overloaded reports that the process is full: the
// caller accepts and closes with 1013, so the client backs off and retries.
func (t *socketTable) open(ip string) (e *socketEntry, overloaded bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.limits
	if l.PerIP > 0 && t.perIP[ip] >= l.PerIP {
		return nil, false, tooManySockets("this address has %d live connections already; close some tabs and try again", l.PerIP)
	}
	if l.PendingPerIP > 0 && t.pending[ip] >= l.PendingPerIP {
		return nil, false, tooManySockets("this address has %d connections that have not authenticated; send the auth frame first", l.PendingPerIP)
	}
	if l.Total > 0 && t.total >= l.Total {
		return nil, true, nil
	}
	t.total++
	t.perIP[ip]++
	t.pending[ip]++
	return &socketEntry{ip: ip}, false, nil
}

// authenticated moves e to its session; beyond the session's limit the oldest of its sockets is told to
// go.
func (t *socketTable) authenticated(e *socketEntry, session string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.unpend(e)
	e.authed, e.session = true, session
	list := append(t.bySession[session], e)
	for t.limits.PerSession > 0 && len(list) > t.limits.PerSession {
		list[0].replace()
		list = list[1:]
	}
	t.bySession[session] = list
}

// replace tells e a newer socket of its session took its place; t.mu is held.
func (e *socketEntry) replace() {
	e.wasReplaced = true
	if e.onReplaced != nil {
		e.onReplaced()
	}
}

// whenReplaced has f called (at once, if it already was) when a newer socket of e's session takes its
// place. f must not block.
func (t *socketTable) whenReplaced(e *socketEntry, f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e.onReplaced = f
	if e.wasReplaced {
		f()
	}
}

func (t *socketTable) unpend(e *socketEntry) {
	if e.authed {
		return
	}
	if t.pending[e.ip]--; t.pending[e.ip] <= 0 {
		delete(t.pending, e.ip)
	}
}

// close forgets e.
func (t *socketTable) close(e *socketEntry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.unpend(e)
	e.authed = true // unpend once only
	t.total--
	if t.perIP[e.ip]--; t.perIP[e.ip] <= 0 {
		delete(t.perIP, e.ip)
	}
	if e.session == "" {
		return
	}
	list := t.bySession[e.session]
	for i, x := range list {
		if x == e {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(t.bySession, e.session)
	} else {
		t.bySession[e.session] = list
	}
}
