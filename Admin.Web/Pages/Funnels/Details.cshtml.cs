using System.Text.Json;
using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Funnels;

public sealed class DetailsModel(IRuntimeApi runtime, IConfiguration configuration) : PageModel
{
    [BindProperty(SupportsGet = true)] public Guid Id { get; set; }
    public Funnel Funnel { get; private set; } = null!;
    public List<Publication> Publications { get; private set; } = [];
    public string Schema => JsonSerializer.Serialize(Funnel.Schema, new JsonSerializerOptions { WriteIndented = true });

    // Where browsers reach Runtime.Api: "PublicUrls:RuntimeApi" when it sits behind a proxy, else its service address.
    public string EmbedSnippet => $$"""
        fetch("{{(configuration["PublicUrls:RuntimeApi"] ?? configuration["services:runtime-api:http:0"] ?? "").TrimEnd('/')}}/api/runtime/events/", {
          method: "POST",
          headers: { "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() },
          body: JSON.stringify({
            publication_slug: "{{Funnel.Slug}}",
            event_type: "FORM_SUBMIT",
            payload: { page_id: "<page id>", form_data: Object.fromEntries(new FormData(form)) }
          })
        }).then(r => r.json()).then(({ status, lead_id, next_page_id }) => { /* go to next_page_id */ });
        """;

    public async Task OnGetAsync(CancellationToken ct)
    {
        Funnel = await runtime.FunnelAsync(Id, ct);
        Publications = await runtime.PublicationsAsync(Id, ct);
    }

    public async Task<IActionResult> OnPostPublishAsync(CancellationToken ct)
    {
        if (!User.CanEdit()) return Forbid();
        var publication = await runtime.PublishAsync(Id, ct);
        TempData["Notice"] = $"Published version {publication.Version}.";
        return RedirectToPage(new { id = Id });
    }

    public async Task<IActionResult> OnPostUnpublishAsync(CancellationToken ct)
    {
        if (!User.CanEdit()) return Forbid();
        await runtime.UnpublishAsync(Id, ct);
        TempData["Notice"] = "Unpublished: public events for this funnel now answer 404.";
        return RedirectToPage(new { id = Id });
    }
}
