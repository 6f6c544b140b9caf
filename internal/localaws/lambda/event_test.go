package lambda

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/sqs"
)

// The event must have the documented lower-camel shape with the trace header
// among the attributes, otherwise aws-lambda-go decodes empty records or the
// recursion chain is lost.
func TestSQSEventPayload(t *testing.T) {
	msgs := []sqs.Message{{
		MessageID: "m1", ReceiptHandle: "rh1", Body: "hello", MD5OfBody: "5d41402abc4b2a76b9719d911017c592",
		Attributes: map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183",
			"SenderId": "123456789012", "ApproximateFirstReceiveTimestamp": "1545082649185", "AWSTraceHeader": "Root=1-a-b;Lineage=abcd1234:0"},
		MessageAttributes: map[string]sqs.MessageAttribute{
			"s": {DataType: "String", StringValue: "v"},
			"b": {DataType: "Binary", BinaryValue: []byte{1, 2}},
		},
		MD5OfMessageAttributes: "0123",
	}, {MessageID: "m2", ReceiptHandle: "rh2", Body: "", MD5OfBody: "d41d8cd98f00b204e9800998ecf8427e"}}
	payload := sqsEventPayload(msgs, "arn:aws:sqs:us-east-2:123456789012:my-queue", "us-east-2")

	var raw struct {
		Records []map[string]json.RawMessage
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		t.Fatalf("payload %s: %v", payload, err)
	}
	keys := slices.Sorted(maps.Keys(raw.Records[1]))
	wantKeys := []string{"attributes", "awsRegion", "body", "eventSource", "eventSourceARN", "md5OfBody", "messageAttributes", "messageId", "receiptHandle"}
	if diff := cmp.Diff(wantKeys, keys); diff != "" {
		t.Errorf("record keys (-want +got):\n%s", diff)
	}
	if got := string(raw.Records[1]["messageAttributes"]); got != "{}" {
		t.Errorf("messageAttributes of a plain message got %s, want {}", got)
	}

	var ev events.SQSEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatalf("decoding as events.SQSEvent: %v", err)
	}
	v := "v"
	want := events.SQSMessage{
		MessageId: "m1", ReceiptHandle: "rh1", Body: "hello", Md5OfBody: "5d41402abc4b2a76b9719d911017c592",
		Md5OfMessageAttributes: "0123", Attributes: msgs[0].Attributes,
		MessageAttributes: map[string]events.SQSMessageAttribute{
			"s": {StringValue: &v, StringListValues: []string{}, BinaryListValues: [][]byte{}, DataType: "String"},
			"b": {BinaryValue: []byte{1, 2}, StringListValues: []string{}, BinaryListValues: [][]byte{}, DataType: "Binary"},
		},
		EventSourceARN: "arn:aws:sqs:us-east-2:123456789012:my-queue", EventSource: "aws:sqs", AWSRegion: "us-east-2",
	}
	if diff := cmp.Diff(want, ev.Records[0]); diff != "" {
		t.Errorf("first record (-want +got):\n%s", diff)
	}
}
