using Dapper;
using Funnels.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Funnels.Messaging.WiringChecks;

public static class WiringChecksApi
{
    public static RouteGroupBuilder MapWiringChecksApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/messaging/wiring-checks")
            .WithTags("Diagnostics")
            .RequireAuthorization(AuthenticationExtensions.AdminPolicy);

        api.MapGet("/{id:guid}", GetReceipt)
            .WithName("GetWiringCheckReceipt")
            .WithSummary("When Messaging.Worker received a wiring check, and how many deliveries it saw");
        return api;
    }

    public static async Task<Results<Ok<WiringCheckReceipt>, NotFound>> GetReceipt(
        Guid id, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var receipt = await connection.QuerySingleOrDefaultAsync<WiringCheckReceipt>(new CommandDefinition(
            "SELECT check_id, requested_at, received_at, deliveries FROM messaging.wiring_check_receipts WHERE check_id = @id",
            new { id }, cancellationToken: cancellationToken));
        return receipt is null ? TypedResults.NotFound() : TypedResults.Ok(receipt);
    }
}

// Times are UTC DateTime: what Npgsql reads from timestamptz, so Dapper can use the constructor.
public sealed record WiringCheckReceipt(Guid CheckId, DateTime RequestedAt, DateTime ReceivedAt, int Deliveries);
