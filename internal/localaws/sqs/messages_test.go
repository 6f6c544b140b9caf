package sqs

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"
)

// A message must survive send, receive and delete byte for byte with every
// digest right, otherwise the SDK's checksum validation (aws-sdk-go-v2 service/sqs cust_checksum_validation.go,
// on by default) fails the drainer's calls after the message was already stored.
func TestSendReceiveDeleteRoundTrip(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	url := h.queue(t, "drain-queue", nil)
	body := `{"instanceId":"i-1234567890abcdef0","attempt":3}`
	attrs := map[string]types.MessageAttributeValue{
		"attempt": {DataType: aws.String("Number"), StringValue: aws.String("3")},
		"blob":    {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2}},
	}

	sent, err := h.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body), MessageAttributes: attrs})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	if got, want := aws.ToString(sent.MD5OfMessageBody), md5Hex(body); got != want {
		t.Errorf("SendMessage MD5OfMessageBody: got %s, want %s", got, want)
	}
	wantAttrs := map[string]MessageAttribute{
		"attempt": {DataType: "Number", StringValue: "3"},
		"blob":    {DataType: "Binary", BinaryValue: []byte{0, 1, 2}},
	}
	if got, want := aws.ToString(sent.MD5OfMessageAttributes), md5OfAttributes(wantAttrs); got != want {
		t.Errorf("SendMessage MD5OfMessageAttributes: got %s, want %s", got, want)
	}

	h.clock.Advance(1500 * time.Millisecond)
	out := h.receive(t, url, 10)
	if len(out.Messages) != 1 {
		t.Fatalf("ReceiveMessage: got %d messages, want 1", len(out.Messages))
	}
	m := out.Messages[0]
	if got, want := aws.ToString(m.MessageId), aws.ToString(sent.MessageId); got != want {
		t.Errorf("MessageId: got %s, want %s", got, want)
	}
	if got := aws.ToString(m.Body); got != body {
		t.Errorf("Body: got %q, want %q", got, body)
	}
	wantSystem := map[string]string{
		"ApproximateReceiveCount":          "1",
		"SentTimestamp":                    strconv.FormatInt(start.UnixMilli(), 10),
		"ApproximateFirstReceiveTimestamp": strconv.FormatInt(start.Add(1500*time.Millisecond).UnixMilli(), 10),
		"SenderId":                         "123456789012",
	}
	if diff := cmp.Diff(wantSystem, m.Attributes); diff != "" {
		t.Errorf("system attributes (-want +got):\n%s", diff)
	}
	if got, want := aws.ToString(m.MessageAttributes["attempt"].StringValue), "3"; got != want {
		t.Errorf("message attribute attempt: got %q, want %q", got, want)
	}
	if diff := cmp.Diff([]byte{0, 1, 2}, m.MessageAttributes["blob"].BinaryValue); diff != "" {
		t.Errorf("message attribute blob (-want +got):\n%s", diff)
	}
	if got, want := aws.ToString(m.MD5OfMessageAttributes), aws.ToString(sent.MD5OfMessageAttributes); got != want {
		t.Errorf("ReceiveMessage MD5OfMessageAttributes: got %s, want %s (as sent)", got, want)
	}

	if _, err := h.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	if v, f, d := h.srv.Counts(url); v+f+d != 0 {
		t.Errorf("after DeleteMessage: got %d visible, %d in flight, %d delayed, want an empty queue", v, f, d)
	}
}

