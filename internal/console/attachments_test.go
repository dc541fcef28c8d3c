package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// pngBytes is a real PNG of the given size.
func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pdfBytes is a small PDF: Parley checks its magic only.
var pdfBytes = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

type part struct {
	field, name, contentType string
	data                     []byte
}

// multipartBody builds a multipart/form-data body of the given parts.
func multipartBody(t *testing.T, parts ...part) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		disp := `form-data; name="` + p.field + `"`
		if p.name != "" {
			disp += `; filename="` + p.name + `"`
		}
		h.Set("Content-Disposition", disp)
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.data)
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// upload posts a body to POST /console/attachments as the console's script does: the CSRF token in
// X-CSRF-Token, from the console's own origin. headers override (an empty value removes one).
func (b *browser) upload(contentType string, body []byte, headers ...string) page {
	b.e.t.Helper()
	req, err := http.NewRequest("POST", b.e.srv.URL+"/console/attachments", bytes.NewReader(body))
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-CSRF-Token", b.csrf)
	req.Header.Set("Origin", b.e.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	return b.do(req)
}

type uploaded struct {
	Attachment struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		Size        int64  `json:"size"`
		ContentType string `json:"content_type"`
		Kind        string `json:"kind"`
		Image       bool   `json:"image"`
		Width       int    `json:"width"`
		Height      int    `json:"height"`
	} `json:"attachment"`
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func decodeUpload(t *testing.T, p page) uploaded {
	t.Helper()
	var u uploaded
	if err := json.Unmarshal([]byte(p.body), &u); err != nil {
		t.Fatalf("the answer (%d) is not JSON: %v\n%s", p.status, err, p.body)
	}
	if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q; want JSON", ct)
	}
	return u
}

// mustUpload uploads one file and returns its attachment.
func (b *browser) mustUpload(name, contentType string, data []byte) uploaded {
	b.e.t.Helper()
	ct, body := multipartBody(b.e.t, part{"file", name, contentType, data})
	p := b.upload(ct, body)
	if p.status != http.StatusCreated {
		b.e.t.Fatalf("upload %s: %d\n%s", name, p.status, p.body)
	}
	return decodeUpload(b.e.t, p)
}

