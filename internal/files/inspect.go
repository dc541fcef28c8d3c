package files

import (
	"archive/zip"
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"path"
	"strings"
	"unicode/utf8"

	"golang.org/x/image/webp"
)

// Limits Inspect enforces. They protect Parley itself (decoding or unpacking on the server) and the
// people who open the file (an image or archive that swamps their device).
const (
	MaxImagePixels = 50_000_000 // width × height
	MaxImageSide   = 20_000     // pixels, either side

	MaxArchiveEntries      = 10_000
	MaxArchiveUncompressed = 200 << 20 // bytes, all entries together
	MaxEntryRatio          = 200       // uncompressed:compressed, for entries above ratioFloor
	ratioFloor             = 1 << 20   // small entries may compress as well as they like

	maxContentTypes = 1 << 20 // bytes of [Content_Types].xml that Inspect will parse
	readChunk       = 64 << 10
)

// Meta is what Inspect learns about a file beyond its kind.
type Meta struct {
	Width, Height int // images only
}

// Inspect checks the whole file once stored, r reading its size bytes, and returns its final kind.
// k is the kind Detect returned for the file's first bytes; the kind returned is k, except that a
// provisional Office kind (KindOOXML) becomes docx, xlsx or pptx. When k already names one of those
// (because it was declared) and the archive is another, the file is refused as a mismatch.
//
//   - images: the decoder's configuration (png, jpeg, gif, webp); refused (CodeUnsafe) when it fails or
//     width×height > 50 megapixels or a side > 20000 pixels.
//   - Office: the ZIP directory; refused (CodeUnsafe) when > 10,000 entries, total uncompressed >
//     200 MiB, any entry > 1 MiB uncompressed at a ratio > 200:1, names with "..", absolute or
//     backslash paths, duplicate names, or any entry that does not decompress to exactly its declared
//     size and checksum; [Content_Types].xml must exist and name exactly one main part, which must be
//     in the archive (word/ for docx, xl/ for xlsx, ppt/ for pptx); macros (vbaProject.bin or a
//     macro-enabled main part) → CodeTypeNotAllowed.
//   - text/csv: valid UTF-8 (a leading BOM allowed), no NUL or C0 controls other than \t \n \r \f, and
//     not HTML-like at its start; read in chunks.
//   - pdf: nothing beyond the magic.
//
// For every kind, the first bytes are sniffed again, so Inspect does not rely on the caller having
// called Detect on the same bytes. r is read sequentially in chunks of 64 KiB (archives: wherever the
// ZIP directory points). The error is a *Refusal, or a read error from r, returned as it is.
func Inspect(k Kind, r io.ReaderAt, size int64) (Kind, Meta, error) {
	head := make([]byte, min(size, SniffLen))
	if _, err := r.ReadAt(head, 0); err != nil && !(errors.Is(err, io.EOF) && size <= SniffLen) {
		return Kind{}, Meta{}, fmt.Errorf("files: read head: %w", err)
	}
	content, refusal := sniff(head, size > SniffLen)
	if refusal != nil {
		return Kind{}, Meta{}, refusal
	}
	if !sameContent(k, content) {
		return Kind{}, Meta{}, mismatch("this file is %s, not %s", describeContent(content), k.Description())
	}
	switch content {
	case KindPNG, KindJPEG, KindGIF, KindWebP:
		m, err := inspectImage(content, r, size)
		return k, m, err
	case KindText:
		return k, Meta{}, inspectText(r, size)
	case KindOOXML:
		final, err := inspectOffice(k, r, size)
		return final, Meta{}, err
	}
	return k, Meta{}, nil // pdf
}

// sameContent reports whether a file Detect called k shows content (a name sniff returns).
func sameContent(k Kind, content string) bool {
	switch k.Name {
	case KindText, KindCSV:
		return content == KindText
	case KindDOCX, KindXLSX, KindPPTX, KindOOXML:
		return content == KindOOXML
	}
	return k.Name == content
}

