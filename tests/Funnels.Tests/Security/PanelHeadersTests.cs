using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Security;

/// <summary>The admin panel's pages cannot be framed, sniffed or made to load anything from elsewhere.</summary>
[Collection(ServicesCollection.Name)]
public sealed class PanelHeadersTests(Hosts hosts)
{
    [Theory]
    [InlineData("/Account/SignIn")]
    [InlineData("/")]
    [InlineData("/css/site.css")]
    public async Task Every_answer_of_the_panel_carries_its_security_headers(string path)
    {
        using var client = hosts.Admin.CreateClient(new() { AllowAutoRedirect = false });
        using var response = await client.GetAsync(path, TestContext.Current.CancellationToken);

        var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.Contains("default-src 'none'", csp);
        Assert.DoesNotContain("unsafe-inline", csp);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
        Assert.Equal("same-origin", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
    }
}
