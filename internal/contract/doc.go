// Package contract holds what the construct (infra/drainer, infra/rules) and
// the function (functions/drainer and the internal packages it runs) must
// agree on, written once so that the two sides cannot drift apart: the
// DRAINER_* variables with their defaults and valid ranges, the timeout
// policies, the hook's name and NotificationMetadata, the events the rules
// select and the parser accepts, the log outcomes the deadline alarm counts,
// and how the bootstrap binary is built. Renaming a value here renames it on
// both sides; a test on each side checks what a constant alone cannot (the
// function still logs every outcome the alarm counts, the Makefile builds
// with these flags).
//
// Only names and values belong here, with the range checks both sides share.
// What a drain does with them (the state machine, AWS calls, the CDK
// resources) belongs to its own package. The package imports only the
// standard library, and a test holds it to that: it is the one internal
// package infra/ imports, so it must bring neither the AWS SDK into the
// construct nor the CDK into the function.
package contract
