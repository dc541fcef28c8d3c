package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var staticFiles embed.FS

// assets are the console's static files, served under names that carry a hash of their content, so a
// browser may cache them for a year and still never run an old script against a new page.
type assets struct {
	byURLName map[string]asset  // "console.3f2a9c1e.js" → file
	urls      map[string]string // "console.js" → "/console/static/console.3f2a9c1e.js"
}

type asset struct {
	data        []byte
	contentType string
}

var contentTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
	".svg": "image/svg+xml",
}

func loadAssets() (*assets, error) {
	as := &assets{byURLName: map[string]asset{}, urls: map[string]string{}}
	err := fs.WalkDir(staticFiles, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := staticFiles.ReadFile(p)
		if err != nil {
			return err
		}
		name := path.Base(p)
		ext := path.Ext(name)
		ct, ok := contentTypes[ext]
		if !ok {
			return fmt.Errorf("console: no content type for %s", name)
		}
		sum := sha256.Sum256(data)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:5]) + ext
		as.byURLName[hashed] = asset{data: data, contentType: ct}
		as.urls[name] = "/console/static/" + hashed
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("console: load static files: %w", err)
	}
	return as, nil
}

// url returns the hashed address of a static file; templates call it as {{asset "console.js"}}.
func (as *assets) url(name string) (string, error) {
	u, ok := as.urls[name]
	if !ok {
		return "", fmt.Errorf("console: no static file %q", name)
	}
	return u, nil
}

// Static serves GET /console/static/{name}.
func (c *Console) Static(w http.ResponseWriter, r *http.Request) {
	a, ok := c.assets.byURLName[r.PathValue("name")]
	h := w.Header()
	securityHeaders(h)
	if !ok {
		h.Set("Cache-Control", "no-store")
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(a.data)
}
