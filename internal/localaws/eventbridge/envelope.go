package eventbridge

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

type envelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// Envelope renders e as EventBridge delivers it: version "0", a fresh id,
// the time in RFC 3339 with second precision, resources as an array even when
// e has none, and detail as an object ({} when e has none). It fails if the
// detail does not marshal to a JSON object, which EventBridge would reject.
func Envelope(e awswire.Event, account, region string, at time.Time) ([]byte, error) {
	return envelopeWithID(awswire.NewRequestID(), e, account, region, at)
}

// envelopeWithID is Envelope with the id given: PutEvents returns each
// event's id to its caller.
func envelopeWithID(id string, e awswire.Event, account, region string, at time.Time) ([]byte, error) {
	detail, err := json.Marshal(e.Detail)
	if err != nil {
		return nil, fmt.Errorf("marshalling the detail of %q: %w", e.DetailType, err)
	}
	switch {
	case string(detail) == "null":
		detail = []byte("{}")
	case detail[0] != '{':
		return nil, fmt.Errorf("detail of %q is %s, want a JSON object", e.DetailType, detail)
	}
	resources := e.Resources
	if resources == nil {
		resources = []string{}
	}
	return json.Marshal(envelope{
		Version: "0", ID: id, DetailType: e.DetailType, Source: e.Source,
		Account: account, Time: at.UTC().Format(time.RFC3339), Region: region, Resources: resources, Detail: detail,
	})
}
