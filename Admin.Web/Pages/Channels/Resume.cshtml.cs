using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Channels;

/// <summary>An owner resumes a paused channel's sending (the Channels page's "Resume sending"), then is back on the Channels page.</summary>
public sealed class ResumeModel(IChannelSendingApi worker) : PageModel
{
    [BindProperty] public string? PhoneNumberId { get; set; }

    public IActionResult OnGet() => RedirectToPage("Index");

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (!User.IsOwner()) return Forbid();
        var id = PhoneNumberId?.Trim() ?? "";
        var response = id.Length == 0 ? null : await worker.ResumeChannelAsync(id, ct);
        TempData["Notice"] = response switch
        {
            { IsSuccessStatusCode: true } => $"Sending from {id} resumed: its {response.Content!.Queued} queued message(s) go out now.",
            { StatusCode: global::System.Net.HttpStatusCode.Conflict } => $"Sending from {id} was not paused.",
            _ => $"Channel {id} was not found.",
        };
        return RedirectToPage("Index");
    }
}
