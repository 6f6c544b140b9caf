package drain

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A model checker for the chain protocol: it explores every interleaving of
// the hops of one drain, with every fault placed at every step, and checks
// the protocol's three promises in each state it reaches:
//
//   - while the action is pending, at least one chain is alive (a message
//     or hop that will go on), so a drain is never silently dropped;
//   - once a round of hops has run after the last fault, at most one chain
//     is alive, so forks converge;
//   - nothing completes the action while a task runs.
//
// Hops decide with the real Next (which asks the real Owns) and send what
// the real successor builds; what is modelled is the world around them: SQS
// (deliveries, duplicates, redelivery after a crash), EventBridge (a
// duplicate event), the mark on the container instance, the tasks, and the
// faults: a duplicate delivery or event, a crash at any step of a hop, a
// record sent back on a short invocation budget, a mark write that fails.

// modelMsg is a message on the queue: a lifecycle event (Attempt 1) or a
// re-queue message.
type modelMsg struct {
	sqsID string
	// origin is the SQS id of the record this is a copy of, sent back on a
	// short budget; its own id otherwise.
	origin string
	body   State
	// epoch is the number of faults when the hop that sent it started: a
	// message sent by a hop that began after the last fault is of the
	// current round.
	epoch int
}

// modelHop is a hop in progress.
type modelHop struct {
	m  modelMsg
	pc int // 0 not read yet; 1 decided; 2 marked; 3 sent
	// began is the number of faults when it read: what it sends is of
	// that round.
	began int
	step  Step
	seen  *Chain // the mark as it read it
	next  State  // what it sent
}

type modelWorld struct {
	queue  []modelMsg
	hops   []modelHop
	acked  map[string]bool // SQS ids deleted
	mark   string          // the next message's id the mark names; "" none
	markBy string          // the writer's id, which the mark names shortened
	// markOrigin is the origin of the writer's record.
	markOrigin string
	tasks      int
	completed  bool
	faults     int
	ids        int // ids drawn so far, SQS and chain alike
	// markSent: the message the mark names was sent.
	markSent bool
}

func (w *modelWorld) clone() *modelWorld {
	c := *w
	c.queue = slices.Clone(w.queue)
	c.hops = slices.Clone(w.hops)
	c.acked = make(map[string]bool, len(w.acked))
	for k, v := range w.acked {
		c.acked[k] = v
	}
	return &c
}

func (w *modelWorld) newID(prefix string) string {
	w.ids++
	return fmt.Sprintf("%s%d", prefix, w.ids)
}

// The model's fixed time: the drain is far from its deadline and heartbeat,
// so Next's only choices are the protocol's: end, complete or re-queue.
var modelNow = time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)

func (w *modelWorld) observe(m modelMsg) Observation {
	o := Observation{Now: modelNow, RecordID: m.sqsID, Action: ActionPending,
		Instance: &Instance{Found: true, ARN: testCI, Status: StatusDraining, EC2InstanceID: testInstance}, TasksCounted: true, Diagnosed: true}
	if w.completed {
		o.Action = ActionGone
	}
	if w.mark != "" {
		o.Chain = &Chain{Start: modelNow, Due: modelNow.Add(30 * time.Second), MessageID: w.mark, By: short(w.markBy), Token: "tok", Hook: "hook"}
	}
	for i := range w.tasks {
		o.Tasks = append(o.Tasks, Task{ARN: fmt.Sprint("task", i), LastStatus: "RUNNING", DesiredStatus: "STOPPED"})
	}
	return o
}

// decide is the real decision of a hop of m, as of now.
func (w *modelWorld) decide(m modelMsg) Step {
	return Next(m.body, w.observe(m), Policy{PollInterval: 30 * time.Second, MaxDrain: time.Hour, StaleAfter: 15 * time.Minute})
}

