package localaws

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkeventbridge "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	sdksqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/clock"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/eventbridge"
)

// eventsWorld is a local AWS with a bus attached, as localdeploy composes
// them, and an SDK EventBridge client on its endpoint.
type eventsWorld struct {
	aws    *AWS
	bus    *eventbridge.Bus
	events *sdkeventbridge.Client
	sqs    *sdksqs.Client
}

var eventsNow = time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)

func newEventsWorld(t *testing.T) *eventsWorld {
	t.Helper()
	c := clock.NewFake(eventsNow)
	bus := eventbridge.NewBus(c, AccountID, Region)
	t.Cleanup(bus.Close)
	a, err := Start(Options{Clock: c, Emit: bus.Emit, Events: bus})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	cfg, err := a.Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	return &eventsWorld{aws: a, bus: bus, events: sdkeventbridge.NewFromConfig(cfg), sqs: sdksqs.NewFromConfig(cfg)}
}

// drainRule routes the drainer's own events to a fresh queue, and returns
// its URL.
func (w *eventsWorld) drainRule(t *testing.T) string {
	t.Helper()
	url, err := w.aws.SQS.CreateQueue("drain-events", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.bus.PutRule("drain-state", []byte(`{"source":["ecs-drainer"],"detail-type":["ECS Drain State Change"]}`)); err != nil {
		t.Fatal(err)
	}
	if err := w.bus.AddTarget("drain-state", eventbridge.SQSTarget(w.aws.SQS.Send, url)); err != nil {
		t.Fatal(err)
	}
	return url
}

// received waits for n messages on the queue and returns their bodies.
func (w *eventsWorld) received(t *testing.T, url string, n int) []string {
	t.Helper()
	var bodies []string
	for deadline := time.Now().Add(5 * time.Second); len(bodies) < n && time.Now().Before(deadline); {
		out, err := w.sqs.ReceiveMessage(context.Background(), &sdksqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(bodies) != n {
		t.Fatalf("queue got %d messages, want %d: %q", len(bodies), n, bodies)
	}
	return bodies
}

func drainEntry(detail string) ebtypes.PutEventsRequestEntry {
	return ebtypes.PutEventsRequestEntry{
		Source: aws.String("ecs-drainer"), DetailType: aws.String("ECS Drain State Change"), Detail: aws.String(detail),
	}
}

var uuid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func apiCode(err error) (code, message string) {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return "", ""
	}
	return ae.ErrorCode(), ae.ErrorMessage()
}

// "After you call PutEvents, EventBridge assigns each event a unique ID",
// and the response's Entries answer the request's in order
// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevents.html).
func TestPutEventsAnswersEachEntryWithAnEventID(t *testing.T) {
	w := newEventsWorld(t)
	out, err := w.events.PutEvents(context.Background(), &sdkeventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		drainEntry(`{"n":1}`), drainEntry(`{"n":2}`), drainEntry(`{"n":3}`),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if out.FailedEntryCount != 0 || len(out.Entries) != 3 {
		t.Fatalf("got FailedEntryCount %d and %d entries, want 0 and 3", out.FailedEntryCount, len(out.Entries))
	}
	seen := map[string]bool{}
	for i, e := range out.Entries {
		id := aws.ToString(e.EventId)
		if !uuid.MatchString(id) || seen[id] || e.ErrorCode != nil {
			t.Errorf("entry %d: EventId %q, ErrorCode %v, want a fresh uuid and no error", i, id, aws.ToString(e.ErrorCode))
		}
		seen[id] = true
	}
	if got := w.bus.Stats().Put; got != 3 {
		t.Fatalf("Stats().Put = %d, want 3", got)
	}
}

// An accepted entry is wrapped in the envelope (its EventId as id, Time as
// time, Resources, Detail as an object) and routed to the targets of the
// rules it matches, as the services' events are
// (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsRequestEntry.html,
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html).
func TestPutEventsRoutesTheDrainersEventsToTheirRule(t *testing.T) {
	w := newEventsWorld(t)
	url := w.drainRule(t)
	at := time.Date(2026, 11, 24, 4, 59, 30, 0, time.UTC)
	withTime := drainEntry(` {"instance":"i-1","state":"DRAINING"}`)
	withTime.Time, withTime.Resources = &at, []string{"arn:aws:ec2:us-east-1:123456789012:instance/i-1"}
	other := drainEntry(`{}`)
	other.DetailType = aws.String("Something Else")
	out, err := w.events.PutEvents(context.Background(), &sdkeventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		withTime, other, drainEntry(`{"instance":"i-2"}`),
	}})
	if err != nil {
		t.Fatal(err)
	}
	bodies := w.received(t, url, 2)
	got := map[string]map[string]any{}
	for _, b := range bodies {
		var env map[string]any
		if err := json.Unmarshal([]byte(b), &env); err != nil {
			t.Fatal(err)
		}
		got[env["id"].(string)] = env
	}
	want := map[string]map[string]any{
		aws.ToString(out.Entries[0].EventId): {
			"version": "0", "id": aws.ToString(out.Entries[0].EventId), "detail-type": "ECS Drain State Change", "source": "ecs-drainer",
			"account": AccountID, "time": "2026-11-24T04:59:30Z", "region": Region,
			"resources": []any{"arn:aws:ec2:us-east-1:123456789012:instance/i-1"},
			"detail":    map[string]any{"instance": "i-1", "state": "DRAINING"},
		},
		aws.ToString(out.Entries[2].EventId): {
			"version": "0", "id": aws.ToString(out.Entries[2].EventId), "detail-type": "ECS Drain State Change", "source": "ecs-drainer",
			"account": AccountID, "time": "2026-11-24T05:00:00Z", "region": Region, // no Time: the call's
			"resources": []any{}, "detail": map[string]any{"instance": "i-2"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("envelopes delivered (-want +got):\n%s", diff)
	}
	if s := w.bus.Stats(); s.Put != 3 || s.Matched["drain-state"] != 2 {
		t.Fatalf("Stats() = %+v, want 3 put and 2 matched", s)
	}
}

// Entries holds 1 to 10 entries
// (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html,
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html);
// outside that the whole request fails.
func TestPutEventsTakesOneToTenEntries(t *testing.T) {
	w := newEventsWorld(t)
	for _, tt := range []struct {
		n           int
		wantMessage string
	}{
		{0, "1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{10, ""},
		{11, "' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10"},
	} {
		entries := make([]ebtypes.PutEventsRequestEntry, tt.n)
		for i := range entries {
			entries[i] = drainEntry(`{}`)
		}
		out, err := w.events.PutEvents(context.Background(), &sdkeventbridge.PutEventsInput{Entries: entries})
		code, message := apiCode(err)
		switch {
		case tt.wantMessage == "" && (err != nil || len(out.Entries) != tt.n):
			t.Errorf("%d entries: got %v, want %d ids", tt.n, err, tt.n)
		case tt.wantMessage != "" && (code != "ValidationException" || !strings.Contains(message, tt.wantMessage) ||
			!strings.HasPrefix(message, "1 validation error detected: Value '")):
			t.Errorf("%d entries: got %v, want ValidationException %q", tt.n, err, tt.wantMessage)
		}
	}
	if got := w.bus.Stats().Put; got != 10 {
		t.Fatalf("Stats().Put = %d, want only the 10 of the valid request", got)
	}
}

// The entries of one request may total 1 MB, each sized as
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
// computes it (14 bytes for a Time, the UTF-8 bytes of Source, DetailType,
// Detail and the resources), since AWS raised the limit from 256 KB
// (https://aws.amazon.com/blogs/compute/more-room-to-build-serverless-services-now-support-payloads-up-to-1-mb/).
func TestPutEventsLimitsTheTotalEntrySize(t *testing.T) {
	w := newEventsWorld(t)
	at := eventsNow
	// An entry of size n: Time 14, "big" 3, "Big" 3, a resource "r" 1,
	// and a detail of the rest, counted in bytes (é is two).
	entry := func(n int) ebtypes.PutEventsRequestEntry {
		rest := n - 14 - 3 - 3 - 1 - len(`{"x":""}`)
		detail := `{"x":"` + strings.Repeat("é", rest/2) + strings.Repeat("a", rest%2) + `"}`
		return ebtypes.PutEventsRequestEntry{Time: &at, Source: aws.String("big"), DetailType: aws.String("Big"), Detail: &detail, Resources: []string{"r"}}
	}
	const limit = 1 << 20
	for _, tt := range []struct {
		name    string
		entries []ebtypes.PutEventsRequestEntry
		ok      bool
	}{
		{"one entry of exactly 1 MB", []ebtypes.PutEventsRequestEntry{entry(limit)}, true},
		{"four entries summing to 1 MB", []ebtypes.PutEventsRequestEntry{entry(limit / 4), entry(limit / 4), entry(limit / 4), entry(limit / 4)}, true},
		{"one byte over", []ebtypes.PutEventsRequestEntry{entry(limit/2 + 1), entry(limit / 2)}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := w.events.PutEvents(context.Background(), &sdkeventbridge.PutEventsInput{Entries: tt.entries})
			if tt.ok {
				if err != nil || out.FailedEntryCount != 0 {
					t.Fatalf("got %v, want every entry accepted", err)
				}
				return
			}
			if code, message := apiCode(err); code != "ValidationException" || message != "Total size of the entries in the request is over the limit." {
				t.Fatalf("got %v, want ValidationException: Total size of the entries in the request is over the limit.", err)
			}
		})
	}
}

// A bad entry fails alone: its result has an ErrorCode and ErrorMessage
// instead of an EventId, FailedEntryCount counts it, and the other entries
// are put (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevents.html,
// codes as https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html
// lists them: InvalidArgument, MalformedDetail, and
// NotAuthorizedForSourceException for a source in the aws. namespace of
// AWS's own events).
func TestPutEventsFailsBadEntriesAlone(t *testing.T) {
	w := newEventsWorld(t)
	url := w.drainRule(t)
	noSource, noType, noDetail := drainEntry(`{}`), drainEntry(`{}`), drainEntry(`{}`)
	noSource.Source, noType.DetailType, noDetail.Detail = nil, aws.String(""), nil
	awsSource := drainEntry(`{}`)
	awsSource.Source = aws.String("aws.autoscaling")
	out, err := w.events.PutEvents(context.Background(), &sdkeventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		noSource, drainEntry(`{"good":1}`), noType, noDetail, drainEntry(`[1]`), drainEntry(`{"unclosed":`), awsSource, drainEntry(`{"good":2}`),
	}})
	if err != nil {
		t.Fatal(err)
	}
	type result struct{ ID, Code, Message string }
	var got []result
	for _, e := range out.Entries {
		r := result{Code: aws.ToString(e.ErrorCode), Message: aws.ToString(e.ErrorMessage)}
		if e.EventId != nil {
			r.ID = "uuid"
			if !uuid.MatchString(*e.EventId) {
				r.ID = *e.EventId
			}
		}
		got = append(got, r)
	}
	want := []result{
		{Code: "InvalidArgument", Message: "Parameter Source is not valid. Reason: Source is a required argument."},
		{ID: "uuid"},
		{Code: "InvalidArgument", Message: "Parameter DetailType is not valid. Reason: DetailType is a required argument."},
		{Code: "InvalidArgument", Message: "Parameter Detail is not valid. Reason: Detail is a required argument."},
		{Code: "MalformedDetail", Message: "Detail is malformed."},
		{Code: "MalformedDetail", Message: "Detail is malformed."},
		{Code: "NotAuthorizedForSourceException", Message: "Not authorized for the source."},
		{ID: "uuid"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("entries (-want +got):\n%s", diff)
	}
	if out.FailedEntryCount != 6 {
		t.Fatalf("FailedEntryCount = %d, want 6", out.FailedEntryCount)
	}
	w.received(t, url, 2)
}

