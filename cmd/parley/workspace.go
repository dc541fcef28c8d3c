package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/files"
	"github.com/parleyhq/parley/internal/store"
)

// workspaceJSON is what workspace commands print with --json.
type workspaceJSON struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	CreatedAt string       `json:"created_at"`
	Settings  settingsJSON `json:"settings"`
}

type settingsJSON struct {
	AllowedOrigins      []string  `json:"allowed_origins"`
	Onboarding          string    `json:"onboarding"`
	FirstMessage        string    `json:"first_message"`
	LoginURL            string    `json:"login_url"`
	HideUntilLogin      bool      `json:"hide_until_login"`
	AllowedEmailDomains []string  `json:"allowed_email_domains"`
	RequireVerified     bool      `json:"require_verified"`
	MaxTokenLifetime    string    `json:"max_token_lifetime"`
	VerifiedIdleTimeout string    `json:"verified_idle_timeout"`
	VerifiedLifetime    string    `json:"verified_lifetime"`
	VisitorIdleTimeout  string    `json:"visitor_idle_timeout"`
	ReadReceipts        string    `json:"read_receipts"`
	Attachments         string    `json:"attachments"`
	AttachmentMaxSize   int64     `json:"attachment_max_size"`
	AttachmentKinds     []string  `json:"attachment_kinds"`
	EmailReplies        string    `json:"email_replies"`
	EmailReplyDelay     string    `json:"email_reply_delay"`
	EmailInterval       string    `json:"email_interval"`
	UnreadAlertDelay    string    `json:"unread_alert_delay"`
	RetentionDays       int       `json:"retention_days"`
	BusinessHours       hoursJSON `json:"business_hours"`
	// The widget's look, and the business's texts: the default language's here (first_message above is
	// one of them), other languages' under texts by tag.
	Appearance      appearanceJSON               `json:"appearance"`
	Greeting        string                       `json:"greeting"`
	AwayNotice      string                       `json:"away_notice"`
	OnboardingIntro string                       `json:"onboarding_intro"`
	Texts           map[string]store.WidgetTexts `json:"texts"`
	// DefaultLocale: the widget's language when nothing else names one it speaks ("" = English).
	DefaultLocale string `json:"default_locale"`
}

// appearanceJSON is the widget's look with the defaults filled in, and the text colour derived.
type appearanceJSON struct {
	BrandColor    string `json:"brand_color"`
	TextColor     string `json:"text_color"`
	Position      string `json:"position"`
	LauncherLabel string `json:"launcher_label"`
	Theme         string `json:"theme"`
	LogoURL       string `json:"logo_url"`
}

// hoursJSON is the business hours as `workspace update` takes them: the schedule in the --hours syntax.
type hoursJSON struct {
	Enabled    string   `json:"enabled"`
	TimeZone   string   `json:"time_zone"`
	Schedule   string   `json:"schedule"`
	Holidays   []string `json:"holidays"`
	OutOfHours string   `json:"out_of_hours"`
}

