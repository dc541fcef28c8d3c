package files

import (
	"bytes"
	"mime"
	"strings"
	"unicode/utf8"
)

// SniffLen is how many leading bytes Detect needs: min(size, SniffLen).
const SniffLen = 512

// Detect decides the kind from the file's first bytes, never from its name. declared is the
// Content-Type the client sent for the part ("" or application/octet-stream: nothing declared;
// parameters ignored). A declared type of another kind is a mismatch (CodeTypeMismatch). HTML, SVG,
// XML, scripts, executables (MZ, ELF, Mach-O, shebang), archives other than OOXML, legacy OLE Office
// files: never accepted (CodeTypeNotAllowed), whatever was declared. text vs csv: content is text;
// declared text/csv (or application/csv, application/vnd.ms-excel as browsers send for .csv) → csv,
// else text. Other names browsers and systems use for an accepted kind count as it: image/jpg and
// image/pjpeg, image/x-png, application/x-pdf; text/markdown, text/x-log, text/tab-separated-values and
// application/json for text (served as plain text); application/zip for an Office file. An empty file
// is refused. Bytes of head beyond SniffLen are ignored.
//
// An Office file is a ZIP archive whose first bytes do not say which of docx, xlsx and pptx it is.
// When the declared type names one of them (or a legacy Office type, which some systems send for the
// new formats), Detect returns that kind and Inspect checks it; otherwise Detect returns the
// provisional kind KindOOXML (Kind.Provisional) and Inspect settles it. Callers must therefore keep the
// kind Inspect returns, not Detect's.
//
// The error is always a *Refusal.
func Detect(head []byte, declared string) (Kind, error) {
	if len(head) > SniffLen {
		head = head[:SniffLen]
	}
	content, refusal := sniff(head, len(head) == SniffLen)
	if refusal != nil {
		return Kind{}, refusal
	}
	decl := baseType(declared)
	k, ok := declaredAs(content, decl)
	if !ok {
		return Kind{}, mismatch("this file is %s, but it was sent as %s", describeContent(content), shownType(decl))
	}
	return k, nil
}

// baseType returns declared's media type, lower case and without parameters; "" when nothing was
// declared.
func baseType(declared string) string {
	t, _, err := mime.ParseMediaType(declared)
	if err != nil {
		// A malformed parameter must not hide the type itself.
		t, _, _ = strings.Cut(declared, ";")
		t = strings.ToLower(strings.TrimSpace(t))
	}
	if t == "application/octet-stream" {
		return ""
	}
	return t
}

// shownType returns a declared type fit to quote in a message: the client may send any bytes there.
func shownType(decl string) string {
	const max = 80
	shown := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, decl)
	if len(shown) > max {
		shown = shown[:max] + "…"
	}
	return shown
}

// describeContent names what sniff found, for a mismatch message.
func describeContent(content string) string {
	if content == KindText {
		return "a text file"
	}
	if content == KindOOXML {
		return "an Office document"
	}
	return mustKind(content).Description()
}

// declaredAs returns the kind a file whose content is content (a name sniff returns) has when it was
// declared as decl, or false when decl names something else.
func declaredAs(content, decl string) (Kind, bool) {
	switch content {
	case KindText:
		switch decl {
		case "", "text/plain":
			return mustKind(KindText), true
		case "text/csv", "application/csv", "application/vnd.ms-excel", "text/comma-separated-values",
			"text/x-csv", "text/x-comma-separated-values":
			return mustKind(KindCSV), true
		case "text/markdown", "text/x-markdown", "text/x-log", "text/tab-separated-values", "application/json":
			// What systems call .md, .log, .tsv and .json files: text that nothing renders actively,
			// and that Parley serves as plain text.
			return mustKind(KindText), true
		}
		return Kind{}, false
	case KindOOXML:
		switch decl {
		case "", "application/zip", "application/x-zip-compressed":
			// A ZIP type is what a system without Office's registrations calls these files.
			return ooxml(), true
		case typeDOCX, "application/msword":
			return mustKind(KindDOCX), true
		case typeXLSX, "application/vnd.ms-excel":
			return mustKind(KindXLSX), true
		case typePPTX, "application/vnd.ms-powerpoint":
			return mustKind(KindPPTX), true
		}
		return Kind{}, false
	}
	k := mustKind(content)
	if decl == "" || decl == k.ContentType {
		return k, true
	}
	switch {
	case content == KindJPEG && (decl == "image/jpg" || decl == "image/pjpeg"),
		content == KindPNG && decl == "image/x-png", // what older Windows browsers send
		content == KindPDF && decl == "application/x-pdf":
		return k, true
	}
	return Kind{}, false
}

