// Command parley-load drives live chat traffic through running Parley instances and reports throughput
// and delivery latency: visitors post messages to one set of instances over HTTP and watch their
// conversation on a WebSocket of another, so with several instances on PostgreSQL every message crosses
// the event relay.
//
//	parley-load -workspace ws_… -post http://127.0.0.1:8080 -watch http://127.0.0.1:8081 -visitors 100 -duration 20s
//
// With -typing N it also sends N typing frames during the run, spread evenly over it, from -typists
// sockets of sessions of their own (each with a conversation) on the -post instances: the customers'
// typing then travels to the other instances by the ephemeral relay while the messages are measured.
//
// With -pg-stats URL (the servers' PostgreSQL database) it also reports rows read per delivered message.
// With -idle N it measures instead what N idle authenticated widget sockets cost the server in memory,
// beside a bare WebSocket server (idle.go).
//
// Start the servers with --no-rate-limits: the load comes from one address.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

type options struct {
	workspace string
	post      []string
	watch     []string
	visitors  int
	duration  time.Duration
	interval  time.Duration
	typing    int // typing frames to send during the run
	typists   int // sockets that send them
	// pings sends {"type":"ping"} instead of typing frames: the floor, the same WebSocket traffic from
	// the same sockets without the typing path (no check, no relay), to compare a typing run against.
	pings     bool
	stats     pgStats // -pg-stats: rows read in the servers' PostgreSQL database over the run
	pageviews string  // page-view modes to run instead of messages (pageviews.go)
}

func main() {
	var o options
	var post, watch string
	flag.StringVar(&o.workspace, "workspace", "", "workspace id (required)")
	flag.StringVar(&post, "post", "http://127.0.0.1:8080", "comma-separated base URLs that receive the messages")
	flag.StringVar(&watch, "watch", "", "comma-separated base URLs whose WebSockets watch them (default: the -post ones)")
	flag.IntVar(&o.visitors, "visitors", 50, "concurrent visitors, each with a session, a socket and a conversation")
	flag.DurationVar(&o.duration, "duration", 15*time.Second, "how long to send")
	flag.DurationVar(&o.interval, "interval", 0, "pause between one visitor's messages (0: send the next once the previous is delivered)")
	flag.IntVar(&o.typing, "typing", 0, "typing frames to send during the run (0: none)")
	flag.IntVar(&o.typists, "typists", 1000, "sockets that send the typing frames, each at most one a second (the server's per-socket rate)")
	flag.BoolVar(&o.pings, "typing-pings", false, "send pings instead of typing frames, as a floor to compare with (same sockets, same rate)")
	flag.StringVar(&o.stats.url, "pg-stats", "", "PostgreSQL URL of the servers' database: report rows read (pg_stat_database) per delivered message")
	o.stats.settle = pgStatsSettle
	flag.StringVar(&o.pageviews, "pageviews", "", "comma-separated page-view modes to measure instead of messages: "+strings.Join(pageviewModes, ", "))
	var idle idleOptions
	idleFlags(flag.CommandLine, &idle)
	bareServe := flag.String("bare-serve", "", "serve the idle mode's floor, a bare WebSocket server, on this address (see idle.go)")
	flag.Parse()
	if *bareServe != "" {
		fmt.Fprintln(os.Stderr, "parley-load:", serveBare(*bareServe))
		os.Exit(1)
	}
	o.post = strings.Split(post, ",")
	o.watch = o.post
	if watch != "" {
		o.watch = strings.Split(watch, ",")
	}
	if o.workspace == "" || o.visitors <= 0 {
		fmt.Fprintln(os.Stderr, "parley-load: -workspace is required and -visitors must be positive")
		os.Exit(2)
	}
	runner := run
	if o.pageviews != "" {
		runner = func(ctx context.Context, o options, out io.Writer) error {
			return runPageviews(ctx, o, o.pageviews, out)
		}
	}
	if idle.sockets > 0 {
		runner = func(ctx context.Context, o options, out io.Writer) error {
			return runIdle(ctx, o.post[0], o.workspace, idle, out)
		}
	}
	if err := runner(context.Background(), o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "parley-load:", err)
		os.Exit(1)
	}
}

