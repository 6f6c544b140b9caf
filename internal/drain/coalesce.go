package drain

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// Coalesced writes. The hops of one invocation run concurrently, and most of
// them end with the same writes: set the instance DRAINING, send the next
// message, write the chain mark. ECS and SQS take up to 10 of each per call
// (UpdateContainerInstancesState, PutAttributes, SendMessageBatch), and ECS's
// write buckets are small: a thousand drains at once, one call each, wait
// out the throttling for tens of seconds. So the writes the hops make within
// a few milliseconds of each other go out as one call, and each hop gets its
// own part of the answer, as if it had made the call alone.

const (
	maxWriteBatch = 10 // entries per UpdateContainerInstancesState, PutAttributes, SendMessageBatch
	// coalesceWindow is how long the first write of a batch waits for
	// others: much less than one call's round trip, so a hop alone loses
	// nothing noticeable.
	coalesceWindow = 5 * time.Millisecond
)

// coalescer gathers the calls made under one key within the window (or
// until max are gathered) and makes them as one.
type coalescer[In, Out any] struct {
	max int
	// window is called as a gathering opens, with the flush that makes
	// its call; it calls flush when the window closes (see Window).
	window func(flush func())
	// call makes the gathered calls as one; it returns one result and one
	// error per input, in order.
	call func(ctx context.Context, key string, ins []In) ([]Out, []error)
	mu   sync.Mutex
	open map[string]*gathering[In, Out]
}

// wallClockWindow closes each window coalesceWindow after it opens.
func wallClockWindow(flush func()) { time.AfterFunc(coalesceWindow, flush) }

// CoalesceOption changes how CoalescingECS and CoalescingQueue gather.
type CoalesceOption func(*coalesceOptions)

type coalesceOptions struct {
	window func(flush func())
}

// Window replaces the wall-clock window: window is called as each gathering
// opens and calls flush (at once or later, from any goroutine) when the
// gathering must be made if it has not filled before; calls after the first
// do nothing. Tests close the window themselves, so that which writes share
// a call does not depend on how fast the machine runs their goroutines.
func Window(window func(flush func())) CoalesceOption {
	return func(o *coalesceOptions) { o.window = window }
}

