// Package announce puts the drainer's "ECS Drain State Change" events on the
// account's default event bus, where teams route them with rules of their
// own (to SNS, chat, a ticket). Announcing is best effort: an event that
// cannot be put is reported to the caller, which logs it; a drain never
// waits or fails for one.
package announce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
)

// EventsAPI is the EventBridge call the announcer makes.
type EventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Announcer puts drain state change events.
type Announcer struct {
	api EventsAPI
	now func() time.Time
}

// New returns an Announcer putting events through api, timed by now.
func New(api EventsAPI, now func() time.Time) *Announcer {
	return &Announcer{api: api, now: now}
}

// perCall is PutEvents' limit of entries per request
// (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html).
const perCall = 10

// Announce puts one event per detail, ten to a call. It returns how many
// were not put, with the errors (a failed call, or the entries EventBridge
// refused).
func (a *Announcer) Announce(ctx context.Context, details []contract.DrainStateDetail) (failed int, err error) {
	var errs []error
	at := a.now()
	for batch := range slices.Chunk(details, perCall) {
		entries := make([]ebtypes.PutEventsRequestEntry, 0, len(batch))
		for _, d := range batch {
			body, err := json.Marshal(d)
			if err != nil {
				return len(details), fmt.Errorf("encoding a drain event of %s: %w", d.InstanceID, err)
			}
			entries = append(entries, ebtypes.PutEventsRequestEntry{
				Source: aws.String(contract.SourceDrainer), DetailType: aws.String(contract.DetailTypeDrainState),
				Detail: aws.String(string(body)), Time: aws.Time(at),
			})
		}
		out, err := a.api.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			failed += len(batch)
			errs = append(errs, fmt.Errorf("putting %d drain events: %w", len(batch), err))
			continue
		}
		for i, e := range out.Entries {
			if e.ErrorCode != nil && i < len(batch) {
				failed++
				errs = append(errs, fmt.Errorf("drain event of %s refused: %s: %s", batch[i].InstanceID, aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage)))
			}
		}
	}
	return failed, errors.Join(errs...)
}
