package autoscaling

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

// Scaling activities
// (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_Activity.html).
// Every launch (new into the group, new into the warm pool, out of the warm
// pool into the group) and every termination records one, which follows its
// instance until it ends: a launch is Successful once InService (or resting
// in the warm pool), Cancelled when its launch hook abandons it ("If an
// attempt to launch instances failed, the StatusCode value is Failed or
// Cancelled", API_DescribeScalingActivities; the troubleshooting page shows
// an abandoned launch hook as Cancelled); a termination is Successful once
// Terminated. While it runs, its status is read from its instance's state:
// MidLifecycleAction while lifecycle actions hold it, else PreInService (a
// launch) or InProgress (a termination). StartTime is when the launch or
// termination began, on the injected clock.
//
// Causes are built the way AWS words them: sentences "At <time> ...", joined
// by two spaces, the user request that changed the desired capacity first
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/CHAP_Troubleshooting.html,
// the CLI reference's describe-scaling-activities examples).
//
// Not recorded: an instance returned to the warm pool on scale in (no
// published sample shows its activity), and the termination of a launch its
// hook abandoned, whose own Cancelled activity tells its end (UNVERIFIED:
// that AWS records none). Not modelled: Failed (EC2 never fails to launch
// here), WaitingForInstanceWarmup and the other status codes of EC2, Spot
// and load balancers, activities other than launches and terminations.

// Activity descriptions: the verb, then the instance ID. The warm pool's are
// as AWS's workshop prints them ("Launching a new EC2 instance into warm
// pool: i-…", "… from warm pool: i-…", awslabs/ec2-spot-workshops,
// efficient-and-resilient-ec2-auto-scaling) and as hashicorp/nomad-autoscaler's
// aws-asg plugin matches them ("Terminating EC2 instance from warm pool:
// i-…").
const (
	descLaunch            = "Launching a new EC2 instance: "
	descLaunchIntoPool    = "Launching a new EC2 instance into warm pool: "
	descLaunchFromPool    = "Launching a new EC2 instance from warm pool: "
	descTerminate         = "Terminating EC2 instance: "
	descTerminateFromPool = "Terminating EC2 instance from warm pool: "
)

// Activity status codes reachable here, as the ScalingActivityStatusCode
// enum spells them.
const (
	activityPreInService       = "PreInService"
	activityInProgress         = "InProgress"
	activityMidLifecycleAction = "MidLifecycleAction"
	activitySuccessful         = "Successful"
	activityCancelled          = "Cancelled"
)

// Progress, "a value between 0 and 100": a termination starts at 0 (the
// TerminateInstanceInAutoScalingGroup example of the API reference), a launch
// in PreInService shows 30 (ExitStandby's examples), an ended activity 100.
// [UNVERIFIED] 50 while lifecycle actions hold the instance.
const (
	progressTerminating  = 0
	progressLaunching    = 30
	progressMidLifecycle = 50
	progressDone         = 100
)

// maxCause is the model's maximum length of Cause (XmlStringMaxLen1023).
const maxCause = 1023

type activity struct {
	id          string
	seq         int // creation order, which is start-time order: the emulator applies its transitions in time order
	inst        *instance
	launch      bool // a launch; false: a termination
	description string
	cause       string
	started     time.Time
	// ended is zero while the activity runs; status and message are set
	// when it ends.
	ended           time.Time
	status, message string
}

// record starts an activity for the instance, which it then follows.
func (s *Server) record(in *instance, launch bool, description, cause string, at time.Time) *activity {
	a := &activity{
		id:          awswire.NewRequestID(),
		seq:         len(s.activities),
		inst:        in,
		launch:      launch,
		description: description + in.id,
		cause:       cause,
		started:     at,
	}
	s.activities = append(s.activities, a)
	in.group.activities = append(in.group.activities, a)
	in.activity = a
	return a
}

// terminationDescription is the description of the instance's termination.
func terminationDescription(in *instance) string {
	if in.warm() {
		return descTerminateFromPool
	}
	return descTerminate
}

