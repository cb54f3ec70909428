using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Visitors;

/// <summary>The workspace's tracking settings: editors change the field name and storage key, owners rotate the CRM secret and the attribution key.</summary>
public sealed class SettingsModel(ITrackingApi tracking) : PageModel
{
    public TrackingSettings Settings { get; private set; } = null!;
    [BindProperty] public string? VisitorField { get; set; }
    [BindProperty] public string? StorageKey { get; set; }
    public Dictionary<string, string[]> Errors { get; private set; } = [];
    [TempData] public string? NewSecret { get; set; }
    [TempData] public string? NewAttributionKey { get; set; }

    public string[] ErrorsFor(string field) => Errors.TryGetValue(field, out var e) ? e : [];

    public async Task OnGetAsync(CancellationToken ct)
    {
        Settings = await tracking.SettingsAsync(ct);
        VisitorField = Settings.VisitorField;
        StorageKey = Settings.StorageKey;
    }

    public async Task<IActionResult> OnPostSaveAsync(CancellationToken ct)
    {
        if (!User.CanEdit()) return Forbid();
        var response = await tracking.SaveSettingsAsync(new TrackingSettingsRequest(VisitorField?.Trim(), StorageKey?.Trim()), ct);
        if (!response.IsSuccessStatusCode)
        {
            Errors = ApiProblem.FieldErrors(response.Error);
            Settings = await tracking.SettingsAsync(ct);
            return Page();
        }
        TempData["Notice"] = "Tracking settings saved.";
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostRotateAsync(CancellationToken ct)
    {
        if (!User.IsOwner()) return Forbid();
        NewSecret = (await tracking.RotateCrmSecretAsync(ct)).Secret;
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostRotateAttributionKeyAsync(CancellationToken ct)
    {
        if (!User.IsOwner()) return Forbid();
        NewAttributionKey = (await tracking.RotateAttributionKeyAsync(ct)).Key;
        return RedirectToPage();
    }
}
