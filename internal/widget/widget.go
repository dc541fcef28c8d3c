// Package widget serves the embeddable chat widget: a stable loader at /widget.js and the widget's
// script and stylesheet at checksummed, immutable URLs, all embedded in the binary.
//
// Businesses paste the loader's URL once; it is cached for minutes, so a new Parley version reaches
// every site quickly, while the heavy files it points to are cached for a year and verified by the
// browser with Subresource Integrity.
package widget

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"text/template"
)

//go:embed assets/widget.js assets/widget.css assets/loader.js
var files embed.FS

// asset is one file ready to serve.
type asset struct {
	name        string // the URL's last segment
	contentType string
	body        []byte
	gzipped     []byte
	etag        string
	immutable   bool
}

// Assets are the widget's files with their checksummed names.
type Assets struct {
	loader *asset
	byName map[string]*asset
	// JS and CSS are the checksummed paths, e.g. /widget/widget.3f2a….js.
	JS, CSS string
	// jsIntegrity and cssIntegrity are their Subresource Integrity values, for the chat page.
	jsIntegrity, cssIntegrity string
	pages                     *pages
}

// Load prepares the embedded files: hashes, gzip, and the loader that points at them.
func Load() (*Assets, error) {
	js, err := files.ReadFile("assets/widget.js")
	if err != nil {
		return nil, err
	}
	if js, err = stripLineComments(js); err != nil {
		return nil, err
	}
	css, err := files.ReadFile("assets/widget.css")
	if err != nil {
		return nil, err
	}
	jsAsset, err := newAsset("widget."+shortHash(js)+".js", "text/javascript; charset=utf-8", js, true)
	if err != nil {
		return nil, err
	}
	cssAsset, err := newAsset("widget."+shortHash(css)+".css", "text/css; charset=utf-8", css, true)
	if err != nil {
		return nil, err
	}
	tmplText, err := files.ReadFile("assets/loader.js")
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New("loader").Delims("[[", "]]").Parse(string(tmplText))
	if err != nil {
		return nil, fmt.Errorf("widget: parse loader: %w", err)
	}
	var loader bytes.Buffer
	err = tmpl.Execute(&loader, map[string]string{
		"JS": "/widget/" + jsAsset.name, "JSIntegrity": integrity(js),
		"CSS": "/widget/" + cssAsset.name, "CSSIntegrity": integrity(css),
	})
	if err != nil {
		return nil, fmt.Errorf("widget: render loader: %w", err)
	}
	loaderAsset, err := newAsset("widget.js", "text/javascript; charset=utf-8", loader.Bytes(), false)
	if err != nil {
		return nil, err
	}
	pages, err := loadPages()
	if err != nil {
		return nil, fmt.Errorf("widget: parse the chat page: %w", err)
	}
	return &Assets{
		loader:      loaderAsset,
		byName:      map[string]*asset{jsAsset.name: jsAsset, cssAsset.name: cssAsset},
		JS:          "/widget/" + jsAsset.name,
		CSS:         "/widget/" + cssAsset.name,
		jsIntegrity: integrity(js), cssIntegrity: integrity(css),
		pages: pages,
	}, nil
}

// stripLineComments drops the script's whole-line // comments: they explain the source, and every
// visitor would otherwise download them (about a fifth of the gzipped script). Whole lines only, and
// only in a script without template literals, where such a line can be nothing but a comment.
func stripLineComments(js []byte) ([]byte, error) {
	if bytes.ContainsRune(js, '`') {
		return nil, fmt.Errorf("widget: widget.js uses a template literal; stripLineComments cannot tell its lines from comments")
	}
	var out bytes.Buffer
	out.Grow(len(js))
	for line := range bytes.Lines(js) {
		if bytes.HasPrefix(bytes.TrimLeft(line, " \t"), []byte("//")) {
			continue
		}
		out.Write(line)
	}
	return out.Bytes(), nil
}

func newAsset(name, contentType string, body []byte, immutable bool) (*asset, error) {
	var z bytes.Buffer
	zw, err := gzip.NewWriterLevel(&z, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return &asset{name: name, contentType: contentType, body: body, gzipped: z.Bytes(), etag: `"` + shortHash(body) + `"`, immutable: immutable}, nil
}

func shortHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// integrity is a Subresource Integrity value.
func integrity(b []byte) string {
	sum := sha512.Sum384(b)
	return "sha384-" + base64.StdEncoding.EncodeToString(sum[:])
}

// GzipSize is the total compressed size of the widget's script and stylesheet, what a visitor downloads.
func (a *Assets) GzipSize() int {
	n := len(a.loader.gzipped)
	for _, f := range a.byName {
		n += len(f.gzipped)
	}
	return n
}

// ServeLoader serves GET /widget.js.
func (a *Assets) ServeLoader(w http.ResponseWriter, r *http.Request) { serve(w, r, a.loader) }

// ServeFile serves GET /widget/{name}.
func (a *Assets) ServeFile(w http.ResponseWriter, r *http.Request) {
	f := a.byName[r.PathValue("name")]
	if f == nil {
		http.NotFound(w, r)
		return
	}
	serve(w, r, f)
}

func serve(w http.ResponseWriter, r *http.Request, f *asset) {
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("ETag", f.etag)
	h.Set("Vary", "Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	// Pages on any origin embed the widget, with Subresource Integrity, which needs CORS.
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	if f.immutable {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	if r.Header.Get("If-None-Match") == f.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := f.body
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = f.gzipped
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
