package sqs

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// allNames selects every attribute, as "All" does on the wire.
var allNames = []string{"All"}

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
// the message might not be deleted" (DeleteMessage API reference). So does the
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
