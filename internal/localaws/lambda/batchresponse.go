package lambda

import (
	"encoding/json"
	"strings"
)

// deletable returns the ids of a batch to delete after its invocation, by the
// documented rules: a failed invocation deletes none; without
// ReportBatchItemFailures a success deletes all; with it, an empty or null
// response or batchItemFailures list deletes all, listed ids stay, and an
// invalid response (bad JSON, a missing, null, empty or unknown
// itemIdentifier) deletes none.
func deletable(ids []string, payload []byte, failed, reportFailures bool) []string {
	if failed {
		return nil
	}
	if !reportFailures {
		return ids
	}
	if p := strings.TrimSpace(string(payload)); p == "" || p == "null" {
		return ids
	}
	// A response that is valid JSON but not an object is not an
	// SQSEventResponse; it is treated as invalid (UNVERIFIED: the
	// documentation lists only "invalid JSON").
	var resp map[string]json.RawMessage
	if err := json.Unmarshal(payload, &resp); err != nil {
		return nil
	}
	raw, ok := resp["batchItemFailures"]
	if !ok || string(raw) == "null" {
		return ids
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil
	}
	inBatch := map[string]bool{}
	for _, id := range ids {
		inBatch[id] = true
	}
	failedIDs := map[string]bool{}
	for _, item := range items {
		var id string
		if err := json.Unmarshal(item["itemIdentifier"], &id); err != nil || !inBatch[id] {
			return nil // also a missing key (nil raw) or null (id stays "")
		}
		failedIDs[id] = true
	}
	var out []string
	for _, id := range ids {
		if !failedIDs[id] {
			out = append(out, id)
		}
	}
	return out
}
