using Dapper;
using Funnels.Contracts;
using Funnels.ServiceDefaults.Messaging;
using Funnels.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Wolverine;

namespace Funnels.Runtime.WiringChecks;

/// <summary>
/// Admin diagnostics: a wiring check is written and its message published in one transaction
/// through the outbox, so it reaches Messaging.Worker even if the broker is down right now.
/// </summary>
public static class WiringChecksApi
{
    public static RouteGroupBuilder MapWiringChecksApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/runtime/wiring-checks")
            .WithTags("Diagnostics")
            .RequireAuthorization(AuthenticationExtensions.AdminPolicy);

        api.MapPost("/", RequestCheck)
            .WithName("RequestWiringCheck")
            .WithSummary("Record a wiring check and send it to Messaging.Worker through the outbox");
        api.MapGet("/{id:guid}", GetCheck)
            .WithName("GetWiringCheck")
            .WithSummary("A wiring check recorded by Runtime.Api");
        return api;
    }

    public static async Task<Accepted<WiringCheck>> RequestCheck(
        NpgsqlDataSource dataSource, IMessageContext messages, CancellationToken cancellationToken)
    {
        var check = new WiringCheck(Guid.CreateVersion7(), DateTime.UtcNow);
        await messages.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            await transaction.Connection!.ExecuteAsync(
                "INSERT INTO runtime.wiring_checks (id, requested_at) VALUES (@Id, @RequestedAt)", check, transaction);
            await messages.PublishAsync(new WiringCheckRequested(check.Id, new DateTimeOffset(check.RequestedAt)));
        }, cancellationToken);
        return TypedResults.Accepted($"/api/runtime/wiring-checks/{check.Id}", check);
    }

    public static async Task<Results<Ok<WiringCheck>, NotFound>> GetCheck(
        Guid id, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var check = await connection.QuerySingleOrDefaultAsync<WiringCheck>(new CommandDefinition(
            "SELECT id, requested_at FROM runtime.wiring_checks WHERE id = @id", new { id }, cancellationToken: cancellationToken));
        return check is null ? TypedResults.NotFound() : TypedResults.Ok(check);
    }
}

// Times are UTC DateTime: what Npgsql reads from timestamptz, so Dapper can use the constructor.
public sealed record WiringCheck(Guid Id, DateTime RequestedAt);
