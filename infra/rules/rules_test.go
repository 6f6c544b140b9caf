package rules

import "testing"

func TestTerminateLifecycleNamesTheGroups(t *testing.T) {
	got := string(TerminateLifecycle([]string{"asg-a", "asg-b"}))
	want := `{"detail":{"AutoScalingGroupName":["asg-a","asg-b"]},"detail-type":["EC2 Instance-terminate Lifecycle Action"],"source":["aws.autoscaling"]}`
	if got != want {
		t.Fatalf("TerminateLifecycle = %s, want %s", got, want)
	}
}
