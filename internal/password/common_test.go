package password

import (
	"strings"
	"testing"
)

func TestCommon(t *testing.T) {
	for _, pw := range []string{"password1234", "PASSWORD1234", "iloveyou1234", "123456789012", "qwertyuiopasdfghjkl"} {
		if !Common(pw) {
			t.Errorf("Common(%q) = false; want true", pw)
		}
	}
	for _, pw := range []string{"", "password", "correct horse battery staple", "zzzz zzzz zzzz zzzz", "password12345x"} {
		if Common(pw) {
			t.Errorf("Common(%q) = true; want false", pw)
		}
	}
}

// Every line of the list is found, and the list is as the search needs it: sorted, lower-cased, unique.
func TestCommonList(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(commonList, "\n"), "\n")
	if len(lines) < 10000 {
		t.Fatalf("the list has %d entries", len(lines))
	}
	for i, l := range lines {
		if i > 0 && lines[i-1] >= l {
			t.Fatalf("line %d (%q) is not after %q", i+1, l, lines[i-1])
		}
		if strings.ToLower(l) != l {
			t.Fatalf("line %d (%q) is not lower-case", i+1, l)
		}
		if !Common(l) {
			t.Fatalf("Common(%q) = false for line %d", l, i+1)
		}
		if Common(l + "\x01") {
			t.Fatalf("Common(%q) = true", l+"\x01")
		}
	}
}
