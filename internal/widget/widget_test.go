package widget_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/widget"
)

// budget is the limit for everything a visitor downloads, gzipped: the loader, the script and
// the stylesheet, English built in; catalogueBudget is each other language's.
const (
	budget          = 25 << 10
	catalogueBudget = 3 << 10
)

func serve(t *testing.T, a *widget.Assets) *http.ServeMux {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /widget.js", a.ServeLoader)
	mux.HandleFunc("GET /widget/{name}", a.ServeFile)
	return mux
}

func get(t *testing.T, h http.Handler, path string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestWidgetFitsTheBudget(t *testing.T) {
	a, err := widget.Load()
	if err != nil {
		t.Fatal(err)
	}
	size := a.GzipSize()
	t.Logf("widget loader + script + stylesheet: %d bytes gzipped (budget %d)", size, budget)
	if size > budget {
		t.Fatalf("the widget is %d bytes gzipped; the budget is %d", size, budget)
	}
	cats := a.Catalogues()
	if len(cats) < 8 {
		t.Fatalf("%d catalogues; the issue asks for at least 8", len(cats))
	}
	for _, c := range cats {
		t.Logf("catalogue %s: %d bytes gzipped (budget %d)", c.Locale, c.GzipSize, catalogueBudget)
		if c.GzipSize > catalogueBudget {
			t.Errorf("catalogue %s is %d bytes gzipped; the budget is %d", c.Locale, c.GzipSize, catalogueBudget)
		}
	}
}

func TestLoaderPointsAtChecksummedFilesWithIntegrity(t *testing.T) {
	a, err := widget.Load()
	if err != nil {
		t.Fatal(err)
	}
	h := serve(t, a)
	loader := get(t, h, "/widget.js")
	if loader.Code != 200 || !strings.HasPrefix(loader.Header().Get("Content-Type"), "text/javascript") {
		t.Fatalf("loader: %d %s", loader.Code, loader.Header().Get("Content-Type"))
	}
	if cc := loader.Header().Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("loader Cache-Control = %q; it must stay short so new versions spread", cc)
	}
	body := loader.Body.String()
	if !strings.Contains(body, a.JS) || !strings.Contains(body, a.CSS) {
		t.Fatalf("loader does not reference %s and %s", a.JS, a.CSS)
	}
	if !regexp.MustCompile(`^/widget/widget\.[0-9a-f]{16}\.js$`).MatchString(a.JS) {
		t.Fatalf("script path %q is not checksummed", a.JS)
	}
	for _, path := range []string{a.JS, a.CSS} {
		rec := get(t, h, path)
		if rec.Code != 200 {
			t.Fatalf("%s: %d", path, rec.Code)
		}
		if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("%s Cache-Control = %q", path, cc)
		}
		if rec.Header().Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s lacks CORS, which Subresource Integrity across origins needs", path)
		}
		// The loader carries the file's SRI hash; a browser would refuse a changed file.
		sum := sha512.Sum384(rec.Body.Bytes())
		sri := "sha384-" + base64.StdEncoding.EncodeToString(sum[:])
		if !strings.Contains(body, sri) {
			t.Errorf("loader lacks the integrity %s of %s", sri, path)
		}
		// Conditional and compressed requests.
		if rec2 := get(t, h, path, "If-None-Match", rec.Header().Get("ETag")); rec2.Code != http.StatusNotModified {
			t.Errorf("%s with a matching ETag: %d, want 304", path, rec2.Code)
		}
		gz := get(t, h, path, "Accept-Encoding", "br, gzip;q=0.8")
		if gz.Header().Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s: no gzip for a client that accepts it", path)
		}
		zr, err := gzip.NewReader(gz.Body)
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := io.ReadAll(zr)
		if !bytes.Equal(plain, rec.Body.Bytes()) {
			t.Errorf("%s: gzipped body differs", path)
		}
		if get(t, h, path, "Accept-Encoding", "gzip;q=0").Header().Get("Content-Encoding") != "" {
			t.Errorf("%s: gzip sent to a client that refused it", path)
		}
	}
	if rec := get(t, h, "/widget/widget.0000000000000000.js"); rec.Code != 404 {
		t.Errorf("unknown file: %d", rec.Code)
	}
}

// TestWidgetNeverInjectsHTML keeps the script honest: customer and server text goes in with
// textContent, never through an HTML parser.
func TestWidgetNeverInjectsHTML(t *testing.T) {
	a, err := widget.Load()
	if err != nil {
		t.Fatal(err)
	}
	js := get(t, serve(t, a), a.JS).Body.String()
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if strings.Contains(js, sink) {
			t.Errorf("widget.js uses %s", sink)
		}
	}
}

// TestScriptIsMinified: visitors download the code, not the notes on it; the repository keeps the
// readable source, and the served script is that source minified (placeholders filled in).
func TestScriptIsMinified(t *testing.T) {
	a, err := widget.Load()
	if err != nil {
		t.Fatal(err)
	}
	js := get(t, serve(t, a), a.JS).Body.String()
	src, err := os.ReadFile("assets/widget.js")
	if err != nil {
		t.Fatal(err)
	}
	if len(js) > len(src)/2 {
		t.Errorf("the served script is %d bytes of a %d-byte source: not minified", len(js), len(src))
	}
	if strings.Contains(js, "// ") || strings.Contains(js, "@@") {
		t.Errorf("the served script still holds comments or placeholders")
	}
	for _, code := range []string{"use strict", "setLocale", "Parley"} {
		if !strings.Contains(js, code) {
			t.Errorf("the served script lost %q", code)
		}
	}
}
