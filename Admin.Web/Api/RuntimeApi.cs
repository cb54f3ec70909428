using System.Text.Json;
using Refit;

namespace Funnels.Admin.Api;

/// <summary>Runtime.Api as Admin.Web uses it (service discovery name "runtime-api"; bearer token added per request).</summary>
public interface IRuntimeApi
{
    [Post("/api/runtime/auth/token")]
    Task<TokenResponse> SignInAsync([Body] SignInRequest request, CancellationToken ct = default);

    [Post("/api/runtime/auth/switch")]
    Task<TokenResponse> SwitchAsync([Body] SwitchRequest request, CancellationToken ct = default);

    [Get("/api/runtime/auth/workspaces")]
    Task<List<Membership>> WorkspacesAsync(CancellationToken ct = default);

    [Post("/api/runtime/auth/sign-out")]
    Task SignOutAsync(CancellationToken ct = default);

    [Get("/api/runtime/auth/invitations")]
    Task<List<Invitation>> InvitationsAsync(CancellationToken ct = default);

    [Post("/api/runtime/auth/invitations/{id}/accept")]
    Task<Membership> AcceptInvitationAsync(Guid id, CancellationToken ct = default);

    [Delete("/api/runtime/auth/invitations/{id}")]
    Task DeclineInvitationAsync(Guid id, CancellationToken ct = default);

    [Get("/api/runtime/stats/overview")]
    Task<LeadsOverview> OverviewAsync(int days, CancellationToken ct = default);

    [Get("/api/runtime/funnels")]
    Task<PagedList<Funnel>> FunnelsAsync(int page, [AliasAs("page_size")] int pageSize, CancellationToken ct = default);

    [Get("/api/runtime/funnels/{id}")]
    Task<Funnel> FunnelAsync(Guid id, CancellationToken ct = default);

    [Post("/api/runtime/funnels")]
    Task<IApiResponse<Funnel>> CreateFunnelAsync([Body] FunnelRequest request, CancellationToken ct = default);

    [Put("/api/runtime/funnels/{id}")]
    Task<IApiResponse<Funnel>> UpdateFunnelAsync(Guid id, [Body] FunnelRequest request, CancellationToken ct = default);

    [Post("/api/runtime/funnels/{id}/publish")]
    Task<Publication> PublishAsync(Guid id, CancellationToken ct = default);

    [Post("/api/runtime/funnels/{id}/unpublish")]
    Task UnpublishAsync(Guid id, CancellationToken ct = default);

    [Get("/api/runtime/funnels/{id}/publications")]
    Task<List<Publication>> PublicationsAsync(Guid id, CancellationToken ct = default);

    [Get("/api/runtime/leads")]
    Task<PagedList<Lead>> LeadsAsync([Query] LeadSearch search, CancellationToken ct = default);

    [Get("/api/runtime/leads/{id}")]
    Task<Lead> LeadAsync(Guid id, CancellationToken ct = default);

    [Get("/api/runtime/leads/{id}/events")]
    Task<List<LeadEvent>> LeadEventsAsync(Guid id, CancellationToken ct = default);

    [Get("/api/runtime/whatsapp/channels")]
    Task<PagedList<Channel>> ChannelsAsync(int page, [AliasAs("page_size")] int pageSize, CancellationToken ct = default);

    [Put("/api/runtime/whatsapp/channels/{phoneNumberId}")]
    Task<IApiResponse<Channel>> SaveChannelAsync(string phoneNumberId, [Body] ChannelRequest request, CancellationToken ct = default);

    [Delete("/api/runtime/whatsapp/channels/{phoneNumberId}")]
    Task DeleteChannelAsync(string phoneNumberId, CancellationToken ct = default);

    [Get("/api/runtime/funnels/{id}/leads.csv")]
    Task<HttpResponseMessage> LeadsCsvAsync(Guid id, CancellationToken ct = default);
}

/// <param name="AccessToken">The number's own Graph API token: the proof Runtime.Api asks for when a number is claimed.</param>
public sealed record ChannelRequest(string? DisplayPhoneNumber, string? AccessToken = null, string? AppSecret = null, string? VerifyToken = null);

public sealed record Channel(string PhoneNumberId, string? DisplayPhoneNumber, DateTime CreatedAt, string? Proof = null, bool HasAccessToken = false,
    bool HasAppSecret = false, bool HasVerifyToken = false);

public sealed record SignInRequest(string Email, string Password, Guid? WorkspaceId = null, Guid? InvitationId = null);

public sealed record Invitation(Guid Id, Guid WorkspaceId, string WorkspaceName, string Role, string InvitedBy, DateTime CreatedAt);

public sealed record SwitchRequest(Guid WorkspaceId);

public sealed record TokenResponse(string AccessToken, int ExpiresIn, Guid WorkspaceId, string Role, string Subject);

public sealed record Membership(Guid WorkspaceId, string Slug, string Name, string Role);

public sealed record PagedList<T>(List<T> Items, int Page, int PageSize, long Total)
{
    public int Pages => (int)Math.Max(1, (Total + PageSize - 1) / PageSize);
}

public sealed record DayCount(DateOnly Day, long Leads, long Converted);

public sealed record FunnelConversion(Guid FunnelId, string Name, string Slug, bool Live, long Leads, long Converted, decimal ConversionRate);

public sealed record LeadsOverview(int Days, long Leads, long Converted, List<DayCount> PerDay, List<FunnelConversion> Funnels);

public sealed record FunnelRequest(string Name, string Slug, JsonElement? Schema, List<string> AllowedOrigins);

public sealed record Funnel(
    Guid Id, string Name, string Slug, JsonElement Schema, List<string> AllowedOrigins,
    Guid? LivePublicationId, int? LiveVersion, int Revision, DateTime CreatedAt, DateTime UpdatedAt);

public sealed record Publication(Guid Id, Guid FunnelId, string Slug, int Version, DateTime PublishedAt, string PublishedBy, bool Live);

public sealed record LeadState(string CurrentPageId, string Status, long Version, DateTime UpdatedAt);

public sealed record Lead(
    Guid Id, Guid FunnelId, JsonElement FormData, DateTime CreatedAt, LeadState State,
    Guid PublicationId, int PublicationVersion, string? Email, string? Phone, string? VisitorId, string? ContactId);

public sealed record LeadEvent(
    Guid Id, string EventType, string PageId, JsonElement Payload, string? FromPageId, string? ToPageId,
    string? FromStatus, string? ToStatus, long StateVersion, string? IdempotencyKey, DateTime OccurredAt);

public sealed class LeadSearch
{
    public string? Email { get; set; }
    public string? Phone { get; set; }
    [AliasAs("funnel_id")] public Guid? FunnelId { get; set; }
    public string? Status { get; set; }
    public int Page { get; set; } = 1;
    [AliasAs("page_size")] public int PageSize { get; set; } = 25;
}
