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
			if got, _ := c.forks(); got[drainID] != tt.want {
				t.Fatalf("forks = %d, want %d (%s)", got[drainID], tt.want, fmt.Sprint(tt.edges))
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
			if got, _ := c.forks(); got[drainID] != tt.want {
				t.Fatalf("forks = %d, want %d (%v)", got[drainID], tt.want, tt.msgs)
			}
		})
	}
}

// A launch chain carries no mark, so a duplicated launch event runs two
// chains until the action completes: such a fork must be counted apart,
// never as a drain's fork (a violation), and a drain's fork on the same
// instance must still count as one.
func TestChainLogCountsLaunchForksApart(t *testing.T) {
	c := newChainLog()
	body := func(id, parent string, launch bool) string {
		b, err := lifecycle.Message{Cluster: "c", GroupName: "g", HookName: "h", InstanceID: drainID, ID: id, Parent: parent, Attempt: 2, Launch: launch}.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, e := range [][2]string{{"l1", "launch-event"}, {"l2", "l1"}, {"l2b", "l1"}, {"l3", "l2"}, {"l3b", "l2b"}, {"l4", "l3"}, {"l4b", "l3b"}} {
		c.see(e[0], body(e[0], e[1], true))
	}
	drains, launches := c.forks()
	if drains[drainID] != 0 || launches != 1 {
		t.Fatalf("forks() = %v, %d; want no drain fork and 1 launch fork", drains, launches)
	}
	for _, e := range [][2]string{{"d1", "terminate-event"}, {"d2", "d1"}, {"d2b", "d1"}, {"d3", "d2"}, {"d3b", "d2b"}, {"d4", "d3"}, {"d4b", "d3b"}} {
		c.see(e[0], body(e[0], e[1], false))
	}
	if drains, launches = c.forks(); drains[drainID] != 1 || launches != 1 {
		t.Fatalf("forks() = %v, %d; want 1 drain fork of %s and 1 launch fork", drains, launches, drainID)
	}
}
