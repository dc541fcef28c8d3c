package files

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// countingReader is a store's ReaderAt that records its reads and can fail from an offset on.
type countingReader struct {
	r       io.ReaderAt
	reads   int
	largest int
	failAt  int64 // reads reaching this offset fail; 0: never
}

var errStore = errors.New("store: read chunk: connection lost")

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.reads++
	c.largest = max(c.largest, len(p))
	if c.failAt > 0 && off+int64(len(p)) > c.failAt {
		return 0, errStore
	}
	return c.r.ReadAt(p, off)
}

// TestInspectReadsInChunks checks that Inspect reads a large file in bounded pieces and few of them,
// since each read may be a query to the store.
func TestInspectReadsInChunks(t *testing.T) {
	text := []byte(strings.Repeat("ünïcödé text, line after line\n", 40_000)) // about 1.3 MB
	office := officeFile(t, KindXLSX, entry{name: "xl/media/noise.bin", data: noise(3 << 20), stored: true})
	for _, tc := range []struct {
		name     string
		data     []byte
		declared string
	}{
		{"text", text, "text/plain"},
		{"office", office, typeXLSXDeclared},
		{"png", pngFile(t, 2000, 300), "image/png"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := Detect(tc.data[:SniffLen], tc.declared)
			if err != nil {
				t.Fatal(err)
			}
			c := &countingReader{r: bytes.NewReader(tc.data)}
			if _, _, err := Inspect(k, c, int64(len(tc.data))); err != nil {
				t.Fatal(err)
			}
			if c.largest > readChunk+utf8.UTFMax {
				t.Errorf("a read of %d bytes", c.largest)
			}
			// One pass over the file in 64 KiB blocks, twice for archives (directory, then entries).
			if limit := 2*len(tc.data)/readChunk + 10; c.reads > limit {
				t.Errorf("%d reads of a %d-byte file, want at most %d", c.reads, len(tc.data), limit)
			}
		})
	}
}

// noise returns incompressible bytes, so that an archive entry of them is as large as it says.
func noise(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// TestInspectReadError checks that a failing store is reported as an error of its own, not as a
// refusal of the file, whatever the kind.
func TestInspectReadError(t *testing.T) {
	text := []byte(strings.Repeat("a", 200_000))
	office := officeFile(t, KindDOCX, entry{name: "word/media/noise.bin", data: noise(300_000), stored: true})
	for _, tc := range []struct {
		name   string
		data   []byte
		failAt int64
	}{
		{"text head", text, 1},
		{"text body", text, 100_000},
		{"office directory", office, int64(len(office)) - 10},
		{"office entries", office, 200_000},
		{"image", jpegFile(t, 300, 300), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := Detect(tc.data[:min(len(tc.data), SniffLen)], "")
			if err != nil {
				t.Fatal(err)
			}
			c := &countingReader{r: bytes.NewReader(tc.data), failAt: tc.failAt}
			_, _, err = Inspect(k, c, int64(len(tc.data)))
			var r *Refusal
			if errors.As(err, &r) || !errors.Is(err, errStore) {
				t.Fatalf("got %v, want the store's error", err)
			}
		})
	}
	// A store that holds fewer bytes than the size it reported.
	_, _, err := Inspect(mustKind(KindText), bytes.NewReader(text[:1000]), int64(len(text)))
	if err == nil {
		t.Fatal("a short object passed")
	}
}

// TestInspectRechecksContent checks that Inspect does not take the caller's word for the kind.
func TestInspectRechecksContent(t *testing.T) {
	for _, tc := range []struct {
		kind string
		data []byte
		code string
	}{
		{KindPNG, []byte(pdfFile), CodeTypeMismatch},
		{KindText, pngFile(t, 2, 2), CodeTypeMismatch},
		{KindCSV, []byte("<html>"), CodeTypeNotAllowed},
		{KindPDF, []byte("MZ"), CodeTypeNotAllowed},
		{"", []byte("hello"), CodeTypeMismatch},
		{KindDOCX, []byte("hello"), CodeTypeMismatch},
		{KindText, []byte{}, CodeTypeNotAllowed},
	} {
		_, _, err := Inspect(Kind{Name: tc.kind}, bytes.NewReader(tc.data), int64(len(tc.data)))
		var r *Refusal
		if !errors.As(err, &r) || r.Code != tc.code {
			t.Errorf("Inspect(%s, %.10q) = %v, want %s", tc.kind, tc.data, err, tc.code)
		}
	}
}