// running returns the instance's activity if it has not ended.
func running(in *instance) *activity {
	if a := in.activity; a != nil && a.ended.IsZero() {
		return a
	}
	return nil
}

// succeed ends the instance's running activity as Successful.
func succeed(in *instance, at time.Time) {
	if a := running(in); a != nil {
		a.status, a.ended = activitySuccessful, at
	}
}

// cancelLaunch ends the instance's running launch as Cancelled, with the
// reason when one is known, which AWS also appends to the description
// ("Launching a new EC2 instance: i-….  Status Reason: …", CHAP_Troubleshooting).
func cancelLaunch(in *instance, reason string, at time.Time) {
	a := running(in)
	if a == nil || !a.launch {
		return
	}
	a.status, a.ended, a.message = activityCancelled, at, reason
	if reason != "" {
		a.description += ".  Status Reason: " + reason
	}
}

// abandonedReason is the StatusMessage of a launch its hook abandoned, as
// the troubleshooting page and the CodeDeploy knowledge-center article quote
// it: "Instance failed to complete user's Lifecycle Action: Lifecycle Action
// with token … was abandoned: Lifecycle Action Completed with ABANDON Result"
// or "…: Heartbeat Timeout". [UNVERIFIED] that a lapsed global timeout reads
// the same.
func abandonedReason(a *action) string {
	why := "Lifecycle Action Completed with ABANDON Result"
	if a.end == EndTimedOut {
		why = "Heartbeat Timeout"
	}
	return fmt.Sprintf("Instance failed to complete user's Lifecycle Action: Lifecycle Action with token %s was abandoned: %s", a.token, why)
}

// statusNow is the activity's status code and progress at this moment.
func (a *activity) statusNow() (string, int) {
	switch {
	case !a.ended.IsZero():
		return a.status, progressDone
	case a.inst.waiting():
		return activityMidLifecycleAction, progressMidLifecycle
	case a.launch:
		return activityPreInService, progressLaunching
	case a.inst.state == StateTerminatingProceed || a.inst.state == StateWarmedTerminatingProceed:
		return activityInProgress, progressMidLifecycle
	default:
		return activityInProgress, progressTerminating
	}
}

// sentence is one sentence of a cause: "At 2026-11-24T05:00:00Z …."
func sentence(at time.Time, format string, args ...any) string {
	return "At " + at.UTC().Format(time.RFC3339) + " " + fmt.Sprintf(format, args...) + "."
}

// cause joins sentences with two spaces, as AWS does, leaving out empty
// ones and those past the model's 1023 characters. [UNVERIFIED] how AWS
// shortens a longer cause (a scale in naming many instances).
func cause(sentences ...string) string {
	var b strings.Builder
	for _, s := range sentences {
		switch {
		case s == "":
		case b.Len() == 0:
			b.WriteString(s)
		case b.Len()+2+len(s) <= maxCause:
			b.WriteString("  " + s)
		}
	}
	return b.String()
}

// selected names each instance picked for termination, as scale-in causes
// do: "At … instance i-… was selected for termination."
func selected(at time.Time, victims []*instance) []string {
	out := make([]string, len(victims))
	for i, v := range victims {
		out[i] = sentence(at, "instance %s was selected for termination", v.id)
	}
	return out
}

// launchCause is why reconcile launches into the group at at, growing its
// capacity from the count given to the desired capacity: the user request
// that raised it, if one did, then the difference AWS acts on; or, during a
// batch of an instance refresh, the refresh.
func launchCause(g *group, from int, at time.Time) string {
	if r := activeRefresh(g); r != nil && r.batch && g.request == "" {
		// [UNVERIFIED] Seen only in a third party's test fixture.
		return sentence(at, "an instance was launched in response to an instance refresh")
	}
	return cause(g.request, sentence(at,
		"an instance was started in response to a difference between desired and actual capacity, increasing the capacity from %d to %d", from, g.desired))
}

