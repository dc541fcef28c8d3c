package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/parleyhq/parley/internal/jsonstrict"
	"github.com/parleyhq/parley/internal/problem"
)

// maxBodyBytes bounds every JSON request body. The largest legitimate body is a 4000-character message,
// which JSON escaping can grow to about 47 KiB: a client that escapes all non-ASCII text (Python's
// json.dumps does by default) sends a character outside the BMP as a 12-byte surrogate pair.
const maxBodyBytes = 64 << 10

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// writeJSON writes v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true) // customer text stays inert even if a client renders JSON as HTML
	_ = enc.Encode(v)
}

// writeError is the one path from an error to a response: problems become their status and code;
// anything else is logged and becomes a 500 that reveals nothing.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p, ok := problem.As(err)
	if !ok {
		a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		p = problem.New(http.StatusInternalServerError, "internal_error", "something went wrong on our side; try again")
	} else if p.Status >= 500 {
		a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "code", p.Code, "err", err)
	} else {
		a.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "code", p.Code, "status", p.Status)
	}
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(p.RetryAfter.Seconds())))
	}
	writeJSON(w, p.Status, errorBody{Error: errorDetail{Code: p.Code, Message: p.Message, Field: p.Field}})
}

// decodeJSON reads a JSON object body strictly into v: the right media type, a size cap, valid UTF-8, no
// duplicate or unknown members, typed values.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return problem.New(http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as application/json")
		}
	} else {
		return problem.New(http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as application/json (the Content-Type header is missing)")
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return problem.New(http.StatusRequestEntityTooLarge, "body_too_large", "the request body is larger than %d bytes", maxBodyBytes)
		}
		return problem.New(http.StatusBadRequest, "invalid_json", "could not read the request body")
	}
	if err := jsonstrict.Unmarshal(data, v); err != nil {
		var je *jsonstrict.Error
		if errors.As(err, &je) && !je.Syntax && je.Field != "" {
			return problem.InvalidField(je.Field, "%s", je.Reason)
		}
		return problem.New(http.StatusBadRequest, "invalid_json", "the body is not a valid JSON object: %s", err)
	}
	return nil
}
