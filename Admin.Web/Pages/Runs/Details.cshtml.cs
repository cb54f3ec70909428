using System.Text.Encodings.Web;
using System.Text.Json;
using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Runs;

public sealed class DetailsModel(IFlowsApi flows) : PageModel
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [BindProperty(SupportsGet = true)] public Guid Id { get; set; }
    public RunDetail Detail { get; private set; } = null!;
    public string FlowName { get; private set; } = "";
    public string Context => JsonSerializer.Serialize(Detail.Context, Indented);

    public async Task OnGetAsync(CancellationToken ct)
    {
        Detail = await flows.RunAsync(Id, ct);
        FlowName = (await flows.FlowAsync(Detail.Run.FlowId, ct)).Name;
    }

    public async Task<IActionResult> OnPostCancelAsync(CancellationToken ct)
    {
        if (!User.CanEdit()) return Forbid();
        var response = await flows.CancelRunAsync(Id, ct);
        TempData["Notice"] = response.IsSuccessStatusCode
            ? "Run cancelled; its scheduled wake-ups will find it cancelled and do nothing."
            : string.Join(" ", ApiProblem.FieldErrors(response.Error).SelectMany(e => e.Value));
        return RedirectToPage(new { id = Id });
    }

    /// <summary>What the states that are not self-evident mean (docs/whatsapp-and-flows.md, "Run states").</summary>
    public static string? Explain(string status) => status switch
    {
        "sending" => "the flow reached its end; some of its messages are still queued or being retried",
        "dead_lettered" => "a send ran out of retries; replaying its dead letter moves the run on",
        _ => null,
    };

    public static string Json(JsonElement? detail) => detail is { } d ? JsonSerializer.Serialize(d, Compact) : "";
}