// scaleInCause is why reconcile terminates victims out of live, the
// group's instances counting toward its capacity, as AWS words a scale in
// (real ASG activities quoted in convox's docs; a 2017 SNS notification
// naming two instances, each activity's cause naming both).
func scaleInCause(g *group, live, victims []*instance, at time.Time) string {
	return cause(append([]string{g.request, sentence(at,
		"an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from %d to %d",
		len(live), len(live)-len(victims))}, selected(at, victims)...)...)
}

// refreshCause is why an instance refresh terminates an instance, as an SNS
// notification of 2022 captured in a public test reads it.
func refreshCause(in *instance, at time.Time) string {
	return cause(sentence(at, "an instance was taken out of service in response to an instance refresh"), selected(at, []*instance{in})[0])
}

// The warm pool's causes. [UNVERIFIED] No published sample shows them; they
// follow the group's wording.
func poolLaunchCause(from, to int, at time.Time) string {
	return sentence(at, "an instance was started in response to a difference between desired and actual warm pool capacity, increasing the warm pool capacity from %d to %d", from, to)
}

func poolShrinkCause(in *instance, from, to int, at time.Time) string {
	return cause(sentence(at, "an instance was taken out of service in response to a difference between desired and actual warm pool capacity, shrinking the warm pool capacity from %d to %d", from, to),
		selected(at, []*instance{in})[0])
}

func poolDeleteCause(in *instance, at time.Time) string {
	return cause(sentence(at, "an instance was taken out of service in response to a warm pool deletion"), selected(at, []*instance{in})[0])
}

// DescribeScalingActivities' documented limits: MaxRecords "The default
// value is 100 and the maximum value is 100", ActivityIds "Maximum number of
// 50 IDs", and "Only activities started within the last six weeks can be
// returned" (API_DescribeScalingActivities).
const (
	maxActivityRecords = 100
	maxActivityIDs     = 50
	activityRetention  = 6 * 7 * 24 * time.Hour
)

// activityFilter is DescribeScalingActivities' Filters: every filter given
// must match, a filter matching any of its values.
type activityFilter struct {
	lower, upper time.Time // zero: no bound
	statuses     []string
}

func (f activityFilter) match(a *activity) bool {
	if !f.lower.IsZero() && a.started.Before(f.lower) || !f.upper.IsZero() && a.started.After(f.upper) {
		return false
	}
	if len(f.statuses) > 0 {
		status, _ := a.statusNow()
		return slices.Contains(f.statuses, status)
	}
	return true
}

// activityTimeLayouts are the ISO 8601 forms the time filters accept;
// "Timestamps without a timezone offset are assumed to be UTC".
var activityTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04"}

// parseActivityFilters reads Filters.member.N.Name and .Values.member.M.
// [UNVERIFIED] The texts of the errors for an unknown filter, an unreadable
// time and a Status filter without a group.
func parseActivityFilters(p params, groupName string) (activityFilter, *awswire.Error) {
	var f activityFilter
	for i := 1; ; i++ {
		prefix := "Filters.member." + strconv.Itoa(i)
		name, ok := p.get(prefix + ".Name")
		if !ok {
			return f, nil
		}
		values := p.list(prefix + ".Values")
		switch name {
		case "StartTimeLowerBound", "StartTimeUpperBound":
			for _, v := range values {
				t, ok := parseActivityTime(v)
				if !ok {
					return f, awswire.ClientError("ValidationError", "Invalid value %s for filter %s. Specify an ISO 8601 timestamp.", v, name)
				}
				if name == "StartTimeLowerBound" && t.After(f.lower) {
					f.lower = t
				}
				if name == "StartTimeUpperBound" && (f.upper.IsZero() || t.Before(f.upper)) {
					f.upper = t
				}
			}
		case "Status":
			if groupName == "" {
				return f, awswire.ClientError("ValidationError", "The Status filter can only be used in combination with the AutoScalingGroupName parameter.")
			}
			f.statuses = append(f.statuses, values...)
		default:
			return f, awswire.ClientError("ValidationError", "Filter name %s is not valid. Valid filter names are StartTimeLowerBound, StartTimeUpperBound and Status.", name)
		}
	}
}

