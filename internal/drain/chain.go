package drain

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ChainAttribute is the custom ECS attribute on the container instance that
// marks which message currently carries the drain: the state stored on the
// instance itself, so that duplicate chains converge to one without a
// database.
//
// Forks are unavoidable with at-least-once delivery: EventBridge may deliver
// an event twice, SQS may deliver a message twice, and a hop that crashes
// after sending its next message is redelivered and sends another. Each hop
// sends its next message, with a fresh id, first and then writes that id
// into the mark (last writer wins). A hop runs only if the mark names its own
// message or one of its few latest ancestors (the sender stopped between
// sending and marking, or its mark write failed); any other message of the
// action belongs to a fork and ends. So after any fork, the next round of
// hops whose marks are written leaves exactly one chain. The id travels in
// the message body, so a body sent back to the queue unchanged keeps it.
const ChainAttribute = "ecs-drainer.chain"

// Chain is the parsed mark: "<start>:<due>:<message id>:<token>[:<hook>]",
// times in Unix seconds. It fits ECS's 128-character attribute value limit
// (an SQS message id and a lifecycle token are 36 characters each); the hook
// is written only when it fits too (hook names have no colon), and marks
// without it, written by earlier builds, still parse.
type Chain struct {
	Start     time.Time // when the drain started, so a restarted drain keeps its deadline
	Due       time.Time // when the marked message is due to be processed
	MessageID string
	Token     string
	// Hook is the lifecycle hook the drain completes, so an ECS event can
	// complete the action without looking the hook up; "" when unknown.
	Hook string
}

// maxAttributeValue is ECS's limit on a custom attribute's value.
const maxAttributeValue = 128

func (c Chain) String() string {
	v := fmt.Sprintf("%d:%d:%s:%s", c.Start.Unix(), c.Due.Unix(), c.MessageID, c.Token)
	if c.Hook != "" && len(v)+1+len(c.Hook) <= maxAttributeValue {
		v += ":" + c.Hook
	}
	return v
}

// ParseChain reads a mark; ok is false for anything else.
func ParseChain(v string) (c Chain, ok bool) {
	parts := strings.Split(v, ":")
	if len(parts) != 4 && len(parts) != 5 || parts[2] == "" {
		return Chain{}, false
	}
	if len(parts) == 5 {
		c.Hook = parts[4]
	}
	start, err1 := strconv.ParseInt(parts[0], 10, 64)
	due, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return Chain{}, false
	}
	c.Start, c.Due, c.MessageID, c.Token = time.Unix(start, 0).UTC(), time.Unix(due, 0).UTC(), parts[2], parts[3]
	return c, true
}

// Owns reports whether the hop of drain s, processing record o.RecordID,
// carries the drain according to the mark o.Chain.
func Owns(s State, o Observation, p Policy) bool {
	c := o.Chain
	if c == nil {
		// No mark yet (or the instance lost it, or cannot carry one): nothing
		// to defer to. A fork this lets through is resolved at the next hop.
		return true
	}
	if s.Token != "" && c.Token != "" && s.Token != c.Token {
		// The mark belongs to another lifecycle action on this instance (a
		// warm pool returns instances): a new action's first hop takes
		// over, a message of the other action is stale.
		return s.Attempt == 1
	}
	if s.Attempt > 1 {
		return c.MessageID == self(s, o.RecordID) || c.MessageID == s.Parent || slices.Contains(s.Ancestors, c.MessageID)
	}
	// A first hop (a duplicate event, or the reconciler) joins no live
	// chain; it takes over one whose message is overdue.
	return o.Now.After(c.Due.Add(StaleAfter(p, s.HeartbeatTimeout())))
}

// self is the id that names the message of drain s in the mark: its own, or
// for a message of an earlier build (or a first hop), its record's.
func self(s State, recordID string) string {
	if s.ID != "" {
		return s.ID
	}
	return recordID
}

// maxAncestors bounds the ancestors a message carries: a chain survives that
// many mark writes failing in a row, and beyond that the reconciler takes it
// over once it is overdue.
const maxAncestors = 4

// successor is the state the hop of drain s, processing record recordID,
// sends on as message id.
func successor(s State, recordID, id string) State {
	next := s
	next.Attempt++
	next.ID, next.Parent, next.Ancestors = id, self(s, recordID), nil
	if s.Parent != "" {
		next.Ancestors = append([]string{s.Parent}, s.Ancestors...)
		next.Ancestors = next.Ancestors[:min(len(next.Ancestors), maxAncestors)]
	}
	return next
}

// newChainID draws a message id for the mark: 36 characters, the length of
// an SQS message id, which the mark's 128-character budget counts on.
func newChainID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// StaleAfter is how long past its due time a chain's message may be before
// a first hop takes the drain over: the operator's setting, but at most a
// quarter of the heartbeat timeout. A chain's hops keep the time from the
// last heartbeat to the next due hop under half the timeout, so taking over
// a quarter later still leaves time to heartbeat before Auto Scaling gives
// up on the action. Taking over a chain that was only slow costs a fork,
// which the next round of hops resolves.
func StaleAfter(p Policy, heartbeatTimeout time.Duration) time.Duration {
	return min(p.StaleAfter, heartbeatTimeout/4)
}
