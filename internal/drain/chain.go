package drain

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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
// draws its next message's id, writes the mark naming that id and itself as
// the writer (last writer wins), and only then sends the message, so no
// message is ever read before its own mark was written. A hop runs only if
// the mark names its message as the next one, or as the writer (the hop
// stopped between marking and sending; its redelivery goes on), or names
// what its sender saw when its mark write failed. Any other message of the
// action belongs to a fork and ends, so the round of hops after a fork
// leaves one chain. The id travels in the message body, so a body sent back
// to the queue unchanged keeps it. One double fault is left to the
// reconciler: a duplicate delivery whose hop stops between its mark and its
// send after its twin's hop went on leaves a mark no message answers to.
// TestChainProtocolModel explores every interleaving of these steps and
// their faults.
const ChainAttribute = "ecs-drainer.chain"

// Chain is the parsed mark: "<start>:<due>:<next id>@<writer>:<token>[:<hook>[:<blocked>]]",
// times in Unix seconds. It fits ECS's 128-character attribute value limit
// (ids of 16 characters, a lifecycle token of 36); the hook is written only
// when it fits too (hook names have no colon), and so is the reason a
// blocked drain is stuck on, which the reconciler's sweep counts. Marks of
// earlier builds, "<start>:<due>:<SQS message id>:<token>[:<hook>]", still
// parse; an earlier build reads a mark with a reason as no mark, which
// costs a fork its next hop resolves.
type Chain struct {
	Start     time.Time // when the drain started, so a restarted drain keeps its deadline
	Due       time.Time // when the marked message is due to be processed
	MessageID string    // the id of the message that carries the drain next
	// By is the id of the message whose hop wrote the mark, shortened
	// (see short); "" in marks of earlier builds.
	By    string
	Token string
	// Hook is the lifecycle hook the drain completes, so an ECS event can
	// complete the action without looking the hook up; "" when unknown.
	Hook string
	// Blocked is the reason the drain is stuck on, "" when it is not
	// blocked (see diagnose.BlockedReason).
	Blocked string
}

// maxAttributeValue is ECS's limit on a custom attribute's value.
const maxAttributeValue = 128

func (c Chain) String() string {
	id := c.MessageID
	if c.By != "" {
		id += "@" + c.By // "@" is one of the few characters ECS allows in a value
	}
	v := fmt.Sprintf("%d:%d:%s:%s", c.Start.Unix(), c.Due.Unix(), id, c.Token)
	if c.Hook != "" && len(v)+1+len(c.Hook) <= maxAttributeValue {
		v += ":" + c.Hook
	}
	if c.Blocked != "" && len(v)+1+len(c.Blocked) <= maxAttributeValue {
		if strings.Count(v, ":") == 3 {
			v += ":" // no hook
		}
		v += ":" + c.Blocked
	}
	return v
}

// ParseChain reads a mark; ok is false for anything else.
func ParseChain(v string) (c Chain, ok bool) {
	parts := strings.Split(v, ":")
	if len(parts) < 4 || len(parts) > 6 || parts[2] == "" {
		return Chain{}, false
	}
	if len(parts) >= 5 {
		c.Hook = parts[4]
	}
	if len(parts) == 6 {
		c.Blocked = parts[5]
	}
	start, err1 := strconv.ParseInt(parts[0], 10, 64)
	due, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return Chain{}, false
	}
	c.MessageID, c.By, _ = strings.Cut(parts[2], "@")
	c.Start, c.Due, c.Token = time.Unix(start, 0).UTC(), time.Unix(due, 0).UTC(), parts[3]
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
		me := self(s, o.RecordID)
		return c.MessageID == me || c.By != "" && c.By == short(me) ||
			s.Fallback != "" && c.MessageID == s.Fallback ||
			s.ID == "" && c.MessageID == s.Parent // an earlier build's message: it marked after sending
	}
	// A first hop (a duplicate event, or the reconciler) joins no live
	// chain; it takes over one whose message is overdue, or one its own
	// earlier delivery marked before it stopped.
	return c.By != "" && c.By == short(self(s, o.RecordID)) || o.Now.After(c.Due.Add(StaleAfter(p, s.HeartbeatTimeout())))
}

// self is the id that names the message of drain s: its own; for a first
// hop, its event's, which a copy sent back keeps too (and a duplicate of
// the event shares, as a duplicate SQS delivery shares a message's); for a
// message of an earlier build, its record's.
func self(s State, recordID string) string {
	switch {
	case s.ID != "":
		return s.ID
	case s.Attempt == 1 && s.EventID != "":
		return s.EventID
	}
	return recordID
}

// idLength is the length of a chain message id: 64 random bits, in hex.
const idLength = 16

// short is id as the mark names a writer: as it is when it is a chain id,
// else (a record id, 36 characters) a digest of it, so the mark fits.
func short(id string) string {
	if len(id) <= idLength {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])[:idLength]
}

// successor is the state the hop of drain s, processing record recordID,
// sends on as message id.
func successor(s State, recordID, id string) State {
	next := s
	next.Attempt++
	next.ID, next.Parent, next.Fallback = id, self(s, recordID), ""
	return next
}

// unmarked is next as sent when its mark could not be written: it answers
// to the mark its sender saw (nil: none), which the instance still carries.
func unmarked(next State, seen *Chain) State {
	if seen != nil {
		next.Fallback = seen.MessageID
	}
	return next
}

// newChainID draws a message id.
func newChainID() string {
	var b [idLength / 2]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
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
