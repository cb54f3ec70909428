using Refit;

namespace Funnels.Admin.Api;

/// <summary>Messaging.Worker's side of the workspace's channels ("messaging-worker"): paused sending, Meta's error notifications.</summary>
public interface IChannelSendingApi
{
    [Get("/api/messaging/channels")]
    Task<List<ChannelSending>> ChannelSendingAsync(CancellationToken ct = default);

    [Get("/api/messaging/channels/errors")]
    Task<PagedList<ChannelErrorNotice>> ChannelErrorsAsync(int page, [AliasAs("page_size")] int pageSize, CancellationToken ct = default);

    [Post("/api/messaging/channels/{phoneNumberId}/resume")]
    Task<IApiResponse<ChannelSending>> ResumeChannelAsync(string phoneNumberId, CancellationToken ct = default);
}

/// <summary>A channel as the worker sends from it: paused after Meta refused its token (why, since when), and its queued messages.</summary>
public sealed record ChannelSending(string PhoneNumberId, bool Paused, DateTime? PausedAt, int? PausedCode, string? PausedReason, long Queued);

/// <summary>One of Meta's asynchronous errors[] notifications for a channel.</summary>
public sealed record ChannelErrorNotice(Guid Id, string PhoneNumberId, int? Code, string? Title, string? Message, string? Details, DateTime ReceivedAt);