func inspectImage(name string, r io.ReaderAt, size int64) (Meta, error) {
	// Buffered: a decoder's small reads would otherwise each become a read of the store.
	in := bufio.NewReaderSize(io.NewSectionReader(blocks(r, size), 0, size), readChunk)
	var (
		cfg image.Config
		err error
	)
	switch name {
	case KindPNG:
		cfg, err = png.DecodeConfig(in)
	case KindJPEG:
		cfg, err = jpeg.DecodeConfig(in)
	case KindGIF:
		cfg, err = gif.DecodeConfig(in)
	case KindWebP:
		cfg, err = webp.DecodeConfig(in)
	}
	if err != nil {
		var re readError
		if errors.As(err, &re) {
			return Meta{}, fmt.Errorf("files: read image: %w", re.err)
		}
		return Meta{}, unsafe("this image is damaged and cannot be shown")
	}
	w, h := cfg.Width, cfg.Height
	if w <= 0 || h <= 0 {
		return Meta{}, unsafe("this image is damaged and cannot be shown (it has no pixels)")
	}
	if w > MaxImageSide || h > MaxImageSide || int64(w)*int64(h) > MaxImagePixels {
		return Meta{}, unsafe("this image is too large (%d × %d pixels; at most %d pixels a side and %d megapixels)",
			w, h, MaxImageSide, MaxImagePixels/1_000_000)
	}
	return Meta{Width: w, Height: h}, nil
}

// readError marks a failure of the underlying reader, which is the storage's problem and not the file's.
type readError struct{ err error }

func (e readError) Error() string { return e.err.Error() }

// inspectText checks the whole file as text, a chunk at a time, carrying a character cut by a chunk's
// end over to the next.
func inspectText(r io.ReaderAt, size int64) error {
	buf := make([]byte, readChunk+utf8.UTFMax)
	carry := 0
	for off := int64(0); off < size; {
		n, err := r.ReadAt(buf[carry:carry+int(min(readChunk, size-off))], off)
		if n == 0 {
			if err == nil {
				err = io.ErrNoProgress
			}
			return fmt.Errorf("files: read text: %w", err)
		}
		off += int64(n)
		chunk := buf[:carry+n]
		more := off < size
		if r := checkText(chunk, more); r != nil {
			return r
		}
		carry = 0
		if more {
			carry = incompleteSuffix(chunk)
			copy(buf, chunk[len(chunk)-carry:])
		}
	}
	return nil
}

// officeMain is the kind and folder of a main part.
type officeMain struct {
	kind   string
	folder string
}

// officeMainParts lists, by content type, the main parts of the Office documents Parley accepts:
// documents, templates and slide shows, each counted as its kind. Macro-enabled variants are not here;
// isMacroType refuses them.
func officeMainParts() map[string]officeMain {
	const ooxml = "application/vnd.openxmlformats-officedocument."
	return map[string]officeMain{
		ooxml + "wordprocessingml.document.main+xml":   {KindDOCX, "word/"},
		ooxml + "wordprocessingml.template.main+xml":   {KindDOCX, "word/"},
		ooxml + "spreadsheetml.sheet.main+xml":         {KindXLSX, "xl/"},
		ooxml + "spreadsheetml.template.main+xml":      {KindXLSX, "xl/"},
		ooxml + "presentationml.presentation.main+xml": {KindPPTX, "ppt/"},
		ooxml + "presentationml.slideshow.main+xml":    {KindPPTX, "ppt/"},
		ooxml + "presentationml.template.main+xml":     {KindPPTX, "ppt/"},
	}
}

// isMacroType reports the content types of parts that hold or make room for macros: the main parts
// of .docm, .xlsm, .pptm and their templates and add-ins, VBA projects, and Excel 4.0 macro sheets.
func isMacroType(contentType string) bool {
	ct := strings.ToLower(contentType)
	return strings.Contains(ct, "macroenabled") || strings.Contains(ct, "vbaproject") || strings.Contains(ct, "macrosheet")
}

// isMacroPart reports entries that hold macros whatever the content types say.
func isMacroPart(lowerName string) bool {
	return path.Base(lowerName) == "vbaproject.bin" || strings.HasPrefix(lowerName, "xl/macrosheets/")
}

// contentTypes is the part of [Content_Types].xml Inspect reads.
type contentTypes struct {
	Defaults []struct {
		Extension   string `xml:"Extension,attr"`
		ContentType string `xml:"ContentType,attr"`
	} `xml:"Default"`
	Overrides []struct {
		PartName    string `xml:"PartName,attr"`
		ContentType string `xml:"ContentType,attr"`
	} `xml:"Override"`
}

