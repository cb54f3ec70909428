using System.Net;
using System.Net.Http.Json;
using Dapper;
using Funnels.Contracts;
using Funnels.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Wolverine;

namespace Funnels.Tests.Messaging;

/// <summary>The foundation's proof of wiring: a row and its message commit together, and the message arrives once.</summary>
[Collection(ServicesCollection.Name)]
public sealed class WiringCheckTests(Hosts hosts)
{
    private static readonly TimeSpan Delivery = TimeSpan.FromSeconds(30);
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_requested_check_is_written_and_received_by_the_worker()
    {
        using var client = hosts.Runtime.CreateAdminClient();

        var response = await client.PostAsync("/api/runtime/wiring-checks/", null, Cancel);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var check = await response.Content.ReadFromJsonAsync<CheckBody>(Cancel);
        Assert.NotNull(check);
        var receipt = await WaitForReceipt(check.Id);
        Assert.Equal(1, receipt.Deliveries);
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM runtime.wiring_checks WHERE id = @id", check.Id));
    }

    [Fact]
    public async Task Without_a_token_the_admin_endpoint_answers_401_and_writes_nothing()
    {
        using var client = hosts.Runtime.CreateClient();
        var before = await CountAsync("SELECT count(*) FROM runtime.wiring_checks", Guid.Empty);

        var response = await client.PostAsync("/api/runtime/wiring-checks", null, Cancel);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(before, await CountAsync("SELECT count(*) FROM runtime.wiring_checks", Guid.Empty));
    }

    [Fact]
    public async Task A_repeated_delivery_is_processed_once()
    {
        var message = new WiringCheckRequested(Guid.CreateVersion7(), DateTimeOffset.UtcNow);
        using var scope = hosts.Runtime.Services.CreateScope();
        var bus = scope.ServiceProvider.GetRequiredService<IMessageBus>();

        await bus.PublishAsync(message);
        await bus.PublishAsync(message);

        var receipt = await Eventually.Until(
            async () => await ReceiptAsync(message.CheckId) is { Deliveries: 2 } r ? r : null, Delivery, "both deliveries");
        Assert.Equal(message.CheckId, receipt.CheckId);
        // One row per check and one claim per key are the schema's primary keys: what shows the repeat was
        // recognised is that the first delivery claimed the check (the repeat found the claim and only counted
        // itself above), and that neither delivery failed its way to the dead letters (a second insert would).
        await hosts.Servers.HandledAsync("messaging", nameof(WiringCheckRequested), message.CheckId, handled: 2);
        Assert.Equal(1, await CountAsync(
            "SELECT count(*) FROM messaging.processed_messages WHERE consumer = 'wiring-check-receipt' AND message_key = @id::text", message.CheckId));
        Assert.Equal(0, await CountAsync(
            "SELECT count(*) FROM messaging_wolverine.wolverine_dead_letters WHERE position(convert_to(@id::text, 'UTF8') in body) > 0", message.CheckId));
    }

    [Fact]
    public async Task The_worker_exposes_the_receipt_to_admins()
    {
        using var runtime = hosts.Runtime.CreateAdminClient();
        using var worker = hosts.Worker.CreateAdminClient();
        var check = await (await runtime.PostAsync("/api/runtime/wiring-checks", null, Cancel)).Content.ReadFromJsonAsync<CheckBody>(Cancel);
        await WaitForReceipt(check!.Id);

        var receipt = await worker.GetFromJsonAsync<Dictionary<string, object>>($"/api/messaging/wiring-checks/{check.Id}", Cancel);

        Assert.NotNull(receipt);
        Assert.Equal(check.Id.ToString(), receipt["check_id"].ToString());
        Assert.Equal(HttpStatusCode.NotFound, (await worker.GetAsync($"/api/messaging/wiring-checks/{Guid.NewGuid()}", Cancel)).StatusCode);
    }

    private Task<Receipt> WaitForReceipt(Guid id) => Eventually.Until(() => ReceiptAsync(id), Delivery, $"wiring check {id} to reach the worker");

    private async Task<Receipt?> ReceiptAsync(Guid id)
    {
        await using var connection = new NpgsqlConnection(hosts.Servers.Postgres);
        return await connection.QuerySingleOrDefaultAsync<Receipt>(
            "SELECT check_id, deliveries FROM messaging.wiring_check_receipts WHERE check_id = @id", new { id });
    }

    private async Task<long> CountAsync(string sql, Guid id)
    {
        await using var connection = new NpgsqlConnection(hosts.Servers.Postgres);
        return await connection.ExecuteScalarAsync<long>(sql, new { id });
    }

    private sealed record CheckBody(Guid Id);

    private sealed record Receipt(Guid CheckId, int Deliveries);
}
