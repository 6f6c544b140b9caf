package sqs

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"
)

// A missing queue must surface as *types.QueueDoesNotExist from every
// operation, with the query-compatible ErrorCode(), otherwise errors.As in
// the drainer never matches
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-api-responses.html).
func TestQueueDoesNotExist(t *testing.T) {
	h := newHarness(t)
	missing := aws.String(h.url + "/123456789012/missing")
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
	}{
		{"SendMessage", func() error {
			_, err := h.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: missing, MessageBody: aws.String("b")})
			return err
		}},
		{"ReceiveMessage", func() error {
			_, err := h.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: missing})
			return err
		}},
		{"DeleteMessage", func() error {
			_, err := h.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: missing, ReceiptHandle: aws.String("x")})
			return err
		}},
		{"GetQueueAttributes", func() error {
			_, err := h.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: missing})
			return err
		}},
		{"GetQueueUrl", func() error {
			_, err := h.client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("missing")})
			return err
		}},
		{"another account's queue", func() error {
			h.queue(t, "mine", nil)
			_, err := h.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(h.url + "/999999999999/mine"), MessageBody: aws.String("b")})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()

			var qdne *types.QueueDoesNotExist
			if !errors.As(err, &qdne) {
				t.Fatalf("got %v, want *types.QueueDoesNotExist", err)
			}
			if got, want := qdne.ErrorCode(), "AWS.SimpleQueueService.NonExistentQueue"; got != want {
				t.Errorf("ErrorCode(): got %s, want %s", got, want)
			}
		})
	}
}

// CreateQueue is idempotent for the same attributes and refuses different
// ones, so a deploy that re-creates the queue cannot silently change it.
func TestCreateQueueIdempotency(t *testing.T) {
	tests := []struct {
		name    string
		again   map[string]string
		wantErr bool
	}{
		{"same attributes", map[string]string{"VisibilityTimeout": "60"}, false},
		{"same value spelled differently", map[string]string{"VisibilityTimeout": "060"}, false},
		{"no attributes", nil, false},
		{"a different value", map[string]string{"VisibilityTimeout": "90"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			url := h.queue(t, "q", map[string]string{"VisibilityTimeout": "60"})

			out, err := h.client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("q"), Attributes: tt.again})

			if tt.wantErr {
				var exists *types.QueueNameExists
				if !errors.As(err, &exists) {
					t.Fatalf("CreateQueue again with %v: got %v, want *types.QueueNameExists", tt.again, err)
				}
				if got, want := exists.ErrorCode(), "QueueAlreadyExists"; got != want {
					t.Errorf("ErrorCode(): got %s, want %s", got, want)
				}
				return
			}
			if err != nil || aws.ToString(out.QueueUrl) != url {
				t.Errorf("CreateQueue again with %v: got %v, %v, want %s", tt.again, out, err, url)
			}
		})
	}
}

// Attribute values outside the documented ranges are refused with the
// typed errors (the SetQueueAttributes API reference), and FIFO queues are refused because the emulator
// does not model them.
func TestCreateQueueValidation(t *testing.T) {
	tests := []struct {
		name      string
		queueName string
		attrs     map[string]string
		wantCode  string
	}{
		{"DelaySeconds 901", "q", map[string]string{"DelaySeconds": "901"}, "InvalidAttributeValue"},
		{"VisibilityTimeout over 12 hours", "q", map[string]string{"VisibilityTimeout": "43201"}, "InvalidAttributeValue"},
		{"MaximumMessageSize under 1 KiB", "q", map[string]string{"MaximumMessageSize": "1023"}, "InvalidAttributeValue"},
		{"MessageRetentionPeriod under a minute", "q", map[string]string{"MessageRetentionPeriod": "59"}, "InvalidAttributeValue"},
		{"ReceiveMessageWaitTimeSeconds 21", "q", map[string]string{"ReceiveMessageWaitTimeSeconds": "21"}, "InvalidAttributeValue"},
		{"an unknown attribute", "q", map[string]string{"Colour": "blue"}, "InvalidAttributeName"},
		{"a read-only attribute", "q", map[string]string{"QueueArn": "arn"}, "InvalidAttributeName"},
		{"a redrive policy to a missing queue", "q", map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:nope","maxReceiveCount":5}`}, "InvalidParameterValue"},
		{"a FIFO queue name", "q.fifo", nil, "InvalidParameterValue"},
		{"the FifoQueue attribute", "q", map[string]string{"FifoQueue": "true"}, "InvalidParameterValue"},
		{"a name with a slash", "a/b", nil, "InvalidParameterValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)

			_, err := h.client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(tt.queueName), Attributes: tt.attrs})

			if code, _ := apiError(t, err); code != tt.wantCode {
				t.Errorf("CreateQueue(%s, %v): got %s, want %s", tt.queueName, tt.attrs, code, tt.wantCode)
			}
		})
	}
}

