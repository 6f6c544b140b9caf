package lambda

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/sqs"
)

// Mapping limits and defaults (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html).
const (
	defaultBatchSize      = 10
	maxBatchSize          = 10000 // standard queues
	maxBatchingWindow     = 300 * time.Second
	defaultMaxConcurrency = 5 // the concurrent batches Lambda starts an SQS source with
	// receiveMax is ReceiveMessage's own limit; larger batches take
	// several receives within the batching window.
	receiveMax = 10
	// longPoll is the longest ReceiveMessage wait, which Lambda's pollers use.
	longPoll = 20 * time.Second
	// pollRetry spaces receives that fail (a deleted queue, throttling) so
	// a poller does not spin.
	pollRetry = time.Second
)

// Invoker runs one synchronous invocation; *Function is one.
type Invoker interface {
	Invoke(ctx context.Context, payload []byte, o InvokeOptions) (InvokeResult, error)
}

// MappingConfig configures an SQS event source mapping.
type MappingConfig struct {
	Queue    *sqs.Server
	QueueURL string
	Function Invoker
	// BatchSize is the most records per invocation: default 10, at most
	// 10,000; above 10 it needs a MaxBatchingWindow of at least 1 s.
	BatchSize int
	// MaxBatchingWindow is how long to gather records before invoking
	// (0–300 s); 0 invokes with whatever one receive returns.
	MaxBatchingWindow       time.Duration
	ReportBatchItemFailures bool
	// MaxConcurrency is how many batches run at once: default 5. AWS
	// requires 2–1000 for ScalingConfig; 1 is allowed here so tests can
	// see batches in order.
	MaxConcurrency int
	Region         string // of eventSourceARN and awsRegion; default us-east-1
}

// MappingStats count what a mapping did.
type MappingStats struct {
	Batches int // invocations attempted, recursion stops included
	Records int // records received
	Deleted int // records deleted after their batch
	Failed  int // records left on the queue for a retry
}

// Mapping is a running event source mapping.
type Mapping struct {
	cfg      MappingConfig
	queueARN string
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once

	mu    sync.Mutex
	stats MappingStats
}

// StartMapping validates cfg and starts polling.
func StartMapping(cfg MappingConfig) (*Mapping, error) {
	if cfg.Queue == nil || cfg.Function == nil {
		return nil, errors.New("lambda: MappingConfig needs a Queue and a Function")
	}
	arn, err := cfg.Queue.QueueARN(cfg.QueueURL)
	if err != nil {
		return nil, fmt.Errorf("lambda: event source %s: %w", cfg.QueueURL, err)
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = defaultBatchSize
	}
	if cfg.MaxConcurrency == 0 {
		cfg.MaxConcurrency = defaultMaxConcurrency
	}
	if cfg.Region == "" {
		cfg.Region = defaultRegion
	}
	switch {
	case cfg.BatchSize < 1 || cfg.BatchSize > maxBatchSize:
		return nil, fmt.Errorf("lambda: BatchSize %d: want 1 to %d", cfg.BatchSize, maxBatchSize)
	case cfg.BatchSize > receiveMax && cfg.MaxBatchingWindow < time.Second:
		return nil, fmt.Errorf("lambda: BatchSize %d needs a MaxBatchingWindow of at least 1s", cfg.BatchSize)
	case cfg.MaxBatchingWindow < 0 || cfg.MaxBatchingWindow > maxBatchingWindow:
		return nil, fmt.Errorf("lambda: MaxBatchingWindow %s: want 0 to %s", cfg.MaxBatchingWindow, maxBatchingWindow)
	case cfg.MaxConcurrency < 1:
		return nil, fmt.Errorf("lambda: MaxConcurrency %d: want at least 1", cfg.MaxConcurrency)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Mapping{cfg: cfg, queueARN: arn, cancel: cancel}
	for range cfg.MaxConcurrency {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.poll(ctx)
		}()
	}
	return m, nil
}

// Stop stops polling and waits for the batches in progress to finish.
func (m *Mapping) Stop() {
	m.stopOnce.Do(func() {
		m.cancel()
		m.wg.Wait()
	})
}

// Stats returns the counters so far.
func (m *Mapping) Stats() MappingStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

func (m *Mapping) poll(ctx context.Context) {
	for ctx.Err() == nil {
		batch, err := m.receiveBatch(ctx)
		if len(batch) > 0 {
			m.process(batch)
		}
		if err != nil && ctx.Err() == nil {
			select {
			case <-time.After(pollRetry):
			case <-ctx.Done():
			}
		}
	}
}

// receiveBatch long-polls for a first message, then gathers more until the
// batch is full or the batching window closes.
func (m *Mapping) receiveBatch(ctx context.Context) ([]sqs.Message, error) {
	batch, err := m.cfg.Queue.Receive(ctx, m.cfg.QueueURL, min(receiveMax, m.cfg.BatchSize), longPoll)
	if err != nil || len(batch) == 0 || m.cfg.MaxBatchingWindow == 0 {
		return batch, err
	}
	deadline := time.Now().Add(m.cfg.MaxBatchingWindow)
	for len(batch) < m.cfg.BatchSize {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		more, err := m.cfg.Queue.Receive(ctx, m.cfg.QueueURL, min(receiveMax, m.cfg.BatchSize-len(batch)), min(left, longPoll))
		batch = append(batch, more...)
		if err != nil {
			// What was received is in flight: invoke with it.
			break
		}
	}
	return batch, nil
}

// process invokes the function with one batch and deletes what succeeded.
// The invocation is not tied to the poller's context: Stop lets a batch in
// progress finish, as its messages are already in flight.
func (m *Mapping) process(batch []sqs.Message) {
	var trace string
	ids := make([]string, len(batch))
	for i, msg := range batch {
		ids[i] = msg.MessageID
		// One invocation has one trace header; the first traced record
		// lends it (UNVERIFIED: AWS does not document which).
		if trace == "" {
			trace = msg.Attributes["AWSTraceHeader"]
		}
	}
	res, err := m.cfg.Function.Invoke(context.Background(), sqsEventPayload(batch, m.queueARN, m.cfg.Region), InvokeOptions{TraceHeader: trace})
	ok := map[string]bool{}
	for _, id := range deletable(ids, res.Payload, err != nil || res.FunctionError != nil, m.cfg.ReportBatchItemFailures) {
		ok[id] = true
	}
	deleted := 0
	for _, msg := range batch {
		// A failed delete leaves the message to come back, as a retry.
		if ok[msg.MessageID] && m.cfg.Queue.Delete(m.cfg.QueueURL, msg.ReceiptHandle) == nil {
			deleted++
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stats.Batches++
	m.stats.Records += len(batch)
	m.stats.Deleted += deleted
	m.stats.Failed += len(batch) - deleted
}
