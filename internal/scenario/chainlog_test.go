package scenario

import (
	"testing"

	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
)

func chainBody(t *testing.T, id, parent string) string {
	t.Helper()
	b, err := lifecycle.Message{Cluster: "c", GroupName: "g", HookName: "h", InstanceID: "i-0123456789abcdef0", ID: id, Parent: parent, Attempt: 2}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The fork check must build the tree from the ids in the bodies: a parent
// names its sender's body id, never an SQS message id, so a tree keyed by
// SQS ids would see every hop as a root and never a fork. A body sent back
// to the queue unchanged is a second SQS message with the same id: the same
// hop, not a branch.
func TestChainLogKeysTheTreeByBodyIDs(t *testing.T) {
	tests := []struct {
		name string
		msgs [][3]string // SQS id, body id, parent body id
		want int
	}{
		{"a straight chain", [][3]string{{"s1", "c1", "event"}, {"s2", "c2", "c1"}, {"s3", "c3", "c2"}}, 0},
		{"a body sent back unchanged", [][3]string{{"s1", "c1", "event"}, {"s2", "c2", "c1"}, {"s2b", "c2", "c1"}, {"s3", "c3", "c2"}, {"s4", "c4", "c3"}}, 0},
		{"two branches that both live on", [][3]string{{"s1", "c1", "event"}, {"s2", "c2", "c1"}, {"s2b", "c2b", "c1"},
			{"s3", "c3", "c2"}, {"s3b", "c3b", "c2b"}, {"s4", "c4", "c3"}, {"s4b", "c4b", "c3b"}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChainLog()
			for _, m := range tt.msgs {
				if _, ok := c.see(m[0], chainBody(t, m[1], m[2])); !ok {
					t.Fatalf("see(%s) ignored a re-queue message", m[0])
				}
			}
			if got := c.forks()["i-0123456789abcdef0"]; got != tt.want {
				t.Fatalf("forks = %d, want %d (%v)", got, tt.want, tt.msgs)
			}
		})
	}
}
