package awswire

import (
	"sync"
	"time"
)

// Bucket is a token bucket as ECS documents its throttling: each call takes a
// token, the bucket holds at most Burst, and it refills at Rate tokens per
// second. Time comes from the caller so the emulator's clock drives it.
type Bucket struct {
	Burst float64
	Rate  float64
}

// Throttle holds one token bucket per operation. The zero value throttles
// nothing; operations without a configured bucket are never throttled.
type Throttle struct {
	mu      sync.Mutex
	buckets map[string]*bucketState
}

type bucketState struct {
	Bucket
	tokens float64
	last   time.Time
}

// Set configures the bucket for op, starting full.
func (t *Throttle) Set(op string, b Bucket) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.buckets == nil {
		t.buckets = map[string]*bucketState{}
	}
	t.buckets[op] = &bucketState{Bucket: b, tokens: b.Burst}
}

// Allow takes a token for op at now and reports whether one was available.
func (t *Throttle) Allow(op string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.buckets[op]
	if !ok {
		return true
	}
	if !s.last.IsZero() && now.After(s.last) {
		s.tokens = min(s.Burst, s.tokens+now.Sub(s.last).Seconds()*s.Rate)
	}
	s.last = now
	if s.tokens < 1 {
		return false
	}
	s.tokens--
	return true
}
