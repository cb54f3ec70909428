using System.Security.Claims;
using System.Text.Json;
using Dapper;
using Funnels.Messaging.Runs;
using Funnels.Messaging.WhatsApp;
using Funnels.ServiceDefaults.Messaging;
using Funnels.ServiceDefaults.RateLimiting;
using Funnels.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.Flows;

/// <summary>
/// Runs a flow for a phone number an editor chooses, to see it on a real phone before activating it.
/// It queues a trigger like an inbound phrase does, through the outbox, so the run takes the durable
/// path every run takes (ExecuteTrigger, waits, retries, dead letters); only the run id is chosen here.
/// </summary>
public static class TestSendApi
{
    /// <summary>Test-sends per workspace and minute: each one messages a real phone.</summary>
    public const int PerWorkspacePerMinute = 30;

    public static void MapFlowTestSendApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/messaging/flows/{id:guid}/test-send", TestSend).WithTags("Flows").WithName("TestSendFlow")
            .WithSummary("Run the flow (in any status) for one phone number; 202 with the run's id")
            .RequireAuthorization(AuthenticationExtensions.EditorPolicy)
            .RequireRateLimit(new RateLimit("flow-test-send", PerWorkspacePerMinute, TimeSpan.FromMinutes(1), http => http.User.WorkspaceIdOf().ToString()));
    }

    /// <param name="To">The phone to message, with its country code (+57 300 111 2233).</param>
    /// <param name="PhoneNumberId">The business number to send from; the flow's channel when not given.</param>
    public sealed record TestSendRequest(string? To, string? PhoneNumberId);

    public sealed record TestSendAccepted(Guid RunId, Guid FlowId, int FlowVersion, string To, string PhoneNumberId);

    public static async Task<Results<Accepted<TestSendAccepted>, ValidationProblem, NotFound>> TestSend(
        Guid id, TestSendRequest? request, ClaimsPrincipal user, NpgsqlDataSource db, IMessageContext bus, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var to = request?.To is { } raw && raw.All(c => char.IsAsciiDigit(c) || c is '+' or ' ' or '-' or '(' or ')' or '.')
            ? new string(raw.Where(char.IsAsciiDigit).ToArray())
            : "";
        if (to.Length is < 6 or > 15) errors["to"] = ["must be a phone number with its country code, 6 to 15 digits (+57 300 111 2233)"];
        if (request?.PhoneNumberId is { } sender && (sender.Length is 0 or > 64 || !sender.All(char.IsAsciiDigit)))
        {
            errors["phone_number_id"] = ["must be Meta's numeric phone-number id"];
        }
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);

        var workspace = user.WorkspaceIdOf();
        TestSendAccepted? accepted = null;
        await bus.InOutboxTransactionAsync(db, async transaction =>
        {
            var connection = transaction.Connection!;
            var flow = await connection.QuerySingleOrDefaultAsync<(int Version, string? Channel)?>(
                "SELECT version, channel_phone_number_id FROM messaging.flows WHERE id = @id AND workspace_id = @workspace", new { id, workspace }, transaction);
            if (flow is not { } found)
            {
                return;
            }
            var channel = request?.PhoneNumberId ?? found.Channel;
            if (channel is null)
            {
                errors["phone_number_id"] = ["is required: the flow has no channel of its own to send from"];
                return;
            }
            if (!await WorkspaceChannels.OwnsAsync(connection, transaction, workspace, channel))
            {
                errors["phone_number_id"] = [WorkspaceChannels.NotYours];
                return;
            }
            var contact = await Contacts.UpsertAsync(transaction, workspace, to, "+" + to, null);
            var triggerId = Guid.CreateVersion7();
            var runId = Guid.CreateVersion7();
            var input = JsonSerializer.Serialize(new { source = "test_send", to = "+" + to, requested_by = user.SubjectOf() });
            await connection.ExecuteAsync("""
                INSERT INTO messaging.scheduled_triggers (id, workspace_id, flow_id, flow_version, contact_id, phone_number_id, source, source_key, input, run_id)
                VALUES (@triggerId, @workspace, @id, @Version, @contact, @channel, 'test_send', 'test:' || @triggerId, @input::jsonb, @runId)
                """, new { triggerId, workspace, id, found.Version, contact, channel, input, runId }, transaction);
            await bus.PublishAsync(new ExecuteTrigger(triggerId));
            accepted = new TestSendAccepted(runId, id, found.Version, "+" + to, channel);
        }, ct);

        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);
        return accepted is null ? TypedResults.NotFound() : TypedResults.Accepted($"/api/messaging/runs/{accepted.RunId}", accepted);
    }
}
