// Package problem defines the one error type that crosses Parley's layers on its way to a client: an
// HTTP status, a stable machine code and a message written for the integrator who has to fix it.
//
// Codes are part of the public contract (docs/api.md); never rename one. Messages may improve freely.
package problem

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Error is a failure that a client caused or can act on.
type Error struct {
	Status  int    // HTTP status
	Code    string // stable snake_case code
	Message string // what happened and what to do

	// RetryAfter, when positive, tells the client when to try again (429, 503).
	RetryAfter time.Duration
	// Field names the request field that failed validation (invalid_field).
	Field string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// New returns an Error with a formatted message.
func New(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// As reports whether err is (or wraps) an *Error and returns it.
func As(err error) (*Error, bool) {
	var p *Error
	if errors.As(err, &p) {
		return p, true
	}
	return nil, false
}

// HasCode reports whether err is an *Error with the given code.
func HasCode(err error, code string) bool {
	p, ok := As(err)
	return ok && p.Code == code
}

// Common problems shared by several packages.

// InvalidField reports a request field that failed validation.
func InvalidField(field, format string, args ...any) *Error {
	return &Error{
		Status:  http.StatusUnprocessableEntity,
		Code:    "invalid_field",
		Message: field + ": " + fmt.Sprintf(format, args...),
		Field:   field,
	}
}

// NotFound reports a missing resource without saying whether it exists elsewhere.
func NotFound(code, format string, args ...any) *Error {
	return New(http.StatusNotFound, code, format, args...)
}

// RateLimited asks the client to slow down.
func RateLimited(retryAfter time.Duration) *Error {
	secs := int((retryAfter + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return &Error{
		Status:     http.StatusTooManyRequests,
		Code:       "rate_limited",
		Message:    fmt.Sprintf("too many requests; try again in %ds", secs),
		RetryAfter: time.Duration(secs) * time.Second,
	}
}
