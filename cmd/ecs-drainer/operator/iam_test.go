package operator_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The read-only set docs/operator.md gives operators must cover every call
// status and explain make, otherwise a role built from it fails on the
// first drain with tasks left.
func TestTheReadCommandsNeedOnlyTheDocumentedPermissions(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "operator.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, readOnly, _ := strings.Cut(string(doc), "Read-only, for `status` and `explain`")
	readOnly, _, _ = strings.Cut(readOnly, "Writes:")
	documented := regexp.MustCompile(`(?m)^(ecs|autoscaling):(\w+)$`).FindAllString(readOnly, -1)
	if len(documented) == 0 {
		t.Fatal("docs/operator.md lists no read-only action")
	}
	w := newWorld(t)
	before := w.calls()
	for _, args := range [][]string{{"status"}, {"status", "-o", "json"}, {"explain", "i-0"}, {"explain", "i-1"}} {
		if code, _, errOut := w.run("", args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
	}
	after := w.calls()
	if after["ecs:ListTasks"] == before["ecs:ListTasks"] {
		t.Fatal("status and explain listed no task: the world has no drain with tasks left")
	}
	for action, n := range after {
		if n > before[action] && !slices.Contains(documented, action) {
			t.Errorf("status and explain call %s, which docs/operator.md's read-only set %v leaves out", action, documented)
		}
	}
}

// calls counts the local AWS's answered operations as IAM actions.
func (w *world) calls() map[string]int {
	out := map[string]int{}
	for prefix, m := range map[string]map[string]int{"ecs": w.aws.ECS.Calls(), "autoscaling": w.aws.AutoScaling.Calls(), "sqs": w.aws.SQS.Calls()} {
		for op, n := range m {
			out[prefix+":"+op] = n
		}
	}
	return out
}
