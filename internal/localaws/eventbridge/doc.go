// Package eventbridge is the local EventBridge: one default event bus that
// wraps the events the emulated services emit in the EventBridge envelope and
// routes them to the targets of every rule whose event pattern matches.
//
// What it models, as the EventBridge user guide describes it:
//   - event patterns, with the documented content filters (prefix, suffix,
//     equals-ignore-case, anything-but, numeric, exists, cidr, wildcard and
//     $or), validated when a rule is put;
//   - at-least-once delivery: a target that fails is retried with backoff,
//     every attempt carries the same envelope (same id), and deliveries to
//     different targets are independent;
//   - the envelope: version "0", a fresh uuid, time in RFC 3339 seconds,
//     resources always an array, detail always an object;
//   - PutEvents on the wire (Bus.ServeHTTP, awsJson1_1, which the local AWS
//     routes to through localaws.Options.Events): 1 to 10 entries and 1 MB
//     of entry size per request, per-entry InvalidArgument,
//     MalformedDetail and NotAuthorizedForSourceException (the aws.
//     sources), an EventId per accepted entry, the entry's Time as the
//     envelope's, and the same routing, duplicates and retries as the
//     services' events.
//
// What it simplifies:
//   - one bus per Bus value, the default one: PutEvents accepts an entry for
//     any other bus name or ARN and delivers it nowhere, as AWS does for a
//     bus that does not exist; PutEvents is its only API operation (rules
//     and targets are put by the composer), without global endpoints,
//     X-Ray trace headers or DetailType's 128-character limit; no input
//     transformers, no dead-letter queues, no per-rule state (every rule
//     is ENABLED) and no limit on targets per rule;
//   - retries are bounded to a few attempts over well under a second of wall
//     time (AWS retries for up to 24 hours and 185 attempts), so a failing
//     target shows up in Stats while a test is still running;
//   - the numeric range limits AWS puts on numbers in patterns are not
//     enforced: numbers are compared as float64.
package eventbridge
