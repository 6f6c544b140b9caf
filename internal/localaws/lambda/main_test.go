package lambda

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// binDir holds the binaries built for this test run.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "localaws-lambda-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// binary builds a main package of the module once per test run.
type binary struct {
	pkg  string
	once sync.Once
	path string
	err  error
}

var (
	drainerBin = &binary{pkg: "./functions/drainer"}
	echoBin    = &binary{pkg: "./internal/localaws/lambda/testdata/echo"}
)

func (b *binary) build(t *testing.T) string {
	t.Helper()
	b.once.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			b.err = err
			return
		}
		out := filepath.Join(binDir, filepath.Base(b.pkg), "bootstrap")
		cmd := exec.Command("go", "build", "-o", out, b.pkg)
		cmd.Dir = root
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", b.pkg, err, msg)
			return
		}
		b.path = out
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// moduleRoot walks up from the package directory to go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// hangAfter is how long a test waits for what must happen before it fails:
// long enough that only a hang reaches it, however loaded the machine that
// runs the processes, the pollers and the test.
const hangAfter = time.Minute

// waitFor polls cond until it holds, failing the test after hangAfter.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hangAfter)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", hangAfter, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newEcho returns the echo function with cfg's settings, closed at cleanup.
// Its timeout is hangAfter unless cfg sets one: Lambda's default 3 s would
// bound how fast a loaded machine answers.
func newEcho(t *testing.T, cfg FunctionConfig) *Function {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "echo"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = hangAfter
	}
	cfg.Binary = echoBin.build(t)
	f, err := NewFunction(cfg)
	if err != nil {
		t.Fatalf("NewFunction: %v", err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}
