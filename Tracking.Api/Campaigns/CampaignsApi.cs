using System.Security.Claims;
using Dapper;
using Funnels.Contracts;
using Funnels.ServiceDefaults.Security;
using Funnels.ServiceDefaults.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Funnels.Tracking.Campaigns;

/// <summary>Campaigns, influencers and commission rules of the workspace.</summary>
public static class CampaignsApi
{
    public static readonly IReadOnlySet<string> Statuses = new HashSet<string>(["draft", "active", "paused", "ended"]);

    public static readonly IReadOnlySet<string> RuleKinds = new HashSet<string>(
        ["per_mille_impressions", "per_click", "per_conversion_fixed", "per_conversion_percent"]);

    /// <summary>
    /// The status a campaign reads: "ended" once its end date has passed, whatever was stored
    /// (computed when read, so no scheduled message has to flip it); otherwise the stored status.
    /// </summary>
    public static string StatusAt(string stored, DateTime? endsAt, DateTime now) => endsAt is { } end && now >= end ? "ended" : stored;

    public static void MapCampaignsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/tracking").WithTags("Campaigns").RequireAuthorization(AuthenticationExtensions.AdminPolicy);
        api.MapPost("/campaigns", CreateCampaign).WithName("CreateCampaign").RequireAuthorization(AuthenticationExtensions.EditorPolicy);
        api.MapGet("/campaigns", ListCampaigns).WithName("ListCampaigns").WithSummary("Campaigns, newest first, paged");
        // {id}: the UUID or the workspace's external key (ExternalKeys).
        api.MapGet("/campaigns/{id}", GetCampaign).WithName("GetCampaign");
        api.MapPut("/campaigns/{id}/external-key", SetCampaignKey).WithName("SetCampaignExternalKey")
            .WithSummary("Set or clear (null) the key attribution clients name the campaign by").RequireAuthorization(AuthenticationExtensions.EditorPolicy);
        api.MapPost("/influencers", CreateInfluencer).WithName("CreateInfluencer").RequireAuthorization(AuthenticationExtensions.EditorPolicy);
        api.MapGet("/influencers", ListInfluencers).WithName("ListInfluencers").WithSummary("Influencers, newest first, paged");
        api.MapGet("/influencers/{id}", GetInfluencer).WithName("GetInfluencer");
        api.MapPut("/influencers/{id}/external-key", SetInfluencerKey).WithName("SetInfluencerExternalKey")
            .WithSummary("Set or clear (null) the key attribution clients name the influencer by").RequireAuthorization(AuthenticationExtensions.EditorPolicy);
        api.MapPost("/campaigns/{id}/rules", CreateRule).WithName("CreateCommissionRule")
            .WithSummary("A commission rule for the campaign, or for one influencer in it").RequireAuthorization(AuthenticationExtensions.EditorPolicy);
        api.MapGet("/campaigns/{id}/rules", ListRules).WithName("ListCommissionRules").WithSummary("The campaign's commission rules, paged");
    }

    public sealed record CampaignRequest(
        string? Name, string? Product, string? Brand, MoneyInput? Budget, DateTime? StartsAt, DateTime? EndsAt, string? Status, int? RefundWindowSeconds,
        string? ExternalKey = null);

    public sealed record ExternalKeyRequest(string? ExternalKey);

    /// <summary>Money as clients send it; validated before it becomes a Money.</summary>
    public sealed record MoneyInput(decimal? Amount, string? Currency);

    public sealed record Campaign(
        Guid Id, string Name, string? Product, string? Brand, Money Budget, DateTime? StartsAt, DateTime? EndsAt, string Status,
        int RefundWindowSeconds, DateTime CreatedAt, string? ExternalKey);

    public sealed record InfluencerRequest(string? Name, string? Handle, string? ExternalKey = null);

    public sealed record Influencer(Guid Id, string Name, string? Handle, DateTime CreatedAt, string? ExternalKey);

    /// <summary>influencer_id: the UUID or the influencer's external key.</summary>
    public sealed record RuleRequest(string? InfluencerId, string? Kind, decimal? Amount, decimal? Percent);

    public sealed record Rule(Guid Id, Guid CampaignId, Guid? InfluencerId, string Kind, Money? Amount, decimal? Percent);

    public static async Task<Results<Created<Campaign>, ValidationProblem, ProblemHttpResult>> CreateCampaign(
        CampaignRequest request, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > 200) errors["name"] = ["is required, at most 200 characters"];
        if (request.Budget is null) errors["budget"] = ["is required: {\"amount\": 1000000.0, \"currency\": \"COP\"}"];
        else
        {
            if (request.Budget.Amount is not >= 0) errors["budget.amount"] = ["is required: a non-negative decimal"];
            if (request.Budget.Currency is not { Length: 3 } c || !c.All(char.IsAsciiLetter)) errors["budget.currency"] = ["must be an ISO 4217 code such as COP"];
        }
        if (request.Status is not null && !Statuses.Contains(request.Status)) errors["status"] = ["must be draft, active, paused or ended"];
        if (request.StartsAt is { } s && request.EndsAt is { } e && e <= s) errors["ends_at"] = ["must be after starts_at"];
        if (request.RefundWindowSeconds is < 0 or > 31_536_000) errors["refund_window_seconds"] = ["must be between 0 and 31536000 (a year)"];
        var externalKey = KeyOf(request.ExternalKey, errors);
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);

        var campaign = new Campaign(Guid.CreateVersion7(), request.Name!.Trim(), request.Product, request.Brand, new Money(request.Budget!.Amount!.Value, request.Budget.Currency!),
            request.StartsAt?.ToUniversalTime(), request.EndsAt?.ToUniversalTime(), request.Status ?? "active", request.RefundWindowSeconds ?? 30 * 86_400, DateTime.UtcNow,
            externalKey);
        await using var connection = await db.OpenConnectionAsync(ct);
        try
        {
            await connection.ExecuteAsync("""
                INSERT INTO tracking.campaigns (id, workspace_id, name, product, brand, budget_amount, currency, starts_at, ends_at, status, refund_window_seconds, created_at, external_key)
                VALUES (@Id, @workspace, @Name, @Product, @Brand, @amount, @currency, @StartsAt, @EndsAt, @Status, @RefundWindowSeconds, @CreatedAt, @ExternalKey)
                """, new
            {
                campaign.Id, workspace = user.WorkspaceIdOf(), campaign.Name, campaign.Product, campaign.Brand, amount = campaign.Budget.Amount,
                currency = campaign.Budget.Currency, campaign.StartsAt, campaign.EndsAt, campaign.Status, campaign.RefundWindowSeconds, campaign.CreatedAt,
                campaign.ExternalKey,
            });
        }
        catch (PostgresException ex) when (ExternalKeys.IsDuplicate(ex))
        {
            return KeyTaken("campaign", externalKey!);
        }
        return TypedResults.Created($"/api/tracking/campaigns/{campaign.Id}", campaign with { Status = StatusAt(campaign.Status, campaign.EndsAt, DateTime.UtcNow) });
    }

    public static async Task<Ok<PagedList<Campaign>>> ListCampaigns(
        ClaimsPrincipal user, NpgsqlDataSource db, int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct)
    {
        var paging = Paging.From(page, pageSize);
        var workspace = user.WorkspaceIdOf();
        await using var connection = await db.OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<CampaignRow>(
            $"{CampaignRow.Select} WHERE workspace_id = @workspace ORDER BY created_at DESC, id LIMIT @Limit OFFSET @Offset", new { workspace, paging.Limit, paging.Offset });
        var total = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM tracking.campaigns WHERE workspace_id = @workspace", new { workspace });
        return TypedResults.Ok(paging.Of(rows.Select(r => r.ToCampaign()).ToList(), total));
    }

    public static async Task<Results<Ok<Campaign>, NotFound>> GetCampaign(string id, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        var workspace = user.WorkspaceIdOf();
        await using var connection = await db.OpenConnectionAsync(ct);
        if (await ExternalKeys.CampaignInAsync(connection, workspace, id) is not { } campaign) return TypedResults.NotFound();
        var row = await connection.QuerySingleAsync<CampaignRow>($"{CampaignRow.Select} WHERE id = @campaign", new { campaign });
        return TypedResults.Ok(row.ToCampaign());
    }

    public static async Task<Results<Ok<Campaign>, ValidationProblem, NotFound, ProblemHttpResult>> SetCampaignKey(
        string id, ExternalKeyRequest request, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var key = KeyOf(request.ExternalKey, errors);
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);
        var workspace = user.WorkspaceIdOf();
        await using var connection = await db.OpenConnectionAsync(ct);
        if (await ExternalKeys.CampaignInAsync(connection, workspace, id) is not { } campaign) return TypedResults.NotFound();
        try
        {
            await connection.ExecuteAsync("UPDATE tracking.campaigns SET external_key = @key WHERE id = @campaign", new { key, campaign });
        }
        catch (PostgresException ex) when (ExternalKeys.IsDuplicate(ex))
        {
            return KeyTaken("campaign", key!);
        }
        return TypedResults.Ok((await connection.QuerySingleAsync<CampaignRow>($"{CampaignRow.Select} WHERE id = @campaign", new { campaign })).ToCampaign());
    }

    public static async Task<Results<Created<Influencer>, ValidationProblem, ProblemHttpResult>> CreateInfluencer(
        InfluencerRequest request, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > 200) errors["name"] = ["is required, at most 200 characters"];
        var externalKey = KeyOf(request.ExternalKey, errors);
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);
        var influencer = new Influencer(Guid.CreateVersion7(), request.Name!.Trim(), request.Handle?.Trim(), DateTime.UtcNow, externalKey);
        await using var connection = await db.OpenConnectionAsync(ct);
        try
        {
            await connection.ExecuteAsync(
                "INSERT INTO tracking.influencers (id, workspace_id, name, handle, created_at, external_key) VALUES (@Id, @workspace, @Name, @Handle, @CreatedAt, @ExternalKey)",
                new { influencer.Id, workspace = user.WorkspaceIdOf(), influencer.Name, influencer.Handle, influencer.CreatedAt, influencer.ExternalKey });
        }
        catch (PostgresException ex) when (ExternalKeys.IsDuplicate(ex))
        {
            return KeyTaken("influencer", externalKey!);
        }
        return TypedResults.Created($"/api/tracking/influencers/{influencer.Id}", influencer);
    }

    public static async Task<Results<Ok<Influencer>, NotFound>> GetInfluencer(string id, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        if (await ExternalKeys.InfluencerInAsync(connection, user.WorkspaceIdOf(), id) is not { } influencer) return TypedResults.NotFound();
        return TypedResults.Ok(await connection.QuerySingleAsync<Influencer>($"{InfluencerSelect} WHERE id = @influencer", new { influencer }));
    }

    public static async Task<Results<Ok<Influencer>, ValidationProblem, NotFound, ProblemHttpResult>> SetInfluencerKey(
        string id, ExternalKeyRequest request, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var key = KeyOf(request.ExternalKey, errors);
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);
        await using var connection = await db.OpenConnectionAsync(ct);
        if (await ExternalKeys.InfluencerInAsync(connection, user.WorkspaceIdOf(), id) is not { } influencer) return TypedResults.NotFound();
        try
        {
            await connection.ExecuteAsync("UPDATE tracking.influencers SET external_key = @key WHERE id = @influencer", new { key, influencer });
        }
        catch (PostgresException ex) when (ExternalKeys.IsDuplicate(ex))
        {
            return KeyTaken("influencer", key!);
        }
        return TypedResults.Ok(await connection.QuerySingleAsync<Influencer>($"{InfluencerSelect} WHERE id = @influencer", new { influencer }));
    }

    private const string InfluencerSelect = "SELECT id, name, handle, created_at, external_key FROM tracking.influencers";

    /// <summary>A trimmed key, or null for none; an error on external_key when it is malformed.</summary>
    private static string? KeyOf(string? key, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrWhiteSpace(key)) return null;
        if (ExternalKeys.IsValid(key.Trim())) return key.Trim();
        errors["external_key"] = [ExternalKeys.Rule];
        return null;
    }

    private static ProblemHttpResult KeyTaken(string what, string key) => TypedResults.Problem(
        $"Another {what} of this workspace already has the external key '{key}'.", title: "External key taken", statusCode: StatusCodes.Status409Conflict,
        extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { ["external_key"] = [$"'{key}' is already used by another {what}"] } });

    public static async Task<Ok<PagedList<Influencer>>> ListInfluencers(
        ClaimsPrincipal user, NpgsqlDataSource db, int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct)
    {
        var paging = Paging.From(page, pageSize);
        var workspace = user.WorkspaceIdOf();
        await using var connection = await db.OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<Influencer>("""
            SELECT id, name, handle, created_at, external_key FROM tracking.influencers WHERE workspace_id = @workspace
            ORDER BY created_at DESC, id LIMIT @Limit OFFSET @Offset
            """, new { workspace, paging.Limit, paging.Offset });
        var total = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM tracking.influencers WHERE workspace_id = @workspace", new { workspace });
        return TypedResults.Ok(paging.Of(rows.ToList(), total));
    }

    public static async Task<Results<Created<Rule>, ValidationProblem, NotFound, ProblemHttpResult>> CreateRule(
        [FromRoute(Name = "id")] string reference, RuleRequest request, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.Kind is null || !RuleKinds.Contains(request.Kind)) errors["kind"] = [$"must be one of {string.Join(", ", RuleKinds)}"];
        else if (request.Kind == "per_conversion_percent" && request.Percent is not (>= 0 and <= 100)) errors["percent"] = ["is required for per_conversion_percent: 0 to 100"];
        else if (request.Kind != "per_conversion_percent" && request.Amount is not >= 0) errors["amount"] = ["is required: a non-negative amount in the campaign's currency"];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);

        var workspace = user.WorkspaceIdOf();
        await using var connection = await db.OpenConnectionAsync(ct);
        if (await ExternalKeys.CampaignInAsync(connection, workspace, reference) is not { } id) return TypedResults.NotFound();
        var currency = await connection.QuerySingleAsync<string>("SELECT currency FROM tracking.campaigns WHERE id = @id", new { id });
        Guid? influencerId = null;
        if (!string.IsNullOrWhiteSpace(request.InfluencerId))
        {
            influencerId = await ExternalKeys.InfluencerInAsync(connection, workspace, request.InfluencerId.Trim());
            if (influencerId is null)
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["influencer_id"] = ["is not an influencer of this workspace (by UUID or external key)"] });
            }
        }
        var percent = request.Kind == "per_conversion_percent";
        var rule = new Rule(Guid.CreateVersion7(), id, influencerId, request.Kind!,
            percent ? null : new Money(request.Amount!.Value, currency), percent ? request.Percent : null);
        var inserted = await connection.ExecuteAsync("""
            INSERT INTO tracking.commission_rules (id, campaign_id, influencer_id, kind, amount, percent) VALUES (@Id, @CampaignId, @InfluencerId, @Kind, @amount, @Percent)
            ON CONFLICT DO NOTHING
            """, new { rule.Id, rule.CampaignId, rule.InfluencerId, rule.Kind, amount = rule.Amount?.Amount, rule.Percent });
        if (inserted == 0)
        {
            return TypedResults.Problem("This campaign already has a rule of that kind for that influencer.", title: "Rule exists", statusCode: StatusCodes.Status409Conflict);
        }
        return TypedResults.Created($"/api/tracking/campaigns/{id}/rules/{rule.Id}", rule);
    }

    public static async Task<Results<Ok<PagedList<Rule>>, NotFound>> ListRules(
        [FromRoute(Name = "id")] string reference, ClaimsPrincipal user, NpgsqlDataSource db, int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct)
    {
        var paging = Paging.From(page, pageSize);
        await using var connection = await db.OpenConnectionAsync(ct);
        if (await ExternalKeys.CampaignInAsync(connection, user.WorkspaceIdOf(), reference) is not { } id) return TypedResults.NotFound();
        var currency = await connection.QuerySingleAsync<string>("SELECT currency FROM tracking.campaigns WHERE id = @id", new { id });
        var rows = await connection.QueryAsync<(Guid Id, Guid? InfluencerId, string Kind, decimal? Amount, decimal? Percent)>("""
            SELECT id, influencer_id, kind, amount, percent FROM tracking.commission_rules WHERE campaign_id = @id
            ORDER BY created_at, id LIMIT @Limit OFFSET @Offset
            """, new { id, paging.Limit, paging.Offset });
        var total = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM tracking.commission_rules WHERE campaign_id = @id", new { id });
        return TypedResults.Ok(paging.Of(rows.Select(r => new Rule(r.Id, id, r.InfluencerId, r.Kind,
            r.Amount is { } a ? new Money(a, currency) : null, r.Percent)).ToList(), total));
    }

    internal sealed record CampaignRow(
        Guid Id, string Name, string? Product, string? Brand, decimal BudgetAmount, string Currency, DateTime? StartsAt, DateTime? EndsAt,
        string Status, int RefundWindowSeconds, DateTime CreatedAt, string? ExternalKey)
    {
        public const string Select = """
            SELECT id, name, product, brand, budget_amount, currency, starts_at, ends_at, status, refund_window_seconds, created_at, external_key FROM tracking.campaigns
            """;

        public Campaign ToCampaign() => new(Id, Name, Product, Brand, new Money(BudgetAmount, Currency), StartsAt, EndsAt,
            StatusAt(Status, EndsAt, DateTime.UtcNow), RefundWindowSeconds, CreatedAt, ExternalKey);
    }
}
