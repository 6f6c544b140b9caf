package contract

// How the bootstrap is built: `make build` (the Makefile cannot import this,
// so a test reads it) and the construct's synth (infra/drainer) build the
// deployed binary with exactly these; the local deployment builds the
// binary it runs for this machine with the same tags, but without the
// gcflags, so that it reuses the packages its own build compiled.
// Lambda's provided.al2023 runtime runs an executable named bootstrap
// (https://docs.aws.amazon.com/lambda/latest/dg/golang-package.html).
const (
	// FunctionDir is the function's main package, from the module root.
	FunctionDir = "functions/drainer"
	// Bootstrap is the executable's name.
	Bootstrap = "bootstrap"
	// GOOS and GOARCH are the function's platform: provided.al2023 on
	// arm64 (Graviton), which Lambda also calls "arm64".
	GOOS   = "linux"
	GOARCH = "arm64"
	// BuildTags: lambda.norpc leaves out the net/rpc server that only the
	// retired go1.x runtime used.
	BuildTags = "lambda.norpc"
	// BuildGCFlags turns inlining off: the function waits on the network,
	// not the CPU, and the binary is about 1 MB smaller (9.6 MB instead of
	// 10.6 MB) with the same cold start.
	BuildGCFlags = "all=-l"
	// BuildLDFlags strips the symbol table and DWARF.
	BuildLDFlags = "-s -w"
)

// BuildEnv is the environment of the deployed build: cross-compiled and
// static (CGO off), which is what provided.al2023 needs.
func BuildEnv() []string {
	return []string{"GOOS=" + GOOS, "GOARCH=" + GOARCH, "CGO_ENABLED=0"}
}

// BuildFlags are go build's flags for the deployed binary, in the Makefile's
// order: -trimpath makes it, and so the construct's asset hash, the same on
// every machine for the same source.
func BuildFlags() []string {
	return []string{"-tags", BuildTags, "-trimpath", "-gcflags=" + BuildGCFlags, "-ldflags=" + BuildLDFlags}
}