// alive counts the messages and hops that will carry the drain on.
func (w *modelWorld) alive() int {
	n := 0
	for _, m := range w.queue {
		if k := w.decide(m).Kind; k == Requeue || k == Complete {
			n++
		}
	}
	for _, h := range w.hops {
		switch {
		case h.pc == 0:
			if k := w.decide(h.m).Kind; k == Requeue || k == Complete {
				n++
			}
		case h.pc == 1 && h.step.Kind != End, h.pc == 2:
			n++
		}
	}
	return n
}

// orphaned reports whether the mark names a message that was never sent,
// and no message left to read is its writer, or a copy of it: a hop stopped between its
// mark and its send, and its message will not come back (a duplicate's hop
// deleted it). That double fault is the reconciler's (see ChainAttribute).
func (w *modelWorld) orphaned() bool {
	if w.mark == "" || w.markSent {
		return false
	}
	writes := func(m modelMsg) bool { return self(m.body, m.sqsID) == w.markBy || m.origin == w.markOrigin }
	return !slices.ContainsFunc(w.queue, writes) && !slices.ContainsFunc(w.hops, func(h modelHop) bool { return h.pc == 0 && writes(h.m) })
}

// settled reports whether a round of hops has run since the last fault:
// no hop in progress, and every message queued was sent by a hop that began
// after it.
func (w *modelWorld) settled() bool {
	if len(w.hops) > 0 || len(w.queue) == 0 {
		return false
	}
	for _, m := range w.queue {
		if m.epoch != w.faults {
			return false
		}
	}
	return true
}

// key is the state with ids renamed in a canonical order and attempts
// beyond the second folded, so states that differ only in names, in the
// order of the queue or of the hops, or in depth are explored once. The
// order is by each message's shape with its ids told only as "the mark" or
// not; ties keep their order, which only costs states, never misses one.
func (w *modelWorld) key() string {
	rel := func(id string) string {
		switch {
		case id == "":
			return "-"
		case id == w.mark:
			return "M"
		case id == w.markBy:
			return "B"
		}
		return "x"
	}
	flag := func(b bool) string {
		if b {
			return "1"
		}
		return "0"
	}
	shape := func(m modelMsg) string {
		return rel(m.sqsID) + rel(m.origin) + rel(m.body.ID) + "<" + rel(m.body.Parent) + "/" + rel(m.body.Fallback) +
			" a" + strconv.Itoa(min(m.body.Attempt, 2)) + flag(m.epoch == w.faults) + flag(w.acked[m.sqsID])
	}
	type item struct {
		shape string
		i     int
	}
	order := func(n int, shapeOf func(i int) string) []item {
		items := make([]item, n)
		for i := range items {
			items[i] = item{shapeOf(i), i}
		}
		slices.SortStableFunc(items, func(a, b item) int { return strings.Compare(a.shape, b.shape) })
		return items
	}
	queue := order(len(w.queue), func(i int) string { return shape(w.queue[i]) })
	hops := order(len(w.hops), func(i int) string {
		h := w.hops[i]
		return strconv.Itoa(h.pc) + strconv.Itoa(int(h.step.Kind)) + shape(h.m)
	})
	names := map[string]string{}
	var b strings.Builder
	name := func(id string) {
		if id == "" {
			b.WriteString("-")
			return
		}
		n, ok := names[id]
		if !ok {
			n = strconv.Itoa(len(names))
			names[id] = n
		}
		b.WriteString(n)
	}
	msg := func(m modelMsg) {
		name(m.sqsID)
		b.WriteString("~")
		name(m.origin)
		b.WriteString(":")
		name(m.body.ID)
		b.WriteString("<")
		name(m.body.Parent)
		b.WriteString("/")
		name(m.body.Fallback)
		b.WriteString(" a" + strconv.Itoa(min(m.body.Attempt, 2)) + flag(m.epoch == w.faults) + flag(w.acked[m.sqsID]) + ";")
	}
	b.WriteString("mark=")
	name(w.mark)
	b.WriteString("+")
	name(w.markBy)
	b.WriteString("~")
	name(w.markOrigin)
	b.WriteString(" " + strconv.Itoa(w.tasks) + flag(w.completed) + strconv.Itoa(w.faults) + flag(w.markSent) + "|")
	for _, it := range queue {
		msg(w.queue[it.i])
	}
	b.WriteString("|")
	for _, it := range hops {
		h := w.hops[it.i]
		msg(h.m)
		b.WriteString("pc" + strconv.Itoa(h.pc) + strconv.Itoa(int(h.step.Kind)) + " ")
		name(h.next.ID)
		b.WriteString(">")
		name(h.next.Parent)
		b.WriteString("/")
		name(h.next.Fallback)
		b.WriteString(" saw ")
		if h.seen != nil {
			name(h.seen.MessageID)
		}
		b.WriteString(flag(h.began == w.faults) + ";")
	}
	return b.String()
}