// signature is a leading byte pattern and what it identifies.
type signature struct {
	offset int
	magic  string
	kind   string // an accepted kind (or KindOOXML), or "" when refused
	what   string // for a refused signature: what the file is, for the message
}

// signatures lists the formats recognised by their first bytes, accepted and refused. Refused ones are
// listed so that the message can say what the file is; anything unlisted that is not UTF-8 text is
// refused too.
func signatures() []signature {
	return []signature{
		{magic: "\x89PNG\r\n\x1a\n", kind: KindPNG},
		{magic: "\xff\xd8\xff", kind: KindJPEG},
		{magic: "GIF87a", kind: KindGIF},
		{magic: "GIF89a", kind: KindGIF},
		{magic: "%PDF-", kind: KindPDF},
		{magic: "PK\x03\x04", kind: KindOOXML},
		// RIFF....WEBP is checked in sniff; any other RIFF (WAV, AVI) is media Parley does not take.
		{magic: "RIFF", what: "audio or video (RIFF)"},
		{magic: "MZ", what: "a Windows program"},
		{magic: "\x7fELF", what: "a Linux program"},
		{magic: "\xfe\xed\xfa\xce", what: "a macOS program"},
		{magic: "\xfe\xed\xfa\xcf", what: "a macOS program"},
		{magic: "\xce\xfa\xed\xfe", what: "a macOS program"},
		{magic: "\xcf\xfa\xed\xfe", what: "a macOS program"},
		{magic: "\xca\xfe\xba\xbe", what: "a program (macOS or Java)"},
		{magic: "\x00asm", what: "a WebAssembly program"},
		{magic: "dex\n", what: "an Android program"},
		{magic: "#!", what: "a script"},
		{magic: "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", what: "a password-protected or legacy Office document (.doc, .xls, .ppt); save it without a password as .docx, .xlsx or .pptx"},
		{magic: "PK\x05\x06", what: "a ZIP archive"},
		{magic: "PK\x07\x08", what: "a ZIP archive"},
		{magic: "Rar!\x1a\x07", what: "a RAR archive"},
		{magic: "7z\xbc\xaf\x27\x1c", what: "a 7-Zip archive"},
		{magic: "\x1f\x8b", what: "a gzip archive"},
		{magic: "BZh", what: "a bzip2 archive"},
		{magic: "\xfd7zXZ\x00", what: "an xz archive"},
		{magic: "\x28\xb5\x2f\xfd", what: "a Zstandard archive"},
		{magic: "MSCF", what: "a cabinet archive"},
		{offset: 257, magic: "ustar", what: "a tar archive"},
		{magic: "\xfe\xff", what: "UTF-16 text; only UTF-8 text is accepted"},
		{magic: "\xff\xfe", what: "UTF-16 text; only UTF-8 text is accepted"},
	}
}

