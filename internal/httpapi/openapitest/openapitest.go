// Package openapitest checks HTTP exchanges with Parley against its OpenAPI document, for tests: the
// httpapi suite checks every /v1/ response it receives, and the process tests of cmd/parley check what
// the real binary answers.
package openapitest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Checker is a loaded, valid OpenAPI 3.1 document and a router finding its operations.
type Checker struct {
	Doc    *openapi3.T
	router routers.Router
}

// Load parses the document and checks that it is valid OpenAPI 3.1.
func Load(data []byte) (*Checker, error) {
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("the OpenAPI document does not load: %w", err)
	}
	if doc.OpenAPIMajorMinor() != "3.1" {
		return nil, fmt.Errorf("the OpenAPI document says openapi %q, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is not valid OpenAPI 3.1: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &Checker{Doc: doc, router: router}, nil
}

// Check returns an error unless the document declares res's status for req's operation and res's JSON
// body matches its schema, and, when the server accepted the request (2xx), unless the request (sent
// body, parameters) matches the document too: a call the server takes must be one the document
// describes. Paths outside /v1/ or that the document does not describe (the 404 catch-alls) are not
// checked; nor are bodies that are not JSON (files, transcripts), beyond their status. raw is the
// response body as read.
func (c *Checker) Check(req *http.Request, sent []byte, res *http.Response, raw []byte) error {
	if !strings.HasPrefix(req.URL.Path, "/v1/") {
		return nil
	}
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		return nil
	}
	noAuth := openapi3filter.NoopAuthenticationFunc
	opts := &openapi3filter.Options{IncludeResponseStatus: true, AuthenticationFunc: noAuth}
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt != "application/json" {
		opts.ExcludeResponseBody = true
	}
	if res.StatusCode/100 == 2 {
		accepted := req.Clone(context.Background())
		accepted.Body = io.NopCloser(bytes.NewReader(sent))
		in := &openapi3filter.RequestValidationInput{Request: accepted, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: noAuth}}
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			return fmt.Errorf("%s %s: the server accepted a request (%s) that the OpenAPI document does not describe: %w", req.Method, req.URL.Path, sent, err)
		}
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts},
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(raw)),
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s: the response (%d %s) does not match the OpenAPI document: %w", req.Method, req.URL.Path, res.StatusCode, raw, err)
	}
	return nil
}
