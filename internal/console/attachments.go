package console

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/files"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// Attachments in the console. The reply box's script (static/attach.js) uploads each file as soon as the
// agent picks, pastes or drops it (POST /console/attachments, one file a request, with a progress bar),
// and the reply or note form then posts the ids it got back (attachment=att_…) with the text. The
// timeline shows images as thumbnails and other files as cards; every file is fetched through
// GET /console/attachments/{id}, inert (files.AttachmentHeaders) and only for agents of its workspace.
// Without the script there is no upload: a page must not break, and it does not.

// uploadSlack is what a multipart body holds beside the file: boundaries and part headers. The body is
// cut off there, so that a client cannot stream more than the workspace's maximum through the parser.
const uploadSlack = 64 << 10

// attachmentJSON is an attachment as the upload answers it: the widget API's shape (docs/api.md).
type attachmentJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
	Kind        string `json:"kind"`
	Image       bool   `json:"image"`
	Width       int    `json:"width,omitempty"`
	Height      int    `json:"height,omitempty"`
}

func attachmentShape(a store.Attachment) attachmentJSON {
	out := attachmentJSON{ID: a.ID, Name: a.Name, Size: a.Size, ContentType: a.ContentType, Kind: a.Kind, Image: isImage(a.Kind)}
	if out.Image {
		out.Width, out.Height = a.Width, a.Height
	}
	return out
}

// isImage reports whether a kind is a raster image: shown as a thumbnail, served inline.
func isImage(kind string) bool {
	k, ok := files.KindByName(kind)
	return ok && k.Image
}

// Uploader wraps what the console's script posts as multipart/form-data (a file upload), which the
// form-post guard cannot check: that one reads the CSRF token from the form, and the body here is a
// file to stream, not a form to parse. So it takes the token from the X-CSRF-Token header instead (a
// cross-site form cannot set headers, and a cross-site script may not without a CORS preflight the
// console never answers), applies the same-origin rule, and answers every refusal as JSON.
func (c *Console) Uploader(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w.Header())
		w.Header().Set("Cache-Control", "no-store")
		s, err := c.authenticate(r)
		if err != nil {
			if p, ok := problem.As(err); ok && p.Status == http.StatusUnauthorized {
				c.clearCookie(w, r, sessionCookie)
			}
			c.failJSON(w, r, err)
			return
		}
		if err := c.sameOrigin(r); err != nil {
			c.failJSON(w, r, err)
			return
		}
		if err := chat.CheckCSRF(s.sess, r.Header.Get("X-CSRF-Token")); err != nil {
			c.failJSON(w, r, err)
			return
		}
		ctx := chat.WithActor(context.WithValue(r.Context(), sessionKey{}, s), chat.AgentActor(s.agent))
		ctx = chat.WithClientAddr(ctx, c.clientIP(r)) // as guard does, for anything an upload audits
		h(w, r.WithContext(ctx))
	})
}

// failJSON is fail for the script's requests: the problem as {"error": {"code", "message"}}.
func (c *Console) failJSON(w http.ResponseWriter, r *http.Request, err error) {
	p := c.problemOf(w, r, err)
	type detail struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	}
	writeStatusJSON(w, p.Status, map[string]detail{"error": {Code: p.Code, Message: p.Message, Field: p.Field}})
}

// writeStatusJSON is writeJSON (alerts.go) with a status.
func writeStatusJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true) // a file name stays inert even if something renders the JSON as HTML
	_ = enc.Encode(v)
}

// UploadAttachment serves POST /console/attachments: a multipart/form-data body with exactly one part,
// named file, with a file name (files.ReceiveUpload, as the widget API's). The file streams through
// chat.UploadForAgent into storage (never held whole in memory); the answer is 201 {"attachment": …},
// whose id the reply or note form then posts.
func (c *Console) UploadAttachment(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	if err := c.uploads.Allow(s.agent.ID); err != nil {
		c.failJSON(w, r, err)
		return
	}
	maxBytes := chat.MaxUploadBytes(s.workspace)
	// files.ReceiveUpload gives the upload a read deadline of its own (the server's suits forms).
	a, err := files.ReceiveUpload(w, r, maxBytes, func(name, declared string, body io.Reader) (store.Attachment, error) {
		return c.chat.UploadForAgent(r.Context(), s.agent, name, declared, body)
	}, func(id string) {
		if err := c.chat.DiscardUpload(context.WithoutCancel(r.Context()), id); err != nil {
			c.log.Warn("console discard upload", "attachment", id, "err", err) // cleanup deletes it after a day
		}
	})
	if err != nil {
		c.failJSON(w, r, err)
		return
	}
	writeStatusJSON(w, http.StatusCreated, map[string]attachmentJSON{"attachment": attachmentShape(a)})
}