// Uploads take the CSRF token from a header (the body is a file, not a form) and the same-origin rule;
// every refusal is JSON with a stable code.
func TestConsoleUpload(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "admin@acme.example")
	ada := e.agent(tn.ws.ID, "ada@acme.example", "Ada", store.RoleAgent)
	b := e.signedIn(ada)

	img := pngBytes(t, 40, 30)
	u := b.mustUpload("screen shot.png", "image/png", img)
	a := u.Attachment
	if !strings.HasPrefix(a.ID, "att_") || a.Name != "screen shot.png" || a.Size != int64(len(img)) || a.Kind != "png" ||
		a.ContentType != "image/png" || !a.Image || a.Width != 40 || a.Height != 30 {
		t.Fatalf("attachment %+v", a)
	}
	// The exact shape of the widget API's attachment: no more, no less.
	ct, body := multipartBody(t, part{"file", "doc.pdf", "application/pdf", pdfBytes})
	p := b.upload(ct, body)
	var raw map[string]map[string]any
	if err := json.Unmarshal([]byte(p.body), &raw); err != nil || p.status != http.StatusCreated {
		t.Fatalf("pdf: %d %v\n%s", p.status, err, p.body)
	}
	keys := []string{}
	for k := range raw["attachment"] {
		keys = append(keys, k)
	}
	if got := strings.Join(slices.Sorted(slices.Values(keys)), ","); got != "content_type,id,image,kind,name,size" {
		t.Errorf("a PDF's keys: %s", got)
	}

	ct, body = multipartBody(t, part{"file", "x.png", "image/png", img})
	for _, c := range []struct {
		name    string
		headers []string
		status  int
		code    string
	}{
		{"no token", []string{"X-CSRF-Token", ""}, http.StatusForbidden, "csrf_failed"},
		{"a wrong token", []string{"X-CSRF-Token", "not-the-token"}, http.StatusForbidden, "csrf_failed"},
		{"another site", []string{"Origin", "https://evil.example"}, http.StatusForbidden, "origin_refused"},
		{"another site, no Origin", []string{"Origin", "", "Sec-Fetch-Site", "cross-site"}, http.StatusForbidden, "origin_refused"},
		{"signed out", []string{"Cookie", "parley_console=nope"}, http.StatusUnauthorized, "session_invalid"},
	} {
		nb := b
		if c.name == "signed out" {
			nb = e.browser()
			nb.csrf = b.csrf
		}
		p := nb.upload(ct, body, c.headers...)
		u := decodeUpload(t, p)
		if p.status != c.status || u.Error.Code != c.code {
			t.Errorf("%s: %d %q; want %d %q", c.name, p.status, u.Error.Code, c.status, c.code)
		}
	}
	// The token in a form field instead of the header does not count: the body is never parsed as a form.
	form := url.Values{"csrf": {b.csrf}}
	p = b.upload("application/x-www-form-urlencoded", []byte(form.Encode()), "X-CSRF-Token", "")
	if u := decodeUpload(t, p); p.status != http.StatusForbidden || u.Error.Code != "csrf_failed" {
		t.Errorf("token in a form field: %d %q", p.status, u.Error.Code)
	}

	html := []byte("<!doctype html><script>alert(1)</script>")
	for _, c := range []struct {
		name   string
		parts  []part
		raw    string // a body that is no multipart at all
		status int
		code   string
	}{
		{"not multipart", nil, `{"file":"x"}`, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"no part", nil, "", http.StatusBadRequest, "invalid_upload"},
		{"wrong part name", []part{{"upload", "x.png", "image/png", img}}, "", http.StatusBadRequest, "invalid_upload"},
		{"no file name", []part{{"file", "", "image/png", img}}, "", http.StatusBadRequest, "invalid_upload"},
		{"empty file", []part{{"file", "x.png", "image/png", nil}}, "", http.StatusBadRequest, "invalid_upload"},
		{"html", []part{{"file", "page.png", "", html}}, "", http.StatusUnsupportedMediaType, "attachment_type_not_allowed"},
		{"mismatch", []part{{"file", "doc.pdf", "image/png", pdfBytes}}, "", http.StatusUnsupportedMediaType, "attachment_type_mismatch"},
	} {
		ct, body := multipartBody(t, c.parts...)
		if c.raw != "" {
			ct, body = "application/json", []byte(c.raw)
		}
		p := b.upload(ct, body)
		if u := decodeUpload(t, p); p.status != c.status || u.Error.Code != c.code || u.Error.Message == "" {
			t.Errorf("%s: %d %q %q; want %d %q", c.name, p.status, u.Error.Code, u.Error.Message, c.status, c.code)
		}
	}
	// Two files in one request: refused.
	ct, body = multipartBody(t, part{"file", "a.png", "image/png", img}, part{"file", "b.png", "image/png", img})
	if p := b.upload(ct, body); p.status != http.StatusBadRequest || decodeUpload(t, p).Error.Code != "invalid_upload" {
		t.Errorf("two parts: %d %s", p.status, p.body)
	}
	// Cut short: the closing boundary never comes.
	ct, body = multipartBody(t, part{"file", "a.pdf", "application/pdf", bytes.Repeat(pdfBytes, 50)})
	if p := b.upload(ct, body[:len(body)/2]); p.status != http.StatusBadRequest || decodeUpload(t, p).Error.Code != "invalid_upload" {
		t.Errorf("truncated: %d %s", p.status, p.body)
	}

	// Larger than the workspace's limit (1 MB here): 413, and nothing of it kept.
	mb := int64(1000 * 1000)
	if _, err := e.svc.UpdateWorkspace(context.Background(), tn.ws.ID, chat.SettingsPatch{AttachmentMaxBytes: &mb}); err != nil {
		t.Fatal(err)
	}
	big := append(bytes.Clone(pdfBytes), bytes.Repeat([]byte("0"), int(mb))...)
	ct, body = multipartBody(t, part{"file", "big.pdf", "application/pdf", big})
	if p := b.upload(ct, body); p.status != http.StatusRequestEntityTooLarge || decodeUpload(t, p).Error.Code != "attachment_too_large" {
		t.Errorf("too large: %d %s", p.status, p.body)
	}
	// Attachments off: 403.
	on := false
	if _, err := e.svc.UpdateWorkspace(context.Background(), tn.ws.ID, chat.SettingsPatch{Attachments: &on}); err != nil {
		t.Fatal(err)
	}
	ct, body = multipartBody(t, part{"file", "x.png", "image/png", img})
	if p := b.upload(ct, body); p.status != http.StatusForbidden || decodeUpload(t, p).Error.Code != "attachments_disabled" {
		t.Errorf("attachments off: %d %s", p.status, p.body)
	}
	// ... and the reply box has no paperclip.
	conv := tn.say(tn.visitor(), "hello").ConversationID
	if pg := b.mustGet("/console/conversations/" + conv); strings.Contains(pg.body, "data-attach") {
		t.Error("the reply box offers attachments in a workspace that turned them off")
	}
}

