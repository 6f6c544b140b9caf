// Package sqs emulates Amazon SQS for the local AWS. The real aws-sdk-go-v2 SQS
// client talks to it over loopback HTTP in awsJson1_0 with the
// awsQueryCompatible error header
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-api-responses.html), so typed errors such as
// *types.QueueDoesNotExist come out of the SDK exactly as they do against AWS.
//
// What it models, with every timer read from an injected clock: standard
// queues and their attributes; per-message and queue delays; the visibility
// timeout, receive counts and a fresh receipt handle per receive; redrive to a
// dead-letter queue once maxReceiveCount is exceeded; retention expiry; long
// polling; message attributes with the documented MD5; the AWSTraceHeader
// system attribute taken from X-Amzn-Trace-Id (Lambda's recursion detection
// keys on it, https://docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html);
// and token-bucket throttling.
//
// What it simplifies: FIFO queues are rejected (the drainer re-queues itself
// with per-message delays, which FIFO queues refuse); messages are delivered
// oldest first (unless Options.Shuffle reorders them), never sampled across
// hosts, so an empty answer means the queue has nothing visible; duplicates
// happen only when Options.Duplicate asks for them; DeleteQueue and PurgeQueue take effect at once instead
// of "up to 60 seconds"; the 12-hour cap on a message's total in-flight time is
// not enforced; there is no IAM, SSE, tagging, ListQueues or
// ChangeMessageVisibilityBatch; SenderId is the account id.
package sqs

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/clock"
)

const (
	jsonVersion  = "1.0"
	targetPrefix = "AmazonSQS."
	// errorNamespace prefixes the __type of modeled errors; the SDK strips it.
	errorNamespace = "com.amazonaws.sqs"
	// coralNamespace prefixes generic validation errors that are not in the
	// SQS model. Real SQS answered an oversized message with
	// "com.amazon.coral.service#InvalidParameterValueException" in Jan 2026
	// (artilleryio/artillery#3683); the x-amzn-query-error header still makes
	// the Go SDK report the classic code "InvalidParameterValue".
	coralNamespace = "com.amazon.coral.service"

	// maxRequestBytes bounds how much of a request body is read. A 1 MiB
	// message can grow up to six-fold when JSON-escaped (\u0000), so the cap
	// sits well above any valid request and only stops runaway clients.
	maxRequestBytes = 8 << 20

	// pollTick is how often a waiting long poll re-reads the clock: a Fake
	// clock advanced by a test never signals, so waiters must look again.
	pollTick = 10 * time.Millisecond
)

// Options configures a Server.
type Options struct {
	Region    string // default "us-east-1"
	AccountID string // default "123456789012"
	// Endpoint is the base URL of the QueueUrls the server hands out. Empty
	// means the AWS form https://sqs.<region>.amazonaws.com, which still works
	// because the SDK sends every request to its own endpoint and the queue is
	// found from the URL path (observed with aws-sdk-go-v2 service/sqs).
	Endpoint string
	// Duplicate, if set, is asked once for each message a receive hands
	// out; true leaves that message visible as well, so the next receive
	// delivers it again, as at-least-once delivery allows. Fault injection
	// sets it; nil never duplicates.
	Duplicate func() bool
	// Shuffle, if set, gives the order in which a receive looks at a
	// queue's n messages: a permutation of 0..n-1, or nil for oldest first.
	// Fault injection sets it to reorder deliveries; nil is oldest first.
	Shuffle func(n int) []int
}

// Server is the SQS emulator. It is an http.Handler and is safe for
// concurrent use.
type Server struct {
	// Throttle limits requests per operation name ("SendMessage"); an
	// exhausted bucket answers 403 RequestThrottled, which the SDK retries.
	Throttle *awswire.Throttle

	clock   clock.Clock
	region  string
	account string

	mu              sync.Mutex
	endpoint        string
	queues          map[string]*queue    // by name
	deleted         map[string]time.Time // name -> deletion time, for QueueDeletedRecently
	awswire.Counter                      // requests by operation: Calls, Operations
	// duplicate and shuffle are Options.Duplicate and Options.Shuffle.
	duplicate func() bool
	shuffle   func(n int) []int
	// wake is closed and replaced whenever messages may have become
	// receivable, so long polls return early instead of waiting a tick.
	wake chan struct{}
}

// New returns an empty emulator reading time from c.
func New(c clock.Clock, o Options) *Server {
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.AccountID == "" {
		o.AccountID = "123456789012"
	}
	return &Server{
		Throttle: &awswire.Throttle{},
		clock:    c,
		region:   o.Region,
		account:  o.AccountID,
		endpoint: o.Endpoint,
		queues:   map[string]*queue{},
		deleted:  map[string]time.Time{},
		wake:     make(chan struct{}),

		duplicate: o.Duplicate,
		shuffle:   o.Shuffle,
	}
}

// SetEndpoint sets the base URL of QueueUrls handed out from now on; tests
// call it once httptest has picked a port.
func (s *Server) SetEndpoint(endpoint string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endpoint = endpoint
}

// request is what an operation needs from the HTTP request.
type request struct {
	ctx  context.Context
	body []byte
	// trace is the X-Amzn-Trace-Id header, kept as AWSTraceHeader.
	trace string
}

type operation func(s *Server, r request) (any, error)

