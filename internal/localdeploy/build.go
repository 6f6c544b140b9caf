package localdeploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
)

// BuildBootstrap compiles the drainer function for this machine into dir and
// returns the binary's path. The local Lambda runs it as the provided.al2023
// runtime would run the arm64 build: the Runtime API contract is the same.
//
// It uses the deployed build's tags but not its compiler flags: -gcflags=all=
// applies to every package, so the build would share none of the AWS SDK
// the harness has just compiled, and on a fresh machine it took about 50 s
// instead of 13 s. Inlining changes the binary's size, not what it does.
func BuildBootstrap(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, contract.Bootstrap)
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", contract.BuildTags, "-o", out, "./"+contract.FunctionDir) // #nosec G204 -- builds this module's own function into a directory of ours
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building bootstrap: %w\n%s", err, b)
	}
	return out, nil
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