func inspectOffice(k Kind, r io.ReaderAt, size int64) (Kind, error) {
	damaged := func(why string) error {
		return unsafe("this Office document is damaged or unsafe to open (%s)", why)
	}
	zr, err := zip.NewReader(blocks(r, size), size)
	if err != nil {
		var re readError
		if errors.As(err, &re) {
			return Kind{}, fmt.Errorf("files: read archive: %w", re.err)
		}
		return Kind{}, damaged("it is not a valid ZIP archive")
	}
	if len(zr.File) > MaxArchiveEntries {
		return Kind{}, damaged(fmt.Sprintf("more than %d files inside", MaxArchiveEntries))
	}
	var total uint64
	// Part names compare without case (as Office does), so two entries that differ only in case are
	// the same part twice.
	names := make(map[string]bool, len(zr.File))
	for _, f := range zr.File {
		if why := badEntryName(f.Name); why != "" {
			return Kind{}, damaged(why)
		}
		name := strings.ToLower(f.Name)
		if names[name] {
			return Kind{}, damaged("a name appears twice inside it")
		}
		names[name] = true
		u := f.UncompressedSize64
		total += u
		if u > MaxArchiveUncompressed || total > MaxArchiveUncompressed {
			return Kind{}, damaged(fmt.Sprintf("it unpacks to more than %d MiB", MaxArchiveUncompressed>>20))
		}
		if u > ratioFloor && (f.CompressedSize64 == 0 || u/f.CompressedSize64 > MaxEntryRatio) {
			return Kind{}, damaged("it is a compression bomb")
		}
		if isMacroPart(name) {
			return Kind{}, withMacros()
		}
	}

	ct, err := readContentTypes(zr)
	if err != nil {
		return Kind{}, err
	}
	for _, d := range ct.Defaults {
		if isMacroType(d.ContentType) {
			return Kind{}, withMacros()
		}
	}
	mains := officeMainParts()
	found := ""
	for _, o := range ct.Overrides {
		if isMacroType(o.ContentType) {
			return Kind{}, withMacros()
		}
		m, ok := mains[strings.ToLower(o.ContentType)]
		if !ok {
			continue
		}
		part := strings.ToLower(strings.TrimPrefix(o.PartName, "/"))
		if !strings.HasPrefix(part, m.folder) || !names[part] {
			return Kind{}, damaged("its main part is missing")
		}
		if found != "" && found != m.kind {
			return Kind{}, damaged("it claims to be two kinds of document at once")
		}
		found = m.kind
	}
	if found == "" {
		return Kind{}, notAllowed("files of this type are not accepted (a ZIP archive that is not a Word, Excel or PowerPoint document)")
	}
	final := mustKind(found)
	if !k.Provisional() && k.Name != final.Name {
		return Kind{}, mismatch("this file is %s, but it was sent as %s", final.Description(), k.Description())
	}

	// Every entry must decompress to exactly its declared size and checksum (archive/zip refuses
	// anything else), so the limits above hold for the data itself, not just for what the directory
	// says.
	// Relationship parts are read on the way, for links that make Office fetch content when the
	// document is opened.
	for _, f := range zr.File {
		external, err := drain(f)
		if err != nil {
			var re readError
			if errors.As(err, &re) {
				return Kind{}, fmt.Errorf("files: read archive: %w", re.err)
			}
			var refusal *Refusal
			if errors.As(err, &refusal) {
				return Kind{}, refusal
			}
			return Kind{}, damaged("a file inside cannot be unpacked")
		}
		if external {
			return Kind{}, unsafe("this Office document loads a template or object from elsewhere when opened, which Parley does not accept")
		}
	}
	return final, nil
}

func withMacros() *Refusal {
	return notAllowed("files of this type are not accepted (an Office document with macros)")
}

// badEntryName says what is wrong with an archive entry's name, or "" when nothing is: names must be
// relative, forward-slash paths that cannot climb out of the folder the archive is unpacked into.
func badEntryName(name string) string {
	switch {
	case name == "":
		return "a file inside has no name"
	case strings.Contains(name, ".."):
		return "a name inside points outside the document"
	case strings.HasPrefix(name, "/"), len(name) >= 2 && name[1] == ':':
		return "a name inside is an absolute path"
	case strings.Contains(name, "\\"):
		return "a name inside uses backslashes"
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "a name inside holds control characters"
	}
	return ""
}

