package drain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	sdksqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/ecs"
)

// concurrently runs f(0..n-1) at once and waits for all.
func concurrently(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); f(i) }()
	}
	wg.Wait()
}

// testWindow is a coalescing window that closes when the test closes it,
// so which writes share a call does not depend on how fast the machine
// runs their goroutines. A window left open for a minute closes by itself,
// so that a gathering that never fills fails the test instead of hanging it.
type testWindow struct {
	mu      sync.Mutex
	flushes []func()
}

func (w *testWindow) open(flush func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushes = append(w.flushes, flush)
	time.AfterFunc(time.Minute, flush)
}

// close closes every window opened so far.
func (w *testWindow) close() {
	w.mu.Lock()
	flushes := w.flushes
	w.flushes = nil
	w.mu.Unlock()
	for _, flush := range flushes {
		flush()
	}
}

// The coalescer must make one call for writes made together, at most max
// per call, give each caller its own result, make what gathered when the
// window closes as one call, and make a write that may not join (a second
// write to one resource) alone, at once.
func TestCoalescerGathersConcurrentCalls(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	callSizes := func() []int {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(sizes)
	}
	call := func(_ context.Context, _ string, ins []int) ([]int, []error) {
		mu.Lock()
		sizes = append(sizes, len(ins))
		mu.Unlock()
		outs, errs := make([]int, len(ins)), make([]error, len(ins))
		for i, in := range ins {
			outs[i] = in * 10
			if in == 3 {
				errs[i] = errors.New("three fails")
			}
		}
		return outs, errs
	}
	var w testWindow
	c := newCoalescer(coalesceConfig([]CoalesceOption{Window(w.open)}), call)
	always := func([]int) bool { return true }

	// The window stays open: only filling the gathering makes its call.
	got := make([]int, 10)
	gotErr := make([]error, 10)
	concurrently(10, func(i int) { got[i], gotErr[i] = c.do(context.Background(), "k", i, always) })
	if s := callSizes(); len(s) != 1 || s[0] != 10 {
		t.Fatalf("call sizes %v, want one call of 10", s)
	}
	for i := range 10 {
		if got[i] != i*10 || (gotErr[i] != nil) != (i == 3) {
			t.Errorf("caller %d got %d, %v; want %d and an error only for 3", i, got[i], gotErr[i], i*10)
		}
	}

	sizes = nil
	done := make(chan struct{})
	go func() {
		concurrently(3, func(i int) { _, _ = c.do(context.Background(), "k", i, always) })
		close(done)
	}()
	for c.pending("k") < 3 {
		time.Sleep(time.Millisecond)
	}
	w.close()
	<-done
	if s := callSizes(); len(s) != 1 || s[0] != 3 {
		t.Errorf("call sizes %v, want the window to make the three gathered as one call", s)
	}

	sizes = nil
	first := make(chan struct{})
	go func() { _, _ = c.do(context.Background(), "k", 1, always); close(first) }()
	for c.pending("k") == 0 {
		time.Sleep(time.Millisecond)
	}
	if _, err := c.do(context.Background(), "k", 1, func([]int) bool { return false }); err != nil {
		t.Fatal(err)
	}
	if s := callSizes(); len(s) != 1 || s[0] != 1 {
		t.Errorf("call sizes %v while the window was open, want the write that may not join made alone at once", s)
	}
	w.close()
	<-first

	// Without Window, the wall clock closes the window: a lone write is
	// made without anyone closing it.
	sizes = nil
	if _, err := newCoalescer(coalesceConfig(nil), call).do(context.Background(), "k", 1, always); err != nil {
		t.Fatal(err)
	}
	if s := callSizes(); len(s) != 1 || s[0] != 1 {
		t.Errorf("call sizes %v, want the wall-clock window to make the lone write", s)
	}
}

func (c *coalescer[In, Out]) pending(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if g := c.open[key]; g != nil {
		return len(g.ins)
	}
	return 0
}

