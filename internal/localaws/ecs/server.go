package ecs

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/clock"
)

// targetPrefix starts the X-Amz-Target of every ECS operation (awsJson1_1).
const targetPrefix = "AmazonEC2ContainerServiceV20141113."

// Options configures a Server.
type Options struct {
	Region    string // default us-east-1
	AccountID string // default 123456789012
	// Emit receives the "ECS Task State Change", "ECS Container Instance
	// State Change" and "ECS Service Action" events. It is called without
	// the server's lock held, so it may call back into the server.
	Emit func(awswire.Event)
	// DrainWaitsForProtection keeps scale-in-protected service tasks running on
	// a DRAINING instance until their protection expires. UNVERIFIED: the docs
	// say protection guards against scale-in and deployments, not whether a
	// manual drain honours it
	// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-scale-in-protection.html),
	// so it is off by default.
	DrainWaitsForProtection bool
}

// Server is the ECS emulator; it is an http.Handler and safe for concurrent use.
type Server struct {
	clock    clock.Clock
	opts     Options
	throttle awswire.Throttle

	mu              sync.Mutex
	clusters        map[string]*cluster
	order           []string // cluster names in creation order
	seq             int
	outbox          []awswire.Event // collected under mu, emitted after unlocking
	awswire.Counter                 // requests by operation: Calls, Operations
	// dirty: something the scheduler reacts to has changed since it last
	// ran. Every request settles twice; without it each would rescan every
	// task of every service, and a thousand drains made the emulator, not
	// the drainer, the bottleneck of make bench.
	dirty bool
	// earliest is the earliest time a task changes on its own, valid while
	// no task has changed (dueKnown), so a request does not rescan every
	// task to learn that nothing is due.
	earliest time.Time
	dueKnown bool
	boots    []*boot               // agents that have not registered yet, in start order
	taskDefs map[string][]*taskDef // family -> revisions, revision n at n-1
	eventSeq int                   // service events written, for their ids
}

// New returns an empty ECS (no clusters) reading time from c.
func New(c clock.Clock, o Options) *Server {
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.AccountID == "" {
		o.AccountID = "123456789012"
	}
	return &Server{clock: c, opts: o, clusters: map[string]*cluster{}}
}

// Throttle returns the per-operation token buckets, keyed by operation name
// ("ListTasks"); none is configured at first. An exhausted bucket answers
// ThrottlingException as ECS does
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html).
func (s *Server) Throttle() *awswire.Throttle { return &s.throttle }

// Settle applies every transition due at the clock's current time.
func (s *Server) Settle() { s.do(func(time.Time) {}) }

// do runs f under the lock between two settles: the first brings the model to
// now, the second lets the scheduler react to what f changed. Events are
// emitted after unlocking.
func (s *Server) do(f func(now time.Time)) {
	s.mu.Lock()
	now := s.clock.Now()
	s.settle(now)
	f(now)
	s.settle(now)
	events := s.outbox
	s.outbox = nil
	s.mu.Unlock()
	if s.opts.Emit != nil {
		for _, e := range events {
			s.opts.Emit(e)
		}
	}
}

type operation func(s *Server, now time.Time, body []byte) (any, *awswire.Error)

var operations = map[string]operation{
	"ListContainerInstances":        (*Server).listContainerInstances,
	"DescribeContainerInstances":    (*Server).describeContainerInstances,
	"UpdateContainerInstancesState": (*Server).updateContainerInstancesState,
	"ListTasks":                     (*Server).listTasks,
	"DescribeTasks":                 (*Server).describeTasks,
	"StopTask":                      (*Server).stopTask,
	"GetTaskProtection":             (*Server).getTaskProtection,
	"PutAttributes":                 (*Server).putAttributes,
	"DeleteAttributes":              (*Server).deleteAttributes,
	"ListServices":                  (*Server).listServices,
	"DescribeServices":              (*Server).describeServices,
	"DescribeTaskDefinition":        (*Server).describeTaskDefinition,
}

// ServeHTTP speaks awsJson1_1 (as aws-sdk-go-v2 and smithy-go's awsjson
// expect): POST /, the operation in
// X-Amz-Target, JSON in and out, errors as {"__type", "message"}.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	name, _ := strings.CutPrefix(target, targetPrefix)
	s.Count(name, r)

	op, ok := operations[name]
	if r.Method != http.MethodPost || !strings.HasPrefix(target, targetPrefix) || !ok {
		writeError(w, awswire.ClientError("UnknownOperationException", "Unknown operation %s", target))
		return
	}
	if !s.throttle.Allow(name, s.clock.Now()) {
		writeError(w, awswire.ClientError("ThrottlingException", "Rate exceeded"))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, awswire.ClientError("SerializationException", "reading request body: %v", err))
		return
	}
	var out any
	var opErr *awswire.Error
	s.do(func(now time.Time) { out, opErr = op(s, now, body) })
	if opErr != nil {
		writeError(w, opErr)
		return
	}
	awswire.WriteJSON(w, "1.1", out)
}

func writeError(w http.ResponseWriter, e *awswire.Error) { awswire.WriteJSONError(w, "1.1", e, "") }

// decode reads a request body; an empty body is an empty object.
func decode(body []byte, v any) *awswire.Error {
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return awswire.ClientError("SerializationException", "%v", err)
	}
	return nil
}

func invalidParameter(format string, args ...any) *awswire.Error {
	return awswire.ClientError("InvalidParameterException", format, args...)
}

// lookupCluster resolves a cluster name or ARN; ECS assumes "default" when
// none is given.
func (s *Server) lookupCluster(nameOrARN *string) (*cluster, *awswire.Error) {
	name := "default"
	if nameOrARN != nil && *nameOrARN != "" {
		name = lastSegment(*nameOrARN)
	}
	if c, ok := s.clusters[name]; ok {
		return c, nil
	}
	return nil, awswire.ClientError("ClusterNotFoundException", "Cluster not found.")
}
