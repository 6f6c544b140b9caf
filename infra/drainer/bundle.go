package drainer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
)

// modulePath is this module. The function is built from its source wherever
// the module is: this repository, or the module cache of an app that imports
// the construct.
const modulePath = "github.com/ecs-drainer/ecs-drainer"

// functionCode is the drainer's bootstrap binary, built by the synth itself:
// Go cross-compiles offline, so no Docker is involved. The asset's source is
// only the function's directory (never the module root, which holds cdk.out),
// and its hash is that of the built binary, which -trimpath makes the same on
// every machine for the same source.
func functionCode() awslambda.Code {
	root, err := moduleRoot()
	if err != nil {
		panic(err.Error())
	}
	return awslambda.Code_FromAsset(jsii.String(filepath.Join(root, contract.FunctionDir)), &awss3assets.AssetOptions{
		AssetHashType: awscdk.AssetHashType_OUTPUT,
		Bundling: &awscdk.BundlingOptions{
			// Required by the API but never pulled: goBuild always bundles
			// locally or fails the synth.
			Image: awscdk.DockerImage_FromRegistry(jsii.String("golang")),
			Local: &goBuild{moduleRoot: root},
		},
	})
}

// goBuild builds the function on the synthesizing machine.
type goBuild struct{ moduleRoot string }

// TryBundle builds bootstrap into outputDir for provided.al2023 on arm64
// with the contract's environment and flags, the Makefile's build target's
// (static, without net/rpc, stripped, no inlining, reproducible paths). It
// panics on failure rather than returning false, which would make the CDK
// fall back to Docker.
func (g *goBuild) TryBundle(outputDir *string, _ *awscdk.BundlingOptions) *bool {
	args := append([]string{"build"}, contract.BuildFlags()...)
	args = append(args, "-o", filepath.Join(*outputDir, contract.Bootstrap), "./"+contract.FunctionDir)
	cmd := exec.Command("go", args...) // #nosec G204 -- the synth builds this module's own function into the CDK's asset directory
	cmd.Dir = g.moduleRoot
	// GOWORK=off: build with the module's own go.mod, also from the module
	// cache of an app that has a go.work.
	cmd.Env = append(append(os.Environ(), contract.BuildEnv()...), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		panic(fmt.Sprintf("building the drainer function (%s in %s): %v\n%s", contract.FunctionDir, g.moduleRoot, err, out))
	}
	return jsii.Bool(true)
}

// moduleRoot finds this module's directory with the go command.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", modulePath).Output()
	if err != nil {
		var stderr string
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		return "", fmt.Errorf("locating module %s to build the drainer function: %v %s", modulePath, err, stderr)
	}
	return strings.TrimSpace(string(out)), nil
}
