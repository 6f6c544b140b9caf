package ecs

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecssdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

// Custom attributes follow the PutAttributes API reference: set on a
// container instance, shown by DescribeContainerInstances, overwritten by a
// second put, limited to 10 per resource, validated, and refused for an
// unknown target with TargetNotFoundException.
func TestPutAttributes(t *testing.T) {
	f := newFixture(t, Options{})
	arn := f.register("i-0123456789abcdef0", Resources{})
	put := func(name, value, target string) error {
		_, err := f.api.PutAttributes(f.ctx, &ecssdk.PutAttributesInput{Cluster: aws.String(clusterName), Attributes: []types.Attribute{
			{Name: aws.String(name), Value: aws.String(value), TargetType: types.TargetTypeContainerInstance, TargetId: aws.String(target)},
		}})
		return err
	}
	attribute := func(name string) string {
		out, err := f.api.DescribeContainerInstances(f.ctx, &ecssdk.DescribeContainerInstancesInput{Cluster: aws.String(clusterName), ContainerInstances: []string{arn}})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range out.ContainerInstances[0].Attributes {
			if aws.ToString(a.Name) == name {
				return aws.ToString(a.Value)
			}
		}
		return ""
	}
	before := len(f.events)
	if err := put("ecs-drainer.chain", "87654321-4321-4321-4321-210987654321/m1@1700000000", arn); err != nil {
		t.Fatalf("PutAttributes: %v", err)
	}
	f.srv.Settle()
	if got := len(f.events) - before; got != 0 {
		t.Errorf("PutAttributes emitted %d events, want none: custom attributes are not among the documented triggers", got)
	}
	if got := attribute("ecs-drainer.chain"); got != "87654321-4321-4321-4321-210987654321/m1@1700000000" {
		t.Fatalf("attribute after put = %q", got)
	}
	if err := put("ecs-drainer.chain", "m2", lastSegment(arn)); err != nil {
		t.Fatalf("PutAttributes by short id: %v", err)
	}
	if got := attribute("ecs-drainer.chain"); got != "m2" {
		t.Fatalf("attribute after a second put = %q, want m2", got)
	}

	tests := []struct {
		name, attr, value, target, wantCode string
	}{
		{"unknown target", "a", "v", "arn:aws:ecs:us-east-1:123456789012:container-instance/prod/00000000000000000000000000000000", "TargetNotFoundException"},
		{"value with a forbidden character", "a", "v;w", arn, "InvalidParameterException"},
		{"value ending in a space", "a", "v ", arn, "InvalidParameterException"},
		{"name too long", strings.Repeat("n", 129), "v", arn, "InvalidParameterException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var apiErr smithy.APIError
			if err := put(tt.attr, tt.value, tt.target); !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.wantCode {
				t.Fatalf("PutAttributes error = %v, want %s", err, tt.wantCode)
			}
		})
	}
	t.Run("more than 10 attributes in one call", func(t *testing.T) {
		var attrs []types.Attribute
		for range 11 {
			attrs = append(attrs, types.Attribute{Name: aws.String("a"), Value: aws.String("v"), TargetType: types.TargetTypeContainerInstance, TargetId: aws.String(arn)})
		}
		_, err := f.api.PutAttributes(f.ctx, &ecssdk.PutAttributesInput{Cluster: aws.String(clusterName), Attributes: attrs})
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidParameterException" {
			t.Fatalf("PutAttributes of 11 = %v, want InvalidParameterException", err)
		}
	})
	t.Run("eleventh custom attribute", func(t *testing.T) {
		for n := range 9 {
			if err := put("extra"+string(rune('a'+n)), "v", arn); err != nil {
				t.Fatal(err)
			}
		}
		var apiErr smithy.APIError
		if err := put("one-too-many", "v", arn); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AttributeLimitExceededException" {
			t.Fatalf("11th attribute error = %v, want AttributeLimitExceededException", err)
		}
	})
}

