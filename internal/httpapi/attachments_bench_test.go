package httpapi_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/chat/chattest"
	"github.com/parleyhq/parley/internal/files"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store/dbtest"
)

// Attachment throughput over real HTTP, for docs/performance.md: a 5 MB screenshot uploaded and
// downloaded through Parley (SQLite, or PostgreSQL with PARLEY_TEST_STORE=postgres), each beside its
// floor measured in the same run — the same bytes through the same client and loopback listener to a
// bare net/http handler that discards them (upload) or serves them from memory (download).

// noisePNG encodes a PNG of random pixels (which do not compress) of about size bytes: a worst-case
// screenshot.
func noisePNG(b testing.TB, size int) []byte {
	b.Helper()
	side := 1
	for side*side*3 < size {
		side++
	}
	img := image.NewNRGBA(image.Rect(0, 0, side, side))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(img.Pix); i += 4 {
		v := rng.Uint32()
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(v), uint8(v>>8), uint8(v>>16), 255
	}
	var out bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&out, img); err != nil {
		b.Fatal(err)
	}
	return out.Bytes()
}

// benchServer is Parley behind a real listener, with one workspace and one visitor session.
type benchServer struct {
	url, token string
	visitor    *chat.Visitor
	svc        *chat.Service
	client     *http.Client
}

func newBenchServer(b *testing.B) *benchServer {
	b.Helper()
	ctx := context.Background()
	st := dbtest.Open(b)
	hub := realtime.NewHub()
	svc := chattest.Start(b, chat.Config{Store: st, Events: hub}, hub)
	api := httpapi.New(httpapi.Config{Chat: svc, Events: hub})
	srv := httptest.NewServer(api)
	b.Cleanup(func() {
		srv.CloseClientConnections()
		api.Shutdown(ctx)
		srv.Close()
	})
	ws, err := svc.CreateWorkspace(ctx, "Bench Bank")
	if err != nil {
		b.Fatal(err)
	}
	token, v, err := svc.CreateSession(ctx, ws.ID)
	if err != nil {
		b.Fatal(err)
	}
	return &benchServer{url: srv.URL, token: token, visitor: v, svc: svc, client: srv.Client()}
}

// floorServer answers uploads by reading the body to io.Discard and downloads by writing data from
// memory with the same headers Parley sends.
func floorServer(b *testing.B, data []byte) (string, *http.Client) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			if _, err := io.Copy(io.Discard, r.Body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"attachment":{}}`)
			return
		}
		files.AttachmentHeaders(w.Header(), "png", "shot.png", int64(len(data)))
		w.Write(data)
	}))
	b.Cleanup(srv.Close)
	return srv.URL, srv.Client()
}

// post sends an upload body and returns the status and reply.
func benchPost(b *testing.B, client *http.Client, url, token, contentType string, body []byte) (int, []byte) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	reply, _ := io.ReadAll(res.Body)
	return res.StatusCode, reply
}

func benchGet(b *testing.B, client *http.Client, url, token string, want int64) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	n, err := io.Copy(io.Discard, res.Body)
	if err != nil || res.StatusCode != 200 || n != want {
		b.Fatalf("download: %d, %d bytes, %v", res.StatusCode, n, err)
	}
}

func BenchmarkUpload5MB(b *testing.B) {
	shot := noisePNG(b, 5_000_000)
	body, ct := multipartFile(b, "shot.png", "image/png", shot)
	b.Run("floor", func(b *testing.B) {
		url, client := floorServer(b, shot)
		b.SetBytes(int64(len(shot)))
		for b.Loop() {
			if status, reply := benchPost(b, client, url+"/v1/widget/attachments", "x", ct, body); status != 201 {
				b.Fatalf("%d %s", status, reply)
			}
		}
	})
	b.Run("parley", func(b *testing.B) {
		s := newBenchServer(b)
		b.SetBytes(int64(len(shot)))
		for b.Loop() {
			if status, reply := benchPost(b, s.client, s.url+"/v1/widget/attachments", s.token, ct, body); status != 201 {
				b.Fatalf("%d %s", status, reply)
			}
		}
	})
}

func BenchmarkDownload5MB(b *testing.B) {
	shot := noisePNG(b, 5_000_000)
	b.Run("floor", func(b *testing.B) {
		url, client := floorServer(b, shot)
		b.SetBytes(int64(len(shot)))
		for b.Loop() {
			benchGet(b, client, url+"/v1/widget/attachments/att_x", "x", int64(len(shot)))
		}
	})
	b.Run("parley", func(b *testing.B) {
		s := newBenchServer(b)
		att, err := s.svc.UploadForVisitor(context.Background(), s.visitor, "shot.png", "image/png", bytes.NewReader(shot))
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(shot)))
		for b.Loop() {
			benchGet(b, s.client, s.url+"/v1/widget/attachments/"+att.ID, s.token, int64(len(shot)))
		}
	})
}