// GetQueueAttributes reports settings and the three approximate counts as
// strings, which is what the SDK's map[string]string expects
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-api-responses.html).
func TestGetQueueAttributes(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.queue(t, "dlq", nil)
	policy := `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:dlq","maxReceiveCount":5}`
	url := h.queue(t, "q", map[string]string{"RedrivePolicy": policy})
	h.send(t, url, "visible")
	h.send(t, url, "in flight")
	h.receive(t, url, 1)
	if _, err := h.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("delayed"), DelaySeconds: 10}); err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	h.clock.Advance(time.Second)
	if _, err := h.client.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: map[string]string{"DelaySeconds": "5"}}); err != nil {
		t.Fatalf("SetQueueAttributes: %v", err)
	}

	out, err := h.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}

	want := map[string]string{
		"QueueArn":                              "arn:aws:sqs:us-east-1:123456789012:q",
		"ApproximateNumberOfMessages":           "1",
		"ApproximateNumberOfMessagesNotVisible": "1",
		"ApproximateNumberOfMessagesDelayed":    "1",
		"CreatedTimestamp":                      strconv.FormatInt(start.Unix(), 10),
		"LastModifiedTimestamp":                 strconv.FormatInt(start.Unix()+1, 10),
		"DelaySeconds":                          "5",
		"VisibilityTimeout":                     "30",
		"MaximumMessageSize":                    "1048576",
		"MessageRetentionPeriod":                "345600",
		"ReceiveMessageWaitTimeSeconds":         "0",
		"RedrivePolicy":                         policy,
	}
	if diff := cmp.Diff(want, out.Attributes); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}

	one, err := h.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages}})
	if err != nil {
		t.Fatalf("GetQueueAttributes(ApproximateNumberOfMessages): %v", err)
	}
	if diff := cmp.Diff(map[string]string{"ApproximateNumberOfMessages": "1"}, one.Attributes); diff != "" {
		t.Errorf("one attribute (-want +got):\n%s", diff)
	}
}

// GetQueueUrl hands out URLs under the configured endpoint, so clients that
// look the queue up by name reach the emulator.
func TestGetQueueURL(t *testing.T) {
	h := newHarness(t)
	h.queue(t, "q", nil)

	out, err := h.client.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String("q")})

	if err != nil || aws.ToString(out.QueueUrl) != h.url+"/123456789012/q" {
		t.Errorf("GetQueueUrl(q): got %v, %v, want %s/123456789012/q", out, err, h.url)
	}
}

// DeleteQueue removes the queue at once, and its name stays blocked for 60
// seconds as on AWS (QueueDeletedRecently).
func TestDeleteQueueThenRecreate(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	url := h.queue(t, "q", nil)
	if _, err := h.client.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
		t.Fatalf("DeleteQueue: %v", err)
	}

	_, err := h.client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q")})
	var recently *types.QueueDeletedRecently
	if !errors.As(err, &recently) {
		t.Fatalf("CreateQueue right after DeleteQueue: got %v, want *types.QueueDeletedRecently", err)
	}
	h.clock.Advance(60 * time.Second)
	if got := h.queue(t, "q", nil); got != url {
		t.Errorf("CreateQueue 60s after DeleteQueue: got %s, want %s", got, url)
	}
}

// PurgeQueue empties the queue and may run once a minute.
func TestPurgeQueue(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	url := h.queue(t, "q", nil)
	h.send(t, url, "b")
	if _, err := h.client.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(url)}); err != nil {
		t.Fatalf("PurgeQueue: %v", err)
	}
	if v, f, d := h.srv.Counts(url); v+f+d != 0 {
		t.Errorf("messages after PurgeQueue: got %d, want 0", v+f+d)
	}

	_, err := h.client.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(url)})

	var inProgress *types.PurgeQueueInProgress
	if !errors.As(err, &inProgress) {
		t.Errorf("second PurgeQueue within 60s: got %v, want *types.PurgeQueueInProgress", err)
	}
}
