namespace Funnels.Contracts;

/// <summary>
/// An end-to-end check of the messaging path: Runtime.Api records a check and publishes this
/// through its outbox; Messaging.Worker records its arrival once, however often it is delivered.
/// </summary>
public sealed record WiringCheckRequested(Guid CheckId, DateTimeOffset RequestedAt);