// Uploads are limited per agent: a burst, then one every few seconds.
func TestConsoleUploadRateLimit(t *testing.T) {
	e := newEnv(t, func(o *envOptions) { o.limits.UploadsPerAgent.Every, o.limits.UploadsPerAgent.Burst = 1e12, 2 })
	tn := e.tenant("Acme", "admin@acme.example")
	b := e.signedIn(tn.admin)
	ct, body := multipartBody(t, part{"file", "doc.pdf", "application/pdf", pdfBytes})
	for i := range 2 {
		if p := b.upload(ct, body); p.status != http.StatusCreated {
			t.Fatalf("upload %d: %d %s", i, p.status, p.body)
		}
	}
	p := b.upload(ct, body)
	if p.status != http.StatusTooManyRequests || decodeUpload(t, p).Error.Code != "rate_limited" || p.header.Get("Retry-After") == "" {
		t.Fatalf("third upload: %d %s", p.status, p.body)
	}
	// Another agent has a budget of their own.
	other := e.agent(tn.ws.ID, "bob@acme.example", "Bob", store.RoleAgent)
	if p := e.signedIn(other).upload(ct, body, "X-CSRF-Token", ""); p.status == http.StatusTooManyRequests {
		t.Fatal("another agent was limited by the first one's uploads")
	}
}

// visitorUpload has a customer send a message with files through package chat, as the widget does.
func (tn *tenant) visitorUpload(v *chat.Visitor, body string, files ...part) store.Message {
	tn.e.t.Helper()
	ctx := context.Background()
	var ids []string
	for _, f := range files {
		a, err := tn.e.svc.UploadForVisitor(ctx, v, f.name, f.contentType, bytes.NewReader(f.data))
		if err != nil {
			tn.e.t.Fatalf("UploadForVisitor %s: %v", f.name, err)
		}
		ids = append(ids, a.ID)
	}
	m, _, err := tn.e.svc.PostMessageInput(ctx, v, chat.MessageInput{Body: body, Attachments: ids})
	if err != nil {
		tn.e.t.Fatalf("PostMessageInput: %v", err)
	}
	return m
}

var imgTag = regexp.MustCompile(`<img src="/console/attachments/(att_[^"]+)" alt="([^"]*)" width="(\d+)" height="(\d+)"`)

