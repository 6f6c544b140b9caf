package drain

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
)

// Scope is what one deployment of the drainer drains: DRAINER_ASGS,
// DRAINER_HOOKS and DRAINER_CLUSTER. A group carries other teams' hooks (a
// log flush, a backup, ECS managed draining's), each with its own lifecycle
// action and event; the drainer acts on its own only.
type Scope struct {
	// ASGs, when not empty, limits drains to these Auto Scaling groups.
	ASGs []string
	// Hooks, when not empty, limits drains to these lifecycle hooks.
	Hooks []string
	// Cluster is the cluster of a hook whose metadata names none.
	Cluster string
}

// Group reports whether the drainer drains the group's instances.
func (s Scope) Group(name string) bool {
	return len(s.ASGs) == 0 || slices.Contains(s.ASGs, name)
}

// Hook reports whether the drainer completes the hook's actions.
func (s Scope) Hook(name string) bool {
	return len(s.Hooks) == 0 || slices.Contains(s.Hooks, name)
}

// Covers returns a *Skip saying why the group's hook is outside the scope,
// nil if it is inside.
func (s Scope) Covers(group, hook string) error {
	switch {
	case !s.Group(group):
		return &Skip{Reason: "auto scaling group is not in DRAINER_ASGS"}
	case !s.Hook(hook):
		return &Skip{Reason: "lifecycle hook is not in DRAINER_HOOKS: another hook's action, which the drainer neither drains nor completes"}
	}
	return nil
}

// Skip is the error for a lifecycle action that is not the drainer's: the
// record is logged with the reason and succeeds, and nothing is written.
type Skip struct{ Reason string }

func (e *Skip) Error() string { return e.Reason }

// IsSkip reports whether err says the action is not the drainer's.
func IsSkip(err error) bool {
	var s *Skip
	return errors.As(err, &s)
}

// Drains returns the metadata of the hook's action if the drainer drains it,
// a *Skip if the action is another's, or an error when the hook is the
// drainer's but its metadata can never be used (the record belongs in the
// DLQ, where an alarm shows it).
func (s Scope) Drains(group, hook, metadata string) (lifecycle.HookMetadata, error) {
	if err := s.Covers(group, hook); err != nil {
		return lifecycle.HookMetadata{}, err
	}
	meta, ok, err := lifecycle.ParseHookMetadata(metadata)
	switch {
	case err != nil && len(s.Hooks) == 0 && !strings.HasPrefix(strings.TrimSpace(metadata), "{"):
		// With no hook named, any hook could be ours; metadata that is no
		// JSON object at all (AWS's own sample is "additional-info") was
		// written for another hook's handler.
		return meta, &Skip{Reason: "lifecycle hook's metadata is not the drainer's JSON object: another hook's action (set DRAINER_HOOKS to name the drainer's hooks)"}
	case err != nil:
		return meta, fmt.Errorf("hook %s: %w", hook, err)
	case ok:
		return meta, nil
	case s.Cluster != "":
		meta.Cluster = s.Cluster
		return meta, nil
	}
	return meta, errors.New("no cluster: the hook's NotificationMetadata has no {\"cluster\":...} and DRAINER_CLUSTER is not set")
}
