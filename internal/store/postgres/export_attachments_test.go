package postgres

// AttachmentStatements exposes the attachment and job statements to the plan test (postgres_test).
var AttachmentStatements = map[string]string{
	"attachments of messages":  sqlAttachmentsOfMessages,
	"stale attachments":        sqlStaleAttachments,
	"conversation attachments": sqlConversationAttachments,
	"stored bytes":             sqlStoredAttachmentBytes,
	"blob chunk":               sqlBlobChunk,
	"delete blob":              sqlDeleteBlob,
	"bind":                     sqlBindAttachment,
	"claim jobs":               sqlClaimJobs,
	"delete finished jobs":     sqlDeleteFinishedJobs,
	"finish job":               sqlFinishJob,
}
