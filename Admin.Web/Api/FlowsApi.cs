using System.Text.Json;
using Refit;

namespace Funnels.Admin.Api;

/// <summary>Messaging.Worker's flows, runs and dead letters ("messaging-worker"); dead letters need an operator's token.</summary>
public interface IFlowsApi
{
    [Get("/api/messaging/flows")]
    Task<PagedList<FlowSummary>> FlowsAsync(int page, [AliasAs("page_size")] int pageSize, CancellationToken ct = default);

    [Get("/api/messaging/flows/{id}")]
    Task<Flow> FlowAsync(Guid id, CancellationToken ct = default);

    [Post("/api/messaging/flows")]
    Task<IApiResponse<Flow>> CreateFlowAsync([Body] FlowRequest request, CancellationToken ct = default);

    [Put("/api/messaging/flows/{id}")]
    Task<IApiResponse<Flow>> UpdateFlowAsync(Guid id, [Body] FlowRequest request, CancellationToken ct = default);

    [Post("/api/messaging/flows/{id}/test-send")]
    Task<IApiResponse<TestSendAccepted>> TestSendAsync(Guid id, [Body] TestSendRequest request, CancellationToken ct = default);

    [Get("/api/messaging/runs")]
    Task<PagedList<Run>> RunsAsync([Query] RunSearch search, CancellationToken ct = default);

    [Get("/api/messaging/runs/{id}")]
    Task<RunDetail> RunAsync(Guid id, CancellationToken ct = default);

    [Post("/api/messaging/runs/{id}/cancel")]
    Task<IApiResponse<Run>> CancelRunAsync(Guid id, CancellationToken ct = default);

    [Get("/api/messaging/runs/deliveries")]
    Task<DeliveryCounts> DeliveriesAsync([AliasAs("flow_id")] Guid? flowId, CancellationToken ct = default);

    [Get("/api/messaging/dead-letters")]
    Task<PagedList<DeadLetter>> DeadLettersAsync([Query] DeadLetterSearch search, CancellationToken ct = default);

    [Post("/api/messaging/dead-letters/{id}/replay")]
    Task ReplayDeadLetterAsync(Guid id, CancellationToken ct = default);

    [Delete("/api/messaging/dead-letters/{id}")]
    Task DiscardDeadLetterAsync(Guid id, CancellationToken ct = default);
}

public static class FlowStatuses
{
    public static readonly string[] All = ["draft", "active", "paused"];
}

public sealed record FlowSummary(Guid Id, string Name, string Status, int Version, DateTime CreatedAt, DateTime UpdatedAt);

public sealed record Flow(
    Guid Id, string Name, string Status, int Version, string? ChannelPhoneNumberId, JsonElement Triggers, JsonElement Definition, DateTime CreatedAt, DateTime UpdatedAt);

public sealed record FlowRequest(string Name, string Status, string? ChannelPhoneNumberId, JsonElement Triggers, JsonElement Definition)
{
    /// <summary>The same flow with another status; an unchanged graph keeps its version.</summary>
    public static FlowRequest From(Flow flow, string status) => new(flow.Name, status, flow.ChannelPhoneNumberId, flow.Triggers, flow.Definition);
}

public sealed record TestSendRequest(string To, string? PhoneNumberId);

public sealed record TestSendAccepted(Guid RunId, Guid FlowId, int FlowVersion, string To, string PhoneNumberId);

public sealed record Run(
    Guid Id, Guid FlowId, int FlowVersion, Guid ContactId, string PhoneNumberId, string Status, string? CurrentNode, int Step,
    string? WaitKind, DateTime? WaitUntil, string? Error, DateTime StartedAt, DateTime UpdatedAt, DateTime? FinishedAt)
{
    public bool Cancellable => Status is "running" or "waiting" or "sending" or "dead_lettered";
}

public sealed record RunStep(int Number, string NodeId, string NodeType, string Outcome, JsonElement? Detail, DateTime ExecutedAt);

/// <param name="LatestStatus">queued, dead_lettered, sent, delivered, read or failed (the send's outcome, then Meta's status webhooks).</param>
public sealed record OutboundMessage(
    Guid Id, int Step, string Kind, string Status, string? Wamid, int Attempts, int? LastStatusCode, string? LastError, DateTime? SentAt,
    string? LatestStatus = null, int? ErrorCode = null, string? DeliveryStatus = null, DateTime? DeliveryAt = null, DateTime? DeadLetteredAt = null)
{
    public string Shown => LatestStatus ?? Status;
}

/// <summary>A flow's (or the workspace's) outbound messages by latest status.</summary>
public sealed record DeliveryCounts(long Queued, long Sent, long Delivered, long Read, long Failed, long DeadLettered);

public sealed record RunDetail(Run Run, JsonElement Context, List<RunStep> Steps, List<OutboundMessage> OutboundMessages);

public sealed class RunSearch
{
    public static readonly string[] Statuses = ["running", "waiting", "sending", "completed", "failed", "dead_lettered", "cancelled"];

    [AliasAs("flow_id")] public Guid? FlowId { get; set; }
    public string? Status { get; set; }
    public int Page { get; set; } = 1;
    [AliasAs("page_size")] public int PageSize { get; set; } = 25;
}

public sealed record DeadLetter(Guid Id, string MessageType, string? Source, string? ExceptionType, string? ExceptionMessage, DateTime? SentAt, bool Replayable)
{
    /// <summary>The message type without its namespace: what a person recognises.</summary>
    public string ShortType => MessageType.Split(',')[0].Split('.', '+')[^1];
}

public sealed class DeadLetterSearch
{
    [AliasAs("message_type")] public string? MessageType { get; set; }
    public int Page { get; set; } = 1;
    [AliasAs("page_size")] public int PageSize { get; set; } = 25;
}