// Attachment serves GET /console/attachments/{id}: the file, to an agent of its workspace (any other id
// is 404), with the headers that keep it inert.
func (c *Console) Attachment(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	a, rc, err := c.chat.AgentAttachment(r.Context(), s.agent, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	defer rc.Close()
	files.Serve(w, r, a, rc) // the console's own CSP and caching give way to the file's
}

// attachedIDs are the attachment ids a reply or note form posts: repeated attachment=att_… fields.
func attachedIDs(r *http.Request) []string {
	var ids []string
	for _, id := range r.PostForm["attachment"] {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// ---------------------------------------------------------------- the reply box and the timeline

// attachBox is what the reply box's script needs to know of the workspace's rules; Enabled false
// leaves the paperclip out.
type attachBox struct {
	Enabled  bool
	MaxBytes int64
	MaxSize  string // for people: "10 MB"
	MaxFiles int
	// Accept is the file picker's filter: the allowed kinds' types and extensions. It only helps the
	// agent choose; the server decides from the content.
	Accept string
	Kinds  string // the allowed kinds, for people: "PNG, JPEG, PDF"
	// Draft are the files of a reply the server refused, shown again with it.
	Draft []attachmentJSON
}

// kindLabel names a kind for people ("PDF document").
func kindLabel(kind string) string {
	switch kind {
	case "png", "jpeg", "gif":
		return strings.ToUpper(kind) + " image"
	case "webp":
		return "WebP image"
	case "pdf":
		return "PDF document"
	case "text":
		return "Plain text"
	case "csv":
		return "CSV spreadsheet"
	case "docx":
		return "Word document"
	case "xlsx":
		return "Excel spreadsheet"
	case "pptx":
		return "PowerPoint presentation"
	}
	return strings.ToUpper(kind)
}

// kindShort names a kind in a list of them ("PNG, PDF, Word").
func kindShort(kind string) string {
	switch kind {
	case "webp":
		return "WebP"
	case "text":
		return "plain text"
	case "docx":
		return "Word"
	case "xlsx":
		return "Excel"
	case "pptx":
		return "PowerPoint"
	}
	return strings.ToUpper(kind)
}

// kindExtensions are the file name endings the picker offers for a kind.
func kindExtensions(kind string) string {
	switch kind {
	case "jpeg":
		return ".jpg,.jpeg"
	case "text":
		return ".txt,.log"
	}
	return "." + kind
}

func newAttachBox(st store.Settings) attachBox {
	maxBytes, kinds := chat.AttachmentLimits(st)
	b := attachBox{Enabled: chat.AttachmentsEnabled(st), MaxBytes: maxBytes, MaxSize: files.HumanSize(maxBytes), MaxFiles: chat.MaxAttachmentsPerMessage}
	var accept, names []string
	for _, name := range kinds {
		k, ok := files.KindByName(name)
		if !ok {
			continue
		}
		mt, _, _ := strings.Cut(k.ContentType, ";")
		accept = append(accept, strings.TrimSpace(mt))
		accept = append(accept, kindExtensions(name))
		names = append(names, kindShort(name))
	}
	b.Accept, b.Kinds = strings.Join(accept, ","), strings.Join(names, ", ")
	return b
}

// draftAttachments reads the files of a refused reply back, so that the page shows them again with its
// text. Ids the agent may not use are left out: the form was the agent's own, so this drops only
// attachments that vanished in between.
func (c *Console) draftAttachments(r *http.Request) []attachmentJSON {
	s := signedIn(r)
	var out []attachmentJSON
	for _, id := range attachedIDs(r) {
		if len(out) == chat.MaxAttachmentsPerMessage {
			break
		}
		a, rc, err := c.chat.AgentAttachment(r.Context(), s.agent, id)
		if err != nil {
			continue
		}
		rc.Close()
		if a.AgentID != s.agent.ID || a.ConversationID != "" { // another agent's, or sent already
			continue
		}
		out = append(out, attachmentShape(a))
	}
	return out
}
