using Funnels.Admin.Api;
using Funnels.Admin.Charts;
using Funnels.Admin.Infrastructure;
using Funnels.Admin.Services;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Refit;

namespace Funnels.Admin.Pages;

public sealed class IndexModel(IRuntimeApi runtime, ITrackingApi tracking, IFlowsApi flows, ServiceStatus status, ILogger<IndexModel> logger) : PageModel
{
    public LeadsOverview Stats { get; private set; } = new(14, 0, 0, [], []);
    public IReadOnlyList<ServiceHealth> Services { get; private set; } = [];
    public LinkingStats? Linking { get; private set; }
    public long? RunningRuns { get; private set; }
    public long? WaitingRuns { get; private set; }
    public long? FailedRuns { get; private set; }
    public long? SendingRuns { get; private set; }
    public long? DeadLetteredRuns { get; private set; }
    public long? DeadLetters { get; private set; }

    public BarChart LeadsPerDay => new($"Leads per day, last {Stats.Days} days (UTC)",
        Stats.PerDay.Select(d => new Bar(d.Day.ToString("MM-dd"), d.Leads)).ToList());

    public BarChart ConversionByFunnel => new("Conversion rate by funnel (%)",
        Stats.Funnels.Select(f => new Bar(f.Slug, (double)Math.Round(f.ConversionRate * 100, 1), "accent")).ToList());

    public BarChart RunsByState => new("Flow runs by state",
        [new Bar("running", RunningRuns ?? 0), new Bar("waiting", WaitingRuns ?? 0), new Bar("sending", SendingRuns ?? 0),
         new Bar("failed", FailedRuns ?? 0, "accent"), new Bar("dead_lettered", DeadLetteredRuns ?? 0, "accent")]);

    /// <summary>Runs not finished: running, waiting, and sending (the flow ended, its messages are not all out).</summary>
    public long? ActiveRuns => RunningRuns + WaitingRuns + SendingRuns;

    public static string Figure(long? value) => value?.ToString() ?? "–";

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        var stats = runtime.OverviewAsync(14, cancellationToken);
        var linking = Optional<LinkingStats>(async () => await tracking.LinkingStatsAsync(cancellationToken));
        var running = RunCountAsync("running", cancellationToken);
        var waiting = RunCountAsync("waiting", cancellationToken);
        var failed = RunCountAsync("failed", cancellationToken);
        var sending = RunCountAsync("sending", cancellationToken);
        var deadLettered = RunCountAsync("dead_lettered", cancellationToken);
        var deadLetters = User.IsOperator()
            ? Optional(async () => (long?)(await flows.DeadLettersAsync(new DeadLetterSearch { PageSize = 1 }, cancellationToken)).Total)
            : Task.FromResult<long?>(null);
        Services = await status.CheckAllAsync(cancellationToken);
        Stats = await stats;
        Linking = await linking;
        RunningRuns = await running;
        WaitingRuns = await waiting;
        FailedRuns = await failed;
        SendingRuns = await sending;
        DeadLetteredRuns = await deadLettered;
        DeadLetters = await deadLetters;
    }

    private Task<long?> RunCountAsync(string state, CancellationToken ct) =>
        Optional(async () => (long?)(await flows.RunsAsync(new RunSearch { Status = state, PageSize = 1 }, ct)).Total);

    /// <summary>A figure from another service: when that service is unwell the overview still shows, with "–" and the service in the health table.</summary>
    private async Task<T?> Optional<T>(Func<Task<T?>> read)
    {
        try
        {
            return await read();
        }
        catch (Exception ex) when (ex is ApiException or HttpRequestException or TaskCanceledException)
        {
            logger.LogWarning(ex, "An overview figure could not be read");
            return default;
        }
    }
}