func readContentTypes(zr *zip.Reader) (contentTypes, error) {
	var ct contentTypes
	for _, f := range zr.File {
		if f.Name != "[Content_Types].xml" {
			continue
		}
		if f.UncompressedSize64 > maxContentTypes {
			return ct, unsafe("this Office document is damaged or unsafe to open (its list of parts is too large)")
		}
		rc, err := f.Open()
		if err != nil {
			return ct, unsafe("this Office document is damaged or unsafe to open (its list of parts cannot be read)")
		}
		defer rc.Close()
		// encoding/xml resolves no external entities, so the document cannot make Inspect fetch anything.
		if err := xml.NewDecoder(io.LimitReader(rc, maxContentTypes)).Decode(&ct); err != nil {
			var re readError
			if errors.As(err, &re) {
				return ct, fmt.Errorf("files: read archive: %w", re.err)
			}
			return ct, unsafe("this Office document is damaged or unsafe to open (its list of parts cannot be read)")
		}
		return ct, nil
	}
	// Without it, the archive is no Office document but some other ZIP archive (or a JAR, an OpenDocument
	// file…), which Parley does not take.
	return ct, notAllowed("files of this type are not accepted (a ZIP archive that is not a Word, Excel or PowerPoint document)")
}

// maxRels is the largest relationship part Inspect reads; real ones are a few KiB, a few hundred with
// thousands of hyperlinks.
const maxRels = 4 << 20

// drain reads one entry to its end, which is when archive/zip checks its size and checksum. For a
// relationship part, it reports whether the part links to a remote template, object, frame or
// subdocument: what Office fetches by itself on opening (the "remote template" attack), unlike a
// hyperlink, which waits for a click.
func drain(f *zip.File) (external bool, err error) {
	rc, err := f.Open()
	if err != nil {
		return false, err
	}
	defer rc.Close()
	if !strings.HasSuffix(strings.ToLower(f.Name), ".rels") {
		_, err = io.Copy(io.Discard, rc)
		return false, err
	}
	if f.UncompressedSize64 > maxRels {
		return false, unsafe("this Office document is damaged or unsafe to open (a list of links is too large)")
	}
	data, err := io.ReadAll(rc)
	if err != nil {
		return false, err
	}
	var rels struct {
		Relationships []struct {
			Type       string `xml:"Type,attr"`
			TargetMode string `xml:"TargetMode,attr"`
		} `xml:"Relationship"`
	}
	if err := xml.Unmarshal(data, &rels); err != nil {
		return false, unsafe("this Office document is damaged or unsafe to open (a list of links cannot be read)")
	}
	for _, rel := range rels.Relationships {
		if !strings.EqualFold(rel.TargetMode, "External") {
			continue
		}
		switch path.Base(rel.Type) {
		case "attachedTemplate", "oleObject", "frame", "subDocument":
			return true, nil
		}
	}
	return false, nil
}

// blockReader reads r in aligned blocks of readChunk bytes and keeps the last one, because decoders
// and archive/zip read in small pieces (a few KiB, local headers of 30 bytes) and each read of r may
// be a query to the store. Errors from r come back as readError, so that they are told apart from a
// damaged file. It is not safe for concurrent use, and Inspect does not need it to be.
type blockReader struct {
	r     io.ReaderAt
	size  int64
	buf   []byte
	start int64 // offset of buf[0] in r
	n     int   // valid bytes in buf
}

func blocks(r io.ReaderAt, size int64) *blockReader {
	return &blockReader{r: r, size: size, buf: make([]byte, readChunk)}
}

func (b *blockReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("files: negative offset")
	}
	total := 0
	for len(p) > 0 {
		if off >= b.size {
			return total, io.EOF
		}
		if off < b.start || off >= b.start+int64(b.n) {
			start := off - off%readChunk
			want := int(min(readChunk, b.size-start))
			n, err := b.r.ReadAt(b.buf[:want], start)
			b.start, b.n = start, n
			if n < want {
				if err == nil || errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF // r is shorter than size
				}
				if n <= int(off-start) {
					return total, readError{err}
				}
			}
		}
		c := copy(p, b.buf[off-b.start:b.n])
		total += c
		p = p[c:]
		off += int64(c)
	}
	return total, nil
}