func workspaceShape(w store.Workspace) workspaceJSON {
	s := w.Settings
	onboarding := "off"
	if s.Onboarding {
		onboarding = "on"
	}
	nonNil := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	maxBytes, kinds := chat.AttachmentLimits(s)
	a := chat.EffectiveAppearance(s.Appearance)
	textColor, _ := chat.TextColor(a.BrandColor)
	texts := s.Texts
	if texts == nil {
		texts = map[string]store.WidgetTexts{}
	}
	return workspaceJSON{
		ID: w.ID, Name: w.Name, CreatedAt: w.CreatedAt.Format(time.RFC3339),
		Settings: settingsJSON{
			AllowedOrigins: nonNil(s.AllowedOrigins), Onboarding: onboarding, FirstMessage: s.FirstMessage,
			LoginURL: s.LoginURL, HideUntilLogin: s.HideUntilLogin, AllowedEmailDomains: nonNil(s.AllowedEmailDomains),
			RequireVerified: s.RequireVerified, MaxTokenLifetime: chat.MaxLifetime(s).String(),
			VerifiedIdleTimeout: chat.VerifiedIdleTimeout(s).String(), VerifiedLifetime: chat.VerifiedLifetime(s).String(),
			VisitorIdleTimeout: chat.VisitorIdleTimeout(s).String(), ReadReceipts: onOff(!s.HideReadReceipts),
			Attachments: onOff(chat.AttachmentsEnabled(s)), AttachmentMaxSize: maxBytes, AttachmentKinds: nonNil(kinds),
			EmailReplies: onOff(!s.EmailRepliesOff), EmailReplyDelay: chat.EmailReplyDelay(s).String(), EmailInterval: chat.EmailInterval(s).String(),
			UnreadAlertDelay: chat.UnreadAlertDelay(s).String(), RetentionDays: s.RetentionDays,
			BusinessHours: hoursJSON{Enabled: onOff(s.Hours.Enabled), TimeZone: s.Hours.TimeZone, Schedule: chat.FormatWeek(s.Hours.Week),
				Holidays: nonNil(s.Hours.Holidays), OutOfHours: chat.HoursMode(s)},
			Appearance: appearanceJSON{BrandColor: a.BrandColor, TextColor: textColor, Position: a.Position,
				LauncherLabel: a.LauncherLabel, Theme: a.Theme, LogoURL: a.LogoURL},
			Greeting: s.Greeting, AwayNotice: s.AwayNotice, OnboardingIntro: s.OnboardingIntro, Texts: texts,
			DefaultLocale: s.DefaultLocale,
		},
	}
}

func printWorkspace(w io.Writer, ws store.Workspace) {
	s := workspaceShape(ws).Settings
	fmt.Fprintf(w, "workspace %s  %q\n", ws.ID, ws.Name)
	fmt.Fprintf(w, "  allowed origins        %s\n", listOrAny(s.AllowedOrigins, "any origin"))
	fmt.Fprintf(w, "  onboarding             %s\n", s.Onboarding)
	fmt.Fprintf(w, "  first message          %q\n", s.FirstMessage)
	fmt.Fprintf(w, "  login url              %s\n", s.LoginURL)
	fmt.Fprintf(w, "  hide until login       %t\n", s.HideUntilLogin)
	fmt.Fprintf(w, "  allowed email domains  %s\n", listOrAny(s.AllowedEmailDomains, "any domain"))
	fmt.Fprintf(w, "  require verified       %t\n", s.RequireVerified)
	fmt.Fprintf(w, "  max token lifetime     %s\n", s.MaxTokenLifetime)
	fmt.Fprintf(w, "  verified idle timeout  %s\n", s.VerifiedIdleTimeout)
	fmt.Fprintf(w, "  verified lifetime      %s\n", s.VerifiedLifetime)
	fmt.Fprintf(w, "  visitor idle timeout   %s\n", s.VisitorIdleTimeout)
	fmt.Fprintf(w, "  read receipts          %s\n", s.ReadReceipts)
	fmt.Fprintf(w, "  attachments            %s, up to %s, %s\n", s.Attachments, files.HumanSize(s.AttachmentMaxSize), listOrAny(s.AttachmentKinds, "no kinds"))
	fmt.Fprintf(w, "  email replies          %s, after %s unseen, at most one email per %s\n", s.EmailReplies, s.EmailReplyDelay, s.EmailInterval)
	fmt.Fprintf(w, "  unread alert delay     %s (agents who turned on email alerts)\n", s.UnreadAlertDelay)
	if s.RetentionDays > 0 {
		fmt.Fprintf(w, "  retention              closed conversations deleted %d days after they closed\n", s.RetentionDays)
	} else {
		fmt.Fprintf(w, "  retention              closed conversations kept for good\n")
	}
	h := s.BusinessHours
	schedule := h.Schedule
	if schedule == "" {
		schedule = "closed every day"
	}
	fmt.Fprintf(w, "  business hours         %s, %s, time zone %s\n", h.Enabled, schedule, cmp.Or(h.TimeZone, "(none)"))
	fmt.Fprintf(w, "  holidays               %s\n", listOrAny(h.Holidays, "none"))
	fmt.Fprintf(w, "  out of hours           %s\n", h.OutOfHours)
	a := s.Appearance
	fmt.Fprintf(w, "  appearance             brand %s (text %s), launcher %s %q, theme %s, logo %s\n", a.BrandColor, a.TextColor,
		a.Position, cmp.Or(a.LauncherLabel, "Chat"), a.Theme, cmp.Or(a.LogoURL, "(none)"))
	fmt.Fprintf(w, "  greeting               %q\n", s.Greeting)
	fmt.Fprintf(w, "  away notice            %q\n", s.AwayNotice)
	fmt.Fprintf(w, "  onboarding intro       %q\n", s.OnboardingIntro)
	for _, tag := range slices.Sorted(maps.Keys(s.Texts)) {
		t := s.Texts[tag]
		fmt.Fprintf(w, "  texts %-16s greeting %q, first message %q, away notice %q, onboarding intro %q\n", tag, t.Greeting, t.FirstMessage, t.AwayNotice, t.OnboardingIntro)
	}
	fmt.Fprintf(w, "  default locale         %s\n", cmp.Or(s.DefaultLocale, "en"))
}

