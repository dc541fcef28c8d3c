package httpapi_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"image"
	"image/gif"
	"image/jpeg"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/files"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// uploadCodes are the only error codes an upload may answer with (attachments on, no rate limits).
var uploadCodes = []string{"invalid_upload", "unsupported_media_type", "attachment_too_large",
	files.CodeTypeNotAllowed, files.CodeTypeMismatch, files.CodeUnsafe}

// fuzzBoundary is the boundary of the seeds' bodies.
const fuzzBoundary = "fuzzB0undary"

// fuzzForm builds a multipart body of parts (name, file name, declared type, data) with boundary.
func fuzzForm(f *testing.F, boundary string, parts ...[4]string) []byte {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if err := mw.SetBoundary(boundary); err != nil {
		f.Fatal(err)
	}
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := `form-data; name="` + p[0] + `"`
		if p[1] != "" {
			cd += `; filename="` + p[1] + `"`
		}
		h.Set("Content-Disposition", cd)
		if p[2] != "" {
			h.Set("Content-Type", p[2])
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			f.Fatal(err)
		}
		io.WriteString(w, p[3])
	}
	if err := mw.Close(); err != nil {
		f.Fatal(err)
	}
	return b.Bytes()
}

// FuzzUploadHandler sends fuzzed Content-Types (boundaries), multipart bodies (part headers, file
// contents, truncations) and transfer modes to POST /v1/widget/attachments, on SQLite. Whatever comes
// in: never a 5xx; a 4xx is the error shape with one of uploadCodes; a 201 only for a file that
// files.Detect and files.Inspect accept as the kind returned, stored byte for byte; and after every
// request no attachment record and no stored chunk other than the accepted file's (which the harness
// then deletes), so a refused request leaves nothing behind.
func FuzzUploadHandler(f *testing.F) {
	z := newWidgetFuzzer(f)
	db, err := sql.Open("sqlite", "file:"+z.st.(*sqlite.DB).Path()+"?mode=ro")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	count := func(t *testing.T, query string) int {
		var n int
		if err := db.QueryRow(query).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}

	webp, err := os.ReadFile("../files/testdata/lossless.webp")
	if err != nil {
		f.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	var jpg, gf bytes.Buffer
	if err := jpeg.Encode(&jpg, img, nil); err != nil {
		f.Fatal(err)
	}
	if err := gif.Encode(&gf, img, nil); err != nil {
		f.Fatal(err)
	}
	ct := "multipart/form-data; boundary=" + fuzzBoundary
	valid := []struct{ name, declared, data string }{
		{"a.png", "image/png", string(pngBytes(f, 4, 3))},
		{"a.jpg", "image/jpeg", jpg.String()},
		{"a.gif", "image/gif", gf.String()},
		{"a.webp", "image/webp", string(webp)},
		{"a.pdf", "application/pdf", pdfBytes},
		{"a.txt", "text/plain", "hello, world\n"},
		{"a.csv", "text/csv", "a,b\n1,2\n"},
		{"a.docx", typeDOCX, string(officeBytes(f, "docx", nil))},
		{"a.xlsx", "", string(officeBytes(f, "xlsx", nil))},
		{"a.pptx", "application/octet-stream", string(officeBytes(f, "pptx", nil))},
		{"poly.gif", "", string(gifPolyglotBytes())},
	}
	for _, v := range valid {
		body := fuzzForm(f, fuzzBoundary, [4]string{"file", v.name, v.declared, v.data})
		f.Add(ct, body, false)
		f.Add(ct, body, true)
		f.Add(ct, body[:len(body)/2], false)                  // cut in the file
		f.Add(ct, body[:len(body)-len(fuzzBoundary)-4], true) // cut in the closing boundary
	}
	for _, h := range []struct{ name, declared, data string }{
		{"x.svg", "image/svg+xml", `<svg onload="alert(1)"/>`},
		{"x.png", "image/png", "<!DOCTYPE html><script>alert(1)</script>"},
		{"x.png", "image/png", pdfBytes},
		{"x.exe", "", "MZ\x90\x00\x03\x00\x00\x00"},
		{"x.docx", typeDOCX, string(docxBytes(f, map[string][]byte{"word/zeros.bin": make([]byte, 2<<20)}))},
		{"../\u202etxt.exe", "", "hello"},
		{"empty.txt", "text/plain", ""},
	} {
		f.Add(ct, fuzzForm(f, fuzzBoundary, [4]string{"file", h.name, h.declared, h.data}), false)
	}
	one := [4]string{"file", "a.txt", "text/plain", "hello"}
	f.Add(ct, fuzzForm(f, fuzzBoundary, one, one), false)
	f.Add(ct, fuzzForm(f, fuzzBoundary, [4]string{"note", "", "", "x"}, one), false)
	f.Add(ct, fuzzForm(f, fuzzBoundary, one, [4]string{"note", "", "", "x"}), false)
	f.Add(ct, fuzzForm(f, fuzzBoundary, [4]string{"file", "", "", "no file name"}), false)
	f.Add(ct, fuzzForm(f, fuzzBoundary), false)
	f.Add(ct, []byte{}, true)
	// Odd boundaries: quoted with spaces, the longest RFC 2046 allows, one character, and a boundary that
	// appears inside the file.
	for _, b := range []string{"a b'()+_,-./:=?", strings.Repeat("z", 70), "x", "--"} {
		f.Add(`multipart/form-data; boundary="`+b+`"`, fuzzForm(f, b, one), false)
	}
	f.Add("multipart/form-data; boundary=abc", []byte("--abc\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nx--abc\r\n--abcd\r\n--abc--\r\n"), false)
	f.Add("multipart/form-data; boundary=abc; boundary=def", fuzzForm(f, "abc", one), false)
	f.Add("multipart/form-data", fuzzForm(f, fuzzBoundary, one), false)
	f.Add("MULTIPART/FORM-DATA; BOUNDARY="+fuzzBoundary, fuzzForm(f, fuzzBoundary, one), false)
	f.Add("application/json", []byte(`{"file":"x"}`), false)
	f.Add("", []byte("hello"), false)

	f.Fuzz(func(t *testing.T, contentType string, body []byte, chunked bool) {
		req := httptest.NewRequest(http.MethodPost, "/v1/widget/attachments", bytes.NewReader(body))
		if chunked {
			req.ContentLength = -1
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		req.Header.Set("Authorization", "Bearer "+z.token)
		rec := httptest.NewRecorder()
		z.api.ServeHTTP(rec, req)

		status := rec.Code
		var reply struct {
			Attachment struct{ ID string }            `json:"attachment"`
			Error      struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil {
			t.Fatalf("%d, not JSON: %q", status, rec.Body.Bytes())
		}
		switch {
		case status >= 500:
			t.Fatalf("%q %q: %d %s", contentType, body, status, rec.Body.Bytes())
		case status >= 400:
			if !slices.Contains(uploadCodes, reply.Error.Code) || reply.Error.Message == "" {
				t.Fatalf("%q %q: %d with code %q: %s", contentType, body, status, reply.Error.Code, rec.Body.Bytes())
			}
		case status == http.StatusCreated:
			checkAccepted(t, z, contentType, body, reply.Attachment.ID)
			if err := z.svc.DiscardUpload(context.Background(), reply.Attachment.ID); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("%q %q: status %d", contentType, body, status)
		}
		if n, c := count(t, "SELECT COUNT(*) FROM attachments"), count(t, "SELECT COUNT(*) FROM blob_chunks"); n != 0 || c != 0 {
			t.Fatalf("%q %q: %d, and %d attachment records and %d chunks are left", contentType, body, status, n, c)
		}
	})
}

// checkAccepted fails unless the accepted attachment id is the request's one file, stored whole, of a
// kind Detect and Inspect give for its bytes and its declared type.
func checkAccepted(t *testing.T, z *widgetFuzzer, contentType string, body []byte, id string) {
	t.Helper()
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		t.Fatalf("accepted a Content-Type Go cannot parse: %q", contentType)
	}
	part, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).NextPart()
	if err != nil {
		t.Fatalf("accepted a body without a part: %q", body)
	}
	data, err := io.ReadAll(part)
	if err != nil {
		t.Fatalf("accepted a file that cannot be read whole: %v", err)
	}
	a, err := z.st.Attachment(context.Background(), id)
	if err != nil || a.State != store.AttachmentReady {
		t.Fatalf("201 for %s, stored %+v, %v", id, a, err)
	}
	k, err := files.Detect(data, part.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("201 for a file Detect refuses: %v", err)
	}
	k, meta, err := files.Inspect(k, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("201 for a file Inspect refuses: %v", err)
	}
	if a.Kind != k.Name || a.Size != int64(len(data)) || a.Width != meta.Width || a.Height != meta.Height || a.Name != files.NameForKind(part.FileName(), k) {
		t.Fatalf("stored %+v; the file is a %s of %d bytes, %+v", a, k.Name, len(data), meta)
	}
	obj, err := files.DBStorage{Store: z.st}.Open(context.Background(), a.StorageKey, a.Size)
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	stored, err := io.ReadAll(obj)
	if err != nil || !bytes.Equal(stored, data) {
		t.Fatalf("stored bytes differ from the file's (%v)", err)
	}
}
