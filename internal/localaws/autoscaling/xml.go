package autoscaling

import (
	"bytes"
	"encoding/xml"
	"time"
)

// The XML of each operation's result, shaped after the SDK's deserializers
// (service/autoscaling v1.80.0 deserializers.go, types/types.go). Lists are
// awsQuery's non-flattened <Name><member>…</member></Name>; required lists
// are emitted even when empty, as AWS does, so the SDK returns an empty slice
// rather than nil.

// members is a non-flattened awsQuery list.
type members[T any] struct {
	Member []T `xml:"member"`
}

func list[T any](v []T) members[T] { return members[T]{Member: v} }

// timestamp renders ISO 8601 UTC with milliseconds, as AWS does.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func optionalTimestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return timestamp(t)
}

// resultRoot names the element every result type marshals as; encodeResult
// strips it, because awswire.WriteQueryResult adds the <OpResult> element
// itself and expects only its content.
const resultRoot = "r"

func encodeResult(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	b, err := xml.Marshal(v)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimPrefix(b, []byte("<"+resultRoot+">"))
	return bytes.TrimSuffix(b, []byte("</"+resultRoot+">")), nil
}

type describeLifecycleHooksResult struct {
	XMLName        xml.Name         `xml:"r"`
	LifecycleHooks members[hookXML] `xml:"LifecycleHooks"`
}

type hookXML struct {
	LifecycleHookName     string
	AutoScalingGroupName  string
	LifecycleTransition   string
	NotificationTargetARN string `xml:",omitempty"`
	RoleARN               string `xml:",omitempty"`
	NotificationMetadata  string `xml:",omitempty"`
	HeartbeatTimeout      int32
	GlobalTimeout         int32
	DefaultResult         string
}

func hookToXML(h *Hook) hookXML {
	return hookXML{
		LifecycleHookName:     h.Name,
		AutoScalingGroupName:  h.Group,
		LifecycleTransition:   h.Transition,
		NotificationTargetARN: h.NotificationTargetARN,
		RoleARN:               h.RoleARN,
		NotificationMetadata:  h.NotificationMetadata,
		HeartbeatTimeout:      h.HeartbeatTimeout,
		GlobalTimeout:         h.GlobalTimeout(),
		DefaultResult:         h.DefaultResult,
	}
}

type describeInstancesResult struct {
	XMLName              xml.Name                   `xml:"r"`
	AutoScalingInstances members[instanceDetailXML] `xml:"AutoScalingInstances"`
	NextToken            string                     `xml:",omitempty"`
}

type instanceDetailXML struct {
	InstanceID           string `xml:"InstanceId"`
	AutoScalingGroupName string
	AvailabilityZone     string
	LifecycleState       string
	HealthStatus         string
	ProtectedFromScaleIn bool
}

type describeGroupsResult struct {
	XMLName           xml.Name          `xml:"r"`
	AutoScalingGroups members[groupXML] `xml:"AutoScalingGroups"`
	NextToken         string            `xml:",omitempty"`
}

type groupXML struct {
	AutoScalingGroupName   string
	AutoScalingGroupARN    string
	MinSize                int
	MaxSize                int
	DesiredCapacity        int
	DefaultCooldown        int
	AvailabilityZones      members[string]
	HealthCheckType        string
	HealthCheckGracePeriod int
	Instances              members[instanceXML]
	CreatedTime            string
	TerminationPolicies    members[string]
	WarmPoolConfiguration  *warmPoolXML `xml:",omitempty"`
	WarmPoolSize           *int         `xml:",omitempty"`
	// DefaultInstanceWarmup and InstanceMaintenancePolicy appear only when
	// set.
	DefaultInstanceWarmup     *int                  `xml:",omitempty"`
	InstanceMaintenancePolicy *maintenancePolicyXML `xml:",omitempty"`
}

type maintenancePolicyXML struct {
	MinHealthyPercentage int
	MaxHealthyPercentage int
}

type instanceXML struct {
	InstanceID           string `xml:"InstanceId"`
	AvailabilityZone     string
	LifecycleState       string
	HealthStatus         string
	ProtectedFromScaleIn bool
}

// defaultCooldown is the API default; the emulator has no cooldowns.
const defaultCooldown = 300

func groupToXML(g *group) groupXML {
	x := groupXML{
		AutoScalingGroupName: g.name,
		AutoScalingGroupARN:  g.arn,
		MinSize:              g.min,
		MaxSize:              g.max,
		DesiredCapacity:      g.desired,
		DefaultCooldown:      defaultCooldown,
		AvailabilityZones:    list(g.azs),
		HealthCheckType:      "EC2",
		CreatedTime:          timestamp(g.created),
		TerminationPolicies:  list([]string{"Default"}),
	}
	// "To retrieve information about the instances in a warm pool, you must
	// call the DescribeWarmPool API" (API_DescribeAutoScalingGroups): the
	// group's Instances are its members only.
	warm := 0
	for _, in := range g.instances {
		if in.warm() {
			warm++
			continue
		}
		x.Instances.Member = append(x.Instances.Member, instanceToXML(in))
	}
	if g.pool != nil {
		x.WarmPoolConfiguration, x.WarmPoolSize = poolToXML(g.pool), &warm
	}
	if g.defaultWarmup != nil {
		w := int(*g.defaultWarmup / time.Second)
		x.DefaultInstanceWarmup = &w
	}
	if m := g.maintenance; m != nil {
		x.InstanceMaintenancePolicy = &maintenancePolicyXML{MinHealthyPercentage: m.minHealthy, MaxHealthyPercentage: m.maxHealthy}
	}
	return x
}

