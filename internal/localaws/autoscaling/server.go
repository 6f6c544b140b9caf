// Package autoscaling emulates the slice of EC2 Auto Scaling the drainer
// meets: groups whose instances launch and leave through lifecycle hooks,
// their warm pools, the lifecycle actions with their tokens, heartbeats and
// timeouts, and the EventBridge events that announce them. The real aws-sdk-go-v2 client talks
// to it over awsQuery (aws-sdk-go-v2 service/autoscaling deserializers.go).
//
// State is a function of the injected clock: every request and every
// exported method first applies, in time order, the transitions due by
// clock.Now() (a Pending instance going InService, a lapsed heartbeat
// timeout applying the hook's DefaultResult, a Terminating:Proceed instance
// reaching Terminated), so tests move a Fake clock instead of sleeping.
//
// Launch hooks hold new instances in Pending:Wait, terminate hooks hold
// leaving ones in Terminating:Wait, one action per hook, each with its own
// event; an instance proceeds once all its actions have ended, or at once
// when one ends with ABANDON. Warm pools are described in warmpool.go,
// the scaling activities that launches and terminations record in
// activity.go.
//
// Simplified: there are no EC2, launch templates, health checks, cooldowns
// or standby. Hooks send no notification to NotificationTargetARN
// (EventBridge is the only channel). Instances that leave the group stop
// counting toward its desired capacity at once, so a replacement launches
// while the old instance is still in its hooks. Scale in uses a reduced
// default termination policy (see scaleInVictims); instance refresh is
// described on refresh.
package autoscaling

import (
	"net/http"
	"sync"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/clock"
)

const xmlns = "http://autoscaling.amazonaws.com/doc/2011-01-01/"

// Options configure a Server. Every field is optional.
type Options struct {
	Region    string // default us-east-1
	AccountID string // default 123456789012
	// Emit receives the lifecycle events, for the EventBridge emulator.
	Emit func(awswire.Event)
	// OnLaunch is called when an instance bound for the group is up, as it
	// enters Pending:Wait or, without launch hooks, InService: the moment
	// the harness should register it with ECS as its agent would. It is
	// called again for an instance that comes back out of the warm pool, and
	// not for one booting into the pool, whose agent waits (the agent's
	// ECS_WARM_POOLS_CHECK, aws/amazon-ecs-agent README.md and agent/app/agent.go).
	// at is when the instance came up, which may be before the clock's now
	// when the clock jumped.
	OnLaunch func(asg, instanceID string, at time.Time)
	// OnStopped is called when an instance reaches Warmed:Stopped or
	// Warmed:Hibernated, the moment its ECS agent disconnects.
	OnStopped func(asg, instanceID string)
	// OnTerminate is called when an instance reaches Terminated (or
	// Warmed:Terminated), the moment the harness should deregister its
	// container instance as EC2 would.
	OnTerminate func(asg, instanceID string)
	// Throttle, when set, answers a request whose bucket is empty with
	// Throttling (as in aws-node-termination-handler's tests; a code in
	// aws-sdk-go-v2's DefaultThrottleErrorCodes).
	Throttle *awswire.Throttle
	// BootTime is how long a new instance stays Pending (Warmed:Pending),
	// and a stopped warm one Pending when it leaves the pool; zero means it
	// is up as soon as it launches.
	BootTime time.Duration
	// ShutdownTime is how long EC2 takes to shut an instance down: the time
	// in Terminating (no hooks) or Terminating:Proceed before Terminated,
	// and in Warmed:Pending(:Proceed) before Warmed:Stopped. Zero means
	// DefaultShutdownTime; ShutdownAtOnce makes it instant, for harnesses
	// on the wall clock that cannot wait.
	ShutdownTime time.Duration
}

// DefaultShutdownTime is how long EC2 takes to shut an instance down unless
// told otherwise. AWS's default terminate first attempts a graceful OS
// shutdown (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-terminate-methods.html),
// and EC2 calls an instance still shutting down after "longer than a few
// minutes" delayed
// (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/TroubleshootingInstancesShuttingDown.html);
// a minute sits inside that, and is long enough that whoever watches a
// drain sees the instance linger in Terminating:Proceed after its hooks, as
// on AWS, with its ECS container instance still registered.
const DefaultShutdownTime = time.Minute

// ShutdownAtOnce as Options.ShutdownTime makes instances Terminated as soon
// as their hooks let them go.
const ShutdownAtOnce time.Duration = -1

