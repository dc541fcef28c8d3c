package files

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameBytes is the longest name CleanName returns, the limit of most file systems.
const MaxNameBytes = 255

// maxExtBytes is the longest tail after the last dot that CleanName treats as an extension worth
// keeping when it shortens a name.
const maxExtBytes = 16

// CleanName keeps a file name for display only: path (anything up to the last / or \) dropped,
// control characters, bidi controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C) and other
// format characters removed, invalid UTF-8 removed, line and paragraph separators turned into spaces,
// spaces and trailing dots trimmed, at most 255 bytes (cut on a rune boundary, keeping the extension
// when possible); "." / ".." / "" become "file".
//
// Bidi controls are how "evil\u202Egnp.exe" reads as "evilexe.png"; the path is dropped because the
// name may be used to save the file; trailing dots go because Windows drops them when saving, so that
// "x.exe." would become "x.exe".
func CleanName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.ToValidUTF8(name, "")
	name = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			return -1
		case unicode.In(r, unicode.Zl, unicode.Zp):
			return ' '
		}
		return r
	}, name)
	name = strings.TrimRightFunc(strings.TrimSpace(name), func(r rune) bool { return r == '.' || unicode.IsSpace(r) })
	if name == "" {
		return "file"
	}
	return shorten(name, MaxNameBytes)
}

// shorten cuts name to at most max bytes on a rune boundary, keeping a short extension.
func shorten(name string, max int) string {
	if len(name) <= max {
		return name
	}
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= maxExtBytes {
		name, ext = name[:i], name[i:]
	}
	cut := max - len(ext)
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return strings.TrimRightFunc(name[:cut], unicode.IsSpace) + ext
}

// NameForKind returns the name under which a file of kind k is offered for saving: CleanName's, with
// the kind's usual extension added when the name does not already end in one of its extensions.
// Operating systems open a saved file by its extension, not its content, so "run.bat" holding text
// must not be saved as a batch file: it becomes "run.bat.txt".
func NameForKind(name string, k Kind) string {
	name = CleanName(name)
	exts := kindExtensions(k.Name)
	if len(exts) == 0 {
		return name
	}
	if i := strings.LastIndexByte(name, '.'); i > 0 && slices.Contains(exts, strings.ToLower(name[i+1:])) {
		return name
	}
	ext := "." + exts[0]
	return shorten(name, MaxNameBytes-len(ext)) + ext
}

// kindExtensions lists the extensions a kind's files may have, the usual one first.
func kindExtensions(name string) []string {
	switch name {
	case KindPNG:
		return []string{"png"}
	case KindJPEG:
		return []string{"jpg", "jpeg", "jpe", "jfif"}
	case KindGIF:
		return []string{"gif"}
	case KindWebP:
		return []string{"webp"}
	case KindPDF:
		return []string{"pdf"}
	case KindText:
		return []string{"txt", "text", "log", "md", "markdown"}
	case KindCSV:
		return []string{"csv", "tsv"}
	case KindDOCX:
		return []string{"docx", "dotx"}
	case KindXLSX:
		return []string{"xlsx", "xltx"}
	case KindPPTX:
		return []string{"pptx", "ppsx", "potx"}
	}
	return nil
}
