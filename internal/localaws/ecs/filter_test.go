package ecs

import "testing"

// The query language must accept every spelling the docs show and reject what
// it cannot evaluate, so a filter never silently matches the wrong instances.
// See https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cluster-query-language.html.
func TestParseFilter(t *testing.T) {
	busy := filterTarget{
		ec2InstanceID: "i-0abc", runningTasks: 3, agentConnected: true,
		attributes: map[string]string{"ecs.os-type": "linux", "role": "web", "com.amazonaws.ecs.capability.logging-driver.awslogs": ""},
		groups:     []string{"service:web", "family:job"},
	}
	tests := []struct {
		expr string
		want bool
	}{
		{"ec2InstanceId == i-0abc", true},
		{"ec2InstanceId equals 'i-0abc'", true},
		{"ec2InstanceId != i-0abc", false},
		{"ec2InstanceId in ['i-1', 'i-0abc']", true},
		{"ec2InstanceId !in [i-0abc]", false},
		{"ec2InstanceId not_in [i-1]", true},
		{"ec2InstanceId matches 'i-0.*'", true},
		{"ec2InstanceId !~ 'i-0.*'", false},
		{"runningTasksCount >= 3", true},
		{"runningTasksCount greater_than 3", false},
		{"runningTasksCount in [1, 2, 3]", true},
		{"runningTasksCount <= 2 or agentConnected == true", true},
		{"runningTasksCount <= 2 || agentConnected == false", false},
		{"not (runningTasksCount == 0) and ec2InstanceId == i-0abc", true},
		{"!(agentConnected == true)", false},
		{"ec2InstanceId==i-0abc&&runningTasksCount>0", true},
		{"attribute:role == web", true},
		{"attribute:ecs.os-type equals linux", true},
		{"attribute:role != web", false},
		{"attribute:role in [db, web]", true},
		{"attribute:role =~ 'w.*'", true},
		{"attribute:zone == us-east-1a", false},
		{"attribute:zone != us-east-1a", true},
		{"attribute:zone !in [a, b]", true},
		{"attribute:role exists", true},
		{"attribute:com.amazonaws.ecs.capability.logging-driver.awslogs exists", true},
		{"attribute:zone exists", false},
		{"attribute:zone !exists", true},
		{"attribute:zone not_exists", true},
		{"task:group == service:web", true},
		{"task:group == service:api", false},
		{"not(task:group == database)", true},
		{"task:group != service:web", false},
		{"task:group in [service:api, family:job]", true},
		// A daemon's memberOf expression, parenthesized and narrowed to one
		// instance, the way a launch gate asks whether the daemon belongs there.
		{"(attribute:role == web) and ec2InstanceId == i-0abc", true},
		{"(attribute:role == db or task:group == service:db) and ec2InstanceId == i-0abc", false},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			pred, err := parseFilter(tt.expr)
			if err != nil {
				t.Fatalf("parseFilter(%q): %v", tt.expr, err)
			}
			if got := pred(busy); got != tt.want {
				t.Errorf("parseFilter(%q) on %+v: got %v, want %v", tt.expr, busy, got, tt.want)
			}
		})
	}

	invalid := []string{
		"ec2InstanceId",
		"ec2InstanceId ==",
		"ec2InstanceId == a b",
		"ec2InstanceId in [a, b",
		"ec2InstanceId in a",
		"ec2InstanceId > i-1",
		"ec2InstanceId == 'unterminated",
		"ec2InstanceId == &&",
		"runningTasksCount == many",
		"agentConnected == maybe",
		"agentConnected > true",
		"registeredAt > 2026-01-01",
		"ec2InstanceId exists",
		"task:group exists",
		"attribute: == x",
		"attribute:role > web",
		"attribute:role exists web",
		"'attribute:role' == web",
		"(ec2InstanceId == a",
		"ec2InstanceId =~ '('",
		"ec2InstanceId == a and",
	}
	for _, expr := range invalid {
		t.Run("rejects "+expr, func(t *testing.T) {
			if _, err := parseFilter(expr); err == nil {
				t.Errorf("parseFilter(%q): got no error, want one", expr)
			}
		})
	}
}

// The parser reads input from the wire: whatever arrives, it must return an
// error or a predicate, never panic.
func FuzzParseFilter(f *testing.F) {
	for _, seed := range []string{
		"ec2InstanceId == i-1", "ec2InstanceId in ['a', \"b\"]", "!(runningTasksCount > 0) || agentConnected != true",
		"ec2InstanceId =~ 'i-.*'", "((", "[", "!in", "'",
		"attribute:a !exists", "not(task:group == b) and attribute:c in [d]",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		if pred, err := parseFilter(expr); err == nil {
			pred(filterTarget{ec2InstanceID: "i-1", runningTasks: 1})
		}
	})
}
