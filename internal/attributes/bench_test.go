package attributes_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/attributes"
)

// largest is a set at every limit: 20 keys of 40 characters, values of 256 bytes.
func largest() []byte {
	parts := make([]string, attributes.MaxCount)
	for i := range parts {
		parts[i] = fmt.Sprintf(`"k%02d%s":"%s"`, i, strings.Repeat("_", attributes.MaxKeyLength-3), strings.Repeat("ü", attributes.MaxValueBytes/2))
	}
	return []byte("{" + strings.Join(parts, ",") + "}")
}

var typical = []byte(`{"plan":"gold","seats":10,"vip":true,"account":"AC-10442"}`)

func BenchmarkParse(b *testing.B) {
	for _, c := range []struct {
		name string
		data []byte
	}{{"typical", typical}, {"largest", largest()}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			for b.Loop() {
				if _, err := attributes.Parse(c.data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGet is what a routing rule on an attribute costs per conversation started.
func BenchmarkGet(b *testing.B) {
	for _, c := range []struct {
		name string
		data []byte
	}{{"typical", typical}, {"largest", largest()}} {
		s, _ := attributes.Parse(c.data)
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				s.Get("plan")
			}
		})
	}
}
