// Package lifecycle holds the drainer's wire formats and nothing else: the
// EventBridge envelope, the Auto Scaling terminate lifecycle action it
// carries, and the drainer's own versioned re-queue message. It makes no AWS
// calls. Parse classifies any record body into exactly one of: a lifecycle
// action to start draining, a re-queue message to continue one, an event to
// ignore by design (with the reason), or an error that can never succeed.
package lifecycle