// A resource holds at most 10 custom attributes; the built-in ones the agent
// registers do not count. A put that would leave more answers
// AttributeLimitExceededException with AWS's text and applies nothing, while
// overwriting a name the resource has, or repeating one in the call, adds
// nothing. The drainer's chain attribute must fail this way on a full
// instance, so it can tell "full" from a bad request.
//
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html
// ("Custom attributes per resource": 10),
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PutAttributes.html
// (AttributeLimitExceededException: "You can apply up to 10 custom attributes
// for each resource."), and
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement-constraints.html#attributes
// (built-in attributes versus custom ones).
func TestCustomAttributeLimit(t *testing.T) {
	const wantErr = "AttributeLimitExceededException: You can apply up to 10 custom attributes for each resource."
	attr := func(name, target string) types.Attribute {
		return types.Attribute{Name: aws.String(name), Value: aws.String("v2"), TargetType: types.TargetTypeContainerInstance, TargetId: aws.String(target)}
	}
	// atLimit is an instance given names a0..a<n-1> at registration, as
	// ECS_INSTANCE_ATTRIBUTES would.
	atLimit := func(t *testing.T, n int) (*fixture, string) {
		f := newFixture(t, Options{})
		arn := f.register("i-1", Resources{})
		attrs := map[string]string{}
		for k := range n {
			attrs[fmt.Sprintf("a%d", k)] = "v"
		}
		if err := f.srv.SetAttributes("i-1", attrs); err != nil {
			t.Fatalf("SetAttributes(%d attributes): %v", n, err)
		}
		return f, arn
	}
	customOn := func(f *fixture) map[string]string {
		got := map[string]string{}
		for _, a := range f.describe("i-1").Attributes {
			if name := aws.ToString(a.Name); !reserved(name) {
				got[name] = aws.ToString(a.Value)
			}
		}
		return got
	}

	tests := []struct {
		name    string
		have    int
		put     []string
		wantErr bool
	}{
		{"a new name on a full instance is refused", 10, []string{"extra"}, true},
		{"overwriting a name on a full instance is allowed", 10, []string{"a3"}, false},
		{"two new names on an instance with room for one are refused", 9, []string{"x", "y"}, true},
		{"a new name repeated in one call counts once", 9, []string{"x", "x"}, false},
		{"a new name and an overwrite fit in the last place", 9, []string{"x", "a0"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, arn := atLimit(t, tt.have)
			before := customOn(f)
			var attrs []types.Attribute
			for _, name := range tt.put {
				attrs = append(attrs, attr(name, arn))
			}
			_, err := f.api.PutAttributes(f.ctx, &ecssdk.PutAttributesInput{Cluster: aws.String(clusterName), Attributes: attrs})
			var limit *types.AttributeLimitExceededException
			switch {
			case tt.wantErr && (!errors.As(err, &limit) || !strings.Contains(err.Error(), wantErr)):
				t.Fatalf("PutAttributes(%v) on %d custom attributes: got %v, want %s", tt.put, tt.have, err, wantErr)
			case tt.wantErr:
				if diff := cmp.Diff(before, customOn(f)); diff != "" {
					t.Errorf("a refused put changed the attributes (-before +after):\n%s", diff)
				}
			case err != nil:
				t.Fatalf("PutAttributes(%v) on %d custom attributes: %v", tt.put, tt.have, err)
			}
		})
	}

	t.Run("built-in attributes do not count", func(t *testing.T) {
		f, _ := atLimit(t, 10)
		all := f.describe("i-1").Attributes
		if builtin := len(all) - len(customOn(f)); builtin == 0 || len(customOn(f)) != 10 {
			t.Errorf("attributes on a full instance: got %d, of which %d custom; want 10 custom plus the built-in ones", len(all), len(customOn(f)))
		}
	})
	t.Run("SetAttributes keeps to the same limit and rules", func(t *testing.T) {
		f, _ := atLimit(t, 10)
		if err := f.srv.SetAttributes("i-1", map[string]string{"a0": "new"}); err != nil {
			t.Fatalf("SetAttributes overwriting a0 on a full instance: %v", err)
		}
		for _, attrs := range []map[string]string{
			{"eleventh": "v"},
			{"ecs.os-type": "windows"},
			{"bad;name": "v"},
			{"name": " padded"},
		} {
			if err := f.srv.SetAttributes("i-1", attrs); err == nil {
				t.Errorf("SetAttributes(%v) on a full instance: got no error", attrs)
			}
		}
		if got := customOn(f)["a0"]; got != "new" {
			t.Errorf("a0 after the overwrite: got %q, want new", got)
		}
		if err := f.srv.SetAttributes("i-unknown", map[string]string{"a": "v"}); err == nil {
			t.Errorf("SetAttributes on an unknown instance: got no error")
		}
	})
}
