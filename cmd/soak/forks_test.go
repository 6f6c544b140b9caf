package main

import (
	"fmt"
	"testing"

	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
)

// drainID is the instance of every test chain.
const drainID = "i-0123456789abcdef0"

// requeueBody is a re-queue message of drainID's drain that names itself id
// (none: its SQS id stands in) and its parent.
func requeueBody(t *testing.T, id, parent string) string {
	t.Helper()
	b, err := lifecycle.Message{Cluster: "c", GroupName: "g", HookName: "h", InstanceID: drainID, ID: id, Parent: parent, Attempt: 2}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The soak's fork check must see a fork whose branches both live on, and
// must not count the one-hop branch a duplicate leaves before it converges.
func TestChainLogCountsOnlyForksThatLiveOn(t *testing.T) {
	tests := []struct {
		name  string
		edges [][2]string // child, parent
		want  int
	}{
		{"a straight chain", [][2]string{{"m1", "e"}, {"m2", "m1"}, {"m3", "m2"}}, 0},
		{"a duplicate dropped at its next hop", [][2]string{{"m1", "e"}, {"m2", "m1"}, {"m2b", "m1"}, {"m3", "m2"}, {"m4", "m3"}}, 0},
		{"a duplicate that went one hop further", [][2]string{{"m1", "e"}, {"m2", "m1"}, {"m2b", "m1"}, {"m3", "m2"}, {"m3b", "m2b"}, {"m4", "m3"}}, 0},
		{"two branches that both live on", [][2]string{{"m1", "e"}, {"m2", "m1"}, {"m2b", "m1"}, {"m3", "m2"}, {"m3b", "m2b"}, {"m4", "m3"}, {"m4b", "m3b"}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChainLog()
			for _, e := range tt.edges {
				c.see(e[0], requeueBody(t, "", e[1]))
			}
			c.see("x", "not a message")
			if got := c.forks()[drainID]; got != tt.want {
				t.Fatalf("forks = %d, want %d (%s)", got, tt.want, fmt.Sprint(tt.edges))
			}
		})
	}
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
				if _, ok := c.see(m[0], requeueBody(t, m[1], m[2])); !ok {
					t.Fatalf("see(%s) ignored a re-queue message", m[0])
				}
			}
			if got := c.forks()[drainID]; got != tt.want {
				t.Fatalf("forks = %d, want %d (%v)", got, tt.want, tt.msgs)
			}
		})
	}
}
