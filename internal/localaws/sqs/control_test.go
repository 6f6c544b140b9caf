package sqs

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/clock"
)

// The control plane must see what the wire clients see: a message sent
// through the SDK is received, shown and deleted by the Go methods with the
// same ids, attributes and handle rules, otherwise the event-source poller
// would diverge from real SQS (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html).
func TestControlPlaneSharesTheWireState(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	url, err := h.srv.CreateQueue("q", map[string]string{"VisibilityTimeout": "60"})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	id := h.send(t, url, "drain i-1")
	h.clock.Advance(time.Second)

	got, err := h.srv.Receive(ctx, url, 10, 0)
	if err != nil || len(got) != 1 {
		t.Fatalf("Receive: got %v, %v, want one message", got, err)
	}
	want := Message{
		MessageID: id, Body: "drain i-1", MD5OfBody: md5Hex("drain i-1"),
		Attributes: map[string]string{
			"ApproximateReceiveCount":          "1",
			"SentTimestamp":                    strconv.FormatInt(start.UnixMilli(), 10),
			"ApproximateFirstReceiveTimestamp": strconv.FormatInt(start.Add(time.Second).UnixMilli(), 10),
			"SenderId":                         "123456789012",
		},
	}
	if diff := cmp.Diff(want, got[0], cmpopts.IgnoreFields(Message{}, "ReceiptHandle")); diff != "" {
		t.Errorf("Receive (-want +got):\n%s", diff)
	}

	stored, err := h.srv.Messages(url)
	if err != nil {
		t.Fatalf("Messages: %v", err)
	}
	wantStored := []QueuedMessage{{Message: got[0], State: InFlight, VisibleAt: start.Add(61 * time.Second)}}
	if diff := cmp.Diff(wantStored, stored); diff != "" {
		t.Errorf("Messages (-want +got):\n%s", diff)
	}
	if v, f, d := h.srv.Counts(url); v != 0 || f != 1 || d != 0 {
		t.Errorf("Counts: got %d visible, %d in flight, %d delayed, want 0, 1, 0", v, f, d)
	}

	if err := h.srv.Delete(url, got[0].ReceiptHandle); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if v, f, d := h.srv.Counts(url); v+f+d != 0 {
		t.Errorf("Counts after Delete: got %d messages, want 0", v+f+d)
	}
	if diff := cmp.Diff(map[string]int{"SendMessage": 1}, h.srv.Calls()); diff != "" {
		t.Errorf("Calls count wire requests only (-want +got):\n%s", diff)
	}
}

// Control-plane calls fail exactly as the wire operations do, because they
// run the same code.
func TestControlPlaneErrors(t *testing.T) {
	h := newHarness(t)
	url := h.queue(t, "q", nil)
	tests := []struct {
		name string
		call func() error
		want string // awswire.Error QueryCode
	}{
		{"Receive of eleven messages", func() error { _, err := h.srv.Receive(context.Background(), url, 11, 0); return err }, "InvalidParameterValue"},
		{"Receive waiting 21 seconds", func() error { _, err := h.srv.Receive(context.Background(), url, 1, 21*time.Second); return err }, "InvalidParameterValue"},
		{"Receive from a missing queue", func() error { _, err := h.srv.Receive(context.Background(), url+"x", 1, 0); return err }, "AWS.SimpleQueueService.NonExistentQueue"},
		{"Delete with a malformed handle", func() error { return h.srv.Delete(url, "?") }, "ReceiptHandleIsInvalid"},
		{"Messages of a missing queue", func() error { _, err := h.srv.Messages(url + "x"); return err }, "AWS.SimpleQueueService.NonExistentQueue"},
		{"CreateQueue with a bad attribute", func() error { _, err := h.srv.CreateQueue("q2", map[string]string{"DelaySeconds": "-1"}); return err }, "InvalidAttributeValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e *awswire.Error
			if err := tt.call(); !errors.As(err, &e) || e.QueryCode != tt.want {
				t.Errorf("got %v, want an *awswire.Error with query code %s", err, tt.want)
			}
		})
	}
}

// An empty long poll ends after its wait, and a cancelled context ends it
// at once, so a stopping poller does not hang for 20 s. The upper bound is
// the most a poll may wait, 20 s, not how fast this machine ends a 100 ms
// one.
func TestLongPollEnds(t *testing.T) {
	h := newHarness(t)
	url := h.queue(t, "q", nil)

	begun := time.Now()
	got, err := h.srv.Receive(context.Background(), url, 1, 100*time.Millisecond)
	if elapsed := time.Since(begun); err != nil || len(got) != 0 || elapsed < 100*time.Millisecond || elapsed >= 20*time.Second {
		t.Errorf("empty 100ms long poll: got %d messages, %v after %v, want none after its 100ms", len(got), err, elapsed)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.srv.Receive(ctx, url, 1, 20*time.Second); !errors.Is(err, context.Canceled) {
		t.Errorf("long poll with a cancelled context: got %v, want context.Canceled", err)
	}
}

// An EventBridge target's send must be a real message: receivable, with the
// trace header it was sent with, on the queue named by its ARN.
func TestSendAndQueueARN(t *testing.T) {
	s := New(clock.NewFake(time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)), Options{})
	url, err := s.CreateQueue("events", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(url, `{"detail-type":"x"}`, "Root=1-5759e988-bd862e3fe1be46a994272793"); err != nil {
		t.Fatal(err)
	}
	msgs, err := s.Receive(context.Background(), url, 10, 0)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Receive = %v, %v; want the one message sent", msgs, err)
	}
	if got, want := msgs[0].Attributes["AWSTraceHeader"], "Root=1-5759e988-bd862e3fe1be46a994272793"; got != want {
		t.Errorf("AWSTraceHeader = %q, want %q", got, want)
	}
	if arn, err := s.QueueARN(url); err != nil || arn != "arn:aws:sqs:us-east-1:123456789012:events" {
		t.Errorf("QueueARN = %q, %v; want arn:aws:sqs:us-east-1:123456789012:events", arn, err)
	}
	if _, err := s.Send(url, "", ""); err == nil {
		t.Error("Send of an empty body succeeded; SQS requires at least one character")
	}
}

func TestLoseRemovesTheMessage(t *testing.T) {
	s := New(clock.NewFake(time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)), Options{})
	url, err := s.CreateQueue("q", nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.Send(url, "lost", "")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Lose(url, id) || s.Lose(url, id) {
		t.Fatal("Lose: want true for the message, then false once it is gone")
	}
	if v, f, d := s.Counts(url); v+f+d != 0 {
		t.Fatalf("queue holds %d messages after Lose, want 0", v+f+d)
	}
}