// A customer's screenshot and PDF in the console: the image a thumbnail (its size from the metadata),
// the PDF a card with a Download link; the files come inert, to agents of the workspace only.
func TestConsoleAttachmentDownload(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "admin@acme.example")
	other := e.tenant("Beta", "admin@beta.example")
	ada := e.agent(tn.ws.ID, "ada@acme.example", "Ada", store.RoleAgent)
	img := pngBytes(t, 64, 48)
	const hostile = `<img src=x onerror=alert(1)> Q4 "report"; x.pdf`
	m := tn.visitorUpload(tn.visitor(), "", part{"file", "shot.png", "image/png", img}, part{"file", hostile, "application/pdf", pdfBytes})
	if len(m.Attachments) != 2 {
		t.Fatalf("the message has %d attachments", len(m.Attachments))
	}
	shot, doc := m.Attachments[0], m.Attachments[1]

	b := e.signedIn(ada)
	page := b.mustGet("/console/conversations/" + m.ConversationID)
	tags := imgTag.FindAllStringSubmatch(page.body, -1)
	if len(tags) != 1 || tags[0][1] != shot.ID || tags[0][2] != "shot.png" || tags[0][3] != "64" || tags[0][4] != "48" {
		t.Fatalf("thumbnails %q", tags)
	}
	if !strings.Contains(page.body, `<a href="/console/attachments/`+shot.ID+`" target="_blank" rel="noopener">`) {
		t.Error("the thumbnail does not open the file")
	}
	card := between(page.body, `data-attachment="`+doc.ID+`"`, `</li>`)
	for _, want := range []string{`&lt;img src=x onerror=alert(1)&gt;`, "PDF document", `href="/console/attachments/` + doc.ID + `"`, ">Download<"} {
		if !strings.Contains(card, want) {
			t.Errorf("the PDF's card lacks %q:\n%s", want, card)
		}
	}
	if strings.Contains(page.body, "<img src=x") {
		t.Error("the file name reached the page as markup")
	}
	// An attachment-only customer message keeps its trust stamp, as any message.
	msg := between(page.body, `data-seq="`+itoa(m.Seq)+`"`, `</li>`)
	if !strings.Contains(msg, `data-trust-mark="none"`) || !strings.Contains(msg, `aria-label="Not verified"`) {
		t.Errorf("the attachment-only message lost its trust mark:\n%s", msg)
	}
	if strings.Contains(msg, `class="msg-body"`) {
		t.Error("an empty body is drawn")
	}
	// The inbox says the newest message is files, rather than "No messages yet".
	if inbox := b.mustGet("/console/?view=" + chat.ViewOpen); !strings.Contains(inbox.body, `<span class="conv-preview">(files)</span>`) {
		t.Errorf("the inbox row of a files-only message:\n%s", between(inbox.body, `data-conversation="`+m.ConversationID+`"`, `</li>`))
	}
	// The live fragment draws the same.
	if f := b.mustGet("/console/conversations/" + m.ConversationID + "/timeline?after=0"); len(imgTag.FindAllString(f.body, -1)) != 1 {
		t.Error("the timeline fragment has no thumbnail")
	}

	for _, c := range []struct {
		a           store.Attachment
		data        []byte
		contentType string
		disposition string
	}{
		{shot, img, "image/png", "inline; filename*=UTF-8''shot.png"},
		{doc, pdfBytes, "application/pdf", "attachment; filename*=UTF-8''" + url.PathEscape(doc.Name)},
	} {
		p := b.get("/console/attachments/" + c.a.ID)
		if p.status != http.StatusOK || p.body != string(c.data) {
			t.Fatalf("%s: %d, %d bytes", c.a.Name, p.status, len(p.body))
		}
		h := p.header
		want := map[string]string{
			"Content-Type": c.contentType, "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox",
			"Cache-Control": "private", "Content-Length": itoa(int64(len(c.data))),
		}
		for k, v := range want {
			if h.Get(k) != v {
				t.Errorf("%s: %s %q; want %q", c.a.Name, k, h.Get(k), v)
			}
		}
		disp := h.Get("Content-Disposition")
		_, encoded, _ := strings.Cut(disp, "''")
		if !strings.HasPrefix(disp, strings.SplitN(c.disposition, ";", 2)[0]+"; filename*=UTF-8''") || encoded == "" || strings.ContainsAny(encoded, ` "<>;'`) {
			t.Errorf("%s: Content-Disposition %q", c.a.Name, disp)
		}
		if c.a.ID == shot.ID && disp != c.disposition {
			t.Errorf("image: Content-Disposition %q; want %q", disp, c.disposition)
		}
	}

	// Another workspace's agent, an unknown id: 404 alike. Signed out: to the sign-in page.
	outsider := e.signedIn(other.admin)
	for _, id := range []string{shot.ID, doc.ID} {
		if p := outsider.get("/console/attachments/" + id); p.status != http.StatusNotFound || strings.Contains(p.body, "PDF-1.4") {
			t.Errorf("another workspace's agent: %d", p.status)
		}
	}
	if p := b.get("/console/attachments/att_doesnotexist"); p.status != http.StatusNotFound {
		t.Errorf("unknown id: %d", p.status)
	}
	if p := e.browser().get("/console/attachments/" + shot.ID); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/console/login") {
		t.Errorf("signed out: %d %q", p.status, p.location())
	}
}