// Through the real SDK clients against the local AWS: ten hops setting their
// instances DRAINING, marking them and sending their next messages at once
// make one call of each, and each hop sees only its own result; a mark on an
// instance that is gone costs the others nothing.
func TestCoalescedWritesThroughTheSDK(t *testing.T) {
	a, err := localaws.Start(localaws.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	cfg, err := a.Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	a.ECS.CreateCluster("c1")
	arns := make([]string, 10)
	for i := range arns {
		if arns[i], err = a.ECS.RegisterContainerInstance("c1", fmt.Sprintf("i-%017x", i), ecs.Resources{}); err != nil {
			t.Fatal(err)
		}
	}
	url, err := a.SQS.CreateQueue("q", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The window stays open: only ten writes make a call, however long
	// the ten goroutines take to reach it.
	var w testWindow
	e := CoalescingECS(sdkecs.NewFromConfig(cfg), Window(w.open))
	q := CoalescingQueue(sdksqs.NewFromConfig(cfg), Window(w.open))
	ctx := context.Background()
	before := a.ECS.Operations()["UpdateContainerInstancesState"]

	ids := make([]string, 10)
	concurrently(10, func(i int) {
		out, err := e.UpdateContainerInstancesState(ctx, &sdkecs.UpdateContainerInstancesStateInput{
			Cluster: aws.String("c1"), ContainerInstances: []string{arns[i]}, Status: ecstypes.ContainerInstanceStatusDraining})
		if err != nil || len(out.ContainerInstances) != 1 || aws.ToString(out.ContainerInstances[0].ContainerInstanceArn) != arns[i] || len(out.Failures) != 0 {
			t.Errorf("hop %d: UpdateContainerInstancesState = %+v, %v; want its own instance only", i, out, err)
		}
		sent, err := q.SendMessage(ctx, &sdksqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(fmt.Sprint("hop ", i)), DelaySeconds: 0})
		if err != nil {
			t.Errorf("hop %d: SendMessage: %v", i, err)
			return
		}
		ids[i] = aws.ToString(sent.MessageId)
	})
	if got := a.ECS.Operations()["UpdateContainerInstancesState"] - before; got != 1 {
		t.Errorf("%d UpdateContainerInstancesState calls, want 1", got)
	}
	if got := a.SQS.Operations()["SendMessageBatch"]; got != 1 {
		t.Errorf("%d SendMessageBatch calls, want 1", got)
	}
	msgs, err := a.SQS.Receive(ctx, url, 10, 0)
	if err != nil || len(msgs) != 10 {
		t.Fatalf("received %d messages, %v; want 10", len(msgs), err)
	}
	for _, m := range msgs {
		var hop int
		if _, err := fmt.Sscanf(m.Body, "hop %d", &hop); err != nil || ids[hop] != m.MessageID {
			t.Errorf("message %q has id %s, want the id its hop was given (%v)", m.Body, m.MessageID, ids)
		}
	}
	for i := range 10 {
		if in, _ := a.ECS.Instance(fmt.Sprintf("i-%017x", i)); in.Status != "DRAINING" {
			t.Errorf("instance %d is %s, want DRAINING", i, in.Status)
		}
	}

	targets := append(arns[:9:9], "arn:aws:ecs:us-east-1:123456789012:container-instance/c1/0123456789abcdef0123456789abcdef")
	errs := make([]error, 10)
	concurrently(10, func(i int) {
		_, errs[i] = e.PutAttributes(ctx, &sdkecs.PutAttributesInput{Cluster: aws.String("c1"), Attributes: []ecstypes.Attribute{{
			Name: aws.String(ChainAttribute), Value: aws.String(fmt.Sprint("mark", i)),
			TargetType: ecstypes.TargetTypeContainerInstance, TargetId: aws.String(targets[i])}}})
	})
	for i, err := range errs {
		if (err != nil) != (i == 9) {
			t.Errorf("mark %d: error %v; want one only for the instance that does not exist", i, err)
		}
	}
	out, err := sdkecs.NewFromConfig(cfg).DescribeContainerInstances(ctx, &sdkecs.DescribeContainerInstancesInput{Cluster: aws.String("c1"), ContainerInstances: arns[:9]})
	if err != nil {
		t.Fatal(err)
	}
	for _, ci := range out.ContainerInstances {
		if !slices.ContainsFunc(ci.Attributes, func(a ecstypes.Attribute) bool { return aws.ToString(a.Name) == ChainAttribute }) {
			t.Errorf("%s has no mark", aws.ToString(ci.ContainerInstanceArn))
		}
	}
}
