// Package localaws is the local AWS: one loopback HTTP endpoint that serves
// the ECS, Auto Scaling and SQS APIs to the real SDK clients and the real
// bootstrap binary, with the services wired together the way AWS wires them:
// an instance Auto Scaling launches registers with its ECS cluster (as the
// ECS agent would), an instance it terminates is deregistered from ECS (as
// EC2 termination does), an instance stopped into a warm pool loses its
// agent and gets it back, with the same container instance, when it leaves
// the pool, and the events the services emit are handed to Options.Emit,
// where the EventBridge emulator routes them. The EventBridge API itself
// (PutEvents) is answered by the handler in Options.Events, the bus the
// composer attaches.
//
// AttachCluster registers a group's instances at once, ACTIVE and
// connected, as soon as they are up (in Pending:Wait when launch hooks hold
// them: the ECS agent's warm-pool check reads the target lifecycle state,
// InService already then). AttachClusterWith gives the group's agents an
// Agent model instead: a registration delay, fixed, seeded-random or per
// instance; a REGISTERING period; registrations that fail
// (REGISTRATION_FAILED with a statusReason); and a connection that comes up
// after the registration. Every delay runs on the injected clock.
package localaws

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/clock"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/ecs"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/faults"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/sqs"
)

// Region and AccountID of the local AWS.
const (
	Region    = "us-east-1"
	AccountID = "123456789012"
)

// eventsTargetPrefix is EventBridge's X-Amz-Target prefix (the botocore
// events model's targetPrefix), eventbridge.TargetPrefix, which this package
// does not import: the bus is composed from outside.
const eventsTargetPrefix = "AWSEvents."

// readHeaderTimeout bounds how long a client may take to send its request
// headers: the SDK sends them at once, so only a stuck client waits.
const readHeaderTimeout = 10 * time.Second

// Options configure the local AWS.
type Options struct {
	Clock clock.Clock // default: the wall clock
	// Emit receives every event the services emit. It is called without
	// any service lock held.
	Emit func(awswire.Event)
	// Faults, if set, injects faults: its Middleware wraps the endpoint,
	// and SQS asks it about duplicate and out-of-order deliveries. The
	// EventBridge bus lives outside; its composer passes
	// Faults.DuplicateEvent to Bus.SetDuplicate, and Faults.SetKill is set
	// once the Lambda functions exist. nil injects nothing.
	Faults *faults.Injector
	// ShutdownTime is how long EC2 takes to shut down an instance Auto
	// Scaling terminates (autoscaling.Options.ShutdownTime): zero keeps its
	// realistic default, autoscaling.ShutdownAtOnce releases it at once.
	ShutdownTime time.Duration
	// BootTime is how long EC2 takes to boot an instance before Auto
	// Scaling sees it up (autoscaling.Options.BootTime); zero is at once.
	BootTime time.Duration
	// Events answers the EventBridge API: every request whose X-Amz-Target
	// starts with "AWSEvents." (PutEvents) is passed to it, behind the
	// faults like every other service. The bus lives outside, so its
	// composer attaches it here: an *eventbridge.Bus is such a handler.
	// nil answers them UnknownOperationException.
	Events http.Handler
}

// Agent is how the ECS agents on a group's instances join its cluster
// (AttachClusterWith); each instance's agent is an ecs.Agent started when
// the instance is up. The zero value registers at once, ACTIVE and
// connected, as AttachCluster does.
type Agent struct {
	Resources ecs.Resources
	// Attributes are custom attributes every agent registers with
	// (ECS_INSTANCE_ATTRIBUTES).
	Attributes map[string]string
	// RegisterAfter is how long after its instance is up an agent
	// registers.
	RegisterAfter time.Duration
	// RegisterJitter adds to RegisterAfter a delay drawn uniformly from
	// [0, RegisterJitter) by a generator seeded with Seed, one draw per
	// instance in the order they come up, so a run can be replayed.
	RegisterJitter time.Duration
	Seed           uint64
	// RegisterDelay, if set, gives each instance its delay instead of
	// RegisterAfter and RegisterJitter.
	RegisterDelay func(instanceID string) time.Duration
	// RegisteringFor is how long a new container instance stays REGISTERING
	// (as with awsvpcTrunking) before ACTIVE or REGISTRATION_FAILED.
	RegisteringFor time.Duration
	// Fail, if set, says whether an instance's registration fails and with
	// what statusReason (ecs.DefaultFailReason when empty). It is asked once
	// per new registration; ecs.Server.FailRegistration fails one later.
	Fail func(instanceID string) (reason string, fails bool)
	// ConnectAfter is how long after registering an agent connects; until
	// then agentConnected is false.
	ConnectAfter time.Duration
}