// An agent replies with files alone, and writes a note with one: the reply's files reach the customer,
// the note's never do.
func TestConsoleReplyAndNoteWithAttachments(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "admin@acme.example")
	ada := e.agent(tn.ws.ID, "ada@acme.example", "Ada", store.RoleAgent)
	bob := e.agent(tn.ws.ID, "bob@acme.example", "Bob", store.RoleAgent)
	v := tn.visitor()
	conv := tn.say(v, "can you send me the invoice?").ConversationID
	path := "/console/conversations/" + conv

	b := e.signedIn(ada)
	page := b.mustGet(path)
	for _, want := range []string{`data-attach `, `data-attach-button`, `data-max-files="5"`, `data-max-bytes="10000000"`, `accept="image/png,.png,`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the reply box lacks %q", want)
		}
	}
	inv := b.mustUpload("invoice.pdf", "application/pdf", pdfBytes).Attachment
	shot := b.mustUpload("shot.png", "image/png", pngBytes(t, 20, 10)).Attachment
	r := b.post(path+"/reply", url.Values{"body": {""}, "client_id": {"r1"}, "attachment": {inv.ID, shot.ID}})
	if r.status != http.StatusSeeOther || r.location() != path+"#reply" {
		t.Fatalf("reply with files: %d %q\n%s", r.status, r.location(), r.body)
	}
	msgs, err := e.st.Messages(ctx, conv, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	last := msgs[len(msgs)-1]
	if last.Sender != store.SenderAgent || last.Body != "" || len(last.Attachments) != 2 || last.Attachments[0].ID != inv.ID || last.Attachments[1].ID != shot.ID {
		t.Fatalf("the reply %+v", last)
	}
	// The customer can fetch the reply's files.
	for _, id := range []string{inv.ID, shot.ID} {
		_, rc, err := e.svc.VisitorAttachment(ctx, v, id)
		if err != nil {
			t.Fatalf("the customer cannot fetch %s: %v", id, err)
		}
		rc.Close()
	}

	// A note with a file: internal, and the customer never reaches it.
	memo := b.mustUpload("memo.txt", "text/plain", []byte("refund approved\n")).Attachment
	r = b.post(path+"/reply", url.Values{"kind": {"note"}, "body": {"see memo"}, "client_id": {"n1"}, "attachment": {memo.ID}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("note with a file: %d\n%s", r.status, r.body)
	}
	msgs, _ = e.st.Messages(ctx, conv, 0, 10)
	note := msgs[len(msgs)-1]
	if !note.Internal || len(note.Attachments) != 1 || note.Attachments[0].ID != memo.ID {
		t.Fatalf("the note %+v", note)
	}
	if _, _, err := e.svc.VisitorAttachment(ctx, v, memo.ID); err == nil {
		t.Fatal("the customer reached a note's file")
	}
	page = b.mustGet(path)
	noteHTML := between(page.body, `data-seq="`+itoa(note.Seq)+`"`, `</li>`)
	if !strings.Contains(noteHTML, "memo.txt") || !strings.Contains(noteHTML, "Plain text") {
		t.Errorf("the note's file card:\n%s", noteHTML)
	}
	// The /note route (the composer of a conversation no reply can reach) takes files too.
	memo2 := b.mustUpload("memo2.txt", "text/plain", []byte("second\n")).Attachment
	if r := b.post(path+"/note", url.Values{"body": {""}, "client_id": {"n2"}, "attachment": {memo2.ID}}); r.status != http.StatusSeeOther {
		t.Fatalf("/note with a file: %d\n%s", r.status, r.body)
	}

	// A file used already, or uploaded by another agent, is refused and nothing is sent.
	bobs := e.signedIn(bob).mustUpload("bob.pdf", "application/pdf", pdfBytes).Attachment
	before, _ := e.st.Messages(ctx, conv, 0, 50)
	for _, id := range []string{inv.ID, bobs.ID, "att_nope"} {
		r := b.post(path+"/reply", url.Values{"body": {"again"}, "client_id": {"x-" + id}, "attachment": {id}})
		if r.status != http.StatusSeeOther || r.location() != path {
			t.Errorf("%s: %d %q", id, r.status, r.location())
		}
		if fl := b.mustGet(r.location()); !strings.Contains(fl.body, "flash-error") {
			t.Errorf("%s: no error shown", id)
		}
	}
	after, _ := e.st.Messages(ctx, conv, 0, 50)
	if len(after) != len(before) {
		t.Errorf("refused replies stored %d messages", len(after)-len(before))
	}
	// A reply refused for a variable with no value comes back with its text and its files, ready to
	// send again.
	kept := b.mustUpload("kept.pdf", "application/pdf", pdfBytes).Attachment
	r = b.post(path+"/reply", url.Values{"body": {"Is {{customer.email}} right?"}, "client_id": {"unfilled"}, "attachment": {kept.ID, bobs.ID}})
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("unfilled variable: %d", r.status)
	}
	chip := between(r.body, `<li class="attach-chip" data-state="done" data-attachment="`+kept.ID+`">`, `</li>`)
	if !strings.Contains(chip, `<input type="hidden" name="attachment" value="`+kept.ID+`">`) || !strings.Contains(chip, "kept.pdf") {
		t.Errorf("the refused reply's file is not in the box again:\n%s", r.body)
	}
	if strings.Contains(r.body, bobs.ID) {
		t.Error("another agent's upload was put in the box")
	}
	// An empty reply without files is still refused.
	if r := b.post(path+"/reply", url.Values{"body": {""}, "client_id": {"empty"}}); r.status != http.StatusSeeOther || r.location() != path {
		t.Errorf("empty reply: %d %q", r.status, r.location())
	}
}

