extern alias tracking;

using Funnels.Tests.Infrastructure;
using Npgsql;
using Wolverine.RDBMS;
using Wolverine.Runtime;

namespace Funnels.Tests.Foundation;

/// <summary>
/// Each service has one pool, Aspire's NpgsqlDataSource from ConnectionStrings:funnels, shaped by
/// Postgres:MaxPoolSize and Postgres:MaxAutoPrepare, and Wolverine's envelopes go through that same pool.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class DataSourceTests(Hosts hosts)
{
    [Fact]
    public void The_pool_prepares_statements_by_default_and_wolverine_shares_it()
    {
        var dataSource = hosts.Runtime.Get<NpgsqlDataSource>();
        var settings = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);

        Assert.Equal(100, settings.MaxAutoPrepare);
        Assert.Equal(2, settings.AutoPrepareMinUsages);
        var storage = hosts.Runtime.Get<IWolverineRuntime>().Storage;
        Assert.Same(dataSource, Assert.IsAssignableFrom<MessageDatabase<NpgsqlConnection>>(storage).DataSource);
    }

    [Fact]
    public async Task A_service_caps_its_pool_and_auto_preparation_as_configured()
    {
        await using var host = new ServiceHost<tracking::Program>(hosts.Servers, new Dictionary<string, string?>
        {
            ["Postgres:MaxPoolSize"] = "7",
            ["Postgres:MaxAutoPrepare"] = "0",
        });

        var settings = new NpgsqlConnectionStringBuilder(host.Get<NpgsqlDataSource>().ConnectionString);

        Assert.Equal(7, settings.MaxPoolSize);
        Assert.Equal(0, settings.MaxAutoPrepare);
    }
}