// sniff returns the kind the head's content shows (an accepted kind name, KindText for any text,
// KindOOXML for a ZIP archive), or a refusal. truncated says the file goes on past head, so that a
// character cut in two at its end is not taken for invalid UTF-8.
func sniff(head []byte, truncated bool) (string, *Refusal) {
	if len(head) == 0 {
		return "", notAllowed("the file is empty")
	}
	if len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP" {
		return KindWebP, nil
	}
	for _, s := range signatures() {
		if len(head) >= s.offset+len(s.magic) && string(head[s.offset:s.offset+len(s.magic)]) == s.magic {
			if s.kind == "" {
				return "", notAllowed("files of this type are not accepted (%s)", s.what)
			}
			return s.kind, nil
		}
	}
	if r := checkText(head, truncated); r != nil {
		return "", r
	}
	if what := markup(head); what != "" {
		return "", notAllowed("files of this type are not accepted (%s)", what)
	}
	return KindText, nil
}

// checkText refuses b unless it is UTF-8 text: valid UTF-8 (a leading byte order mark allowed) without
// NUL or C0 controls other than tab, line feed, form feed and carriage return. truncated allows an
// incomplete character at the end, which the next chunk completes.
func checkText(b []byte, truncated bool) *Refusal {
	b = bytes.TrimPrefix(b, []byte(utf8BOM))
	if truncated {
		b = b[:len(b)-incompleteSuffix(b)]
	}
	if i := bytes.IndexFunc(b, isControl); i >= 0 {
		return notAllowed("files of this type are not accepted (binary data)")
	}
	if !utf8.Valid(b) {
		return notAllowed("files of this type are not accepted (text that is not UTF-8; save it as UTF-8)")
	}
	return nil
}

const utf8BOM = "\xef\xbb\xbf"

// isControl reports the characters text files may not hold: C0 controls (NUL among them) other than
// tab, line feed, form feed and carriage return. They have no place in a document and mark binary data.
func isControl(r rune) bool {
	return r < 0x20 && r != '\t' && r != '\n' && r != '\f' && r != '\r'
}

// incompleteSuffix returns how many bytes at the end of b start a UTF-8 character that b does not
// finish (0 to 3).
func incompleteSuffix(b []byte) int {
	for n := 1; n <= 3 && n <= len(b); n++ {
		c := b[len(b)-n]
		if c < 0x80 {
			return 0 // ASCII: nothing is open
		}
		if c >= 0xc0 { // a leading byte: open unless its sequence is complete
			if utf8.FullRune(b[len(b)-n:]) {
				return 0
			}
			return n
		}
	}
	return 0
}

// markup returns what b is when it begins (after a byte order mark and white space) like HTML, XML or
// SVG, which browsers render actively; "" when it does not. The tag list follows the WHATWG MIME
// sniffing standard's HTML patterns, with SVG and XML added.
func markup(b []byte) string {
	b = bytes.TrimPrefix(b, []byte(utf8BOM))
	b = bytes.TrimLeft(b, " \t\n\f\r")
	if len(b) < 2 || b[0] != '<' {
		return ""
	}
	switch b[1] {
	case '?':
		return "XML"
	case '!':
		return "HTML"
	}
	lower := bytes.ToLower(b[1:min(len(b), 32)])
	for _, tag := range []string{"svg", "xml", "math"} {
		if tagAt(lower, tag) {
			return strings.ToUpper(tag)
		}
	}
	for _, tag := range []string{"html", "head", "body", "script", "iframe", "h1", "div", "font", "table", "a",
		"style", "title", "b", "br", "p", "img", "object", "embed", "meta", "link", "form", "base",
		"frameset", "frame", "template", "noscript", "hta:application"} {
		if tagAt(lower, tag) {
			return "HTML"
		}
	}
	return ""
}

// tagAt reports whether b starts with the tag name followed by what ends a tag name (space, '>' or
// '/') or by the end of b.
func tagAt(b []byte, tag string) bool {
	if !bytes.HasPrefix(b, []byte(tag)) {
		return false
	}
	if len(b) == len(tag) {
		return true
	}
	switch b[len(tag)] {
	case ' ', '\t', '\n', '\f', '\r', '>', '/':
		return true
	}
	return false
}
