namespace Funnels.Contracts;

/// <summary>
/// The RabbitMQ queues between services. Senders publish straight to the consumer's durable
/// queue (both sides provision it), so a message sent before its consumer ever started is kept,
/// never dropped by an exchange with no bindings yet.
/// </summary>
public static class Queues
{
    /// <summary>Integration events that Messaging.Worker consumes.</summary>
    public const string MessagingWorker = "messaging-worker";

    /// <summary>Integration events that Runtime.Api consumes (e.g. a visitor linked to a contact).</summary>
    public const string RuntimeApi = "runtime-api";

    /// <summary>Integration events that Tracking.Api consumes.</summary>
    public const string TrackingApi = "tracking-api";

    /// <summary>
    /// WorkspaceCreated for Tracking.Api, on its own queue: a new workspace is accepted by the public
    /// endpoints without waiting behind a burst of commission messages on tracking-api.
    /// </summary>
    public const string TrackingApiWorkspaces = "tracking-api-workspaces";
}
