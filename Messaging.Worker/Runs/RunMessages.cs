namespace Funnels.Messaging.Runs;

/// <summary>Start the run of one scheduled trigger (the executions queue: any worker instance may take it).</summary>
public sealed record ExecuteTrigger(Guid TriggerId);

/// <summary>A wait/delay node's time is up (a durable scheduled message). Stale when the run moved on.</summary>
public sealed record ResumeRun(Guid RunId, int Step, DateTimeOffset DueAt);

/// <summary>The contact answered while the run waited for a reply.</summary>
public sealed record ReplyReceived(Guid RunId, int Step, Guid InboundMessageId, string? Text, string? Payload);

/// <summary>A wait_for_reply node's timeout (a durable scheduled message). Stale when a reply came first.</summary>
public sealed record ReplyTimedOut(Guid RunId, int Step, DateTimeOffset DueAt);
