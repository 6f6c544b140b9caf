package emf

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
)

var at = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

// A decision line written through slog's JSON handler carries its metrics:
// CloudWatch extracts one datum per metric and dimension set, each dimension
// value and metric value once on the root, beside the line's own keys
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
func TestALogLineCarriesItsMetrics(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	group := []Dim{{contract.DimCluster, "prod"}, {contract.DimGroup, "asg-1"}}
	attrs := Attrs(at,
		Set{Dims: append(group, Dim{contract.DimOutcome, "drained"}), Metrics: []Metric{{contract.MetricDrainsEnded, 1}}},
		Set{Dims: group, Metrics: []Metric{{contract.MetricDrainDuration, 42.5}, {contract.MetricHeartbeats, 1}}},
		Set{Dims: group}, // no metric: left out
	)
	log.LogAttrs(context.Background(), slog.LevelInfo, "drain finished", append([]slog.Attr{slog.String("outcome", "drained")}, attrs...)...)

	data, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatalf("Parse(%s): %v", buf.String(), err)
	}
	want := []Datum{
		{Namespace: "ECSDrainer", Name: "DrainsEnded", Unit: "Count", Dims: append(group, Dim{"Outcome", "drained"}), Values: []float64{1}, Time: at},
		{Namespace: "ECSDrainer", Name: "DrainDuration", Unit: "Seconds", Dims: group, Values: []float64{42.5}, Time: at},
		{Namespace: "ECSDrainer", Name: "Heartbeats", Unit: "Count", Dims: group, Values: []float64{1}, Time: at},
	}
	if diff := cmp.Diff(want, data); diff != "" {
		t.Errorf("data (-want +got):\n%s\nline: %s", diff, buf.String())
	}
	if got := Attrs(at, Set{Dims: group}); got != nil {
		t.Errorf("Attrs with no metric = %v, want none", got)
	}
}

// Each rule of the specification a line can break, and a plain log line,
// which carries no metric and is no error
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
func TestParseHoldsLinesToTheSpecification(t *testing.T) {
	directive := func(d string) string {
		return `{"_aws":{"Timestamp":1796292000000,"CloudWatchMetrics":[` + d + `]},"Cluster":"prod","N":1,"Many":[1,2],"Num":5}`
	}
	ok := `{"Namespace":"ECSDrainer","Dimensions":[["Cluster"]],"Metrics":[{"Name":"N","Unit":"Count"}]}`
	tests := []struct {
		name, line, wantErr string
		wantData            int
	}{
		{"valid", directive(ok), "", 1},
		{"a plain log line", `{"msg":"reconcile"}`, "", 0},
		{"an empty dimension set", directive(`{"Namespace":"ECSDrainer","Dimensions":[[]],"Metrics":[{"Name":"N"}]}`), "", 1},
		{"an array of values", directive(`{"Namespace":"ECSDrainer","Dimensions":[["Cluster"]],"Metrics":[{"Name":"Many"}]}`), "", 1},
		{"not JSON", `drain finished`, "not a JSON object", 0},
		{"data after the object", directive(ok) + ` x`, "data after", 0},
		{"no Timestamp", `{"_aws":{"CloudWatchMetrics":[]}}`, "Timestamp and CloudWatchMetrics are required", 0},
		{"Timestamp in seconds with a fraction", `{"_aws":{"Timestamp":1.5,"CloudWatchMetrics":[]}}`, "milliseconds", 0},
		{"a directive with another member", directive(`{"Namespace":"ECSDrainer","Dimensions":[],"Metrics":[],"Extra":1}`), "unknown field", 0},
		{"no Namespace", directive(`{"Dimensions":[],"Metrics":[]}`), "needs Namespace", 0},
		{"a dimension with no root member", directive(`{"Namespace":"ECSDrainer","Dimensions":[["Group"]],"Metrics":[{"Name":"N"}]}`), "dimension Group", 0},
		{"a dimension whose value is not a string", directive(`{"Namespace":"ECSDrainer","Dimensions":[["Num"]],"Metrics":[{"Name":"N"}]}`), "dimension Num", 0},
		{"31 dimension keys", directive(`{"Namespace":"ECSDrainer","Dimensions":[[` + strings.Repeat(`"Cluster",`, 30) + `"Cluster"]],"Metrics":[]}`), "31 keys", 0},
		{"101 metrics", directive(`{"Namespace":"ECSDrainer","Dimensions":[],"Metrics":[` + strings.Repeat(`{"Name":"N"},`, 100) + `{"Name":"N"}]}`), "101 metrics", 0},
		{"101 values", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"E","Dimensions":[],"Metrics":[{"Name":"V"}]}]},"V":[` + strings.Repeat("1,", 100) + `1]}`, "101 values", 0},
		{"a metric with no root member", directive(`{"Namespace":"ECSDrainer","Dimensions":[],"Metrics":[{"Name":"Missing"}]}`), "metric Missing", 0},
		{"a metric whose value is a string", directive(`{"Namespace":"ECSDrainer","Dimensions":[],"Metrics":[{"Name":"Cluster"}]}`), "neither a number", 0},
		{"an unknown unit", directive(`{"Namespace":"ECSDrainer","Dimensions":[],"Metrics":[{"Name":"N","Unit":"Drains"}]}`), "not a CloudWatch unit", 0},
		{"a storage resolution of 5", directive(`{"Namespace":"ECSDrainer","Dimensions":[],"Metrics":[{"Name":"N","StorageResolution":5}]}`), "StorageResolution", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := Parse([]byte(tt.line))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Parse: %v, want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Parse: error %v, want one saying %q", err, tt.wantErr)
			}
			if len(data) != tt.wantData {
				t.Errorf("Parse: %d data, want %d", len(data), tt.wantData)
			}
		})
	}
}

// Totals sum a run's values per metric and dimension set, as the Sum
// statistic over the run would.
func TestTotalsSumPerMetricAndDimensionSet(t *testing.T) {
	a := []Dim{{"Cluster", "prod"}, {"AutoScalingGroup", "a"}}
	b := []Dim{{"Cluster", "prod"}, {"AutoScalingGroup", "b"}}
	data := []Datum{
		{Name: "DrainsStarted", Unit: "Count", Dims: a, Values: []float64{1}},
		{Name: "DrainsStarted", Unit: "Count", Dims: a, Values: []float64{1}},
		{Name: "DrainsStarted", Unit: "Count", Dims: b, Values: []float64{1}},
		{Name: "DrainDuration", Unit: "Seconds", Dims: a, Values: []float64{10, 20}},
	}
	want := []Total{
		{Name: "DrainDuration", Unit: "Seconds", Dims: a, Sum: 30, Samples: 2},
		{Name: "DrainsStarted", Unit: "Count", Dims: a, Sum: 2, Samples: 2},
		{Name: "DrainsStarted", Unit: "Count", Dims: b, Sum: 1, Samples: 1},
	}
	if diff := cmp.Diff(want, Totals(data)); diff != "" {
		t.Errorf("Totals (-want +got):\n%s", diff)
	}
	if got := want[1].Key(); got != "DrainsStarted{Cluster=prod,AutoScalingGroup=a}" {
		t.Errorf("Key = %q", got)
	}
}

// Every metric the contract names has a CloudWatch unit.
func TestEveryContractMetricHasACloudWatchUnit(t *testing.T) {
	for name, unit := range contract.MetricUnits() {
		if !slices.Contains(units, unit) {
			t.Errorf("%s: unit %q is not a CloudWatch unit", name, unit)
		}
	}
}
