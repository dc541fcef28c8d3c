package chat

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/files"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// Attachments: files customers and agents send with messages. Package files decides what a file is
// (from its content, never its name) and keeps the bytes; this file decides who may upload, send and
// fetch which attachment — the same rules as for messages, internal notes included.

// Attachment limits.
const (
	MaxAttachmentsPerMessage  = 5
	DefaultAttachmentMaxBytes = 10_000_000  // 10 MB
	MaxAttachmentMaxBytes     = 100_000_000 // the most a workspace may allow
	// UnusedAttachmentRetention is how long an upload no message took is kept (a visitor who attached a
	// file and closed the tab); AbandonedUploadAfter is when an upload that never finished (the server
	// stopped mid-upload) is deleted.
	UnusedAttachmentRetention = 24 * time.Hour
	AbandonedUploadAfter      = time.Hour
	// conversationAttachmentsListed bounds the attachments listed per conversation in the customers API.
	conversationAttachmentsListed = 100
)

// AttachmentLimits returns a workspace's largest accepted file and the kinds it accepts, defaults
// applied.
func AttachmentLimits(st store.Settings) (maxBytes int64, kinds []string) {
	maxBytes = st.AttachmentMaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultAttachmentMaxBytes
	}
	kinds = st.AttachmentKinds
	if kinds == nil {
		kinds = files.DefaultKinds()
	}
	return maxBytes, kinds
}

// AttachmentsEnabled reports whether the workspace accepts attachments at all.
func AttachmentsEnabled(st store.Settings) bool {
	_, kinds := AttachmentLimits(st)
	return !st.AttachmentsOff && len(kinds) > 0
}

// validateAttachmentSettings checks the attachment settings an administrator changes.
func validateAttachmentSettings(st store.Settings) error {
	if st.AttachmentMaxBytes < 0 || st.AttachmentMaxBytes > MaxAttachmentMaxBytes {
		return problem.InvalidField("attachment_max_size", "must be between 1 byte and %d MB", MaxAttachmentMaxBytes/1_000_000)
	}
	for _, k := range st.AttachmentKinds {
		if kd, ok := files.KindByName(k); !ok || kd.Provisional() {
			return problem.InvalidField("attachment_kinds", "unknown kind %q; the kinds are %s", k, strings.Join(files.DefaultKinds(), ", "))
		}
	}
	return nil
}

func attachmentsDisabled() *problem.Error {
	return forbidden("attachments_disabled", "this workspace does not accept attachments")
}

func attachmentNotFound(id string) *problem.Error {
	return problem.NotFound("attachment_not_found", "no attachment %q here", id)
}

// errTooLarge is what sizeLimit yields past the limit.
var errTooLarge = errors.New("file too large")

// sizeLimit reads from r until more than n bytes were read, then fails with errTooLarge: the upload is
// refused as soon as it is known to be too large, without reading the rest.
type sizeLimit struct {
	r io.Reader
	n int64 // bytes still allowed
}

func (l *sizeLimit) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	k, err := l.r.Read(p)
	l.n -= int64(k)
	if l.n < 0 {
		return k, errTooLarge
	}
	return k, err
}

// UploadForVisitor stores a file a widget visitor uploads, for a message they will send: bound to their
// session until then. A visitor who may not send messages (verification required, blocked) may not
// upload either. name is the client's file name (kept for display only), declared the Content-Type it
// gave, body the file's bytes.
func (s *Service) UploadForVisitor(ctx context.Context, v *Visitor, name, declared string, body io.Reader) (store.Attachment, error) {
	if err := s.mayChat(v); err != nil {
		return store.Attachment{}, err
	}
	if err := s.refuseBlocked(ctx, v); err != nil {
		return store.Attachment{}, err
	}
	return s.upload(ctx, v.Workspace, store.Attachment{SessionID: v.Session.ID}, name, declared, body)
}

