using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Refit;

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
    public List<CrmAdapter> Adapters { get; private set; } = [];
    [BindProperty] public CrmForm Crm { get; set; } = new();
    [TempData] public string? CrmConfigured { get; set; }

    /// <summary>The CRM adapter form: one adapter at a time (docs/crm-webhooks.md).</summary>
    public sealed class CrmForm
    {
        public string? Adapter { get; set; }
        public string? Auth { get; set; }
        public string? Secret { get; set; }
        public string? Username { get; set; }
        public string? VisitorField { get; set; }
        public string? ContactIdPath { get; set; }
        public string? EmailPath { get; set; }
        public string? PhonePath { get; set; }
        public string? VisitorIdPath { get; set; }
    }

    public string[] ErrorsFor(string field) => Errors.TryGetValue(field, out var e) ? e : [];

    public async Task OnGetAsync(CancellationToken ct)
    {
        Settings = await tracking.SettingsAsync(ct);
        Adapters = await tracking.CrmAdaptersAsync(ct);
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
            Adapters = await tracking.CrmAdaptersAsync(ct);
            return Page();
        }
        TempData["Notice"] = "Tracking settings saved.";
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostRotateAsync(CancellationToken ct)
    {
        if (!User.IsOwner()) return Forbid();
        var response = await tracking.RotateCrmSecretAsync(ct);
        if (!response.IsSuccessStatusCode)
        {
            // 503 when Tracking.Api cannot store it encrypted (no Secrets:EncryptionKey): say so next to the button.
            Errors["crm_secret"] = ApiProblem.FieldErrors(response.Error).Values.SelectMany(e => e).ToArray();
            Settings = await tracking.SettingsAsync(ct);
            Adapters = await tracking.CrmAdaptersAsync(ct);
            VisitorField = Settings.VisitorField;
            StorageKey = Settings.StorageKey;
            return Page();
        }
        NewSecret = response.Content!.Secret;
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostConfigureCrmAsync(CancellationToken ct)
    {
        if (!User.IsOwner()) return Forbid();
        var paths = Crm.Adapter == "generic" ? new CrmPaths(Blank(Crm.ContactIdPath), Blank(Crm.EmailPath), Blank(Crm.PhonePath), Blank(Crm.VisitorIdPath)) : null;
        var response = await tracking.ConfigureCrmAdapterAsync(Crm.Adapter ?? "", new CrmAdapterRequest(
            Blank(Crm.Auth), Blank(Crm.Secret), Blank(Crm.Username), Blank(Crm.VisitorField), paths), ct);
        if (!response.IsSuccessStatusCode)
        {
            Errors = ApiProblem.FieldErrors(response.Error);
            if (Errors.Count == 0) Errors[string.Empty] = [(response.Error as ApiException)?.Content ?? "The adapter could not be configured."];
            Settings = await tracking.SettingsAsync(ct);
            Adapters = await tracking.CrmAdaptersAsync(ct);
            return Page();
        }
        var configured = response.Content!;
        CrmConfigured = $"{configured.Adapter}: POST {configured.Address}" + (configured.Secret is null ? "" : $" · secret {configured.Secret}") + $" · sends {configured.Sends}";
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostDeleteCrmAsync(string adapter, CancellationToken ct)
    {
        if (!User.IsOwner()) return Forbid();
        await tracking.DeleteCrmAdapterAsync(adapter, ct);
        TempData["Notice"] = $"The {adapter} adapter no longer accepts deliveries.";
        return RedirectToPage();
    }

    private static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

    public async Task<IActionResult> OnPostRotateAttributionKeyAsync(CancellationToken ct)
    {
        if (!User.IsOwner()) return Forbid();
        NewAttributionKey = (await tracking.RotateAttributionKeyAsync(ct)).Key;
        return RedirectToPage();
    }
}
