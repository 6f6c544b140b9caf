package awswire

// Event is an event an emulated service emits towards EventBridge (the ASG
// lifecycle actions, ECS task and container-instance state changes). The
// EventBridge emulator wraps it in the standard envelope (version, id,
// account, region, time); Detail is marshalled to JSON as the envelope's
// "detail".
type Event struct {
	Source     string // "aws.autoscaling", "aws.ecs"
	DetailType string // "EC2 Instance-terminate Lifecycle Action", ...
	Resources  []string
	Detail     any
}
