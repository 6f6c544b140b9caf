package drainer

import (
	"fmt"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
)

// The stuck alarms' evaluation: the gauge comes once a sweep, from one
// invocation's log line (Embedded Metric Format, flushed per invocation),
// so one period is one sweep. A sweep late, lost or run twice in a period
// must not decide alone, and the age keeps growing while a drain is stuck:
// 3 breaching sweeps of the last 5, with a missing one (no sweep, or a
// group with nothing in flight) counted as fine.
const (
	stuckDatapoints        = 3
	stuckEvaluationPeriods = 5
)

// The dashboard's periods: the drains' counts and durations over 5
// minutes (a drain is minutes long, and a refresh step ends many at once);
// the function's own metrics and the throttles every minute, Lambda's
// finest.
const (
	countPeriod    = 5 * time.Minute
	functionPeriod = time.Minute
)

// Graph widget sizes: two side by side on the dashboard's 24 columns.
const (
	widgetWidth  = 12
	widgetHeight = 6
)

// groupDims are the dimensions the function writes a group's metrics
// with: its cluster and its group, values the construct knows from
// Targets.
func groupDims(t Target) *map[string]*string {
	return &map[string]*string{
		contract.DimCluster: t.Cluster.ClusterName(),
		contract.DimGroup:   t.AutoScalingGroup.AutoScalingGroupName(),
	}
}

// emf is one of the function's metrics (contract.Metric*) for a group,
// labelled label on a graph; an alarm's gets none, which would make it a
// metric math alarm.
func emf(t Target, name, statistic string, period time.Duration, label string) awscloudwatch.Metric {
	props := &awscloudwatch.MetricProps{
		Namespace:     jsii.String(contract.MetricNamespace),
		MetricName:    jsii.String(name),
		DimensionsMap: groupDims(t),
		Statistic:     jsii.String(statistic),
		Period:        seconds(period.Seconds()),
	}
	if label != "" {
		props.Label = jsii.String(label)
	}
	return awscloudwatch.NewMetric(props)
}

