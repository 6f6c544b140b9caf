package eventbridge

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"sync"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/clock"
)

// ErrRuleNotFound is returned by AddTarget for a rule that was never put; AWS
// answers ResourceNotFoundException.
var ErrRuleNotFound = errors.New("rule not found")

// ruleName is the PutRule model's constraint on Name.
var ruleName = regexp.MustCompile(`^[.\-_A-Za-z0-9]{1,64}$`)

// Target receives the events of a rule, one envelope per call. An error makes
// the bus retry the same envelope later.
type Target func(ctx context.Context, event []byte) error

// Bus is the local default event bus. Its methods are safe for concurrent
// use.
type Bus struct {
	clock   clock.Clock
	account string
	region  string

	// ctx outlives every call: it is the lifetime of the deliveries the bus
	// runs in the background, which Close ends.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	rules  map[string]*rule
	stats  Stats
	closed bool
	// duplicate, if set, is asked once per delivery; see SetDuplicate.
	duplicate func() bool
}

type rule struct {
	pattern *Pattern
	targets []Target
}

// Stats counts what the bus did, after the CloudWatch metrics of EventBridge.
type Stats struct {
	Put     int            // events emitted to the bus
	Matched map[string]int // events matched, by rule name
	// Delivered counts deliveries a target accepted, each once whatever
	// the attempts it took.
	Delivered int
	// FailedAttempts counts every error a target returned, retried or not.
	FailedAttempts int
	// FailedInvocations counts deliveries given up: retries exhausted, or
	// abandoned by Close. As in CloudWatch, retried attempts are not in it.
	FailedInvocations int
}

// NewBus returns an empty bus that stamps envelopes with account, region and
// the time of c.
func NewBus(c clock.Clock, account, region string) *Bus {
	ctx, cancel := context.WithCancel(context.Background())
	return &Bus{
		clock: c, account: account, region: region,
		ctx: ctx, cancel: cancel,
		rules: map[string]*rule{},
		stats: Stats{Matched: map[string]int{}},
	}
}

// PutRule creates the rule name with pattern, or replaces the pattern of an
// existing rule and keeps its targets, as PutRule does. An invalid pattern
// leaves the rule as it was; the error wraps ErrInvalidPattern.
func (b *Bus) PutRule(name string, pattern []byte) error {
	if !ruleName.MatchString(name) {
		return fmt.Errorf("rule name %q: want 1 to 64 characters among letters, digits, '.', '-' and '_'", name)
	}
	p, err := Compile(pattern)
	if err != nil {
		return fmt.Errorf("putting rule %s: %w", name, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if r, ok := b.rules[name]; ok {
		r.pattern = p
		return nil
	}
	b.rules[name] = &rule{pattern: p}
	return nil
}

// AddTarget adds t to the targets of rule.
func (b *Bus) AddTarget(rule string, t Target) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.rules[rule]
	if !ok {
		return fmt.Errorf("adding a target to %s: %w", rule, ErrRuleNotFound)
	}
	r.targets = append(r.targets, t)
	return nil
}

// Emit puts e on the bus: it wraps e in one envelope (one id, the clock's
// time) and starts a delivery of that envelope to every target of every
// matching rule. It returns without waiting for the targets, which run
// without any lock held, so a target may call back into the bus or into the
// service that emitted e. It has the signature of the services' Options.Emit.
//
// Emit panics if e.Detail does not marshal to a JSON object: that is a bug in
// the emitting service, which a dropped event would hide.
func (b *Bus) Emit(e awswire.Event) {
	body, err := Envelope(e, b.account, b.region, b.clock.Now())
	if err != nil {
		panic(fmt.Sprintf("eventbridge: emitting %s from %s: %v", e.DetailType, e.Source, err))
	}
	b.put(body)
}

// put routes an envelope: it counts it and starts a delivery of it to every
// target of every matching rule. The services' events (Emit) and PutEvents
// entries take this same path.
func (b *Bus) put(body []byte) {
	// An envelope is a JSON object, so decoding it cannot fail.
	ev, _ := decodeEvent(body)

	b.mu.Lock()
	defer b.mu.Unlock()
	b.stats.Put++
	for name, r := range b.rules {
		if !r.pattern.root.matches(ev) {
			continue
		}
		b.stats.Matched[name]++
		for _, t := range r.targets {
			if b.closed {
				b.stats.FailedInvocations++
				continue
			}
			b.wg.Add(1)
			go b.deliver(t, body)
			if b.duplicate != nil && b.duplicate() {
				b.wg.Add(1)
				go b.deliver(t, body)
			}
		}
	}
}

// SetDuplicate makes the bus ask duplicate, once for each delivery of an
// event to a target, whether to deliver that same envelope (same id) a second
// time, independently: EventBridge delivers at least once, and a target must
// tolerate the duplicates. Fault injection sets it; nil, the default, never
// duplicates. Each copy counts in Stats.Delivered. duplicate is called with
// the bus locked and must not call back into the bus.
func (b *Bus) SetDuplicate(duplicate func() bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.duplicate = duplicate
}

// Stats returns a copy of the counters.
func (b *Bus) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	s.Matched = maps.Clone(b.stats.Matched)
	return s
}

// Close cancels the context of target calls, abandons the retries still
// pending (they count as FailedInvocations), and waits for the target calls
// in progress to return. Events emitted after Close are matched and counted
// but never delivered.
func (b *Bus) Close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	b.wg.Wait()
}
