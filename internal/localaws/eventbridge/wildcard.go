package eventbridge

import "strings"

// wildcard is the pattern split at its unescaped '*': the value starts with
// the first part, ends with the last, and holds the others in order.
type wildcard []string

func (w wildcard) match(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	if len(w) == 1 {
		return s == w[0]
	}
	if !strings.HasPrefix(s, w[0]) {
		return false
	}
	rest := s[len(w[0]):]
	// Taking the leftmost occurrence of each middle part is enough: a
	// later one would only leave less room for the parts after it.
	for _, part := range w[1 : len(w)-1] {
		i := strings.Index(rest, part)
		if i < 0 {
			return false
		}
		rest = rest[i+len(part):]
	}
	return strings.HasSuffix(rest, w[len(w)-1])
}

// compileWildcard splits s at its unescaped '*'. "\*" is a literal star and
// "\\" a literal backslash; AWS rejects any other escape and consecutive
// wildcards.
func compileWildcard(s, path string) (wildcard, error) {
	var w wildcard
	var part strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 == len(s) || s[i+1] != '*' && s[i+1] != '\\' {
				return nil, invalid(path, `wildcard %q: only \* and \\ may be escaped`, s)
			}
			i++
			part.WriteByte(s[i])
		case '*':
			if i+1 < len(s) && s[i+1] == '*' {
				return nil, invalid(path, "wildcard %q: consecutive wildcards are not allowed", s)
			}
			w = append(w, part.String())
			part.Reset()
		default:
			part.WriteByte(s[i])
		}
	}
	return append(w, part.String()), nil
}
