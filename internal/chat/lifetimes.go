package chat

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// Session lifetimes. A widget session ends when it has been idle for longer than its level's idle
// timeout, and a verified one also a fixed time after its login, however busy it is: on a shared
// computer, the previous customer's chats must not stay a click away forever.
//
// Boundaries: a session is expired from the instant its limit is reached. Idle for exactly the idle
// timeout is expired; verified_at + lifetime (the expires_at the API shows) is the first expired
// instant, as a token's exp is.
//
// Idle means no HTTP call and no socket connection (authentication) for that long. Socket pings do not
// count: a tab left open must still expire. Recording activity costs a write, so LastSeenAt is written
// at most once per touchInterval per session, and the idle timer may run up to that much early.
const (
	DefaultVerifiedIdleTimeout = 12 * time.Hour
	DefaultVerifiedLifetime    = 7 * 24 * time.Hour
	DefaultVisitorIdleTimeout  = 30 * 24 * time.Hour

	MinVerifiedIdleTimeout = time.Minute
	MaxVerifiedIdleTimeout = 30 * 24 * time.Hour
	MinVerifiedLifetime    = 5 * time.Minute
	MaxVerifiedLifetime    = 365 * 24 * time.Hour
	MinVisitorIdleTimeout  = time.Hour
	MaxVisitorIdleTimeout  = 365 * 24 * time.Hour

	// touchInterval is how stale a session's LastSeenAt may get before a use rewrites it.
	touchInterval = time.Minute
)

// VerifiedIdleTimeout is how long a verified session may stay unused, applying the default.
func VerifiedIdleTimeout(s store.Settings) time.Duration {
	return orDefault(s.VerifiedIdleTimeout, DefaultVerifiedIdleTimeout)
}

// VerifiedLifetime is how long after its login a verified session ends, applying the default.
func VerifiedLifetime(s store.Settings) time.Duration {
	return orDefault(s.VerifiedLifetime, DefaultVerifiedLifetime)
}