func listOrAny(l []string, none string) string {
	if len(l) == 0 {
		return "(" + none + ")"
	}
	return strings.Join(l, ", ")
}

func runWorkspace(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: parley workspace create|update|show|list|end-sessions [flags]")
	}
	switch args[0] {
	case "create":
		return workspaceCreate(ctx, e, args[1:])
	case "update":
		return workspaceUpdate(ctx, e, args[1:])
	case "show":
		return workspaceShow(ctx, e, args[1:])
	case "list":
		return workspaceList(ctx, e, args[1:])
	case "end-sessions":
		return workspaceEndSessions(ctx, e, args[1:])
	}
	return usagef("unknown workspace command %q (create, update, show, list, end-sessions)", args[0])
}

func workspaceCreate(ctx context.Context, e env, args []string) error {
	var g global
	fs := newFlags("workspace create", e, &g)
	name := fs.String("name", "", "the business's name (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return commandError(e, &g, usagef("--name is required"))
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		w, err := svc.CreateWorkspace(ctx, *name)
		if err != nil {
			return err
		}
		return output(e, &g, map[string]string{"id": w.ID, "name": w.Name}, func(out io.Writer) {
			fmt.Fprintf(out, "Created workspace %s (%q).\n", w.ID, w.Name)
			fmt.Fprintf(out, "Next: parley key create --workspace %s\n", w.ID)
		})
	}))
}