// result is what one visitor measured.
type result struct {
	latencies []time.Duration // POST sent → message event on the socket
	errors    int
}

func run(ctx context.Context, o options, out io.Writer) error {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.visitors}}
	results := make([]result, o.visitors)
	var ready sync.WaitGroup
	start := make(chan struct{})
	var setupErr atomic.Value
	var wg sync.WaitGroup
	for i := range o.visitors {
		ready.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := visitor(ctx, o, i, client, &ready, start, &results[i]); err != nil {
				setupErr.CompareAndSwap(nil, err)
			}
		}()
	}
	var typed typingResult
	if o.typing > 0 && o.typists > 0 {
		ready.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := typists(ctx, o, client, &ready, start, &typed); err != nil {
				setupErr.CompareAndSwap(nil, err)
			}
		}()
	}
	ready.Wait()
	if err, _ := setupErr.Load().(error); err != nil {
		return err
	}
	if err := o.stats.start(ctx); err != nil {
		return err
	}
	began := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(began)

	var all []time.Duration
	errs := 0
	for _, r := range results {
		all = append(all, r.latencies...)
		errs += r.errors
	}
	if len(all) == 0 {
		return errors.New("no message was delivered")
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration { return all[min(len(all)-1, int(float64(len(all))*p))] }
	fmt.Fprintf(out, "visitors %d, post %s, watch %s, %v\n", o.visitors, strings.Join(o.post, ","), strings.Join(o.watch, ","), elapsed.Round(time.Millisecond))
	fmt.Fprintf(out, "delivered %d messages: %.0f msgs/s; errors %d\n", len(all), float64(len(all))/elapsed.Seconds(), errs)
	fmt.Fprintf(out, "POST → socket latency: p50 %v  p90 %v  p99 %v  max %v\n",
		pct(0.50).Round(10*time.Microsecond), pct(0.90).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), all[len(all)-1].Round(10*time.Microsecond))
	if o.typing > 0 {
		kind := "typing"
		if o.pings {
			kind = "pings instead of typing"
		}
		fmt.Fprintf(out, "%s: sent %d frames from %d sockets (%.0f frames/s); refused %d\n", kind,
			typed.sent.Load(), o.typists, float64(typed.sent.Load())/elapsed.Seconds(), typed.refused.Load())
	}
	return o.stats.report(ctx, out, len(all))
}

type typingResult struct {
	sent, refused atomic.Int64
}

