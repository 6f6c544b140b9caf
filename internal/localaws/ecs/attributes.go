package ecs

import (
	"regexp"
	"slices"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

// Custom attributes (PutAttributes), as the ECS API reference documents them:
// a name of up to 128 letters, digits, hyphens, underscores, slashes,
// backslashes or periods; a value of up to 128 of those plus @, : and
// spaces, not starting or ending with a space; at most 10 custom attributes
// per resource (AttributeLimitExceededException).
var (
	attributeName  = regexp.MustCompile(`^[A-Za-z0-9_./\\-]{1,128}$`)
	attributeValue = regexp.MustCompile(`^[A-Za-z0-9_./\\@: -]{1,128}$`)
)

const (
	maxCustomAttributes  = 10
	maxAttributesPerCall = 10
)

type attributeInput struct {
	Name       string  `json:"name"`
	Value      *string `json:"value"`
	TargetType string  `json:"targetType"`
	TargetID   string  `json:"targetId"`
}

// putAttributes sets custom attributes on container instances; an attribute
// that already exists takes the new value.
func (s *Server) putAttributes(now time.Time, body []byte) (any, *awswire.Error) {
	var in struct {
		Cluster    *string
		Attributes []attributeInput
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Attributes) == 0 {
		return nil, invalidParameter("Attributes cannot be empty.")
	}
	// The API reference: "You can specify up to 10 attributes in a single
	// call." UNVERIFIED: the error's code and text for more.
	if len(in.Attributes) > maxAttributesPerCall {
		return nil, invalidParameter("Attributes can have at most %d items.", maxAttributesPerCall)
	}
	c, err := s.lookupCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	// Validate everything first: the call applies all its attributes or none.
	targets := make([]*instance, len(in.Attributes))
	for n, a := range in.Attributes {
		if a.TargetType != "" && a.TargetType != "container-instance" {
			return nil, invalidParameter("Invalid targetType %s: only container-instance is supported here.", a.TargetType)
		}
		if !attributeName.MatchString(a.Name) {
			return nil, invalidParameter("Invalid attribute name %q.", a.Name)
		}
		if a.Value != nil && (!attributeValue.MatchString(*a.Value) || (*a.Value)[0] == ' ' || (*a.Value)[len(*a.Value)-1] == ' ') {
			return nil, invalidParameter("Invalid attribute value %q.", *a.Value)
		}
		i := c.instanceByID(lastSegment(a.TargetID))
		if i == nil {
			return nil, awswire.ClientError("TargetNotFoundException", "Could not find %s.", a.TargetID)
		}
		if _, exists := i.attributes[a.Name]; !exists && len(i.attributes) >= maxCustomAttributes {
			return nil, awswire.ClientError("AttributeLimitExceededException", "You can specify up to %d custom attributes per resource.", maxCustomAttributes)
		}
		targets[n] = i
	}
	out := []wireAttribute{}
	for n, a := range in.Attributes {
		i := targets[n]
		if i.attributes == nil {
			i.attributes = map[string]string{}
		}
		value := ""
		if a.Value != nil {
			value = *a.Value
		}
		// No state change event, and so no new version: the triggers AWS
		// lists for container instance events (ecs_container_instance_events)
		// are task placement and stops, the agent and deregistration, not
		// custom attributes. UNVERIFIED beyond that list.
		i.attributes[a.Name] = value
		out = append(out, wireAttribute{Name: a.Name, Value: value, TargetType: "container-instance", TargetID: s.instanceARN(c, i.id)})
	}
	return struct {
		Attributes []wireAttribute `json:"attributes"`
	}{out}, nil
}

// builtinAttributes are what every emulated agent registers.
var builtinAttributes = []wireAttribute{{Name: "ecs.os-type", Value: "linux"}, {Name: "com.amazonaws.ecs.capability.logging-driver.awslogs"}}

func (i *instance) wireAttributes() []wireAttribute {
	out := slices.Clone(builtinAttributes)
	names := make([]string, 0, len(i.attributes))
	for name := range i.attributes {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		out = append(out, wireAttribute{Name: name, Value: i.attributes[name]})
	}
	return out
}
