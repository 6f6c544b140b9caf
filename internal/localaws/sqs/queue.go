package sqs

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	// maxMessageBytes is both the largest MaximumMessageSize and the largest
	// total payload of a batch: 1 MiB since AWS raised it from 256 KiB (AWS
	// Compute Blog "More room to build: serverless services now support
	// payloads up to 1 MB").
	maxMessageBytes = 1 << 20

	// maxBatchEntries caps both batch requests and MaxNumberOfMessages.
	maxBatchEntries = 10

	// recreateDelay and purgeInterval are the two 60-second rules of
	// CreateQueue (QueueDeletedRecently) and PurgeQueue (PurgeQueueInProgress).
	recreateDelay = 60 * time.Second
	purgeInterval = 60 * time.Second
)

// settings holds a queue's settable attributes.
type settings struct {
	DelaySeconds                  int
	VisibilityTimeout             int
	MaximumMessageSize            int
	MessageRetentionPeriod        int
	ReceiveMessageWaitTimeSeconds int
	redrive                       *redrivePolicy
}

func defaultSettings() settings {
	return settings{VisibilityTimeout: 30, MaximumMessageSize: maxMessageBytes, MessageRetentionPeriod: 345600}
}

// intAttribute is one numeric queue attribute with its documented range (the
// SetQueueAttributes API reference).
type intAttribute struct {
	min, max int
	field    func(*settings) *int
}

var intAttributes = map[string]intAttribute{
	"DelaySeconds":                  {0, 900, func(c *settings) *int { return &c.DelaySeconds }},
	"VisibilityTimeout":             {0, 43200, func(c *settings) *int { return &c.VisibilityTimeout }},
	"MaximumMessageSize":            {1024, maxMessageBytes, func(c *settings) *int { return &c.MaximumMessageSize }},
	"MessageRetentionPeriod":        {60, 1209600, func(c *settings) *int { return &c.MessageRetentionPeriod }},
	"ReceiveMessageWaitTimeSeconds": {0, 20, func(c *settings) *int { return &c.ReceiveMessageWaitTimeSeconds }},
}

// readOnlyAttributes can be read but not set.
var readOnlyAttributes = []string{
	"QueueArn", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
	"ApproximateNumberOfMessagesDelayed", "CreatedTimestamp", "LastModifiedTimestamp",
}

func invalidAttributeName(name string) error {
	return sqsError(http.StatusBadRequest, "InvalidAttributeName", "InvalidAttributeName", "Unknown Attribute "+name+".")
}

func invalidAttributeValue(name string) error {
	return sqsError(http.StatusBadRequest, "InvalidAttributeValue", "InvalidAttributeValue",
		"Invalid value for the parameter "+name+".")
}

// redrivePolicy is the parsed RedrivePolicy attribute.
type redrivePolicy struct {
	DeadLetterTargetARN string `json:"deadLetterTargetArn"`
	MaxReceiveCount     int    `json:"maxReceiveCount"`
}

