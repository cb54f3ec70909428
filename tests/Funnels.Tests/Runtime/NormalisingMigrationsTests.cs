using Dapper;
using Funnels.Tests.Infrastructure;
using Npgsql;

namespace Funnels.Tests.Runtime;

/// <summary>
/// Rows written before phones and visitor ids were normalised: migrations runtime 0012 and
/// messaging 0012 fix them where no unique key forbids it, keep colliding duplicates as they are,
/// and undo joins made through a placeholder visitor id. Both are plain UPDATE / DELETE statements,
/// so the test runs them again over rows it writes in the old forms.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class NormalisingMigrationsTests(Hosts hosts)
{
    private static string Migration(string path)
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "Funnels.sln"))) folder = folder.Parent;
        return File.ReadAllText(Path.Combine(folder!.FullName, path));
    }

    private async Task RunAsync(string schema, string sql)
    {
        await using var connection = new NpgsqlConnection(hosts.Servers.Postgres);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(TestContext.Current.CancellationToken);
        await connection.ExecuteAsync($"SET LOCAL search_path TO {schema}", transaction: transaction);
        await connection.ExecuteAsync(sql, transaction: transaction);
        await transaction.CommitAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Old_lead_phones_and_placeholder_visitors_are_normalised_and_a_colliding_duplicate_is_kept()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);
        var publication = await hosts.Servers.ScalarAsync<Guid>("SELECT id FROM runtime.publications WHERE funnel_id = @Id LIMIT 1", new { funnel.Id });
        var (bare, plus, international, nullVisitor) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await using (var connection = new NpgsqlConnection(hosts.Servers.Postgres))
        {
            await connection.ExecuteAsync("""
                INSERT INTO runtime.leads (id, workspace_id, funnel_id, publication_id, identity_key, email, phone, visitor_id, contact_id, created_at) VALUES
                    (@bare, @workspace, @funnel, @publication, 'phone:16505551234', NULL, '16505551234', NULL, NULL, now() - interval '2 days'),
                    (@plus, @workspace, @funnel, @publication, 'phone:+16505551234', NULL, '+16505551234', NULL, NULL, now() - interval '1 day'),
                    (@international, @workspace, @funnel, @publication, 'phone:0057300111222', NULL, '0057300111222', NULL, NULL, now()),
                    (@nullVisitor, @workspace, @funnel, @publication, 'visitor:null', NULL, NULL, 'null', 'crm-x', now());
                INSERT INTO runtime.visitor_contacts (workspace_id, visitor_id, contact_id, linked_at) VALUES (@workspace, 'null', 'crm-x', now());
                """, new { bare, plus, international, nullVisitor, workspace = workspace.Id, funnel = funnel.Id, publication });
        }

        await RunAsync("runtime", Migration("Runtime.Api/Leads/Migrations/0012_normalise_lead_phones_and_visitors.sql"));

        async Task<string?> Row(Guid id) => await hosts.Servers.ScalarAsync<string>(
            "SELECT identity_key || '|' || coalesce(phone, '') || '|' || coalesce(visitor_id, '') || '|' || coalesce(contact_id, '') FROM runtime.leads WHERE id = @id", new { id });
        Assert.Equal("phone:16505551234|+16505551234||", await Row(bare)); // its key collides with the other lead's: kept
        Assert.Equal("phone:+16505551234|+16505551234||", await Row(plus));
        Assert.Equal("phone:+57300111222|+57300111222||", await Row(international));
        Assert.Equal("visitor:null|||", await Row(nullVisitor));
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.visitor_contacts WHERE workspace_id = @Id", new { workspace.Id }));
    }

    [Fact]
    public async Task Old_WhatsApp_contacts_get_digit_wa_ids_and_single_plus_phones_unless_another_contact_has_them()
    {
        var workspace = Guid.NewGuid();
        var (alone, twinPlus, twin) = ("1650" + Random.Shared.Next(1_000_000, 9_999_999), "1651" + Random.Shared.Next(1_000_000, 9_999_999), "");
        twin = twinPlus;
        await using (var connection = new NpgsqlConnection(hosts.Servers.Postgres))
        {
            await connection.ExecuteAsync("""
                INSERT INTO messaging.contacts (id, workspace_id, wa_id, phone) VALUES
                    (gen_random_uuid(), @workspace, '+' || @alone, '++' || @alone),
                    (gen_random_uuid(), @workspace, '+' || @twinPlus, '++' || @twinPlus),
                    (gen_random_uuid(), @workspace, @twin, NULL);
                """, new { workspace, alone, twinPlus, twin });
        }

        await RunAsync("messaging", Migration("Messaging.Worker/WhatsApp/Migrations/0012_normalise_contact_numbers.sql"));

        var rows = await hosts.Servers.ScalarAsync<string>(
            "SELECT string_agg(wa_id || '|' || coalesce(phone, ''), ',' ORDER BY wa_id) FROM messaging.contacts WHERE workspace_id = @workspace", new { workspace });
        Assert.Equal(string.Join(",", new[] { $"{alone}|+{alone}", $"+{twinPlus}|+{twinPlus}", $"{twin}|" }.Order(StringComparer.Ordinal)), rows);
    }
}
