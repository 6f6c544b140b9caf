package drain

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

// The operator's status must call lost exactly what the sweep restarts,
// otherwise it flags drains the reconciler leaves alone, or hides the ones
// it restarts: both read Inspect and Waiting.Live.
func TestInspectTellsLiveFromLostAsTheSweepDoes(t *testing.T) {
	live := Chain{Start: t0, Due: t0.Add(30 * time.Second), MessageID: "c1", By: "c0", Token: "tok", Hook: "hook"}.String()
	overdue := Chain{Start: t0, Due: t0.Add(-10 * time.Minute), MessageID: "c1", By: "c0", Token: "tok", Hook: "hook"}.String()
	tests := []struct {
		name     string
		f        *fakeAWS
		wantLive bool
	}{
		{"no chain mark, not draining", &fakeAWS{lifecycleState: "Terminating:Wait", hookTimeout: 300, ciStatus: "ACTIVE"}, false},
		{"a live chain", &fakeAWS{lifecycleState: "Terminating:Wait", hookTimeout: 300, ciStatus: "DRAINING", chain: live}, true},
		{"an overdue chain", &fakeAWS{lifecycleState: "Terminating:Wait", hookTimeout: 300, ciStatus: "DRAINING", chain: overdue}, false},
		{"at the attribute limit: left to its polling chain", &fakeAWS{lifecycleState: "Terminating:Wait", hookTimeout: 300, ciStatus: "DRAINING", customAttrs: 10}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.otherHooks = []string{"log-flush"}
			d := newTestDrainer(tt.f, t0.Add(time.Minute))
			in, err := d.Inspect(context.Background(), Scope{ASGs: []string{"asg"}, Hooks: []string{"hook"}})
			if err != nil || len(in.Waiting) != 1 {
				t.Fatalf("Inspect = %d waiting, %v; want 1", len(in.Waiting), err)
			}
			w := in.Waiting[0]
			if got := w.Live(in.Now, d.policy); got != tt.wantLive {
				t.Errorf("Live = %v, want %v", got, tt.wantLive)
			}
			if diff := cmp.Diff([]string{"log-flush"}, w.OtherHooks); diff != "" {
				t.Errorf("other hooks (-want +got):\n%s", diff)
			}
			sw, err := newTestDrainer(tt.f, t0.Add(time.Minute)).Lost(context.Background(), Scope{ASGs: []string{"asg"}, Hooks: []string{"hook"}})
			if err != nil || (len(sw.Lost) == 0) != tt.wantLive {
				t.Errorf("the sweep restarts %d drains (%v), want it to agree with Live = %v", len(sw.Lost), err, tt.wantLive)
			}
		})
	}
}

func TestDeniedNamesTheIAMAction(t *testing.T) {
	denied := func(service, op, code string) error {
		return fmt.Errorf("listing tasks: %w", &smithy.OperationError{ServiceID: service, OperationName: op, Err: &smithy.GenericAPIError{Code: code}})
	}
	tests := []struct {
		name   string
		err    error
		want   string
		wantOK bool
	}{
		{"ECS", denied("ECS", "ListTasks", "AccessDeniedException"), "ecs:ListTasks", true},
		{"Auto Scaling, through the query protocol", denied("Auto Scaling", "CompleteLifecycleAction", "AccessDenied"), "autoscaling:CompleteLifecycleAction", true},
		{"SQS", denied("SQS", "SendMessage", "AccessDeniedException"), "sqs:SendMessage", true},
		{"a throttle is no refusal", denied("ECS", "ListTasks", "ThrottlingException"), "", false},
		{"no API error", errors.New("connection refused"), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Denied(tt.err)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Denied(%v) = %q, %v; want %q, %v", tt.err, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
