package httpapi

import (
	"html/template"
	"net/http"

	"github.com/parleyhq/parley/internal/problem"
)

// One-click unsubscribe from Parley's email to customers (RFC 8058). The link in every email opens a
// page with a button; mail clients that offer "Unsubscribe" POST to the same address themselves. A GET
// never unsubscribes: link scanners and previews open links without anyone asking.

var unsubscribePage = template.Must(template.New("unsubscribe").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title></head>
<body><main>
<h1>{{.Title}}</h1>
<p>{{.Text}}</p>
{{if .Form}}<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>{{end}}
</main></body></html>
`))

type unsubscribeView struct {
	Title, Text string
	Form        bool
}

func (a *API) unsubscribeForm(w http.ResponseWriter, r *http.Request) {
	a.renderUnsubscribe(w, http.StatusOK, unsubscribeView{Title: "Unsubscribe from email",
		Text: "You will no longer receive email about your conversations. Chatting on the website is not affected.", Form: true})
}

func (a *API) unsubscribe(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1024)
	_ = r.ParseForm() // RFC 8058's body, List-Unsubscribe=One-Click; nothing else is needed
	workspace, err := a.chat.Unsubscribe(r.Context(), r.URL.Query().Get("t"))
	if err != nil {
		if p, ok := problem.As(err); ok && p.Status < 500 {
			a.renderUnsubscribe(w, p.Status, unsubscribeView{Title: "This link does not work", Text: p.Message})
			return
		}
		a.writeError(w, r, err)
		return
	}
	a.renderUnsubscribe(w, http.StatusOK, unsubscribeView{Title: "You are unsubscribed",
		Text: workspace + " will not email you about your conversations any more."})
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
