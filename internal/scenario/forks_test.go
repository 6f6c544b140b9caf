package scenario

import (
	"fmt"
	"testing"

	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
)

func requeueBody(t *testing.T, instance, parent string) string {
	t.Helper()
	b, err := lifecycle.Message{Cluster: "c", GroupName: "g", HookName: "h", InstanceID: instance, Parent: parent, Attempt: 2}.Encode()
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
				c.see(e[0], requeueBody(t, "i-0123456789abcdef0", e[1]))
			}
			c.see("x", "not a message")
			if got := c.forks()["i-0123456789abcdef0"]; got != tt.want {
				t.Fatalf("forks = %d, want %d (%s)", got, tt.want, fmt.Sprint(tt.edges))
			}
		})
	}
}
