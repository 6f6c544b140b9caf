// Package docs holds the documentation beside the README; its tests check
// that every relative link in README.md and docs/*.md resolves, and that Go
// comments cite outside pages by full URL.
package docs

import (
	"bufio"
	"fmt"
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// TestRelativeLinksResolve: every relative link in the README and in docs/
// must name a file or directory that exists and, with a #fragment, a heading
// of that file as GitHub anchors it; otherwise a reader following it lands on
// a 404 or at the top of the wrong page. Links to http(s) and mailto are not
// checked (no network here).
func TestRelativeLinksResolve(t *testing.T) {
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{filepath.Join("..", "README.md")}, files...)
	anchors := map[string]map[string]bool{} // by cleaned path
	anchorsOf := func(path string) (map[string]bool, error) {
		if a, ok := anchors[path]; ok {
			return a, nil
		}
		a, err := headingAnchors(path)
		if err != nil {
			return nil, err
		}
		anchors[path] = a
		return a, nil
	}
	for _, file := range files {
		name := filepath.ToSlash(filepath.Join("docs", file)) // as the repository names it
		t.Run(name, func(t *testing.T) {
			links, err := markdownLinks(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range links {
				if external(l.target) {
					continue
				}
				path, fragment, _ := strings.Cut(l.target, "#")
				target := filepath.Clean(file)
				if path != "" {
					target = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
					if _, err := os.Stat(target); err != nil {
						t.Errorf("%s:%d: link %q: got no file %s, want one", name, l.line, l.target, target)
						continue
					}
				}
				if fragment == "" {
					continue
				}
				if !strings.HasSuffix(target, ".md") {
					t.Errorf("%s:%d: link %q: got an anchor into %s, want anchors only into markdown files", name, l.line, l.target, target)
					continue
				}
				a, err := anchorsOf(target)
				if err != nil {
					t.Errorf("%s:%d: link %q: %v", name, l.line, l.target, err)
					continue
				}
				if !a[fragment] {
					t.Errorf("%s:%d: link %q: got no heading anchored #%s in %s, want one", name, l.line, l.target, fragment, target)
				}
			}
		})
	}
}

// TestGoCommentsCiteFullURLs: a Go comment must cite an outside page, such
// as AWS documentation, by its full https:// URL, not by a bare markdown or
// HTML file name, which a reader cannot follow. The repository's own files
// (README.md, docs/*.md) may be named by their path, or docs/ ones by their
// name; ".../page.html" shortens a URL given just before it.
func TestGoCommentsCiteFullURLs(t *testing.T) {
	root := ".."
	own := func(name string) bool {
		name = strings.TrimLeft(name, "./")
		for _, p := range []string{filepath.Join(root, name), filepath.Join(root, "docs", name)} {
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return true
			}
		}
		return false
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
				name == "testdata" || name == "vendor" || name == "node_modules" || name == "cdk.out") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path) // #nosec G304 -- the repository's own Go files
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		fset := token.NewFileSet()
		var s scanner.Scanner
		s.Init(fset.AddFile(path, fset.Base(), len(src)), src, nil, scanner.ScanComments)
		for {
			pos, tok, lit := s.Scan()
			if tok == token.EOF {
				break
			}
			if tok != token.COMMENT {
				continue
			}
			for i, line := range strings.Split(lit, "\n") {
				for _, name := range bareFileNames(line) {
					if !own(name) {
						t.Errorf("%s:%d: comment cites %q by file name; want the page's full https:// URL",
							rel, fset.Position(pos).Line+i, name)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

var (
	urlText  = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://\S+`)
	pathText = regexp.MustCompile(`[\w./-]+`)
	pageName = regexp.MustCompile(`(^|/)[\w-]+\.(md|html)$`)
)

// bareFileNames returns the markdown and HTML file names, with any path,
// that a line of text names outside URLs and their ".../" shortenings.
func bareFileNames(line string) []string {
	var names []string
	for _, p := range pathText.FindAllString(urlText.ReplaceAllString(line, " "), -1) {
		p = strings.TrimRight(p, ".") // a sentence's full stop
		if pageName.MatchString(p) && !strings.HasPrefix(p, ".../") {
			names = append(names, p)
		}
	}
	return names
}

// TestGitHubSlug pins the anchor rule the link check relies on: GitHub
// lowercases a heading, drops punctuation but hyphens and underscores, and
// turns spaces into hyphens; a repeated heading gets -1, -2, ...
func TestGitHubSlug(t *testing.T) {
	for _, tc := range []struct{ heading, want string }{
		{"Guarantees", "guarantees"},
		{"Try it: `make demo`", "try-it-make-demo"},
		{"ECS managed draining or ecs-drainer", "ecs-managed-draining-or-ecs-drainer"},
		{"One chain per action: the chain mark", "one-chain-per-action-the-chain-mark"},
		{"DRAINER_* variables", "drainer_-variables"},
		{"[The construct](construct.md) in your app", "the-construct-in-your-app"},
		{"Cost, per month (USD)", "cost-per-month-usd"},
	} {
		t.Run(tc.heading, func(t *testing.T) {
			if got := slug(tc.heading); got != tc.want {
				t.Errorf("slug(%q): got %q, want %q", tc.heading, got, tc.want)
			}
		})
	}
}

// TestMarkdownLinks: the parser must find links in prose and tables, and none
// in code, or the check would miss broken links or report code as links.
func TestMarkdownLinks(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.md")
	text := "See [the design](design.md#layout) and ![chart](a.svg).\n" +
		"| [a](b.md) | `[not](a-link.md)` |\n" +
		"```\n[not](in-a-fence.md)\n```\n" +
		"[ref]: ref.md\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	links, err := markdownLinks(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range links {
		got = append(got, fmt.Sprintf("%d:%s", l.line, l.target))
	}
	want := []string{"1:design.md#layout", "1:a.svg", "2:b.md", "6:ref.md"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("links of %q: got %v, want %v", text, got, want)
	}
}

type link struct {
	line   int
	target string
}

var (
	codeSpan   = regexp.MustCompile("`+[^`]*`+")
	inlineLink = regexp.MustCompile(`\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	refLink    = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$`)
	fence      = regexp.MustCompile("^\\s{0,3}(```|~~~)")
	atxHeading = regexp.MustCompile(`^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$`)
	linkText   = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	htmlAnchor = regexp.MustCompile(`<a\s+(?:name|id)="([^"]+)"`)
)

// markdownLinks returns the inline and reference link targets of a markdown
// file, outside fenced code blocks and code spans.
func markdownLinks(path string) ([]link, error) {
	var links []link
	err := eachProseLine(path, func(n int, line string) {
		line = codeSpan.ReplaceAllString(line, "code")
		if m := refLink.FindStringSubmatch(line); m != nil {
			links = append(links, link{n, m[1]})
			return
		}
		for _, m := range inlineLink.FindAllStringSubmatch(line, -1) {
			links = append(links, link{n, m[1]})
		}
	})
	return links, err
}

// headingAnchors returns the anchors GitHub gives a markdown file's headings,
// and those of explicit <a name> or <a id> tags.
func headingAnchors(path string) (map[string]bool, error) {
	anchors := map[string]bool{}
	seen := map[string]int{}
	err := eachProseLine(path, func(_ int, line string) {
		for _, m := range htmlAnchor.FindAllStringSubmatch(line, -1) {
			anchors[m[1]] = true
		}
		m := atxHeading.FindStringSubmatch(line)
		if m == nil {
			return
		}
		s := slug(m[1])
		if k := seen[s]; k > 0 {
			anchors[fmt.Sprintf("%s-%d", s, k)] = true
		} else {
			anchors[s] = true
		}
		seen[s]++
	})
	return anchors, err
}

// slug is GitHub's anchor for a heading's text: the text of its links and
// code, lowercased, with punctuation other than hyphens and underscores
// dropped and each space a hyphen.
func slug(heading string) string {
	heading = linkText.ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// eachProseLine calls f with each line of the file outside fenced code
// blocks, numbered from 1.
func eachProseLine(path string, f func(n int, line string)) error {
	file, err := os.Open(path) // #nosec G304 -- the repository's own markdown files
	if err != nil {
		return err
	}
	defer file.Close()
	s := bufio.NewScanner(file)
	s.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	inFence := false
	for n := 1; s.Scan(); n++ {
		line := s.Text()
		if fence.MatchString(line) {
			inFence = !inFence
			continue
		}
		if !inFence {
			f(n, line)
		}
	}
	return s.Err()
}

func external(target string) bool {
	lower := strings.ToLower(target)
	return strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "mailto:")
}