// EventBusName, when given, is "the name or ARN of the event bus to receive
// the event"; without it the default bus is used
// (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsRequestEntry.html).
// The local AWS has only the default bus. AWS accepts an event for a bus
// that does not exist, with an EventId, and delivers it nowhere
// (https://github.com/aws/aws-cli/issues/9186); a name outside the model's
// pattern fails the request.
func TestPutEventsHonoursTheBusName(t *testing.T) {
	w := newEventsWorld(t)
	url := w.drainRule(t)
	on := func(bus string) ebtypes.PutEventsRequestEntry {
		e := drainEntry(`{"bus":"` + bus + `"}`)
		e.EventBusName = &bus
		return e
	}
	out, err := w.events.PutEvents(context.Background(), &sdkeventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		on("default"), on("arn:aws:events:us-east-1:123456789012:event-bus/default"), on("no-such-bus"),
		on("arn:aws:events:us-east-1:123456789012:event-bus/no-such-bus"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if out.FailedEntryCount != 0 {
		t.Fatalf("FailedEntryCount = %d, want 0: an unknown bus is not an entry error", out.FailedEntryCount)
	}
	for i, e := range out.Entries {
		if !uuid.MatchString(aws.ToString(e.EventId)) {
			t.Errorf("entry %d: EventId %q, want a uuid", i, aws.ToString(e.EventId))
		}
	}
	var buses []string
	for _, b := range w.received(t, url, 2) {
		var env struct{ Detail struct{ Bus string } }
		_ = json.Unmarshal([]byte(b), &env)
		buses = append(buses, env.Detail.Bus)
	}
	if !strings.Contains(strings.Join(buses, " "), "default") || strings.Contains(strings.Join(buses, " "), "no-such-bus") {
		t.Fatalf("delivered the events for %q, want the default bus's only", buses)
	}
	if got := w.bus.Stats().Put; got != 2 {
		t.Fatalf("Stats().Put = %d, want 2: the other bus's events are not on this one", got)
	}

	_, err = w.events.PutEvents(context.Background(), &sdkeventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		drainEntry(`{}`), on("not a bus name"),
	}})
	if code, message := apiCode(err); code != "ValidationException" ||
		!strings.HasPrefix(message, "1 validation error detected: Value 'not a bus name' at 'entries.2.member.eventBusName' failed to satisfy constraint") {
		t.Fatalf("a bus name outside the pattern: got %v, want a ValidationException naming entries.2.member.eventBusName", err)
	}
}

// Without a bus attached, the endpoint says so in the protocol's terms
// rather than answering for a bus that does not exist.
func TestPutEventsWithoutABusIsAnUnknownOperation(t *testing.T) {
	a, err := Start(Options{Clock: clock.NewFake(eventsNow)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	cfg, err := a.Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, err = sdkeventbridge.NewFromConfig(cfg).PutEvents(context.Background(), &sdkeventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{drainEntry(`{}`)}})
	if code, message := apiCode(err); code != "UnknownOperationException" || !strings.Contains(message, "Options.Events") {
		t.Fatalf("got %v, want UnknownOperationException naming Options.Events", err)
	}
}