func TestDetect(t *testing.T) {
	long := append(bytes.Repeat([]byte("a"), SniffLen), make([]byte, SniffLen)...) // NULs only past SniffLen
	for _, tc := range []struct {
		name     string
		head     []byte
		declared string
		kind     string // "" for a refusal
	}{
		{"bytes past SniffLen ignored", long, "", KindText},
		{"docx declared", []byte("PK\x03\x04"), typeDOCXDeclared, KindDOCX},
		{"docx declared with parameters", []byte("PK\x03\x04"), typeDOCXDeclared + "; charset=binary", KindDOCX},
		{"office as msword", []byte("PK\x03\x04"), "application/msword", KindDOCX},
		{"office as vnd.ms-powerpoint", []byte("PK\x03\x04"), "application/vnd.ms-powerpoint", KindPPTX},
		{"office undeclared is provisional", []byte("PK\x03\x04"), "", KindOOXML},
		{"office as zip is provisional", []byte("PK\x03\x04"), "application/x-zip-compressed", KindOOXML},
		{"office as text is a mismatch", []byte("PK\x03\x04"), "text/plain", ""},
		{"malformed declared type", []byte("hello"), "text/plain; charset", KindText},
		{"upper-case declared type", []byte("a,b"), "TEXT/CSV", KindCSV},
		{"markdown", []byte("# Title\n"), "text/markdown", KindText},
		{"json", []byte(`{"a":1}`), "application/json", KindText},
		{"javascript is a mismatch", []byte("alert(1)"), "text/javascript", ""},
		{"xhtml is refused", []byte("<html xmlns='http://www.w3.org/1999/xhtml'>"), "application/xhtml+xml", ""},
		{"text ending in a cut character at SniffLen", append(bytes.Repeat([]byte("a"), SniffLen-1), 0xe2), "", KindText},
		{"text ending in a cut character before SniffLen", append(bytes.Repeat([]byte("a"), 10), 0xe2), "", ""},
		{"webp declared", []byte("RIFF\x00\x00\x00\x00WEBPVP8L"), "image/webp", KindWebP},
		{"pdf as x-pdf", []byte("%PDF-1.7"), "application/x-pdf", KindPDF},
		{"png as x-png", []byte("\x89PNG\r\n\x1a\n"), "image/x-png", KindPNG},
		{"tar", append(make([]byte, 257), "ustar\x0000"...), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := Detect(tc.head, tc.declared)
			if tc.kind == "" {
				var r *Refusal
				if !errors.As(err, &r) {
					t.Fatalf("got kind %q, err %v; want a refusal", k.Name, err)
				}
				return
			}
			if err != nil || k.Name != tc.kind {
				t.Fatalf("got %q, %v; want %q", k.Name, err, tc.kind)
			}
		})
	}
}

