package operator_test

import (
	"testing"
)

// status must show every drain in flight, and flag the one no live chain
// carries, otherwise an operator waits on a drain nothing will finish.
func TestStatus(t *testing.T) {
	w := newWorld(t)
	for _, tt := range []struct {
		name, golden string
		args         []string
	}{
		{"as a table", "status.golden", []string{"status"}},
		{"as JSON", "status.json.golden", []string{"status", "-o", "json"}},
		{"of one cluster", "status.golden", []string{"status", "--cluster", cluster}},
		{"of another cluster: none", "status-none.golden", []string{"status", "--cluster", "c9"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := w.run("", tt.args...)
			if code != 0 {
				t.Fatalf("%v: exit %d, want 0; stderr %s", tt.args, code, errOut)
			}
			golden(t, tt.golden, out)
		})
	}
}

func TestExplain(t *testing.T) {
	w := newWorld(t)
	for _, tt := range []struct{ name, instance, golden string }{
		{"a live drain blocked on host port 80", "i-0", "explain-live.golden"},
		{"a lost drain", "i-1", "explain-lost.golden"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := w.run("", "explain", tt.instance)
			if code != 0 {
				t.Fatalf("explain %s: exit %d, want 0; stderr %s", tt.instance, code, errOut)
			}
			golden(t, tt.golden, out)
		})
	}
}
