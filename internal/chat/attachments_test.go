package chat_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// pngBytes is a real PNG of the given size.
func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, x%h, color.RGBA{R: 200, A: 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const pdfBytes = "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

// wantCode fails unless err is a *problem.Error with that code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	p, ok := problem.As(err)
	if !ok || p.Code != code {
		t.Errorf("%s: err = %v; want %s", what, err, code)
	}
}

func readAll(t *testing.T, r io.ReadCloser, err error) []byte {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Who may send and fetch which attachment: the uploader until it is sent, then whoever may see its
// message — never a customer for an internal note's file.
func TestAttachmentRules(t *testing.T) {
	e := newLifeEnv(t)
	ctx := t.Context()
	img := pngBytes(t, 64, 48)

	_, ada := e.verified(t, "ada")
	_, eve := e.session(t)
	up, err := e.svc.UploadForVisitor(ctx, ada, "../../shot\u202egnp.png", "image/png", bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	if up.Kind != "png" || up.Width != 64 || up.Height != 48 || up.Size != int64(len(img)) || up.State != store.AttachmentReady ||
		strings.ContainsAny(up.Name, "/\u202e") {
		t.Fatalf("upload = %+v", up)
	}
	// Before it is sent, only its uploader sees it.
	_, r, err := e.svc.VisitorAttachment(ctx, ada, up.ID)
	if got := readAll(t, r, err); !bytes.Equal(got, img) {
		t.Fatalf("the uploader reads %d bytes back, want %d", len(got), len(img))
	}
	_, _, err = e.svc.VisitorAttachment(ctx, eve, up.ID)
	wantCode(t, "another visitor fetching a pending upload", err, "attachment_not_found")
	agent, err := e.svc.CreateAgent(ctx, e.ws, "ann@bank.example", "Ann", store.RoleAgent, agentPassword)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.svc.AgentAttachment(ctx, agent, up.ID)
	wantCode(t, "an agent fetching a customer's unsent upload", err, "attachment_not_found")
	// Nobody else can send it.
	_, _, err = e.svc.PostMessageInput(ctx, eve, chat.MessageInput{Body: "mine now", Attachments: []string{up.ID}})
	wantCode(t, "another visitor sending the upload", err, "invalid_field")

	msg, _, err := e.svc.PostMessageInput(ctx, ada, chat.MessageInput{Attachments: []string{up.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Attachments) != 1 || msg.Attachments[0].ID != up.ID || !msg.Trusted || msg.Body != "" {
		t.Fatalf("message = %+v", msg)
	}
	_, _, err = e.svc.PostMessageInput(ctx, ada, chat.MessageInput{Body: "again", Attachments: []string{up.ID}})
	wantCode(t, "sending an attachment twice", err, "invalid_field")
	_, _, err = e.svc.PostMessageInput(ctx, ada, chat.MessageInput{Body: "", Attachments: nil})
	wantCode(t, "an empty message without attachments", err, "invalid_field")
	_, _, err = e.svc.PostMessageInput(ctx, ada, chat.MessageInput{Body: "many", Attachments: []string{"a", "b", "c", "d", "e", "f"}})
	wantCode(t, "six attachments", err, "invalid_field")

	// Once sent: the customer on another device and the agent see it; the other visitor still does not.
	_, adaPhone := e.verified(t, "ada")
	if _, r, err := e.svc.VisitorAttachment(ctx, adaPhone, up.ID); len(readAll(t, r, err)) != len(img) {
		t.Error("the customer's other device cannot fetch the sent attachment")
	}
	if _, r, err := e.svc.AgentAttachment(ctx, agent, up.ID); len(readAll(t, r, err)) != len(img) {
		t.Error("the agent cannot fetch the sent attachment")
	}
	_, _, err = e.svc.VisitorAttachment(ctx, eve, up.ID)
	wantCode(t, "another visitor fetching a sent attachment", err, "attachment_not_found")

	// An internal note's file never reaches the customer.
	secret, err := e.svc.UploadForAgent(ctx, agent, "internal.pdf", "", strings.NewReader(pdfBytes))
	if err != nil {
		t.Fatal(err)
	}
	note, _, err := e.svc.PostNoteInput(ctx, agent, msg.ConversationID, chat.MessageInput{Body: "see attached", Attachments: []string{secret.ID}})
	if err != nil || len(note.Attachments) != 1 || !note.Attachments[0].Internal {
		t.Fatalf("note = %+v, %v", note, err)
	}
	_, _, err = e.svc.VisitorAttachment(ctx, adaPhone, secret.ID)
	wantCode(t, "the customer fetching a note's file", err, "attachment_not_found")
	msgs, err := e.svc.Messages(ctx, adaPhone, msg.ConversationID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		for _, a := range m.Attachments {
			if a.ID == secret.ID {
				t.Error("the customer's message list carries the note's file")
			}
		}
	}
	conv, _ := e.svc.Store().Conversation(ctx, msg.ConversationID)
	listed, err := e.svc.ConversationAttachments(ctx, []store.Conversation{conv})
	if err != nil || len(listed[conv.ID]) != 1 || listed[conv.ID][0].ID != up.ID {
		t.Errorf("ConversationAttachments = %+v, %v; want the customer's file alone", listed, err)
	}

	// An agent's reply with a file reaches the customer.
	reply, err := e.svc.UploadForAgent(ctx, agent, "answer.pdf", "application/pdf", strings.NewReader(pdfBytes))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ReplyInput(ctx, agent, msg.ConversationID, chat.MessageInput{Body: "here", Attachments: []string{reply.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, r, err := e.svc.VisitorAttachment(ctx, adaPhone, reply.ID); string(readAll(t, r, err)) != pdfBytes {
		t.Error("the customer cannot fetch the agent's file")
	}
	// Another workspace's agent sees nothing.
	other, _ := e.svc.CreateWorkspace(ctx, "Other")
	stranger, err := e.svc.CreateAgent(ctx, other.ID, "sam@other.example", "Sam", store.RoleAgent, agentPassword)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.svc.AgentAttachment(ctx, stranger, up.ID)
	wantCode(t, "another workspace's agent", err, "attachment_not_found")
}

// A refused upload leaves nothing stored: no record, no chunk.
func TestRefusedUploadsLeaveNothing(t *testing.T) {
	e := newLifeEnv(t)
	ctx := t.Context()
	small := int64(5000)
	if _, err := e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{AttachmentMaxBytes: &small}); err != nil {
		t.Fatal(err)
	}
	_, v := e.session(t)
	cases := []struct {
		name, file, declared string
		body                 io.Reader
		code                 string
	}{
		{"too large", "big.png", "image/png", bytes.NewReader(append(pngBytes(t, 2, 2), make([]byte, 6000)...)), "attachment_too_large"},
		{"html as png", "cat.png", "image/png", strings.NewReader("<!DOCTYPE html><script>alert(1)</script>"), "attachment_type_not_allowed"},
		{"pdf as png", "doc.png", "image/png", strings.NewReader(pdfBytes), "attachment_type_mismatch"},
		{"empty", "none.txt", "", strings.NewReader(""), "invalid_upload"},
		{"broken reader", "cut.pdf", "", io.MultiReader(strings.NewReader(pdfBytes), errReader{}), "invalid_upload"},
	}
	for _, c := range cases {
		_, err := e.svc.UploadForVisitor(ctx, v, c.file, c.declared, c.body)
		wantCode(t, c.name, err, c.code)
	}
	if n := e.rows(t, "attachments"); n != 0 {
		t.Errorf("%d attachment records left by refused uploads", n)
	}
	if n := e.rows(t, "blob_chunks"); n != 0 {
		t.Errorf("%d chunks left by refused uploads", n)
	}
	off := false
	if _, err := e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{Attachments: &off}); err != nil {
		t.Fatal(err)
	}
	_, v = e.session(t) // the visitor's workspace as it is now
	_, err := e.svc.UploadForVisitor(ctx, v, "a.pdf", "", strings.NewReader(pdfBytes))
	wantCode(t, "attachments off", err, "attachments_disabled")
	huge := int64(chat.MaxAttachmentMaxBytes + 1)
	_, err = e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{AttachmentMaxBytes: &huge})
	wantCode(t, "a maximum over 100 MB", err, "invalid_field")
	_, err = e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{AttachmentKinds: &[]string{"png", "exe"}})
	wantCode(t, "an unknown kind", err, "invalid_field")
	if _, err := e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{Attachments: new(bool(true)), AttachmentKinds: &[]string{"pdf"}}); err != nil {
		t.Fatal(err)
	}
	_, v = e.session(t)
	_, err = e.svc.UploadForVisitor(ctx, v, "x.png", "", bytes.NewReader(pngBytes(t, 2, 2)))
	wantCode(t, "a kind the workspace does not accept", err, "attachment_type_not_allowed")
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// Cleanup deletes uploads no message took after a day, and what a crash left mid-upload after an hour,
// bytes included; sent files stay.
func TestCleanupAttachments(t *testing.T) {
	e := newLifeEnv(t)
	ctx := t.Context()
	_, v := e.session(t)
	sent, err := e.svc.UploadForVisitor(ctx, v, "sent.pdf", "", strings.NewReader(pdfBytes))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.PostMessageInput(ctx, v, chat.MessageInput{Attachments: []string{sent.ID}}); err != nil {
		t.Fatal(err)
	}
	unused, err := e.svc.UploadForVisitor(ctx, v, "unused.pdf", "", strings.NewReader(pdfBytes))
	if err != nil {
		t.Fatal(err)
	}
	// A crash mid-upload: the record still uploading, one chunk written.
	now := e.clock.Now()
	crashed := store.Attachment{ID: "att_crashed", WorkspaceID: e.ws, SessionID: v.Session.ID, State: store.AttachmentUploading,
		StorageKey: "att_crashed", Name: "cut", CreatedAt: now}
	if err := e.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateAttachment(ctx, &crashed); err != nil {
			return err
		}
		return tx.PutBlobChunk(ctx, crashed.StorageKey, 0, []byte("partial"))
	}); err != nil {
		t.Fatal(err)
	}
	if c := e.cleanup(t); c.Attachments != 0 {
		t.Fatalf("a first pass deleted %d attachments", c.Attachments)
	}
	e.clock.Advance(61 * time.Minute)
	if c := e.cleanup(t); c.Attachments != 1 {
		t.Errorf("after an hour: %d deleted; want the crashed upload", c.Attachments)
	}
	if _, err := e.svc.Store().Attachment(ctx, crashed.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the crashed upload is still there: %v", err)
	}
	if _, r, err := e.svc.VisitorAttachment(ctx, v, unused.ID); len(readAll(t, r, err)) == 0 {
		t.Error("an unsent upload was deleted before its day passed")
	}
	e.clock.Advance(23 * time.Hour)
	if c := e.cleanup(t); c.Attachments != 1 {
		t.Errorf("after a day: %d deleted; want the unsent upload", c.Attachments)
	}
	if n := e.rows(t, "attachments"); n != 1 {
		t.Errorf("%d attachment records left; want the sent one", n)
	}
	want := dbChunks(len(pdfBytes))
	if n := e.rows(t, "blob_chunks"); n != want {
		t.Errorf("%d chunks left; want %d (the sent file's)", n, want)
	}
	if _, r, err := e.svc.VisitorAttachment(ctx, v, sent.ID); string(readAll(t, r, err)) != pdfBytes {
		t.Error("the sent file is gone")
	}
}

func dbChunks(size int) int { return (size + 256<<10 - 1) / (256 << 10) }

// A file is offered for saving under an extension that fits its content: a text file named run.bat is
// run.bat.txt, so that no operating system runs it.
func TestUploadNameFitsContent(t *testing.T) {
	e := newLifeEnv(t)
	_, v := e.session(t)
	for _, c := range []struct{ name, declared, body, want string }{
		{"run.bat", "", "echo hello\r\n", "run.bat.txt"},
		{"notes.txt", "text/plain", "hello\n", "notes.txt"},
		{"../../etc/report.pdf", "", pdfBytes, "report.pdf"},
	} {
		a, err := e.svc.UploadForVisitor(t.Context(), v, c.name, c.declared, strings.NewReader(c.body))
		if err != nil || a.Name != c.want {
			t.Errorf("upload %q: name %q, %v; want %q", c.name, a.Name, err, c.want)
		}
	}
}

// A message of files alone still reads as something in an agent's notification.
func TestAlertForFilesAlone(t *testing.T) {
	e := newLifeEnv(t)
	ctx := t.Context()
	_, v := e.verified(t, "ada")
	up, err := e.svc.UploadForVisitor(ctx, v, "receipt.pdf", "", strings.NewReader(pdfBytes))
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := e.svc.PostMessageInput(ctx, v, chat.MessageInput{Attachments: []string{up.ID}})
	if err != nil {
		t.Fatal(err)
	}
	agent, err := e.svc.CreateAgent(ctx, e.ws, "ann@bank.example", "Ann", store.RoleAdmin, agentPassword)
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.svc.ConversationAlert(ctx, agent, m.ConversationID)
	if err != nil || a.Text != "Sent receipt.pdf" {
		t.Errorf("alert text %q, %v; want the file named", a.Text, err)
	}
}
