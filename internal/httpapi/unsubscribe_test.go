package httpapi_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// The unsubscribe link opens a page with a button; only a POST (the button, or the mail client's
// one-click request, RFC 8058) unsubscribes; a forged token does nothing.
func TestUnsubscribeLink(t *testing.T) {
	e := newEnv(t)
	e.verified(claims(jwt.MapClaims{"sub": "ada"}))
	c, err := e.st.CustomerByExternalID(t.Context(), e.ws.ID, "ada")
	if err != nil {
		t.Fatal(err)
	}
	link, err := url.Parse(e.svc.UnsubscribeURL(c))
	if err != nil {
		t.Fatal(err)
	}
	path := "/email/unsubscribe?" + link.RawQuery
	fetch := func(method, path, body string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	status, page, h := fetch("GET", path, "")
	if status != 200 || !strings.Contains(page, `<form method="post">`) || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") ||
		h.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("GET: %d %s %v", status, page, h)
	}
	if st, _ := e.st.CustomerEmail(t.Context(), c.ID); !st.OptedOutAt.IsZero() {
		t.Fatal("opening the link unsubscribed the customer")
	}
	status, page, _ = fetch("POST", path, "List-Unsubscribe=One-Click")
	if status != 200 || !strings.Contains(page, "You are unsubscribed") || !strings.Contains(page, "Acme Bank") {
		t.Fatalf("POST: %d %s", status, page)
	}
	if st, _ := e.st.CustomerEmail(t.Context(), c.ID); st.OptedOutAt.IsZero() {
		t.Error("the one-click POST did not unsubscribe")
	}
	for _, bad := range []string{"", "t=", "t=AAAA", "t=" + strings.Repeat("A", 2000), "t=%ZZ"} {
		status, page, _ := fetch("POST", "/email/unsubscribe?"+bad, "List-Unsubscribe=One-Click")
		if status != 404 || !strings.Contains(page, "does not work") {
			t.Errorf("POST with %q: %d %s; want the 404 page", bad, status, page)
		}
	}
}

// The page speaks the customer's language, as their emails do; a link that names nobody speaks the
// browser's.
func TestUnsubscribePageLanguage(t *testing.T) {
	e := newEnv(t)
	e.verified(claims(jwt.MapClaims{"sub": "anna", "locale": "de-CH"}))
	c, err := e.st.CustomerByExternalID(t.Context(), e.ws.ID, "anna")
	if err != nil {
		t.Fatal(err)
	}
	link, err := url.Parse(e.svc.UnsubscribeURL(c))
	if err != nil {
		t.Fatal(err)
	}
	page := func(method, query, acceptLanguage string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, e.srv.URL+"/email/unsubscribe?"+query, strings.NewReader("List-Unsubscribe=One-Click"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if acceptLanguage != "" {
			req.Header.Set("Accept-Language", acceptLanguage)
		}
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// The customer's language wins over the browser's.
	status, body := page("GET", link.RawQuery, "fr-FR,fr;q=0.9")
	if status != 200 || !strings.Contains(body, `<html lang="de">`) || !strings.Contains(body, "<h1>Von E-Mails abmelden</h1>") ||
		!strings.Contains(body, `<button type="submit">Abmelden</button>`) {
		t.Fatalf("GET in German: %d %s", status, body)
	}
	status, body = page("POST", link.RawQuery, "")
	if status != 200 || !strings.Contains(body, "<h1>Sie sind abgemeldet</h1>") || !strings.Contains(body, "Acme Bank schickt Ihnen keine E-Mails mehr") {
		t.Fatalf("POST in German: %d %s", status, body)
	}
	// Nobody named: the first of the browser's languages the texts have (q=0 means "not this one").
	for _, c := range []struct{ accept, lang, title string }{
		{"ar;q=0, sv, ar-EG;q=0.5", "ar", "هذا الرابط لا يعمل"},
		{"", "en", "This link does not work"},
		{"pt-PT,pt;q=0.8", "pt-BR", "Este link não funciona"},
	} {
		status, body = page("POST", "t=AAAA", c.accept)
		if status != 404 || !strings.Contains(body, `<html lang="`+c.lang+`"`) || !strings.Contains(body, "<h1>"+c.title+"</h1>") {
			t.Errorf("Accept-Language %q: %d %s", c.accept, status, body)
		}
	}
	if _, body = page("POST", "t=AAAA", "ar"); !strings.Contains(body, `dir="rtl"`) {
		t.Errorf("Arabic is not right to left: %s", body)
	}
}