// TestArchiveLimits covers the limits that need archives too large to list among the refusals.
func TestArchiveLimits(t *testing.T) {
	t.Run("too many entries", func(t *testing.T) {
		extra := make([]entry, MaxArchiveEntries)
		for i := range extra {
			extra[i] = entry{name: fmt.Sprintf("word/media/%d.bin", i), stored: true}
		}
		_, _, err := check(officeFile(t, KindDOCX, extra...), "")
		assertRefusal(t, err, CodeUnsafe, "more than 10000 files")
	})
	t.Run("total uncompressed", func(t *testing.T) {
		// Each entry claims 80 MiB from 1 MiB, a believable ratio; together they claim 240 MiB.
		var extra []entry
		for i := range 3 {
			extra = append(extra, entry{name: fmt.Sprintf("word/media/%d.bin", i), data: []byte("x"),
				raw: &zip.FileHeader{Method: zip.Deflate, CompressedSize64: 1 << 20, UncompressedSize64: 80 << 20}})
		}
		_, _, err := check(officeFile(t, KindDOCX, extra...), typeDOCXDeclared)
		assertRefusal(t, err, CodeUnsafe, "more than 200 MiB")
	})
	t.Run("stored entry at ratio 1", func(t *testing.T) {
		// Not a bomb: 2 MiB of noise, stored.
		k, _, err := check(officeFile(t, KindPPTX, entry{name: "ppt/media/noise.bin", data: noise(2 << 20), stored: true}), "")
		if err != nil || k.Name != KindPPTX {
			t.Fatalf("got %q, %v", k.Name, err)
		}
	})
	t.Run("remote template", func(t *testing.T) {
		_, _, err := check(officeFile(t, KindDOCX, entry{name: "word/_rels/settings.xml.rels", data: []byte(
			`<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
				`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate"` +
				` Target="http://attacker.example/t.dotm" TargetMode="External"/></Relationships>`)}), typeDOCXDeclared)
		assertRefusal(t, err, CodeUnsafe, "from elsewhere")
	})
	t.Run("external hyperlink", func(t *testing.T) {
		k, _, err := check(officeFile(t, KindDOCX, entry{name: "word/_rels/document.xml.rels", data: []byte(
			`<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
				`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"` +
				` Target="https://example.com/" TargetMode="External"/></Relationships>`)}), typeDOCXDeclared)
		if err != nil || k.Name != KindDOCX {
			t.Fatalf("got %q, %v", k.Name, err)
		}
	})
	t.Run("relationships not XML", func(t *testing.T) {
		_, _, err := check(officeFile(t, KindDOCX, entry{name: "word/_rels/document.xml.rels", data: []byte("<Relationships")}), "")
		assertRefusal(t, err, CodeUnsafe, "links")
	})
	t.Run("names differing in case", func(t *testing.T) {
		_, _, err := check(officeFile(t, KindDOCX, entry{name: "WORD/document.xml", data: []byte("<x/>")}), "")
		assertRefusal(t, err, CodeUnsafe, "twice")
	})
	t.Run("part name in another case", func(t *testing.T) {
		k, _, err := check(zipFile(t, replaceIn(officeParts(KindXLSX), `PartName="/xl/workbook.xml"`, `PartName="/XL/Workbook.xml"`)...), "")
		if err != nil || k.Name != KindXLSX {
			t.Fatalf("got %q, %v", k.Name, err)
		}
	})
	t.Run("excel 4.0 macro sheet", func(t *testing.T) {
		_, _, err := check(officeFile(t, KindXLSX, entry{name: "xl/macrosheets/sheet1.xml", data: []byte("<xm:macrosheet/>")}), "")
		assertRefusal(t, err, CodeTypeNotAllowed, "macros")
	})
	t.Run("backslash", func(t *testing.T) {
		_, _, err := check(officeFile(t, KindDOCX, entry{name: `word\media\x.png`, data: []byte("x")}), "")
		assertRefusal(t, err, CodeUnsafe, "backslash")
	})
	t.Run("vbaProject declared in content types", func(t *testing.T) {
		parts := replaceIn(officeParts(KindXLSX), "</Types>",
			`<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>`)
		_, _, err := check(zipFile(t, parts...), "")
		assertRefusal(t, err, CodeTypeNotAllowed, "macros")
	})
}

func assertRefusal(t *testing.T, err error, code, message string) {
	t.Helper()
	var r *Refusal
	if !errors.As(err, &r) || r.Code != code || !strings.Contains(r.Message, message) {
		t.Fatalf("got %v, want %s saying %q", err, code, message)
	}
}

