package sqs

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/clock"
)

// start is the fake clock's reading when a test begins.
var start = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// harness is one emulator behind a real listener and a real SDK client, set
// up with the client's BaseEndpoint option pointing at the listener.
type harness struct {
	srv    *Server
	clock  *clock.Fake
	url    string // base URL of the listener
	client *sqs.Client
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, Options{})
}

// newHarnessWith is newHarness with the server's options.
func newHarnessWith(t *testing.T, o Options) *harness {
	t.Helper()
	fake := clock.NewFake(start)
	srv := New(fake, o)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	srv.SetEndpoint(ts.URL)

	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = time.Millisecond })
		}),
	)
	if err != nil {
		t.Fatalf("loading SDK config: %v", err)
	}
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(ts.URL) })
	return &harness{srv: srv, clock: fake, url: ts.URL, client: client}
}

// queue creates a queue through the SDK and returns its URL.
func (h *harness) queue(t *testing.T, name string, attrs map[string]string) string {
	t.Helper()
	out, err := h.client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("CreateQueue(%s): %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

// send sends body and returns the message id.
func (h *harness) send(t *testing.T, url, body string) string {
	t.Helper()
	out, err := h.client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)})
	if err != nil {
		t.Fatalf("SendMessage(%q): %v", body, err)
	}
	return aws.ToString(out.MessageId)
}

// receive receives without waiting, with every attribute.
func (h *harness) receive(t *testing.T, url string, max int32) *sqs.ReceiveMessageOutput {
	t.Helper()
	out, err := h.client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(url),
		MaxNumberOfMessages:         max,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	return out
}

// apiError returns the SDK's error code and message, or fails the test when
// err is not an API error.
func apiError(t *testing.T, err error) (code, message string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("got error %v, want an API error", err)
	}
	return ae.ErrorCode(), ae.ErrorMessage()
}

// waitFor polls cond until it holds. The deadline only turns a hang into a
// failure: how long cond takes depends on the machine's load.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

var (
	// cmpSorted compares string slices as sets.
	cmpSorted = cmpopts.SortSlices(func(a, b string) bool { return a < b })
	// cmpNoUnexported skips the SDK types' unexported serde markers.
	cmpNoUnexported = cmpopts.IgnoreUnexported(types.BatchResultErrorEntry{})
)
