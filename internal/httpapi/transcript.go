package httpapi

import (
	"net/http"
)

// transcript serves one of the session's conversations as a text file, in the widget's language (query
// locale): what the customer saw, never internal notes.
func (a *API) transcript(w http.ResponseWriter, r *http.Request) {
	text, err := a.chat.VisitorTranscript(r.Context(), visitorFrom(r), r.PathValue("id"), r.URL.Query().Get("locale"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="conversation.txt"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, no-store")
	_, _ = w.Write([]byte(text))
}

// emailTranscript has a conversation's transcript mailed to the verified customer's address.
func (a *API) emailTranscript(w http.ResponseWriter, r *http.Request) {
	if err := emptyBody(w, r); err != nil {
		a.writeError(w, r, err)
		return
	}
	v := visitorFrom(r)
	if err := a.messageLimit.allow(v.Session.ID); err != nil {
		a.writeError(w, r, err)
		return
	}
	to, err := a.chat.EmailTranscriptToVisitor(r.Context(), v, r.PathValue("id"), r.URL.Query().Get("locale"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"email": to})
}
