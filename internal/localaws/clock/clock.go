// Package clock gives the local AWS an injectable notion of time, so tests of
// heartbeat timeouts, stop delays and SQS message timers run in milliseconds
// instead of the minutes they take on AWS.
package clock

import (
	"sync"
	"time"
)

// Clock is the time source every emulated service reads.
type Clock interface {
	Now() time.Time
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// Fake is a manually advanced clock. It is safe for concurrent use.
type Fake struct {
	mu  sync.Mutex
	now time.Time
}

// NewFake returns a Fake clock reading t.
func NewFake(t time.Time) *Fake { return &Fake{now: t} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the fake time forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// Scaled runs faster than the wall clock by a constant factor from a start
// point: the demo uses it so a 10-minute drain plays out in seconds while the
// real bootstrap binary, which reads the wall clock, still sees the emulator's
// time move forward consistently.
type Scaled struct {
	start  time.Time
	origin time.Time
	factor float64
}

// NewScaled returns a clock that reads origin at the moment of the call and then
// advances factor times faster than the wall clock.
func NewScaled(origin time.Time, factor float64) *Scaled {
	return &Scaled{start: time.Now(), origin: origin, factor: factor}
}

// Now returns the scaled time.
func (s *Scaled) Now() time.Time {
	return s.origin.Add(time.Duration(float64(time.Since(s.start)) * s.factor))
}
