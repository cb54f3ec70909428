using System.Text.Json;
using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Refit;

namespace Funnels.Admin.Pages.Account;

public sealed class SignInModel(IRuntimeApi runtime) : PageModel
{
    public const string Throttled = "Too many failed sign-ins for this account from here.";

    [BindProperty] public string Email { get; set; } = "";
    [BindProperty] public string Password { get; set; } = "";
    [BindProperty] public Guid? InvitationId { get; set; }
    [BindProperty(SupportsGet = true)] public string? ReturnUrl { get; set; }
    public string[] Errors { get; private set; } = [];

    /// <summary>What an account without a workspace yet is invited to: accepting signs in to it.</summary>
    public List<(Guid Id, string Workspace, string Role)> Invitations { get; } = [];

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        try
        {
            var token = await runtime.SignInAsync(new SignInRequest(Email.Trim(), Password, InvitationId: InvitationId), ct);
            await AdminUser.SignInAsync(HttpContext, Email.Trim().ToLowerInvariant(), token);
            return LocalRedirect(Url.IsLocalUrl(ReturnUrl) ? ReturnUrl! : "/");
        }
        catch (ApiException ex) when ((int)ex.StatusCode == 429)
        {
            // Answered at once (the resilience handler never retries a 429), with the wait the API named.
            var seconds = ex.Headers.RetryAfter?.Delta?.TotalSeconds ?? 60;
            Errors = [$"{Throttled} Wait {seconds:0} seconds and try again."];
            return Page();
        }
        catch (ApiException ex) when ((int)ex.StatusCode == 403)
        {
            ReadInvitations(ex.Content);
            Errors = [Invitations.Count > 0
                ? "You are not a member of any workspace yet. Accept an invitation below with your password."
                : "This account is not a member of any workspace."];
            return Page();
        }
        catch (ApiException ex) when ((int)ex.StatusCode is 400 or 401 or 404)
        {
            Errors = ["The email or password is wrong."];
            return Page();
        }
    }

    private void ReadInvitations(string? content)
    {
        try
        {
            using var problem = JsonDocument.Parse(content ?? "{}");
            if (problem.RootElement.TryGetProperty("invitations", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                foreach (var i in list.EnumerateArray())
                {
                    Invitations.Add((i.GetProperty("id").GetGuid(), i.GetProperty("workspace_name").GetString() ?? "", i.GetProperty("role").GetString() ?? ""));
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            // No invitations to show.
        }
    }
}
