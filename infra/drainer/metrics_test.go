package drainer_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/infra/drainer"
	"github.com/ecs-drainer/ecs-drainer/internal/contract"
)

// The dashboard's graphs, in order; the first two and the stuck drains
// are the sweep's gauges, left out without the reconciler.
var (
	allWidgets = []string{
		"Drains in flight", "Oldest drain age (seconds)",
		"Drains ended by outcome", "Drain duration p50 and p99 (seconds)",
		"Stuck drains by reason", "Dead-letter queue depth",
		"Function errors and throttles", "Function duration (ms)",
		"Throttled AWS answers by service (ecs, ...)",
	}
	withoutGauges = []string{
		"Drains ended by outcome", "Drain duration p50 and p99 (seconds)",
		"Dead-letter queue depth",
		"Function errors and throttles", "Function duration (ms)",
		"Throttled AWS answers by service (ecs, ...)",
	}
)

// widget is one graph of a synthesized dashboard.
type widget struct {
	title       string
	metrics     []any // the rows of properties.metrics
	annotations []any // properties.annotations.horizontal
	stacked     bool
}

// dashboardWidgets reads the one dashboard's body. The template holds it as
// an Fn::Join of JSON text and intrinsics (the region, the queue's and the
// function's names); each intrinsic becomes a placeholder, <Ref ID>,
// <GetAtt ID.Attr> or <Fn::Name>, so the text parses as JSON.
func dashboardWidgets(t *testing.T, tpl map[string]any) []widget {
	t.Helper()
	_, props := only(t, tpl, "AWS::CloudWatch::Dashboard", nil)
	var text strings.Builder
	switch body := props["DashboardBody"].(type) {
	case string:
		text.WriteString(body)
	case map[string]any:
		join := body["Fn::Join"].([]any)
		for _, part := range join[1].([]any) {
			text.WriteString(placeholder(part))
		}
	}
	var parsed struct {
		Widgets []struct {
			Properties struct {
				Title       string `json:"title"`
				Metrics     []any  `json:"metrics"`
				Stacked     bool   `json:"stacked"`
				Annotations struct {
					Horizontal []any `json:"horizontal"`
				} `json:"annotations"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(text.String()), &parsed); err != nil {
		t.Fatalf("the dashboard body is not JSON: %v\n%s", err, text.String())
	}
	var out []widget
	for _, w := range parsed.Widgets {
		p := w.Properties
		out = append(out, widget{title: p.Title, metrics: p.Metrics, annotations: p.Annotations.Horizontal, stacked: p.Stacked})
	}
	return out
}

// placeholder renders a part of an Fn::Join: text as is, an intrinsic as
// a placeholder.
func placeholder(part any) string {
	switch p := part.(type) {
	case string:
		return p
	case map[string]any:
		if ref, ok := p["Ref"].(string); ok {
			return "<Ref " + ref + ">"
		}
		if att, ok := p["Fn::GetAtt"].([]any); ok {
			return fmt.Sprintf("<GetAtt %v.%v>", att[0], att[1])
		}
		for k := range p {
			return "<" + k + ">"
		}
	}
	return fmt.Sprint(part)
}

// metricRow is a metric's row as the dashboard JSON holds it: namespace,
// name, the dimensions by name, and its options (a period of 300 s, the
// default, left out).
func metricRow(namespace, name string, dims []string, label, stat string, period int) []any {
	row := []any{namespace, name}
	for _, d := range dims {
		row = append(row, d)
	}
	opts := map[string]any{"label": label, "stat": stat}
	if period != 300 {
		opts["period"] = float64(period)
	}
	return append(row, opts)
}

// groupRow is one of the function's metrics for a group.
func groupRow(name, group, cluster, label, stat string, period int) []any {
	return metricRow(contract.MetricNamespace, name, []string{contract.DimGroup, group, contract.DimCluster, cluster}, label, stat, period)
}

// searchRow is a SEARCH of a group's metric, one series per value of by.
func searchRow(name, by, group, cluster, stat string, period int, withPeriod bool) []any {
	expr := map[string]any{
		"expression": fmt.Sprintf(`SEARCH('{%s,%s,%s,%s} MetricName="%s" %s="%s" %s="%s"', '%s', %d)`,
			contract.MetricNamespace, contract.DimCluster, contract.DimGroup, by, name,
			contract.DimCluster, cluster, contract.DimGroup, group, stat, period),
		"label": group + " ${PROP('Dim." + by + "')}",
	}
	if withPeriod {
		expr["period"] = float64(period)
	}
	return []any{expr}
}

func annotation(label string, value float64) []any {
	return []any{map[string]any{"label": label, "value": value, "yAxis": "left"}}
}

// The dashboard must graph, per group the construct drains, the metrics
// the function writes under the contract's names and dimensions, with the
// outcomes and reasons found by SEARCH; otherwise an operator watching a
// refresh sees empty graphs (a name or a dimension the function does not
// write) or misses a new outcome.
func TestTheDashboardGraphsTheFunctionsMetricsPerGroup(t *testing.T) {
	s := synth(t)
	_, _, dlq := queueIDs(t, s.multiJSON)
	fn := mustID(t, s.multiJSON, "AWS::Lambda::Function")
	clusterOf := map[string]string{"blue-a": "blue", "blue-b": "blue", "green-a": "green"}
	perGroup := func(row func(g, c string) [][]any) []any {
		var out []any
		for _, g := range multiGroups {
			for _, r := range row(g, clusterOf[g]) {
				out = append(out, r)
			}
		}
		return out
	}
	const sweep = 120 // ReconcileInterval: one gauge a sweep
	fnRow := func(name, label, stat string) []any {
		return metricRow("AWS/Lambda", name, []string{"FunctionName", "<Ref " + fn + ">"}, label, stat, 60)
	}
	want := []widget{
		{title: "Drains in flight", metrics: perGroup(func(g, c string) [][]any {
			return [][]any{groupRow(contract.MetricDrainsInFlight, g, c, g, "Maximum", sweep)}
		})},
		{title: "Oldest drain age (seconds)", metrics: perGroup(func(g, c string) [][]any {
			return [][]any{groupRow(contract.MetricOldestDrain, g, c, g, "Maximum", sweep)}
		}), annotations: annotation("stuck alarm", 3600)}, // half of MaxDrain 2 h
		{title: "Drains ended by outcome", stacked: true, metrics: perGroup(func(g, c string) [][]any {
			return [][]any{searchRow(contract.MetricDrainsEnded, contract.DimOutcome, g, c, "Sum", 300, false)}
		})},
		{title: "Drain duration p50 and p99 (seconds)", metrics: perGroup(func(g, c string) [][]any {
			return [][]any{
				groupRow(contract.MetricDrainDuration, g, c, g+" p50", "p50", 300),
				groupRow(contract.MetricDrainDuration, g, c, g+" p99", "p99", 300),
			}
		}), annotations: annotation("MaxDrain", 7200)},
		{title: "Stuck drains by reason", stacked: true, metrics: perGroup(func(g, c string) [][]any {
			return [][]any{searchRow(contract.MetricStuckDrains, contract.DimReason, g, c, "Maximum", sweep, true)}
		})},
		{title: "Dead-letter queue depth", metrics: []any{
			metricRow("AWS/SQS", "ApproximateNumberOfMessagesVisible", []string{"QueueName", "<GetAtt " + dlq + ".QueueName>"}, "messages", "Maximum", 60),
		}},
		{title: "Function errors and throttles", metrics: []any{fnRow("Errors", "errors", "Sum"), fnRow("Throttles", "throttles", "Sum")}},
		{title: "Function duration (ms)", metrics: []any{fnRow("Duration", "p50", "p50"), fnRow("Duration", "p99", "p99"), fnRow("Duration", "max", "Maximum")},
			annotations: annotation("timeout", 30000)},
		// Service only: throttling is per account and Region.
		{title: "Throttled AWS answers by service (ecs, ...)", stacked: true, metrics: []any{[]any{map[string]any{
			"expression": fmt.Sprintf(`SEARCH('{%s,%s} MetricName="%s"', 'Sum', 60)`, contract.MetricNamespace, contract.DimService, contract.MetricThrottles),
			"label":      "${PROP('Dim." + contract.DimService + "')}",
			"period":     float64(60),
		}}}},
	}
	got := dashboardWidgets(t, s.multiJSON)
	var titles []string
	for _, w := range got {
		titles = append(titles, w.title)
	}
	if diff := cmp.Diff(allWidgets, titles); diff != "" {
		t.Fatalf("dashboard widgets (-want +got):\n%s", diff)
	}
	for i, w := range want {
		t.Run(w.title, func(t *testing.T) {
			if diff := cmp.Diff(w, got[i], cmp.AllowUnexported(widget{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("a group whose name is a token is searched by its parameter", func(t *testing.T) {
		ws := dashboardWidgets(t, s.defaultsJS)
		if len(ws) != len(allWidgets) {
			t.Fatalf("%d widgets, want %d", len(ws), len(allWidgets))
		}
		ended := ws[2].metrics[0].([]any)[0].(map[string]any)["expression"].(string)
		if !strings.Contains(ended, contract.DimGroup+`="<Ref GroupName>"`) {
			t.Errorf("the defaults stack's outcome search %s does not name the GroupName parameter", ended)
		}
	})
}

// Each group must get an alarm an instance refresh can stop on: its
// oldest drain older than StuckAlarmAge in 3 of 5 sweeps (a late or lost
// sweep alone must not stop a refresh), quiet while nothing drains;
// otherwise a refresh keeps terminating instances behind a drain that
// cannot finish.
func TestEachGroupHasAStuckDrainAlarm(t *testing.T) {
	s := synth(t)
	clusterOf := map[string]string{"blue-a": "blue", "blue-b": "blue", "green-a": "green"}
	stuck := func(group, cluster string, period, threshold float64) map[string]any {
		return map[string]any{
			"Namespace":  contract.MetricNamespace,
			"MetricName": contract.MetricOldestDrain,
			"Dimensions": []any{
				map[string]any{"Name": contract.DimGroup, "Value": group},
				map[string]any{"Name": contract.DimCluster, "Value": cluster},
			},
			"Statistic":          "Maximum",
			"Period":             period,
			"Threshold":          threshold,
			"DatapointsToAlarm":  3,
			"EvaluationPeriods":  5,
			"ComparisonOperator": "GreaterThanThreshold",
			"TreatMissingData":   "notBreaching",
		}
	}
	for _, g := range multiGroups {
		t.Run(g, func(t *testing.T) {
			// One sweep a period (ReconcileInterval 2 min); half of
			// MaxDrain 2 h; the topic, like every alarm.
			props := stuck(g, clusterOf[g], 120, 3600)
			props["AlarmActions"] = []any{topicARN}
			props["AlarmDescription"] = assertions.Match_StringLikeRegexp(jsii.String("group " + g + " has waited more than 1h0m0s.*AlarmSpecification"))
			has(t, s.multi, "AWS::CloudWatch::Alarm", props)
			alarm := s.multiDrainer.StuckAlarm(g)
			if alarm == nil {
				t.Fatalf("StuckAlarm(%q) is nil", g)
			}
			name := toMap(map[string]any{"v": s.multiStack.Resolve(alarm.AlarmName())})["v"]
			ref, _ := name.(map[string]any)["Ref"].(string)
			if want := "DrainerStuckAlarm" + strings.ReplaceAll(g, "-", ""); !strings.HasPrefix(ref, want) {
				t.Errorf("StuckAlarm(%q).AlarmName() = %v, want the Ref of %s...", g, name, want)
			}
		})
	}
	if n := len(s.multiDrainer.StuckAlarms); n != len(multiGroups) {
		t.Errorf("%d StuckAlarms, want one per group", n)
	}
	if a := s.multiDrainer.StuckAlarm("not-a-target"); a != nil {
		t.Errorf("StuckAlarm of a group not in Targets = %v, want nil", a)
	}
	t.Run("the defaults: half of the default MaxDrain, one-minute sweeps", func(t *testing.T) {
		props := stuck("", "", 60, contract.MaxDrain.Default.Seconds()/2)
		delete(props, "Dimensions")
		has(t, s.defaults, "AWS::CloudWatch::Alarm", props)
	})
}

// DisableDashboard must remove the dashboard and only it: the stuck
// alarms (a refresh's alarm specification) stay.
func TestDisableDashboardCreatesNoDashboard(t *testing.T) {
	skipSynthIfShort(t)
	stack, d := oneGroup("NoDashboard", drainer.Props{
		DisableDashboard: true,
		StuckAlarmAge:    awscdk.Duration_Minutes(jsii.Number(10)),
	})
	if d.Dashboard != nil {
		t.Errorf("Dashboard = %v, want nil", d.Dashboard)
	}
	tpl := assertions.Template_FromStack(stack, nil)
	count(t, tpl, "AWS::CloudWatch::Dashboard", 0)
	count(t, tpl, "AWS::CloudWatch::Alarm", 6) // the five and the group's stuck alarm
	has(t, tpl, "AWS::CloudWatch::Alarm", map[string]any{"MetricName": contract.MetricOldestDrain, "Threshold": 600})
	if d.StuckAlarm("g") == nil {
		t.Errorf("StuckAlarm(g) is nil; the stuck alarm does not depend on the dashboard")
	}
}
