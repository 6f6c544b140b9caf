package rules

import "testing"

func TestTerminateLifecycleNamesTheGroupsAndTheHooks(t *testing.T) {
	got := string(TerminateLifecycle([]string{"asg-a", "asg-b"}, []string{"ecs-drainer"}))
	want := `{"detail":{"AutoScalingGroupName":["asg-a","asg-b"],"LifecycleHookName":["ecs-drainer"]},"detail-type":["EC2 Instance-terminate Lifecycle Action"],"source":["aws.autoscaling"]}`
	if got != want {
		t.Fatalf("TerminateLifecycle = %s, want %s", got, want)
	}
}

func TestECSPatternsSelectTheClustersByARNSuffix(t *testing.T) {
	got := string(ECSTaskStopped([]string{"web", "api"}))
	want := `{"detail":{"clusterArn":[{"suffix":":cluster/web"},{"suffix":":cluster/api"}],"lastStatus":["STOPPED"]},"detail-type":["ECS Task State Change"],"source":["aws.ecs"]}`
	if got != want {
		t.Errorf("ECSTaskStopped = %s, want %s", got, want)
	}
	got = string(ECSInstanceDraining([]string{"web"}))
	want = `{"detail":{"clusterArn":[{"suffix":":cluster/web"}],"status":["DRAINING"]},"detail-type":["ECS Container Instance State Change"],"source":["aws.ecs"]}`
	if got != want {
		t.Errorf("ECSInstanceDraining = %s, want %s", got, want)
	}
}