func workspaceUpdate(ctx context.Context, e env, args []string) error {
	var g global
	fs := newFlags("workspace update", e, &g)
	id := fs.String("workspace", "", "workspace id (required)")
	name := fs.String("name", "", "rename the workspace")
	origins := fs.String("allowed-origins", "", "comma-separated origins allowed to embed the widget, e.g. https://shop.example (empty: any)")
	onboarding := fs.String("onboarding", "", "on: ask name and email before the first message; off: don't")
	loginURL := fs.String("login-url", "", "the page where customers sign in to your site")
	firstMessage := fs.String("first-message", "", "greeting shown when the widget opens; may point to the login page")
	hide := fs.Bool("hide-until-login", false, "show the widget only to signed-in customers (--hide-until-login=false to undo)")
	domains := fs.String("allowed-email-domains", "", "comma-separated domains; only verified emails of these see the widget and may log in")
	requireVerified := fs.Bool("require-verified", false, "only verified customers may send messages (--require-verified=false to undo)")
	maxLifetime := fs.Duration("max-token-lifetime", 0, "longest exp − iat a login token may have, e.g. 10m")
	verifiedIdle := fs.Duration("verified-idle-timeout", 0, "a verified session not used for this long ends, e.g. 12h (1m to 720h; 0: the default, 12h)")
	verifiedLifetime := fs.Duration("verified-lifetime", 0, "a verified session ends this long after its login however busy, e.g. 168h (5m to 8760h, at least the verified idle timeout; 0: the default, 168h)")
	visitorIdle := fs.Duration("visitor-idle-timeout", 0, "an anonymous or identified session not used for this long ends, e.g. 720h (1h to 8760h; 0: the default, 720h)")
	consoleIdle := fs.Duration("console-idle-timeout", 0, "an agent's console session not used for this long ends, e.g. 1h (5m to 12h; 0: the default, 12h)")
	readReceipts := fs.String("read-receipts", "", "on: customers see \"Read\" once an agent read their messages (the default); off: they don't")
	attachmentsOn := fs.String("attachments", "", "on: customers and agents may send files (the default); off: they may not")
	attachmentMax := fs.String("attachment-max-size", "", "largest file accepted, e.g. 10MB or 500KB (at most 100MB; 0: the default, 10MB)")
	attachmentKinds := fs.String("attachment-kinds", "", "comma-separated kinds accepted: "+strings.Join(files.DefaultKinds(), ",")+" (all by default)")
	emailReplies := fs.String("email-replies", "", "on: replies a verified customer has not seen are emailed to them (the default, when the server has SMTP); off: never")
	emailDelay := fs.Duration("email-reply-delay", 0, "how long a reply may stay unseen before it is emailed, e.g. 10m (1m to 168h; 0: the default, 10m)")
	emailInterval := fs.Duration("email-interval", 0, "the least time between two emails to one customer, e.g. 1h (1m to 168h; 0: the default, 1h)")
	unreadDelay := fs.Duration("unread-alert-delay", 0, "how long a customer message may stay unread before agents who turned on email alerts are mailed, e.g. 5m (1m to 24h; 0: the default, 5m)")
	defaultLocale := fs.String("default-locale", "", "the widget's language for visitors whose page, login token and browser name none it speaks: "+localeTags()+` ("" or en: English, the default)`)
	retentionDays := fs.Int("retention-days", 0, "closed conversations are deleted this many days after they closed, with anonymous visitors' data (1 to 3650; 0: kept for good, the default)")
	hoursEnabled := fs.String("hours-enabled", "", "on: the workspace keeps business hours (needs --time-zone); off: always open (the default)")
	hours := fs.String("hours", "", `weekly open hours, e.g. "mon-fri 09:00-12:30, 13:30-17:00; sat 10:00-14:00" (days left out are closed; "" closes every day)`)
	timeZone := fs.String("time-zone", "", "the IANA time zone of the business hours, e.g. Europe/Berlin")
	holidays := fs.String("holidays", "", "comma-separated dates closed all day, e.g. 2026-12-24,2026-12-25 (replaces the list; empty clears it)")
	outOfHours := fs.String("out-of-hours", "", "away: out of hours the widget takes messages with an away notice (the default); hide: it hides")
	// Single sign-on is configured in the console; the command line only switches it, so that an operator
	// can always let agents back in with passwords when the provider is gone (docs/security.md).
	ssoOn := fs.String("sso", "", "off: turn single sign-on for console agents off, and passwords back on; on: turn it back on as configured in the console")
	ssoPasswords := fs.String("sso-passwords", "", "on: agents may sign in with passwords again beside single sign-on; off: single sign-on only")
	// The widget's look, and the business's texts: in the default language, or with --locale in one.
	brandColor := fs.String("brand-color", "", "the widget's brand colour, #rrggbb; refused when neither white nor near-black text reaches 4.5:1 on it (\"\": the default)")
	position := fs.String("position", "", "the launcher's side: right (the default) or left")
	launcherLabel := fs.String("launcher-label", "", "text on the launcher, at most 40 characters (\"\": an icon named Chat)")
	theme := fs.String("theme", "", "light (the default), dark, or auto: follows the visitor's system")
	logoURL := fs.String("logo-url", "", "an https:// image shown in the widget's header (\"\": none)")
	locale := fs.String("locale", "", "the language the text flags below set, a BCP 47 tag such as de or pt-BR (none: the default language)")
	greeting := fs.String("greeting", "", "the widget's greeting to a visitor it does not know by name")
	awayNotice := fs.String("away-notice", "", "the notice out of business hours (the widget adds when the team is back)")
	onboardingIntro := fs.String("onboarding-intro", "", "the sentence above the name and email form")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *id == "" {
		return commandError(e, &g, usagef("--workspace is required"))
	}
	var p chat.SettingsPatch
	var usageErr error
	appearance := func() *chat.AppearancePatch {
		if p.Appearance == nil {
			p.Appearance = &chat.AppearancePatch{}
		}
		return p.Appearance
	}
	texts := func() *chat.TextsPatch {
		if p.Texts == nil {
			p.Texts = &chat.TextsPatch{Locale: *locale}
		}
		return p.Texts
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "name":
			p.Name = name
		case "allowed-origins":
			l := splitList(*origins)
			p.AllowedOrigins = &l
		case "onboarding":
			p.Onboarding = onOffFlag("onboarding", *onboarding, &usageErr)
		case "login-url":
			p.LoginURL = loginURL
		case "first-message":
			texts().FirstMessage = firstMessage
		case "greeting":
			texts().Greeting = greeting
		case "away-notice":
			texts().AwayNotice = awayNotice
		case "onboarding-intro":
			texts().OnboardingIntro = onboardingIntro
		case "brand-color":
			appearance().BrandColor = brandColor
		case "position":
			appearance().Position = position
		case "launcher-label":
			appearance().LauncherLabel = launcherLabel
		case "theme":
			appearance().Theme = theme
		case "logo-url":
			appearance().LogoURL = logoURL
		case "hide-until-login":
			p.HideUntilLogin = hide
		case "allowed-email-domains":
			l := splitList(*domains)
			p.AllowedEmailDomains = &l
		case "require-verified":
			p.RequireVerified = requireVerified
		case "max-token-lifetime":
			p.MaxTokenLifetime = maxLifetime
		case "verified-idle-timeout":
			p.VerifiedIdleTimeout = verifiedIdle
		case "verified-lifetime":
			p.VerifiedLifetime = verifiedLifetime
		case "visitor-idle-timeout":
			p.VisitorIdleTimeout = visitorIdle
		case "console-idle-timeout":
			p.ConsoleIdleTimeout = consoleIdle
		case "read-receipts":
			p.ReadReceipts = onOffFlag("read-receipts", *readReceipts, &usageErr)
		case "attachments":
			p.Attachments = onOffFlag("attachments", *attachmentsOn, &usageErr)
		case "attachment-max-size":
			n, err := parseSize(*attachmentMax)
			if err != nil {
				usageErr = usagef("--attachment-max-size: %v", err)
			}
			p.AttachmentMaxBytes = &n
		case "attachment-kinds":
			l := splitList(*attachmentKinds)
			p.AttachmentKinds = &l
		case "email-replies":
			p.EmailReplies = onOffFlag("email-replies", *emailReplies, &usageErr)
		case "email-reply-delay":
			p.EmailReplyDelay = emailDelay
		case "email-interval":
			p.EmailInterval = emailInterval
		case "unread-alert-delay":
			p.UnreadAlertDelay = unreadDelay
		case "retention-days":
			p.RetentionDays = retentionDays
		case "default-locale":
			p.DefaultLocale = defaultLocale
		case "hours-enabled":
			p.HoursEnabled = onOffFlag("hours-enabled", *hoursEnabled, &usageErr)
		case "hours":
			week, err := chat.ParseWeek(*hours)
			if err != nil {
				usageErr = usagef("--hours: %v", err)
			}
			p.HoursWeek = &week
		case "time-zone":
			p.TimeZone = timeZone
		case "holidays":
			l := splitList(*holidays)
			p.Holidays = &l
		case "out-of-hours":
			p.OutOfHours = outOfHours
		case "sso", "sso-passwords":
			val, opt := *ssoOn, &ssoPatch(&p).Enabled
			if f.Name == "sso-passwords" {
				val, opt = *ssoPasswords, &ssoPatch(&p).PasswordsOff
			}
			on := onOffFlag(f.Name, val, &usageErr)
			if on != nil && f.Name == "sso-passwords" {
				*on = !*on // the setting says passwords are off
			}
			*opt = on
		}
	})
	if usageErr == nil && *locale != "" && p.Texts == nil {
		usageErr = usagef("--locale needs one of --greeting, --first-message, --away-notice, --onboarding-intro")
	}
	if usageErr != nil {
		return commandError(e, &g, usageErr)
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		w, err := svc.UpdateWorkspace(ctx, *id, p)
		if err != nil {
			return err
		}
		return output(e, &g, workspaceShape(w), func(out io.Writer) { printWorkspace(out, w) })
	}))
}

