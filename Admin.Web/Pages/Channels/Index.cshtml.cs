using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Channels;

/// <summary>
/// The workspace's WhatsApp business numbers: Meta's deliveries for a claimed phone-number id are
/// routed here. Owners add, rename and remove them (the API allows owners only). Adding one needs
/// the number's own Graph API access token, which Runtime.Api checks with Meta (an operator may add
/// one without: its sends then use the installation's token). A number of another Meta app than the
/// installation's also carries that app's secret and verify token (the same form, for a number already added too).
/// </summary>
public sealed class IndexModel(IRuntimeApi runtime) : PageModel
{
    [BindProperty(SupportsGet = true, Name = "p")] public int PageNumber { get; set; } = 1;
    public PagedList<Channel> Channels { get; private set; } = new([], 1, 25, 0);
    [BindProperty] public string? PhoneNumberId { get; set; }
    [BindProperty] public string? DisplayPhoneNumber { get; set; }
    [BindProperty] public string? AccessToken { get; set; }
    [BindProperty] public string? AppSecret { get; set; }
    [BindProperty] public string? VerifyToken { get; set; }
    public Dictionary<string, string[]> Errors { get; private set; } = [];

    public Pager Pager => new(Channels.Page, Channels.Pages, Channels.Total, p => Url.Page("Index", new { p })!);

    public string[] ErrorsFor(string field) => Errors.TryGetValue(field, out var e) ? e : [];

    public async Task OnGetAsync(CancellationToken ct) => Channels = await runtime.ChannelsAsync(Math.Max(1, PageNumber), 25, ct);

    /// <summary>Adds a channel, or renames one (the same PUT: the id is the key).</summary>
    public async Task<IActionResult> OnPostSaveAsync(CancellationToken ct)
    {
        if (!User.IsOwner()) return Forbid();
        var id = PhoneNumberId?.Trim() ?? "";
        var response = id.Length == 0
            ? null
            : await runtime.SaveChannelAsync(id, new ChannelRequest(
                string.IsNullOrWhiteSpace(DisplayPhoneNumber) ? null : DisplayPhoneNumber.Trim(), string.IsNullOrWhiteSpace(AccessToken) ? null : AccessToken.Trim(),
                string.IsNullOrWhiteSpace(AppSecret) ? null : AppSecret.Trim(), string.IsNullOrWhiteSpace(VerifyToken) ? null : VerifyToken.Trim()), ct);
        if (response is { IsSuccessStatusCode: true })
        {
            TempData["Notice"] = $"Channel {id} saved.";
            return RedirectToPage();
        }
        AccessToken = AppSecret = VerifyToken = null; // never echoed back into the page
        Errors = response is null ? new() { ["phone_number_id"] = ["is required"] } : ApiProblem.FieldErrors(response.Error);
        Channels = await runtime.ChannelsAsync(1, 25, ct);
        return Page();
    }

    public async Task<IActionResult> OnPostDeleteAsync(string id, CancellationToken ct)
    {
        if (!User.IsOwner()) return Forbid();
        await runtime.DeleteChannelAsync(id, ct);
        TempData["Notice"] = $"Channel {id} removed: Meta's deliveries for it are no longer routed to this workspace.";
        return RedirectToPage();
    }
}