type modelChecker struct {
	t         *testing.T
	maxFaults int
	// maxQueue and maxHops bound the messages queued and the hops in
	// progress at once, which keeps the space finite: a hop may otherwise
	// leave its acknowledgement for ever while its successors run.
	maxQueue, maxHops int
	// tasksStop lets the drain's tasks stop at any step, and its action be
	// completed; without, the chain goes on for ever.
	tasksStop bool
	seen      map[string]bool
	states    int
}

func (c *modelChecker) explore(w *modelWorld, trace []string) {
	k := w.key()
	if c.seen[k] {
		return
	}
	c.seen[k] = true
	c.states++
	if !w.completed && !w.orphaned() && w.alive() == 0 {
		c.t.Fatalf("the action is pending and no chain is alive, after:\n%s", strings.Join(trace, "\n"))
	}
	if w.settled() {
		if n := w.alive(); n > 1 {
			c.t.Fatalf("%d chains alive a round after the last fault, after:\n%s", n, strings.Join(trace, "\n"))
		}
	}
	if c.t.Failed() {
		return
	}
	for _, next := range c.moves(w) {
		c.explore(next.w, append(trace, next.what))
	}
}

type modelMove struct {
	what string
	w    *modelWorld
}

func (c *modelChecker) moves(w *modelWorld) []modelMove {
	var out []modelMove
	move := func(what string, f func(n *modelWorld)) {
		n := w.clone()
		f(n)
		out = append(out, modelMove{what, n})
	}
	fault := w.faults < c.maxFaults
	if w.tasks > 0 && c.tasksStop {
		move("a task stops", func(n *modelWorld) { n.tasks-- })
	}
	for i, m := range w.queue {
		if len(w.hops) >= c.maxHops {
			break
		}
		move("deliver "+m.sqsID, func(n *modelWorld) {
			n.queue = slices.Delete(n.queue, i, i+1)
			n.hops = append(n.hops, modelHop{m: m})
		})
		if fault && len(w.hops)+2 <= c.maxHops {
			move("deliver "+m.sqsID+" twice", func(n *modelWorld) {
				n.faults++
				n.queue = slices.Delete(n.queue, i, i+1)
				n.hops = append(n.hops, modelHop{m: m}, modelHop{m: m})
			})
		}
	}
	if fault && !w.completed && len(w.queue) < c.maxQueue {
		move("EventBridge delivers the event again", func(n *modelWorld) {
			id := n.newID("e")
			n.queue = append(n.queue, modelMsg{sqsID: id, origin: id, body: modelEvent(), epoch: n.faults})
			n.faults++
		})
	}
	for i, h := range w.hops {
		if fault {
			move("the hop of "+h.m.sqsID+" crashes: redelivered", func(n *modelWorld) {
				n.faults++
				n.hops = slices.Delete(n.hops, i, i+1)
				if !n.acked[h.m.sqsID] && !slices.ContainsFunc(n.queue, func(q modelMsg) bool { return q.sqsID == h.m.sqsID }) {
					n.queue = append(n.queue, h.m)
				}
			})
		}
		switch h.pc {
		case 0:
			move("the hop of "+h.m.sqsID+" reads and decides", func(n *modelWorld) {
				hop := &n.hops[i]
				hop.step, hop.pc, hop.began = n.decide(hop.m), 1, n.faults
				hop.seen = n.observe(hop.m).Chain
				if hop.step.Kind == End {
					n.ack(i)
				}
			})
			if fault && len(w.queue) < c.maxQueue {
				move("the hop of "+h.m.sqsID+" has too little time: sent back", func(n *modelWorld) {
					n.faults++
					copied := h.m
					copied.sqsID = n.newID("r")
					copied.origin = h.m.origin
					n.queue = append(n.queue, copied)
					n.ack(i)
				})
			}
		case 1:
			if h.step.Kind == Complete {
				move("the hop of "+h.m.sqsID+" completes the action", func(n *modelWorld) {
					if n.tasks > 0 {
						c.t.Errorf("the action was completed with %d tasks running", n.tasks)
					}
					n.completed = true
					n.ack(i)
				})
				continue
			}
			marks := func(n *modelWorld) *modelHop {
				hop := &n.hops[i]
				hop.next = successor(hop.m.body, hop.m.sqsID, n.newID("c"))
				hop.pc = 2
				return hop
			}
			move("the hop of "+h.m.sqsID+" marks its next message", func(n *modelWorld) {
				hop := marks(n)
				n.mark, n.markBy, n.markOrigin, n.markSent = hop.next.ID, self(hop.m.body, hop.m.sqsID), hop.m.origin, false
			})
			if fault {
				move("the hop of "+h.m.sqsID+" fails to mark", func(n *modelWorld) {
					n.faults++
					hop := marks(n)
					hop.next = unmarked(hop.next, hop.seen)
				})
			}
		case 2:
			if len(w.queue) >= c.maxQueue {
				continue
			}
			move("the hop of "+h.m.sqsID+" sends "+h.next.ID, func(n *modelWorld) {
				hop := &n.hops[i]
				id := n.newID("s")
				n.queue = append(n.queue, modelMsg{sqsID: id, origin: id, body: hop.next, epoch: hop.began})
				n.markSent = n.markSent || n.mark == hop.next.ID
				hop.pc = 3
			})
		case 3:
			move("the hop of "+h.m.sqsID+" acknowledges", func(n *modelWorld) { n.ack(i) })
		}
	}
	return out
}