// ssoPatch returns p's single sign-on patch, adding one.
func ssoPatch(p *chat.SettingsPatch) *chat.SSOPatch {
	if p.SSO == nil {
		p.SSO = &chat.SSOPatch{}
	}
	return p.SSO
}

// workspaceShow prints one workspace and its settings.
func workspaceShow(ctx context.Context, e env, args []string) error {
	var g global
	fs := newFlags("workspace show", e, &g)
	id := fs.String("workspace", "", "workspace id (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *id == "" {
		return commandError(e, &g, usagef("--workspace is required"))
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		w, err := svc.Workspace(ctx, *id)
		if err != nil {
			return err
		}
		return output(e, &g, workspaceShape(w), func(out io.Writer) { printWorkspace(out, w) })
	}))
}

func workspaceList(ctx context.Context, e env, args []string) error {
	var g global
	fs := newFlags("workspace list", e, &g)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		ws, err := svc.Store().Workspaces(ctx)
		if err != nil {
			return err
		}
		list := make([]workspaceJSON, len(ws))
		for i, w := range ws {
			list[i] = workspaceShape(w)
		}
		return output(e, &g, map[string]any{"workspaces": list}, func(out io.Writer) {
			if len(ws) == 0 {
				fmt.Fprintln(out, "No workspaces yet. Create one with: parley workspace create --name NAME")
			}
			for _, w := range ws {
				printWorkspace(out, w)
			}
		})
	}))
}

