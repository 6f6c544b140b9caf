package sqs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

const maxBatchEntries = 10

// allNames selects every attribute, as "All" does on the wire.
var allNames = []string{"All"}

func (s *Server) createQueueOp(r request) (any, error) {
	var in struct {
		QueueName  string
		Attributes map[string]string
	}
	if err := decode(r.body, &in); err != nil {
		return nil, err
	}
	now := s.lockSettled()
	defer s.mu.Unlock()
	url, err := s.createQueueLocked(in.QueueName, in.Attributes, now)
	if err != nil {
		return nil, err
	}
	return struct{ QueueUrl string }{url}, nil
}

func (s *Server) getQueueURLOp(r request) (any, error) {
	var in struct {
		QueueName              string
		QueueOwnerAWSAccountId string
	}
	if err := decode(r.body, &in); err != nil {
		return nil, err
	}
	s.lockSettled()
	defer s.mu.Unlock()
	if _, ok := s.queues[in.QueueName]; !ok || (in.QueueOwnerAWSAccountId != "" && in.QueueOwnerAWSAccountId != s.account) {
		return nil, queueDoesNotExist()
	}
	return struct{ QueueUrl string }{s.queueURLLocked(in.QueueName)}, nil
}

func (s *Server) getQueueAttributesOp(r request) (any, error) {
	var in struct {
		QueueUrl       string
		AttributeNames []string
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
	all := q.attributes(now)
	out := map[string]string{}
	for _, name := range in.AttributeNames {
		if name == "All" {
			out = all
			break
		}
		if !knownAttribute(name) {
			return nil, invalidAttributeName(name)
		}
		if v, ok := all[name]; ok {
			out[name] = v
		}
	}
	return struct {
		Attributes map[string]string `json:",omitempty"`
	}{out}, nil
}

func knownAttribute(name string) bool {
	_, numeric := intAttributes[name]
	return numeric || name == "RedrivePolicy" || slices.Contains(readOnlyAttributes, name)
}

func (s *Server) setQueueAttributesOp(r request) (any, error) {
	var in struct {
		QueueUrl   string
		Attributes map[string]string
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
	c := q.config
	if err := s.applyAttributesLocked(&c, in.Attributes); err != nil {
		return nil, err
	}
	q.config = c
	q.modified = now
	s.notifyLocked()
	return struct{}{}, nil
}

func (s *Server) deleteQueueOp(r request) (any, error) {
	var in struct{ QueueUrl string }
	if err := decode(r.body, &in); err != nil {
		return nil, err
	}
	now := s.lockSettled()
	defer s.mu.Unlock()
	q, err := s.queueLocked(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	delete(s.queues, q.name)
	s.deleted[q.name] = now
	s.notifyLocked()
	return struct{}{}, nil
}

func (s *Server) purgeQueueOp(r request) (any, error) {
	var in struct{ QueueUrl string }
	if err := decode(r.body, &in); err != nil {
		return nil, err
	}
	now := s.lockSettled()
	defer s.mu.Unlock()
	q, err := s.queueLocked(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if !q.purged.IsZero() && now.Before(q.purged.Add(purgeInterval)) {
		return nil, sqsError(http.StatusForbidden, "PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress",
			"Only one PurgeQueue operation on "+q.name+" is allowed every 60 seconds.")
	}
	q.purged = now
	q.messages = nil
	return struct{}{}, nil
}

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
	// the Go SDK omits a zero (§4.2).
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
// query code ("InvalidParameterValue"), as AWS's JSON answers do.
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

// receiveParams is ReceiveMessage after decoding; nil means the queue's
// setting.
type receiveParams struct {
	url            string
	max            int
	visibility     *int
	wait           *time.Duration
	systemNames    []string
	attributeNames []string
}

func (s *Server) receiveMessageOp(r request) (any, error) {
	var in struct {
		QueueUrl                    string
		MaxNumberOfMessages         *int
		VisibilityTimeout           *int
		WaitTimeSeconds             *int
		AttributeNames              []string
		MessageSystemAttributeNames []string
		MessageAttributeNames       []string
	}
	if err := decode(r.body, &in); err != nil {
		return nil, err
	}
	p := receiveParams{
		url:            in.QueueUrl,
		max:            1,
		visibility:     in.VisibilityTimeout,
		systemNames:    append(in.AttributeNames, in.MessageSystemAttributeNames...),
		attributeNames: in.MessageAttributeNames,
	}
	if in.MaxNumberOfMessages != nil {
		p.max = *in.MaxNumberOfMessages
	}
	if in.WaitTimeSeconds != nil {
		d := time.Duration(*in.WaitTimeSeconds) * time.Second
		p.wait = &d
	}
	msgs, err := s.receive(r.ctx, p)
	if err != nil {
		return nil, err
	}
	return struct {
		Messages []Message `json:",omitempty"`
	}{msgs}, nil
}

// receive is ReceiveMessage for the wire and the control plane. A long poll
// returns as soon as a message is receivable, else when the wait (wall
// clock) is over; it wakes on every send and re-reads the clock each tick.
func (s *Server) receive(ctx context.Context, p receiveParams) ([]Message, error) {
	if p.max < 1 || p.max > maxBatchEntries {
		return nil, invalidParameter(fmt.Sprintf("Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", p.max))
	}
	if p.visibility != nil && (*p.visibility < 0 || *p.visibility > 43200) {
		return nil, invalidParameter(fmt.Sprintf("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided.", *p.visibility))
	}
	if p.wait != nil && (*p.wait < 0 || *p.wait > 20*time.Second) {
		return nil, invalidParameter(fmt.Sprintf("Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", int(p.wait.Seconds())))
	}
	var deadline time.Time
	for {
		now := s.lockSettled()
		q, err := s.queueLocked(p.url)
		if err != nil {
			s.mu.Unlock()
			return nil, err
		}
		if deadline.IsZero() {
			wait := time.Duration(q.config.ReceiveMessageWaitTimeSeconds) * time.Second
			if p.wait != nil {
				wait = *p.wait
			}
			deadline = time.Now().Add(wait)
		}
		visibility := q.config.VisibilityTimeout
		if p.visibility != nil {
			visibility = *p.visibility
		}
		got := s.receiveLocked(q, p.max, time.Duration(visibility)*time.Second, now)
		out := make([]Message, len(got))
		for i, m := range got {
			out[i] = s.render(m, p.systemNames, p.attributeNames)
			out[i].ReceiptHandle = m.receipt
		}
		wake := s.wake
		s.mu.Unlock()

		left := time.Until(deadline)
		if len(out) > 0 || left <= 0 {
			return out, nil
		}
		timer := time.NewTimer(min(left, pollTick))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// render shows a stored message with the selected system attributes and
// message attributes; the attribute digest covers only what is returned.
func (s *Server) render(m *message, systemNames, attributeNames []string) Message {
	out := Message{MessageID: m.id, Body: m.body, MD5OfBody: m.md5OfBody}
	system := map[string]string{
		"ApproximateReceiveCount": strconv.Itoa(m.receiveCount),
		"SentTimestamp":           strconv.FormatInt(m.sent.UnixMilli(), 10),
		"SenderId":                s.account,
	}
	if m.receiveCount > 0 {
		system["ApproximateFirstReceiveTimestamp"] = strconv.FormatInt(m.firstReceive.UnixMilli(), 10)
	}
	if m.traceHeader != "" {
		system["AWSTraceHeader"] = m.traceHeader
	}
	for name, v := range system {
		if slices.Contains(systemNames, "All") || slices.Contains(systemNames, name) {
			if out.Attributes == nil {
				out.Attributes = map[string]string{}
			}
			out.Attributes[name] = v
		}
	}
	for name, a := range m.attributes {
		if attributeSelected(name, attributeNames) {
			if out.MessageAttributes == nil {
				out.MessageAttributes = map[string]MessageAttribute{}
			}
			out.MessageAttributes[name] = a
		}
	}
	out.MD5OfMessageAttributes = md5OfAttributes(out.MessageAttributes)
	return out
}

// attributeSelected applies MessageAttributeNames: "All" or ".*" for every
// attribute, "prefix.*" for a prefix, else exact names.
func attributeSelected(name string, selectors []string) bool {
	for _, sel := range selectors {
		prefix, wildcard := strings.CutSuffix(sel, ".*")
		switch {
		case sel == "All", sel == ".*", sel == name:
			return true
		case wildcard && strings.HasPrefix(name, prefix+"."):
			return true
		}
	}
	return false
}

func (s *Server) deleteMessageOp(r request) (any, error) {
	var in struct{ QueueUrl, ReceiptHandle string }
	if err := decode(r.body, &in); err != nil {
		return nil, err
	}
	s.lockSettled()
	defer s.mu.Unlock()
	q, err := s.queueLocked(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if err := q.delete(in.ReceiptHandle); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// delete removes the message only when handle is its latest receipt handle.
// An older handle of a message received again since succeeds and deletes
// nothing: "If you use an old ReceiptHandle, the request will succeed, but
// the message might not be deleted" (DeleteMessage, §4.5). So does the
// handle of a message already gone.
func (q *queue) delete(handle string) error {
	id, err := parseReceiptHandle(handle)
	if err != nil {
		return err
	}
	if i, m := q.find(id); m != nil && m.receipt == handle {
		q.remove(i)
	}
	return nil
}

func (s *Server) deleteMessageBatchOp(r request) (any, error) {
	var in struct {
		QueueUrl string
		Entries  []struct{ Id, ReceiptHandle string }
	}
	if err := decode(r.body, &in); err != nil {
		return nil, err
	}
	s.lockSettled()
	defer s.mu.Unlock()
	q, err := s.queueLocked(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i] = e.Id
	}
	if err := validateBatch(ids, "DeleteMessageBatchRequestEntry"); err != nil {
		return nil, err
	}
	out := struct {
		Successful []struct{ Id string }
		Failed     []batchFailure
	}{Successful: []struct{ Id string }{}, Failed: []batchFailure{}}
	for _, e := range in.Entries {
		if err := q.delete(e.ReceiptHandle); err != nil {
			out.Failed = append(out.Failed, failure(e.Id, err))
			continue
		}
		out.Successful = append(out.Successful, struct{ Id string }{e.Id})
	}
	return out, nil
}

func (s *Server) changeMessageVisibilityOp(r request) (any, error) {
	var in struct {
		QueueUrl          string
		ReceiptHandle     string
		VisibilityTimeout int
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
	if in.VisibilityTimeout < 0 || in.VisibilityTimeout > 43200 {
		return nil, invalidParameter(fmt.Sprintf("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200.", in.VisibilityTimeout))
	}
	id, err := parseReceiptHandle(in.ReceiptHandle)
	if err != nil {
		return nil, err
	}
	_, m := q.find(id)
	if m == nil || m.receipt != in.ReceiptHandle || m.state(now) != InFlight {
		return nil, sqsError(http.StatusBadRequest, "MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight",
			"Message does not exist or is not available for visibility timeout change.")
	}
	m.visibleAt = now.Add(time.Duration(in.VisibilityTimeout) * time.Second)
	s.notifyLocked()
	return struct{}{}, nil
}
