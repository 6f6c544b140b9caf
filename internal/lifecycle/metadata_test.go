package lifecycle

import (
	"encoding/json"
	"testing"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
)

// Whatever metadata the construct writes (contract.HookMetadata, marshalled),
// ParseHookMetadata must read back unchanged; otherwise the keys of the
// parser's own decoding have drifted from the contract's, and every drain
// of a hook the construct made runs against the wrong cluster or policy.
func TestParseHookMetadataReadsWhatTheConstructWrites(t *testing.T) {
	for _, policy := range []string{"", contract.OnTimeoutContinue, contract.OnTimeoutStopTasks, contract.OnTimeoutAbandon} {
		written := contract.HookMetadata{Cluster: "prod", OnTimeout: policy}
		b, err := json.Marshal(written)
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := ParseHookMetadata(string(b))
		if err != nil || !ok || got != written {
			t.Errorf("ParseHookMetadata(%s) = %+v, %v, %v; want %+v, true, nil", b, got, ok, err, written)
		}
	}
}
