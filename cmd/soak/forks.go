package main

import (
	"cmp"
	"encoding/json"
	"sync"

	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
)

// chainLog records every re-queue message seen on the queue, to check that
// no drain's chain forks into two that both live on. Each message names
// itself (its body's id, drawn by the hop that sent it) and its parent (the
// id of the message whose hop sent it; for a first hop, its event's id), so
// the messages of one drain form a tree; a hop that went on has children. A
// copy of a body sent back to the queue unchanged keeps its id, and is the
// same node. Bodies of earlier builds have no id: their SQS message id
// stands in. A launch gate's chain carries no mark either, so a duplicated
// launch event runs two chains until the action completes: its forks are
// counted apart.
type chainLog struct {
	mu       sync.Mutex
	parent   map[string]string // chain id -> parent chain id
	drain    map[string]string // chain id -> instance id
	launch   map[string]bool   // chain ids of launch chains
	unmarked map[string]bool   // instance ids whose chain could carry no mark
}

func newChainLog() *chainLog {
	return &chainLog{parent: map[string]string{}, drain: map[string]string{}, launch: map[string]bool{}, unmarked: map[string]bool{}}
}

// see records a queued message, named sqsID by SQS, and returns it; bodies
// that are not re-queue messages are ignored (ok false).
func (c *chainLog) see(sqsID, body string) (m lifecycle.Message, ok bool) {
	if json.Unmarshal([]byte(body), &m) != nil || m.Kind != lifecycle.MessageKind {
		return m, false
	}
	id := cmp.Or(m.ID, sqsID)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.parent[id], c.drain[id] = m.Parent, m.InstanceID
	if m.Launch {
		c.launch[id] = true
	}
	if m.Unmarked {
		c.unmarked[m.InstanceID] = true
	}
	return m, true
}

// isUnmarked reports whether a message of the instance's drain said it
// could carry no chain mark.
func (c *chainLog) isUnmarked(instanceID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.unmarked[instanceID]
}

// forks returns, per instance, how many times its drain's chain forked into
// two branches that both went on for two hops or more, and how many times
// launch chains did. Duplicates make a one-hop branch now and then (the
// duplicate's hop sends a message that the next hop drops); that is
// convergence, not a fork.
func (c *chainLog) forks() (drains map[string]int, launches int) {
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
	drains = map[string]int{}
	for _, kids := range children {
		lived := 0
		for _, k := range kids {
			if depth(k) >= 2 {
				lived++
			}
		}
		switch {
		case lived < 2:
		case c.launch[kids[0]]:
			launches++
		default:
			drains[c.drain[kids[0]]]++
		}
	}
	return drains, launches
}
