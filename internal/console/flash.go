package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// flash is a one-time message shown on the page a form post redirects to.
type flash struct {
	Kind    string `json:"k"` // "ok" or "error"
	Message string `json:"m"`
}

// Error reports whether the flash tells of a failure.
func (f *flash) Error() bool { return f.Kind == "error" }

// seeOther ends a form post (Post-Redirect-Get): it redirects to a console path with a flash message.
// The flash travels in a cookie signed with the session's CSRF token, so nobody else can plant one.
func (c *Console) seeOther(w http.ResponseWriter, r *http.Request, path, kind, message string) {
	if s := signedIn(r); s != nil && message != "" {
		data, _ := json.Marshal(flash{Kind: kind, Message: message})
		payload := base64.RawURLEncoding.EncodeToString(data)
		c.setCookie(w, r, flashCookie, payload+"."+flashMAC(s.sess, payload), cookiePath, time.Minute)
	}
	http.Redirect(w, r, localPath(path), http.StatusSeeOther)
}

// failed ends a form post that a problem refused: a 404 or 403 is a page of its own (nothing to go
// back to); anything a person can fix is a flash on the page they came from.
func (c *Console) failed(w http.ResponseWriter, r *http.Request, back string, err error) {
	p, ok := fixable(err)
	if !ok {
		c.fail(w, r, err)
		return
	}
	c.seeOther(w, r, back, "error", problemSentence(p))
}

// fixable returns the problem of a refusal the person can fix by changing what they sent. Anything else
// (not found, not allowed, signed out, our own failure) is an error page of its own.
func fixable(err error) (*problem.Error, bool) {
	p, ok := problem.As(err)
	if !ok || p.Status == http.StatusNotFound || p.Status == http.StatusForbidden || p.Status == http.StatusUnauthorized || p.Status >= 500 {
		return nil, false
	}
	return p, true
}

func flashMAC(sess store.AgentSession, payload string) string {
	m := hmac.New(sha256.New, []byte("parley console flash\x00"+sess.CSRFToken))
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// takeFlash reads and clears the request's flash message.
func (c *Console) takeFlash(w http.ResponseWriter, r *http.Request, s *session) *flash {
	ck, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	c.clearCookie(w, r, flashCookie)
	payload, mac, ok := strings.Cut(ck.Value, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(flashMAC(s.sess, payload))) {
		return nil
	}
	data, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil
	}
	var f flash
	if json.Unmarshal(data, &f) != nil || f.Message == "" {
		return nil
	}
	if f.Kind != "ok" {
		f.Kind = "error"
	}
	return &f
}