// typists opens the typing sockets, each with a session and a conversation of its own, and once the
// run starts sends o.typing frames from them, spread evenly over the duration (start and stop in turn).
func typists(ctx context.Context, o options, client *http.Client, ready *sync.WaitGroup, start <-chan struct{}, res *typingResult) error {
	perSocket := max(1, o.typing/o.typists)
	type typist struct {
		conn *websocket.Conn
		conv string
	}
	all := make([]typist, o.typists)
	setup := func(i int) error {
		base := o.post[i%len(o.post)]
		var sess struct {
			Token string `json:"session_token"`
		}
		if err := call(ctx, client, base+"/v1/widget/sessions", "", map[string]string{"workspace": o.workspace}, &sess); err != nil {
			return err
		}
		var posted struct {
			Message struct {
				ConversationID string `json:"conversation_id"`
			} `json:"message"`
		}
		if err := call(ctx, client, base+"/v1/widget/messages", sess.Token, map[string]string{"body": "typist", "client_id": "typist"}, &posted); err != nil {
			return err
		}
		conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/v1/widget/ws", nil)
		if err != nil {
			return err
		}
		if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"auth","session_token":"`+sess.Token+`"}`)); err != nil {
			return err
		}
		if _, _, err := conn.Read(ctx); err != nil {
			return err
		}
		go func() { // refusals come back as error frames
			for {
				_, data, err := conn.Read(ctx)
				if err != nil {
					return
				}
				if bytes.Contains(data, []byte(`"type":"error"`)) {
					res.refused.Add(1)
				}
			}
		}()
		all[i] = typist{conn: conn, conv: posted.Message.ConversationID}
		return nil
	}
	var failed error
	var mu sync.Mutex
	var sw sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range all {
		sw.Add(1)
		sem <- struct{}{}
		go func() {
			defer sw.Done()
			defer func() { <-sem }()
			if err := setup(i); err != nil {
				mu.Lock()
				failed = err
				mu.Unlock()
			}
		}()
	}
	sw.Wait()
	defer func() {
		for _, t := range all {
			if t.conn != nil {
				t.conn.CloseNow()
			}
		}
	}()
	ready.Done()
	if failed != nil {
		return fmt.Errorf("typists: %w", failed)
	}
	<-start
	every := o.duration / time.Duration(perSocket)
	var tw sync.WaitGroup
	for i, t := range all {
		tw.Add(1)
		go func() {
			defer tw.Done()
			// Offset each socket within the interval, so the frames arrive evenly rather than in waves.
			time.Sleep(every * time.Duration(i) / time.Duration(len(all)))
			for n := range perSocket {
				state := "start"
				if n%2 == 1 {
					state = "stop"
				}
				frame := `{"type":"typing","conversation_id":"` + t.conv + `","state":"` + state + `"}`
				if o.pings {
					frame = `{"type":"ping"}`
				}
				if t.conn.Write(ctx, websocket.MessageText, []byte(frame)) == nil {
					res.sent.Add(1)
				}
				time.Sleep(every)
			}
		}()
	}
	tw.Wait()
	return nil
}

// visitor creates a session, watches it on a socket, and sends messages until the duration is over,
// each after the previous one was delivered (a closed loop), measuring each delivery.
func visitor(ctx context.Context, o options, i int, client *http.Client, ready *sync.WaitGroup, start <-chan struct{}, res *result) error {
	postURL, watchURL := o.post[i%len(o.post)], o.watch[(i+1)%len(o.watch)]
	var sess struct {
		Token string `json:"session_token"`
	}
	if err := call(ctx, client, postURL+"/v1/widget/sessions", "", map[string]string{"workspace": o.workspace}, &sess); err != nil {
		ready.Done()
		return err
	}
	wsURL := "ws" + strings.TrimPrefix(watchURL, "http") + "/v1/widget/ws"
	conn, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		ready.Done()
		return fmt.Errorf("dial %s: %w", wsURL, err)
	}
	defer conn.CloseNow()
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"auth","session_token":"`+sess.Token+`"}`)); err != nil {
		ready.Done()
		return err
	}
	if _, _, err := conn.Read(ctx); err != nil { // ready
		ready.Done()
		return err
	}
	// Deliveries, by body, from the socket's reader.
	delivered := make(chan string, 64)
	go func() {
		for {
			_, data, err := conn.Read(ctx)
			if err != nil {
				close(delivered)
				return
			}
			var f struct {
				Type    string `json:"type"`
				Message struct {
					Body string `json:"body"`
				} `json:"message"`
			}
			if json.Unmarshal(data, &f) == nil && f.Type == "message" {
				delivered <- f.Message.Body
			}
		}
	}()
	ready.Done()
	<-start
	deadline := time.Now().Add(o.duration)
	for n := 0; time.Now().Before(deadline); n++ {
		body := fmt.Sprintf("v%d-m%d", i, n)
		sent := time.Now()
		var m map[string]any
		if err := call(ctx, client, postURL+"/v1/widget/messages", sess.Token, map[string]string{"body": body, "client_id": body}, &m); err != nil {
			res.errors++
			continue
		}
		timeout := time.After(10 * time.Second)
	wait:
		for {
			select {
			case got, ok := <-delivered:
				if !ok {
					return errors.New("socket closed")
				}
				if got == body {
					res.latencies = append(res.latencies, time.Since(sent))
					break wait
				}
			case <-timeout:
				res.errors++
				break wait
			}
		}
		if o.interval > 0 {
			time.Sleep(o.interval)
		}
	}
	return nil
}

func call(ctx context.Context, client *http.Client, url, token string, body, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("POST %s: %d %s", url, res.StatusCode, b)
	}
	return json.NewDecoder(res.Body).Decode(out)
}
