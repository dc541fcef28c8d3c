package files

import "fmt"

// Refusal is every refusal of a file by Detect or Inspect. Code is one of the Code constants; Message
// is written for the person who sent the file and says what the file is or what is wrong with it.
type Refusal struct {
	Code    string
	Message string
}

func (r *Refusal) Error() string { return r.Code + ": " + r.Message }

// Refusal codes. They reach API clients; never rename one.
const (
	CodeTypeNotAllowed = "attachment_type_not_allowed" // not a kind Parley accepts (or HTML/SVG/exe…)
	CodeTypeMismatch   = "attachment_type_mismatch"    // declared type ≠ detected kind
	CodeUnsafe         = "attachment_unsafe"           // archive bomb, image too large, broken structure
)

func notAllowed(format string, args ...any) *Refusal {
	return &Refusal{Code: CodeTypeNotAllowed, Message: fmt.Sprintf(format, args...)}
}

func mismatch(format string, args ...any) *Refusal {
	return &Refusal{Code: CodeTypeMismatch, Message: fmt.Sprintf(format, args...)}
}

func unsafe(format string, args ...any) *Refusal {
	return &Refusal{Code: CodeUnsafe, Message: fmt.Sprintf(format, args...)}
}