// Only the message attributes asked for come back, and the digest covers
// exactly those, otherwise a client that checks MD5OfMessageAttributes
// rejects a filtered receive.
func TestReceiveFiltersMessageAttributes(t *testing.T) {
	attrs := map[string]types.MessageAttributeValue{
		"drain.cluster": {DataType: aws.String("String"), StringValue: aws.String("prod")},
		"drain.attempt": {DataType: aws.String("Number"), StringValue: aws.String("2")},
		"other":         {DataType: aws.String("String"), StringValue: aws.String("x")},
	}
	tests := []struct {
		name  string
		names []string
		want  []string
	}{
		{"no names returns none", nil, nil},
		{"All returns every attribute", []string{"All"}, []string{"drain.attempt", "drain.cluster", "other"}},
		{"a prefix wildcard returns the prefixed ones", []string{"drain.*"}, []string{"drain.attempt", "drain.cluster"}},
		{"an exact name returns that one", []string{"other"}, []string{"other"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ctx := context.Background()
			url := h.queue(t, "q", nil)
			if _, err := h.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("b"), MessageAttributes: attrs}); err != nil {
				t.Fatalf("SendMessage: %v", err)
			}
			out, err := h.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MessageAttributeNames: tt.names})
			if err != nil || len(out.Messages) != 1 {
				t.Fatalf("ReceiveMessage: got %v, %v, want one message", out, err)
			}
			var got []string
			returned := map[string]MessageAttribute{}
			for name, a := range out.Messages[0].MessageAttributes {
				got = append(got, name)
				returned[name] = MessageAttribute{DataType: aws.ToString(a.DataType), StringValue: aws.ToString(a.StringValue)}
			}
			if diff := cmp.Diff(tt.want, got, cmpSorted); diff != "" {
				t.Errorf("MessageAttributeNames %v (-want +got):\n%s", tt.names, diff)
			}
			if got, want := aws.ToString(out.Messages[0].MD5OfMessageAttributes), md5OfAttributes(returned); got != want {
				t.Errorf("MD5OfMessageAttributes: got %q, want %q", got, want)
			}
		})
	}
}

// A QueueUrl naming real AWS must still reach the emulator's queue: the SDK
// sends every request to its endpoint and only the path names the queue
// (observed with aws-sdk-go-v2 service/sqs).
func TestQueueURLWithAWSHostRoutesByPath(t *testing.T) {
	h := newHarness(t)
	h.queue(t, "real-queue", nil)
	awsURL := "https://sqs.us-east-1.amazonaws.com/123456789012/real-queue"

	h.send(t, awsURL, "hello")

	if v, _, _ := h.srv.Counts(h.url + "/123456789012/real-queue"); v != 1 {
		t.Errorf("visible messages after a send to %s: got %d, want 1", awsURL, v)
	}
}

// A per-message DelaySeconds must keep the message invisible until
// sent+delay, otherwise the drainer's re-queue loop spins instead of waiting
// (DelaySeconds, 0–900 s, in the SendMessage API reference).
func TestPerMessageDelayKeepsMessageInvisible(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	url := h.queue(t, "q", nil)
	if _, err := h.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("later"), DelaySeconds: 300}); err != nil {
		t.Fatalf("SendMessage: %v", err)
	}

	steps := []struct {
		advance time.Duration
		want    int
	}{
		{0, 0},
		{299 * time.Second, 0},
		{time.Second, 1},
	}
	for _, s := range steps {
		h.clock.Advance(s.advance)
		elapsed := h.clock.Now().Sub(start)
		if v, _, d := h.srv.Counts(url); v != s.want || d != 1-s.want {
			t.Errorf("%v after send: got %d visible, %d delayed, want %d visible", elapsed, v, d, s.want)
		}
		if got := len(h.receive(t, url, 10).Messages); got != s.want {
			t.Errorf("%v after send: received %d messages, want %d", elapsed, got, s.want)
		}
	}
}

// The queue's DelaySeconds applies when the message names none, which is
// every zero delay from the Go SDK (its DelaySeconds is an int32, omitted
// when zero).
func TestQueueDelayAppliesWhenMessageOmitsIt(t *testing.T) {
	h := newHarness(t)
	url := h.queue(t, "q", map[string]string{"DelaySeconds": "60"})
	h.send(t, url, "b")

	if _, _, d := h.srv.Counts(url); d != 1 {
		t.Errorf("delayed messages right after send: got %d, want 1", d)
	}
	h.clock.Advance(60 * time.Second)
	if v, _, _ := h.srv.Counts(url); v != 1 {
		t.Errorf("visible messages 60s after send: got %d, want 1", v)
	}
}

