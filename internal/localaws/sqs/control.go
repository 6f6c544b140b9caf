package sqs

import (
	"context"
	"time"
)

// Message is a message as ReceiveMessage returns it; the JSON tags are the
// wire names, so the wire operation and Receive share one rendering.
type Message struct {
	MessageID     string `json:"MessageId"`
	ReceiptHandle string `json:"ReceiptHandle,omitempty"`
	Body          string `json:"Body"`
	MD5OfBody     string `json:"MD5OfBody"`
	// Attributes are the system attributes: ApproximateReceiveCount,
	// SentTimestamp and ApproximateFirstReceiveTimestamp (epoch ms),
	// SenderId, and AWSTraceHeader when the sender carried a trace header.
	Attributes             map[string]string           `json:"Attributes,omitempty"`
	MessageAttributes      map[string]MessageAttribute `json:"MessageAttributes,omitempty"`
	MD5OfMessageAttributes string                      `json:"MD5OfMessageAttributes,omitempty"`
}

// MessageAttribute is a user message attribute. StringValue carries String
// and Number types, BinaryValue carries Binary (base64 on the wire).
type MessageAttribute struct {
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue,omitempty"`
	BinaryValue []byte `json:"BinaryValue,omitempty"`
}

// QueuedMessage is a stored message as the control plane shows it.
type QueuedMessage struct {
	// Message carries every system and message attribute; ReceiptHandle is
	// the latest handle issued, empty if the message was never received.
	Message
	State     State
	VisibleAt time.Time
}

// lockSettled takes the lock and applies what is due at the clock's now,
// which it returns. Every request and control method starts here.
func (s *Server) lockSettled() time.Time {
	s.mu.Lock()
	now := s.clock.Now()
	s.settleLocked(now)
	return now
}

// Settle applies what is due at the clock's now: expired messages leave
// their queues. Reads of state settle by themselves; call Settle after
// advancing a Fake clock when nothing else will look.
func (s *Server) Settle() {
	s.lockSettled()
	s.mu.Unlock()
}

// CreateQueue creates a standard queue, or returns the URL of an existing
// one with matching attributes, exactly as the CreateQueue operation does.
func (s *Server) CreateQueue(name string, attrs map[string]string) (url string, err error) {
	now := s.lockSettled()
	defer s.mu.Unlock()
	return s.createQueueLocked(name, attrs, now)
}

// Counts returns the queue's visible, in-flight and delayed messages (the
// ApproximateNumberOfMessages* attributes, exact here); zeros for an unknown
// queue.
func (s *Server) Counts(url string) (visible, inFlight, delayed int) {
	now := s.lockSettled()
	defer s.mu.Unlock()
	q, err := s.queueLocked(url)
	if err != nil {
		return 0, 0, 0
	}
	return q.counts(now)
}

// Messages returns every message stored in the queue, oldest first, without
// receiving any.
func (s *Server) Messages(url string) ([]QueuedMessage, error) {
	now := s.lockSettled()
	defer s.mu.Unlock()
	q, err := s.queueLocked(url)
	if err != nil {
		return nil, err
	}
	out := make([]QueuedMessage, 0, len(q.messages))
	for _, m := range q.messages {
		rendered := s.render(m, allNames, allNames)
		rendered.ReceiptHandle = m.receipt
		out = append(out, QueuedMessage{Message: rendered, State: m.state(now), VisibleAt: m.visibleAt})
	}
	return out, nil
}

// Receive is ReceiveMessage with every system and message attribute, the
// queue's visibility timeout, and a long poll of wait (0..20 s).
func (s *Server) Receive(ctx context.Context, url string, max int, wait time.Duration) ([]Message, error) {
	return s.receive(ctx, receiveParams{url: url, max: max, wait: &wait, systemNames: allNames, attributeNames: allNames})
}

// Delete is DeleteMessage: a stale handle succeeds without deleting.
func (s *Server) Delete(url, receiptHandle string) error {
	s.lockSettled()
	defer s.mu.Unlock()
	q, err := s.queueLocked(url)
	if err != nil {
		return err
	}
	return q.delete(receiptHandle)
}

// Send is SendMessage of a plain body with the queue's delay, as an
// EventBridge SQS target sends an event. trace, when not empty, becomes the
// message's AWSTraceHeader, as the X-Amzn-Trace-Id header of a wire request
// does.
func (s *Server) Send(url, body, trace string) (messageID string, err error) {
	now := s.lockSettled()
	defer s.mu.Unlock()
	q, err := s.queueLocked(url)
	if err != nil {
		return "", err
	}
	in := sendInput{MessageBody: &body}
	msg, err := validateSend(q, in, trace, now)
	if err != nil {
		return "", err
	}
	return s.enqueueLocked(q, msg, in).MessageId, nil
}

// QueueARN returns the ARN of the queue at url, as an event source mapping
// names it in each record's eventSourceARN.
func (s *Server) QueueARN(url string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.queueLocked(url)
	if err != nil {
		return "", err
	}
	return s.queueARN(q.name), nil
}

// Lose removes a message outright, as if SQS had lost it: fault injection
// uses it for a drain's chain that is lost, which the reconciler must find.
// It reports whether the message was there.
func (s *Server) Lose(url, messageID string) bool {
	s.lockSettled()
	defer s.mu.Unlock()
	q, err := s.queueLocked(url)
	if err != nil {
		return false
	}
	for i, m := range q.messages {
		if m.id == messageID {
			q.remove(i)
			return true
		}
	}
	return false
}
