package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The soak counts outcomes, warnings and the other hooks' ignored records
// from the function's JSON lines; lines of other shapes must pass through
// uncounted, and every line must reach the next writer. The launch gate's
// hook is the drainer's own: an outcome for it is not one for another
// team's hook.
func TestOutcomeLogCountsOutcomesAndWarnings(t *testing.T) {
	var next strings.Builder
	l := newOutcomeLog(&next)
	lines := []string{
		`{"level":"INFO","msg":"drain finished","instance_id":"i-1","outcome":"drained"}`,
		`{"level":"WARN","msg":"ECS agent disconnected for DRAINER_DISCONNECTED_AFTER with tasks still on the instance","instance_id":"i-2","outcome":"agent_disconnected"}`,
		`{"level":"WARN","msg":"the group has other terminate lifecycle hooks: Auto Scaling terminates the instance only once their actions have ended too","instance_id":"i-2"}`,
		`{"level":"INFO","msg":"record ignored","hook":"log-flush","instance_id":"i-3","reason":"not one of the drainer's hooks"}`,
		`{"level":"INFO","msg":"launch gate open: ECS can place tasks on the instance, lifecycle action completed with CONTINUE","hook":"ecs-drainer-launch","instance_id":"i-4","outcome":"launch_ready"}`,
		`{"level":"INFO","msg":"record ignored","hook":"","instance_id":"","reason":"an earlier ECS event of the batch names the same container instance"}`,
		`START RequestId: 1 Version: $LATEST`,
		`{"level":"INFO","msg":"reconcile","lost":0}`,
	}
	for _, line := range lines {
		if _, err := l.Write([]byte(line + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	outcomes, warnings := l.counts()
	if diff := cmp.Diff(map[string]int{"drained": 1, "agent_disconnected": 1, "launch_ready": 1}, outcomes); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"other_hooks": 1}, warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if !l.logged("i-2", "agent_disconnected") || l.logged("i-1", "agent_disconnected") {
		t.Error("logged(i-2, agent_disconnected) must be true and logged(i-1, agent_disconnected) false")
	}
	if ignored, foreign := l.otherHooks(); ignored != 1 || len(foreign) != 0 {
		t.Errorf("otherHooks() = %d, %q, want 1 ignored record of log-flush and no outcome for it", ignored, foreign)
	}
	if got := strings.Count(next.String(), "\n"); got != len(lines) {
		t.Errorf("next got %d lines, want %d", got, len(lines))
	}
}
