package files

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanName(t *testing.T) {
	long := strings.Repeat("日本語", 40) + ".pdf" // 360 bytes + 4
	for _, tc := range []struct{ in, want string }{
		{"report.pdf", "report.pdf"},
		{"../../etc/passwd", "passwd"},
		{`C:\Users\ada\Desktop\shot.png`, "shot.png"},
		{"dir/sub\\x.txt", "x.txt"},
		{"evil\u202Egnp.exe", "evilgnp.exe"},
		{"a\u2066b\u2067c\u2068d\u2069e\u200ef\u200fg\u061ch\u202ai\u202bj\u202ck\u202dl", "abcdefghijkl"},
		{"zero\u200bwidth\ufeff.txt", "zerowidth.txt"},
		{"tab\there\nnew\rline\x00nul\x7f.txt", "tabherenewlinenul.txt"},
		{"line\u2028sep.txt", "line sep.txt"},
		{"  spaced name.txt  ", "spaced name.txt"},
		{"trailing.exe. . ", "trailing.exe"},
		{"bad\xffutf8.txt", "badutf8.txt"},
		{"", "file"},
		{".", "file"},
		{"..", "file"},
		{"...", "file"},
		{"a/..", "file"},
		{"dir/", "file"},
		{"\u202e", "file"},
		{".bashrc", ".bashrc"},
		{"😀 smile.png", "😀 smile.png"},
	} {
		if got := CleanName(tc.in); got != tc.want {
			t.Errorf("CleanName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}

	got := CleanName(long)
	if len(got) > MaxNameBytes || !utf8.ValidString(got) || !strings.HasSuffix(got, ".pdf") || !strings.HasPrefix(got, "日本語") {
		t.Errorf("CleanName(long) = %q (%d bytes)", got, len(got))
	}
	if len(got) < MaxNameBytes-3 {
		t.Errorf("CleanName(long) cut too much: %d bytes", len(got))
	}
	// 3-byte runes that straddle the limit at every offset.
	for pad := range 3 {
		name := strings.Repeat("x", pad) + strings.Repeat("€", 100)
		got := CleanName(name)
		if len(got) > MaxNameBytes || !utf8.ValidString(got) || len(got) < MaxNameBytes-2 {
			t.Errorf("CleanName(%d x + €…) = %d bytes, valid %v", pad, len(got), utf8.ValidString(got))
		}
	}
	// A tail too long to be an extension is cut like the rest.
	got = CleanName(strings.Repeat("a", 300) + "." + strings.Repeat("b", 40))
	if len(got) != MaxNameBytes || strings.Contains(got, ".") {
		t.Errorf("long tail: %q", got)
	}
}

func TestNameForKind(t *testing.T) {
	for _, tc := range []struct{ name, kind, want string }{
		{"shot.png", KindPNG, "shot.png"},
		{"SHOT.PNG", KindPNG, "SHOT.PNG"},
		{"photo.jpeg", KindJPEG, "photo.jpeg"},
		{"photo", KindJPEG, "photo.jpg"},
		{"run.bat", KindText, "run.bat.txt"},
		{"notes.md", KindText, "notes.md"},
		{"evil\u202Egnp.exe", KindPNG, "evilgnp.exe.png"},
		{"data.csv", KindCSV, "data.csv"},
		{"data.txt", KindCSV, "data.txt.csv"},
		{"deck.ppsx", KindPPTX, "deck.ppsx"},
		{"report.doc", KindDOCX, "report.doc.docx"},
		{"", KindPDF, "file.pdf"},
		{"page.html", KindPDF, "page.html.pdf"},
		{"x", "unknown", "x"},
	} {
		if got := NameForKind(tc.name, Kind{Name: tc.kind}); got != tc.want {
			t.Errorf("NameForKind(%q, %s) = %q, want %q", tc.name, tc.kind, got, tc.want)
		}
	}
	got := NameForKind(strings.Repeat("é", 200)+".exe", Kind{Name: KindPDF})
	if len(got) > MaxNameBytes || !utf8.ValidString(got) || !strings.HasSuffix(got, ".exe.pdf") {
		t.Errorf("long name: %q (%d bytes)", got, len(got))
	}
}