// Bad sends must fail with AWS's code and text, otherwise the drainer's
// error classification is tested against errors AWS never sends
// (aws-sdk-go-v2 service/sqs/schemas/schemas.go; the SendMessage API reference).
func TestSendMessageValidation(t *testing.T) {
	mib := 1 << 20
	tests := []struct {
		name        string
		queueAttrs  map[string]string
		input       sqs.SendMessageInput
		wantCode    string
		wantMessage string
	}{
		{
			name:        "a delay of 901 seconds",
			input:       sqs.SendMessageInput{MessageBody: aws.String("b"), DelaySeconds: 901},
			wantCode:    "InvalidParameterValue",
			wantMessage: "Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.",
		},
		{
			name:        "a negative delay",
			input:       sqs.SendMessageInput{MessageBody: aws.String("b"), DelaySeconds: -1},
			wantCode:    "InvalidParameterValue",
			wantMessage: "Value -1 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.",
		},
		{
			name:        "a body one byte over 1 MiB",
			input:       sqs.SendMessageInput{MessageBody: aws.String(strings.Repeat("x", mib+1))},
			wantCode:    "InvalidParameterValue",
			wantMessage: "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes.",
		},
		{
			name: "a 1 MiB body plus an attribute",
			input: sqs.SendMessageInput{MessageBody: aws.String(strings.Repeat("x", mib)), MessageAttributes: map[string]types.MessageAttributeValue{
				"k": {DataType: aws.String("String"), StringValue: aws.String("v")},
			}},
			wantCode:    "InvalidParameterValue",
			wantMessage: "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes.",
		},
		{
			name:        "a body over the queue's MaximumMessageSize",
			queueAttrs:  map[string]string{"MaximumMessageSize": "1024"},
			input:       sqs.SendMessageInput{MessageBody: aws.String(strings.Repeat("x", 1025))},
			wantCode:    "InvalidParameterValue",
			wantMessage: "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.",
		},
		{
			name:        "an empty body",
			input:       sqs.SendMessageInput{MessageBody: aws.String("")},
			wantCode:    "MissingParameter",
			wantMessage: "The request must contain the parameter MessageBody.",
		},
		{
			name:        "a NUL character in the body",
			input:       sqs.SendMessageInput{MessageBody: aws.String("a\x00b")},
			wantCode:    "InvalidMessageContents",
			wantMessage: "Invalid binary character '#x0' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
		},
		{
			name: "an attribute with an unknown type",
			input: sqs.SendMessageInput{MessageBody: aws.String("b"), MessageAttributes: map[string]types.MessageAttributeValue{
				"k": {DataType: aws.String("Date"), StringValue: aws.String("v")},
			}},
			wantCode:    "InvalidParameterValue",
			wantMessage: "The type of message (user) attribute 'k' is invalid. You must use only the following supported type prefixes: Binary, Number, String.",
		},
		{
			name:        "a deduplication id on a standard queue",
			input:       sqs.SendMessageInput{MessageBody: aws.String("b"), MessageDeduplicationId: aws.String("d")},
			wantCode:    "InvalidParameterValue",
			wantMessage: "Value d for parameter MessageDeduplicationId is invalid. Reason: The request include parameter that is not valid for this queue type.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			in := tt.input
			in.QueueUrl = aws.String(h.queue(t, "q", tt.queueAttrs))

			_, err := h.client.SendMessage(context.Background(), &in)

			code, msg := apiError(t, err)
			if code != tt.wantCode || msg != tt.wantMessage {
				t.Errorf("SendMessage: got %s %q, want %s %q", code, msg, tt.wantCode, tt.wantMessage)
			}
			if v, f, d := h.srv.Counts(*in.QueueUrl); v+f+d != 0 {
				t.Errorf("a rejected send stored %d messages, want 0", v+f+d)
			}
		})
	}
}

