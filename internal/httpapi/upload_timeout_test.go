package httpapi_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"testing"
	"time"
)

// trickle yields its bytes a little at a time, slower than the server's read timeout in total.
type trickle struct {
	data []byte
	step time.Duration
}

func (r *trickle) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	time.Sleep(r.step)
	n := copy(p[:min(len(p), 4096)], r.data)
	r.data = r.data[n:]
	return n, nil
}

// An upload outlives the server's read timeout (which suits forms): a widget upload that trickles in
// over a second completes on a server whose ReadTimeout is 300 ms.
func TestSlowWidgetUploadOutlivesReadTimeout(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: e.api, ReadTimeout: 300 * time.Millisecond, ReadHeaderTimeout: 300 * time.Millisecond}
	go srv.Serve(ln)
	defer srv.Close()

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "notes.txt")
	fw.Write(bytes.Repeat([]byte("a line of notes\n"), 2000)) // 32 KB
	mw.Close()
	req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/v1/widget/attachments", &trickle{data: body.Bytes(), step: 130 * time.Millisecond})
	req.ContentLength = int64(body.Len())
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+e.session())
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 || time.Since(start) < 300*time.Millisecond {
		t.Fatalf("slow upload: %d %s after %s", resp.StatusCode, answer, time.Since(start))
	}
}