// ack ends hop i and deletes its message.
func (w *modelWorld) ack(i int) {
	w.acked[w.hops[i].m.sqsID] = true
	w.hops = slices.Delete(w.hops, i, i+1)
}

func modelEvent() State {
	return State{EventID: "e", Cluster: "c1", GroupName: "asg", HookName: "hook", InstanceID: testInstance, Token: "tok",
		ContainerInstanceARN: testCI, Start: modelNow, LastHeartbeat: modelNow, Deadline: modelNow.Add(time.Hour), HeartbeatTimeoutSeconds: 600, Attempt: 1}
}

func TestChainProtocolModel(t *testing.T) {
	// Each row bounds the faults, the messages queued and the hops in
	// progress at once; the bounds grow as far as a few seconds allow.
	for _, tt := range []struct {
		name                      string
		maxFaults, maxQueue, hops int
		tasksStop                 bool
	}{
		{"no faults, the task stopping at any step", 0, 3, 3, true}, // a small space: one chain
		{"one fault of any kind at any step, the task stopping at any step", 1, 3, 2, true},
		{"two faults, the task stopping at any step", 2, 2, 2, true},
		{"two faults, three messages queued", 2, 3, 2, false},
		{"three faults, the chain going on", 3, 2, 2, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if testing.Short() && tt.maxFaults > 1 {
				t.Skip("explores tens of thousands of states; skipped with -short")
			}
			c := &modelChecker{t: t, maxFaults: tt.maxFaults, maxQueue: tt.maxQueue, maxHops: tt.hops, tasksStop: tt.tasksStop, seen: map[string]bool{}}
			c.explore(&modelWorld{queue: []modelMsg{{sqsID: "e0", origin: "e0", body: modelEvent()}}, acked: map[string]bool{}, tasks: 1}, nil)
			t.Logf("%d states explored", c.states)
			if c.states < 100 {
				t.Errorf("explored %d states: the model is not exploring", c.states)
			}
		})
	}
}
