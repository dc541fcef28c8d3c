// Package files decides whether an uploaded file is something Parley will keep and hand to other
// people, and describes it (kind, served type, image size, display name).
//
// Content decides, never the name or the type the client declared. A name is whatever the sender
// typed: "invoice.pdf" can hold an HTML page that runs script in the agent's browser when opened from
// Parley's origin, and a declared Content-Type is just as free. So Detect reads the file's first bytes
// and Inspect the whole file, and the kind they settle on fixes the Content-Type every download is
// served with. The declared type only serves to catch mistakes and disguises: when it names a
// different kind than the content, the upload is refused as a mismatch rather than silently relabelled,
// so a file never reaches its recipient as something other than what its sender meant to send.
//
// Only a short list of kinds is accepted (Kinds). Anything a browser or an operating system might
// execute or render actively — HTML, SVG, XML, scripts, programs, macro-enabled Office files, archives
// other than the Office formats — is refused whatever it is called. The checks here are about content
// only; storage, limits and permissions live with the caller.
package files

import "slices"

// Kind is a file kind Parley can accept.
type Kind struct {
	Name        string // "png","jpeg","gif","webp","pdf","text","csv","docx","xlsx","pptx"
	ContentType string // the type every download is served with
	Image       bool   // raster image: served inline, shown as a thumbnail
}

// Kind names. They are stored with each attachment and appear in settings and the API; never rename one.
const (
	KindPNG  = "png"
	KindJPEG = "jpeg"
	KindGIF  = "gif"
	KindWebP = "webp"
	KindPDF  = "pdf"
	KindText = "text"
	KindCSV  = "csv"
	KindDOCX = "docx"
	KindXLSX = "xlsx"
	KindPPTX = "pptx"

	// KindOOXML is the provisional name Detect gives an Office file (a ZIP archive) when neither the
	// declared type nor its first bytes say which of docx, xlsx or pptx it is; Inspect, which reads
	// the archive's directory, returns the final kind. It is never a kind of Kinds().
	KindOOXML = "ooxml"
)

const (
	typeDOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	typeXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	typePPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
)

// Kinds returns every kind Parley can accept, in a fixed order (images first). The slice is new on
// every call, so callers may keep or change it.
func Kinds() []Kind {
	return []Kind{
		{Name: KindPNG, ContentType: "image/png", Image: true},
		{Name: KindJPEG, ContentType: "image/jpeg", Image: true},
		{Name: KindGIF, ContentType: "image/gif", Image: true},
		{Name: KindWebP, ContentType: "image/webp", Image: true},
		{Name: KindPDF, ContentType: "application/pdf"},
		{Name: KindText, ContentType: "text/plain; charset=utf-8"},
		{Name: KindCSV, ContentType: "text/csv; charset=utf-8"},
		{Name: KindDOCX, ContentType: typeDOCX},
		{Name: KindXLSX, ContentType: typeXLSX},
		{Name: KindPPTX, ContentType: typePPTX},
	}
}

// KindByName returns the kind called name (one of Kinds(); the provisional "ooxml" is not one).
func KindByName(name string) (Kind, bool) {
	for _, k := range Kinds() {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

// DefaultKinds returns the names of every kind, the set a workspace accepts unless it chose fewer.
func DefaultKinds() []string {
	ks := Kinds()
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.Name
	}
	return names
}

// Provisional reports whether k is Detect's provisional Office kind, to be settled by Inspect.
func (k Kind) Provisional() bool { return k.Name == KindOOXML }

// Allowed reports whether k may be one of the kind names in names. A provisional Office kind may be
// when any of docx, xlsx and pptx is, so that a caller can refuse early, before storing the file, and
// check the final kind from Inspect again.
func Allowed(k Kind, names []string) bool {
	if k.Provisional() {
		return slices.Contains(names, KindDOCX) || slices.Contains(names, KindXLSX) || slices.Contains(names, KindPPTX)
	}
	return slices.Contains(names, k.Name)
}

// Description names the kind for people, as in "this file is a PNG image".
func (k Kind) Description() string {
	switch k.Name {
	case KindPNG:
		return "a PNG image"
	case KindJPEG:
		return "a JPEG image"
	case KindGIF:
		return "a GIF image"
	case KindWebP:
		return "a WebP image"
	case KindPDF:
		return "a PDF document"
	case KindText:
		return "a text file"
	case KindCSV:
		return "a CSV file"
	case KindDOCX:
		return "a Word document"
	case KindXLSX:
		return "an Excel spreadsheet"
	case KindPPTX:
		return "a PowerPoint presentation"
	case KindOOXML:
		return "an Office document"
	}
	return "a file of an unknown kind"
}

// ooxml is the provisional kind for an Office archive not yet told apart.
func ooxml() Kind {
	return Kind{Name: KindOOXML, ContentType: "application/zip"}
}

func mustKind(name string) Kind {
	k, ok := KindByName(name)
	if !ok {
		panic("files: unknown kind " + name) // a typo in this package, caught by its tests
	}
	return k
}