// UploadForAgent stores a file an agent uploads for a reply or an internal note.
func (s *Service) UploadForAgent(ctx context.Context, agent store.Agent, name, declared string, body io.Reader) (store.Attachment, error) {
	ws, err := s.store.Workspace(ctx, agent.WorkspaceID)
	if err != nil {
		return store.Attachment{}, err
	}
	return s.upload(ctx, ws, store.Attachment{AgentID: agent.ID}, name, declared, body)
}

// MaxUploadBytes is the most an upload to the workspace may carry, file alone.
func MaxUploadBytes(ws store.Workspace) int64 {
	n, _ := AttachmentLimits(ws.Settings)
	return n
}

func (s *Service) upload(ctx context.Context, ws store.Workspace, att store.Attachment, name, declared string, body io.Reader) (store.Attachment, error) {
	if !AttachmentsEnabled(ws.Settings) {
		return att, attachmentsDisabled()
	}
	maxBytes, kinds := AttachmentLimits(ws.Settings)
	var tooLarge *problem.Error
	tooLarge = problem.New(http.StatusRequestEntityTooLarge, "attachment_too_large",
		"the file is larger than this workspace accepts (%s)", files.HumanSize(maxBytes))
	in := &sizeLimit{r: body, n: maxBytes}
	head := make([]byte, files.SniffLen)
	k, err := io.ReadFull(in, head)
	head = head[:k]
	switch {
	case errors.Is(err, errTooLarge):
		return att, tooLarge
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		if k == 0 {
			return att, problem.New(http.StatusBadRequest, "invalid_upload", "the file is empty")
		}
	case err != nil:
		return att, uploadReadError(err, tooLarge)
	}
	kind, err := files.Detect(head, declared)
	if err != nil {
		return att, refusal(err)
	}
	if !kind.Provisional() && !slices.Contains(kinds, kind.Name) {
		return att, kindNotAccepted(kind)
	}

	now := s.clock()
	att.ID = newID("att_")
	att.WorkspaceID, att.State, att.StorageKey, att.CreatedAt = ws.ID, store.AttachmentUploading, att.ID, now
	att.Name = files.CleanName(name)
	if err := s.update(ctx, func(tx store.Tx, _ *outbox) error { return tx.CreateAttachment(ctx, &att) }); err != nil {
		return att, err
	}
	// From here on, a failure deletes what was written. A crash leaves the uploading record, which
	// cleanup deletes with its bytes after AbandonedUploadAfter.
	discard := func() {
		dctx := context.WithoutCancel(ctx)
		_ = s.files.Delete(dctx, att.StorageKey)
		_ = s.update(dctx, func(tx store.Tx, _ *outbox) error { return tx.DeleteAttachment(dctx, att.ID) })
	}
	sum := sha256.New()
	size, err := s.files.Write(ctx, att.StorageKey, io.TeeReader(io.MultiReader(bytes.NewReader(head), in), sum))
	if err != nil {
		discard()
		if errors.Is(err, errTooLarge) {
			return att, tooLarge
		}
		return att, uploadReadError(err, tooLarge)
	}
	obj, err := s.files.Open(ctx, att.StorageKey, size)
	if err != nil {
		discard()
		return att, err
	}
	kind, meta, err := files.Inspect(kind, obj, size)
	obj.Close()
	if err == nil && !slices.Contains(kinds, kind.Name) {
		err = kindNotAccepted(kind)
	}
	if err != nil {
		discard()
		return att, refusal(err)
	}
	att.Kind, att.ContentType, att.Size, att.Width, att.Height = kind.Name, kind.ContentType, size, meta.Width, meta.Height
	// Operating systems open a saved file by its extension: the name ends in one that fits the content
	// ("run.bat" holding text becomes "run.bat.txt"), wherever it is saved from.
	att.Name = files.NameForKind(name, kind)
	att.SHA256 = sum.Sum(nil)
	if err := s.update(ctx, func(tx store.Tx, _ *outbox) error { return tx.CompleteAttachment(ctx, &att) }); err != nil {
		discard()
		return att, err
	}
	return att, nil
}

