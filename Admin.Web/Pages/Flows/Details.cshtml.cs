using System.Text.Encodings.Web;
using System.Text.Json;
using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Funnels.Admin.Pages.Runs;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Flows;

public sealed class DetailsModel(IFlowsApi flows) : PageModel
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [BindProperty(SupportsGet = true)] public Guid Id { get; set; }
    public Flow Flow { get; private set; } = null!;
    public PagedList<Run> Runs { get; private set; } = new([], 1, 10, 0);
    public RunRows RunRows => new(Runs.Items, new Dictionary<Guid, string> { [Flow.Id] = Flow.Name });
    public string Triggers => JsonSerializer.Serialize(Flow.Triggers, Indented);
    public string Definition => JsonSerializer.Serialize(Flow.Definition, Indented);

    public async Task OnGetAsync(CancellationToken ct)
    {
        var runs = flows.RunsAsync(new RunSearch { FlowId = Id, PageSize = 10 }, ct);
        Flow = await flows.FlowAsync(Id, ct);
        Runs = await runs;
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
