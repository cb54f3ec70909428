using System.Diagnostics;
using Microsoft.Playwright;

namespace Funnels.AppHost.Tests;

/// <summary>
/// The panel's side of the tester's findings: a cookie replayed after sign-out still worked, and a
/// throttled sign-in answered 500 after 30 s (the resilience handler retried the 429).
/// </summary>
[Collection(TopologyCollection.Name)]
public sealed class SessionPanelTests(TopologyFixture topology) : IAsyncLifetime
{
    private Panel _panel = null!;

    public async ValueTask InitializeAsync() => _panel = await Panel.StartAsync(topology);

    public ValueTask DisposeAsync() => _panel.DisposeAsync();

    [Fact]
    public Task A_cookie_replayed_after_sign_out_lands_on_the_sign_in_page() => _panel.Explained(async page =>
    {
        var email = await _panel.MemberAsync("viewer");
        await Panel.SignInAsync(page, email, Panel.MemberPassword);
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Sign out" })).ToBeVisibleAsync();
        var stolen = await page.Context.CookiesAsync();

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/Account/SignIn"));

        // Someone who copied the cookie before the sign-out replays it in a browser of their own.
        var replay = await _panel.NewPageAsync();
        await replay.Context.AddCookiesAsync(stolen.Select(c => new Cookie
        {
            Name = c.Name, Value = c.Value, Domain = c.Domain, Path = c.Path, HttpOnly = c.HttpOnly, Secure = c.Secure, SameSite = c.SameSite,
        }));
        await replay.GotoAsync("/Funnels");

        await Assertions.Expect(replay).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/Account/SignIn"));
        await Assertions.Expect(replay.GetByRole(AriaRole.Button, new() { Name = "Sign out" })).ToHaveCountAsync(0);
        await Browser.ScreenshotAsync(replay, "replayed-cookie-signed-out");
    });

    [Fact]
    public Task A_throttled_sign_in_shows_a_clear_message_at_once() => _panel.Explained(async page =>
    {
        var email = $"guess-{Guid.NewGuid():N}@example.com";
        for (var i = 0; i < 10; i++)
        {
            await Panel.SignInAsync(page, email, "wrong-guess-" + i);
            await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("email or password is wrong");
        }

        var clock = Stopwatch.StartNew();
        await Panel.SignInAsync(page, email, "wrong-guess-10");
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Too many failed sign-ins");
        var took = clock.Elapsed;

        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("seconds");
        // The resilience handler retried the 429 until its 30 s total timeout; now it is answered at once.
        Assert.True(took < TimeSpan.FromSeconds(20), $"the throttled sign-in took {took.TotalSeconds:0.0} s");
        await Browser.ScreenshotAsync(page, "sign-in-throttled");
    });
}
