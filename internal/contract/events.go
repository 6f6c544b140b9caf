package contract

// What the construct's EventBridge rules select (infra/rules builds the
// patterns from these) and what the function's parser accepts: a value
// changed on one side only would route events the function ignores, or
// drop the ones it waits for.
const (
	// SourceAutoScaling and DetailTypeTerminate name the terminate
	// lifecycle action event
	// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-event-reference.html).
	SourceAutoScaling   = "aws.autoscaling"
	DetailTypeTerminate = "EC2 Instance-terminate Lifecycle Action"
	// DetailTypeLaunch names the launch lifecycle action event the launch
	// gate waits on (same page).
	DetailTypeLaunch = "EC2 Instance-launch Lifecycle Action"
	// DestinationWarmPool and OriginWarmPool are the launch event's
	// Destination and Origin when an instance enters or leaves a warm pool
	// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pools-eventbridge-events.html).
	DestinationWarmPool = "WarmPool"
	OriginWarmPool      = "WarmPool"

	// The ECS events that let a drain end as soon as its last task stops
	// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_cwe_events.html):
	// tasks whose lastStatus reached TaskStopped, and container instances
	// whose status is InstanceDraining. And, for the launch gate, container
	// instances that are InstanceActive with their agent connected and no
	// task yet: a new instance's registration or its agent's connect, which
	// lets a launch action complete at once.
	SourceECS               = "aws.ecs"
	DetailTypeTaskState     = "ECS Task State Change"
	DetailTypeInstanceState = "ECS Container Instance State Change"
	TaskStopped             = "STOPPED"
	InstanceDraining        = "DRAINING"
	InstanceActive          = "ACTIVE"
)
