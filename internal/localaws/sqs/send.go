package sqs

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

// attributeInput is a message attribute on the wire. The list members are
// "reserved for future use" in the API and rejected here.
type attributeInput struct {
	MessageAttribute
	StringListValues []string
	BinaryListValues [][]byte
}

type sendInput struct {
	MessageBody *string
	// DelaySeconds is a pointer because absent means "the queue's delay";
	// the Go SDK omits a zero (its DelaySeconds is an int32, not a pointer).
	DelaySeconds            *int
	MessageAttributes       map[string]attributeInput
	MessageSystemAttributes map[string]attributeInput
	MessageDeduplicationId  string
}

type sendResult struct {
	MessageId                    string
	MD5OfMessageBody             string
	MD5OfMessageAttributes       string `json:",omitempty"`
	MD5OfMessageSystemAttributes string `json:",omitempty"`
}

func (s *Server) sendMessageOp(r request) (any, error) {
	var in struct {
		QueueUrl string
		sendInput
	}
	if err := decode(r.body, &in); err != nil {
		return nil, err
	}
	now := s.lockSettled()
	defer s.mu.Unlock()
	q, err := s.queueLocked(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	msg, err := validateSend(q, in.sendInput, r.trace, now)
	if err != nil {
		return nil, err
	}
	return s.enqueueLocked(q, msg, in.sendInput), nil
}

type batchFailure struct {
	Id          string
	SenderFault bool
	Code        string
	Message     string
}

// failure renders an entry's validation error; batch entries carry the
// query code ("InvalidParameterValue"), as AWS reports them (aws/aws-sdk-js#3187).
func failure(id string, err error) batchFailure {
	var e *awswire.Error
	errors.As(err, &e) // every validation error is an *awswire.Error
	return batchFailure{Id: id, SenderFault: e.Sender, Code: cmp.Or(e.QueryCode, e.Code), Message: e.Message}
}

func (s *Server) sendMessageBatchOp(r request) (any, error) {
	type entry struct {
		Id string
		sendInput
	}
	var in struct {
		QueueUrl string
		Entries  []entry
	}
	if err := decode(r.body, &in); err != nil {
		return nil, err
	}
	now := s.lockSettled()
	defer s.mu.Unlock()
	q, err := s.queueLocked(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i] = e.Id
	}
	if err := validateBatch(ids, "SendMessageBatchRequestEntry"); err != nil {
		return nil, err
	}
	// Validate every entry before storing any, so an oversized batch stores
	// nothing.
	type valid struct {
		entry
		msg *message
	}
	var ok []valid
	var out struct {
		Successful []any
		Failed     []batchFailure
	}
	total := 0
	for _, e := range in.Entries {
		msg, err := validateSend(q, e.sendInput, r.trace, now)
		if err != nil {
			out.Failed = append(out.Failed, failure(e.Id, err))
			continue
		}
		total += messageSize(msg)
		ok = append(ok, valid{e, msg})
	}
	if total > maxMessageBytes {
		return nil, sqsError(http.StatusBadRequest, "BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong",
			fmt.Sprintf("Batch requests cannot be longer than %d bytes. You have sent %d bytes.", maxMessageBytes, total))
	}
	out.Successful = []any{}
	for _, v := range ok {
		res := s.enqueueLocked(q, v.msg, v.sendInput)
		out.Successful = append(out.Successful, struct {
			Id string
			sendResult
		}{v.Id, res})
	}
	if out.Failed == nil {
		out.Failed = []batchFailure{}
	}
	return out, nil
}

var batchIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// validateBatch applies the batch rules shared by the batch operations.
func validateBatch(ids []string, entryType string) error {
	switch {
	case len(ids) == 0:
		return sqsError(http.StatusBadRequest, "EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest",
			"There should be at least one "+entryType+" in the request.")
	case len(ids) > maxBatchEntries:
		return sqsError(http.StatusBadRequest, "TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
			fmt.Sprintf("Maximum number of entries per request are %d. You have sent %d.", maxBatchEntries, len(ids)))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if !batchIDPattern.MatchString(id) {
			return sqsError(http.StatusBadRequest, "InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId",
				"A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
		}
		if seen[id] {
			return sqsError(http.StatusBadRequest, "BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
				"Id "+id+" repeated.")
		}
		seen[id] = true
	}
	return nil
}

// validateSend checks one message sent at now against the queue and returns
// it ready to store.
func validateSend(q *queue, in sendInput, trace string, now time.Time) (*message, error) {
	if in.MessageBody == nil || *in.MessageBody == "" {
		return nil, missingParameter("MessageBody")
	}
	body := *in.MessageBody
	delay := q.config.DelaySeconds
	if in.DelaySeconds != nil {
		delay = *in.DelaySeconds
	}
	if delay < 0 || delay > 900 {
		return nil, invalidParameter(fmt.Sprintf("Value %d for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.", delay))
	}
	if in.MessageDeduplicationId != "" {
		return nil, invalidParameter("Value " + in.MessageDeduplicationId + " for parameter MessageDeduplicationId is invalid. Reason: The request include parameter that is not valid for this queue type.")
	}
	if r, ok := invalidRune(body); ok {
		return nil, sqsError(http.StatusBadRequest, "InvalidMessageContents", "InvalidMessageContents",
			fmt.Sprintf("Invalid binary character '#x%X' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF", r))
	}
	attrs, err := validateAttributes(in.MessageAttributes)
	if err != nil {
		return nil, err
	}
	// A trace header given as a system attribute overrides the HTTP header
	// (X-Ray developer guide, "Amazon SQS and AWS X-Ray").
	for name, a := range in.MessageSystemAttributes {
		if name != "AWSTraceHeader" || a.DataType != "String" || a.StringValue == "" {
			return nil, invalidParameter("Message system attribute " + name + " is invalid: only AWSTraceHeader of type String is supported.")
		}
		trace = a.StringValue
	}
	m := &message{id: awswire.NewRequestID(), body: body, md5OfBody: md5Hex(body), attributes: attrs,
		traceHeader: trace, sent: now, visibleAt: now.Add(time.Duration(delay) * time.Second)}
	if size := messageSize(m); size > q.config.MaximumMessageSize {
		return nil, invalidParameter(fmt.Sprintf("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", q.config.MaximumMessageSize))
	}
	return m, nil
}

// enqueueLocked stores a validated message and wakes long polls.
func (s *Server) enqueueLocked(q *queue, m *message, in sendInput) sendResult {
	q.messages = append(q.messages, m)
	s.notifyLocked()
	system := map[string]MessageAttribute{}
	for name, a := range in.MessageSystemAttributes {
		system[name] = a.MessageAttribute
	}
	return sendResult{
		MessageId:                    m.id,
		MD5OfMessageBody:             m.md5OfBody,
		MD5OfMessageAttributes:       md5OfAttributes(m.attributes),
		MD5OfMessageSystemAttributes: md5OfAttributes(system),
	}
}

// messageSize counts the body and every attribute's name, type and value
// towards MaximumMessageSize, as AWS does; the trace header is excluded.
func messageSize(m *message) int {
	n := len(m.body)
	for name, a := range m.attributes {
		n += len(name) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue)
	}
	return n
}

// invalidRune finds the first character outside the set SQS accepts.
func invalidRune(s string) (rune, bool) {
	for _, r := range s {
		switch {
		case r == 0x9, r == 0xA, r == 0xD,
			r >= 0x20 && r <= 0xD7FF,
			r >= 0xE000 && r <= 0xFFFD,
			r >= 0x10000 && r <= 0x10FFFF:
		default:
			return r, true
		}
	}
	return 0, false
}

var attributeNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,256}$`)

func validateAttributes(in map[string]attributeInput) (map[string]MessageAttribute, error) {
	if len(in) > 10 {
		return nil, invalidParameter(fmt.Sprintf("Number of message attributes [%d] exceeds the allowed maximum [10].", len(in)))
	}
	out := make(map[string]MessageAttribute, len(in))
	for name, a := range in {
		lower := strings.ToLower(name)
		if !attributeNamePattern.MatchString(name) || strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon.") ||
			strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
			return nil, invalidParameter("Message (user) attribute name '" + name + "' is invalid.")
		}
		if len(a.StringListValues) > 0 || len(a.BinaryListValues) > 0 {
			return nil, invalidParameter("Message (user) attribute '" + name + "' uses list values, which SQS reserves for future use.")
		}
		base, _, _ := strings.Cut(a.DataType, ".")
		if base != "String" && base != "Number" && base != "Binary" {
			return nil, invalidParameter("The type of message (user) attribute '" + name + "' is invalid. You must use only the following supported type prefixes: Binary, Number, String.")
		}
		if (isBinary(a.DataType) && len(a.BinaryValue) == 0) || (!isBinary(a.DataType) && a.StringValue == "") {
			return nil, invalidParameter("The message attribute '" + name + "' must contain non-empty message attribute value for message attribute type '" + base + "'.")
		}
		out[name] = a.MessageAttribute
	}
	return out, nil
}
