package awswire

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// An SDK's retries of one operation are attempts, not operations; a request
// without the SDK's attempt header (the AWS CLI v1, curl) is an operation.
func TestCounterCountsRetriesAsAttemptsOnly(t *testing.T) {
	var c Counter
	for _, h := range []string{"attempt=1; max=3", "attempt=2; max=3", "attempt=3; max=3", "", "attempt=1; max=3"} {
		r, _ := http.NewRequest(http.MethodPost, "http://localhost/", nil)
		if h != "" {
			r.Header.Set("Amz-Sdk-Request", h)
		}
		c.Count("DescribeContainerInstances", r)
	}
	if diff := cmp.Diff(map[string]int{"DescribeContainerInstances": 5}, c.Calls()); diff != "" {
		t.Errorf("Calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"DescribeContainerInstances": 3}, c.Operations()); diff != "" {
		t.Errorf("Operations (-want +got):\n%s", diff)
	}
}
