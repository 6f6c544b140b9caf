package eventbridge

import "time"

// Retries. EventBridge retries a failing target with exponential backoff for
// up to 24 hours and 185 attempts; the local bus keeps the shape (same
// envelope, growing waits) but gives up within about half a second of wall
// time, so that a target that never recovers shows up as a FailedInvocation
// while the test or the demo that caused it is still running. The waits are
// on the wall clock because the emulator's clock may be a fake that only
// moves when a test says so.
const (
	maxAttempts  = 8
	firstBackoff = 5 * time.Millisecond
	maxBackoff   = 100 * time.Millisecond
)

// deliver runs one delivery of event to t and counts its outcome.
func (b *Bus) deliver(t Target, event []byte) {
	defer b.wg.Done()
	ok := b.attempt(t, event)
	b.mu.Lock()
	defer b.mu.Unlock()
	if ok {
		b.stats.Delivered++
	} else {
		b.stats.FailedInvocations++
	}
}

// attempt calls t until it accepts event, maxAttempts have failed, or the bus
// is closed, and reports whether t accepted it.
func (b *Bus) attempt(t Target, event []byte) bool {
	wait := firstBackoff
	for n := 1; b.ctx.Err() == nil; n++ {
		if err := t(b.ctx, event); err == nil {
			return true
		}
		b.mu.Lock()
		b.stats.FailedAttempts++
		b.mu.Unlock()
		if n == maxAttempts {
			return false
		}
		select {
		case <-time.After(wait):
		case <-b.ctx.Done():
			return false
		}
		wait = min(2*wait, maxBackoff)
	}
	return false
}
