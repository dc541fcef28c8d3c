package console

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// Two-factor sign-in pages: the code after the password (/console/login/2fa), the enrolment a workspace
// requiring two-factor sends an agent without it to (/console/login/enrol), and the agent's own page to
// set it up, see their recovery codes once, make new ones, or turn it off (/console/account/2fa). The
// rules are package chat's (twofactor.go); wrong codes are throttled here, per agent.

const accountTwoFactorPath = "/console/account/2fa"

// twoFactorPage is the data of every two-factor page; Mode says which one.
type twoFactorPage struct {
	Mode     string // "code", "enrol" or "account"
	Action   string // where the forms post
	Next     string
	Recovery bool // the code page asks for a recovery code instead
	Error    string
	Status   chat.TwoFactorStatus
	// A set-up in progress: the QR code as a data URL, the secret to type in instead.
	QR     template.URL
	Secret string
	// Codes are the recovery codes, shown once after they are made.
	Codes []string
	// Enrolled: the pending enrolment is done; only Continue is left.
	Enrolled bool
}

// takeCodeAttempt counts an attempt at a code against the agent's budget of wrong codes (Limits); the
// caller refunds it on success.
func (c *Console) takeCodeAttempt(agentID string) error { return c.secondFactorPerAgent.Take(agentID) }

// codeRefused reports whether err is a wrong code, which the page shows next to the field.
func codeRefused(err error) (*problem.Error, bool) {
	p, ok := problem.As(err)
	return p, ok && p.Code == "second_factor_failed"
}

func qrURL(png []byte) template.URL {
	// The PNG is made by package chat from the key; nothing of a visitor's goes into this URL.
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
}

// pendingView is the view of a page of a sign-in still in progress: no header or navigation (the
// console is not open yet), the pending session's CSRF token for the forms.
func pendingView(p *pending, title string, data *twoFactorPage) *view {
	return &view{Title: title, CSRF: p.sess.CSRFToken, Data: data}
}

// stageRedirect sends a pending page whose stage it is not to the right place; it reports whether it did.
func (c *Console) stageRedirect(w http.ResponseWriter, r *http.Request, p *pending, want, next string) bool {
	switch p.sess.Stage {
	case want:
		return false
	case "":
		http.Redirect(w, r, next, http.StatusSeeOther)
	case store.AgentStageTOTP:
		http.Redirect(w, r, secondFactorPath+"?next="+url.QueryEscape(next), http.StatusSeeOther)
	case store.AgentStageEnrol:
		http.Redirect(w, r, enrolPath+"?next="+url.QueryEscape(next), http.StatusSeeOther)
	default:
		http.Redirect(w, r, loginPath, http.StatusSeeOther)
	}
	return true
}

