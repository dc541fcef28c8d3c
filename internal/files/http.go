package files

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// Receiving and serving attachments over HTTP, the same way for the widget API and the agent console.

// multipartOverhead is what a browser's multipart body adds around one file: boundaries and part
// headers (a long file name included).
const multipartOverhead = 64 << 10

// ReceiveUpload reads a multipart/form-data upload of one file, in a part named "file" with a file
// name, and hands its name, declared type and bytes to save. A body that is not such a form, that has
// another part first or after the file, or that ends early is 400 invalid_upload (and what save kept
// of it is discarded); a body larger than maxFile plus the form's overhead is 413 attachment_too_large.
func ReceiveUpload(w http.ResponseWriter, r *http.Request, maxFile int64, save func(name, declared string, body io.Reader) (store.Attachment, error), discard func(id string)) (store.Attachment, error) {
	var att store.Attachment
	invalid := func(format string, args ...any) error {
		return problem.New(http.StatusBadRequest, "invalid_upload", format, args...)
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return att, problem.New(http.StatusUnsupportedMediaType, "unsupported_media_type", "send the file as multipart/form-data, in a part named file")
	}
	if r.ContentLength > maxFile+multipartOverhead {
		return att, tooLarge(maxFile)
	}
	// The server's read timeout suits forms, not a file of up to 100 MB on a slow line: an upload gets two
	// minutes, and a second more for every 100 kB it may carry (real time: a deadline of the network).
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(2*time.Minute + time.Duration(maxFile/100_000)*time.Second))
	r.Body = http.MaxBytesReader(w, r.Body, maxFile+multipartOverhead)
	mr, err := r.MultipartReader()
	if err != nil {
		return att, invalid("the body is not a multipart form")
	}
	part, err := mr.NextPart()
	if err != nil {
		return att, uploadError(err, maxFile, invalid("the form holds no file"))
	}
	if part.FormName() != "file" || part.FileName() == "" {
		return att, invalid("the form's first part must be the file, named file, with a file name")
	}
	att, err = save(part.FileName(), part.Header.Get("Content-Type"), part)
	if err != nil {
		return att, uploadError(err, maxFile, err)
	}
	// Nothing may follow the file: a second file would be silently dropped, and a form that does not
	// end properly was cut short. Only a bare io.EOF is the form's proper end: NextPart wraps the io.EOF
	// of a body that stops before its closing boundary, so errors.Is would take a truncated upload for
	// a whole one.
	if _, err := mr.NextPart(); err != io.EOF {
		discard(att.ID)
		return store.Attachment{}, uploadError(err, maxFile, invalid("send one file per upload, and nothing after it"))
	}
	return att, nil
}

// uploadError maps a failure to read or store the body: the size limit is 413, a problem passes as it
// is, anything else (a reader's error) is the fallback. save maps its own read errors to problems, so a
// failure of the store stays the 500 it is.
func uploadError(err error, maxFile int64, fallback error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return tooLarge(maxFile)
	}
	if _, ok := problem.As(err); ok {
		return err
	}
	return fallback
}

func tooLarge(maxFile int64) error {
	return problem.New(http.StatusRequestEntityTooLarge, "attachment_too_large", "the file is larger than this workspace accepts (%s)", HumanSize(maxFile))
}

// Serve writes an attachment's bytes with AttachmentHeaders, for the widget API and the console alike.
func Serve(w http.ResponseWriter, r *http.Request, att store.Attachment, body io.Reader) {
	AttachmentHeaders(w.Header(), att.Kind, att.Name, att.Size)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = io.Copy(w, body) // a client that goes away mid-download is no error of ours
}

// HumanSize renders a byte count for people: "10 MB", "250 KB", "12 bytes" (decimal units, as file
// managers and the limits' settings use).
func HumanSize(n int64) string {
	switch {
	case n >= 1_000_000:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/1e6), ".0") + " MB"
	case n >= 1000:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/1e3), ".0") + " KB"
	}
	return fmt.Sprintf("%d bytes", n)
}
