package eventbridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// matches reports whether the event object ev matches o. A nil ev is an
// event with none of the pattern's fields.
func (o *object) matches(ev map[string]any) bool {
	for _, f := range o.fields {
		v, present := ev[f.name]
		if f.sub != nil {
			if !f.sub.matchesValue(v) {
				return false
			}
		} else if !f.leaf.matches(v, present) {
			return false
		}
	}
	if len(o.or) == 0 {
		return true
	}
	for _, alt := range o.or {
		if alt.matches(ev) {
			return true
		}
	}
	return false
}

// matchesValue matches a nested pattern object against whatever the event
// holds at its key. An array matches if one of its elements does, so that
// fields of one pattern object are never satisfied by different elements.
// Anything that is not an object (absent, a leaf, an empty array) has none
// of the pattern's fields: only {"exists": false} can match inside it.
func (o *object) matchesValue(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		return o.matches(v)
	case []any:
		if len(v) == 0 {
			return o.matches(nil)
		}
		for _, e := range v {
			if o.matchesValue(e) {
				return true
			}
		}
		return false
	default:
		return o.matches(nil)
	}
}

// matches matches the leaf against the event's value at its key. Exists
// looks at leaf values only, as AWS documents: a field that holds an object
// or an empty array does not exist for it.
func (l *leaf) matches(v any, present bool) bool {
	var values []any
	if present {
		values = leafValues(v, nil)
	}
	if len(values) == 0 {
		return l.ifAbsent
	}
	if l.ifPresent {
		return true
	}
	for _, m := range l.anyOf {
		for _, x := range values {
			if m.match(x) {
				return true
			}
		}
	}
	return false
}

// leafValues appends the scalars of v to dst, flattening arrays and skipping
// objects.
func leafValues(v any, dst []any) []any {
	switch v := v.(type) {
	case map[string]any:
		return dst
	case []any:
		for _, e := range v {
			dst = leafValues(e, dst)
		}
		return dst
	default:
		return append(dst, v)
	}
}

// decode parses one JSON value, keeping numbers as json.Number so that
// patterns and events compare them by value, not by spelling.
func decode(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

func decodeEvent(event []byte) (map[string]any, error) {
	v, err := decode(event)
	if err != nil {
		return nil, fmt.Errorf("event is not JSON: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("event is %s, want a JSON object", kind(v))
	}
	return m, nil
}
