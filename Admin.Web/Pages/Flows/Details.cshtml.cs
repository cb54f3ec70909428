using System.Text.Encodings.Web;
using System.Text.Json;
using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Funnels.Admin.Pages.Runs;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Flows;

public sealed class DetailsModel(IFlowsApi flows, IRuntimeApi runtime) : PageModel
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [BindProperty(SupportsGet = true)] public Guid Id { get; set; }
    public Flow Flow { get; private set; } = null!;
    public PagedList<Run> Runs { get; private set; } = new([], 1, 10, 0);
    public DeliveryCounts? Deliveries { get; private set; }
    public RunRows RunRows => new(Runs.Items, new Dictionary<Guid, string> { [Flow.Id] = Flow.Name });
    public string Triggers => JsonSerializer.Serialize(Flow.Triggers, Indented);
    public string Definition => JsonSerializer.Serialize(Flow.Definition, Indented);

    [BindProperty] public string? TestTo { get; set; }
    [BindProperty] public string? TestPhoneNumberId { get; set; }
    [TempData] public Guid? TestRunId { get; set; }
    public List<Channel> Channels { get; private set; } = [];
    public Dictionary<string, string[]> TestErrors { get; private set; } = [];

    public string[] TestErrorsFor(string field) => TestErrors.TryGetValue(field, out var e) ? e : [];

    public async Task OnGetAsync(CancellationToken ct)
    {
        var runs = flows.RunsAsync(new RunSearch { FlowId = Id, PageSize = 10 }, ct);
        var deliveries = flows.DeliveriesAsync(Id, ct);
        var channels = User.CanEdit() ? runtime.ChannelsAsync(1, 200, ct) : null;
        Flow = await flows.FlowAsync(Id, ct);
        Runs = await runs;
        Deliveries = await deliveries;
        Channels = channels is null ? [] : (await channels).Items;
    }

    /// <summary>Runs this flow for one phone through the worker's test-send (the normal, durable run path), then links to the run.</summary>
    public async Task<IActionResult> OnPostTestSendAsync(CancellationToken ct)
    {
        if (!User.CanEdit()) return Forbid();
        var sender = string.IsNullOrWhiteSpace(TestPhoneNumberId) ? null : TestPhoneNumberId.Trim();
        var response = await flows.TestSendAsync(Id, new TestSendRequest(TestTo?.Trim() ?? "", sender), ct);
        if (response.IsSuccessStatusCode)
        {
            TestRunId = response.Content!.RunId;
            TempData["Notice"] = $"Test run started for {response.Content.To} from {response.Content.PhoneNumberId}.";
            return RedirectToPage(new { id = Id });
        }
        TestErrors = response.StatusCode == global::System.Net.HttpStatusCode.TooManyRequests
            ? new() { [""] = ["Too many test-sends in this workspace for now; try again in a minute."] }
            : ApiProblem.FieldErrors(response.Error);
        await OnGetAsync(ct);
        return Page();
    }

    public Task<IActionResult> OnPostActivateAsync(CancellationToken ct) => SetStatusAsync("active", ct);

    public Task<IActionResult> OnPostPauseAsync(CancellationToken ct) => SetStatusAsync("paused", ct);

    /// <summary>Saves the flow as it is with another status (the graph unchanged, so the version stays).</summary>
    private async Task<IActionResult> SetStatusAsync(string status, CancellationToken ct)
    {
        if (!User.CanEdit()) return Forbid();
        var response = await flows.UpdateFlowAsync(Id, FlowRequest.From(await flows.FlowAsync(Id, ct), status), ct);
        TempData["Notice"] = response.IsSuccessStatusCode
            ? $"The flow is {status}."
            : "Not changed: " + string.Join("; ", ApiProblem.FieldErrors(response.Error).Select(e => $"{e.Key} {string.Join(", ", e.Value)}".Trim()));
        return RedirectToPage(new { id = Id });
    }
}
