package emf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The specification's limits
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
const (
	maxMetrics        = 100     // MetricDefinitions in a MetricDirective
	maxDimensionKeys  = 30      // keys in a DimensionSet
	maxValues         = 100     // values in a metric's array
	maxDimensionValue = 1024    // characters in a dimension's value
	maxDimensionName  = 250     // characters in a DimensionReference
	maxMetricName     = 1024    // characters in a MetricDefinition's Name
	maxNamespace      = 255     // characters in a Namespace
	maxEvent          = 1 << 20 // bytes of a log event
)

// units are the CloudWatch units a MetricDefinition may name
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html).
var units = strings.Fields(`Seconds Microseconds Milliseconds Bytes Kilobytes Megabytes Gigabytes Terabytes
	Bits Kilobits Megabits Gigabits Terabits Percent Count Bytes/Second Kilobytes/Second Megabytes/Second
	Gigabytes/Second Terabytes/Second Bits/Second Kilobits/Second Megabits/Second Gigabits/Second
	Terabits/Second Count/Second None`)

// Datum is one metric as CloudWatch extracts it from a line: one per metric
// and dimension set of each directive.
type Datum struct {
	Namespace, Name, Unit string
	Dims                  []Dim // in the order the set names them
	Values                []float64
	Time                  time.Time
}

// Parse checks a log line against the specification and returns the
// metrics CloudWatch would extract from it; a line without "_aws" is a plain
// log line and gives none.
func Parse(line []byte) ([]Datum, error) {
	if len(line) > maxEvent {
		return nil, fmt.Errorf("%d bytes, over the %d a log event may have", len(line), maxEvent)
	}
	var root map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if dec.More() {
		return nil, errors.New("data after the JSON object")
	}
	raw, ok := root["_aws"]
	if !ok {
		return nil, nil
	}
	var meta struct {
		Timestamp         *json.Number
		CloudWatchMetrics *[]json.RawMessage
	}
	if err := strict(raw, &meta, false); err != nil {
		return nil, fmt.Errorf("_aws: %w", err)
	}
	if meta.Timestamp == nil || meta.CloudWatchMetrics == nil {
		return nil, errors.New("_aws: Timestamp and CloudWatchMetrics are required")
	}
	ms, err := meta.Timestamp.Int64()
	if err != nil {
		return nil, fmt.Errorf("_aws.Timestamp %s: not milliseconds since the epoch", *meta.Timestamp)
	}
	var out []Datum
	for i, d := range *meta.CloudWatchMetrics {
		data, err := directiveData(root, d, time.UnixMilli(ms).UTC())
		if err != nil {
			return nil, fmt.Errorf("CloudWatchMetrics[%d]: %w", i, err)
		}
		out = append(out, data...)
	}
	return out, nil
}

func directiveData(root map[string]json.RawMessage, raw json.RawMessage, at time.Time) ([]Datum, error) {
	var d struct {
		Namespace  *string
		Dimensions *[][]string
		Metrics    *[]struct {
			Name              *string
			Unit              *string
			StorageResolution *int
		}
	}
	if err := strict(raw, &d, true); err != nil {
		return nil, err
	}
	if d.Namespace == nil || d.Dimensions == nil || d.Metrics == nil {
		return nil, errors.New("a directive needs Namespace, Dimensions and Metrics")
	}
	if n := len(*d.Namespace); n < 1 || n > maxNamespace {
		return nil, fmt.Errorf("a Namespace of %d characters, want 1 to %d", n, maxNamespace)
	}
	if n := len(*d.Metrics); n > maxMetrics {
		return nil, fmt.Errorf("%d metrics, over %d", n, maxMetrics)
	}
	sets := make([][]Dim, 0, len(*d.Dimensions))
	for _, set := range *d.Dimensions {
		if len(set) > maxDimensionKeys {
			return nil, fmt.Errorf("a dimension set of %d keys, over %d", len(set), maxDimensionKeys)
		}
		dims := make([]Dim, len(set))
		for i, k := range set {
			if len(k) < 1 || len(k) > maxDimensionName {
				return nil, fmt.Errorf("dimension name %q: 1 to %d characters", k, maxDimensionName)
			}
			var v string
			if err := json.Unmarshal(root[k], &v); err != nil {
				return nil, fmt.Errorf("dimension %s: the root has no string member of that name", k)
			}
			if len(v) > maxDimensionValue {
				return nil, fmt.Errorf("dimension %s: value of %d characters, over %d", k, len(v), maxDimensionValue)
			}
			dims[i] = Dim{Name: k, Value: v}
		}
		sets = append(sets, dims)
	}
	var out []Datum
	for _, m := range *d.Metrics {
		if m.Name == nil || len(*m.Name) < 1 || len(*m.Name) > maxMetricName {
			return nil, fmt.Errorf("a metric without a Name of 1 to %d characters", maxMetricName)
		}
		name, unit := *m.Name, "None"
		if m.Unit != nil {
			unit = *m.Unit
			if !slices.Contains(units, unit) {
				return nil, fmt.Errorf("metric %s: unit %q is not a CloudWatch unit", name, unit)
			}
		}
		if r := m.StorageResolution; r != nil && *r != 1 && *r != 60 {
			return nil, fmt.Errorf("metric %s: StorageResolution %d, want 1 or 60", name, *r)
		}
		values, err := valuesOf(root[name])
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", name, err)
		}
		for _, dims := range sets {
			out = append(out, Datum{Namespace: *d.Namespace, Name: name, Unit: unit, Dims: dims, Values: values, Time: at})
		}
	}
	return out, nil
}

// valuesOf reads a metric's root member: a number or an array of numbers.
func valuesOf(raw json.RawMessage) ([]float64, error) {
	if raw == nil {
		return nil, errors.New("the root has no member of that name")
	}
	var one float64
	if err := json.Unmarshal(raw, &one); err == nil {
		return []float64{one}, nil
	}
	var many []float64
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, errors.New("its value is neither a number nor an array of numbers")
	}
	if len(many) > maxValues {
		return nil, fmt.Errorf("%d values, over %d", len(many), maxValues)
	}
	return many, nil
}

// strict decodes raw into v, refusing unknown members when closed (the
// specification's objects "MUST NOT contain any additional members").
func strict(raw json.RawMessage, v any, closed bool) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if closed {
		dec.DisallowUnknownFields()
	}
	return dec.Decode(v)
}

// Total is a metric's values over a run, summed per dimension set as
// CloudWatch's Sum statistic would over the whole period.
type Total struct {
	Name, Unit string
	Dims       []Dim
	Sum        float64
	Samples    int
}

// Key names the total's metric and dimension set, "Name{A=a,B=b}".
func (t Total) Key() string {
	parts := make([]string, len(t.Dims))
	for i, d := range t.Dims {
		parts[i] = d.Name + "=" + d.Value
	}
	return t.Name + "{" + strings.Join(parts, ",") + "}"
}

// Totals sums data per metric and dimension set, in Key order.
func Totals(data []Datum) []Total {
	byKey := map[string]*Total{}
	for _, d := range data {
		t := Total{Name: d.Name, Unit: d.Unit, Dims: d.Dims}
		k := t.Key()
		if byKey[k] == nil {
			byKey[k] = &t
		}
		for _, v := range d.Values {
			byKey[k].Sum += v
			byKey[k].Samples++
		}
	}
	out := make([]Total, 0, len(byKey))
	for _, t := range byKey {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b Total) int { return strings.Compare(a.Key(), b.Key()) })
	return out
}
