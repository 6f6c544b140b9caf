package eventbridge

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// ErrInvalidPattern is wrapped by every error Compile returns. On AWS,
// PutRule answers InvalidEventPatternException for the same patterns.
var ErrInvalidPattern = errors.New("invalid event pattern")

// Pattern is a compiled event pattern: compile once when the rule is put,
// match every event against it.
//
// The semantics are those of the EventBridge user guide ("Creating event
// patterns", "Arrays in EventBridge event patterns", "Content filtering"):
// every field of the pattern must match (AND); the values in a field's array
// are alternatives (OR); a nested object descends into the event's object at
// that key; when the event holds an array, the field matches if any element
// does, and a nested pattern object must match within a single element.
type Pattern struct {
	root *object
}

// object is a pattern object: its fields must all match, and, if it has an
// $or, at least one of the alternatives too.
type object struct {
	fields []field
	or     []*object
}

// field is one key of a pattern object: either a leaf (an array of match
// values) or a nested pattern object.
type field struct {
	name string
	leaf *leaf
	sub  *object
}

// leaf is a field's array of match values. Exists is kept apart from the
// other matchers because it is the only one that says something about a
// field that is absent.
type leaf struct {
	anyOf     []matcher
	ifPresent bool // {"exists": true}
	ifAbsent  bool // {"exists": false}
}

// Compile parses and validates an event pattern. Its errors wrap
// ErrInvalidPattern and name the offending field.
func Compile(pattern []byte) (*Pattern, error) {
	v, err := decode(pattern)
	if err != nil {
		return nil, invalid("", "not JSON: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, invalid("", "a pattern is a JSON object, got %s", kind(v))
	}
	if len(m) == 0 {
		return nil, invalid("", "the pattern is empty")
	}
	root, err := compileObject(m, "")
	if err != nil {
		return nil, err
	}
	return &Pattern{root: root}, nil
}

// Match reports whether event matches pattern. It fails if the pattern is
// invalid or the event is not a JSON object.
func Match(pattern, event []byte) (bool, error) {
	p, err := Compile(pattern)
	if err != nil {
		return false, err
	}
	ev, err := decodeEvent(event)
	if err != nil {
		return false, err
	}
	return p.root.matches(ev), nil
}

// Matches reports whether event matches p. An event that is not a JSON
// object matches nothing.
func (p *Pattern) Matches(event []byte) bool {
	ev, err := decodeEvent(event)
	return err == nil && p.root.matches(ev)
}

func compileObject(m map[string]any, path string) (*object, error) {
	o := &object{}
	// Sorted so that errors and matching order do not depend on map order.
	for _, name := range slices.Sorted(maps.Keys(m)) {
		p := join(path, name)
		if name == "$or" {
			or, err := compileOr(m[name], p)
			if err != nil {
				return nil, err
			}
			o.or = or
			continue
		}
		switch v := m[name].(type) {
		case map[string]any:
			if len(v) == 0 {
				return nil, invalid(p, "a nested pattern object is empty")
			}
			sub, err := compileObject(v, p)
			if err != nil {
				return nil, err
			}
			o.fields = append(o.fields, field{name: name, sub: sub})
		case []any:
			l, err := compileLeaf(v, p)
			if err != nil {
				return nil, err
			}
			o.fields = append(o.fields, field{name: name, leaf: l})
		default:
			return nil, invalid(p, "match values must be in an array, got %s", kind(v))
		}
	}
	return o, nil
}

func compileOr(v any, path string) ([]*object, error) {
	alts, ok := v.([]any)
	if !ok || len(alts) == 0 {
		return nil, invalid(path, "$or takes a non-empty array of pattern objects")
	}
	var or []*object
	for i, a := range alts {
		m, ok := a.(map[string]any)
		p := fmt.Sprintf("%s[%d]", path, i)
		if !ok || len(m) == 0 {
			return nil, invalid(p, "an $or alternative must be a non-empty pattern object")
		}
		o, err := compileObject(m, p)
		if err != nil {
			return nil, err
		}
		or = append(or, o)
	}
	return or, nil
}

func compileLeaf(values []any, path string) (*leaf, error) {
	if len(values) == 0 {
		return nil, invalid(path, "an array of match values is empty, so it could match nothing")
	}
	l := &leaf{}
	for _, v := range values {
		switch v := v.(type) {
		case map[string]any:
			if exists, ok, err := compileExists(v, path); err != nil {
				return nil, err
			} else if ok {
				l.ifPresent = l.ifPresent || exists
				l.ifAbsent = l.ifAbsent || !exists
				continue
			}
			m, err := compileOperator(v, path)
			if err != nil {
				return nil, err
			}
			l.anyOf = append(l.anyOf, m)
		case []any:
			return nil, invalid(path, "match values cannot be arrays")
		default:
			m, err := exact(v, path)
			if err != nil {
				return nil, err
			}
			l.anyOf = append(l.anyOf, m)
		}
	}
	return l, nil
}

// compileExists reports whether op is an exists filter, and its value.
func compileExists(op map[string]any, path string) (exists, ok bool, err error) {
	v, found := op["exists"]
	if !found {
		return false, false, nil
	}
	b, isBool := v.(bool)
	if len(op) != 1 || !isBool {
		return false, false, invalid(path, `exists takes true or false, alone in its object`)
	}
	return b, true, nil
}

func invalid(path, format string, args ...any) error {
	if path == "" {
		path = "pattern"
	}
	return fmt.Errorf("%w: %s: %s", ErrInvalidPattern, path, fmt.Sprintf(format, args...))
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	default:
		return "an object"
	}
}
