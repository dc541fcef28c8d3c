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
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"text/template"

	"github.com/evanw/esbuild/pkg/api"
)

//go:embed assets/widget.js assets/widget.css assets/loader.js assets/i18n/*.json
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
	// catalogues are the message catalogues of the languages other than English, by file name
	// (de.3f2a….json), served under /widget/i18n/.
	catalogues map[string]*asset
	// JS and CSS are the checksummed paths, e.g. /widget/widget.3f2a….js.
	JS, CSS string
	// jsIntegrity and cssIntegrity are their Subresource Integrity values, for the chat page.
	jsIntegrity, cssIntegrity string
	pages                     *pages
}

// Catalogue is a language's message catalogue as served: its URL path and Subresource Integrity value.
type Catalogue struct {
	Locale    string // a BCP 47 tag: de, pt-BR
	Path      string // /widget/i18n/de.3f2a….json
	Integrity string
	GzipSize  int
}

// Load prepares the embedded files: minified, hashed and gzipped, and the loader that points at them.
// What is hashed (and what Subresource Integrity checks) is the minified output, the bytes served.
func Load() (*Assets, error) {
	en, cats, err := loadCatalogues()
	if err != nil {
		return nil, err
	}
	// English is built into the script; the other languages' URLs and integrity go in with it, so that
	// the widget and the chat page both know where each catalogue is.
	index := map[string][2]string{}
	for _, c := range cats {
		tag, _, _ := strings.Cut(c.name, ".")
		index[tag] = [2]string{"/widget/i18n/" + c.name, integrity(c.body)}
	}
	indexJSON, err := json.Marshal(index)
	if err != nil {
		return nil, err
	}
	src, err := files.ReadFile("assets/widget.js")
	if err != nil {
		return nil, err
	}
	for placeholder, value := range map[string][]byte{"'@@EN@@'": en, "'@@CATALOGUES@@'": indexJSON} {
		if bytes.Count(src, []byte(placeholder)) != 1 {
			return nil, fmt.Errorf("widget: widget.js must hold %s once", placeholder)
		}
		src = bytes.Replace(src, []byte(placeholder), value, 1)
	}
	js, err := minify(src, api.LoaderJS)
	if err != nil {
		return nil, fmt.Errorf("widget: minify widget.js: %w", err)
	}
	css, err := files.ReadFile("assets/widget.css")
	if err != nil {
		return nil, err
	}
	if css, err = minify(css, api.LoaderCSS); err != nil {
		return nil, fmt.Errorf("widget: minify widget.css: %w", err)
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
	loaderJS, err := minify(loader.Bytes(), api.LoaderJS)
	if err != nil {
		return nil, fmt.Errorf("widget: minify loader.js: %w", err)
	}
	loaderAsset, err := newAsset("widget.js", "text/javascript; charset=utf-8", loaderJS, false)
	if err != nil {
		return nil, err
	}
	pages, err := loadPages()
	if err != nil {
		return nil, fmt.Errorf("widget: parse the chat page: %w", err)
	}
	byCat := map[string]*asset{}
	for _, c := range cats {
		byCat[c.name] = c
	}
	return &Assets{
		loader:      loaderAsset,
		byName:      map[string]*asset{jsAsset.name: jsAsset, cssAsset.name: cssAsset},
		catalogues:  byCat,
		JS:          "/widget/" + jsAsset.name,
		CSS:         "/widget/" + cssAsset.name,
		jsIntegrity: integrity(js), cssIntegrity: integrity(css),
		pages: pages,
	}, nil
}

// minify shrinks a script or stylesheet with esbuild, at process start: the repository keeps the
// readable source with its comments, visitors download only the code.
func minify(src []byte, loader api.Loader) ([]byte, error) {
	res := api.Transform(string(src), api.TransformOptions{
		Loader:            loader,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		// The widget runs in the browsers docs/widget.md names; esbuild must not rewrite newer syntax.
		Target:        api.ES2020,
		LegalComments: api.LegalCommentsNone,
		Charset:       api.CharsetUTF8,
	})
	if len(res.Errors) > 0 {
		e := res.Errors[0]
		line := 0
		if e.Location != nil {
			line = e.Location.Line
		}
		return nil, fmt.Errorf("line %d: %s", line, e.Text)
	}
	return res.Code, nil
}

// loadCatalogues reads assets/i18n: English (en.json, compacted for the script) and every other
// language as a servable asset named <tag>.<hash>.json. Each must be a JSON object of texts.
func loadCatalogues() ([]byte, []*asset, error) {
	entries, err := fs.ReadDir(files, "assets/i18n")
	if err != nil {
		return nil, nil, err
	}
	var en []byte
	var cats []*asset
	for _, e := range entries {
		tag, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		raw, err := files.ReadFile("assets/i18n/" + e.Name())
		if err != nil {
			return nil, nil, err
		}
		var texts map[string]any
		if err := json.Unmarshal(raw, &texts); err != nil {
			return nil, nil, fmt.Errorf("widget: catalogue %s: %w", e.Name(), err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			return nil, nil, fmt.Errorf("widget: catalogue %s: %w", e.Name(), err)
		}
		if tag == "en" {
			en = compact.Bytes()
			continue
		}
		c, err := newAsset(tag+"."+shortHash(compact.Bytes())+".json", "application/json; charset=utf-8", compact.Bytes(), true)
		if err != nil {
			return nil, nil, err
		}
		cats = append(cats, c)
	}
	if en == nil {
		return nil, nil, fmt.Errorf("widget: assets/i18n/en.json is missing")
	}
	return en, cats, nil
}

// Catalogues lists the languages other than English as served, sorted by tag.
func (a *Assets) Catalogues() []Catalogue {
	var out []Catalogue
	for name, c := range a.catalogues {
		tag, _, _ := strings.Cut(name, ".")
		out = append(out, Catalogue{Locale: tag, Path: "/widget/i18n/" + name, Integrity: integrity(c.body), GzipSize: len(c.gzipped)})
	}
	slices.SortFunc(out, func(x, y Catalogue) int { return strings.Compare(x.Locale, y.Locale) })
	return out
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

// GzipSize is the total compressed size of the widget's loader, script and stylesheet (English built
// in), what a visitor downloads.
func (a *Assets) GzipSize() int {
	n := len(a.loader.gzipped)
	for _, f := range a.byName {
		n += len(f.gzipped)
	}
	return n
}

// ServeLoader serves GET /widget.js.
func (a *Assets) ServeLoader(w http.ResponseWriter, r *http.Request) { serve(w, r, a.loader) }

// ServeCatalogue serves GET /widget/i18n/{name}, a language's message catalogue.
func (a *Assets) ServeCatalogue(w http.ResponseWriter, r *http.Request) {
	f := a.catalogues[r.PathValue("name")]
	if f == nil {
		http.NotFound(w, r)
		return
	}
	serve(w, r, f)
}

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