func instanceToXML(in *instance) instanceXML {
	return instanceXML{
		InstanceID:           in.id,
		AvailabilityZone:     in.az,
		LifecycleState:       in.state,
		HealthStatus:         healthyInstance,
		ProtectedFromScaleIn: in.protected,
	}
}

type describeWarmPoolResult struct {
	XMLName               xml.Name     `xml:"r"`
	WarmPoolConfiguration *warmPoolXML `xml:",omitempty"`
	Instances             members[instanceXML]
	NextToken             string `xml:",omitempty"`
}

// warmPoolXML is a WarmPoolConfiguration: MaxGroupPreparedCapacity and
// InstanceReusePolicy only when set, as the CLI reference's describe-warm-pool
// example shows a pool created with --min-size alone.
type warmPoolXML struct {
	MaxGroupPreparedCapacity *int `xml:",omitempty"`
	MinSize                  int
	PoolState                string
	Status                   string          `xml:",omitempty"`
	InstanceReusePolicy      *reusePolicyXML `xml:",omitempty"`
}

type reusePolicyXML struct {
	ReuseOnScaleIn bool
}

func poolToXML(p *warmPool) *warmPoolXML {
	x := &warmPoolXML{MinSize: p.minSize, PoolState: p.state}
	if p.maxPrepared >= 0 {
		n := p.maxPrepared
		x.MaxGroupPreparedCapacity = &n
	}
	if p.deleting {
		x.Status = warmPoolPendingDelete
	}
	if p.reuse != nil {
		x.InstanceReusePolicy = &reusePolicyXML{ReuseOnScaleIn: *p.reuse}
	}
	return x
}

type activityResult struct {
	XMLName  xml.Name    `xml:"r"`
	Activity activityXML `xml:"Activity"`
}

// activityXML is an Activity. EndTime is written to the second, StartTime
// to the millisecond, as AWS writes them (the CLI reference's and the
// troubleshooting page's examples: "StartTime": "2021-01-13T20:47:30.094Z",
// "EndTime": "2021-01-13T20:47:30Z", so an activity that ends within its
// first second reads as ending before it started).
type activityXML struct {
	ActivityID            string `xml:"ActivityId"`
	AutoScalingGroupName  string
	AutoScalingGroupARN   string
	AutoScalingGroupState string `xml:",omitempty"`
	Description           string
	Cause                 string
	StartTime             string
	EndTime               string `xml:",omitempty"`
	StatusCode            string
	StatusMessage         string `xml:",omitempty"`
	Progress              int
	Details               string
}

func activityToXML(a *activity) activityXML {
	status, progress := a.statusNow()
	x := activityXML{
		ActivityID:           a.id,
		AutoScalingGroupName: a.inst.group.name,
		AutoScalingGroupARN:  a.inst.group.arn,
		Description:          a.description,
		Cause:                a.cause,
		StartTime:            timestamp(a.started),
		StatusCode:           status,
		StatusMessage:        a.message,
		Progress:             progress,
		Details:              detailsOf(a.inst),
	}
	if !a.ended.IsZero() {
		x.EndTime = a.ended.UTC().Format(time.RFC3339)
	}
	return x
}

type describeActivitiesResult struct {
	XMLName    xml.Name             `xml:"r"`
	Activities members[activityXML] `xml:"Activities"`
	NextToken  string               `xml:",omitempty"`
}

type startRefreshResult struct {
	XMLName           xml.Name `xml:"r"`
	InstanceRefreshID string   `xml:"InstanceRefreshId"`
}

type describeRefreshesResult struct {
	XMLName           xml.Name            `xml:"r"`
	InstanceRefreshes members[refreshXML] `xml:"InstanceRefreshes"`
}

type refreshXML struct {
	InstanceRefreshID    string `xml:"InstanceRefreshId"`
	AutoScalingGroupName string
	Status               string
	StartTime            string
	EndTime              string `xml:",omitempty"`
	PercentageComplete   int
	InstancesToUpdate    int
	Preferences          preferencesXML
	Strategy             string
}

type preferencesXML struct {
	MinHealthyPercentage int
	// MaxHealthyPercentage is null unless the request or the group's
	// instance maintenance policy set it: without a policy it "defaults to
	// 100 percent (null)"
	// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/understand-instance-refresh-default-values.html).
	MaxHealthyPercentage *int `xml:",omitempty"`
	InstanceWarmup       *int `xml:",omitempty"`
}

func (r *refresh) preferencesXML() preferencesXML {
	x := preferencesXML{MinHealthyPercentage: r.minHealthy}
	if r.maxGiven {
		x.MaxHealthyPercentage = &r.maxHealthy
	}
	if r.warmupGiven {
		w := int(r.warmup / time.Second)
		x.InstanceWarmup = &w
	}
	return x
}

func refreshToXML(g *group, r *refresh) refreshXML {
	done := r.progress()
	if r.status == refreshSuccessful {
		// Old instances that left by other means may still be terminating.
		done = len(r.old)
	}
	pct := 100
	if len(r.old) > 0 {
		pct = done * 100 / len(r.old)
	}
	return refreshXML{
		InstanceRefreshID:    r.id,
		AutoScalingGroupName: g.name,
		Status:               r.status,
		StartTime:            timestamp(r.started),
		EndTime:              optionalTimestamp(r.ended),
		PercentageComplete:   pct,
		InstancesToUpdate:    len(r.old) - done,
		Preferences:          r.preferencesXML(),
		Strategy:             "Rolling",
	}
}
