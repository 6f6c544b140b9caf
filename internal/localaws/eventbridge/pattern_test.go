package eventbridge

import (
	"errors"
	"strings"
	"testing"
)

type matchCase struct {
	name    string
	pattern string
	event   string
	want    bool
}

// runMatchCases checks each case through Match and through Compile then
// Matches: the two entry points must agree, or a rule put on the bus would
// route differently from what Match promised.
func runMatchCases(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Match([]byte(c.pattern), []byte(c.event))
			if err != nil {
				t.Fatalf("Match(%s, %s): %v", c.pattern, c.event, err)
			}
			if got != c.want {
				t.Errorf("Match(%s, %s) = %v, want %v", c.pattern, c.event, got, c.want)
			}
			p, err := Compile([]byte(c.pattern))
			if err != nil {
				t.Fatalf("Compile(%s): %v", c.pattern, err)
			}
			if got := p.Matches([]byte(c.event)); got != c.want {
				t.Errorf("Compile(%s).Matches(%s) = %v, want %v", c.pattern, c.event, got, c.want)
			}
		})
	}
}

// ec2Event is the example event of "Creating event patterns"
// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern.html).
const ec2Event = `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718",
 "detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":"111122223333",
 "time":"2017-12-22T18:43:48Z","region":"us-west-1",
 "resources":["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
 "detail":{"instance-id":"i-1234567890abcdef0","state":"terminated"}}`

// The rules of the EventBridge user guide must hold on its own examples, or
// a rule that works against the emulator would route differently on AWS.
func TestMatchFollowsTheDocumentedExamples(t *testing.T) {
	runMatchCases(t, []matchCase{
		// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern.html
		{"the EC2 termination pattern matches the EC2 termination event",
			`{"source":["aws.ec2"],"detail-type":["EC2 Instance State-change Notification"],"detail":{"state":["terminated"]}}`,
			ec2Event, true},
		{"a value matches if it is any of the array's values",
			`{"source":["aws.ec2","aws.fargate"]}`, ec2Event, true},
		{"every field of the pattern must match",
			`{"source":["aws.ec2"],"detail":{"state":["running"]}}`, ec2Event, false},
		{"a field the event lacks does not match",
			`{"detail":{"reason":["terminated"]}}`, ec2Event, false},
		{"a field must appear at the same nesting as in the pattern",
			`{"state":["terminated"]}`, ec2Event, false},
		{"matching is case sensitive",
			`{"detail":{"state":["Terminated"]}}`, ec2Event, false},

		// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html
		{"an event array matches if it intersects the pattern array",
			`{"resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f","arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f","arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"]}`,
			`{"resources":["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate","arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}`,
			true},
		{"an event array that shares no value with the pattern array does not match",
			`{"resources":["arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f"]}`,
			`{"resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}`,
			false},

		// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-null-values.html
		{"an empty string matches an empty string",
			`{"detail":{"eventVersion":[""]}}`, `{"detail":{"eventVersion":"","responseElements":null}}`, true},
		{"null matches null",
			`{"detail":{"responseElements":[null]}}`, `{"detail":{"eventVersion":"","responseElements":null}}`, true},
		{"an empty string does not match null",
			`{"detail":{"responseElements":[""]}}`, `{"detail":{"eventVersion":"","responseElements":null}}`, false},
		{"null does not match an empty string",
			`{"detail":{"eventVersion":[null]}}`, `{"detail":{"eventVersion":"","responseElements":null}}`, false},
	})
}

