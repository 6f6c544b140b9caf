// Package ecs emulates the slice of Amazon ECS that a container-instance
// drainer touches, well enough that the real aws-sdk-go-v2 ECS client, talking
// awsJson1_1 over loopback HTTP, cannot tell it from AWS.
//
// It models state, not replies: clusters, EC2 container instances, services
// and tasks, each task with a desired and a last status that move on the
// injected clock. Every request and every exported method first applies the
// transitions due at clock.Now() (PENDING -> RUNNING after a start delay, a
// task told to stop reaching STOPPED after its stop delay, standalone tasks
// exiting, stopped tasks being forgotten after an hour), then lets a service
// scheduler react: it places service tasks on ACTIVE instances with room and
// drains DRAINING instances the way
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-draining.html
// describes, within each service's minimumHealthyPercent and maximumPercent.
// Replies are rendered from that state.
//
// Container instances join as their agents do (agent.go): StartAgent plays
// an agent that registers some time after its instance is up, may stay
// REGISTERING, may end REGISTRATION_FAILED with a statusReason, and connects
// some time after registering; StopEC2Instance plays EC2 stopping the
// instance (a warm pool), and a later StartAgent re-registers it with the
// same ARN, status and attributes. RegisterContainerInstance is the
// immediate case. Services are listed and described as ECS does
// (ListServices, DescribeServices), take memberOf and distinctInstance
// placement constraints, and a daemon runs one task on each ACTIVE,
// connected instance its constraints allow.
//
// The scheduler keeps each service's event log as DescribeServices returns
// it (serviceevents.go): the tasks it started and stopped, a task it could
// not place, naming the closest matching instance and what it lacks (a
// host port, CPU, memory, a connected agent, an attribute), percents that
// let it neither start a replacement nor stop an old task first, and the
// steady state; each cause is written once and again only after six hours
// unless it was resolved meanwhile. Placement failures and the steady
// state also go to EventBridge as "ECS Service Action" events. Every
// taskDefinitionArn it returns is one DescribeTaskDefinition answers.
//
// Task transitions are the ECS agent's reports, so they need its connection:
// while an instance's agent is disconnected (DisconnectAgent) ECS still
// decides (a drain gives its service tasks desiredStatus STOPPED) but learns
// nothing, and places nothing there; on ReconnectAgent the agent gets the
// stops decided meanwhile and reports what came due, stamped with that moment.
//
// What it simplifies:
//   - EC2 launch type only, bridge or host network mode, one container per
//     task; a task definition revision for each distinct shape a spec gives
//     a family; no capacity providers, load balancers or UpdateService, so a
//     service has the one deployment it was created with.
//   - Placement is "spread by instance": the ACTIVE, agent-connected instance
//     with room (CPU, memory, a free host port) that runs the fewest tasks of
//     the service wins.
//   - A task told to stop keeps lastStatus RUNNING until its stop delay passes,
//     then jumps to STOPPED; the intermediate DEACTIVATING/STOPPING/DEPROVISIONING
//     statuses are not modelled. A PENDING task told to stop stops at once.
//   - The cluster query language supports ec2InstanceId, runningTasksCount,
//     agentConnected, attribute:<name> (exists and !exists included) and
//     task:group; agentVersion, registeredAt and other subjects are rejected
//     as invalid instead of being silently ignored.
//   - Custom attributes exist on container instances only. A container
//     instance leaving REGISTERING goes straight to ACTIVE or
//     REGISTRATION_FAILED, and one terminated goes straight to INACTIVE (no
//     DEREGISTERING).
//   - Service events: only those above; a daemon's placement failures,
//     load balancer, throttling and task-start-impaired messages and the
//     other Service Action events are not written.
//   - Deregistration (the EC2 instance is terminated) takes the instance
//     straight to INACTIVE and its tasks straight to STOPPED; with the agent
//     disconnected nothing is deregistered, as AWS documents.
//
// Choices the AWS documentation does not settle are marked UNVERIFIED where
// they are made.
package ecs