var operations = map[string]operation{
	"CreateQueue":             (*Server).createQueueOp,
	"GetQueueUrl":             (*Server).getQueueURLOp,
	"GetQueueAttributes":      (*Server).getQueueAttributesOp,
	"SetQueueAttributes":      (*Server).setQueueAttributesOp,
	"DeleteQueue":             (*Server).deleteQueueOp,
	"PurgeQueue":              (*Server).purgeQueueOp,
	"SendMessage":             (*Server).sendMessageOp,
	"SendMessageBatch":        (*Server).sendMessageBatchOp,
	"ReceiveMessage":          (*Server).receiveMessageOp,
	"DeleteMessage":           (*Server).deleteMessageOp,
	"DeleteMessageBatch":      (*Server).deleteMessageBatchOp,
	"ChangeMessageVisibility": (*Server).changeMessageVisibilityOp,
}

// ServeHTTP answers one awsJson1_0 request. Every answer is JSON, errors
// included: the SDK cannot parse XML from a JSON service (observed with
// aws-sdk-go-v2 service/sqs).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	name, ok := strings.CutPrefix(target, targetPrefix)
	s.Count(name, r)

	op := operations[name]
	if !ok || op == nil || r.Method != http.MethodPost {
		writeError(w, sqsError(http.StatusBadRequest, "UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation",
			"Operation "+target+" is not supported by the local SQS emulator (it speaks awsJson1_0 only)."))
		return
	}
	if !s.Throttle.Allow(name, s.clock.Now()) {
		writeError(w, sqsError(http.StatusForbidden, "RequestThrottled", "RequestThrottled", "Request is throttled."))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		writeError(w, serializationError(err))
		return
	}
	out, err := op(s, request{ctx: r.Context(), body: body, trace: r.Header.Get("X-Amzn-Trace-Id")})
	if err != nil {
		writeError(w, err)
		return
	}
	awswire.WriteJSON(w, jsonVersion, out)
}

func writeError(w http.ResponseWriter, err error) {
	var e *awswire.Error
	if !errors.As(err, &e) {
		e = &awswire.Error{Status: http.StatusInternalServerError, Code: "InternalError", Message: err.Error()}
	}
	ns := errorNamespace
	if coralErrors[e.Code] {
		ns = coralNamespace
	}
	awswire.WriteJSONError(w, jsonVersion, e, ns)
}

// decode unmarshals an operation's JSON input. Unknown members are ignored,
// as AWS does, so newer SDKs keep working.
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return serializationError(err)
	}
	return nil
}

// coralErrors are the generic errors rendered in coralNamespace.
var coralErrors = map[string]bool{
	"InvalidParameterValueException": true,
	"MissingParameterException":      true,
	"SerializationException":         true,
}

// sqsError returns a client-fault error as aws-sdk-go-v2 service/sqs/schemas/schemas.go
// models it: shape is the
// __type suffix, queryCode goes into x-amzn-query-error and becomes the Go
// error's ErrorCode().
func sqsError(status int, shape, queryCode, message string) error {
	return &awswire.Error{Status: status, Code: shape, QueryCode: queryCode, Message: message, Sender: true}
}

func queueDoesNotExist() error {
	return sqsError(http.StatusBadRequest, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue",
		"The specified queue does not exist.")
}

// invalidParameter is the generic, unmodeled validation error; the Go SDK
// surfaces it as a GenericAPIError with code InvalidParameterValue.
func invalidParameter(message string) error {
	return sqsError(http.StatusBadRequest, "InvalidParameterValueException", "InvalidParameterValue", message)
}

func missingParameter(name string) error {
	return sqsError(http.StatusBadRequest, "MissingParameterException", "MissingParameter",
		"The request must contain the parameter "+name+".")
}

func serializationError(err error) error {
	return sqsError(http.StatusBadRequest, "SerializationException", "SerializationException", err.Error())
}

// queueURL is the URL the server hands out for a queue name.
func (s *Server) queueURLLocked(name string) string {
	base := s.endpoint
	if base == "" {
		base = "https://sqs." + s.region + ".amazonaws.com"
	}
	return strings.TrimSuffix(base, "/") + "/" + s.account + "/" + name
}

func (s *Server) queueARN(name string) string {
	return "arn:aws:sqs:" + s.region + ":" + s.account + ":" + name
}

// queueLocked finds a queue from the PATH of its URL, /<account>/<name>. The
// host is ignored on purpose: the SDK sends every request to its configured
// endpoint whatever host the QueueUrl names (observed with aws-sdk-go-v2
// service/sqs).
func (s *Server) queueLocked(rawURL string) (*queue, error) {
	if rawURL == "" {
		return nil, missingParameter("QueueUrl")
	}
	u, err := url.Parse(rawURL)
	parts := []string{}
	if err == nil {
		parts = strings.Split(strings.Trim(u.Path, "/"), "/")
	}
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return nil, sqsError(http.StatusNotFound, "InvalidAddress", "InvalidAddress",
			"The address "+rawURL+" is not valid for this endpoint.")
	}
	q, ok := s.queues[parts[1]]
	if parts[0] != s.account || !ok {
		return nil, queueDoesNotExist()
	}
	return q, nil
}

// notifyLocked wakes every waiting long poll.
func (s *Server) notifyLocked() {
	close(s.wake)
	s.wake = make(chan struct{})
}
