package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Page views: -pageviews replays what the widget does on one page view of a visitor who does not open
// the chat, with -visitors concurrent clients for -duration each, and reports page views per second and
// latency beside a floor measured by the same clients just before each mode (GET /healthz, one request).
//
//	parley-load -workspace ws_… -post http://127.0.0.1:8080 -pageviews new,returning,returning-open,new-old,returning-old
//
// Modes:
//   - new: a visitor without a stored session: GET /v1/widget/config (the widget today).
//   - returning: a visitor with a stored session: GET /v1/widget/session (the widget today).
//   - returning-open: a visitor whose stored session has an open conversation: GET /v1/widget/session
//     and the WebSocket to its ready frame, kept for the answer (the widget today), closed when the page goes.
//   - new-old, returning-old: the widget before page views were made cheap: POST /v1/widget/sessions
//     (new) or GET /v1/widget/session, GET /v1/widget/conversations twice, and a WebSocket authenticated
//     to its ready frame, closed when the page goes.
var pageviewModes = []string{"new", "returning", "returning-open", "new-old", "returning-old"}

// pageviewStats is one timed phase.
type pageviewStats struct {
	views     int
	errors    int
	latencies []time.Duration
	elapsed   time.Duration
}

func (s pageviewStats) rate() float64 { return float64(s.views) / s.elapsed.Seconds() }

func (s pageviewStats) quantile(q float64) time.Duration {
	if len(s.latencies) == 0 {
		return 0
	}
	return s.latencies[min(len(s.latencies)-1, int(q*float64(len(s.latencies))))]
}

func runPageviews(ctx context.Context, o options, modes string, out io.Writer) error {
	for _, m := range strings.Split(modes, ",") {
		if !slices.Contains(pageviewModes, m) {
			return fmt.Errorf("-pageviews: unknown mode %q (modes: %s)", m, strings.Join(pageviewModes, ", "))
		}
	}
	base := strings.TrimRight(o.post[0], "/")
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.visitors}}
	pv := &pageviewer{client: client, base: base, workspace: o.workspace}
	// Returning visitors each have a stored session, made before the timed phases; with returning-open
	// a second one, with an open conversation.
	tokens := make([]string, o.visitors)
	open := make([]string, o.visitors)
	for i := range tokens {
		t, err := pv.newSession(ctx)
		if err != nil {
			return fmt.Errorf("setting up returning visitors: %w", err)
		}
		tokens[i] = t
		if !slices.Contains(strings.Split(modes, ","), "returning-open") {
			continue
		}
		if open[i], err = pv.newSession(ctx); err == nil {
			err = pv.post(ctx, "/v1/widget/messages", open[i], map[string]string{"body": "hello"})
		}
		if err != nil {
			return fmt.Errorf("setting up returning visitors with a conversation: %w", err)
		}
	}
	fmt.Fprintf(out, "page views: %d concurrent clients, %s per phase, against %s\n", o.visitors, o.duration, base)
	// Each mode is measured right after its own floor: on a shared machine the load from elsewhere drifts
	// within a run, and the ratio is only fair against a floor taken at the same moment.
	for _, m := range strings.Split(modes, ",") {
		floor, err := pv.phase(ctx, o, tokens, "floor")
		if err != nil {
			return err
		}
		given := tokens
		if m == "returning-open" {
			given = open
		}
		s, err := pv.phase(ctx, o, given, m)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-14s %9.0f page views/s  p50 %-9s p99 %-9s errors %d  floor /healthz %.0f /s p50 %s p99 %s  (%.2f of the floor)\n",
			m, s.rate(), s.quantile(0.5).Round(10*time.Microsecond), s.quantile(0.99).Round(10*time.Microsecond), s.errors,
			floor.rate(), floor.quantile(0.5).Round(10*time.Microsecond), floor.quantile(0.99).Round(10*time.Microsecond), s.rate()/floor.rate())
	}
	return nil
}

type pageviewer struct {
	client    *http.Client
	base      string
	workspace string
}

