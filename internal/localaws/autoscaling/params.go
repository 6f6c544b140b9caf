package autoscaling

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

// params are the form fields of one awsQuery request. Lists arrive as
// Name.member.1, Name.member.2, ...; unset optional members are absent.
type params url.Values

func (p params) get(name string) (string, bool) {
	v, ok := p[name]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}

func (p params) list(name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := p.get(fmt.Sprintf("%s.member.%d", name, i))
		if !ok {
			return out
		}
		out = append(out, v)
	}
}

// checks collects constraint violations and reports them the way AWS's
// request validation does: "N validation error(s) detected: Value 'v' at
// 'fieldName' failed to satisfy constraint: Member must ...", joined by "; ".
type checks struct{ msgs []string }

func fieldName(param string) string {
	r, n := utf8.DecodeRuneInString(param)
	return string(unicode.ToLower(r)) + param[n:]
}

func (c *checks) fail(param, value, constraint string) {
	c.msgs = append(c.msgs, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: Member must %s", value, fieldName(param), constraint))
}

// required returns the parameter, recording a violation when it is absent.
func (c *checks) required(p params, param string) string {
	v, ok := p.get(param)
	if !ok {
		c.fail(param, "null", "not be null")
	}
	return v
}

func (c *checks) length(param, v string, min, max int) {
	switch n := utf8.RuneCountInString(v); {
	case n < min:
		c.fail(param, quote(v), fmt.Sprintf("have length greater than or equal to %d", min))
	case n > max:
		c.fail(param, quote(v), fmt.Sprintf("have length less than or equal to %d", max))
	}
}

// optionalLength checks the length of an optional parameter when present.
func (c *checks) optionalLength(p params, param string, min, max int) string {
	v, ok := p.get(param)
	if ok {
		c.length(param, v, min, max)
	}
	return v
}

func (c *checks) pattern(param, v string, re *regexp.Regexp, text string) {
	if v != "" && !re.MatchString(v) {
		c.fail(param, quote(v), "satisfy regular expression pattern: "+text)
	}
}

// integer returns an optional integer parameter, or def when absent.
func (c *checks) integer(p params, param string, def, min, max int) int {
	v, ok := p.get(param)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		c.fail(param, quote(v), "be an integer")
	case n < min:
		c.fail(param, quote(v), fmt.Sprintf("have value greater than or equal to %d", min))
	case n > max:
		c.fail(param, quote(v), fmt.Sprintf("have value less than or equal to %d", max))
	}
	return n
}

func (c *checks) boolean(p params, param string) bool {
	v, ok := p.get(param)
	if !ok {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		c.fail(param, quote(v), "be a boolean")
	}
	return b
}

// count checks the number of members of a list parameter. AWS renders a
// list value as Java does, [a, b, c].
func (c *checks) count(param string, list []string, max int) {
	if len(list) > max {
		c.fail(param, quote("["+strings.Join(list, ", ")+"]"), fmt.Sprintf("have length less than or equal to %d", max))
	}
}

func (c *checks) enum(param, v string, values []string) {
	if !slices.Contains(values, v) {
		c.fail(param, quote(v), "satisfy enum value set: ["+strings.Join(values, ", ")+"]")
	}
}

func (c *checks) err() *awswire.Error {
	switch len(c.msgs) {
	case 0:
		return nil
	case 1:
		return awswire.ClientError("ValidationError", "1 validation error detected: %s", c.msgs[0])
	default:
		return awswire.ClientError("ValidationError", "%d validation errors detected: %s", len(c.msgs), strings.Join(c.msgs, "; "))
	}
}

func quote(v string) string { return "'" + v + "'" }

// Paging tokens are the last key of the previous page, base64-encoded so
// that callers treat them as opaque. Keys are listed in sorted order, so a
// token stays valid while the set changes between pages.
func encodeToken(lastKey string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(lastKey))
}

// page returns up to max keys after the token, and the next token if more
// remain. keys must be sorted.
func page(keys []string, token string, max int) ([]string, string, *awswire.Error) {
	start := 0
	if token != "" {
		last, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			return nil, "", awswire.ClientError("InvalidNextToken", "The token '%s' is invalid.", token)
		}
		for start < len(keys) && keys[start] <= string(last) {
			start++
		}
	}
	end := min(len(keys), start+max)
	next := ""
	if end < len(keys) {
		next = encodeToken(keys[end-1])
	}
	return keys[start:end], next, nil
}
