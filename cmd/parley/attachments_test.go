package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// pdfOf builds a PDF-looking file of about n bytes (the magic, then filler).
func pdfOf(n int) []byte {
	b := []byte("%PDF-1.4\n")
	for len(b) < n {
		b = append(b, fmt.Sprintf("%% filler line %d\n", len(b))...)
	}
	return b
}

// multipartFile is a one-file upload body and its content type.
func multipartFile(t *testing.T, name, declared string, data []byte) ([]byte, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, name))
	if declared != "" {
		h.Set("Content-Type", declared)
	}
	pw, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	pw.Write(data)
	mw.Close()
	return body.Bytes(), mw.FormDataContentType()
}

// inspectStore opens the (stopped) server's database, runs fn, and closes it.
func inspectStore(t *testing.T, data string, fn func(st store.Store)) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(data, "parley.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fn(st)
}

// A server killed (SIGKILL) in the middle of an upload leaves nothing that anything refers to: the
// record stays "uploading", unsendable and unreadable, and after restarting, cleanup deletes it and its
// chunks once the hour has passed. A file whose upload finished before the kill survives whole.
func TestServeUploadSurvivesKill(t *testing.T) {
	data := t.TempDir()
	offset := filepath.Join(t.TempDir(), "offset")
	if err := os.WriteFile(offset, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{clockOffsetEnv + "=" + offset}
	ws := cli(t, data, "workspace", "create", "--name", "Acme", "--json")["id"].(string)
	s := startServerEnv(t, env, data, "127.0.0.1:0", "--cleanup-interval", "100ms")
	tok := mustCall(t, "POST", s.url()+"/v1/widget/sessions", "", map[string]string{"workspace": ws}, 201)["session_token"].(string)

	// A finished upload, not sent yet.
	done := pdfOf(700 << 10)
	body, ct := multipartFile(t, "done.pdf", "application/pdf", done)
	req, _ := http.NewRequest("POST", s.url()+"/v1/widget/attachments", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", ct)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	finished, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("upload: %d %s", resp.StatusCode, finished)
	}
	doneID := regexp.MustCompile(`"id":"(att_[^"]+)"`).FindStringSubmatch(string(finished))[1]

	// An upload cut by the kill: 3 MB announced, about 1 MB sent.
	cut := pdfOf(3 << 20)
	body, ct = multipartFile(t, "cut.pdf", "application/pdf", cut)
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/widget/attachments HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		s.addr, tok, ct, len(body))
	if _, err := conn.Write(body[:1<<20]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond) // the server stores the chunks it has
	s.kill()

	var cutID string
	inspectStore(t, data, func(st store.Store) {
		all, err := st.StaleAttachments(t.Context(), time.Now().Add(time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range all {
			if a.State == store.AttachmentUploading {
				cutID = a.ID
				if _, err := st.BlobChunk(t.Context(), a.StorageKey, 0); err != nil {
					t.Errorf("the cut upload wrote no chunk before the kill (%v): the test did not cut it mid-way", err)
				}
			}
		}
	})
	if cutID == "" {
		t.Fatal("no uploading record after the kill: the upload was not cut mid-way")
	}

	s = startServerEnv(t, env, data, "127.0.0.1:0", "--cleanup-interval", "100ms")
	// The cut upload can be neither read nor sent; the finished one can, whole.
	for _, id := range []string{cutID, doneID + "x"} {
		status, _, err := call(http.DefaultClient, "GET", s.url()+"/v1/widget/attachments/"+id, tok, nil)
		if err != nil || status != 404 {
			t.Errorf("GET %s after the kill: %d %v; want 404", id, status, err)
		}
	}
	status, answer, _ := call(http.DefaultClient, "POST", s.url()+"/v1/widget/messages", tok, map[string]any{"body": "", "attachments": []string{cutID}})
	if status != 422 {
		t.Errorf("sending the cut upload: %d %v; want 422", status, answer)
	}
	mustCall(t, "POST", s.url()+"/v1/widget/messages", tok, map[string]any{"body": "here", "attachments": []string{doneID}}, 201)
	req, _ = http.NewRequest("GET", s.url()+"/v1/widget/attachments/"+doneID, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if sha256.Sum256(got) != sha256.Sum256(done) || resp.Header.Get("Content-Length") != strconv.Itoa(len(done)) {
		t.Errorf("the finished upload reads back %d bytes (Content-Length %s); want %d, identical", len(got), resp.Header.Get("Content-Length"), len(done))
	}

	// Two hours later, cleanup has deleted the cut upload and every chunk it wrote.
	if err := os.WriteFile(offset, []byte("2h"), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !regexp.MustCompile(`msg=cleanup .*\battachments=1\b`).MatchString(s.log()) {
		if time.Now().After(deadline) {
			t.Fatalf("cleanup did not delete the cut upload\n%s", s.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v\n%s", err, s.log())
	}
	inspectStore(t, data, func(st store.Store) {
		if _, err := st.Attachment(t.Context(), cutID); err == nil {
			t.Error("the cut upload's record is still there")
		}
		if _, err := st.BlobChunk(t.Context(), cutID, 0); err == nil {
			t.Error("the cut upload's chunks are still there")
		}
		if a, err := st.Attachment(t.Context(), doneID); err != nil || a.MessageSeq == 0 {
			t.Errorf("the sent file: %+v, %v", a, err)
		}
	})
}