// VisitorIdleTimeout is how long an anonymous or identified session may stay unused, applying the
// default.
func VisitorIdleTimeout(s store.Settings) time.Duration {
	return orDefault(s.VisitorIdleTimeout, DefaultVisitorIdleTimeout)
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// IdleTimeout is the idle timeout that applies to a session of that level.
func IdleTimeout(s store.Settings, level string) time.Duration {
	if level == store.LevelVerified {
		return VerifiedIdleTimeout(s)
	}
	return VisitorIdleTimeout(s)
}

// Lifetime is what a client is told about its session's end.
type Lifetime struct {
	// ExpiresAt is the absolute end of a verified session (its login + the verified lifetime); zero for
	// anonymous and identified sessions, which only end when idle.
	ExpiresAt   time.Time
	IdleTimeout time.Duration
}

// Lifetime returns the visitor's session lifetime under its workspace's settings.
func (v *Visitor) Lifetime() Lifetime {
	l := Lifetime{IdleTimeout: IdleTimeout(v.Workspace.Settings, v.Session.Level)}
	if v.Session.Level == store.LevelVerified {
		l.ExpiresAt = v.Session.VerifiedAt.Add(VerifiedLifetime(v.Workspace.Settings))
	}
	return l
}

// expiry says why a session has expired at now, or "" while it has not.
func expiry(sess store.Session, st store.Settings, now time.Time) string {
	if sess.Level == store.LevelVerified && !now.Before(sess.VerifiedAt.Add(VerifiedLifetime(st))) {
		return "lifetime"
	}
	if !now.Before(sess.LastSeenAt.Add(IdleTimeout(st, sess.Level))) {
		return "idle"
	}
	return ""
}

// expiredError is the session_invalid problem of an expired session; EndReason tells it apart.
type expiredError struct{ p *problem.Error }

func (e *expiredError) Error() string { return e.p.Error() }
func (e *expiredError) Unwrap() error { return e.p }

func sessionExpired(why string, st store.Settings, level string) error {
	msg := "this session expired: it was not used for " + formatDuration(IdleTimeout(st, level)) +
		", the workspace's idle timeout; create a new session with POST /v1/widget/sessions"
	if why == "lifetime" {
		msg = "this session expired: a verified session lasts " + formatDuration(VerifiedLifetime(st)) +
			" after its login, the workspace's verified lifetime; log in again, or create a new session with POST /v1/widget/sessions"
	}
	return &expiredError{problem.New(http.StatusUnauthorized, "session_invalid", "%s", msg)}
}

// EndReason returns the session_ended reason for a session that Authenticate or Recheck refused:
// ReasonExpired when it expired, ReasonRevoked otherwise.
func EndReason(err error) string {
	var e *expiredError
	if errors.As(err, &e) {
		return ReasonExpired
	}
	return ReasonRevoked
}

// touch records activity on the session when its LastSeenAt is older than touchInterval. A failure
// only costs the idle timer that minute's activity, so it is logged, not returned.
//
// The cached session (authcache.go) learns the new LastSeenAt when the write happened. When it did not
// (the stored value was recent already: another instance or process recorded a use, or the session
// just ended), the cached one is older than the stored one and would ask for a write on every use:
// it is dropped, and the next use reads the stored one.
func (s *Service) touch(ctx context.Context, sess *store.Session, now time.Time) {
	if now.Sub(sess.LastSeenAt) < touchInterval {
		return
	}
	var wrote bool
	err := s.store.Update(ctx, func(tx store.Tx) error {
		var err error
		wrote, err = tx.TouchSession(ctx, sess.ID, now, now.Add(-touchInterval))
		return err
	})
	if err != nil {
		s.auth.drop(sess.TokenHash)
		if ctx.Err() == nil {
			s.log.Warn("record session activity", "session", sess.ID, "err", err)
		}
		return
	}
	if wrote {
		s.auth.seen(sess.TokenHash, now)
	} else {
		s.auth.drop(sess.TokenHash)
	}
	sess.LastSeenAt = now
}

// formatDuration writes a lifetime the way people set it: "12h", "7d", "90m", "1d12h".
func formatDuration(d time.Duration) string {
	if d <= 0 || d%time.Minute != 0 {
		return d.String()
	}
	days, rest := d/(24*time.Hour), d%(24*time.Hour)
	out := ""
	if days > 0 {
		out = strconv.FormatInt(int64(days), 10) + "d"
	}
	if h := rest / time.Hour; h > 0 {
		out += strconv.FormatInt(int64(h), 10) + "h"
	}
	if m := (rest % time.Hour) / time.Minute; m > 0 {
		out += strconv.FormatInt(int64(m), 10) + "m"
	}
	return out
}

// applyLifetimes validates and applies the session lifetime settings of a patch. Zero restores a
// default. The verified lifetime may not be shorter than the verified idle timeout.
func applyLifetimes(st *store.Settings, p SettingsPatch) error {
	check := func(field string, d *time.Duration, min, max time.Duration, dst *time.Duration) error {
		if d == nil {
			return nil
		}
		if *d != 0 && (*d < min || *d > max) {
			return problem.InvalidField(field, "must be between %s and %s (or 0 for the default)", formatDuration(min), formatDuration(max))
		}
		*dst = *d
		return nil
	}
	if err := check("verified_idle_timeout", p.VerifiedIdleTimeout, MinVerifiedIdleTimeout, MaxVerifiedIdleTimeout, &st.VerifiedIdleTimeout); err != nil {
		return err
	}
	if err := check("verified_lifetime", p.VerifiedLifetime, MinVerifiedLifetime, MaxVerifiedLifetime, &st.VerifiedLifetime); err != nil {
		return err
	}
	if err := check("visitor_idle_timeout", p.VisitorIdleTimeout, MinVisitorIdleTimeout, MaxVisitorIdleTimeout, &st.VisitorIdleTimeout); err != nil {
		return err
	}
	if err := check("console_idle_timeout", p.ConsoleIdleTimeout, MinConsoleIdleTimeout, MaxConsoleIdleTimeout, &st.ConsoleIdleTimeout); err != nil {
		return err
	}
	if idle, life := VerifiedIdleTimeout(*st), VerifiedLifetime(*st); life < idle {
		if p.VerifiedLifetime != nil {
			return problem.InvalidField("verified_lifetime", "must be at least the verified idle timeout (%s)", formatDuration(idle))
		}
		return problem.InvalidField("verified_idle_timeout", "must be at most the verified lifetime (%s)", formatDuration(life))
	}
	return nil
}