func kindNotAccepted(k files.Kind) *problem.Error {
	return problem.New(http.StatusUnsupportedMediaType, "attachment_type_not_allowed", "this workspace does not accept this kind of file (%s)", k.Description())
}

// refusal turns a files.Refusal into the API's error; other errors pass.
func refusal(err error) error {
	var r *files.Refusal
	if !errors.As(err, &r) {
		return err
	}
	switch r.Code {
	case files.CodeUnsafe:
		return problem.New(http.StatusUnprocessableEntity, "attachment_unsafe", "%s", r.Message)
	case files.CodeTypeMismatch:
		return problem.New(http.StatusUnsupportedMediaType, "attachment_type_mismatch", "%s", r.Message)
	}
	return problem.New(http.StatusUnsupportedMediaType, "attachment_type_not_allowed", "%s", r.Message)
}

// uploadReadError answers an upload whose body could not be read to its end. A *problem.Error (the
// HTTP layer's own limit) passes as it is.
func uploadReadError(err error, tooLarge *problem.Error) error {
	if _, ok := problem.As(err); ok {
		return err
	}
	var limit *http.MaxBytesError // the HTTP layer's limit on the whole body
	if errors.As(err, &limit) {
		return tooLarge
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return problem.New(http.StatusBadRequest, "invalid_upload", "the upload ended before the file did")
}

// takeAttachments reads the attachments a new message refers to, inside its transaction, and checks
// that the sender may send them: same workspace, uploaded by this sender (the session, or the agent),
// ready, and not part of another message. Any other id is refused alike, so that nobody learns anything
// of other people's uploads.
func takeAttachments(ctx context.Context, tx store.Tx, workspaceID, sessionID, agentID string, ids []string) ([]store.Attachment, error) {
	if len(ids) > MaxAttachmentsPerMessage {
		return nil, problem.InvalidField("attachments", "at most %d files per message", MaxAttachmentsPerMessage)
	}
	out := make([]store.Attachment, 0, len(ids))
	for _, id := range ids {
		a, err := tx.Attachment(ctx, id)
		if err != nil && !isNotFound(err) {
			return nil, err
		}
		mine := a.SessionID == sessionID && a.AgentID == agentID
		if err != nil || a.WorkspaceID != workspaceID || !mine || a.State != store.AttachmentReady || a.MessageSeq != 0 ||
			slices.ContainsFunc(out, func(b store.Attachment) bool { return b.ID == id }) {
			return nil, problem.InvalidField("attachments", "%q is not a file you uploaded for a new message (each file goes with one message)", id)
		}
		out = append(out, a)
	}
	return out, nil
}

// attachmentTaken answers a send whose attachment another message took while it was being stored.
func attachmentTaken(err error) error {
	if errors.Is(err, store.ErrAttachmentTaken) {
		return problem.InvalidField("attachments", "a file was sent with another message meanwhile")
	}
	return err
}

// VisitorAttachment returns one attachment a visitor may download and a reader of its bytes: one of a
// customer-visible message (CustomerVisible: never an internal note's) in a conversation the visitor
// can see, or one the visitor's own session uploaded and has not sent yet. Anything else is 404 as if it
// did not exist. The caller closes the reader.
func (s *Service) VisitorAttachment(ctx context.Context, v *Visitor, id string) (store.Attachment, io.ReadCloser, error) {
	a, err := s.store.Attachment(ctx, id)
	if isNotFound(err) || (err == nil && !s.visitorMayFetch(ctx, v, a)) {
		return a, nil, attachmentNotFound(id)
	}
	if err != nil {
		return a, nil, err
	}
	return s.openAttachment(ctx, a)
}

func (s *Service) visitorMayFetch(ctx context.Context, v *Visitor, a store.Attachment) bool {
	if a.WorkspaceID != v.Workspace.ID || a.State != store.AttachmentReady {
		return false
	}
	if a.MessageSeq == 0 {
		return a.SessionID != "" && a.SessionID == v.Session.ID
	}
	if !CustomerVisible(store.Message{Internal: a.Internal}) {
		return false
	}
	conv, err := s.store.Conversation(ctx, a.ConversationID)
	return err == nil && v.canSee(conv)
}

// AgentAttachment returns one attachment of the agent's workspace that is part of a message, or that
// the agent uploaded and has not sent yet, and a reader of its bytes. A customer's unsent upload is
// theirs alone.
func (s *Service) AgentAttachment(ctx context.Context, agent store.Agent, id string) (store.Attachment, io.ReadCloser, error) {
	a, err := s.store.Attachment(ctx, id)
	if isNotFound(err) || (err == nil && (a.WorkspaceID != agent.WorkspaceID || a.State != store.AttachmentReady ||
		(a.MessageSeq == 0 && a.AgentID != agent.ID))) {
		return a, nil, attachmentNotFound(id)
	}
	if err != nil {
		return a, nil, err
	}
	return s.openAttachment(ctx, a)
}

func (s *Service) openAttachment(ctx context.Context, a store.Attachment) (store.Attachment, io.ReadCloser, error) {
	obj, err := s.files.Open(ctx, a.StorageKey, a.Size)
	if err != nil {
		return a, nil, err
	}
	return a, obj, nil
}

// DiscardUpload deletes an upload no message took yet, with its bytes (an upload refused after it was
// stored, such as a form with a second file).
func (s *Service) DiscardUpload(ctx context.Context, id string) error {
	a, err := s.store.Attachment(ctx, id)
	if err != nil {
		return err
	}
	if err := s.update(ctx, func(tx store.Tx, _ *outbox) error { return tx.DeleteAttachment(ctx, id) }); err != nil {
		return err
	}
	return s.files.Delete(ctx, a.StorageKey)
}

// StoredBytes is the size of every file a workspace keeps.
func (s *Service) StoredBytes(ctx context.Context, workspaceID string) (int64, error) {
	return s.store.StoredAttachmentBytes(ctx, workspaceID)
}

// ConversationAttachments lists the attachments of the customer-visible messages of conversations, for
// the customers API's listings.
func (s *Service) ConversationAttachments(ctx context.Context, convs []store.Conversation) (map[string][]store.Attachment, error) {
	ids := make([]string, len(convs))
	for i, c := range convs {
		ids[i] = c.ID
	}
	found, err := s.store.ConversationAttachments(ctx, ids, conversationAttachmentsListed)
	if err != nil {
		return nil, err
	}
	for id, list := range found {
		found[id] = slices.DeleteFunc(list, func(a store.Attachment) bool { return !CustomerVisible(store.Message{Internal: a.Internal}) })
	}
	return found, nil
}

// cleanupAttachments deletes uploads no message took: abandoned ones (still uploading) after
// AbandonedUploadAfter, finished ones after UnusedAttachmentRetention, with their bytes. It returns how
// many it deleted.
func (s *Service) cleanupAttachments(ctx context.Context, now time.Time, batch int) (int, error) {
	stale, err := s.store.StaleAttachments(ctx, now.Add(-AbandonedUploadAfter), batch)
	if err != nil {
		return 0, err
	}
	deleted := 0
	for _, a := range stale {
		if a.State == store.AttachmentReady && a.CreatedAt.After(now.Add(-UnusedAttachmentRetention)) {
			continue
		}
		// The record goes first: once it is gone nothing can refer to the bytes, and a message that took
		// the attachment meanwhile keeps it (the delete matches unbound records only).
		err := s.update(ctx, func(tx store.Tx, _ *outbox) error { return tx.DeleteAttachment(ctx, a.ID) })
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return deleted, err
		}
		if err := s.files.Delete(ctx, a.StorageKey); err != nil {
			return deleted, err
		}
		deleted++
	}
	return deleted, nil
}
