package ecs

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

// Custom attributes (PutAttributes), as the ECS API reference and the
// developer guide document them
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement-constraints.html#attributes):
// a name of up to 128 letters, digits, hyphens, underscores, slashes,
// backslashes or periods; a value of up to 128 of those plus @, : and
// spaces, not starting or ending with a space; at most 10 custom attributes
// per resource (AttributeLimitExceededException).
var (
	attributeName  = regexp.MustCompile(`^[A-Za-z0-9_./\\-]{1,128}$`)
	attributeValue = regexp.MustCompile(`^[A-Za-z0-9_./\\@: -]{1,128}$`)
)

const (
	// maxCustomAttributes is the "Custom attributes per resource" quota
	// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html).
	// The built-in attributes the agent registers (ecs.os-type,
	// com.amazonaws.ecs.capability.*) are not custom and do not count.
	maxCustomAttributes  = 10
	maxAttributesPerCall = 10
)

// attributeLimitMessage is the text the ECS API model gives
// AttributeLimitExceededException
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PutAttributes.html, Errors).
// UNVERIFIED: that the service answers with exactly this sentence; it is
// the only wording AWS publishes.
var attributeLimitMessage = fmt.Sprintf("You can apply up to %d custom attributes for each resource.", maxCustomAttributes)

type attributeInput struct {
	Name       string  `json:"name"`
	Value      *string `json:"value"`
	TargetType string  `json:"targetType"`
	TargetID   string  `json:"targetId"`
}

// putAttributes sets custom attributes on container instances; an attribute
// that already exists takes the new value.
func (s *Server) putAttributes(_ time.Time, body []byte) (any, *awswire.Error) {
	var in struct {
		Cluster    *string
		Attributes []attributeInput
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Attributes) == 0 {
		return nil, invalidParameter("Attributes cannot be empty.") // UNVERIFIED text
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
	names := map[*instance][]string{}
	for n, a := range in.Attributes {
		if a.TargetType != "" && a.TargetType != "container-instance" {
			return nil, invalidParameter("Invalid targetType %s: only container-instance is supported here.", a.TargetType)
		}
		if err := validAttribute(a.Name, a.Value); err != nil {
			return nil, err
		}
		i := c.instanceByID(lastSegment(a.TargetID))
		if i == nil {
			return nil, awswire.ClientError("TargetNotFoundException", "Could not find %s.", a.TargetID)
		}
		targets[n] = i
		names[i] = append(names[i], a.Name)
	}
	// The limit is on what the resource holds afterwards: a name it already
	// has, or one the call repeats, adds nothing.
	for i, ns := range names {
		if i.customAfter(ns) > maxCustomAttributes {
			return nil, awswire.ClientError("AttributeLimitExceededException", "%s", attributeLimitMessage)
		}
	}
	out := []wireAttribute{}
	for n, a := range in.Attributes {
		i := targets[n]
		// No state change event, and so no new version: the triggers AWS
		// lists for container instance events (ecs_container_instance_events)
		// are task placement and stops, the agent and deregistration, not
		// custom attributes. UNVERIFIED beyond that list.
		i.setAttribute(a.Name, deref(a.Value))
		s.dirty = true // memberOf constraints read attributes
		out = append(out, wireAttribute{Name: a.Name, Value: deref(a.Value), TargetType: "container-instance", TargetID: s.instanceARN(c, i.id)})
	}
	return struct {
		Attributes []wireAttribute `json:"attributes"`
	}{out}, nil
}

// deref reads an optional string member; absent is empty.
func deref(v *string) string {
	if v == nil {
		return ""
	}
	return *v
}

// validAttribute checks a custom attribute's name and value (nil: none).
func validAttribute(name string, value *string) *awswire.Error {
	if !attributeName.MatchString(name) {
		return invalidParameter("Invalid attribute name %q.", name)
	}
	if v := deref(value); value != nil && (!attributeValue.MatchString(v) || v[0] == ' ' || v[len(v)-1] == ' ') {
		return invalidParameter("Invalid attribute value %q.", v)
	}
	return nil
}

// reserved reports whether a name belongs to the attributes ECS and its agent
// set themselves (ecs.ami-id, ecs.os-type, ...; the agent's
// com.amazonaws.ecs.capability.*):
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement-constraints.html#attributes.
func reserved(name string) bool {
	return strings.HasPrefix(name, "ecs.") || strings.HasPrefix(name, "com.amazonaws.ecs.")
}

// customAfter is how many custom attributes i would hold once names are set.
func (i *instance) customAfter(names []string) int {
	n := len(i.attributes)
	seen := map[string]bool{}
	for _, name := range names {
		if _, has := i.attributes[name]; !has && !seen[name] {
			n++
		}
		seen[name] = true
	}
	return n
}

func (i *instance) setAttribute(name, value string) {
	if i.attributes == nil {
		i.attributes = map[string]string{}
	}
	i.attributes[name] = value
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
