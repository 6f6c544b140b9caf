package faults

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

// Services as Config.Only names them.
const (
	ServiceECS         = "ecs"
	ServiceAutoScaling = "autoscaling"
	ServiceSQS         = "sqs"
	// ServiceEvents is EventBridge (the CLI's and botocore's "events").
	ServiceEvents = "events"
)

const (
	ecsTargetPrefix = "AmazonEC2ContainerServiceV20141113."
	sqsTargetPrefix = "AmazonSQS."
	// eventsTargetPrefix is EventBridge's (awsJson1_1, the botocore events
	// model's targetPrefix).
	eventsTargetPrefix = "AWSEvents."
	// autoScalingXMLNS is the namespace of Auto Scaling's Query responses.
	autoScalingXMLNS = "http://autoscaling.amazonaws.com/doc/2011-01-01/"
	// sqsNamespace prefixes SQS error types
	// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-api-responses.html).
	sqsNamespace = "com.amazonaws.sqs"
	// maxFormBytes is how much of an Auto Scaling body is read to find its
	// Action; the rest is passed on unread. Lifecycle requests are far
	// smaller, and the SDK puts Action first anyway.
	maxFormBytes = 64 << 10
	// internalErrorMessage is the text AWS sends with its generic 500s.
	internalErrorMessage = "We encountered an internal error. Please try again."
)

// Middleware injects request faults in front of next, the local AWS
// endpoint. For each request it names the service and operation as the
// endpoint routes them, and, if Config.Only selects them, in this order:
//
//  1. KillBefore: kills the invocation that sent the request, which then
//     never reaches next;
//  2. latency;
//  3. throttling, then server errors, answered in the service's own wire
//     shape without calling next;
//  4. KillAfter: next serves the request, the invocation is killed, and
//     only then is the answer sent.
//
// Requests for no known service pass through untouched.
func (in *Injector) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		service, op := identify(r)
		if service == "" || (in.cfg.Only != nil && !in.cfg.Only(service, op)) {
			next.ServeHTTP(w, r)
			return
		}
		trace := r.Header.Get("X-Amzn-Trace-Id")
		kill := in.killer()
		canKill := kill != nil && trace != ""

		if canKill && in.roll(KindKillBefore, in.cfg.KillBefore) && kill(trace) {
			in.count(KindKillBefore)
			// Nobody reads this answer; it is retryable in case somebody
			// does.
			writeError(w, service, serverError(service))
			return
		}
		if in.cfg.Latency > 0 && in.Roll(KindLatency, in.cfg.LatencyRate) {
			t := time.NewTimer(in.cfg.Latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if in.Roll(KindThrottle, in.cfg.Throttle) {
			writeError(w, service, throttling(service))
			return
		}
		if in.Roll(KindServerError, in.cfg.ServerError) {
			writeError(w, service, serverError(service))
			return
		}
		if canKill && in.roll(KindKillAfter, in.cfg.KillAfter) {
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			if kill(trace) {
				in.count(KindKillAfter)
				if rec.Code/100 == 2 {
					// The call took effect and its caller never heard
					// so: what it would have logged about it is lost.
					in.count(KillAfterSuccess(op))
				}
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		next.ServeHTTP(w, r)
	})
}

// identify names the service and operation of r the way the endpoint routes
// it: JSON services by their X-Amz-Target prefix, Auto Scaling (awsQuery) by
// the Action field of its form body, which it reads and puts back for next.
// An unknown target gives "".
func identify(r *http.Request) (service, op string) {
	target := r.Header.Get("X-Amz-Target")
	if op, ok := strings.CutPrefix(target, ecsTargetPrefix); ok {
		return ServiceECS, op
	}
	if op, ok := strings.CutPrefix(target, sqsTargetPrefix); ok {
		return ServiceSQS, op
	}
	if op, ok := strings.CutPrefix(target, eventsTargetPrefix); ok {
		return ServiceEvents, op
	}
	if target != "" {
		return "", ""
	}
	op = r.URL.Query().Get("Action")
	if r.Body != nil {
		head, _ := io.ReadAll(io.LimitReader(r.Body, maxFormBytes))
		r.Body = readCloser{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
		// ParseQuery keeps the fields it could parse, so a cut-off last
		// field does not hide Action.
		if form, _ := url.ParseQuery(string(head)); form.Has("Action") {
			op = form.Get("Action")
		}
	}
	return ServiceAutoScaling, op
}

type readCloser struct {
	io.Reader
	io.Closer
}

// throttling is the service's "slow down" error; the SDK retries each of
// these codes (DefaultThrottleErrorCodes, aws-sdk-go-v2 aws/retry/standard.go).
func throttling(service string) *awswire.Error {
	switch service {
	case ServiceECS:
		// 400 ThrottlingException "Rate exceeded":
		// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html
		return &awswire.Error{Status: http.StatusBadRequest, Code: "ThrottlingException", Message: "Rate exceeded", Sender: true}
	case ServiceSQS:
		// 403 (aws-sdk-go-v2 service/sqs/schemas/schemas.go), and the query
		// code becomes ErrorCode().
		return &awswire.Error{Status: http.StatusForbidden, Code: "RequestThrottled", QueryCode: "RequestThrottled", Message: "Request is throttled.", Sender: true}
	case ServiceEvents:
		// 400 ThrottlingException, EventBridge's common throttling error
		// (https://docs.aws.amazon.com/eventbridge/latest/APIReference/CommonErrors.html).
		// UNVERIFIED: the message, taken from ECS's.
		return &awswire.Error{Status: http.StatusBadRequest, Code: "ThrottlingException", Message: "Rate exceeded", Sender: true}
	default:
		// Query services say Throttling (aws-node-termination-handler's tests).
		return &awswire.Error{Status: http.StatusBadRequest, Code: "Throttling", Message: "Rate exceeded", Sender: true}
	}
}

// serverError is the service's generic 500, which the SDK retries for its
// status alone.
func serverError(service string) *awswire.Error {
	switch service {
	case ServiceECS:
		// ServerException is ECS's modeled server fault (the botocore ECS model).
		return &awswire.Error{Status: http.StatusInternalServerError, Code: "ServerException", Message: internalErrorMessage}
	case ServiceSQS:
		return &awswire.Error{Status: http.StatusInternalServerError, Code: "InternalError", QueryCode: "InternalError", Message: internalErrorMessage}
	case ServiceEvents:
		// InternalException is EventBridge's modeled server fault, the one
		// error PutEvents declares (the botocore events model).
		return &awswire.Error{Status: http.StatusInternalServerError, Code: "InternalException", Message: internalErrorMessage}
	default:
		return &awswire.Error{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: internalErrorMessage}
	}
}

func writeError(w http.ResponseWriter, service string, e *awswire.Error) {
	switch service {
	case ServiceECS, ServiceEvents:
		awswire.WriteJSONError(w, "1.1", e, "")
	case ServiceSQS:
		awswire.WriteJSONError(w, "1.0", e, sqsNamespace)
	default:
		awswire.WriteQueryError(w, autoScalingXMLNS, e)
	}
}
