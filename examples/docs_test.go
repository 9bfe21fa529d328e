package examples_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProvidersDocShowsExamples keeps docs/providers.md honest: each example program must appear
// in it verbatim, so that what readers copy from the page is what compiles here.
func TestProvidersDocShowsExamples(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "providers.md"))
	if err != nil {
		t.Fatalf("reading the providers guide: %v", err)
	}
	for _, example := range []string{
		filepath.Join("apiexport-provider", "main.go"),
		filepath.Join("workspaces-provider", "main.go"),
	} {
		src, err := os.ReadFile(example)
		if err != nil {
			t.Fatalf("reading %s: %v", example, err)
		}
		if !strings.Contains(string(doc), string(src)) {
			t.Errorf("docs/providers.md does not show examples/%s verbatim; copy it into docs/providers.md", filepath.ToSlash(example))
		}
	}
}
