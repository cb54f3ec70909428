using System.Net;
using System.Net.Sockets;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Npgsql;

namespace Funnels.AppHost.Tests;

/// <summary>Each test owns its runs of AppHost: again on the same folder, disposed, signalled.</summary>
public sealed class LifecycleTests : IDisposable
{
    /// <summary>Generous: PLATFORM.md measured 5-7 s for everything to go after AppHost ends.</summary>
    private static readonly TimeSpan GoneBound = TimeSpan.FromSeconds(60);

    /// <summary>What a whole run starts (command-line words): DCP, the dashboard, the servers, the four services.</summary>
    private static readonly string[] WholeRun =
    [
        "dcp run-controllers", "Aspire.Dashboard", "postgres -D", "beam.smp", "epmd -address 127.0.0.1", "redis-server",
        "/Runtime.Api", "/Tracking.Api", "/Messaging.Worker", "/Admin.Web",
    ];

    private readonly string _dataRoot = TestAppHost.NewDataRoot();

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_data_folder_outlives_a_run_and_is_reused_only_with_the_same_parameters()
    {
        var parameters = TestParameters.New();
        await using (var first = await StartServersAsync(parameters))
        {
            await ExecuteAsync(first, "CREATE TABLE kept (id int); INSERT INTO kept VALUES (42)");
        }

        await using (var second = await StartServersAsync(parameters))
        {
            Assert.Equal(42, await ExecuteAsync(second, "SELECT id FROM kept"));
        }

        // Another generated password cannot log in to the old cluster: PostgreSQL says so and stops.
        var builder = await TestAppHost.CreateBuilderAsync(_dataRoot, parameters with { PostgresPassword = "another-password-0123456789" },
            dashboard: false, Cancellation, "--Funnels:Topology=servers");
        await using var third = await builder.BuildAsync(Cancellation);
        await third.StartAsync(Cancellation);
        using var logs = ConsoleTails.Follow(third, ["postgres"]);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        cancel.CancelAfter(TestAppHost.StartBound);
        var ended = await third.ResourceNotifications.WaitForResourceAsync("postgres",
            e => KnownResourceStates.TerminalStates.Contains(e.Snapshot.State?.Text), cancel.Token);
        await Probes.UntilAsync(() => logs.Tail("postgres").Contains("was created with another postgres password"),
            "postgres to explain the refusal", TimeSpan.FromSeconds(30), () => $"{ended.Snapshot.State?.Text} {ended.Snapshot.ExitCode}\n{logs.Tail("postgres")}");
        Assert.NotEqual(0, ended.Snapshot.ExitCode);
    }

    [Fact]
    public async Task Disposing_the_app_leaves_no_process_behind()
    {
        var before = Processes.OfAppHost(Environment.ProcessId).ToHashSet();
        var builder = await TestAppHost.CreateBuilderAsync(_dataRoot, TestParameters.New(), dashboard: true, Cancellation);
        var app = await builder.BuildAsync(Cancellation);
        ConsoleTails? logs = null;
        IReadOnlyList<ProcessEntry> ours;
        try
        {
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
            cancel.CancelAfter(TestAppHost.StartBound);
            await app.StartAsync(cancel.Token);
            logs = ConsoleTails.Follow(app, TestAppHost.Resources);
            await TestAppHost.WaitUntilHealthyAsync(app, logs, TestAppHost.Resources, cancel.Token);
            // This test process is the AppHost here: its DCP's tree, less whatever ran before.
            ours = (await Processes.UntilRunningAsync(() => Processes.OfAppHost(Environment.ProcessId).Where(p => !before.Contains(p)).ToArray(),
                WholeRun, TimeSpan.FromSeconds(30), () => "")).ToArray();
        }
        finally
        {
            logs?.Dispose();
            await app.DisposeAsync();
        }

        var survivors = await Processes.SurvivorsAsync(ours, GoneBound);
        Processes.KillQuietly(survivors);
        Assert.Empty(survivors);
    }

    [Theory]
    [InlineData("dotnet run", Processes.SIGTERM)]
    [InlineData("dotnet run", Processes.SIGKILL)]
    [InlineData("AppHost", Processes.SIGKILL)]
    public async Task A_signalled_dotnet_run_leaves_no_process_behind(string target, int signal)
    {
        using var run = AppHostProcess.Start(TestAppHost.Args(_dataRoot, TestParameters.New(), DashboardOnFreePorts()));
        var appHost = await run.AppHostPidAsync(TimeSpan.FromMinutes(1));
        var ours = await Processes.UntilRunningAsync(() => [.. Processes.OfAppHost(appHost), .. Processes.All().Where(p => p.Pid == run.Pid)],
            WholeRun, TestAppHost.StartBound, () => run.Stdout + run.Stderr);
        Assert.Contains(ours, p => p.Pid == run.Pid);

        Processes.Signal(target == "AppHost" ? appHost : run.Pid, signal);

        var survivors = await Processes.SurvivorsAsync(ours, GoneBound);
        // A failed run must not leave its topology to the next test (or to the next engineer).
        Processes.KillQuietly(survivors);
        Assert.True(survivors.Count == 0, $"still running {GoneBound.TotalSeconds:0} s after the signal:\n{string.Join('\n', survivors)}\n{run.Stderr}");
    }

    public void Dispose() => TestAppHost.DeleteQuietly(_dataRoot);

    /// <summary>The http launch profile's dashboard ports are fixed (18888-18890); a test run takes free ones instead.</summary>
    private static string[] DashboardOnFreePorts() =>
    [
        $"--ASPNETCORE_URLS=http://127.0.0.1:{FreePort()}",
        $"--ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL=http://127.0.0.1:{FreePort()}",
        $"--ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL=http://127.0.0.1:{FreePort()}",
    ];

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task<DistributedApplication> StartServersAsync(TestParameters parameters)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        cancel.CancelAfter(TestAppHost.StartBound);
        var builder = await TestAppHost.CreateBuilderAsync(_dataRoot, parameters, dashboard: false, cancel.Token, "--Funnels:Topology=servers");
        var app = await builder.BuildAsync(cancel.Token);
        await app.StartAsync(cancel.Token);
        using var logs = ConsoleTails.Follow(app, ["postgres", "funnels"]);
        await TestAppHost.WaitUntilHealthyAsync(app, logs, ["postgres", "funnels"], cancel.Token);
        return app;
    }

    private static async Task<object?> ExecuteAsync(DistributedApplication app, string sql)
    {
        await using var connection = new NpgsqlConnection(await app.GetConnectionStringAsync("funnels", Cancellation));
        await connection.OpenAsync(Cancellation);
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(Cancellation);
    }
}