// Each content filter of "Content filtering in Amazon EventBridge event
// patterns" and of the operator table in "Comparison operators"
// (https://docs.aws.amazon.com/eventbridge/latest/userguide/content-filtering-with-event-patterns.html,
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html)
// must select the events the page says it selects.
func TestContentFiltersFollowTheDocumentedExamples(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"prefix matches the start of a string",
			`{"time":[{"prefix":"2017-10-02"}]}`, `{"time":"2017-10-02T18:43:48Z"}`, true},
		{"prefix does not match another start",
			`{"time":[{"prefix":"2017-10-02"}]}`, `{"time":"2017-10-03T18:43:48Z"}`, false},
		{"prefix with equals-ignore-case ignores the case of the start",
			`{"detail":{"service":[{"prefix":{"equals-ignore-case":"EventB"}}]}}`, `{"detail":{"service":"eventbridge"}}`, true},
		{"prefix with equals-ignore-case still needs the start",
			`{"detail":{"service":[{"prefix":{"equals-ignore-case":"EventB"}}]}}`, `{"detail":{"service":"events"}}`, false},
		{"suffix matches the end of a string",
			`{"FileName":[{"suffix":".png"}]}`, `{"FileName":"image.png"}`, true},
		{"suffix is case sensitive",
			`{"FileName":[{"suffix":".png"}]}`, `{"FileName":"image.PNG"}`, false},
		{"suffix with equals-ignore-case ignores the case of the end",
			`{"detail":{"FileName":[{"suffix":{"equals-ignore-case":".png"}}]}}`, `{"detail":{"FileName":"image.PNG"}}`, true},
		{"anything-but a string matches another string",
			`{"detail":{"state":[{"anything-but":"initializing"}]}}`, `{"detail":{"state":"running"}}`, true},
		{"anything-but a string does not match that string",
			`{"detail":{"state":[{"anything-but":"initializing"}]}}`, `{"detail":{"state":"initializing"}}`, false},
		{"anything-but a number matches another number",
			`{"detail":{"x-limit":[{"anything-but":123}]}}`, `{"detail":{"x-limit":456}}`, true},
		{"anything-but a number does not match that number however it is written",
			`{"detail":{"x-limit":[{"anything-but":123}]}}`, `{"detail":{"x-limit":123.0}}`, false},
		{"anything-but a list of strings matches a string outside it",
			`{"detail":{"state":[{"anything-but":["stopped","overloaded"]}]}}`, `{"detail":{"state":"running"}}`, true},
		{"anything-but a list of strings does not match a string in it",
			`{"detail":{"state":[{"anything-but":["stopped","overloaded"]}]}}`, `{"detail":{"state":"overloaded"}}`, false},
		{"anything-but a list of numbers matches a number outside it",
			`{"detail":{"x-limit":[{"anything-but":[100,200,300]}]}}`, `{"detail":{"x-limit":150}}`, true},
		{"anything-but a list of numbers does not match a number in it",
			`{"detail":{"x-limit":[{"anything-but":[100,200,300]}]}}`, `{"detail":{"x-limit":200}}`, false},
		{"anything-but a prefix matches a string with another start",
			`{"detail":{"state":[{"anything-but":{"prefix":"init"}}]}}`, `{"detail":{"state":"running"}}`, true},
		{"anything-but a prefix does not match a string with that start",
			`{"detail":{"state":[{"anything-but":{"prefix":"init"}}]}}`, `{"detail":{"state":"initializing"}}`, false},
		{"anything-but a suffix does not match a string with that end",
			`{"detail":{"FileName":[{"anything-but":{"suffix":".txt"}}]}}`, `{"detail":{"FileName":"notes.txt"}}`, false},
		{"anything-but a suffix matches a string with another end",
			`{"detail":{"FileName":[{"anything-but":{"suffix":".txt"}}]}}`, `{"detail":{"FileName":"image.png"}}`, true},
		{"anything-but equals-ignore-case does not match any casing of the values",
			`{"detail":{"state":[{"anything-but":{"equals-ignore-case":["Stopped","OverLoaded"]}}]}}`, `{"detail":{"state":"STOPPED"}}`, false},
		{"anything-but equals-ignore-case matches other values",
			`{"detail":{"state":[{"anything-but":{"equals-ignore-case":["Stopped","OverLoaded"]}}]}}`, `{"detail":{"state":"running"}}`, true},
		{"anything-but a wildcard does not match a path through /lib/",
			`{"FilePath":[{"anything-but":{"wildcard":"*/lib/*"}}]}`, `{"FilePath":"/usr/lib/libc.so"}`, false},
		{"anything-but a wildcard matches other paths",
			`{"FilePath":[{"anything-but":{"wildcard":"*/lib/*"}}]}`, `{"FilePath":"/usr/bin/env"}`, true},
		{"numeric ranges and equality all hold",
			`{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}],"d-count":[{"numeric":["<",10]}],"x-limit":[{"numeric":["=",3.018e2]}]}}`,
			`{"detail":{"c-count":5,"d-count":3,"x-limit":301.8}}`, true},
		{"numeric excludes the open end of a range",
			`{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}],"d-count":[{"numeric":["<",10]}],"x-limit":[{"numeric":["=",3.018e2]}]}}`,
			`{"detail":{"c-count":0,"d-count":3,"x-limit":301.8}}`, false},
		{"cidr matches an address in the block",
			`{"detail":{"sourceIPAddress":[{"cidr":"10.0.0.0/24"}]}}`, `{"detail":{"sourceIPAddress":"10.0.0.255"}}`, true},
		{"cidr does not match an address outside the block",
			`{"detail":{"sourceIPAddress":[{"cidr":"10.0.0.0/24"}]}}`, `{"detail":{"sourceIPAddress":"10.0.1.1"}}`, false},
		{"exists true matches a present field",
			`{"detail":{"c-count":[{"exists":true}]}}`, `{"detail":{"c-count":1}}`, true},
		{"exists true does not match an absent field",
			`{"detail":{"c-count":[{"exists":true}]}}`, `{"detail":{"d-count":1}}`, false},
		{"exists false matches an absent field",
			`{"detail":{"c-count":[{"exists":false}]}}`, `{"detail":{"d-count":1}}`, true},
		{"exists false does not match a present field",
			`{"detail":{"c-count":[{"exists":false}]}}`, `{"detail":{"c-count":1}}`, false},
		{"exists only sees leaves: a field holding an object does not exist for it",
			`{"detail":[{"exists":true}]}`, `{"detail":{"c-count":1}}`, false},
		{"equals-ignore-case matches any casing",
			`{"detail-type":[{"equals-ignore-case":"ec2 instance state-change notification"}]}`, ec2Event, true},
		{"wildcard matches any run of characters at each star",
			`{"EventBusArn":[{"wildcard":"arn:aws:events:us-east-1:*:event-bus/*"}]}`,
			`{"EventBusArn":"arn:aws:events:us-east-1:123456789012:event-bus/default"}`, true},
		{"wildcard still needs the literal parts",
			`{"EventBusArn":[{"wildcard":"arn:aws:events:us-east-1:*:event-bus/*"}]}`,
			`{"EventBusArn":"arn:aws:events:us-west-2:123456789012:event-bus/default"}`, false},
		{"$or matches if one alternative matches",
			`{"detail":{"$or":[{"c-count":[{"numeric":[">",0,"<=",5]}]},{"d-count":[{"numeric":["<",10]}]},{"x-limit":[{"numeric":["=",3.018e2]}]}]}}`,
			`{"detail":{"c-count":50,"d-count":3,"x-limit":1}}`, true},
		{"$or does not match if no alternative matches",
			`{"detail":{"$or":[{"c-count":[{"numeric":[">",0,"<=",5]}]},{"d-count":[{"numeric":["<",10]}]},{"x-limit":[{"numeric":["=",3.018e2]}]}]}}`,
			`{"detail":{"c-count":50,"d-count":30,"x-limit":1}}`, false},
		{"$or combines with the other fields of its object",
			`{"source":["aws.cloudwatch"],"$or":[{"metricName":["CPUUtilization","ReadLatency"]},{"namespace":["AWS/EC2","AWS/ES"]}]}`,
			`{"source":"aws.cloudwatch","metricName":"DiskWrites","namespace":"AWS/ES"}`, true},
		{"$or does not excuse the other fields of its object",
			`{"source":["aws.cloudwatch"],"$or":[{"metricName":["CPUUtilization","ReadLatency"]},{"namespace":["AWS/EC2","AWS/ES"]}]}`,
			`{"source":"aws.ec2","metricName":"CPUUtilization","namespace":"AWS/EC2"}`, false},
	})
}

