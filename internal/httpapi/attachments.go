package httpapi

import (
	"io"
	"net/http"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/files"
	"github.com/parleyhq/parley/internal/store"
)

// uploadAttachment stores the single file of a multipart/form-data body (part "file") for the visitor's
// next message. The file streams from the request into storage, a chunk at a time: never read whole.
func (a *API) uploadAttachment(w http.ResponseWriter, r *http.Request) {
	v := visitorFrom(r)
	if err := a.uploadLimit.allow(v.Session.ID); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.ipUploads.allow(clientIP(r, a.trusted)); err != nil {
		a.writeError(w, r, err)
		return
	}
	att, err := files.ReceiveUpload(w, r, chat.MaxUploadBytes(v.Workspace), func(name, declared string, body io.Reader) (store.Attachment, error) {
		return a.chat.UploadForVisitor(r.Context(), v, name, declared, body)
	}, func(id string) { _ = a.chat.DiscardUpload(r.Context(), id) })
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"attachment": attachmentShape(att)})
}

// downloadAttachment streams one attachment the visitor may see, with headers that keep it inert.
func (a *API) downloadAttachment(w http.ResponseWriter, r *http.Request) {
	att, body, err := a.chat.VisitorAttachment(r.Context(), visitorFrom(r), r.PathValue("id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	defer body.Close()
	files.Serve(w, r, att, body)
}
