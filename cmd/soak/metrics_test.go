package main

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/emf"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/faults"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/lambda"
	"github.com/ecs-drainer/ecs-drainer/internal/localdeploy"
)

// metricLine is a function line for instance id carrying metric name once.
func metricLine(id, name string) string {
	var b bytes.Buffer
	dims := []emf.Dim{{Name: contract.DimCluster, Value: "c"}, {Name: contract.DimGroup, Value: "g"}}
	if name != contract.MetricDrainsStarted {
		dims = append(dims, emf.Dim{Name: contract.DimOutcome, Value: "drained"})
	}
	attrs := append([]slog.Attr{slog.String("instance_id", id)}, emf.Attrs(t0, emf.Set{Dims: dims, Metrics: []emf.Metric{{Name: name, Value: 1}}})...)
	slog.New(slog.NewJSONHandler(&b, nil)).LogAttrs(context.Background(), slog.LevelInfo, "hop", attrs...)
	return b.String()
}

// The soak's metrics check: each way the function's metrics can disagree
// with the soak's own records must be reported, and the disagreements the
// faults explain (a kill, a duplicate delivery) must not.
func TestCheckMetricsReportsEachViolation(t *testing.T) {
	a, b := terminateAction("i-a", 10), terminateAction("i-b", 10)
	both := []autoscaling.ActionView{a, b}
	ok := []string{metricLine("i-a", "DrainsStarted"), metricLine("i-b", "DrainsStarted"), metricLine("i-a", "DrainsEnded"), metricLine("i-b", "DrainsEnded")}
	done := []localdeploy.LifecycleCall{completion(a), completion(b)}
	killB := []lambda.Kill{{Root: "root-" + b.Token, At: at(2)}}
	tests := []struct {
		name    string
		lines   []string
		calls   []localdeploy.LifecycleCall
		faults  map[string]int
		kills   []lambda.Kill
		wantErr string
	}{
		{"every drain started and ended once", ok, done, nil, nil, ""},
		{"a line that is not EMF", append(ok, `{"_aws":{"Timestamp":1}}`), done, nil, nil, "not valid EMF"},
		{"a completion never counted", ok[:3], done, nil, nil, "not counted ended, with no lost answer or kill to explain it: [i-b]"},
		{"a completion whose invocation was killed", ok[:3], done, map[string]int{faults.KindKillAfter: 1}, killB, ""},
		{"a kill of the invocation long after its completion explains nothing", ok[:3], done, map[string]int{faults.KindKillAfter: 1},
			[]lambda.Kill{{Root: "root-" + b.Token, At: at(60)}}, "not counted ended"},
		{"a drain counted ended twice", append(ok, ok[3]), done, nil, nil, "counted ended more often than the drainer completed them: [i-b]"},
		{"a completion whose answer was lost, and whose retry was refused", ok[:3],
			append(done, func() localdeploy.LifecycleCall { c := completion(b); c.Status = 400; return c }()), nil, nil, ""},
		{"completions by token alone", ok, func() []localdeploy.LifecycleCall {
			calls := slices.Clone(done)
			for i := range calls {
				calls[i].InstanceID = ""
			}
			return calls
		}(), nil, nil, ""},
		{"a completion throttled, then answered", ok,
			[]localdeploy.LifecycleCall{completion(a), func() localdeploy.LifecycleCall { c := completion(b); c.Status = 400; return c }(), completion(b)}, nil, nil, ""},
		{"a drain never counted started", ok[1:], done, nil, nil, "1 drains never counted started"},
		{"a start lost to a kill", ok[1:], done, map[string]int{faults.KindKillAfter: 1}, nil, ""},
		{"a start counted twice", append(ok, ok[0]), done, nil, nil, "1 starts counted twice"},
		{"a start counted twice by a duplicate delivery", append(ok, ok[0]), done, map[string]int{faults.KindDuplicateEvent: 1}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMetricLog()
			for _, l := range tt.lines {
				m.write([]byte(l))
			}
			_, violations := checkMetrics(metricRecords{log: m, actions: both, calls: tt.calls, faults: tt.faults, kills: tt.kills, timeout: 15 * time.Second})
			got := strings.Join(violations, "\n")
			if tt.wantErr == "" && got != "" || !strings.Contains(got, tt.wantErr) {
				t.Errorf("violations %q, want one containing %q", got, tt.wantErr)
			}
		})
	}
}
