using System.Diagnostics;
using System.Runtime.InteropServices;
using Funnels.Bench;

// Starts the whole topology under Aspire through the AppHost's own Program (Aspire.Hosting.Testing:
// DCP, the dashboard, the servers, the services as their own processes), loads it over loopback
// from this process with bounded loops, and prints the results table.
//   dotnet bench/Funnels.Bench/bin/Release/net10.0/Funnels.Bench.dll [--runs N] [--quick] [--only a,b] [--no-dashboard] [--out FILE]
var runs = args.SkipWhile(a => a != "--runs").Skip(1).Select(int.Parse).FirstOrDefault(3);
var quick = args.Contains("--quick");
var output = args.SkipWhile(a => a != "--out").Skip(1).FirstOrDefault();
// --only lead,collect,link,burst1,burst2,waits: just those scenarios (to look at one figure again).
var only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault()?.Split(',');
// --no-dashboard: without Aspire's dashboard (and so without the services' telemetry export to it).
var dashboard = !args.Contains("--no-dashboard");
var sizes = quick ? BenchSizes.Quick : BenchSizes.Full;
var loadAtStart = Machine.LoadAverage();
var drainBound = TimeSpan.FromSeconds(300);
// Set once Ctrl+C or SIGTERM is stopping the topology: what fails under the scenarios' feet then is no error.
var stopping = false;

try
{
    await using var graph = await FakeGraphApi.StartAsync();
    Progress($"starting the topology under Aspire (DCP{(dashboard ? ", the dashboard" : "")}, PostgreSQL, RabbitMQ, Redis, the services)");
    await using var topology = await BenchTopology.StartAsync(graph.BaseUrl, dashboard);
    if (topology.Dashboard is { } login)
    {
        Progress($"dashboard: {login}");
    }
    // Stopped early (Ctrl+C, kill): stop what it started (Aspire stops the services and servers,
    // PostgreSQL with a fast shutdown), then exit; DCP would stop them too once this process is gone.
    void StopTopology(PosixSignalContext context)
    {
        context.Cancel = true;
        if (stopping)
        {
            return;
        }
        stopping = true;
        Progress($"{context.Signal}: stopping the topology");
        topology.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Environment.Exit(context.Signal == PosixSignal.SIGINT ? 130 : 143);
    }
    using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, StopTopology);
    using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, StopTopology);
    await using var memory = new TopologyMemory(topology.Processes);
    var machine = await Machine.DescribeAsync(topology.Database, loadAtStart);
    // Idle: everything started and healthy (the second worker stopped again), nothing sent yet.
    await Task.Delay(TimeSpan.FromSeconds(5));
    memory.MarkIdle();

    var rounds = new List<Figures>();
    var errors = new List<string>();
    for (var run = 1; run <= runs; run++)
    {
        var figures = new Figures();
        var workspace = await topology.WorkspaceAsync($"bench-{run}");
        async Task Step(string key, string name, Func<Task> scenario)
        {
            if (only is not null && !only.Contains(key))
            {
                return;
            }
            var clock = Stopwatch.StartNew();
            Progress($"run {run}/{runs}: {name}");
            try
            {
                await scenario();
            }
            catch (Exception e) when (!stopping && e is InvalidOperationException or HttpRequestException or Npgsql.NpgsqlException or TaskCanceledException)
            {
                errors.Add($"run {run}, {name}: {e.Message}");
                Progress($"  failed: {e.Message}");
            }
            Progress($"  {clock.Elapsed.TotalSeconds:0.0} s");
            // Let what the scenario queued (LeadCaptured, links, sends) drain before the next one
            // starts: a tail would load it. Bounded, and said in the table when it was not enough.
            var drainClock = Stopwatch.StartNew();
            if (!await Quiet.UntilDrainedAsync(topology.Database, drainBound))
            {
                Progress($"  messages still pending after {drainBound.TotalSeconds:0} s; going on");
                errors.Add($"run {run}, {name}: messages still pending {drainBound.TotalSeconds:0} s after it, so the next scenario started behind them");
            }
            else if (drainClock.Elapsed > TimeSpan.FromSeconds(1))
            {
                Progress($"  drained in {drainClock.Elapsed.TotalSeconds:0.0} s");
            }
        }

        await Step("lead", "lead capture + pgbench", () => LeadCaptureBench.RunAsync(workspace, sizes, figures));
        await Step("collect", "tracking collect", () => TrackingBench.CollectAsync(workspace, sizes, figures));
        await Step("link", "link latency + mixed run", () => TrackingBench.LinkAsync(workspace, sizes, figures));
        await Step("burst1", "trigger burst, 1 worker", () => WhatsAppBench.BurstAsync(workspace, graph, sizes, figures, "burst1"));
        await Step("burst2", "trigger burst, 2 workers", async () =>
        {
            await topology.StartServiceAsync(BenchTopology.SecondWorker);
            try
            {
                await WhatsAppBench.BurstAsync(workspace, graph, sizes, figures, "burst2");
            }
            finally
            {
                await topology.StopServiceAsync(BenchTopology.SecondWorker);
            }
        });
        await Step("waits", "wait lateness", () => WhatsAppBench.WaitsAsync(workspace, sizes, figures));
        rounds.Add(figures);
        // The table so far after every run: a long run stopped early still leaves its figures.
        if (output is not null)
        {
            await File.WriteAllTextAsync(output, Report.Render(machine, sizes, quick, dashboard, rounds, memory, errors));
        }
    }

    Console.WriteLine(Report.Render(machine, sizes, quick, dashboard, rounds, memory, errors));
    return errors.Count == 0 ? 0 : 1;
}
catch (BenchSetupException e)
{
    await Console.Error.WriteLineAsync($"error: {e.Message}");
    return 2;
}
catch (Exception) when (stopping)
{
    // The signal handler is stopping the topology and exits the process when done.
    await Task.Delay(Timeout.Infinite);
    return 1;
}

static void Progress(string line) => Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {line}");
