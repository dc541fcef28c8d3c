// Package demo is `parley serve --demo`: a small business website with the chat widget and a fake
// sign-in whose back end signs real login tokens with the demo workspace's key, so a person can see the
// whole identity story — anonymous chat, signing in mid-conversation, signing out, switching users.
// The shop remembers who signed in with a cookie of its own and gives the widget a token provider
// (Parley.setTokenProvider), the recommended integration.
package demo

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

//go:embed site
var site embed.FS

// Setup is what the demo created on its first run, remembered in a file in the data folder.
type Setup struct {
	WorkspaceID   string `json:"workspace_id"`
	KeyID         string `json:"key_id"`
	Secret        string `json:"secret"`
	AgentID       string `json:"agent_id"`
	AgentEmail    string `json:"agent_email"`
	AgentPassword string `json:"agent_password"`
}

// AgentCreator makes the demo's agent and returns its id.
type AgentCreator interface {
	CreateAgent(ctx context.Context, workspaceID, email, name, role, password string) (string, error)
}

// Ensure returns the demo setup stored at path, creating the workspace, key and agent on the first run.
// baseURL (e.g. http://127.0.0.1:8080) is where the demo site is served; the workspace's login link
// points there.
func Ensure(ctx context.Context, svc *chat.Service, agents AgentCreator, path, baseURL string) (Setup, bool, error) {
	var s Setup
	created := false
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &s); err != nil {
			return s, false, fmt.Errorf("demo: read %s: %w", path, err)
		}
	case errors.Is(err, os.ErrNotExist):
		if s, err = create(ctx, svc, agents); err != nil {
			return s, false, err
		}
		data, _ := json.MarshalIndent(s, "", "  ")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return s, false, fmt.Errorf("demo: remember setup: %w", err)
		}
		created = true
	default:
		return s, false, fmt.Errorf("demo: %w", err)
	}
	// The address may differ from the last run; keep the login link pointing at this one.
	login := strings.TrimRight(baseURL, "/") + "/#signin"
	if _, err := svc.UpdateWorkspace(ctx, s.WorkspaceID, chat.SettingsPatch{LoginURL: &login}); err != nil {
		return s, false, fmt.Errorf("demo: update workspace: %w", err)
	}
	return s, created, nil
}

func create(ctx context.Context, svc *chat.Service, agents AgentCreator) (Setup, error) {
	ws, err := svc.CreateWorkspace(ctx, "Acme Outfitters")
	if err != nil {
		return Setup{}, err
	}
	first := "Welcome to Acme Outfitters! Ask us anything. Sign in first if it is about an order, so we know it is you."
	if _, err := svc.UpdateWorkspace(ctx, ws.ID, chat.SettingsPatch{FirstMessage: &first}); err != nil {
		return Setup{}, err
	}
	key, err := svc.CreateKey(ctx, ws.ID, identity.HS256)
	if err != nil {
		return Setup{}, err
	}
	s := Setup{WorkspaceID: ws.ID, KeyID: key.ID, Secret: key.Secret}
	if agents != nil {
		s.AgentEmail = "agent@acme.example"
		s.AgentPassword = randomPassword()
		if s.AgentID, err = agents.CreateAgent(ctx, ws.ID, s.AgentEmail, "Sam from Acme", "admin", s.AgentPassword); err != nil {
			return Setup{}, fmt.Errorf("demo: create agent: %w", err)
		}
	}
	return s, nil
}

func randomPassword() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// Handler serves the demo site at /, its files at /demo/, and the fake back end's sign-in.
func Handler(s Setup) (http.Handler, error) {
	page, err := template.ParseFS(site, "site/index.html")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		secure(w)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store") // the page names who is signed in
		_ = page.Execute(w, map[string]any{"Workspace": s.WorkspaceID, "Agent": s.AgentEmail, "User": signedIn(r, s)})
	})
	mux.HandleFunc("GET /demo/{file}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("file")
		types := map[string]string{"demo.js": "text/javascript; charset=utf-8", "demo.css": "text/css; charset=utf-8"}
		if types[name] == "" {
			http.NotFound(w, r)
			return
		}
		data, err := site.ReadFile("site/" + name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		secure(w)
		w.Header().Set("Content-Type", types[name])
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(data)
	})
	mux.HandleFunc("POST /demo/signin", func(w http.ResponseWriter, r *http.Request) { signIn(w, r, s) })
	mux.HandleFunc("POST /demo/token", func(w http.ResponseWriter, r *http.Request) { token(w, r, s) })
	mux.HandleFunc("POST /demo/signout", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: userCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		w.WriteHeader(http.StatusNoContent)
	})
	return mux, nil
}

