package lambda

import "testing"

// The runtime's own lines are told from the function's, and name their
// invocation (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html).
func TestPlatformLinesAreToldFromTheFunctions(t *testing.T) {
	tests := []struct {
		line           string
		platform       bool
		started, ended string
	}{
		{"START RequestId: 8f5 Version: $LATEST", true, "8f5", ""},
		{"END RequestId: 8f5", true, "", "8f5"},
		{"REPORT RequestId: 8f5\tDuration: 1.00 ms", true, "", ""},
		{`{"msg":"drain finished"}`, false, "", ""},
		{"START RequestId: ", true, "", ""},
	}
	for _, tt := range tests {
		if got := PlatformLine([]byte(tt.line)); got != tt.platform {
			t.Errorf("PlatformLine(%q) = %v, want %v", tt.line, got, tt.platform)
		}
		if got, _ := Started([]byte(tt.line)); got != tt.started {
			t.Errorf("Started(%q) = %q, want %q", tt.line, got, tt.started)
		}
		if got, _ := Ended([]byte(tt.line)); got != tt.ended {
			t.Errorf("Ended(%q) = %q, want %q", tt.line, got, tt.ended)
		}
	}
}