// The size limit is inclusive: exactly 1 MiB is a valid message (SendMessage
// API reference:
// "The maximum size is 1 MiB or 1,048,576 bytes"), not the old 256 KiB.
func TestSendMessageAcceptsExactly1MiB(t *testing.T) {
	h := newHarness(t)
	url := h.queue(t, "q", nil)
	body := strings.Repeat("x", 1<<20)

	h.send(t, url, body)

	out := h.receive(t, url, 1)
	if len(out.Messages) != 1 || len(aws.ToString(out.Messages[0].Body)) != len(body) {
		t.Errorf("receiving a 1 MiB message: got %d messages, want one of %d bytes", len(out.Messages), len(body))
	}
}

// An unreceived message must come back after the visibility timeout with a
// higher receive count and a new receipt handle, otherwise a crashed
// invocation would lose its drain step (VisibilityTimeout in the SQS API
// reference; https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html).
func TestVisibilityTimeoutRedelivers(t *testing.T) {
	h := newHarness(t)
	url := h.queue(t, "q", map[string]string{"VisibilityTimeout": "30"})
	h.send(t, url, "b")

	first := h.receive(t, url, 1).Messages
	if len(first) != 1 {
		t.Fatalf("first receive: got %d messages, want 1", len(first))
	}
	h.clock.Advance(29 * time.Second)
	if got := h.receive(t, url, 1).Messages; len(got) != 0 {
		t.Fatalf("receive 29s later, inside the visibility timeout: got %d messages, want 0", len(got))
	}
	h.clock.Advance(time.Second)
	second := h.receive(t, url, 1).Messages
	if len(second) != 1 {
		t.Fatalf("receive 30s later: got %d messages, want 1", len(second))
	}
	if got := second[0].Attributes["ApproximateReceiveCount"]; got != "2" {
		t.Errorf("ApproximateReceiveCount on redelivery: got %s, want 2", got)
	}
	if got, want := second[0].Attributes["ApproximateFirstReceiveTimestamp"], first[0].Attributes["ApproximateFirstReceiveTimestamp"]; got != want {
		t.Errorf("ApproximateFirstReceiveTimestamp on redelivery: got %s, want the first receive's %s", got, want)
	}
	if aws.ToString(second[0].ReceiptHandle) == aws.ToString(first[0].ReceiptHandle) {
		t.Errorf("redelivery reused receipt handle %s, want a fresh one", aws.ToString(first[0].ReceiptHandle))
	}
}

// A receive's VisibilityTimeout overrides the queue's for that receive only.
func TestReceiveVisibilityTimeoutOverride(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	url := h.queue(t, "q", nil)
	h.send(t, url, "b")

	if _, err := h.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), VisibilityTimeout: 5}); err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	h.clock.Advance(5 * time.Second)
	if v, _, _ := h.srv.Counts(url); v != 1 {
		t.Errorf("visible 5s after a receive with VisibilityTimeout 5 (queue default 30): got %d, want 1", v)
	}
}

// A receipt handle from before a re-delivery must not delete the message:
// the DeleteMessage doc says the call succeeds but the message may stay.
// A drainer that deletes late must not lose another invocation's
// work.
func TestStaleReceiptHandleDoesNotDelete(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	url := h.queue(t, "q", nil)
	h.send(t, url, "b")
	stale := h.receive(t, url, 1).Messages[0].ReceiptHandle
	h.clock.Advance(30 * time.Second)
	current := h.receive(t, url, 1).Messages[0].ReceiptHandle

	if _, err := h.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: stale}); err != nil {
		t.Fatalf("DeleteMessage with a stale handle: got %v, want success", err)
	}
	if _, f, _ := h.srv.Counts(url); f != 1 {
		t.Fatalf("in-flight messages after deleting with the stale handle: got %d, want 1", f)
	}
	if _, err := h.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: current}); err != nil {
		t.Fatalf("DeleteMessage with the current handle: %v", err)
	}
	if v, f, d := h.srv.Counts(url); v+f+d != 0 {
		t.Errorf("messages after deleting with the current handle: got %d, want 0", v+f+d)
	}
}