// FuzzDetectInspect checks that no content makes Detect or Inspect panic, and that every outcome is a
// kind of Kinds() (with a size for images) or a *Refusal.
func FuzzDetectInspect(f *testing.F) {
	seeds := [][]byte{
		pngFile(f, 3, 2), jpegFile(f, 3, 2), gifFile(f, 3, 2), readTestdata(f, "lossless.webp"),
		readTestdata(f, "lossy.webp"), []byte(pdfFile), []byte("hello\n"), []byte("\xef\xbb\xbfa,b\n"),
		officeFile(f, KindDOCX), officeFile(f, KindXLSX), officeFile(f, KindPPTX), macroEnabled(f),
		officeFile(f, KindDOCX, entry{name: "../x", data: []byte("x")}),
		officeFile(f, KindDOCX, entry{name: "word/media/bomb.bin", data: []byte("x"),
			raw: &zip.FileHeader{Method: zip.Deflate, CompressedSize64: 1, UncompressedSize64: 300 << 20}}),
		officeFile(f, KindDOCX, entry{name: "word/media/noise.bin", data: noise(1000)}),
		gifPolyglot(), pngHeader(30_000, 10), []byte("<svg><script>alert(1)</script></svg>"),
		[]byte("<!DOCTYPE html><p>x"), []byte("MZ\x90\x00"), []byte("\x7fELF\x02"), []byte("#!/bin/sh\n"),
		[]byte("a\x00b"), []byte("caf\xe9"), []byte("RIFF\x10\x00\x00\x00WEBPVP8X"),
	}
	for _, s := range seeds {
		f.Add(s, "")
	}
	f.Add([]byte(pdfFile), "image/png")
	f.Add(officeFile(f, KindXLSX), typeDOCXDeclared)
	f.Add([]byte("a,b"), "text/csv")
	f.Fuzz(func(t *testing.T, data []byte, declared string) {
		k, err := Detect(data[:min(len(data), SniffLen)], declared)
		if err != nil {
			var r *Refusal
			if !errors.As(err, &r) {
				t.Fatalf("Detect: %v is not a *Refusal", err)
			}
			return
		}
		if _, ok := KindByName(k.Name); !ok && !k.Provisional() {
			t.Fatalf("Detect returned kind %q", k.Name)
		}
		k, m, err := Inspect(k, bytes.NewReader(data), int64(len(data)))
		if err != nil {
			var r *Refusal
			if !errors.As(err, &r) {
				t.Fatalf("Inspect: %v is not a *Refusal", err)
			}
			return
		}
		if _, ok := KindByName(k.Name); !ok {
			t.Fatalf("Inspect returned kind %q", k.Name)
		}
		if k.Image != (m.Width > 0 && m.Height > 0) {
			t.Fatalf("kind %s with size %+v", k.Name, m)
		}
		if int64(m.Width)*int64(m.Height) > MaxImagePixels {
			t.Fatalf("accepted a %d×%d image", m.Width, m.Height)
		}
	})
}

// FuzzCleanName checks CleanName's promises on any input.
func FuzzCleanName(f *testing.F) {
	for _, s := range []string{"../../etc/passwd", "evil\u202Egnp.exe", "a\x00b", "", "..", "日本語.txt", strings.Repeat("€", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := CleanName(name)
		switch {
		case got == "" || got == "." || got == "..":
			t.Fatalf("CleanName(%q) = %q", name, got)
		case len(got) > MaxNameBytes:
			t.Fatalf("CleanName(%q) is %d bytes", name, len(got))
		case !utf8.ValidString(got):
			t.Fatalf("CleanName(%q) = %q, not UTF-8", name, got)
		case strings.ContainsAny(got, `/\`):
			t.Fatalf("CleanName(%q) = %q holds a path", name, got)
		case strings.ContainsFunc(got, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }):
			t.Fatalf("CleanName(%q) = %q holds control or format characters", name, got)
		case got != strings.TrimSpace(got):
			t.Fatalf("CleanName(%q) = %q is not trimmed", name, got)
		}
		if again := CleanName(got); again != got {
			t.Fatalf("CleanName is not idempotent: %q → %q → %q", name, got, again)
		}
	})
}
