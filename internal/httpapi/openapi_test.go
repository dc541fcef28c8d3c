package httpapi_test

import (
	"bytes"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/parleyhq/parley/internal/httpapi/openapitest"
)

// The OpenAPI document (openapi.json, served at GET /v1/openapi.json) is checked three ways: it is
// valid OpenAPI 3.1, its paths are exactly the routes routes.go registers under /v1/, and every
// response the tests of this package receive from a /v1/ route (through env.request) is one it
// declares, with a JSON body that matches its schema.

const openAPIFile = "openapi.json"

// openAPI is the loaded document and the checker of exchanges against it.
type openAPI struct {
	doc *openapi3.T
	*openapitest.Checker
}

func loadOpenAPI(t *testing.T) *openAPI {
	t.Helper()
	data, err := os.ReadFile(openAPIFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := openapitest.Load(data)
	if err != nil {
		t.Fatalf("%s: %v", openAPIFile, err)
	}
	return &openAPI{doc: c.Doc, Checker: c}
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	o := loadOpenAPI(t)
	if len(o.doc.Webhooks) == 0 {
		t.Fatal("the document describes no webhooks")
	}
	// Every event type docs/webhooks.md lists is a webhook of the document, and no other.
	data, err := os.ReadFile("../../docs/webhooks.md")
	if err != nil {
		t.Fatal(err)
	}
	_, events, _ := strings.Cut(string(data), "\n## Events\n")
	events, _, _ = strings.Cut(events, "\n## ")
	var listed []string
	for _, line := range strings.Split(events, "\n") {
		if name, ok := strings.CutPrefix(line, "| `"); ok {
			name, _, _ = strings.Cut(name, "`")
			listed = append(listed, name)
		}
	}
	if len(listed) < 5 {
		t.Fatalf("found only %d events in docs/webhooks.md; has its table moved?", len(listed))
	}
	for _, name := range listed {
		if o.doc.Webhooks[name] == nil {
			t.Errorf("webhook event %q of docs/webhooks.md is not in %s", name, openAPIFile)
		}
	}
	for name := range o.doc.Webhooks {
		if !slices.Contains(listed, name) {
			t.Errorf("%s describes webhook %q, which docs/webhooks.md does not list", openAPIFile, name)
		}
	}
}

// TestOpenAPIDocumentListsEveryRoute fails when a route under /v1/ is missing from the document, or
// the document describes a path and method the server does not register. The catch-alls ending in "/"
// (404s and the CORS preflight for any widget path) are prefixes, which OpenAPI paths cannot express.
func TestOpenAPIDocumentListsEveryRoute(t *testing.T) {
	o := loadOpenAPI(t)
	var routes []string
	for _, r := range registeredRoutes(t) {
		method, path, ok := strings.Cut(r, " ")
		if !ok || !strings.HasPrefix(path, "/v1/") || strings.HasSuffix(path, "/") {
			continue
		}
		routes = append(routes, r)
		item := o.doc.Paths.Value(path)
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("route %q is not in %s", r, openAPIFile)
		}
	}
	if len(routes) < 15 {
		t.Fatalf("found only %d routes under /v1/; has routes.go moved?", len(routes))
	}
	for path, item := range o.doc.Paths.Map() {
		for method := range item.Operations() {
			if r := method + " " + path; !slices.Contains(routes, r) {
				t.Errorf("%s describes %q, which the server does not register", openAPIFile, r)
			}
		}
	}
}

func TestOpenAPIDocumentIsServed(t *testing.T) {
	e := newEnv(t)
	r := e.request("GET", "/v1/openapi.json", "", nil)
	expect(t, r, http.StatusOK, "")
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "max-age=") {
		t.Errorf("Cache-Control %q, want a max-age", cc)
	}
	want, err := os.ReadFile(openAPIFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.raw, want) {
		t.Error("the served document differs from openapi.json")
	}
}

// checkExchange fails the test unless the exchange matches the document (openapitest.Checker.Check).
func (o *openAPI) checkExchange(t *testing.T, req *http.Request, sent []byte, res *http.Response, raw []byte) {
	t.Helper()
	if err := o.Check(req, sent, res, raw); err != nil {
		t.Error(err)
	}
}
