package eventbridge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

// TargetPrefix is the X-Amz-Target prefix of the EventBridge API
// (awsJson1_1, targetPrefix AWSEvents in the botocore events model).
const TargetPrefix = "AWSEvents."

// PutEvents limits
// (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html,
// the botocore model's PutEventsRequestEntryList: min 1, max 10).
const (
	minEntries = 1
	maxEntries = 10
	// maxEntriesSize bounds the summed entry sizes of one request, as
	// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
	// computes them. AWS raised it from 256 KB to 1 MB on 29 January 2026
	// (https://aws.amazon.com/blogs/compute/more-room-to-build-serverless-services-now-support-payloads-up-to-1-mb/);
	// the SDK models still say 256KB. UNVERIFIED: that 1 MB is 1,048,576
	// bytes and a request of exactly that size is accepted (a published
	// measurement against AWS, not the documentation, which says "less
	// than").
	maxEntriesSize = 1 << 20
	// timeSize is what a Time counts in the entry size, whatever its value.
	timeSize = 14
)

// busName is the model's pattern for EventBusName
// (NonPartnerEventBusNameOrArn, length 1 to 1600), a name or a bus ARN.
var busName = regexp.MustCompile(`^(?:(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus/)?[.\-_A-Za-z0-9]+)$`)

const busNamePattern = `(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[\.\-_A-Za-z0-9]+`

// putEventsInput is the PutEvents request; its EndpointId (global
// endpoints) is ignored.
type putEventsInput struct {
	Entries *[]putEventsEntry
}

// putEventsEntry is a PutEventsRequestEntry as awsJson sends it: Time is a
// timestamp in epoch seconds.
type putEventsEntry struct {
	Time         *float64
	Source       *string
	Resources    []string
	DetailType   *string
	Detail       *string
	EventBusName *string
	TraceHeader  *string
}

type putEventsResultEntry struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

type putEventsOutput struct {
	FailedEntryCount int
	Entries          []putEventsResultEntry
}

// ServeHTTP answers the EventBridge API on the wire (awsJson1_1,
// X-Amz-Target AWSEvents.<Operation>), so that the real SDK client and the
// AWS CLI can put events on the bus. It answers PutEvents only; the rules
// and targets are put by the composer (PutRule, AddTarget), and every
// other operation is an UnknownOperationException.
func (b *Bus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if target != TargetPrefix+"PutEvents" {
		writeError(w, awswire.ClientError("UnknownOperationException", "the local EventBridge does not answer X-Amz-Target %s", target))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, awswire.ClientError("SerializationException", "reading the request: %v", err))
		return
	}
	var in putEventsInput
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&in); err != nil {
		writeError(w, awswire.ClientError("SerializationException", "%v", err))
		return
	}
	out, e := b.putEvents(in)
	if e != nil {
		writeError(w, e)
		return
	}
	awswire.WriteJSON(w, "1.1", out)
}

func writeError(w http.ResponseWriter, e *awswire.Error) {
	awswire.WriteJSONError(w, "1.1", e, "")
}

// putEvents is PutEvents
// (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html):
// the request-wide checks fail the whole call with a ValidationException;
// then each entry is either accepted, with a fresh EventId, and routed as
// the services' own events are (the same envelope, rules, deliveries,
// duplicates), or refused with an ErrorCode and ErrorMessage that
// FailedEntryCount counts, the others going on
// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevents.html).
// Entries answers the request's entries in their order.
func (b *Bus) putEvents(in putEventsInput) (*putEventsOutput, *awswire.Error) {
	// The ValidationException messages are those of AWS's request
	// validation, as the moto and LocalStack emulators reproduce them.
	// UNVERIFIED: the rendering of the entries in the too-many message.
	if in.Entries == nil {
		return nil, validation("Value null at 'entries' failed to satisfy constraint: Member must not be null")
	}
	entries := *in.Entries
	switch {
	case len(entries) < minEntries:
		return nil, validation("Value '[]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to %d", minEntries)
	case len(entries) > maxEntries:
		return nil, validation("Value '%s' at 'entries' failed to satisfy constraint: Member must have length less than or equal to %d", renderEntries(entries), maxEntries)
	}
	size := 0
	for i, e := range entries {
		if e.EventBusName != nil && (len(*e.EventBusName) > 1600 || !busName.MatchString(*e.EventBusName)) {
			// UNVERIFIED: AWS's answer to a bus name outside the model's
			// pattern; this is its request validation's shape.
			return nil, validation("Value '%s' at 'entries.%d.member.eventBusName' failed to satisfy constraint: Member must satisfy regular expression pattern: %s",
				*e.EventBusName, i+1, busNamePattern)
		}
		size += e.size()
	}
	if size > maxEntriesSize {
		// The message AWS answers, as published measurements show it.
		return nil, awswire.ClientError("ValidationException", "Total size of the entries in the request is over the limit.")
	}
	now := b.clock.Now()
	out := &putEventsOutput{Entries: make([]putEventsResultEntry, len(entries))}
	for i, e := range entries {
		res := b.putEntry(e, now)
		if res.ErrorCode != "" {
			out.FailedEntryCount++
		}
		out.Entries[i] = res
	}
	return out, nil
}

