package httpapi

import (
	"html/template"
	"net/http"

	"github.com/parleyhq/parley/internal/problem"
)

// One-click unsubscribe from Parley's email to customers (RFC 8058). The link in every email opens a
// page with a button; mail clients that offer "Unsubscribe" POST to the same address themselves. A GET
// never unsubscribes: link scanners and previews open links without anyone asking.

// The page speaks the customer's language, as their emails do (chat.UnsubscribePage).
var unsubscribePage = template.Must(template.New("unsubscribe").Parse(`<!doctype html>
<html lang="{{.Lang}}"{{if .Dir}} dir="{{.Dir}}"{{end}}><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title></head>
<body><main>
<h1>{{.Title}}</h1>
<p>{{.Text}}</p>
{{if .Button}}<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">{{.Button}}</button></form>{{end}}
</main></body></html>
`))

type unsubscribeView struct {
	Lang, Dir   string
	Title, Text string
	Button      string // the form's, when there is one
}

func (a *API) unsubscribeForm(w http.ResponseWriter, r *http.Request) {
	words := a.chat.UnsubscribePage(r.Context(), r.URL.Query().Get("t"), r.Header.Get("Accept-Language"))
	a.renderUnsubscribe(w, http.StatusOK, unsubscribeView{Lang: words.Lang, Dir: words.Dir, Title: words.FormTitle, Text: words.FormText, Button: words.Button})
}

func (a *API) unsubscribe(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1024)
	_ = r.ParseForm() // RFC 8058's body, List-Unsubscribe=One-Click; nothing else is needed
	words, err := a.chat.Unsubscribe(r.Context(), r.URL.Query().Get("t"), r.Header.Get("Accept-Language"))
	if err != nil {
		if p, ok := problem.As(err); ok && p.Status < 500 {
			a.renderUnsubscribe(w, p.Status, unsubscribeView{Lang: words.Lang, Dir: words.Dir, Title: words.InvalidTitle, Text: words.InvalidText})
			return
		}
		a.writeError(w, r, err)
		return
	}
	a.renderUnsubscribe(w, http.StatusOK, unsubscribeView{Lang: words.Lang, Dir: words.Dir, Title: words.DoneTitle, Text: words.DoneText})
}

func (a *API) renderUnsubscribe(w http.ResponseWriter, status int, v unsubscribeView) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer") // the address holds the customer's token
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = unsubscribePage.Execute(w, v)
}