// Server is the Auto Scaling emulator. It is an http.Handler.
type Server struct {
	clock clock.Clock

	region, account string
	emitFn          func(awswire.Event)
	onLaunch        func(asg, instanceID string, at time.Time)
	onStopped       func(asg, instanceID string)
	onTerminate     func(asg, instanceID string)
	throttle        *awswire.Throttle
	bootTime        time.Duration
	shutdownTime    time.Duration

	mu              sync.Mutex
	groups          map[string]*group
	instances       map[string]*instance // every instance ever launched, Terminated ones included
	launched        []*instance          // the same, in launch order
	actions         []*action            // every lifecycle action ever started
	activities      []*activity          // every scaling activity, oldest first
	awswire.Counter                      // requests by operation: Calls, Operations
	// outbox holds the callbacks and events produced under mu; they run
	// after it is released so that a callback may call back into the Server.
	outbox []func()
}

// New returns an emulator reading time from c.
func New(c clock.Clock, o Options) *Server {
	s := &Server{
		clock:        c,
		region:       o.Region,
		account:      o.AccountID,
		emitFn:       o.Emit,
		onLaunch:     o.OnLaunch,
		onStopped:    o.OnStopped,
		onTerminate:  o.OnTerminate,
		throttle:     o.Throttle,
		bootTime:     o.BootTime,
		shutdownTime: o.ShutdownTime,
		groups:       map[string]*group{},
		instances:    map[string]*instance{},
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.account == "" {
		s.account = "123456789012"
	}
	switch {
	case s.shutdownTime == 0:
		s.shutdownTime = DefaultShutdownTime
	case s.shutdownTime < 0:
		s.shutdownTime = 0
	}
	return s
}

// later queues f to run once mu is released.
func (s *Server) later(f func()) { s.outbox = append(s.outbox, f) }

// locked runs fn on up-to-date state: transitions due by now are applied
// before it, and its consequences (launches, terminations, cascades that are
// due at once) after it. Callbacks run last, without the lock.
func (s *Server) locked(fn func(now time.Time)) {
	s.mu.Lock()
	now := s.clock.Now()
	s.advance(now)
	fn(now)
	s.reconcile(now)
	s.advance(now)
	out := s.outbox
	s.outbox = nil
	s.mu.Unlock()
	for _, f := range out {
		f()
	}
}

type operation func(s *Server, p params, now time.Time) (any, *awswire.Error)

var operations = map[string]operation{
	"CompleteLifecycleAction":             completeLifecycleAction,
	"RecordLifecycleActionHeartbeat":      recordLifecycleActionHeartbeat,
	"DescribeLifecycleHooks":              describeLifecycleHooks,
	"PutLifecycleHook":                    putLifecycleHook,
	"DescribeAutoScalingInstances":        describeAutoScalingInstances,
	"DescribeAutoScalingGroups":           describeAutoScalingGroups,
	"SetDesiredCapacity":                  setDesiredCapacity,
	"TerminateInstanceInAutoScalingGroup": terminateInstanceInAutoScalingGroup,
	"StartInstanceRefresh":                startInstanceRefresh,
	"DescribeInstanceRefreshes":           describeInstanceRefreshes,
	"PutWarmPool":                         putWarmPool,
	"DescribeWarmPool":                    describeWarmPool,
	"DeleteWarmPool":                      deleteWarmPool,
	"DescribeScalingActivities":           describeScalingActivities,
}

// ServeHTTP answers one awsQuery request: the form field Action names the
// operation (as aws-sdk-go-v2's autoscaling client sends it). Every request,
// throttled or failed ones included, is counted in Calls, so tests can see
// the SDK's retries.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		awswire.WriteQueryError(w, xmlns, awswire.ClientError("MalformedQueryString", "%v", err))
		return
	}
	p := params(r.Form)
	name, _ := p.get("Action")
	var (
		result any
		aerr   *awswire.Error
	)
	s.locked(func(now time.Time) {
		s.Count(name, r)
		op, ok := operations[name]
		switch {
		case !ok:
			aerr = awswire.ClientError("InvalidAction", "The action %s is not valid for this web service.", name)
		case s.throttle != nil && !s.throttle.Allow(name, now):
			aerr = awswire.ClientError("Throttling", "Rate exceeded")
		default:
			result, aerr = op(s, p, now)
		}
	})
	if aerr != nil {
		awswire.WriteQueryError(w, xmlns, aerr)
		return
	}
	inner, err := encodeResult(result)
	if err != nil {
		awswire.WriteQueryError(w, xmlns, &awswire.Error{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: err.Error()})
		return
	}
	awswire.WriteQueryResult(w, xmlns, name, inner)
}
