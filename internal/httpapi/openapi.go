package httpapi

import (
	_ "embed"
	"net/http"
)

// openAPIDocument describes the widget API, the customers API and the webhooks in OpenAPI 3.1, for
// client generators and validators. docs/api.md stays the reference; the tests keep the two and the
// routes in step.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPI serves GET /v1/openapi.json. The document changes only with the binary, so caches may keep
// it a while, and revalidate after that.
func (a *API) openAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=3600")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPIDocument)
}
