// Package eventbridge is the local EventBridge: it wraps the events the
// emulated services emit in the EventBridge envelope and routes them to the
// targets of the rules whose patterns match.
package eventbridge

import (
	"encoding/json"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

type envelope struct {
	Version    string   `json:"version"`
	ID         string   `json:"id"`
	DetailType string   `json:"detail-type"`
	Source     string   `json:"source"`
	Account    string   `json:"account"`
	Time       string   `json:"time"`
	Region     string   `json:"region"`
	Resources  []string `json:"resources"`
	Detail     any      `json:"detail"`
}

// Envelope renders e as EventBridge delivers it: version "0", a fresh id,
// and the time in RFC 3339 with second precision.
func Envelope(e awswire.Event, account, region string, at time.Time) ([]byte, error) {
	resources := e.Resources
	if resources == nil {
		resources = []string{}
	}
	return json.Marshal(envelope{
		Version: "0", ID: awswire.NewRequestID(), DetailType: e.DetailType, Source: e.Source,
		Account: account, Time: at.UTC().Format(time.RFC3339), Region: region, Resources: resources, Detail: e.Detail,
	})
}
