using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;

namespace Funnels.AppHost.Tests;

/// <summary>
/// What the admin panel's browser tests share: a browser, signing in, the first admin's API
/// clients, members of other roles, explained failures. One per test class (its IAsyncLifetime).
/// </summary>
public sealed class Panel : IAsyncDisposable
{
    public const string MemberPassword = "member-password-0123";

    private readonly TopologyFixture topology;

    private Panel(TopologyFixture topology, Browser browser)
    {
        this.topology = topology;
        Browser = browser;
    }

    public Browser Browser { get; }

    public Uri Admin => topology.Endpoint("admin-web");

    public static async Task<Panel> StartAsync(TopologyFixture topology) => new(topology, await Browser.LaunchAsync());

    /// <summary>A page of admin-web in a fresh browser context (its own cookies).</summary>
    public Task<IPage> NewPageAsync() => Browser.NewPageAsync(Admin);

    public static async Task SignInAsync(IPage page, string email, string password)
    {
        await page.GotoAsync("/");
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    }

    public Task SignInAsFirstAdminAsync(IPage page) => SignInAsync(page, TopologyFixture.AdminEmail, topology.AdminPassword);

    /// <summary>A service's client with the first admin's token (an owner of the operator workspace), and that workspace's id.</summary>
    public async Task<(HttpClient Client, Guid WorkspaceId)> ApiAsync(string service)
    {
        using var runtime = topology.Client("runtime-api");
        var token = await (await runtime.PostAsJsonAsync("/api/runtime/auth/token",
            new { email = TopologyFixture.AdminEmail, password = topology.AdminPassword })).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
        var client = topology.Client(service);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.GetProperty("access_token").GetString());
        return (client, token.GetProperty("workspace_id").GetGuid());
    }

    /// <summary>A new member of the operator workspace with the given role, invitation accepted; returns the email (password <see cref="MemberPassword"/>).</summary>
    public async Task<string> MemberAsync(string role)
    {
        var email = $"{role}-{Guid.NewGuid():N}@example.com";
        var (runtime, _) = await ApiAsync("runtime-api");
        using (runtime)
        {
            var invited = await (await runtime.PutAsJsonAsync("/api/runtime/workspaces/current/members", new { email, password = MemberPassword, role }))
                .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
            // Nobody joins without accepting: the new member signs in once with the invitation's id.
            (await runtime.PostAsJsonAsync("/api/runtime/auth/token",
                new Dictionary<string, object> { ["email"] = email, ["password"] = MemberPassword, ["invitation_id"] = invited.GetProperty("id").GetGuid() }))
                .EnsureSuccessStatusCode();
        }
        return email;
    }

    /// <summary>Runs a browser test; on failure keeps a screenshot and adds the services' console tails to the error.</summary>
    public async Task Explained(Func<IPage, Task> test, [System.Runtime.CompilerServices.CallerMemberName] string name = "")
    {
        var page = await NewPageAsync();
        try
        {
            await test(page);
        }
        catch (Exception ex) when (ex is TimeoutException or PlaywrightException or Xunit.Sdk.XunitException)
        {
            await Browser.ScreenshotAsync(page, "failed-" + name);
            throw new Xunit.Sdk.XunitException(string.Join('\n', [$"{ex.Message}\nat {page.Url}",
                ..new[] { "admin-web", "tracking-api", "messaging-worker" }.Select(s => $"--- {s} ---\n{topology.LogOf(s)}")]));
        }
    }

    /// <summary>
    /// The least a wait may take before it fails: a limit, not an expectation (a busy machine can take
    /// many times what a quiet one does; a generous limit costs time only when the test fails anyway).
    /// </summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>Polls until the condition holds (it reads the outcome of asynchronous work), bounded in time.</summary>
    public static async Task Until(Func<Task<bool>> condition, string what, TimeSpan? within = null)
    {
        var limit = within is { } w && w > Patience ? w : Patience;
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Timed out after {limit.TotalSeconds:0} s waiting for {what}.");
            await Task.Delay(200);
        }
    }

    /// <summary>Reloads the page until the condition holds (what the page shows comes from asynchronous work).</summary>
    public static async Task Eventually(IPage page, Func<Task<bool>> condition, TimeSpan? within = null)
    {
        var limit = within is { } w && w > Patience ? w : Patience;
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"The page did not show what was expected within {limit}.");
            await Task.Delay(500);
            await page.ReloadAsync();
        }
    }

    /// <summary>
    /// Posts a page's form as a person without the right would, past the hidden buttons: with the
    /// page's own anti-forgery token and cookies. Follows the redirect to what the panel answers.
    /// </summary>
    public static async Task<IAPIResponse> PostAnywayAsync(IPage page, string url, IDictionary<string, string> fields)
    {
        var token = await page.Locator("input[name=__RequestVerificationToken]").First.GetAttributeAsync("value");
        var form = page.APIRequest.CreateFormData();
        form.Set("__RequestVerificationToken", token!);
        foreach (var (name, value) in fields) form.Set(name, value);
        return await page.APIRequest.PostAsync(url, new() { Form = form });
    }

    public ValueTask DisposeAsync() => Browser.DisposeAsync();
}