// completeSignIn replaces the pending session's cookie with the full session's and goes on to next.
func (c *Console) completeSignIn(w http.ResponseWriter, r *http.Request, token string, sess store.AgentSession, next string) {
	c.setCookie(w, r, sessionCookie, token, cookiePath, time.Until(sess.ExpiresAt))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// ---------------------------------------------------------------- the code after the password

// SecondFactorPage serves GET /console/login/2fa: the code from the agent's app, or with ?recovery=1
// one of their recovery codes.
func (c *Console) SecondFactorPage(w http.ResponseWriter, r *http.Request) {
	p := pendingSignIn(r)
	next := localPath(r.URL.Query().Get("next"))
	if c.stageRedirect(w, r, p, store.AgentStageTOTP, next) {
		return
	}
	data := &twoFactorPage{Mode: "code", Action: secondFactorPath, Next: next, Recovery: r.URL.Query().Get("recovery") == "1"}
	c.render(w, r, http.StatusOK, "twofactor", pendingView(p, "Two-factor sign-in", data))
}

// SecondFactor serves POST /console/login/2fa (field code: an app's code or a recovery code).
func (c *Console) SecondFactor(w http.ResponseWriter, r *http.Request) {
	p := pendingSignIn(r)
	f := r.PostForm
	next := localPath(f.Get("next"))
	if c.stageRedirect(w, r, p, store.AgentStageTOTP, next) {
		return
	}
	data := &twoFactorPage{Mode: "code", Action: secondFactorPath, Next: next, Recovery: f.Get("recovery") == "1"}
	if err := c.takeCodeAttempt(p.agent.ID); err != nil {
		c.fail(w, r, err)
		return
	}
	token, sess, err := c.chat.VerifySecondFactor(r.Context(), p.token, f.Get("code"), c.signInInfo(r))
	if pr, ok := codeRefused(err); ok {
		data.Error = problemSentence(pr)
		c.render(w, r, pr.Status, "twofactor", pendingView(p, "Two-factor sign-in", data))
		return
	}
	c.secondFactorPerAgent.Refund(p.agent.ID) // not a wrong code: only those use the budget up
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.completeSignIn(w, r, token, sess, next)
}

// ---------------------------------------------------------------- enrolment at sign-in

// EnrolPage serves GET /console/login/enrol: a new secret to add to an authenticator app, as a QR code
// and as text, and the form for its first code.
func (c *Console) EnrolPage(w http.ResponseWriter, r *http.Request) {
	p := pendingSignIn(r)
	next := localPath(r.URL.Query().Get("next"))
	if c.stageRedirect(w, r, p, store.AgentStageEnrol, next) {
		return
	}
	data := &twoFactorPage{Mode: "enrol", Action: enrolPath, Next: next}
	if !p.agent.TOTPEnabledAt.IsZero() {
		// Enrolled already (the page was reloaded after the codes were shown): only Continue is left.
		data.Enrolled = true
	} else {
		en, err := c.chat.BeginTOTPEnrolment(r.Context(), p.agent.ID)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		data.QR, data.Secret = qrURL(en.QR), en.Secret
	}
	c.render(w, r, http.StatusOK, "twofactor", pendingView(p, "Set up two-factor sign-in", data))
}

// Enrol serves POST /console/login/enrol: action confirm (field code) turns two-factor on and shows the
// recovery codes; action continue completes the sign-in.
func (c *Console) Enrol(w http.ResponseWriter, r *http.Request) {
	p := pendingSignIn(r)
	f := r.PostForm
	next := localPath(f.Get("next"))
	if c.stageRedirect(w, r, p, store.AgentStageEnrol, next) {
		return
	}
	data := &twoFactorPage{Mode: "enrol", Action: enrolPath, Next: next}
	if f.Get("action") == "continue" {
		token, sess, err := c.chat.CompleteEnrolment(r.Context(), p.token)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.completeSignIn(w, r, token, sess, next)
		return
	}
	codes, status, err := c.confirmEnrolment(r, p.agent.ID, f.Get("code"), data)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if codes != nil {
		data.Codes, data.Enrolled = codes, true
	}
	c.render(w, r, status, "twofactor", pendingView(p, "Set up two-factor sign-in", data))
}

// confirmEnrolment checks the first code of a set-up, within the agent's budget of wrong codes. It
// returns the recovery codes; or, for a wrong code, nil and the status with data filled to show the
// set-up again; or an error for anything else.
func (c *Console) confirmEnrolment(r *http.Request, agentID, code string, data *twoFactorPage) ([]string, int, error) {
	if err := c.takeCodeAttempt(agentID); err != nil {
		return nil, 0, err
	}
	codes, err := c.chat.ConfirmTOTPEnrolment(r.Context(), agentID, code)
	pr, wrong := codeRefused(err)
	if !wrong {
		c.secondFactorPerAgent.Refund(agentID)
	}
	if err != nil && !wrong {
		return nil, 0, err
	}
	if wrong {
		en, err := c.chat.TOTPEnrolmentInProgress(r.Context(), agentID)
		if err != nil {
			return nil, 0, err
		}
		data.QR, data.Secret, data.Error = qrURL(en.QR), en.Secret, problemSentence(pr)
		return nil, pr.Status, nil
	}
	return codes, http.StatusOK, nil
}

// ---------------------------------------------------------------- the agent's own page

// AccountTwoFactorPage serves GET /console/account/2fa.
func (c *Console) AccountTwoFactorPage(w http.ResponseWriter, r *http.Request) {
	c.renderAccountTwoFactor(w, r, http.StatusOK, &twoFactorPage{})
}

func (c *Console) renderAccountTwoFactor(w http.ResponseWriter, r *http.Request, status int, data *twoFactorPage) {
	st, err := c.chat.TwoFactor(r.Context(), signedIn(r).agent.ID)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	data.Mode, data.Action, data.Status = "account", accountTwoFactorPath, st
	c.render(w, r, status, "twofactor", c.page(w, r, "Two-factor sign-in", "preferences", data))
}

// AccountTwoFactor serves POST /console/account/2fa: action begin (a new secret to set up), confirm
// (field code; shows the recovery codes), regenerate (field code; shows new recovery codes), disable
// (field code or password).
func (c *Console) AccountTwoFactor(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	f := r.PostForm
	data := &twoFactorPage{}
	switch f.Get("action") {
	case "begin":
		en, err := c.chat.BeginTOTPEnrolment(r.Context(), s.agent.ID)
		if err != nil {
			c.accountFailed(w, r, err)
			return
		}
		data.QR, data.Secret = qrURL(en.QR), en.Secret
		c.renderAccountTwoFactor(w, r, http.StatusOK, data)
	case "confirm":
		codes, status, err := c.confirmEnrolment(r, s.agent.ID, f.Get("code"), data)
		if err != nil {
			c.accountFailed(w, r, err)
			return
		}
		data.Codes = codes
		c.renderAccountTwoFactor(w, r, status, data)
	case "regenerate":
		codes, err := c.withCodeBudget(s.agent.ID, func() ([]string, error) {
			return c.chat.RegenerateRecoveryCodes(r.Context(), s.agent.ID, f.Get("code"))
		})
		if pr, ok := codeRefused(err); ok {
			data.Error = "New recovery codes: " + problemSentence(pr)
			c.renderAccountTwoFactor(w, r, pr.Status, data)
			return
		}
		if err != nil {
			c.accountFailed(w, r, err)
			return
		}
		data.Codes = codes
		c.renderAccountTwoFactor(w, r, http.StatusOK, data)
	case "disable":
		_, err := c.withCodeBudget(s.agent.ID, func() ([]string, error) {
			return nil, c.chat.DisableTOTP(r.Context(), s.agent.ID, f.Get("code"), f.Get("password"))
		})
		if pr, ok := codeRefused(err); ok {
			data.Error = "Turn off: " + problemSentence(pr)
			c.renderAccountTwoFactor(w, r, pr.Status, data)
			return
		}
		if err != nil {
			c.accountFailed(w, r, err)
			return
		}
		c.seeOther(w, r, accountTwoFactorPath, "ok", "Two-factor sign-in is off.")
	default:
		c.fail(w, r, problem.New(http.StatusBadRequest, "invalid_form", "the form could not be read"))
	}
}

// withCodeBudget runs fn, which checks a code, within the agent's budget of wrong codes.
func (c *Console) withCodeBudget(agentID string, fn func() ([]string, error)) ([]string, error) {
	if err := c.takeCodeAttempt(agentID); err != nil {
		return nil, err
	}
	out, err := fn()
	if _, wrong := codeRefused(err); !wrong {
		c.secondFactorPerAgent.Refund(agentID)
	}
	return out, err
}

// accountFailed ends a refused post of the account page: too many wrong codes is a 429 page with its
// Retry-After; the rest as failed has it.
func (c *Console) accountFailed(w http.ResponseWriter, r *http.Request, err error) {
	if p, ok := problem.As(err); ok && p.Status == http.StatusTooManyRequests {
		c.fail(w, r, err)
		return
	}
	c.failed(w, r, accountTwoFactorPath, err)
}
