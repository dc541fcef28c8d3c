package main

// Idle mode: what a connected, authenticated, idle widget socket costs the server in memory, beside the
// same figure for a bare coder/websocket server (the floor) measured by the same client in the same run.
//
//	parley-load -workspace ws_… -post http://127.0.0.1:8080 -idle 15000 -server-pid $(pgrep -n parley)
//
// The sessions are created first; the server's resident memory (VmRSS of /proc/PID/status) is read once
// they are and again once every socket has its "ready" frame and the server has settled, so the figure
// is the sockets' alone. The floor is this program run again as a child with -bare-serve: it accepts a
// WebSocket, reads one (auth) frame and waits, as a server that keeps sockets open can at least cost.
// Parley's sockets are closed before the floor's are opened, so the client needs one descriptor per
// socket (ulimit -n above -idle), and the server one per socket plus its own.
//
// Sockets are dialled from -sources local addresses in turn (127.0.0.1, 127.0.0.2, …): each source
// address has its own ephemeral port range (net.ipv4.ip_local_port_range, about 28,000 ports).

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

type idleOptions struct {
	sockets   int           // -idle
	serverPID int           // -server-pid
	sources   int           // local source addresses 127.0.0.1 … 127.0.0.N
	settle    time.Duration // wait after the last socket before reading the memory
	bare      bool          // measure the floor too
}

func idleFlags(fs interface {
	IntVar(*int, string, int, string)
	DurationVar(*time.Duration, string, time.Duration, string)
	BoolVar(*bool, string, bool, string)
}, o *idleOptions) {
	fs.IntVar(&o.sockets, "idle", 0, "idle mode: open this many authenticated widget sockets and report the server's memory per socket")
	fs.IntVar(&o.serverPID, "server-pid", 0, "idle mode: the server's process id, whose VmRSS is read from /proc")
	fs.IntVar(&o.sources, "sources", 8, "idle mode: dial from local addresses 127.0.0.1 … 127.0.0.N in turn")
	fs.DurationVar(&o.settle, "settle", 5*time.Second, "idle mode: wait this long after the last socket before reading the memory")
	fs.BoolVar(&o.bare, "bare", true, "idle mode: also measure a bare coder/websocket server (the floor) in the same run")
}

// rssKiB reads VmRSS of a process.
func rssKiB(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, errors.New("no VmRSS in /proc/" + strconv.Itoa(pid) + "/status")
}

// idleClient dials from the source addresses in turn.
func idleClient(sources, i int) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%max(1, sources)))}}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// openIdle opens one socket per token on wsURL, sends the auth frame and, when wantReady, waits for the
// first frame. Each socket keeps a reader so the client answers the server's pings.
func openIdle(ctx context.Context, wsURL string, tokens []string, sources int, wantReady bool) ([]*websocket.Conn, error) {
	conns := make([]*websocket.Conn, len(tokens))
	var mu sync.Mutex
	var failed error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i, tok := range tokens {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := func() error {
				c, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: idleClient(sources, i)})
				if err != nil {
					return err
				}
				conns[i] = c
				if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"auth","session_token":"`+tok+`"}`)); err != nil {
					return err
				}
				if wantReady {
					if _, data, err := c.Read(ctx); err != nil {
						return err
					} else if !strings.Contains(string(data), `"type":"ready"`) {
						return fmt.Errorf("first frame: %s", data)
					}
				}
				go func() {
					for {
						if _, _, err := c.Read(ctx); err != nil {
							return
						}
					}
				}()
				return nil
			}()
			if err != nil {
				mu.Lock()
				failed = fmt.Errorf("socket %d: %w", i, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return conns, failed
}

func closeAll(conns []*websocket.Conn) {
	for _, c := range conns {
		if c != nil {
			c.CloseNow()
		}
	}
}

// measureIdle opens the sockets and returns the server's growth in KiB.
func measureIdle(ctx context.Context, wsURL string, pid int, tokens []string, o idleOptions, wantReady bool) (before, after int64, err error) {
	time.Sleep(o.settle)
	if before, err = rssKiB(pid); err != nil {
		return 0, 0, err
	}
	conns, err := openIdle(ctx, wsURL, tokens, o.sources, wantReady)
	defer closeAll(conns)
	if err != nil {
		return 0, 0, err
	}
	time.Sleep(o.settle)
	after, err = rssKiB(pid)
	return before, after, err
}

func runIdle(ctx context.Context, base, workspace string, o idleOptions, out io.Writer) error {
	if o.serverPID == 0 {
		return errors.New("idle mode needs -server-pid")
	}
	tokens := make([]string, o.sockets)
	var mu sync.Mutex
	var failed error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range tokens {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var sess struct {
				Token string `json:"session_token"`
			}
			if err := call(ctx, idleClient(o.sources, i), base+"/v1/widget/sessions", "", map[string]string{"workspace": workspace}, &sess); err != nil {
				mu.Lock()
				failed = err
				mu.Unlock()
			}
			tokens[i] = sess.Token
		}()
	}
	wg.Wait()
	if failed != nil {
		return fmt.Errorf("sessions: %w", failed)
	}
	before, after, err := measureIdle(ctx, "ws"+strings.TrimPrefix(base, "http")+"/v1/widget/ws", o.serverPID, tokens, o, true)
	if err != nil {
		return fmt.Errorf("parley: %w", err)
	}
	perSocket := float64(after-before) / float64(o.sockets)
	fmt.Fprintf(out, "idle sockets %d: parley RSS %d → %d KiB: %.1f KiB per socket\n", o.sockets, before, after, perSocket)
	if !o.bare {
		return nil
	}
	floor, err := measureBare(ctx, tokens, o)
	if err != nil {
		return fmt.Errorf("bare server: %w", err)
	}
	fmt.Fprintf(out, "bare coder/websocket server: %.1f KiB per socket; parley/bare %.2f\n", floor, perSocket/floor)
	return nil
}

// measureBare runs this program as a bare server and measures it with the same tokens.
func measureBare(ctx context.Context, tokens []string, o idleOptions) (float64, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.CommandContext(ctx, self, "-bare-serve", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return 0, err
	}
	before, after, err := measureIdle(ctx, "ws://"+strings.TrimSpace(addr)+"/", cmd.Process.Pid, tokens, o, false)
	if err != nil {
		return 0, err
	}
	return float64(after-before) / float64(len(tokens)), nil
}

// serveBare is the floor: accept a WebSocket, read one frame, then wait for the client to go (a read
// in progress, so pings and the close are answered). It prints its address on the first line.
func serveBare(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr())
	return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		if _, _, err := c.Read(r.Context()); err != nil {
			return
		}
		for {
			if _, _, err := c.Read(r.Context()); err != nil {
				return
			}
		}
	}))
}
