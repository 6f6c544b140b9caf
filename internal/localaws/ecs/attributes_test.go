package ecs

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecssdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
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
