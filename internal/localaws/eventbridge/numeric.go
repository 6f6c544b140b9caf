package eventbridge

import (
	"encoding/json"
	"strconv"
)

// numeric is a range; a bound that is not set is infinite.
type numeric struct{ lo, hi bound }

type bound struct {
	set       bool
	v         float64
	inclusive bool
}

func (r numeric) match(v any) bool {
	n, ok := number(v)
	if !ok {
		return false
	}
	return r.lo.holdsBelow(n) && r.hi.holdsAbove(n)
}

// holdsBelow reports whether n satisfies b as a lower bound.
func (b bound) holdsBelow(n float64) bool { return !b.set || n > b.v || b.inclusive && n == b.v }

// holdsAbove reports whether n satisfies b as an upper bound.
func (b bound) holdsAbove(n float64) bool { return !b.set || n < b.v || b.inclusive && n == b.v }

// number reads an event scalar as a number. Only JSON numbers are numbers:
// the string "5" is not.
func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	// The decoder has checked the syntax. Out of float64 range, ParseFloat
	// returns ±Inf, which still orders correctly against every bound.
	f, _ := strconv.ParseFloat(string(n), 64)
	return f, true
}

// compileNumeric compiles ["op", n] or a range [">"|">=", lo, "<"|"<=", hi].
func compileNumeric(arg any, path string) (matcher, error) {
	list, ok := arg.([]any)
	if !ok || len(list) != 2 && len(list) != 4 {
		return nil, invalid(path, `numeric takes ["op", n] or [">", lo, "<", hi]`)
	}
	var r numeric
	for i := 0; i < len(list); i += 2 {
		op, ok := list[i].(string)
		if !ok {
			return nil, invalid(path, "numeric operator must be a string, got %s", kind(list[i]))
		}
		n, ok := number(list[i+1])
		if !ok {
			return nil, invalid(path, "numeric %s takes a number, got %s", op, kind(list[i+1]))
		}
		switch {
		case op == "=" && len(list) == 2:
			r.lo, r.hi = bound{true, n, true}, bound{true, n, true}
		case (op == ">" || op == ">=") && i == 0:
			r.lo = bound{true, n, op == ">="}
		case (op == "<" || op == "<=") && (len(list) == 2 || i == 2):
			r.hi = bound{true, n, op == "<="}
		default:
			return nil, invalid(path, "numeric operator %q is unknown or out of place", op)
		}
	}
	if r.lo.set && r.hi.set && r.lo.v > r.hi.v {
		return nil, invalid(path, "numeric range is empty: lower bound %g is above upper bound %g", r.lo.v, r.hi.v)
	}
	return r, nil
}