// stuckAlarms creates a group's stuck-drain alarm per target: its oldest
// drain's age (the sweep's OldestDrainAge gauge, maximum per sweep) above
// StuckAlarmAge. An instance refresh whose AlarmSpecification names it
// stops replacing instances (and rolls back, with AutoRollback) when a
// drain of its group cannot finish, instead of piling up more.
// (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_AlarmSpecification.html)
// Without the reconciler there is no sweep, hence no gauge and no alarm.
func (d *Drainer) stuckAlarms(c config) {
	if c.reconcile == 0 {
		return
	}
	d.stuckByGroup = map[string]awscloudwatch.Alarm{}
	for i, t := range c.targets {
		group := c.groupNames[i]
		a := awscloudwatch.NewAlarm(d.Construct, jsii.String("StuckAlarm"+hookSuffix(t.AutoScalingGroup)), &awscloudwatch.AlarmProps{
			AlarmDescription: jsii.String(fmt.Sprintf("ecs-drainer: a drain of group %s has waited more than %s on its hook (OldestDrainAge, in %d of %d reconciler sweeps); the drain cannot finish on its own. Its DIAGNOSED log line and event, and the dashboard's stuck drains by reason, say what blocks it (no_capacity: add capacity; deployment_config: the service's minimum healthy or maximum percent; agent_disconnected: the instance's ECS agent). An instance refresh with this alarm in its AlarmSpecification stops.",
				group, c.stuckAlarmAge, stuckDatapoints, stuckEvaluationPeriods)),
			Metric:             emf(t, contract.MetricOldestDrain, "Maximum", c.reconcile, ""),
			Threshold:          jsii.Number(c.stuckAlarmAge.Seconds()),
			DatapointsToAlarm:  jsii.Number(stuckDatapoints),
			EvaluationPeriods:  jsii.Number(stuckEvaluationPeriods),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		if c.alarmTopic != nil {
			a.AddAlarmAction(awscloudwatchactions.NewSnsAction(c.alarmTopic))
		}
		d.StuckAlarms = append(d.StuckAlarms, a)
		d.stuckByGroup[group] = a
	}
}

// search is a SEARCH expression for one group's metric name, one series
// per value of the dimension by (an outcome, a reason). The outcomes and
// reasons are searched rather than listed from the contract: the dashboard
// then shows every value the function actually wrote, a new outcome
// included, with no change here (a listed set would drop it silently),
// and no empty series for the values that never occur. Each name is an
// exact match (quoted), so group "a" does not also show group "ab".
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/search-expression-syntax.html)
func search(t Target, name, by, statistic string, period time.Duration, label string) awscloudwatch.SearchExpression {
	expr := fmt.Sprintf(`SEARCH('{%s,%s,%s,%s} MetricName="%s" %s="%s" %s="%s"', '%s', %d)`,
		contract.MetricNamespace, contract.DimCluster, contract.DimGroup, by, name,
		contract.DimCluster, *t.Cluster.ClusterName(), contract.DimGroup, *t.AutoScalingGroup.AutoScalingGroupName(),
		statistic, int(period.Seconds()))
	return awscloudwatch.NewSearchExpression(&awscloudwatch.SearchExpressionProps{
		Expression: jsii.String(expr),
		Label:      jsii.String(label + " ${PROP('Dim." + by + "')}"),
		Period:     seconds(period.Seconds()),
	})
}

// graph is a graph widget of half the dashboard's width.
func graph(title string, left []awscloudwatch.IMetric, props *awscloudwatch.GraphWidgetProps) awscloudwatch.GraphWidget {
	if props == nil {
		props = &awscloudwatch.GraphWidgetProps{}
	}
	props.Title, props.Left = jsii.String(title), &left
	props.Width, props.Height = jsii.Number(widgetWidth), jsii.Number(widgetHeight)
	return awscloudwatch.NewGraphWidget(props)
}

// dashboard creates the drainer's dashboard: what an operator looks at
// during a scale-in or an instance refresh. The gauges (in flight, oldest,
// stuck) come from the reconciler's sweep, so they are left out without
// it. Each group is its own series, labelled with its name.
func (d *Drainer) dashboard(c config) {
	if !c.dashboard {
		return
	}
	var rows [][]awscloudwatch.IWidget
	perGroup := func(f func(t Target, group string) []awscloudwatch.IMetric) []awscloudwatch.IMetric {
		var out []awscloudwatch.IMetric
		for i, t := range c.targets {
			out = append(out, f(t, c.groupNames[i])...)
		}
		return out
	}
	if c.reconcile > 0 {
		rows = append(rows, []awscloudwatch.IWidget{
			graph("Drains in flight", perGroup(func(t Target, g string) []awscloudwatch.IMetric {
				return []awscloudwatch.IMetric{emf(t, contract.MetricDrainsInFlight, "Maximum", c.reconcile, g)}
			}), nil),
			graph("Oldest drain age (seconds)", perGroup(func(t Target, g string) []awscloudwatch.IMetric {
				return []awscloudwatch.IMetric{emf(t, contract.MetricOldestDrain, "Maximum", c.reconcile, g)}
			}), &awscloudwatch.GraphWidgetProps{LeftAnnotations: &[]*awscloudwatch.HorizontalAnnotation{{
				Value: jsii.Number(c.stuckAlarmAge.Seconds()), Label: jsii.String("stuck alarm"),
			}}}),
		})
	}
	rows = append(rows, []awscloudwatch.IWidget{
		graph("Drains ended by outcome", perGroup(func(t Target, g string) []awscloudwatch.IMetric {
			return []awscloudwatch.IMetric{search(t, contract.MetricDrainsEnded, contract.DimOutcome, "Sum", countPeriod, g)}
		}), &awscloudwatch.GraphWidgetProps{Stacked: jsii.Bool(true)}),
		graph("Drain duration p50 and p99 (seconds)", perGroup(func(t Target, g string) []awscloudwatch.IMetric {
			return []awscloudwatch.IMetric{
				emf(t, contract.MetricDrainDuration, "p50", countPeriod, g+" p50"),
				emf(t, contract.MetricDrainDuration, "p99", countPeriod, g+" p99"),
			}
		}), &awscloudwatch.GraphWidgetProps{LeftAnnotations: &[]*awscloudwatch.HorizontalAnnotation{{
			Value: jsii.Number(c.maxDrain.Seconds()), Label: jsii.String("MaxDrain"),
		}}}),
	})
	dlq := graph("Dead-letter queue depth", []awscloudwatch.IMetric{
		d.DeadLetterQueue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Statistic: jsii.String("Maximum"), Period: seconds(functionPeriod.Seconds()), Label: jsii.String("messages"),
		}),
	}, nil)
	if c.reconcile > 0 {
		rows = append(rows, []awscloudwatch.IWidget{
			graph("Stuck drains by reason", perGroup(func(t Target, g string) []awscloudwatch.IMetric {
				return []awscloudwatch.IMetric{search(t, contract.MetricStuckDrains, contract.DimReason, "Maximum", c.reconcile, g)}
			}), &awscloudwatch.GraphWidgetProps{Stacked: jsii.Bool(true)}),
			dlq,
		})
	} else {
		rows = append(rows, []awscloudwatch.IWidget{dlq})
	}
	fnOpts := func(statistic, label string) *awscloudwatch.MetricOptions {
		return &awscloudwatch.MetricOptions{Statistic: jsii.String(statistic), Period: seconds(functionPeriod.Seconds()), Label: jsii.String(label)}
	}
	rows = append(rows, []awscloudwatch.IWidget{
		graph("Function errors and throttles", []awscloudwatch.IMetric{
			d.Function.MetricErrors(fnOpts("Sum", "errors")),
			d.Function.MetricThrottles(fnOpts("Sum", "throttles")),
		}, nil),
		graph("Function duration (ms)", []awscloudwatch.IMetric{
			d.Function.MetricDuration(fnOpts("p50", "p50")),
			d.Function.MetricDuration(fnOpts("p99", "p99")),
			d.Function.MetricDuration(fnOpts("Maximum", "max")),
		}, &awscloudwatch.GraphWidgetProps{LeftAnnotations: &[]*awscloudwatch.HorizontalAnnotation{{
			Value: jsii.Number(float64(functionTimeout.Milliseconds())), Label: jsii.String("timeout"),
		}}}),
	})
	// ThrottledCalls has the Service dimension only (ecs, autoscaling,
	// sqs, ...): throttling is per account and Region, so the series add
	// up every drainer's there, which is what a throttled bucket sees.
	// Searched for the same reason as the outcomes.
	rows = append(rows, []awscloudwatch.IWidget{
		graph("Throttled AWS answers by service (ecs, ...)", []awscloudwatch.IMetric{
			awscloudwatch.NewSearchExpression(&awscloudwatch.SearchExpressionProps{
				Expression: jsii.String(fmt.Sprintf(`SEARCH('{%s,%s} MetricName="%s"', 'Sum', %d)`,
					contract.MetricNamespace, contract.DimService, contract.MetricThrottles, int(functionPeriod.Seconds()))),
				Label:  jsii.String("${PROP('Dim." + contract.DimService + "')}"),
				Period: seconds(functionPeriod.Seconds()),
			}),
		}, &awscloudwatch.GraphWidgetProps{Stacked: jsii.Bool(true)}),
	})
	widgets := make([]*[]awscloudwatch.IWidget, len(rows))
	for i := range rows {
		widgets[i] = &rows[i]
	}
	d.Dashboard = awscloudwatch.NewDashboard(d.Construct, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		Widgets: &widgets,
	})
}
