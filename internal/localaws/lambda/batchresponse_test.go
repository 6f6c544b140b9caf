package lambda

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The delete rules decide whether a record runs again: deleting a failed
// record loses a drain step, keeping a successful one repeats it. They must
// follow the documented success and failure cases exactly.
func TestDeletable(t *testing.T) {
	ids := []string{"m1", "m2", "m3"}
	tests := []struct {
		name    string
		payload string
		failed  bool
		report  bool
		want    []string
	}{
		{"success without ReportBatchItemFailures deletes all", `{"batchItemFailures":[{"itemIdentifier":"m1"}]}`, false, false, ids},
		{"a function error deletes none", `{"batchItemFailures":[]}`, true, true, nil},
		{"a function error ignores the list", `{"batchItemFailures":[{"itemIdentifier":"m1"}]}`, true, false, nil},
		{"an empty response deletes all", ``, false, true, ids},
		{"a null response deletes all", `null`, false, true, ids},
		{"an empty list deletes all", `{"batchItemFailures":[]}`, false, true, ids},
		{"a null list deletes all", `{"batchItemFailures":null}`, false, true, ids},
		{"an object without the list deletes all", `{"statusCode":200}`, false, true, ids},
		{"listed ids stay", `{"batchItemFailures":[{"itemIdentifier":"m2"}]}`, false, true, []string{"m1", "m3"}},
		{"every id listed deletes none", `{"batchItemFailures":[{"itemIdentifier":"m1"},{"itemIdentifier":"m2"},{"itemIdentifier":"m3"}]}`, false, true, nil},
		{"invalid JSON deletes none", `{"batchItemFailures":`, false, true, nil},
		{"an empty itemIdentifier deletes none", `{"batchItemFailures":[{"itemIdentifier":""}]}`, false, true, nil},
		{"a null itemIdentifier deletes none", `{"batchItemFailures":[{"itemIdentifier":null}]}`, false, true, nil},
		{"a bad key name deletes none", `{"batchItemFailures":[{"itemIdentifer":"m1"}]}`, false, true, nil},
		{"an id not in the batch deletes none", `{"batchItemFailures":[{"itemIdentifier":"m9"}]}`, false, true, nil},
		{"a list that is not a list deletes none", `{"batchItemFailures":"m1"}`, false, true, nil},
		{"a response that is not an object deletes none", `"ok"`, false, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := deletable(ids, []byte(tt.payload), tt.failed, tt.report)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("deletable(%s, failed=%v, report=%v) (-want +got):\n%s", tt.payload, tt.failed, tt.report, diff)
			}
		})
	}
}
