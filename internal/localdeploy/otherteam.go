package localdeploy

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkautoscaling "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/smithy-go"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
)

// OtherHookMetadata is the notification metadata of another team's hook:
// plain text, as in AWS's own examples ("additional-info"), not the
// drainer's JSON.
const OtherHookMetadata = "additional-info"

// OtherHook puts a terminate lifecycle hook that is not the drainer's on the
// group, as a team that ships logs or deregisters from a load balancer
// would: CONTINUE by default, with a heartbeat timeout long enough that its
// team completes it before it lapses.
func (w *World) OtherHook(group, name string, heartbeatTimeout int32) error {
	return w.AWS.AutoScaling.PutLifecycleHook(autoscaling.Hook{
		Group: group, Name: name, Transition: autoscaling.TransitionTerminating,
		HeartbeatTimeout: heartbeatTimeout, DefaultResult: autoscaling.ResultContinue,
		NotificationMetadata: OtherHookMetadata,
	})
}

// OtherTeam plays the team that owns another terminate hook: it learns of
// its hook's actions (here from the emulator, as its own event consumer
// would from their events) and completes each once Decide says so, with the
// action's token, from the harness's own SDK client. The function's calls
// go through the recorder and this team's do not, so the two can never be
// confused.
type OtherTeam struct {
	w    *World
	hook string
	// decide returns the result to complete the action with, and whether
	// the time has come. It is called from Run's goroutine only.
	decide func(a autoscaling.ActionView) (result string, due bool)

	mu        sync.Mutex
	completed map[string]string // token -> the result the team sent
}

// otherTeamTick is how often the team looks for actions to complete.
const otherTeamTick = 100 * time.Millisecond

// NewOtherTeam returns the team of hook; Run starts its work.
func (w *World) NewOtherTeam(hook string, decide func(a autoscaling.ActionView) (result string, due bool)) *OtherTeam {
	return &OtherTeam{w: w, hook: hook, decide: decide, completed: map[string]string{}}
}

// Run completes the hook's actions as they come due, until ctx is done.
func (t *OtherTeam) Run(ctx context.Context) {
	Every(ctx, otherTeamTick, func() bool {
		for _, a := range t.w.AWS.AutoScaling.Actions() {
			if a.Hook != t.hook || !a.Active || t.done(a.Token) {
				continue
			}
			if result, due := t.decide(a); due {
				t.complete(ctx, a, result)
			}
		}
		return true
	})
}

func (t *OtherTeam) done(token string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.completed[token]
	return ok
}

// complete sends CompleteLifecycleAction for a, retried through the faults.
// A ValidationError means the action is no longer pending (an ABANDON of
// another hook skipped it): nothing to complete, and not counted.
func (t *OtherTeam) complete(ctx context.Context, a autoscaling.ActionView, result string) {
	var gone bool
	err := Retry(ctx, func() error {
		_, err := t.w.ASG.CompleteLifecycleAction(ctx, &sdkautoscaling.CompleteLifecycleActionInput{
			AutoScalingGroupName: aws.String(a.Group), LifecycleHookName: aws.String(t.hook),
			LifecycleActionToken: aws.String(a.Token), LifecycleActionResult: aws.String(result)})
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode() == "ValidationError" {
			gone = true
			return nil
		}
		return err
	})
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case err != nil:
		// Left for the next tick.
	case gone:
		t.completed[a.Token] = ""
	default:
		t.completed[a.Token] = result
	}
}

// Completed returns, by action token, the result the team completed each
// action with; an action it found already gone is not listed.
func (t *OtherTeam) Completed() map[string]string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]string{}
	for token, r := range t.completed {
		if r != "" {
			out[token] = r
		}
	}
	return out
}
