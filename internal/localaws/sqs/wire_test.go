package sqs

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/clock"
)

// The bytes on the wire must match AWS's JSON envelope exactly, statuses and
// headers included, because the SDK derives the error type and ErrorCode()
// from them (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-api-responses.html).
// Every answer is JSON, never XML.
func TestWireEnvelope(t *testing.T) {
	srv := New(clock.NewFake(start), Options{})
	if _, err := srv.CreateQueue("q", nil); err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	tests := []struct {
		name       string
		target     string
		body       string
		wantStatus int
		wantQuery  string // x-amzn-query-error
		wantBody   map[string]any
	}{
		{
			name: "a missing queue", target: "AmazonSQS.SendMessage",
			body:       `{"QueueUrl":"http://x/123456789012/missing","MessageBody":"b"}`,
			wantStatus: 400, wantQuery: "AWS.SimpleQueueService.NonExistentQueue;Sender",
			wantBody: map[string]any{"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "The specified queue does not exist."},
		},
		{
			name: "an invalid delay", target: "AmazonSQS.SendMessage",
			body:       `{"QueueUrl":"http://x/123456789012/q","MessageBody":"b","DelaySeconds":901}`,
			wantStatus: 400, wantQuery: "InvalidParameterValue;Sender",
			wantBody: map[string]any{
				"__type":  "com.amazon.coral.service#InvalidParameterValueException",
				"message": "Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.",
			},
		},
		{
			name: "an unknown operation", target: "AmazonSQS.ListQueues", body: `{}`,
			wantStatus: 400, wantQuery: "AWS.SimpleQueueService.UnsupportedOperation;Sender",
			wantBody: map[string]any{
				"__type":  "com.amazonaws.sqs#UnsupportedOperation",
				"message": "Operation AmazonSQS.ListQueues is not supported by the local SQS emulator (it speaks awsJson1_0 only).",
			},
		},
		{
			name: "a malformed receipt handle", target: "AmazonSQS.DeleteMessage",
			body:       `{"QueueUrl":"http://x/123456789012/q","ReceiptHandle":"%%"}`,
			wantStatus: 404, wantQuery: "ReceiptHandleIsInvalid;Sender",
			wantBody: map[string]any{"__type": "com.amazonaws.sqs#ReceiptHandleIsInvalid", "message": `The input receipt handle "%%" is not a valid receipt handle.`},
		},
		{
			name: "a QueueUrl without a queue path", target: "AmazonSQS.SendMessage",
			body:       `{"QueueUrl":"http://x/","MessageBody":"b"}`,
			wantStatus: 404, wantQuery: "InvalidAddress;Sender",
			wantBody: map[string]any{"__type": "com.amazonaws.sqs#InvalidAddress", "message": "The address http://x/ is not valid for this endpoint."},
		},
		{
			name: "an empty receive", target: "AmazonSQS.ReceiveMessage",
			body:       `{"QueueUrl":"http://x/123456789012/q"}`,
			wantStatus: 200, wantBody: map[string]any{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/x-amz-json-1.0")
			req.Header.Set("X-Amz-Target", tt.target)
			rec := httptest.NewRecorder()

			srv.ServeHTTP(rec, req)

			if rec.Code != tt.wantStatus {
				t.Errorf("status: got %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := rec.Header().Get("x-amzn-query-error"); got != tt.wantQuery {
				t.Errorf("x-amzn-query-error: got %q, want %q", got, tt.wantQuery)
			}
			if got, want := rec.Header().Get("Content-Type"), "application/x-amz-json-1.0"; got != want {
				t.Errorf("Content-Type: got %q, want %q", got, want)
			}
			if rec.Header().Get("x-amzn-RequestId") == "" {
				t.Error("x-amzn-RequestId: got none, want a request id")
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q is not JSON: %v", rec.Body.String(), err)
			}
			if diff := cmp.Diff(tt.wantBody, body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

// An exhausted bucket answers 403 RequestThrottled, which the SDK's standard
// retryer retries (3 attempts) before surfacing it typed (aws-sdk-go-v2
// aws/retry/standard.go); the
// drainer must see throttling as an error, never as success.
func TestRequestThrottledIsRetriedThenSurfaced(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	url := h.queue(t, "q", nil)
	h.srv.Throttle.Set("SendMessage", awswire.Bucket{Burst: 1, Rate: 0})
	h.send(t, url, "takes the only token")

	_, err := h.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("b")})

	var throttled *types.RequestThrottled
	if !errors.As(err, &throttled) {
		t.Fatalf("SendMessage on an empty bucket: got %v, want *types.RequestThrottled", err)
	}
	if got, want := h.srv.Calls()["SendMessage"], 1+3; got != want {
		t.Errorf("SendMessage requests: got %d, want %d (one success, then three attempts)", got, want)
	}
	if v, _, _ := h.srv.Counts(url); v != 1 {
		t.Errorf("visible messages: got %d, want 1 (throttled sends store nothing)", v)
	}
}

// A request that is not awsJson1_0 still gets a JSON error, so the SDK
// reports it instead of failing on XML it cannot parse (observed with
// aws-sdk-go-v2 service/sqs).
func TestNonJSONRequestGetsJSONError(t *testing.T) {
	srv := New(clock.NewFake(start), Options{})
	ts := httptest.NewServer(srv)
	defer ts.Close()

	resp, err := http.Post(ts.URL, "application/x-www-form-urlencoded", strings.NewReader("Action=ListQueues&Version=2012-11-05"))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)

	if resp.StatusCode != http.StatusBadRequest || !json.Valid(body) {
		t.Errorf("query-protocol request: got %d %s, want 400 with a JSON body", resp.StatusCode, body)
	}
}