// A handle that is not a receipt handle at all is a 404
// ReceiptHandleIsInvalid, typed in the SDK (aws-sdk-go-v2 service/sqs/schemas/schemas.go).
func TestMalformedReceiptHandleIsInvalid(t *testing.T) {
	h := newHarness(t)
	url := h.queue(t, "q", nil)

	_, err := h.client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String("not a handle")})

	var invalid *types.ReceiptHandleIsInvalid
	if !errors.As(err, &invalid) {
		t.Fatalf("DeleteMessage(%q): got %v, want *types.ReceiptHandleIsInvalid", "not a handle", err)
	}
	if got, want := invalid.ErrorMessage(), `The input receipt handle "not a handle" is not a valid receipt handle.`; got != want {
		t.Errorf("message: got %q, want %q", got, want)
	}
}

// A message received more than maxReceiveCount times must land in the
// dead-letter queue instead of being delivered again, otherwise a poison
// message loops forever (RedrivePolicy in the SetQueueAttributes API
// reference; https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html).
func TestRedriveMovesMessageToDeadLetterQueue(t *testing.T) {
	h := newHarness(t)
	dlqURL := h.queue(t, "drain-dlq", nil)
	url := h.queue(t, "drain-queue", map[string]string{
		"VisibilityTimeout": "10",
		"RedrivePolicy":     `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:drain-dlq","maxReceiveCount":"2"}`,
	})
	id := h.send(t, url, "poison")

	for receive := 1; receive <= 2; receive++ {
		if got := len(h.receive(t, url, 1).Messages); got != 1 {
			t.Fatalf("receive %d: got %d messages, want 1", receive, got)
		}
		h.clock.Advance(10 * time.Second)
	}
	if got := len(h.receive(t, url, 1).Messages); got != 0 {
		t.Fatalf("third receive with maxReceiveCount 2: got %d messages, want 0", got)
	}

	moved := h.receive(t, dlqURL, 10).Messages
	if len(moved) != 1 || aws.ToString(moved[0].MessageId) != id {
		t.Fatalf("dead-letter queue: got %d messages, want message %s", len(moved), id)
	}
	if got, want := moved[0].Attributes["SentTimestamp"], strconv.FormatInt(start.UnixMilli(), 10); got != want {
		t.Errorf("SentTimestamp in the DLQ: got %s, want the original %s", got, want)
	}
	if v, f, d := h.srv.Counts(url); v+f+d != 0 {
		t.Errorf("source queue after redrive: got %d messages, want 0", v+f+d)
	}
}

// Changing visibility works only on an in-flight message with its current
// handle; otherwise MessageNotInflight (aws-sdk-go-v2 service/sqs/schemas/schemas.go), which the drainer must be able
// to tell apart.
func TestChangeMessageVisibility(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	url := h.queue(t, "q", nil)
	h.send(t, url, "b")
	handle := h.receive(t, url, 1).Messages[0].ReceiptHandle

	if _, err := h.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: handle, VisibilityTimeout: 100}); err != nil {
		t.Fatalf("ChangeMessageVisibility on an in-flight message: %v", err)
	}
	h.clock.Advance(99 * time.Second)
	if _, f, _ := h.srv.Counts(url); f != 1 {
		t.Errorf("in flight 99s after extending to 100s: got %d, want 1", f)
	}
	h.clock.Advance(time.Second)

	_, err := h.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: handle, VisibilityTimeout: 10})
	var notInflight *types.MessageNotInflight
	if !errors.As(err, &notInflight) {
		t.Fatalf("ChangeMessageVisibility on a visible message: got %v, want *types.MessageNotInflight", err)
	}
	if got, want := notInflight.ErrorCode(), "AWS.SimpleQueueService.MessageNotInflight"; got != want {
		t.Errorf("ErrorCode(): got %s, want %s", got, want)
	}
}