// Values must compare as JSON values, not as text, and each filter must keep
// to the types it is defined on; otherwise a rule would route events whose
// fields merely look alike.
func TestMatchComparesJSONValues(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"5 matches 5.0", `{"n":[5]}`, `{"n":5.0}`, true},
		{"5 matches 5e0", `{"n":[5]}`, `{"n":5e0}`, true},
		{"the number 5 does not match the string 5", `{"n":[5]}`, `{"n":"5"}`, false},
		{"the string 5 does not match the number 5", `{"n":["5"]}`, `{"n":5}`, false},
		{"true matches true", `{"b":[true]}`, `{"b":true}`, true},
		{"true does not match the string true", `{"b":[true]}`, `{"b":"true"}`, false},
		{"false does not match null", `{"b":[false]}`, `{"b":null}`, false},
		{"null does not match an absent field", `{"b":[null]}`, `{}`, false},
		{"numeric does not match a numeric string", `{"n":[{"numeric":[">",1]}]}`, `{"n":"3"}`, false},
		{"numeric >= includes its bound", `{"n":[{"numeric":[">=",0,"<",5]}]}`, `{"n":0}`, true},
		{"numeric < excludes its bound", `{"n":[{"numeric":[">=",0,"<",5]}]}`, `{"n":5}`, false},
		{"numeric <= alone includes its bound", `{"n":[{"numeric":["<=",5]}]}`, `{"n":5}`, true},
		{"numeric > alone excludes its bound", `{"n":[{"numeric":[">",5]}]}`, `{"n":5}`, false},
		{"numeric handles negative numbers", `{"n":[{"numeric":[">",-10,"<",-1]}]}`, `{"n":-5.5}`, true},
		{"prefix does not match a number", `{"n":[{"prefix":"1"}]}`, `{"n":123}`, false},
		{"prefix with equals-ignore-case folds multibyte letters", `{"s":[{"prefix":{"equals-ignore-case":"éc"}}]}`, `{"s":"ÉCOLE"}`, true},
		{"prefix with equals-ignore-case needs the whole prefix", `{"s":[{"prefix":{"equals-ignore-case":"école"}}]}`, `{"s":"ÉC"}`, false},
		{"suffix with equals-ignore-case needs the whole suffix", `{"s":[{"suffix":{"equals-ignore-case":".png"}}]}`, `{"s":"NG"}`, false},
		{"equals-ignore-case does not match a number", `{"s":[{"equals-ignore-case":"1"}]}`, `{"s":1}`, false},
		{"anything-but does not match an absent field", `{"s":[{"anything-but":"x"}]}`, `{}`, false},
		{"cidr matches IPv6 blocks", `{"ip":[{"cidr":"2001:db8::/64"}]}`, `{"ip":"2001:db8::1"}`, true},
		{"cidr does not match a string that is not an address", `{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":"10.0.0.x"}`, false},
		{"a lone wildcard matches the empty string", `{"s":[{"wildcard":"*"}]}`, `{"s":""}`, true},
		{"a wildcard does not match a number", `{"s":[{"wildcard":"*"}]}`, `{"s":1}`, false},
		{"a wildcard matches its parts in order", `{"s":[{"wildcard":"a*b*c"}]}`, `{"s":"abbc"}`, true},
		{"a wildcard does not match its parts out of order", `{"s":[{"wildcard":"a*b*c"}]}`, `{"s":"acb"}`, false},
		{"a wildcard's parts may not overlap", `{"s":[{"wildcard":"ab*ba"}]}`, `{"s":"aba"}`, false},
		{"an escaped star is a literal star", `{"s":[{"wildcard":"a\\*b"}]}`, `{"s":"a*b"}`, true},
		{"an escaped star is not a wildcard", `{"s":[{"wildcard":"a\\*b"}]}`, `{"s":"axb"}`, false},
		{"exists false in a nested object matches when the parent is absent", `{"d":{"x":{"y":[{"exists":false}]}}}`, `{"d":{}}`, true},
		{"exists or a value matches an absent field", `{"s":[{"exists":false},"x"]}`, `{}`, true},
		{"exists or a value matches the value", `{"s":[{"exists":false},"x"]}`, `{"s":"x"}`, true},
		{"exists or a value does not match another value", `{"s":[{"exists":false},"x"]}`, `{"s":"y"}`, false},
	})
}

