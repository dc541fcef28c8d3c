package files

import (
	"archive/zip"
	"bytes"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"strings"
	"testing"
)

// check runs a file through Detect and Inspect as the upload path does.
func check(data []byte, declared string) (Kind, Meta, error) {
	head := data[:min(len(data), SniffLen)]
	k, err := Detect(head, declared)
	if err != nil {
		return Kind{}, Meta{}, err
	}
	return Inspect(k, bytes.NewReader(data), int64(len(data)))
}

func testImage(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, 0, color.RGBA{R: uint8(x), A: 255})
	}
	return img
}

func pngFile(t testing.TB, w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, testImage(w, h)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegFile(t testing.TB, w, h int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testImage(w, h), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gifFile(t testing.TB, w, h int) []byte {
	var b bytes.Buffer
	if err := gif.Encode(&b, testImage(w, h), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func readTestdata(t testing.TB, name string) []byte {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const pdfFile = "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n" +
	"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n" +
	"trailer << /Root 1 0 R >>\n%%EOF\n"

// entry is one file of a test archive. raw entries are written with CreateRaw: their data is already
// compressed and their sizes are whatever the test claims.
type entry struct {
	name   string
	data   []byte
	raw    *zip.FileHeader
	stored bool // not compressed: quicker to write for data that does not compress
}

func zipFile(t testing.TB, entries ...entry) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range entries {
		if e.raw != nil {
			h := *e.raw
			h.Name = e.name
			w, err := zw.CreateRaw(&h)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(e.data); err != nil {
				t.Fatal(err)
			}
			continue
		}
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.stored {
			h.Method = zip.Store
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// officeParts returns the parts of a minimal real document of an Office kind: the content types, the
// package relationships and the main part, as Word, Excel and PowerPoint write them.
func officeParts(kind string) []entry {
	var part, ct, rel, body string
	switch kind {
	case KindDOCX:
		part, ct = "word/document.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
		rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
		body = `<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Hello</w:t></w:r></w:p></w:body></w:document>`
	case KindXLSX:
		part, ct = "xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
		rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
		body = `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets/></workbook>`
	case KindPPTX:
		part, ct = "ppt/presentation.xml", "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
		rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
		body = `<p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"/>`
	}
	return []entry{
		{name: "[Content_Types].xml", data: []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
			`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
			`<Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/` + part + `" ContentType="` + ct + `"/></Types>`)},
		{name: "_rels/.rels", data: []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
			`<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="` + rel + `" Target="` + part + `"/></Relationships>`)},
		{name: part, data: []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + body)},
	}
}

func officeFile(t testing.TB, kind string, extra ...entry) []byte {
	return zipFile(t, append(officeParts(kind), extra...)...)
}

// gifPolyglot is a GIF whose bytes are also a script: "GIF89a/*…*/=alert(1);" runs as
// GIF89a=alert(1) with the binary header inside a comment. Its width is "/*" read as a little-endian
// number (10799), its height 10.
func gifPolyglot() []byte {
	return []byte("GIF89a/*\x0a\x00\x00\x00\x00" + // logical screen: 10799 × 10, no colour table
		",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00;" + // one 1×1 image, trailer
		"*/=alert(1);")
}

const (
	typeDOCXDeclared = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	typeXLSXDeclared = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	typePPTXDeclared = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
)

func TestKinds(t *testing.T) {
	want := []string{"png", "jpeg", "gif", "webp", "pdf", "text", "csv", "docx", "xlsx", "pptx"}
	if got := DefaultKinds(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("DefaultKinds() = %v, want %v", got, want)
	}
	for i, k := range Kinds() {
		if k.Name != want[i] || k.ContentType == "" {
			t.Errorf("Kinds()[%d] = %+v", i, k)
		}
		if got, ok := KindByName(k.Name); !ok || got != k {
			t.Errorf("KindByName(%q) = %+v, %v", k.Name, got, ok)
		}
		if k.Image != (i < 4) {
			t.Errorf("%s: Image = %v", k.Name, k.Image)
		}
		if strings.HasPrefix(k.Description(), "a file of") {
			t.Errorf("%s has no description", k.Name)
		}
	}
	if _, ok := KindByName(KindOOXML); ok {
		t.Error("the provisional Office kind is a kind of Kinds()")
	}
	if _, ok := KindByName("html"); ok {
		t.Error("KindByName(html) found a kind")
	}
	ks := Kinds()
	ks[0].Name = "changed"
	if Kinds()[0].Name != "png" {
		t.Error("Kinds() shares its slice between calls")
	}
}

func TestAllowed(t *testing.T) {
	for _, tc := range []struct {
		kind  Kind
		names []string
		want  bool
	}{
		{mustKind(KindPNG), []string{"png", "pdf"}, true},
		{mustKind(KindGIF), []string{"png", "pdf"}, false},
		{ooxml(), []string{"png", "xlsx"}, true},
		{ooxml(), []string{"png", "pdf"}, false},
		{mustKind(KindDOCX), []string{"xlsx"}, false},
	} {
		if got := Allowed(tc.kind, tc.names); got != tc.want {
			t.Errorf("Allowed(%s, %v) = %v, want %v", tc.kind.Name, tc.names, got, tc.want)
		}
	}
}

func TestAccepted(t *testing.T) {
	bigText := strings.Repeat("Grüße, 世界! 🎉 line of text\r\n", 10_000) // > 64 KiB, runes cut by chunk ends
	for _, tc := range []struct {
		name     string
		data     []byte
		declared string
		kind     string
		w, h     int
	}{
		{"png", pngFile(t, 40, 30), "image/png", KindPNG, 40, 30},
		{"png undeclared", pngFile(t, 3, 2), "", KindPNG, 3, 2},
		{"png octet-stream", pngFile(t, 3, 2), "application/octet-stream", KindPNG, 3, 2},
		{"png with parameters", pngFile(t, 3, 2), "Image/PNG; name=x.png", KindPNG, 3, 2},
		{"jpeg", jpegFile(t, 64, 48), "image/jpeg", KindJPEG, 64, 48},
		{"jpeg as image/jpg", jpegFile(t, 8, 8), "image/jpg", KindJPEG, 8, 8},
		{"jpeg as image/pjpeg", jpegFile(t, 8, 8), "image/pjpeg", KindJPEG, 8, 8},
		{"gif", gifFile(t, 17, 5), "image/gif", KindGIF, 17, 5},
		{"webp lossless", readTestdata(t, "lossless.webp"), "image/webp", KindWebP, 0, 0},
		{"webp lossy", readTestdata(t, "lossy.webp"), "", KindWebP, 0, 0},
		{"pdf", []byte(pdfFile), "application/pdf", KindPDF, 0, 0},
		{"text", []byte("hello\nworld\n"), "text/plain", KindText, 0, 0},
		{"text undeclared", []byte("hello"), "", KindText, 0, 0},
		{"text with charset", []byte("hello"), "text/plain; charset=utf-8", KindText, 0, 0},
		{"text with BOM", []byte("\xef\xbb\xbfhello, BOM\n"), "text/plain", KindText, 0, 0},
		{"text with tab and form feed", []byte("a\tb\fc\r\n"), "", KindText, 0, 0},
		{"large multibyte text", []byte(bigText), "text/plain", KindText, 0, 0},
		{"text starting with a less-than", []byte("<John> hi there"), "text/plain", KindText, 0, 0},
		{"csv", []byte("name,email\nAda,ada@example.com\n"), "text/csv", KindCSV, 0, 0},
		{"csv as application/csv", []byte("a,b\n"), "application/csv", KindCSV, 0, 0},
		{"csv as vnd.ms-excel", []byte("a,b\n"), "application/vnd.ms-excel", KindCSV, 0, 0},
		{"csv undeclared is text", []byte("a,b\n"), "", KindText, 0, 0},
		{"docx", officeFile(t, KindDOCX), typeDOCXDeclared, KindDOCX, 0, 0},
		{"xlsx", officeFile(t, KindXLSX), typeXLSXDeclared, KindXLSX, 0, 0},
		{"pptx", officeFile(t, KindPPTX), typePPTXDeclared, KindPPTX, 0, 0},
		{"docx undeclared", officeFile(t, KindDOCX), "", KindDOCX, 0, 0},
		{"xlsx as application/zip", officeFile(t, KindXLSX), "application/zip", KindXLSX, 0, 0},
		{"pptx as octet-stream", officeFile(t, KindPPTX), "application/octet-stream", KindPPTX, 0, 0},
		{"xlsx as vnd.ms-excel", officeFile(t, KindXLSX), "application/vnd.ms-excel", KindXLSX, 0, 0},
		// Served as image/gif with nosniff: browsers will not run a response of an image type as a
		// script, so the polyglot is inert; its size is within the limits.
		{"gif/javascript polyglot", gifPolyglot(), "image/gif", KindGIF, 10799, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, m, err := check(tc.data, tc.declared)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if k.Name != tc.kind {
				t.Fatalf("kind %q, want %q", k.Name, tc.kind)
			}
			if _, ok := KindByName(k.Name); !ok {
				t.Fatalf("kind %q is not one of Kinds()", k.Name)
			}
			if k.Image {
				if m.Width <= 0 || m.Height <= 0 {
					t.Fatalf("image without size: %+v", m)
				}
				if tc.w != 0 && (m.Width != tc.w || m.Height != tc.h) {
					t.Fatalf("size %d×%d, want %d×%d", m.Width, m.Height, tc.w, tc.h)
				}
			} else if m != (Meta{}) {
				t.Fatalf("meta %+v for a %s", m, k.Name)
			}
		})
	}
}

func TestRefused(t *testing.T) {
	deflated := func(t testing.TB, data []byte) []byte {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		w, _ := zw.Create("x")
		w.Write(data)
		zw.Close()
		zr, err := zip.NewReader(bytes.NewReader(b.Bytes()), int64(b.Len()))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := zr.File[0].OpenRaw()
		if err != nil {
			t.Fatal(err)
		}
		var c bytes.Buffer
		c.ReadFrom(raw)
		return c.Bytes()
	}
	zeros := make([]byte, 2<<20)
	bomb := deflated(t, zeros)
	small := []byte("<w:document/>")

	for _, tc := range []struct {
		name     string
		data     []byte
		declared string
		code     string
		message  string // a part of the message
	}{
		{"svg with script", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "image/svg+xml", CodeTypeNotAllowed, "(SVG)"},
		{"svg declared png", []byte("  \n<svg onload=alert(1)>"), "image/png", CodeTypeNotAllowed, "(SVG)"},
		{"svg with xml prolog", []byte(`<?xml version="1.0"?><svg/>`), "", CodeTypeNotAllowed, "(XML)"},
		{"html renamed png", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>"), "image/png", CodeTypeNotAllowed, "(HTML)"},
		{"html as text", []byte("\xef\xbb\xbf\r\n <HTML><body>hi"), "text/plain", CodeTypeNotAllowed, "(HTML)"},
		{"html script tag", []byte("<script>alert(1)</script>"), "", CodeTypeNotAllowed, "(HTML)"},
		{"html comment", []byte("<!-- x --><b>hi</b>"), "text/plain", CodeTypeNotAllowed, "(HTML)"},
		{"html as text/html", []byte("<p>hi</p>"), "text/html", CodeTypeNotAllowed, "(HTML)"},
		{"pdf declared png", []byte(pdfFile), "image/png", CodeTypeMismatch, "this file is a PDF document, but it was sent as image/png"},
		{"png declared pdf", pngFile(t, 2, 2), "application/pdf", CodeTypeMismatch, "this file is a PNG image, but it was sent as application/pdf"},
		{"jpeg declared png", jpegFile(t, 2, 2), "image/png", CodeTypeMismatch, "JPEG image"},
		{"png declared html", pngFile(t, 2, 2), "text/html", CodeTypeMismatch, "sent as text/html"},
		{"png declared svg", pngFile(t, 2, 2), "image/svg+xml", CodeTypeMismatch, "sent as image/svg+xml"},
		{"text declared exe", []byte("hello"), "application/x-msdownload", CodeTypeMismatch, "this file is a text file, but it was sent as application/x-msdownload"},
		{"text declared png", []byte("hello"), "image/png", CodeTypeMismatch, "text file"},
		{"odd declared type quoted safely", []byte("hello"), "image/\u202e\x00" + strings.Repeat("x", 200) + "; a=\"", CodeTypeMismatch, "sent as image/??xxxx"},
		{"docx declared pdf", officeFile(t, KindDOCX), "application/pdf", CodeTypeMismatch, "Office document"},
		{"xlsx declared docx", officeFile(t, KindXLSX), typeDOCXDeclared, CodeTypeMismatch, "this file is an Excel spreadsheet, but it was sent as a Word document"},
		{"exe declared png", append([]byte("MZ\x90\x00\x03"), make([]byte, 200)...), "image/png", CodeTypeNotAllowed, "Windows program"},
		{"elf", append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 100)...), "", CodeTypeNotAllowed, "Linux program"},
		{"mach-o", []byte("\xcf\xfa\xed\xfe\x07\x00\x00\x01"), "application/octet-stream", CodeTypeNotAllowed, "macOS program"},
		{"shell script", []byte("#!/bin/sh\nrm -rf ~\n"), "text/plain", CodeTypeNotAllowed, "(a script)"},
		{"legacy word", []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00"), "application/msword", CodeTypeNotAllowed, "legacy Office"},
		{"encrypted docx", []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00"), typeDOCXDeclared, CodeTypeNotAllowed, "password"},
		{"gzip", []byte("\x1f\x8b\x08\x00"), "", CodeTypeNotAllowed, "gzip"},
		{"wav", []byte("RIFF\x24\x00\x00\x00WAVEfmt "), "image/webp", CodeTypeNotAllowed, "RIFF"},
		{"utf-16 text", []byte("\xff\xfeh\x00i\x00"), "text/plain", CodeTypeNotAllowed, "UTF-16"},
		{"text with NUL", []byte("hello\x00world"), "text/plain", CodeTypeNotAllowed, "binary"},
		{"text with escape", []byte("hello \x1b[31m red"), "", CodeTypeNotAllowed, "binary"},
		{"latin-1 text", []byte("caf\xe9 cr\xe8me"), "text/plain", CodeTypeNotAllowed, "UTF-8"},
		{"NUL past the head", append([]byte(strings.Repeat("a", 100_000)), 0), "text/plain", CodeTypeNotAllowed, "binary"},
		{"invalid UTF-8 past the first chunk", append([]byte(strings.Repeat("é", 70_000)), 0xff, 'a'), "text/csv", CodeTypeNotAllowed, "UTF-8"},
		{"text cut in a character", []byte("abc\xe4\xb8"), "", CodeTypeNotAllowed, "UTF-8"},
		{"long text cut in a character", append([]byte(strings.Repeat("b", 1000)), 0xe4, 0xb8), "", CodeTypeNotAllowed, "UTF-8"},
		{"empty", []byte{}, "text/plain", CodeTypeNotAllowed, "empty"},
		{"broken png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDX"), "image/png", CodeUnsafe, "damaged"},
		{"broken jpeg", []byte("\xff\xd8\xff\xe0garbage"), "", CodeUnsafe, "damaged"},
		{"huge png", pngHeader(30_000, 10), "image/png", CodeUnsafe, "too large"},
		{"60 megapixel png", pngHeader(10_000, 6_000), "image/png", CodeUnsafe, "too large"},
		{"zero-width gif", []byte("GIF89a\x00\x00\x05\x00\x00\x00\x00;"), "image/gif", CodeUnsafe, "damaged"},
		{"broken webp", []byte("RIFF\x10\x00\x00\x00WEBPVP8 \x04\x00\x00\x00abcd"), "image/webp", CodeUnsafe, "damaged"},
		{"zip bomb declared huge", officeFile(t, KindDOCX, entry{name: "word/media/bomb.bin", data: bomb,
			raw: &zip.FileHeader{Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(zeros), CompressedSize64: uint64(len(bomb)), UncompressedSize64: 300 << 20}}),
			typeDOCXDeclared, CodeUnsafe, "MiB"},
		{"zip bomb by ratio", officeFile(t, KindDOCX, entry{name: "word/media/zeros.bin", data: zeros}), typeDOCXDeclared, CodeUnsafe, "compression bomb"},
		{"zip entry larger than declared", officeFile(t, KindDOCX, entry{name: "word/media/liar.bin", data: bomb,
			raw: &zip.FileHeader{Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(zeros), CompressedSize64: uint64(len(bomb)), UncompressedSize64: 1000}}),
			"", CodeUnsafe, "cannot be unpacked"},
		{"zip entry with bad checksum", officeFile(t, KindDOCX, entry{name: "word/x.xml", data: deflated(t, small),
			raw: &zip.FileHeader{Method: zip.Deflate, CRC32: 1, CompressedSize64: uint64(len(deflated(t, small))), UncompressedSize64: uint64(len(small))}}),
			"", CodeUnsafe, "cannot be unpacked"},
		{"ooxml with ../ entry", officeFile(t, KindDOCX, entry{name: "../../evil.sh", data: []byte("x")}), typeDOCXDeclared, CodeUnsafe, "outside"},
		{"ooxml with absolute entry", officeFile(t, KindXLSX, entry{name: "/etc/cron.d/x", data: []byte("x")}), "", CodeUnsafe, "absolute"},
		{"ooxml with drive entry", officeFile(t, KindXLSX, entry{name: "C:/x", data: []byte("x")}), "", CodeUnsafe, "absolute"},
		{"ooxml with backslash entry", officeFile(t, KindPPTX, entry{name: `ppt\..\x`, data: []byte("x")}), "", CodeUnsafe, ""},
		{"ooxml with duplicate entry", officeFile(t, KindDOCX, entry{name: "word/document.xml", data: []byte("<x/>")}), "", CodeUnsafe, "twice"},
		{"docx with macros", officeFile(t, KindDOCX, entry{name: "word/vbaProject.bin", data: []byte("x")}), typeDOCXDeclared, CodeTypeNotAllowed, "macros"},
		{"docm content type", macroEnabled(t), "", CodeTypeNotAllowed, "macros"},
		{"plain zip", zipFile(t, entry{name: "a.txt", data: []byte("a")}), "application/zip", CodeTypeNotAllowed, "ZIP archive"},
		{"jar", zipFile(t, entry{name: "META-INF/MANIFEST.MF", data: []byte("Manifest-Version: 1.0\n")}), "", CodeTypeNotAllowed, "ZIP archive"},
		{"content types without a main part", zipFile(t, entry{name: "[Content_Types].xml", data: []byte(`<Types><Default Extension="xml" ContentType="application/xml"/></Types>`)},
			entry{name: "word/document.xml", data: small}), "", CodeTypeNotAllowed, "ZIP archive"},
		{"content types not XML", zipFile(t, entry{name: "[Content_Types].xml", data: []byte("not xml <")}), typeDOCXDeclared, CodeUnsafe, "list of parts"},
		{"main part named but absent", zipFile(t, officeParts(KindXLSX)[:2]...), typeXLSXDeclared, CodeUnsafe, "main part is missing"},
		{"main part outside its folder", zipFile(t, replaceIn(officeParts(KindPPTX), "/ppt/presentation.xml", "/word/presentation.xml")...), "", CodeUnsafe, "main part is missing"},
		{"truncated zip", officeFile(t, KindDOCX)[:300], typeDOCXDeclared, CodeUnsafe, "not a valid ZIP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, _, err := check(tc.data, tc.declared)
			var r *Refusal
			if !errors.As(err, &r) {
				t.Fatalf("got kind %q and error %v, want a refusal %s", k.Name, err, tc.code)
			}
			if r.Code != tc.code {
				t.Fatalf("code %s (%s), want %s", r.Code, r.Message, tc.code)
			}
			if !strings.Contains(r.Message, tc.message) {
				t.Fatalf("message %q does not say %q", r.Message, tc.message)
			}
			if r.Error() != r.Code+": "+r.Message {
				t.Fatalf("Error() = %q", r.Error())
			}
		})
	}
}

// pngHeader returns the start of a PNG whose header claims w × h pixels, with a correct checksum.
func pngHeader(w, h uint32) []byte {
	ihdr := []byte{'I', 'H', 'D', 'R',
		byte(w >> 24), byte(w >> 16), byte(w >> 8), byte(w),
		byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h),
		8, 2, 0, 0, 0}
	sum := crc32.ChecksumIEEE(ihdr)
	b := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0d")
	b = append(b, ihdr...)
	return append(b, byte(sum>>24), byte(sum>>16), byte(sum>>8), byte(sum))
}

func macroEnabled(t testing.TB) []byte {
	parts := officeParts(KindDOCX)
	parts[0].data = bytes.Replace(parts[0].data,
		[]byte("application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"),
		[]byte("application/vnd.ms-word.document.macroEnabled.main+xml"), 1)
	return zipFile(t, parts...)
}

// TestTwoMainParts is separate because it needs its own [Content_Types].xml.
func TestTwoMainParts(t *testing.T) {
	parts := officeParts(KindDOCX)
	parts[0].data = bytes.Replace(parts[0].data, []byte("</Types>"),
		[]byte(`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>`), 1)
	parts = append(parts, entry{name: "xl/workbook.xml", data: []byte("<workbook/>")})
	_, _, err := check(zipFile(t, parts...), "")
	var r *Refusal
	if !errors.As(err, &r) || r.Code != CodeUnsafe || !strings.Contains(r.Message, "two kinds") {
		t.Fatalf("got %v, want an unsafe refusal for two main parts", err)
	}
}

// replaceIn replaces old with new in the first part (the content types).
func replaceIn(parts []entry, old, new string) []entry {
	parts[0].data = bytes.Replace(parts[0].data, []byte(old), []byte(new), 1)
	return parts
}