func coalesceConfig(opts []CoalesceOption) coalesceOptions {
	o := coalesceOptions{window: wallClockWindow}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

type gathering[In, Out any] struct {
	ins  []In
	outs []Out
	errs []error
	done chan struct{}
}

func newCoalescer[In, Out any](o coalesceOptions, call func(context.Context, string, []In) ([]Out, []error)) *coalescer[In, Out] {
	return &coalescer[In, Out]{max: maxWriteBatch, window: o.window, call: call, open: map[string]*gathering[In, Out]{}}
}

// do adds in to the gathering for key and returns its part of the result.
// joinable says whether in may share a call with those already gathered
// (two writes to one resource may not); if not, it is made alone.
func (c *coalescer[In, Out]) do(ctx context.Context, key string, in In, joinable func(gathered []In) bool) (Out, error) {
	c.mu.Lock()
	g := c.open[key]
	if g != nil && !joinable(g.ins) {
		c.mu.Unlock()
		outs, errs := c.call(ctx, key, []In{in})
		return outs[0], errs[0]
	}
	opened := g == nil
	if opened {
		g = &gathering[In, Out]{done: make(chan struct{})}
		c.open[key] = g
	}
	i := len(g.ins)
	g.ins = append(g.ins, in)
	full := len(g.ins) == c.max
	c.mu.Unlock()
	if opened {
		c.window(func() { c.flush(ctx, key, g) })
	}
	if full {
		c.flush(ctx, key, g)
	}
	select {
	case <-g.done:
		return g.outs[i], g.errs[i]
	case <-ctx.Done():
		var zero Out
		return zero, ctx.Err()
	}
}

// flush makes g's call, once: the window and the write that fills it may
// both ask. The call is the gathering's, not its first caller's: a caller
// that gives up does not cancel it for the others (the client bounds it,
// see BoundCalls).
func (c *coalescer[In, Out]) flush(ctx context.Context, key string, g *gathering[In, Out]) {
	c.mu.Lock()
	if c.open[key] != g {
		c.mu.Unlock()
		return
	}
	delete(c.open, key)
	c.mu.Unlock()
	g.outs, g.errs = c.call(context.WithoutCancel(ctx), key, g.ins)
	close(g.done)
}

// coalescingECS is an ECSAPI whose single-instance DRAINING and chain mark
// writes are coalesced; every other call goes straight through.
type coalescingECS struct {
	ECSAPI
	states *coalescer[string, *ecs.UpdateContainerInstancesStateOutput]
	marks  *coalescer[ecstypes.Attribute, *ecs.PutAttributesOutput]
}

// CoalescingECS wraps e so that concurrent hops share their
// UpdateContainerInstancesState and PutAttributes calls.
func CoalescingECS(e ECSAPI, opts ...CoalesceOption) ECSAPI {
	o := coalesceConfig(opts)
	c := &coalescingECS{ECSAPI: e}
	c.states = newCoalescer(o, c.updateStates)
	c.marks = newCoalescer(o, c.putAttributes)
	return c
}

func (c *coalescingECS) UpdateContainerInstancesState(ctx context.Context, in *ecs.UpdateContainerInstancesStateInput, opts ...func(*ecs.Options)) (*ecs.UpdateContainerInstancesStateOutput, error) {
	if len(in.ContainerInstances) != 1 || len(opts) > 0 {
		return c.ECSAPI.UpdateContainerInstancesState(ctx, in, opts...)
	}
	arn := in.ContainerInstances[0]
	return c.states.do(ctx, aws.ToString(in.Cluster)+"\n"+string(in.Status), arn, func(gathered []string) bool {
		return !slices.Contains(gathered, arn)
	})
}

func (c *coalescingECS) updateStates(ctx context.Context, key string, arns []string) ([]*ecs.UpdateContainerInstancesStateOutput, []error) {
	cluster, status, _ := strings.Cut(key, "\n")
	outs, errs := make([]*ecs.UpdateContainerInstancesStateOutput, len(arns)), make([]error, len(arns))
	out, err := c.ECSAPI.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{
		Cluster: aws.String(cluster), ContainerInstances: arns, Status: ecstypes.ContainerInstanceStatus(status),
	})
	for i, arn := range arns {
		if err != nil {
			errs[i] = err
			continue
		}
		// Each caller sees only its own instance, as if it had asked alone.
		own := &ecs.UpdateContainerInstancesStateOutput{ResultMetadata: out.ResultMetadata}
		for _, ci := range out.ContainerInstances {
			if sameResource(aws.ToString(ci.ContainerInstanceArn), arn) {
				own.ContainerInstances = append(own.ContainerInstances, ci)
			}
		}
		for _, f := range out.Failures {
			if sameResource(aws.ToString(f.Arn), arn) {
				own.Failures = append(own.Failures, f)
			}
		}
		outs[i] = own
	}
	return outs, errs
}

func (c *coalescingECS) PutAttributes(ctx context.Context, in *ecs.PutAttributesInput, opts ...func(*ecs.Options)) (*ecs.PutAttributesOutput, error) {
	if len(in.Attributes) != 1 || len(opts) > 0 {
		return c.ECSAPI.PutAttributes(ctx, in, opts...)
	}
	a := in.Attributes[0]
	return c.marks.do(ctx, aws.ToString(in.Cluster), a, func(gathered []ecstypes.Attribute) bool {
		return !slices.ContainsFunc(gathered, func(g ecstypes.Attribute) bool { return aws.ToString(g.TargetId) == aws.ToString(a.TargetId) })
	})
}