// Arrays in events hold values or objects; a pattern must match within one
// element of an array of objects, or a rule asking for "a container named x
// that is STOPPED" would match a task with x running and y stopped.
func TestMatchInsideEventArrays(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"a value matches an element of nested arrays", `{"f":["x"]}`, `{"f":[["y"],["x"]]}`, true},
		{"an empty event array matches no value", `{"f":["x"]}`, `{"f":[]}`, false},
		{"an empty event array does not exist", `{"f":[{"exists":true}]}`, `{"f":[]}`, false},
		{"a nested pattern matches one element of an array of objects",
			`{"containers":{"name":["app"],"lastStatus":["STOPPED"]}}`,
			`{"containers":[{"name":"sidecar","lastStatus":"RUNNING"},{"name":"app","lastStatus":"STOPPED"}]}`, true},
		{"a nested pattern is not satisfied by two different elements",
			`{"containers":{"name":["app"],"lastStatus":["STOPPED"]}}`,
			`{"containers":[{"name":"app","lastStatus":"RUNNING"},{"name":"sidecar","lastStatus":"STOPPED"}]}`, false},
		{"a nested pattern does not match a scalar",
			`{"detail":{"state":["x"]}}`, `{"detail":"x"}`, false},
	})
}

// Malformed patterns must be refused when the rule is put, with the field
// named, as PutRule refuses them with InvalidEventPatternException; a rule
// that silently matched nothing would only show up as a drain that never
// starts.
func TestCompileRejectsMalformedPatterns(t *testing.T) {
	cases := []struct {
		name    string
		pattern string
		wantIn  string // in the error message
	}{
		{"nothing at all", ``, "not JSON"},
		{"a pattern that is not an object", `["aws.ec2"]`, "a pattern is a JSON object"},
		{"an empty pattern", `{}`, "empty"},
		{"trailing data after the pattern", `{"a":["b"]} {"c":["d"]}`, "data after"},
		{"a bare string instead of an array", `{"source":"aws.ec2"}`, "source: match values must be in an array"},
		{"a bare number instead of an array", `{"detail":{"n":5}}`, "detail.n: match values must be in an array"},
		{"an empty array", `{"source":[]}`, "source: an array of match values is empty"},
		{"an empty nested object", `{"detail":{}}`, "detail: a nested pattern object is empty"},
		{"an array inside the array", `{"source":[["aws.ec2"]]}`, "cannot be arrays"},
		{"an unknown operator", `{"detail":{"state":[{"contains":"run"}]}}`, `detail.state: unknown operator "contains"`},
		{"an empty operator object", `{"state":[{}]}`, "exactly one operator"},
		{"two operators in one object", `{"state":[{"prefix":"a","suffix":"b"}]}`, "exactly one operator"},
		{"prefix of a number", `{"state":[{"prefix":5}]}`, "prefix takes a string"},
		{"prefix with an unknown option", `{"state":[{"prefix":{"ignore-case":"a"}}]}`, "prefix takes a string"},
		{"suffix of null", `{"state":[{"suffix":null}]}`, "suffix takes a string"},
		{"equals-ignore-case of a number", `{"state":[{"equals-ignore-case":1}]}`, "equals-ignore-case takes a string"},
		{"exists of a string", `{"state":[{"exists":"yes"}]}`, "exists takes true or false"},
		{"numeric with an unknown operator", `{"n":[{"numeric":["!=",1]}]}`, `numeric operator "!="`},
		{"numeric with a string bound", `{"n":[{"numeric":[">","1"]}]}`, "takes a number"},
		{"numeric with a dangling operator", `{"n":[{"numeric":[">",1,"<"]}]}`, "numeric takes"},
		{"numeric with the upper bound first", `{"n":[{"numeric":["<",5,">",1]}]}`, "out of place"},
		{"numeric with = in a range", `{"n":[{"numeric":[">",1,"=",5]}]}`, "out of place"},
		{"numeric with an empty range", `{"n":[{"numeric":[">",5,"<",1]}]}`, "range is empty"},
		{"numeric of a number", `{"n":[{"numeric":5}]}`, "numeric takes"},
		{"anything-but of a boolean", `{"s":[{"anything-but":true}]}`, "anything-but takes"},
		{"anything-but of an empty list", `{"s":[{"anything-but":[]}]}`, "non-empty list"},
		{"anything-but of strings and numbers", `{"s":[{"anything-but":["a",1]}]}`, "only strings or only numbers"},
		{"anything-but of a list holding null", `{"s":[{"anything-but":[null]}]}`, "hold strings or numbers"},
		{"anything-but of numeric", `{"s":[{"anything-but":{"numeric":[">",1]}}]}`, `anything-but does not take "numeric"`},
		{"anything-but of an empty prefix", `{"s":[{"anything-but":{"prefix":""}}]}`, "non-empty string"},
		{"anything-but equals-ignore-case of a number", `{"s":[{"anything-but":{"equals-ignore-case":[1]}}]}`, "takes strings"},
		{"cidr with a mask too long", `{"ip":[{"cidr":"10.0.0.0/33"}]}`, "cidr"},
		{"cidr of a bare address", `{"ip":[{"cidr":"10.0.0.1"}]}`, "cidr"},
		{"consecutive wildcards", `{"s":[{"wildcard":"a**b"}]}`, "consecutive wildcards"},
		{"an escape other than star or backslash", `{"s":[{"wildcard":"a\\nb"}]}`, "may be escaped"},
		{"a trailing backslash in a wildcard", `{"s":[{"wildcard":"a\\"}]}`, "may be escaped"},
		{"an empty $or", `{"$or":[]}`, "$or takes a non-empty array"},
		{"an $or that is an object", `{"$or":{"a":["b"]}}`, "$or takes a non-empty array"},
		{"an empty $or alternative", `{"$or":[{"a":["b"]},{}]}`, "$or[1]: an $or alternative"},
		{"a malformed field in an $or alternative", `{"detail":{"$or":[{"a":"b"}]}}`, "detail.$or[0].a"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile([]byte(c.pattern))
			if !errors.Is(err, ErrInvalidPattern) {
				t.Fatalf("Compile(%s) error = %v, want one wrapping ErrInvalidPattern", c.pattern, err)
			}
			if !strings.Contains(err.Error(), c.wantIn) {
				t.Errorf("Compile(%s) error = %q, want it to contain %q", c.pattern, err, c.wantIn)
			}
			if _, err := Match([]byte(c.pattern), []byte(`{}`)); !errors.Is(err, ErrInvalidPattern) {
				t.Errorf("Match(%s, {}) error = %v, want one wrapping ErrInvalidPattern", c.pattern, err)
			}
		})
	}
}

// An event that is not a JSON object can match no rule: Match says why, and
// Matches says no.
func TestMatchRejectsEventsThatAreNotObjects(t *testing.T) {
	for _, event := range []string{``, `[]`, `"x"`, `{"a":1`, `{"a":1}{}`} {
		t.Run("event "+strings.ReplaceAll(event, `"`, "'"), func(t *testing.T) {
			if _, err := Match([]byte(`{"a":[1]}`), []byte(event)); err == nil {
				t.Errorf("Match({a:[1]}, %s) error = nil, want one", event)
			}
			p, err := Compile([]byte(`{"a":[{"exists":false}]}`))
			if err != nil {
				t.Fatal(err)
			}
			if p.Matches([]byte(event)) {
				t.Errorf("Matches(%s) = true for a non-object event, want false", event)
			}
		})
	}
}
