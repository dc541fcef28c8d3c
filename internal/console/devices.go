package console

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/store"
)

// A known device is a browser that signed in to an account before. It carries a cookie saying so,
// sealed with the server's master key (AES-GCM, package seal) under a label naming the account, so it
// can be neither forged nor moved to another account, and it holds the agent's id, so it dies with the
// agent. Its attempts pass the account's failure throttles, which a stranger can fill on purpose, and
// count against the device's own budget instead.
const (
	deviceCookie   = "parley_console_device"
	deviceLifetime = 180 * 24 * time.Hour
	// maxDeviceCookie bounds what is opened: a sealed id, agent id and time are far smaller.
	maxDeviceCookie = 512
)

// device is what a known-device cookie holds.
type device struct {
	ID      string // random; the key of the device's failure budget
	AgentID string
	Issued  time.Time
}

func deviceLabel(account string) string { return "parley console known device\n" + account }

// accountKey is the throttle key of a sign-in email: its canonical form, so that case and surrounding
// space do not make a new account; something no account can have when it is not an email at all.
func accountKey(email string) string {
	if canon, err := identity.CanonicalEmail(email); err == nil {
		return canon
	}
	email = strings.ToLower(strings.TrimSpace(email))
	if len(email) > 320 {
		email = email[:320]
	}
	return "invalid:" + email
}

// addrKey is the throttle key of a client address: an IPv6 client is its /64, which one subscriber
// usually holds whole.
func addrKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.WithZone("").Prefix(64)
		return p.String()
	}
	return a.String()
}

// knownDevice returns the request's known device for account, if its cookie is valid for it.
func (c *Console) knownDevice(r *http.Request, account string) (device, bool) {
	ck, err := r.Cookie(deviceCookie)
	if err != nil || ck.Value == "" || len(ck.Value) > maxDeviceCookie {
		return device{}, false
	}
	sealed, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil {
		return device{}, false
	}
	plain, err := c.devices.Open(sealed, deviceLabel(account))
	if err != nil {
		return device{}, false
	}
	parts := bytes.Split(plain, []byte{'\n'})
	if len(parts) != 3 {
		return device{}, false
	}
	secs, err := strconv.ParseInt(string(parts[2]), 10, 64)
	if err != nil {
		return device{}, false
	}
	d := device{ID: string(parts[0]), AgentID: string(parts[1]), Issued: time.Unix(secs, 0)}
	if d.ID == "" || c.now().Sub(d.Issued) > deviceLifetime {
		return device{}, false
	}
	// The account must still be the agent's that signed in on this browser.
	a, err := c.chat.Store().AgentByEmail(r.Context(), account)
	if err != nil || a.ID != d.AgentID {
		return device{}, false
	}
	return d, true
}

// rememberDevice sets the known-device cookie after a successful sign-in, keeping the browser's device
// id when it had one for this account, so its budget stays its own.
func (c *Console) rememberDevice(w http.ResponseWriter, r *http.Request, a store.Agent, known device, ok bool) {
	id := known.ID
	if !ok || known.AgentID != a.ID {
		id = randomString()[:22] // 128 bits
	}
	plain := id + "\n" + a.ID + "\n" + strconv.FormatInt(c.now().Unix(), 10)
	value := base64.RawURLEncoding.EncodeToString(c.devices.Seal([]byte(plain), deviceLabel(accountKey(a.Email))))
	// Sent to the sign-in form's handler only: nothing else needs it.
	c.setCookie(w, r, deviceCookie, value, loginPath, deviceLifetime)
}
