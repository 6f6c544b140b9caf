// Package faults injects the failures a drainer meets in AWS into the local
// AWS, each at a rate, all drawn from one seed so that a failing run can be
// replayed:
//
//   - throttling and server errors on any operation of any service, in the
//     exact wire shape of that service, so the real SDK classifies and
//     retries them as it does against AWS (DefaultThrottleErrorCodes in
//     aws-sdk-go-v2 aws/retry/standard.go);
//   - added latency;
//   - duplicate SQS deliveries (at-least-once) and duplicate EventBridge
//     deliveries, and SQS handing out visible messages out of order;
//   - the Lambda process killed mid-invocation, just before or just after
//     one of its AWS calls.
//
// Request faults live in Middleware, in front of the endpoint. Delivery
// faults are decided here but applied by the services, through plain func
// hooks (sqs.Options.Duplicate and Shuffle, eventbridge.Bus.SetDuplicate),
// so that no service imports this package.
//
// Reproducibility: every decision is a draw from a stream seeded by
// Config.Seed, one stream per kind of fault. The n-th decision of a kind is
// therefore the same in every run with the same seed, whatever the other
// kinds drew in between. Concurrent callers still race for their place in a
// stream: a run replays exactly when its calls arrive in the same order,
// which a single-threaded test guarantees and a parallel soak only
// approximates.
package faults

import (
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"sync"
	"time"
)

// Kinds of fault, as Roll takes them and Stats counts them.
const (
	KindThrottle       = "throttle"
	KindServerError    = "server_error"
	KindLatency        = "latency"
	KindDuplicateSQS   = "duplicate_sqs"
	KindDuplicateEvent = "duplicate_event"
	KindReorder        = "reorder"
	KindKillBefore     = "kill_before"
	KindKillAfter      = "kill_after"
)

// Config sets the rate of each fault. Rates are probabilities in [0, 1]; the
// zero Config injects nothing.
type Config struct {
	Seed int64
	// Throttle and ServerError are per-request probabilities, on any
	// operation of any service that Only selects.
	Throttle, ServerError float64
	// Latency is added to a request with probability LatencyRate, before
	// it is served; it is wall time, like a slow network.
	Latency     time.Duration
	LatencyRate float64
	// DuplicateSQS is the probability that a received message also stays
	// visible, so that a second receive delivers it again (SQS is
	// at-least-once).
	DuplicateSQS float64
	// DuplicateEvents is the probability that EventBridge delivers an event
	// to a target twice.
	DuplicateEvents float64
	// Reorder makes SQS hand out visible messages in random order instead
	// of oldest first.
	Reorder bool
	// KillBefore and KillAfter are the probabilities that the Lambda
	// invocation making a request is killed just before the request
	// reaches the service, or just after the service has acted on it but
	// before the answer is sent. See Injector.SetKill.
	KillBefore, KillAfter float64
	// Only, if set, limits request faults (throttling, server errors,
	// latency, kills) to the operations it accepts. service is "ecs",
	// "autoscaling" or "sqs"; op is the operation name ("ListTasks").
	Only func(service, op string) bool
}

// Injector decides faults. It is safe for concurrent use.
type Injector struct {
	cfg Config

	mu      sync.Mutex
	streams map[string]*rand.Rand // by kind
	stats   map[string]int
	kill    func(trace string) bool
}

// New returns an injector for cfg.
func New(cfg Config) *Injector {
	return &Injector{cfg: cfg, streams: map[string]*rand.Rand{}, stats: map[string]int{}}
}

// Roll decides one fault of kind at rate and counts it when it fires. A rate
// of 0 or less never fires and 1 or more always does; neither draws from the
// stream.
func (in *Injector) Roll(kind string, rate float64) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.rollLocked(kind, rate) {
		return false
	}
	in.stats[kind]++
	return true
}

// roll decides without counting: a kill counts only once it killed.
func (in *Injector) roll(kind string, rate float64) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.rollLocked(kind, rate)
}

func (in *Injector) rollLocked(kind string, rate float64) bool {
	switch {
	case rate <= 0:
		return false
	case rate >= 1:
		return true
	}
	return in.streamLocked(kind).Float64() < rate
}

// streamLocked is kind's stream, seeded from the seed and the kind's name.
func (in *Injector) streamLocked(kind string) *rand.Rand {
	r, ok := in.streams[kind]
	if !ok {
		h := fnv.New64a()
		_, _ = h.Write([]byte(kind))
		r = rand.New(rand.NewPCG(uint64(in.cfg.Seed), h.Sum64())) // #nosec G404 G115 -- seeded fault decisions must replay; a seed's bits, not a quantity
		in.streams[kind] = r
	}
	return r
}

func (in *Injector) count(kind string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.stats[kind]++
}

// KillAfterSuccess is the Stats key counting the invocations killed right
// after a successful call of operation op.
func KillAfterSuccess(op string) string { return KindKillAfter + ":" + op }

// Stats returns how many faults were injected, by kind, and by
// KillAfterSuccess.
func (in *Injector) Stats() map[string]int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return maps.Clone(in.stats)
}

// DuplicateSQS decides whether a message being received stays visible as
// well. It has the shape of sqs.Options.Duplicate.
func (in *Injector) DuplicateSQS() bool { return in.Roll(KindDuplicateSQS, in.cfg.DuplicateSQS) }

// DuplicateEvent decides whether EventBridge delivers an event to a target a
// second time. It has the shape of the func eventbridge.Bus.SetDuplicate
// takes.
func (in *Injector) DuplicateEvent() bool {
	return in.Roll(KindDuplicateEvent, in.cfg.DuplicateEvents)
}

// Shuffle returns the order in which SQS looks at a queue's n messages: a
// random permutation when Config.Reorder is set, else nil, which means
// oldest first. It has the shape of sqs.Options.Shuffle.
func (in *Injector) Shuffle(n int) []int {
	if !in.cfg.Reorder || n < 2 {
		return nil
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.stats[KindReorder]++
	return in.streamLocked(KindReorder).Perm(n)
}

// SetKill sets how a Lambda invocation is killed: kill receives the
// X-Amzn-Trace-Id header of a request and reports whether it killed a
// running invocation with that trace. The SDK in a Lambda function sends the
// invocation's trace on every request (its recursion-detection middleware
// copies _X_AMZN_TRACE_ID), which is how a request names its caller. Until
// SetKill is called, KillBefore and KillAfter do nothing. The Lambda
// emulator's (*lambda.Function).KillInvocation has this shape; with several
// functions, pass a func that tries each.
func (in *Injector) SetKill(kill func(trace string) bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.kill = kill
}

func (in *Injector) killer() func(string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.kill
}
