package eventbridge

import (
	"encoding/json"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// matcher is one match value of a leaf: an exact value or a content filter.
// It sees one event scalar at a time: a string, a json.Number, a bool or nil.
type matcher interface {
	match(v any) bool
}

type (
	equalString string
	equalNumber float64
	equalBool   bool
	equalNull   struct{}
	equalFold   string
	prefix      struct {
		s    string
		fold bool
	}
	suffix struct {
		s    string
		fold bool
	}
	// anythingBut matches any scalar that none of its matchers match. An
	// absent field is not "anything": the leaf never asks it.
	anythingBut []matcher
	cidr        netip.Prefix
)

func (e equalString) match(v any) bool { s, ok := v.(string); return ok && s == string(e) }
func (e equalNumber) match(v any) bool { n, ok := number(v); return ok && n == float64(e) }
func (e equalBool) match(v any) bool   { b, ok := v.(bool); return ok && b == bool(e) }
func (equalNull) match(v any) bool     { return v == nil }
func (e equalFold) match(v any) bool {
	s, ok := v.(string)
	return ok && strings.EqualFold(s, string(e))
}

func (p prefix) match(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	if !p.fold {
		return strings.HasPrefix(s, p.s)
	}
	// EqualFold folds rune by rune, so a match has as many runes as p.s.
	n := utf8.RuneCountInString(p.s)
	i := 0
	for range n {
		if i == len(s) {
			return false
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return strings.EqualFold(s[:i], p.s)
}

func (p suffix) match(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	if !p.fold {
		return strings.HasSuffix(s, p.s)
	}
	n := utf8.RuneCountInString(p.s)
	i := len(s)
	for range n {
		if i == 0 {
			return false
		}
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	return strings.EqualFold(s[i:], p.s)
}

func (a anythingBut) match(v any) bool {
	for _, m := range a {
		if m.match(v) {
			return false
		}
	}
	return true
}

func (c cidr) match(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	a, err := netip.ParseAddr(s)
	return err == nil && netip.Prefix(c).Contains(a.Unmap())
}

// exact compiles a plain match value.
func exact(v any, path string) (matcher, error) {
	switch v := v.(type) {
	case string:
		return equalString(v), nil
	case json.Number:
		n, _ := number(v)
		return equalNumber(n), nil
	case bool:
		return equalBool(v), nil
	case nil:
		return equalNull{}, nil
	default:
		return nil, invalid(path, "a match value cannot be %s", kind(v))
	}
}

// compileOperator compiles a content filter: an object with one key, the
// operator. exists is compiled by the leaf, which handles absent fields.
func compileOperator(op map[string]any, path string) (matcher, error) {
	if len(op) != 1 {
		return nil, invalid(path, "a content filter is an object with exactly one operator, got %d keys", len(op))
	}
	var name string
	var arg any
	for name, arg = range op { // the one key
	}
	switch name {
	case "prefix", "suffix":
		return compileAffix(name, arg, path)
	case "equals-ignore-case":
		s, ok := arg.(string)
		if !ok {
			return nil, invalid(path, "equals-ignore-case takes a string, got %s", kind(arg))
		}
		return equalFold(s), nil
	case "anything-but":
		return compileAnythingBut(arg, path)
	case "numeric":
		return compileNumeric(arg, path)
	case "cidr":
		return compileCIDR(arg, path)
	case "wildcard":
		s, ok := arg.(string)
		if !ok {
			return nil, invalid(path, "wildcard takes a string, got %s", kind(arg))
		}
		return compileWildcard(s, path)
	default:
		return nil, invalid(path, "unknown operator %q", name)
	}
}

// compileAffix compiles prefix and suffix, with a string or, to ignore case,
// {"equals-ignore-case": string}.
func compileAffix(name string, arg any, path string) (matcher, error) {
	var s string
	var fold bool
	switch arg := arg.(type) {
	case string:
		s = arg
	case map[string]any:
		v, ok := arg["equals-ignore-case"].(string)
		if !ok || len(arg) != 1 {
			return nil, invalid(path, `%s takes a string or {"equals-ignore-case": string}`, name)
		}
		s, fold = v, true
	default:
		return nil, invalid(path, `%s takes a string or {"equals-ignore-case": string}, got %s`, name, kind(arg))
	}
	if name == "prefix" {
		return prefix{s: s, fold: fold}, nil
	}
	return suffix{s: s, fold: fold}, nil
}

// compileAnythingBut compiles the negations AWS documents: a string, a
// number, a list of only strings or only numbers, or an object with one of
// prefix, suffix, equals-ignore-case or wildcard (the last two also take a
// list of strings).
func compileAnythingBut(arg any, path string) (matcher, error) {
	switch arg := arg.(type) {
	case string, json.Number:
		m, err := exact(arg, path)
		return anythingBut{m}, err
	case []any:
		return compileAnythingButList(arg, path)
	case map[string]any:
		if len(arg) != 1 {
			return nil, invalid(path, "anything-but takes an object with exactly one operator, got %d keys", len(arg))
		}
		for name, v := range arg {
			switch name {
			case "prefix", "suffix":
				s, ok := v.(string)
				if !ok || s == "" {
					return nil, invalid(path, "anything-but %s takes a non-empty string, got %s", name, kind(v))
				}
				if name == "prefix" {
					return anythingBut{prefix{s: s}}, nil
				}
				return anythingBut{suffix{s: s}}, nil
			case "equals-ignore-case", "wildcard":
				return compileAnythingButStrings(name, v, path)
			default:
				return nil, invalid(path, "anything-but does not take %q", name)
			}
		}
	}
	return nil, invalid(path, "anything-but takes a string, a number, a list or an object, got %s", kind(arg))
}

func compileAnythingButList(list []any, path string) (matcher, error) {
	if len(list) == 0 {
		return nil, invalid(path, "anything-but takes a non-empty list")
	}
	var a anythingBut
	for _, v := range list {
		switch v.(type) {
		case string, json.Number:
		default:
			return nil, invalid(path, "anything-but lists hold strings or numbers, got %s", kind(v))
		}
		if kind(v) != kind(list[0]) {
			return nil, invalid(path, "anything-but lists hold only strings or only numbers")
		}
		m, err := exact(v, path)
		if err != nil {
			return nil, err
		}
		a = append(a, m)
	}
	return a, nil
}

func compileAnythingButStrings(name string, v any, path string) (matcher, error) {
	values, isList := v.([]any)
	if !isList {
		values = []any{v}
	}
	if len(values) == 0 {
		return nil, invalid(path, "anything-but %s takes a string or a non-empty list of strings", name)
	}
	var a anythingBut
	for _, v := range values {
		s, ok := v.(string)
		if !ok {
			return nil, invalid(path, "anything-but %s takes strings, got %s", name, kind(v))
		}
		if name == "equals-ignore-case" {
			a = append(a, equalFold(s))
			continue
		}
		w, err := compileWildcard(s, path)
		if err != nil {
			return nil, err
		}
		a = append(a, w)
	}
	return a, nil
}

func compileCIDR(arg any, path string) (matcher, error) {
	s, ok := arg.(string)
	if !ok {
		return nil, invalid(path, "cidr takes a string, got %s", kind(arg))
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return nil, invalid(path, "cidr %q: %v", s, err)
	}
	return cidr(p.Masked()), nil
}
