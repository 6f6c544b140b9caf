package eventbridge

import "testing"

// Matching must never panic, whatever the pattern and the event, and the
// compiled form must agree with Match: patterns come from users' stacks and
// events from every emulated service.
func FuzzMatch(f *testing.F) {
	seeds := []struct{ pattern, event string }{
		{terminateRule, `{"source":"aws.autoscaling","detail-type":"EC2 Instance-terminate Lifecycle Action","detail":{"AutoScalingGroupName":"asg-a"}}`},
		{stoppedTaskRule, `{"source":"aws.ecs","detail":{"lastStatus":"STOPPED","containers":[{"name":"app"}]}}`},
		{`{"detail":{"n":[{"numeric":[">",0,"<=",5]}],"s":[{"anything-but":{"prefix":"init"}}]}}`, `{"detail":{"n":5.0,"s":["a",["b"]]}}`},
		{`{"ip":[{"cidr":"10.0.0.0/24"}],"w":[{"wildcard":"a*b\\*c"}]}`, `{"ip":"10.0.0.1","w":"axxb*c"}`},
		{`{"$or":[{"a":[{"exists":false}]},{"b":[null,true,1e400]}]}`, `{"b":1e400}`},
		{`{"s":[{"prefix":{"equals-ignore-case":"É"}},{"suffix":{"equals-ignore-case":"ß"}}]}`, `{"s":"\u00e9\u00df"}`},
		{`{}`, `[]`},
	}
	for _, s := range seeds {
		f.Add(s.pattern, s.event)
	}
	f.Fuzz(func(t *testing.T, pattern, event string) {
		got, err := Match([]byte(pattern), []byte(event))
		p, cerr := Compile([]byte(pattern))
		if cerr != nil {
			if err == nil {
				t.Fatalf("Compile(%q) failed (%v) but Match did not", pattern, cerr)
			}
			return
		}
		// With a valid pattern, Match fails only on an event that is not an
		// object, which Matches must not match.
		if m := p.Matches([]byte(event)); m != got {
			t.Fatalf("Compile(%q).Matches(%q) = %v, Match = %v, %v", pattern, event, m, got, err)
		}
	})
}
