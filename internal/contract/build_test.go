package contract

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// `make build` must build the bootstrap the construct's synth deploys: the
// same platform and the same flags. The Makefile cannot import the
// contract, so this reads its build recipe; otherwise the binary a
// developer builds and measures is not the one that runs in Lambda.
func TestTheMakefileBuildsWithTheContractsFlags(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatalf("reading the Makefile: %v", err)
	}
	recipe := buildRecipe(t, string(b))
	want := append(BuildEnv(), "$(GO)", "build")
	want = append(want, BuildFlags()...)
	want = append(want, "-o", Bootstrap, "./"+FunctionDir)
	if diff := cmp.Diff(want, shellWords(recipe)); diff != "" {
		t.Errorf("Makefile build recipe %q (-contract +Makefile):\n%s", recipe, diff)
	}
}

// buildRecipe is the go build line of the Makefile's build target.
func buildRecipe(t *testing.T, makefile string) string {
	t.Helper()
	in := false
	for _, line := range strings.Split(makefile, "\n") {
		switch {
		case strings.HasPrefix(line, "build:"):
			in = true
		case in && !strings.HasPrefix(line, "\t"):
			in = false
		case in && strings.Contains(line, " build "):
			return strings.TrimSpace(line)
		}
	}
	t.Fatal("the Makefile has no build target with a go build line")
	return ""
}

// shellWords splits a recipe line as the shell does for the quoting the
// Makefile uses: blanks separate words, double quotes group and are removed.
func shellWords(line string) []string {
	var words []string
	var w strings.Builder
	quoted, inWord := false, false
	for _, r := range line {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case (r == ' ' || r == '\t') && !quoted:
			if inWord {
				words, inWord = append(words, w.String()), false
				w.Reset()
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}
