package eventbridge

import (
	"testing"
)

// EventBridge delivers at least once: a duplicated delivery must hand the
// target the very same envelope (same id) a second time, otherwise a drainer
// deduplicating on the id is never put to the test. Without SetDuplicate each
// target gets one delivery, as before.
func TestSetDuplicateDeliversTheSameEnvelopeTwice(t *testing.T) {
	tests := []struct {
		name      string
		duplicate func() bool
		want      int
	}{
		{"no hook delivers once", nil, 1},
		{"a hook saying no delivers once", func() bool { return false }, 1},
		{"a hook saying yes delivers twice", func() bool { return true }, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBus(t)
			b.SetDuplicate(tt.duplicate)
			var r recorder
			mustPut(t, b, "drain", terminateRule, r.target)

			b.Emit(terminateEvent("asg-a"))
			waitFor(t, "the deliveries", func() bool { return b.Stats().Delivered == tt.want })
			b.Close() // waits for any further delivery

			_, got := r.got()
			if len(got) != tt.want {
				t.Fatalf("deliveries of one event: got %d, want %d", len(got), tt.want)
			}
			if len(got) == 2 && string(got[0]) != string(got[1]) {
				t.Fatalf("duplicate delivery: got envelopes %s and %s, want the same one", got[0], got[1])
			}
		})
	}
}