// workspaceEndSessions ends every live widget session of a workspace: every browser continues as a
// fresh anonymous visitor and must log in again.
func workspaceEndSessions(ctx context.Context, e env, args []string) error {
	var g global
	fs := newFlags("workspace end-sessions", e, &g)
	ws := fs.String("workspace", "", "workspace id (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *ws == "" {
		return commandError(e, &g, usagef("--workspace is required"))
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		n, err := svc.EndWorkspaceSessions(ctx, *ws)
		if err != nil {
			return err
		}
		return output(e, &g, map[string]any{"workspace": *ws, "ended_sessions": n}, func(out io.Writer) {
			fmt.Fprintf(out, "Ended %d widget session(s) of workspace %s; every visitor continues anonymously.\n", n, *ws)
		})
	}))
}

// onOffFlag reads an on/off flag's value (true and false are taken too); a value that is neither
// leaves nil and sets *usageErr.
func onOffFlag(name, value string, usageErr *error) *bool {
	switch strings.ToLower(value) {
	case "on", "true":
		v := true
		return &v
	case "off", "false":
		v := false
		return &v
	}
	*usageErr = usagef("--%s must be on or off", name)
	return nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// parseSize reads a size such as 10MB, 500KB, 2.5MB or 12345 (bytes), in decimal units.
func parseSize(s string) (int64, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"MB", 1e6}, {"KB", 1e3}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f*mult > 1e12 {
		return 0, fmt.Errorf("%q is not a size such as 10MB", s)
	}
	return int64(f * mult), nil
}

// localeTags lists the languages the widget speaks, for --default-locale's help.
func localeTags() string {
	var tags []string
	for _, l := range chat.WidgetLocales() {
		tags = append(tags, l.Tag)
	}
	return strings.Join(tags, ", ")
}