// Messages past MessageRetentionPeriod must disappear, measured from the
// send, otherwise a stale drain step could resurface days later
// (MessageRetentionPeriod in the SetQueueAttributes API reference).
func TestRetentionExpiresMessages(t *testing.T) {
	h := newHarness(t)
	url := h.queue(t, "q", map[string]string{"MessageRetentionPeriod": "60"})
	h.send(t, url, "b")

	h.clock.Advance(59 * time.Second)
	if v, _, _ := h.srv.Counts(url); v != 1 {
		t.Fatalf("visible 59s after send with retention 60s: got %d, want 1", v)
	}
	h.clock.Advance(time.Second)
	if v, f, d := h.srv.Counts(url); v+f+d != 0 {
		t.Errorf("messages 60s after send with retention 60s: got %d, want 0", v+f+d)
	}
}

// The sender's X-Amzn-Trace-Id must come back as AWSTraceHeader, otherwise
// the later Lambda recursion-detection emulation has nothing to count
// (https://docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html). The SDK sends the header when it runs inside a
// Lambda (aws-sdk-go-v2 aws/middleware/recursion_detection.go).
func TestAWSTraceHeaderCarried(t *testing.T) {
	const header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	tests := []struct {
		name   string
		system map[string]types.MessageSystemAttributeValue
		want   string
	}{
		{"from the SDK's trace header", nil, header},
		{
			"the system attribute overrides the HTTP header",
			map[string]types.MessageSystemAttributeValue{"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String("Root=1-explicit")}},
			"Root=1-explicit",
		},
	}
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "drainer")
	t.Setenv("_X_AMZN_TRACE_ID", header)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			url := h.queue(t, "q", nil)
			if _, err := h.client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("b"), MessageSystemAttributes: tt.system}); err != nil {
				t.Fatalf("SendMessage: %v", err)
			}

			got := h.receive(t, url, 1).Messages[0].Attributes["AWSTraceHeader"]

			if got != tt.want {
				t.Errorf("AWSTraceHeader: got %q, want %q", got, tt.want)
			}
		})
	}
}

// A long poll must answer as soon as a message arrives, not at the end of
// the wait, otherwise the event-source poller adds 20 s to every hop. This
// is the one test that waits on the wall clock: the poll waits the longest
// SQS allows, 20 s, and must answer in less than half of it, which tells an
// early answer from one at the end of the wait however loaded the machine.
func TestLongPollReturnsEarly(t *testing.T) {
	tests := []struct {
		name string
		// trigger makes a message receivable while the poll waits.
		trigger func(t *testing.T, h *harness, url string)
	}{
		{"when a message is sent", func(t *testing.T, h *harness, url string) { h.send(t, url, "b") }},
		{"when the fake clock passes a message's delay", func(t *testing.T, h *harness, url string) { h.clock.Advance(time.Minute) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ctx := context.Background()
			url := h.queue(t, "q", nil)
			if _, err := h.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("delayed"), DelaySeconds: 60}); err != nil {
				t.Fatalf("SendMessage: %v", err)
			}
			type result struct {
				n   int
				err error
			}
			done := make(chan result, 1)
			begun := time.Now()
			go func() {
				out, err := h.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20})
				if err != nil {
					done <- result{err: err}
					return
				}
				done <- result{n: len(out.Messages)}
			}()
			waitFor(t, "the long poll to arrive", func() bool { return h.srv.Calls()["ReceiveMessage"] == 1 })

			tt.trigger(t, h, url)

			r := <-done
			if r.err != nil || r.n != 1 {
				t.Fatalf("long poll: got %d messages, %v, want 1 message", r.n, r.err)
			}
			if elapsed := time.Since(begun); elapsed >= 10*time.Second {
				t.Errorf("long poll answered after %v, want well before the end of its 20s wait", elapsed)
			}
		})
	}
}