func validation(format string, args ...any) *awswire.Error {
	return awswire.ClientError("ValidationException", "1 validation error detected: "+format, args...)
}

// size is the entry's size as
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
// computes it: 14 bytes for a Time, the UTF-8 bytes of Source, DetailType,
// Detail and each resource.
func (e putEventsEntry) size() int {
	n := len(deref(e.Source)) + len(deref(e.DetailType)) + len(deref(e.Detail))
	if e.Time != nil {
		n += timeSize
	}
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

// putEntry checks one entry and, if it is valid, puts it on the bus.
//
// The error codes are those the API reference lists
// (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html).
// The messages are AWS's as answers published from AWS show them
// (InvalidArgument's, reproduced alike by moto and LocalStack;
// NotAuthorizedForSourceException's "Not authorized for the source.").
// UNVERIFIED: MalformedDetail's message ("Detail is malformed.") and the
// order of the checks when an entry has several faults.
//
// Not modelled: "If you submit a request in which none of the entries have
// each of these properties, EventBridge fails the entire request" (the
// PutEventsRequestEntry reference): each such entry fails on its own, as
// the emulators above answer; what AWS answers the whole request is
// UNVERIFIED. Nor are DetailType's 128 characters, the 1000 levels of
// nesting, EndpointId (global endpoints) and TraceHeader enforced.
func (b *Bus) putEntry(e putEventsEntry, now time.Time) putEventsResultEntry {
	for _, p := range []struct {
		name  string
		value *string
	}{{"Source", e.Source}, {"DetailType", e.DetailType}, {"Detail", e.Detail}} {
		if deref(p.value) == "" {
			return failed("InvalidArgument", "Parameter %s is not valid. Reason: %s is a required argument.", p.name, p.name)
		}
	}
	// The aws. prefix is reserved for the events of AWS services: a custom
	// event claiming one is refused.
	if strings.HasPrefix(*e.Source, "aws.") {
		return failed("NotAuthorizedForSourceException", "Not authorized for the source.")
	}
	detail := []byte(*e.Detail)
	if !json.Valid(detail) || bytes.TrimLeft(detail, " \t\r\n")[0] != '{' {
		return failed("MalformedDetail", "Detail is malformed.")
	}
	at := now
	if e.Time != nil {
		sec, frac := math.Modf(*e.Time)
		at = time.Unix(int64(sec), int64(frac*1e9))
	}
	id := awswire.NewRequestID()
	body, err := envelopeWithID(id, awswire.Event{
		Source: *e.Source, DetailType: *e.DetailType, Resources: e.Resources, Detail: json.RawMessage(detail),
	}, b.account, b.region, at)
	if err != nil { // a JSON object was checked above
		return failed("InternalFailure", "%v", err)
	}
	if b.isDefaultBus(deref(e.EventBusName)) {
		b.put(body)
	}
	// An event for any other bus is accepted, with an id, and goes
	// nowhere: the local AWS has only the default bus, and AWS accepts
	// events for a bus that does not exist without an error
	// (https://github.com/aws/aws-cli/issues/9186,
	// https://github.com/aws/aws-sdk/issues/186).
	return putEventsResultEntry{EventID: id}
}

// isDefaultBus says whether an entry's EventBusName names this account's
// default bus: absent, "default", or its ARN. If you omit it, "the default
// event bus is used" (the PutEventsRequestEntry reference,
// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsRequestEntry.html).
func (b *Bus) isDefaultBus(name string) bool {
	return name == "" || name == "default" ||
		name == fmt.Sprintf("arn:aws:events:%s:%s:event-bus/default", b.region, b.account)
}

func failed(code, format string, args ...any) putEventsResultEntry {
	return putEventsResultEntry{ErrorCode: code, ErrorMessage: fmt.Sprintf(format, args...)}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// renderEntries renders entries as AWS's validation message quotes them,
// the Java toString of each PutEventsRequestEntry.
func renderEntries(entries []putEventsEntry) string {
	field := func(s *string) string {
		if s == nil {
			return "null"
		}
		return *s
	}
	parts := make([]string, len(entries))
	for i, e := range entries {
		t, resources := "null", "null"
		if e.Time != nil {
			t = time.Unix(int64(*e.Time), 0).UTC().Format(time.RFC3339)
		}
		if e.Resources != nil {
			resources = "[" + strings.Join(e.Resources, ", ") + "]"
		}
		parts[i] = fmt.Sprintf("PutEventsRequestEntry(time=%s, source=%s, resources=%s, detailType=%s, detail=%s, eventBusName=%s, traceHeader=%s)",
			t, field(e.Source), resources, field(e.DetailType), field(e.Detail), field(e.EventBusName), field(e.TraceHeader))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