// User is who is signed in to the shop: ID is the shop's own user id, the login token's sub.
type User struct {
	ID    string `json:"user"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// userCookie remembers the shop's signed-in user, HMAC-signed with the demo key's secret (the shop
// vouches for whoever signs in, but only it may say who that is).
const userCookie = "acme_user"

func userCookieValue(u User, s Setup) string {
	data, _ := json.Marshal(u)
	payload := base64.RawURLEncoding.EncodeToString(data)
	return payload + "." + base64.RawURLEncoding.EncodeToString(cookieMAC(payload, s))
}

func cookieMAC(payload string, s Setup) []byte {
	m := hmac.New(sha256.New, []byte("acme-demo-user:"+s.Secret))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// signedIn returns the shop's signed-in user, or nil.
func signedIn(r *http.Request, s Setup) *User {
	c, err := r.Cookie(userCookie)
	if err != nil {
		return nil
	}
	payload, mac, ok := strings.Cut(c.Value, ".")
	sum, err := base64.RawURLEncoding.DecodeString(mac)
	if !ok || err != nil || !hmac.Equal(sum, cookieMAC(payload, s)) {
		return nil
	}
	data, err := base64.RawURLEncoding.DecodeString(payload)
	var u User
	if err != nil || json.Unmarshal(data, &u) != nil || u.ID == "" {
		return nil
	}
	return &u
}

// secure sets a strict policy: the demo page runs only its own files and the widget from the same origin
// (whose attachments show through blob: URLs).
func secure(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data: blob:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// signIn is the fake shop's sign-in: it accepts anyone, remembers them in the shop's cookie and answers
// with who they are; the page then tells the widget (setTokenProvider with the new user).
func signIn(w http.ResponseWriter, r *http.Request, s Setup) {
	fail := func(status int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "invalid_field", "message": msg}})
	}
	var in struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&in); err != nil {
		fail(http.StatusBadRequest, "send a JSON object with name and email")
		return
	}
	email, err := identity.CanonicalEmail(in.Email)
	if err != nil {
		fail(http.StatusUnprocessableEntity, "email "+err.Error())
		return
	}
	name := strings.TrimSpace(in.Name)
	if name == "" || len(name) > 200 {
		fail(http.StatusUnprocessableEntity, "enter a name")
		return
	}
	u := User{ID: "acme-" + email, Name: name, Email: email} // the shop's own user id
	http.SetCookie(w, &http.Cookie{Name: userCookie, Value: userCookieValue(u, s), Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(u)
}

// token is the shop's token endpoint, which the widget's token provider calls: a five-minute, single-use
// login token for the signed-in user, the way a real site signs one; {"token": null} when nobody is.
func token(w http.ResponseWriter, r *http.Request, s Setup) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	u := signedIn(r, s)
	if u == nil {
		_, _ = w.Write([]byte(`{"token":null}` + "\n"))
		return
	}
	now := time.Now()
	jti := make([]byte, 12)
	_, _ = rand.Read(jti)
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub":   u.ID,
		"email": u.Email,
		"name":  u.Name,
		"aud":   s.WorkspaceID,
		"jti":   base64.RawURLEncoding.EncodeToString(jti),
		"iat":   now.Unix(),
		"exp":   now.Add(5 * time.Minute).Unix(),
	})
	tok.Header["kid"] = s.KeyID
	signed, err := tok.SignedString([]byte(s.Secret))
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error":{"code":"internal_error","message":"could not sign the token"}}` + "\n"))
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"token": signed})
}

// Subscriber is the part of the realtime hub the greeter needs.
type Subscriber interface {
	Subscribe(buffer int, topics ...string) *realtime.Subscription
}

// greeting is what the demo agent says when a conversation starts, so a visitor sees an agent's message
// arrive live (and the unread badge) before anyone has opened the console.
const greeting = "Hi! Sam from Acme here. I will be with you in a moment."

// Greet makes the demo agent greet every new conversation of the demo workspace, about a second after it
// starts, until ctx ends.
func Greet(ctx context.Context, svc *chat.Service, events Subscriber, s Setup, log *slog.Logger) {
	if s.AgentID == "" {
		return
	}
	sub := events.Subscribe(64, chat.WorkspaceTopic(s.WorkspaceID))
	defer sub.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sub.Done():
			// Too slow or shutting down: subscribe again unless the server is stopping.
			if ctx.Err() != nil {
				return
			}
			sub = events.Subscribe(64, chat.WorkspaceTopic(s.WorkspaceID))
		case ev := <-sub.Events():
			e, ok := ev.Data.(store.Event)
			if !ok || e.Type != "started" {
				continue
			}
			go func(conversationID string) {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
				// The client id makes the greeting idempotent should the event ever arrive twice.
				_, _, err := svc.PostAgentMessage(ctx, s.WorkspaceID, s.AgentID, conversationID, greeting, "demo-greeting-"+conversationID)
				if err != nil && ctx.Err() == nil {
					log.Warn("demo greeting", "conversation", conversationID, "err", err)
				}
			}(e.ConversationID)
		}
	}
}
