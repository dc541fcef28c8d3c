package files

import (
	"net/http"
	"strconv"
	"strings"
)

// AttachmentHeaders sets the headers every download of an attachment carries, whoever serves it (the
// widget API, the console): the kind's own Content-Type, never sniffed; a CSP that lets nothing in the
// file run, even when a browser is talked into rendering it; inline only for raster images, so that
// everything else is saved rather than opened by the browser; the display name, percent-encoded so that
// no quote, semicolon or line break in it can reach the header's syntax; and a cache that only the
// agent's or visitor's own browser may keep.
//
// kind is the attachment's kind name (Kind.Name). An unknown kind is served as opaque bytes, as an
// attachment.
func AttachmentHeaders(h http.Header, kind, name string, size int64) {
	ct, disposition := "application/octet-stream", "attachment"
	if k, ok := KindByName(kind); ok {
		ct = k.ContentType
		if k.Image {
			disposition = "inline"
		}
	}
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Content-Disposition", disposition+"; filename*=UTF-8''"+escapeFilename(name))
	h.Set("Cache-Control", "private")
	h.Set("Content-Length", strconv.FormatInt(size, 10))
}

// escapeFilename percent-encodes a name for RFC 8187's ext-value: every byte other than the attr-chars
// it allows bare.
func escapeFilename(name string) string {
	if name == "" {
		name = "file"
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
