package scenario

import (
	"encoding/json"
	"sync"

	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
)

// chainLog records every re-queue message seen on the queue, to check that
// no drain's chain forks into two that both live on. Each message names its
// parent (the record whose hop sent it), so the messages of one drain form a
// tree; a hop that went on has children.
type chainLog struct {
	mu     sync.Mutex
	parent map[string]string // message id -> parent record id
	drain  map[string]string // message id -> instance id
}

func newChainLog() *chainLog {
	return &chainLog{parent: map[string]string{}, drain: map[string]string{}}
}

// see records a queued message; bodies that are not re-queue messages are
// ignored.
func (c *chainLog) see(id, body string) {
	var m lifecycle.Message
	if json.Unmarshal([]byte(body), &m) != nil || m.Kind != lifecycle.MessageKind {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.parent[id], c.drain[id] = m.Parent, m.InstanceID
}

// forks returns, per instance, how many times its chain forked into two
// branches that both went on for two hops or more. Duplicates make a
// one-hop branch now and then (the duplicate's hop sends a message that the
// next hop drops); that is convergence, not a fork.
func (c *chainLog) forks() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	children := map[string][]string{}
	for id, p := range c.parent {
		children[p] = append(children[p], id)
	}
	var depth func(id string) int
	memo := map[string]int{}
	depth = func(id string) int {
		if d, ok := memo[id]; ok {
			return d
		}
		d := 0
		for _, ch := range children[id] {
			d = max(d, 1+depth(ch))
		}
		memo[id] = d
		return d
	}
	out := map[string]int{}
	for _, kids := range children {
		lived := 0
		for _, k := range kids {
			if depth(k) >= 2 {
				lived++
			}
		}
		if lived >= 2 {
			out[c.drain[kids[0]]]++
		}
	}
	return out
}