// parseRedrivePolicy accepts maxReceiveCount as a number or a numeric string:
// CloudFormation sends the latter.
func parseRedrivePolicy(value string) (*redrivePolicy, error) {
	invalid := func(reason string) error {
		return invalidParameter("Value " + value + " for parameter RedrivePolicy is invalid. Reason: " + reason)
	}
	var raw struct {
		DeadLetterTargetARN string          `json:"deadLetterTargetArn"`
		MaxReceiveCount     json.RawMessage `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(value), &raw); err != nil {
		return nil, invalid("Redrive policy is not a valid JSON map.")
	}
	if raw.DeadLetterTargetARN == "" {
		return nil, invalid("Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
	}
	n, err := strconv.Atoi(strings.Trim(string(raw.MaxReceiveCount), `"`))
	if err != nil || n < 1 || n > 1000 {
		return nil, invalid("Invalid value for maxReceiveCount: " + string(raw.MaxReceiveCount) + ", valid values are from 1 to 1000 both inclusive.")
	}
	return &redrivePolicy{DeadLetterTargetARN: raw.DeadLetterTargetARN, MaxReceiveCount: n}, nil
}

// applyAttributesLocked validates attrs and sets them on c. The dead-letter target must exist
// when the policy is set, as on AWS.
func (s *Server) applyAttributesLocked(c *settings, attrs map[string]string) error {
	for name, value := range attrs {
		if a, ok := intAttributes[name]; ok {
			n, err := strconv.Atoi(value)
			if err != nil || n < a.min || n > a.max {
				return invalidAttributeValue(name)
			}
			*a.field(c) = n
			continue
		}
		switch name {
		case "RedrivePolicy":
			if value == "" {
				c.redrive = nil
				continue
			}
			p, err := parseRedrivePolicy(value)
			if err != nil {
				return err
			}
			if _, ok := s.queueByARNLocked(p.DeadLetterTargetARN); !ok {
				return invalidParameter("Value " + value + " for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.")
			}
			c.redrive = p
		case "FifoQueue":
			return invalidParameter("Value " + value + " for parameter FifoQueue is invalid. Reason: the local SQS emulator models standard queues only.")
		default:
			return invalidAttributeName(name)
		}
	}
	return nil
}

func (s *Server) queueByARNLocked(arn string) (*queue, bool) {
	name, ok := strings.CutPrefix(arn, "arn:aws:sqs:"+s.region+":"+s.account+":")
	if !ok {
		return nil, false
	}
	q, ok := s.queues[name]
	return q, ok
}

// queue is one standard queue.
type queue struct {
	name     string
	arn      string
	created  time.Time
	modified time.Time
	purged   time.Time
	config   settings
	messages []*message // in send order; receives take the oldest visible first
}

// message is one stored message. It is visible once now >= visibleAt; before
// that it is delayed if it was never received, else in flight.
type message struct {
	id           string
	body         string
	md5OfBody    string
	attributes   map[string]MessageAttribute
	traceHeader  string
	sent         time.Time
	visibleAt    time.Time
	receiveCount int
	firstReceive time.Time
	// receipt is the handle of the latest receive; older handles are stale.
	receipt string
}

// State is where a message stands in its queue.
type State string

// The three states GetQueueAttributes counts.
const (
	Visible  State = "visible"
	InFlight State = "in-flight"
	Delayed  State = "delayed"
)

func (m *message) state(now time.Time) State {
	switch {
	case !now.Before(m.visibleAt):
		return Visible
	case m.receiveCount == 0:
		return Delayed
	default:
		return InFlight
	}
}

func (q *queue) counts(now time.Time) (visible, inFlight, delayed int) {
	for _, m := range q.messages {
		switch m.state(now) {
		case Visible:
			visible++
		case InFlight:
			inFlight++
		case Delayed:
			delayed++
		}
	}
	return visible, inFlight, delayed
}

func (q *queue) find(id string) (int, *message) {
	for i, m := range q.messages {
		if m.id == id {
			return i, m
		}
	}
	return -1, nil
}

func (q *queue) remove(i int) {
	q.messages = append(q.messages[:i], q.messages[i+1:]...)
}

// attributes renders every queue attribute as GetQueueAttributes does:
// strings, timestamps in epoch seconds.
func (q *queue) attributes(now time.Time) map[string]string {
	visible, inFlight, delayed := q.counts(now)
	out := map[string]string{
		"QueueArn":                              q.arn,
		"ApproximateNumberOfMessages":           strconv.Itoa(visible),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(inFlight),
		"ApproximateNumberOfMessagesDelayed":    strconv.Itoa(delayed),
		"CreatedTimestamp":                      strconv.FormatInt(q.created.Unix(), 10),
		"LastModifiedTimestamp":                 strconv.FormatInt(q.modified.Unix(), 10),
	}
	for name, a := range intAttributes {
		out[name] = strconv.Itoa(*a.field(&q.config))
	}
	if p := q.config.redrive; p != nil {
		b, _ := json.Marshal(p)
		out["RedrivePolicy"] = string(b)
	}
	return out
}

// settleLocked applies what is due at now: messages past the retention
// period are dropped (measured from the original send, also in a DLQ), and
// deletions older than the recreate delay are forgotten.
func (s *Server) settleLocked(now time.Time) {
	for _, q := range s.queues {
		retention := time.Duration(q.config.MessageRetentionPeriod) * time.Second
		kept := q.messages[:0]
		for _, m := range q.messages {
			if now.Before(m.sent.Add(retention)) {
				kept = append(kept, m)
			}
		}
		clear(q.messages[len(kept):])
		q.messages = kept
	}
	for name, at := range s.deleted {
		if !now.Before(at.Add(recreateDelay)) {
			delete(s.deleted, name)
		}
	}
}

// receiveLocked takes up to max visible messages, oldest first unless
// Options.Shuffle says otherwise, and makes them in flight for visibility. A
// message whose receive count would exceed the redrive policy's
// maxReceiveCount moves to the dead-letter queue instead, keeping its id,
// send time and receive count. A message Options.Duplicate picks stays
// visible with its new receipt handle, so the next receive hands it out
// again.
func (s *Server) receiveLocked(q *queue, max int, visibility time.Duration, now time.Time) []*message {
	order := q.messages
	if s.shuffle != nil {
		if perm := s.shuffle(len(q.messages)); perm != nil {
			order = make([]*message, len(perm))
			for i, j := range perm {
				order[i] = q.messages[j]
			}
		}
	}
	var got, dead []*message
	var dlq *queue
	for _, m := range order {
		if len(got) == max {
			break
		}
		if m.state(now) != Visible {
			continue
		}
		if p := q.config.redrive; p != nil && m.receiveCount >= p.MaxReceiveCount {
			if d, ok := s.queueByARNLocked(p.DeadLetterTargetARN); ok && d != q {
				dlq = d
				dead = append(dead, m)
				continue
			}
		}
		m.receiveCount++
		if m.receiveCount == 1 {
			m.firstReceive = now
		}
		m.visibleAt = now.Add(visibility)
		m.receipt = newReceiptHandle(m.id)
		if s.duplicate != nil && s.duplicate() {
			m.visibleAt = now
			s.notifyLocked()
		}
		got = append(got, m)
	}
	if len(dead) > 0 {
		q.messages = slices.DeleteFunc(q.messages, func(m *message) bool { return slices.Contains(dead, m) })
		for _, m := range dead {
			m.receipt = ""
			dlq.messages = append(dlq.messages, m)
		}
		s.notifyLocked()
	}
	return got
}

// Receipt handles are opaque to clients; ours encode the message id so a
// stale handle still names its message.
func newReceiptHandle(messageID string) string {
	var nonce [24]byte
	_, _ = rand.Read(nonce[:])
	return base64.StdEncoding.EncodeToString([]byte(messageID + ":" + hex.EncodeToString(nonce[:])))
}

func parseReceiptHandle(handle string) (messageID string, err error) {
	raw, err := base64.StdEncoding.DecodeString(handle)
	id, nonce, ok := strings.Cut(string(raw), ":")
	if err != nil || !ok || id == "" || nonce == "" {
		return "", sqsError(http.StatusNotFound, "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid",
			fmt.Sprintf("The input receipt handle %q is not a valid receipt handle.", handle))
	}
	return id, nil
}

var queueNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// createQueueLocked is CreateQueue for the wire and the control plane.
func (s *Server) createQueueLocked(name string, attrs map[string]string, now time.Time) (string, error) {
	if strings.HasSuffix(name, ".fifo") {
		return "", invalidParameter("Value " + name + " for parameter QueueName is invalid. Reason: the local SQS emulator models standard queues only.")
	}
	if !queueNamePattern.MatchString(name) {
		return "", invalidParameter("Value " + name + " for parameter QueueName is invalid. Reason: Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length.")
	}
	c := defaultSettings()
	if q, ok := s.queues[name]; ok {
		c = q.config
	}
	if err := s.applyAttributesLocked(&c, attrs); err != nil {
		return "", err
	}
	if q, ok := s.queues[name]; ok {
		// Idempotent only when every attribute given matches the queue.
		if differing := differingAttribute(q, attrs, now); differing != "" {
			return "", sqsError(http.StatusBadRequest, "QueueNameExists", "QueueAlreadyExists",
				"A queue already exists with the same name and a different value for attribute "+differing)
		}
		return s.queueURLLocked(name), nil
	}
	if _, ok := s.deleted[name]; ok {
		return "", sqsError(http.StatusBadRequest, "QueueDeletedRecently", "AWS.SimpleQueueService.QueueDeletedRecently",
			"You must wait 60 seconds after deleting a queue before you can create another with the same name.")
	}
	s.queues[name] = &queue{name: name, arn: s.queueARN(name), created: now, modified: now, config: c}
	return s.queueURLLocked(name), nil
}

// differingAttribute names the first given attribute whose value differs
// from the queue's, comparing values after the queue's own normalisation.
func differingAttribute(q *queue, attrs map[string]string, now time.Time) string {
	current := q.attributes(now)
	for name, value := range attrs {
		want := value
		if _, ok := intAttributes[name]; ok {
			n, _ := strconv.Atoi(value) // already validated
			want = strconv.Itoa(n)
		}
		if name == "RedrivePolicy" && value != "" {
			p, _ := parseRedrivePolicy(value)
			b, _ := json.Marshal(p)
			want = string(b)
		}
		if current[name] != want {
			return name
		}
	}
	return ""
}