func parseActivityTime(v string) (time.Time, bool) {
	for _, layout := range activityTimeLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// Activities are listed as "sorted by start time. Activities still in
// progress are described first" (API_DescribeScalingActivities), newest
// first ("with the latest scaling activities listed first",
// CHAP_Troubleshooting): the running ones, newest first, then the ended
// ones, newest first. A token names where the last page stopped, as
// (running or ended, creation order): an activity that ends between two
// pages may be listed twice, none that existed at the first page is missed.
type activityCursor struct {
	ended bool
	seq   int
}

func (c activityCursor) token() string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%t:%d", c.ended, c.seq))
}

func parseActivityCursor(token string) (activityCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return activityCursor{}, false
	}
	ended, seq, ok := strings.Cut(string(b), ":")
	var c activityCursor
	var perr error
	c.ended, perr = strconv.ParseBool(ended)
	if !ok || perr != nil {
		return activityCursor{}, false
	}
	c.seq, err = strconv.Atoi(seq)
	return c, err == nil && c.seq >= 0
}

// after reports whether a comes after the cursor in the listing order.
func (c activityCursor) after(ended bool, seq int) bool {
	if ended != c.ended {
		return ended
	}
	return seq < c.seq
}

// describeScalingActivities answers from the group's own list when a group
// is named, so a request costs the group's activities, not the account's.
// An unknown group has no activities (UNVERIFIED: that AWS answers an empty
// list rather than an error). Groups are never deleted here, so
// IncludeDeletedGroups only adds AutoScalingGroupState, InService
// (UNVERIFIED: the CLI reference shows the state only with
// --include-deleted-groups, there Deleted).
func describeScalingActivities(s *Server, p params, now time.Time) (any, *awswire.Error) {
	var c checks
	ids := p.list("ActivityIds")
	c.count("ActivityIds", ids, maxActivityIDs)
	groupName := c.optionalLength(p, "AutoScalingGroupName", 1, 255)
	withState := c.boolean(p, "IncludeDeletedGroups")
	max := c.integer(p, "MaxRecords", maxActivityRecords, 1, maxActivityRecords)
	token, hasToken := p.get("NextToken")
	if err := c.err(); err != nil {
		return nil, err
	}
	filter, err := parseActivityFilters(p, groupName)
	if err != nil {
		return nil, err
	}
	var cursor activityCursor
	if hasToken {
		var ok bool
		if cursor, ok = parseActivityCursor(token); !ok {
			return nil, awswire.ClientError("InvalidNextToken", "The token '%s' is invalid.", token)
		}
	}
	all := s.activities
	if groupName != "" {
		all = nil
		if g, ok := s.groups[groupName]; ok {
			all = g.activities
		}
	}
	oldest := now.Add(-activityRetention)
	var page []*activity
	more := false
	for _, ended := range []bool{false, true} {
		for _, a := range slices.Backward(all) {
			if a.ended.IsZero() == ended || hasToken && !cursor.after(ended, a.seq) ||
				a.started.Before(oldest) || len(ids) > 0 && !slices.Contains(ids, a.id) || !filter.match(a) {
				continue
			}
			if len(page) == max {
				more = true
				break
			}
			page = append(page, a)
		}
	}
	out := describeActivitiesResult{}
	out.Activities.Member = make([]activityXML, 0, len(page))
	for _, a := range page {
		x := activityToXML(a)
		if withState {
			x.AutoScalingGroupState = StateInService
		}
		out.Activities.Member = append(out.Activities.Member, x)
	}
	if more {
		last := page[len(page)-1]
		out.NextToken = activityCursor{ended: !last.ended.IsZero(), seq: last.seq}.token()
	}
	return out, nil
}

// detailsOf is the activity's Details, the JSON AWS writes there, without
// the subnet, which the emulator does not have.
func detailsOf(in *instance) string {
	return fmt.Sprintf(`{"Availability Zone":%q}`, in.az)
}
