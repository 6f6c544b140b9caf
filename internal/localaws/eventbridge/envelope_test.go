package eventbridge

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

var uuid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// The envelope must have the shape consumers decode (aws-lambda-go's
// events.EventBridgeEvent, our lifecycle package): resources an array and
// detail an object even when the service had none, or a consumer that ranges
// over resources or decodes detail into a struct fails on a null.
func TestEnvelopeHasTheShapeEventBridgeDelivers(t *testing.T) {
	at := time.Date(2026, 11, 24, 5, 0, 0, 987654321, time.FixedZone("CET", 3600))
	cases := []struct {
		name string
		in   awswire.Event
		want map[string]any // without id
	}{
		{
			name: "an event with resources and detail keeps them",
			in: awswire.Event{Source: "aws.autoscaling", DetailType: "EC2 Instance-terminate Lifecycle Action",
				Resources: []string{"arn:asg"}, Detail: map[string]string{"EC2InstanceId": "i-1"}},
			want: map[string]any{
				"version": "0", "detail-type": "EC2 Instance-terminate Lifecycle Action", "source": "aws.autoscaling",
				"account": "123456789012", "time": "2026-11-24T04:00:00Z", "region": "us-east-1",
				"resources": []any{"arn:asg"}, "detail": map[string]any{"EC2InstanceId": "i-1"},
			},
		},
		{
			name: "an event without resources or detail gets an empty array and an empty object",
			in:   awswire.Event{Source: "aws.ecs", DetailType: "ECS Task State Change"},
			want: map[string]any{
				"version": "0", "detail-type": "ECS Task State Change", "source": "aws.ecs",
				"account": "123456789012", "time": "2026-11-24T04:00:00Z", "region": "us-east-1",
				"resources": []any{}, "detail": map[string]any{},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := Envelope(c.in, "123456789012", "us-east-1", at)
			if err != nil {
				t.Fatalf("Envelope(%+v): %v", c.in, err)
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if id, _ := got["id"].(string); !uuid.MatchString(id) {
				t.Errorf("id = %q, want a UUID v4", got["id"])
			}
			delete(got, "id")
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("Envelope(%+v) (-want +got):\n%s", c.in, diff)
			}
		})
	}
}

// Two envelopes are two events: consumers deduplicate on the id, so it must
// be fresh each time.
func TestEnvelopeIDsAreFresh(t *testing.T) {
	e := awswire.Event{Source: "aws.ecs", DetailType: "ECS Task State Change"}
	ids := map[string]bool{}
	for range 100 {
		b, err := Envelope(e, "123456789012", "us-east-1", time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		var env struct{ ID string }
		if err := json.Unmarshal(b, &env); err != nil {
			t.Fatal(err)
		}
		if ids[env.ID] {
			t.Fatalf("id %s given twice", env.ID)
		}
		ids[env.ID] = true
	}
}

// A detail that is not an object cannot be put on a bus; Envelope must say so
// rather than deliver something no consumer can decode.
func TestEnvelopeRejectsDetailThatIsNotAnObject(t *testing.T) {
	cases := []struct {
		name   string
		detail any
		wantIn string
	}{
		{"a string", "stopped", "want a JSON object"},
		{"an array", []int{1}, "want a JSON object"},
		{"a value JSON cannot encode", make(chan int), "marshalling the detail"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Envelope(awswire.Event{DetailType: "X", Detail: c.detail}, "1", "r", time.Unix(0, 0))
			if err == nil || !strings.Contains(err.Error(), c.wantIn) {
				t.Errorf("Envelope(detail %T) error = %v, want one containing %q", c.detail, err, c.wantIn)
			}
		})
	}
}