// Settings: attachments on or off, the maximum size, the kinds, and what the workspace stores.
func TestConsoleAttachmentSettings(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "admin@acme.example")
	b := e.signedIn(tn.admin)
	page := b.mustGet("/console/settings")
	for _, want := range []string{`name="attachments" aria-describedby="attachments-hint" checked`, `name="attachment_max_mb" value="10"`,
		`name="attachment_kinds" value="pptx" checked`, "Stored attachments: 0 bytes"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the settings page lacks %q", want)
		}
	}
	tn.visitorUpload(tn.visitor(), "see", part{"file", "doc.pdf", "application/pdf", pdfBytes})

	form := func(mb string, on bool, kinds ...string) url.Values {
		f := url.Values{"name": {"Acme"}, "attachment_settings": {"1"}, "attachment_max_mb": {mb}, "attachment_kinds": kinds, "read_receipts": {"on"}}
		if on {
			f.Set("attachments", "on")
		}
		return f
	}
	page = b.mustPost("/console/settings", form("2.5", true, "png", "pdf"))
	ws, err := e.st.Workspace(ctx, tn.ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	st := ws.Settings
	if st.AttachmentsOff || st.AttachmentMaxBytes != 2_500_000 || strings.Join(st.AttachmentKinds, ",") != "png,pdf" {
		t.Fatalf("saved %v %d %v", st.AttachmentsOff, st.AttachmentMaxBytes, st.AttachmentKinds)
	}
	for _, want := range []string{`value="2.5"`, `value="png" checked`, `value="jpeg">`, "Stored attachments: " + itoa(int64(len(pdfBytes))) + " bytes"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("after saving, the page lacks %q", want)
		}
	}
	b.mustPost("/console/settings", form("10", false))
	ws, _ = e.st.Workspace(ctx, tn.ws.ID)
	if !ws.Settings.AttachmentsOff || strings.Join(ws.Settings.AttachmentKinds, ",") != "png,pdf" {
		t.Errorf("turned off: %+v", ws.Settings)
	}
	// A form without the attachment settings (an older page) leaves them as they are.
	b.mustPost("/console/settings", url.Values{"name": {"Acme"}, "read_receipts": {"on"}})
	if ws, _ = e.st.Workspace(ctx, tn.ws.ID); !ws.Settings.AttachmentsOff || ws.Settings.AttachmentMaxBytes != 10_000_000 {
		t.Errorf("a form without them changed the attachment settings: %+v", ws.Settings)
	}
	for _, c := range []struct {
		form  url.Values
		field string
	}{
		{form("0", true, "png"), "attachment_max_mb"},
		{form("101", true, "png"), "attachment_max_mb"},
		{form("ten", true, "png"), "attachment_max_mb"},
		{form("10", true), "attachment_kinds"},
		{form("10", true, "png", "svg"), "attachment_kinds"},
	} {
		p := b.post("/console/settings", c.form)
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `role="alert" id="settings-error"`) {
			t.Errorf("%v: %d", c.form, p.status)
		}
	}
}

// An upload may take longer than the server's read timeout, which suits forms: the handler gives it a
// deadline of its own, from the workspace's maximum size.
func TestConsoleSlowUpload(t *testing.T) {
	e := newEnv(t, func(o *envOptions) { o.readTimeout = 300 * time.Millisecond })
	tn := e.tenant("Acme", "admin@acme.example")
	b := e.signedIn(tn.admin)
	ct, body := multipartBody(t, part{"file", "slow.pdf", "application/pdf", append(bytes.Clone(pdfBytes), bytes.Repeat([]byte("0"), 4000)...)})
	pr, pw := io.Pipe()
	go func() {
		// The body trickles in over a second, well past the server's read timeout.
		for i := 0; i < len(body); i += len(body) / 10 {
			pw.Write(body[i:min(i+len(body)/10, len(body))])
			time.Sleep(100 * time.Millisecond)
		}
		pw.Close()
	}()
	req, err := http.NewRequest("POST", e.srv.URL+"/console/attachments", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("X-CSRF-Token", b.csrf)
	req.Header.Set("Origin", e.srv.URL)
	if p := b.do(req); p.status != http.StatusCreated {
		t.Fatalf("a slow upload: %d %s", p.status, p.body)
	}
}
