package eventbridge

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// An SQS target must send the envelope as the message body, unchanged, to
// its queue, and hand back the queue's error so the bus retries: the drainer
// decodes the body as an EventBridge event.
func TestSQSTargetSendsTheEnvelopeAsTheBody(t *testing.T) {
	type sent struct{ URL, Body, Trace string }
	cases := []struct {
		name    string
		sendErr error
	}{
		{"a queue that accepts", nil},
		{"a queue that refuses", errors.New("AWS.SimpleQueueService.NonExistentQueue")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []sent
			send := func(url, body, trace string) (string, error) {
				got = append(got, sent{url, body, trace})
				return "m-1", c.sendErr
			}
			const url = "http://127.0.0.1:1/123456789012/drain"
			err := SQSTarget(send, url)(context.Background(), []byte(`{"version":"0"}`))
			if !errors.Is(err, c.sendErr) {
				t.Errorf("target error = %v, want %v", err, c.sendErr)
			}
			want := []sent{{URL: url, Body: `{"version":"0"}`}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("messages sent (-want +got):\n%s", diff)
			}
		})
	}
}
