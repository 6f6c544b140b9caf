// Package emf writes CloudWatch metrics in the Embedded Metric Format on the
// function's JSON log lines, and reads them back as CloudWatch Logs would
// extract them
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
// A line is both a log line and a metric: the "_aws" member names the
// metrics, the line's root members carry their values and dimension values.
// No agent and no API call: Lambda sends stdout to CloudWatch Logs, which
// extracts the metrics.
package emf

import (
	"log/slog"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
)

// Dim is a dimension: a name from the contract and its value.
type Dim struct{ Name, Value string }

// Metric is one value of a metric named in the contract.
type Metric struct {
	Name  string
	Value float64
}

// Set is metrics that share their dimensions.
type Set struct {
	Dims    []Dim
	Metrics []Metric
}

type directive struct {
	Namespace  string       `json:"Namespace"`
	Dimensions [][]string   `json:"Dimensions"`
	Metrics    []definition `json:"Metrics"`
}

type definition struct {
	Name string `json:"Name"`
	Unit string `json:"Unit,omitempty"`
}

// Attrs are the members that make a log line carry the sets' metrics at
// time at: "_aws" and the values, each dimension value once. Sets with no
// metric are left out; no set gives no attribute. A metric named twice on a
// line keeps its first value (one root member per name).
func Attrs(at time.Time, sets ...Set) []slog.Attr {
	units := contract.MetricUnits()
	var directives []directive
	var attrs []slog.Attr
	seen := map[string]bool{}
	for _, s := range sets {
		var defs []definition
		for _, m := range s.Metrics {
			if seen[m.Name] {
				continue
			}
			seen[m.Name] = true
			defs = append(defs, definition{Name: m.Name, Unit: units[m.Name]})
			attrs = append(attrs, slog.Float64(m.Name, m.Value))
		}
		if len(defs) == 0 {
			continue
		}
		keys := make([]string, len(s.Dims))
		for i, d := range s.Dims {
			keys[i] = d.Name
			if !seen[d.Name] {
				seen[d.Name] = true
				attrs = append(attrs, slog.String(d.Name, d.Value))
			}
		}
		directives = append(directives, directive{Namespace: contract.MetricNamespace, Dimensions: [][]string{keys}, Metrics: defs})
	}
	if len(directives) == 0 {
		return nil
	}
	meta := slog.Group("_aws", slog.Int64("Timestamp", at.UnixMilli()), slog.Any("CloudWatchMetrics", directives))
	return append([]slog.Attr{meta}, attrs...)
}