// AWS is a running local AWS.
type AWS struct {
	Clock       clock.Clock
	ECS         *ecs.Server
	AutoScaling *autoscaling.Server
	SQS         *sqs.Server
	// URL is the endpoint every service answers on.
	URL string

	srv      *http.Server
	ln       net.Listener
	stopTick chan struct{}
	ticking  sync.WaitGroup

	mu        sync.Mutex
	clusterOf map[string]attachment // ASG name -> where its instances register

	events http.Handler // Options.Events
}

type attachment struct {
	cluster string
	agent   Agent
	jitter  *rand.Rand // RegisterJitter's draws; nil without jitter
}

// Start starts the local AWS on a loopback port.
func Start(o Options) (*AWS, error) {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	emit := o.Emit
	if emit == nil {
		emit = func(awswire.Event) {}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &AWS{Clock: o.Clock, URL: "http://" + ln.Addr().String(), ln: ln, clusterOf: map[string]attachment{}, events: o.Events}
	a.ECS = ecs.New(o.Clock, ecs.Options{Region: Region, AccountID: AccountID, Emit: emit})
	sqsOptions := sqs.Options{Region: Region, AccountID: AccountID, Endpoint: a.URL}
	var handler http.Handler = a
	if o.Faults != nil {
		sqsOptions.Duplicate = o.Faults.DuplicateSQS
		sqsOptions.Shuffle = o.Faults.Shuffle
		handler = o.Faults.Middleware(a)
	}
	a.SQS = sqs.New(o.Clock, sqsOptions)
	a.AutoScaling = autoscaling.New(o.Clock, autoscaling.Options{
		Region: Region, AccountID: AccountID, Emit: emit, ShutdownTime: o.ShutdownTime, BootTime: o.BootTime,
		OnLaunch:    a.startAgent,
		OnStopped:   func(_, instanceID string) { a.ECS.StopEC2Instance(instanceID) },
		OnTerminate: func(_, instanceID string) { a.ECS.DeregisterEC2Instance(instanceID) },
	})
	a.srv = &http.Server{Handler: handler, ReadHeaderTimeout: readHeaderTimeout}
	go func() { _ = a.srv.Serve(ln) }()
	a.stopTick = make(chan struct{})
	if _, real := o.Clock.(clock.Real); real {
		a.ticking.Go(a.tick)
	}
	return a, nil
}

// settleEvery is how often a local AWS on the wall clock applies what is
// due without being asked. The services settle lazily, on each request; on
// AWS a task reaches STOPPED, and its event is sent, when its time comes,
// whether or not anyone calls. Without the tick, an event would wait for
// the next request (the drainer's next poll) and event-driven completion
// would look no faster than polling. A fake clock's tests call Settle.
const settleEvery = 50 * time.Millisecond

func (a *AWS) tick() {
	t := time.NewTicker(settleEvery)
	defer t.Stop()
	for {
		select {
		case <-a.stopTick:
			return
		case <-t.C:
			a.Settle()
		}
	}
}

// Close stops the endpoint.
func (a *AWS) Close() error {
	close(a.stopTick)
	a.ticking.Wait()
	if err := a.srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ServeHTTP routes a request to its service the way the protocols tell them
// apart: JSON services by their X-Amz-Target prefix, Auto Scaling (awsQuery)
// by its form body. EventBridge's requests go to Options.Events.
func (a *AWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.Settle()
	switch target := r.Header.Get("X-Amz-Target"); {
	case strings.HasPrefix(target, "AmazonEC2ContainerServiceV20141113."):
		a.ECS.ServeHTTP(w, r)
	case strings.HasPrefix(target, "AmazonSQS."):
		a.SQS.ServeHTTP(w, r)
	case strings.HasPrefix(target, eventsTargetPrefix):
		if a.events == nil {
			awswire.WriteJSONError(w, "1.1", awswire.ClientError("UnknownOperationException",
				"no EventBridge bus is attached to this local AWS (localaws.Options.Events), so it does not answer X-Amz-Target %s", target), "")
			return
		}
		a.events.ServeHTTP(w, r)
	case target == "":
		a.AutoScaling.ServeHTTP(w, r)
	default:
		awswire.WriteJSONError(w, "1.1", awswire.ClientError("UnknownOperationException", "no local service answers X-Amz-Target %s", target), "")
	}
}

// Settle applies, in every service, the transitions due at the clock's now.
// Auto Scaling goes first: a lifecycle timeout it applies terminates an
// instance, which ECS must then see deregistered.
func (a *AWS) Settle() {
	a.AutoScaling.Settle()
	a.ECS.Settle()
	a.SQS.Settle()
}

// AttachCluster makes instances that the group launches from now on register
// with cluster as soon as they are up, as the ECS agent of the group's
// launch template would.
func (a *AWS) AttachCluster(asg, cluster string, r ecs.Resources) {
	_ = a.AttachClusterWith(asg, cluster, Agent{Resources: r}) // nothing to refuse
}

// AttachClusterWith makes instances that the group launches from now on
// register with cluster as the agent model says. It refuses negative delays
// and custom attributes PutAttributes would refuse.
func (a *AWS) AttachClusterWith(asg, cluster string, ag Agent) error {
	if ag.RegisterAfter < 0 || ag.RegisterJitter < 0 {
		return fmt.Errorf("attaching %s to %s: negative registration delay", asg, cluster)
	}
	if err := (ecs.Agent{Attributes: ag.Attributes, RegisteringFor: ag.RegisteringFor, ConnectAfter: ag.ConnectAfter}).Check(); err != nil {
		return fmt.Errorf("attaching %s to %s: %w", asg, cluster, err)
	}
	a.ECS.CreateCluster(cluster)
	at := attachment{cluster: cluster, agent: ag}
	if ag.RegisterJitter > 0 {
		at.jitter = rand.New(rand.NewPCG(ag.Seed, ag.Seed)) // #nosec G404 -- a reproducible simulation, not a secret
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.clusterOf[asg] = at
	return nil
}

// startAgent starts the ECS agent of an instance that came up at up: a new
// one, or one back from the warm pool, whose agent re-registers with its
// ARN. The delay counts from up, as far as the clock's now allows: a fake
// clock that jumped past up registers the agent at now at the earliest.
func (a *AWS) startAgent(asg, instanceID string, up time.Time) {
	a.mu.Lock()
	at, ok := a.clusterOf[asg]
	if !ok {
		a.mu.Unlock()
		return
	}
	ag := at.agent
	delay := ag.RegisterAfter
	if at.jitter != nil {
		delay += time.Duration(at.jitter.Int64N(int64(ag.RegisterJitter)))
	}
	a.mu.Unlock()
	if ag.RegisterDelay != nil {
		delay = ag.RegisterDelay(instanceID)
	}
	delay = max(0, delay-a.Clock.Now().Sub(up))
	var reason string
	if ag.Fail != nil {
		if r, fails := ag.Fail(instanceID); fails {
			reason = cmp.Or(r, ecs.DefaultFailReason)
		}
	}
	// The only failures are an unknown cluster, which AttachClusterWith
	// created, and what AttachClusterWith checked.
	_ = a.ECS.StartAgent(at.cluster, instanceID, ecs.Agent{
		Resources: ag.Resources, Attributes: ag.Attributes, RegisterAfter: delay,
		RegisteringFor: ag.RegisteringFor, FailReason: reason, ConnectAfter: ag.ConnectAfter,
	})
}

// Env is the environment that points a process's SDK at this endpoint, with
// static test credentials, the way a user points the bootstrap binary at any
// emulator.
func (a *AWS) Env() []string {
	return []string{
		"AWS_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=AKIDLOCAL",
		"AWS_SECRET_ACCESS_KEY=local",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL_ECS=" + a.URL,
		"AWS_ENDPOINT_URL_AUTO_SCALING=" + a.URL,
		"AWS_ENDPOINT_URL_SQS=" + a.URL,
		// EventBridge's service id; PutEvents is answered once a bus is
		// attached (Options.Events).
		"AWS_ENDPOINT_URL_EVENTBRIDGE=" + a.URL,
	}
}

// Config is an SDK configuration for this endpoint, with fast retries so
// tests of throttling do not wait out real backoffs.
func (a *AWS) Config(ctx context.Context) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRegion(Region),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local", "")),
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 5 * time.Millisecond })
		}),
	)
	cfg.BaseEndpoint = aws.String(a.URL)
	return cfg, err
}
