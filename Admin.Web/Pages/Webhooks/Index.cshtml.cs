using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Webhooks;

public sealed class IndexModel(IMessagingApi messaging) : PageModel
{
    public List<Webhook> Webhooks { get; private set; } = [];
    [BindProperty] public string? EndpointUrl { get; set; }
    [BindProperty] public List<string> Events { get; set; } = [];
    public string[] Errors { get; private set; } = [];
    [TempData] public string? NewSecret { get; set; }

    public async Task OnGetAsync(CancellationToken ct) => Webhooks = await messaging.WebhooksAsync(ct);

    public async Task<IActionResult> OnPostCreateAsync(CancellationToken ct)
    {
        if (!User.IsOwner()) return Forbid();
        var response = await messaging.CreateWebhookAsync(new WebhookRequest(EndpointUrl ?? "", Events), ct);
        if (!response.IsSuccessStatusCode)
        {
            Errors = ApiProblem.FieldErrors(response.Error).SelectMany(e => e.Value.Select(v => e.Key.Length > 0 ? $"{e.Key} {v}" : v)).ToArray();
            Webhooks = await messaging.WebhooksAsync(ct);
            return Page();
        }
        NewSecret = response.Content!.Secret;
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostRotateAsync(Guid id, CancellationToken ct)
    {
        if (!User.IsOwner()) return Forbid();
        NewSecret = (await messaging.RotateSecretAsync(id, ct)).Secret;
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostDeleteAsync(Guid id, CancellationToken ct)
    {
        if (!User.IsOwner()) return Forbid();
        await messaging.DeleteWebhookAsync(id, ct);
        TempData["Notice"] = "Endpoint deleted.";
        return RedirectToPage();
    }
}