// phase runs one mode with every client for the duration.
func (pv *pageviewer) phase(ctx context.Context, o options, tokens []string, mode string) (pageviewStats, error) {
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var mu sync.Mutex
	var total pageviewStats
	var wg sync.WaitGroup
	start := time.Now()
	for i := range o.visitors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine pageviewStats
			for ctx.Err() == nil {
				t0 := time.Now()
				err := pv.view(ctx, mode, tokens[i])
				if ctx.Err() != nil {
					break // the phase ended mid-view: not counted
				}
				if err != nil {
					mine.errors++
					continue
				}
				mine.views++
				mine.latencies = append(mine.latencies, time.Since(t0))
			}
			mu.Lock()
			total.views += mine.views
			total.errors += mine.errors
			total.latencies = append(total.latencies, mine.latencies...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	total.elapsed = time.Since(start)
	slices.Sort(total.latencies)
	if total.views == 0 {
		return total, fmt.Errorf("%s: no page view succeeded (%d errors)", mode, total.errors)
	}
	return total, nil
}

// view is one page view of mode; token is the client's stored session for returning visitors.
func (pv *pageviewer) view(ctx context.Context, mode, token string) error {
	switch mode {
	case "floor":
		return pv.get(ctx, "/healthz", "", nil)
	case "new":
		return pv.get(ctx, "/v1/widget/config?workspace="+pv.workspace, "", nil)
	case "returning":
		return pv.get(ctx, "/v1/widget/session", token, nil)
	case "returning-open":
		if err := pv.get(ctx, "/v1/widget/session", token, nil); err != nil {
			return err
		}
		return pv.socket(ctx, token)
	case "new-old", "returning-old":
		if mode == "new-old" {
			t, err := pv.newSession(ctx)
			if err != nil {
				return err
			}
			token = t
		} else if err := pv.get(ctx, "/v1/widget/session", token, nil); err != nil {
			return err
		}
		for range 2 {
			if err := pv.get(ctx, "/v1/widget/conversations", token, nil); err != nil {
				return err
			}
		}
		return pv.socket(ctx, token)
	}
	return fmt.Errorf("unknown mode %q", mode)
}

func (pv *pageviewer) get(ctx context.Context, path, token string, into any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", pv.base+path, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return pv.do(req, into)
}

func (pv *pageviewer) do(req *http.Request, into any) error {
	res, err := pv.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", req.Method, req.URL.Path, res.StatusCode, body)
	}
	if into != nil {
		return json.Unmarshal(body, into)
	}
	return nil
}

func (pv *pageviewer) post(ctx context.Context, path, token string, body any) error {
	data, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, "POST", pv.base+path, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	return pv.do(req, nil)
}

func (pv *pageviewer) newSession(ctx context.Context) (string, error) {
	body, _ := json.Marshal(map[string]string{"workspace": pv.workspace})
	req, err := http.NewRequestWithContext(ctx, "POST", pv.base+"/v1/widget/sessions", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	var out struct {
		Token string `json:"session_token"`
	}
	if err := pv.do(req, &out); err != nil {
		return "", err
	}
	return out.Token, nil
}

// socket opens the widget's WebSocket, authenticates and waits for ready, then closes it as a page
// that goes away does.
func (pv *pageviewer) socket(ctx context.Context, token string) error {
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(pv.base, "http")+"/v1/widget/ws", &websocket.DialOptions{HTTPClient: pv.client})
	if err != nil {
		return err
	}
	defer c.CloseNow()
	auth, _ := json.Marshal(map[string]string{"type": "auth", "session_token": token})
	if err := c.Write(ctx, websocket.MessageText, auth); err != nil {
		return err
	}
	_, data, err := c.Read(ctx)
	if err != nil {
		return err
	}
	var f struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(data, &f) != nil || f.Type != "ready" {
		return fmt.Errorf("socket: first frame %q, want ready", data)
	}
	return c.Close(websocket.StatusGoingAway, "page closed")
}