func (c *coalescingECS) putAttributes(ctx context.Context, cluster string, attrs []ecstypes.Attribute) ([]*ecs.PutAttributesOutput, []error) {
	outs, errs := make([]*ecs.PutAttributesOutput, len(attrs)), make([]error, len(attrs))
	out, err := c.ECSAPI.PutAttributes(ctx, &ecs.PutAttributesInput{Cluster: aws.String(cluster), Attributes: attrs})
	if err == nil {
		for i, a := range attrs {
			outs[i] = &ecs.PutAttributesOutput{Attributes: []ecstypes.Attribute{a}, ResultMetadata: out.ResultMetadata}
		}
		return outs, errs
	}
	if len(attrs) == 1 {
		errs[0] = err
		return outs, errs
	}
	// ECS applies all of a call's attributes or none: one instance gone
	// (TargetNotFoundException) must not cost the others their marks.
	for i, a := range attrs {
		outs[i], errs[i] = c.ECSAPI.PutAttributes(ctx, &ecs.PutAttributesInput{Cluster: aws.String(cluster), Attributes: []ecstypes.Attribute{a}})
	}
	return outs, errs
}

// BatchQueueAPI is the SQS API a coalescing queue needs.
type BatchQueueAPI interface {
	QueueAPI
	SendMessageBatch(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

type coalescingQueue struct {
	BatchQueueAPI
	sends *coalescer[*sqs.SendMessageInput, *sqs.SendMessageOutput]
}

// CoalescingQueue wraps q so that concurrent hops' SendMessage calls to one
// queue go out as SendMessageBatch calls.
func CoalescingQueue(q BatchQueueAPI, opts ...CoalesceOption) QueueAPI {
	c := &coalescingQueue{BatchQueueAPI: q}
	c.sends = newCoalescer(coalesceConfig(opts), c.sendBatch)
	return c
}

func (c *coalescingQueue) SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	if len(opts) > 0 || len(in.MessageAttributes) > 0 || len(in.MessageSystemAttributes) > 0 || in.MessageGroupId != nil {
		return c.BatchQueueAPI.SendMessage(ctx, in, opts...)
	}
	return c.sends.do(ctx, aws.ToString(in.QueueUrl), in, func([]*sqs.SendMessageInput) bool { return true })
}

func (c *coalescingQueue) sendBatch(ctx context.Context, url string, ins []*sqs.SendMessageInput) ([]*sqs.SendMessageOutput, []error) {
	outs, errs := make([]*sqs.SendMessageOutput, len(ins)), make([]error, len(ins))
	if len(ins) == 1 {
		outs[0], errs[0] = c.BatchQueueAPI.SendMessage(ctx, ins[0])
		return outs, errs
	}
	entries := make([]sqstypes.SendMessageBatchRequestEntry, len(ins))
	for i, in := range ins {
		entries[i] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: in.MessageBody, DelaySeconds: in.DelaySeconds}
	}
	out, err := c.BatchQueueAPI.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
	if err != nil {
		for i := range ins {
			errs[i] = err
		}
		return outs, errs
	}
	for i := range ins {
		errs[i] = fmt.Errorf("SendMessageBatch returned no result for entry %d", i)
	}
	for _, ok := range out.Successful {
		if i, err := strconv.Atoi(aws.ToString(ok.Id)); err == nil && i >= 0 && i < len(ins) {
			outs[i] = &sqs.SendMessageOutput{MessageId: ok.MessageId, MD5OfMessageBody: ok.MD5OfMessageBody, SequenceNumber: ok.SequenceNumber}
			errs[i] = nil
		}
	}
	for _, f := range out.Failed {
		if i, err := strconv.Atoi(aws.ToString(f.Id)); err == nil && i >= 0 && i < len(ins) {
			fault := smithy.FaultServer
			if f.SenderFault {
				fault = smithy.FaultClient
			}
			errs[i] = &smithy.GenericAPIError{Code: aws.ToString(f.Code), Message: aws.ToString(f.Message), Fault: fault}
		}
	}
	return outs, errs
}

// sameResource reports whether two references name one ECS resource: a full
// ARN and the id it ends with do.
func sameResource(a, b string) bool {
	return a == b || lastSegment(a) == lastSegment(b)
}

func lastSegment(ref string) string {
	return ref[strings.LastIndex(ref, "/")+1:]
}
