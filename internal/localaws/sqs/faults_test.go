package sqs

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// bodies returns the bodies of msgs, in order.
func bodies(msgs []types.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = aws.ToString(m.Body)
	}
	return out
}

// reverse is a Shuffle that hands messages out newest first.
func reverse(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = n - 1 - i
	}
	return out
}

// A duplicated message must be received again by the next receive, as SQS's
// at-least-once delivery allows; otherwise the drainer's tolerance of
// duplicates is never exercised. The latest receipt handle must still delete
// it, or a duplicate would loop forever.
func TestDuplicateLeavesReceivedMessageVisible(t *testing.T) {
	h := newHarnessWith(t, Options{Duplicate: func() bool { return true }})
	url := h.queue(t, "q", nil)
	id := h.send(t, url, "m")

	first := h.receive(t, url, 1).Messages
	second := h.receive(t, url, 1).Messages
	if len(first) != 1 || len(second) != 1 {
		t.Fatalf("two receives of a duplicated message: got %d and %d messages, want 1 and 1", len(first), len(second))
	}
	if got := aws.ToString(second[0].MessageId); got != id {
		t.Fatalf("second receive: got message %s, want the duplicate of %s", got, id)
	}
	if aws.ToString(first[0].ReceiptHandle) == aws.ToString(second[0].ReceiptHandle) {
		t.Fatal("second receive: got the first receipt handle again, want a fresh one")
	}
	if got, want := second[0].Attributes["ApproximateReceiveCount"], "2"; got != want {
		t.Fatalf("ApproximateReceiveCount on the duplicate: got %s, want %s", got, want)
	}
	if err := h.srv.Delete(url, aws.ToString(second[0].ReceiptHandle)); err != nil {
		t.Fatalf("deleting with the latest handle: %v", err)
	}
	if v, f, d := h.srv.Counts(url); v+f+d != 0 {
		t.Fatalf("after deleting the duplicate: got %d visible, %d in flight, %d delayed, want none", v, f, d)
	}
}

// Without the hook a received message must stay in flight: the zero Options
// keep today's behaviour.
func TestNoDuplicateByDefault(t *testing.T) {
	h := newHarness(t)
	url := h.queue(t, "q", nil)
	h.send(t, url, "m")
	h.receive(t, url, 1)
	if got := len(h.receive(t, url, 1).Messages); got != 0 {
		t.Fatalf("second receive without Duplicate: got %d messages, want 0", got)
	}
}

func TestShuffleOrdersDeliveries(t *testing.T) {
	tests := []struct {
		name    string
		shuffle func(int) []int
		want    []string
	}{
		{"no shuffle hands out the oldest first", nil, []string{"a", "b", "c"}},
		{"a shuffle returning nil keeps the oldest first", func(int) []int { return nil }, []string{"a", "b", "c"}},
		{"a reversing shuffle hands out the newest first", reverse, []string{"c", "b", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarnessWith(t, Options{Shuffle: tt.shuffle})
			url := h.queue(t, "q", nil)
			for _, b := range []string{"a", "b", "c"} {
				h.send(t, url, b)
				h.clock.Advance(time.Millisecond)
			}
			if got := bodies(h.receive(t, url, 10).Messages); !slices.Equal(got, tt.want) {
				t.Fatalf("receive of a, b, c: got %v, want %v", got, tt.want)
			}
		})
	}
}

// Redrive must still move every over-received message to the DLQ, once,
// when a shuffle makes the receive visit the queue out of order; the moves
// edit the queue the receive is walking.
func TestShuffledReceiveStillRedrives(t *testing.T) {
	h := newHarnessWith(t, Options{Shuffle: reverse})
	dlqURL := h.queue(t, "dlq", nil)
	url := h.queue(t, "q", map[string]string{
		"VisibilityTimeout": "10",
		"RedrivePolicy":     `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:dlq","maxReceiveCount":"1"}`,
	})
	for _, b := range []string{"a", "b", "c"} {
		h.send(t, url, b)
	}
	if got := len(h.receive(t, url, 10).Messages); got != 3 {
		t.Fatalf("first receive: got %d messages, want 3", got)
	}
	h.clock.Advance(10 * time.Second)
	if got := len(h.receive(t, url, 10).Messages); got != 0 {
		t.Fatalf("receive past maxReceiveCount 1: got %d messages, want 0", got)
	}
	if v, f, d := h.srv.Counts(url); v+f+d != 0 {
		t.Fatalf("source queue after redrive: got %d messages, want 0", v+f+d)
	}
	moved := bodies(h.receive(t, dlqURL, 10).Messages)
	slices.Sort(moved)
	if want := []string{"a", "b", "c"}; !slices.Equal(moved, want) {
		t.Fatalf("dead-letter queue: got %v, want %v", moved, want)
	}
}