// Batches must report each entry as Successful or Failed by id, with
// digests the SDK checks per entry, otherwise a partial failure is lost.
func TestSendAndDeleteMessageBatch(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	url := h.queue(t, "q", nil)

	sent, err := h.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String("first")},
		{Id: aws.String("b"), MessageBody: aws.String("too late"), DelaySeconds: 901},
		{Id: aws.String("c"), MessageBody: aws.String("third")},
	}})
	if err != nil {
		t.Fatalf("SendMessageBatch: %v", err)
	}
	var ok []string
	for _, e := range sent.Successful {
		ok = append(ok, aws.ToString(e.Id))
	}
	if diff := cmp.Diff([]string{"a", "c"}, ok); diff != "" {
		t.Errorf("Successful ids (-want +got):\n%s", diff)
	}
	wantFailed := []types.BatchResultErrorEntry{{
		Id: aws.String("b"), SenderFault: true, Code: aws.String("InvalidParameterValue"),
		Message: aws.String("Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900."),
	}}
	if diff := cmp.Diff(wantFailed, sent.Failed, cmpNoUnexported); diff != "" {
		t.Errorf("Failed (-want +got):\n%s", diff)
	}

	got := h.receive(t, url, 10).Messages
	if len(got) != 2 {
		t.Fatalf("ReceiveMessage after the batch: got %d messages, want 2", len(got))
	}
	deleted, err := h.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("one"), ReceiptHandle: got[0].ReceiptHandle},
		{Id: aws.String("bad"), ReceiptHandle: aws.String("garbage")},
	}})
	if err != nil {
		t.Fatalf("DeleteMessageBatch: %v", err)
	}
	if len(deleted.Successful) != 1 || aws.ToString(deleted.Successful[0].Id) != "one" {
		t.Errorf("DeleteMessageBatch Successful: got %+v, want only id one", deleted.Successful)
	}
	if len(deleted.Failed) != 1 || aws.ToString(deleted.Failed[0].Code) != "ReceiptHandleIsInvalid" {
		t.Errorf("DeleteMessageBatch Failed: got %+v, want id bad with ReceiptHandleIsInvalid", deleted.Failed)
	}
	if _, f, _ := h.srv.Counts(url); f != 1 {
		t.Errorf("in-flight messages after deleting one of two: got %d, want 1", f)
	}
}

// Whole-batch errors are typed in the SDK (aws-sdk-go-v2 service/sqs/schemas/schemas.go), so callers can fix the
// request rather than retry it.
func TestBatchRequestErrors(t *testing.T) {
	entry := func(id string) types.SendMessageBatchRequestEntry {
		return types.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String("b")}
	}
	var eleven []types.SendMessageBatchRequestEntry
	for i := range 11 {
		eleven = append(eleven, entry(strconv.Itoa(i)))
	}
	big := strings.Repeat("x", 600_000)
	tests := []struct {
		name    string
		entries []types.SendMessageBatchRequestEntry
		want    any
	}{
		{"no entries", []types.SendMessageBatchRequestEntry{}, new(*types.EmptyBatchRequest)},
		{"eleven entries", eleven, new(*types.TooManyEntriesInBatchRequest)},
		{"a repeated id", []types.SendMessageBatchRequestEntry{entry("a"), entry("a")}, new(*types.BatchEntryIdsNotDistinct)},
		{"an id with a space", []types.SendMessageBatchRequestEntry{entry("a b")}, new(*types.InvalidBatchEntryId)},
		{
			"two messages over 1 MiB together",
			[]types.SendMessageBatchRequestEntry{
				{Id: aws.String("a"), MessageBody: aws.String(big)},
				{Id: aws.String("b"), MessageBody: aws.String(big)},
			},
			new(*types.BatchRequestTooLong),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			url := h.queue(t, "q", nil)

			_, err := h.client.SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: tt.entries})

			if !errors.As(err, tt.want) {
				t.Errorf("SendMessageBatch: got %v, want %T", err, tt.want)
			}
			if v, f, d := h.srv.Counts(url); v+f+d != 0 {
				t.Errorf("a rejected batch stored %d messages, want 0", v+f+d)
			}
		})
	}
}
