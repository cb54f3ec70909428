using System.Net;
using Funnels.ServiceDefaults.Outbound;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Funnels.Tests.Security;

/// <summary>
/// The outbound policy's address check and its connect-time callback, without the services: a
/// resolver of the test's own answers a public-looking name with an inside address (DNS rebinding:
/// the name passed when it was saved, it points inside when it is called).
/// </summary>
public sealed class OutboundPolicyTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>Answers every name with the addresses it was given, and counts the questions.</summary>
    private sealed class FixedResolver(params IPAddress[] addresses) : OutboundResolver
    {
        public int Questions;

        public override Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Questions);
            return Task.FromResult(addresses);
        }
    }

    [Theory]
    [InlineData("127.0.0.1"), InlineData("127.10.20.30"), InlineData("10.0.0.1"), InlineData("172.16.0.1"), InlineData("172.31.255.255"), InlineData("192.168.1.1")]
    [InlineData("100.64.0.1"), InlineData("100.127.255.254"), InlineData("169.254.169.254"), InlineData("0.0.0.0"), InlineData("255.255.255.255"), InlineData("224.0.0.1")]
    [InlineData("::1"), InlineData("::"), InlineData("fe80::1"), InlineData("fc00::1"), InlineData("fd12:3456::1"), InlineData("ff02::1")]
    [InlineData("::ffff:127.0.0.1"), InlineData("::ffff:169.254.169.254"), InlineData("::127.0.0.1"), InlineData("64:ff9b::a00:1"), InlineData("2002:7f00:1::1")]
    public void Inside_addresses_are_not_public(string address) => Assert.False(OutboundAddresses.IsPublic(IPAddress.Parse(address)), address);

    [Theory]
    [InlineData("203.0.113.10"), InlineData("8.8.8.8"), InlineData("172.32.0.1"), InlineData("100.128.0.1"), InlineData("2606:4700::1111"), InlineData("::ffff:8.8.8.8")]
    public void Public_addresses_are_public(string address) => Assert.True(OutboundAddresses.IsPublic(IPAddress.Parse(address)), address);

    [Theory]
    [InlineData("http://0x7f000001/"), InlineData("http://2130706433/"), InlineData("http://017700000001/"), InlineData("http://127.1/"), InlineData("http://[::1]/")]
    [InlineData("http://localhost/"), InlineData("http://api.localhost./"), InlineData("http://[::ffff:7f00:1]/"), InlineData("gopher://example.com/"), InlineData("file:///etc/passwd")]
    [InlineData("http://user:secret@203.0.113.10/")]
    public void Urls_aimed_inside_are_refused_without_resolving(string url)
    {
        var resolver = new FixedResolver(IPAddress.Parse("203.0.113.10"));
        Assert.NotNull(new OutboundPolicy(new OutboundSettings(), resolver).RefusalOf(url));
        Assert.Equal(0, resolver.Questions);
    }

    [Fact]
    public async Task A_name_that_resolves_inside_is_refused_when_saved()
    {
        var policy = new OutboundPolicy(new OutboundSettings(), new FixedResolver(IPAddress.Parse("203.0.113.10"), IPAddress.Parse("10.0.0.5")));
        Assert.NotNull(await policy.CheckAsync("https://crm.example.com/hook", Cancel));
        Assert.Null(await new OutboundPolicy(new OutboundSettings(), new FixedResolver(IPAddress.Parse("203.0.113.10"))).CheckAsync("https://crm.example.com/hook", Cancel));
    }

    [Fact]
    public async Task The_connect_callback_refuses_a_public_looking_name_that_now_resolves_to_loopback_and_never_connects()
    {
        var called = 0;
        await using var inside = await StartAsync(() => Interlocked.Increment(ref called));
        var resolver = new FixedResolver(IPAddress.Loopback);
        var settings = new OutboundSettings();
        var policy = new OutboundPolicy(settings, resolver);
        var url = $"http://crm.example.com:{inside.Port}/hook";
        // Saved while it resolved elsewhere: the save-time check has no objection to the name itself.
        Assert.Null(policy.RefusalOf(url));

        var context = new SocketsHttpConnectionContextProbe("crm.example.com", inside.Port);
        await Assert.ThrowsAsync<OutboundRefusedException>(() => policy.ConnectAsync(context.Value, Cancel).AsTask());

        using var http = new OutboundHttp(policy, settings);
        var answer = await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, url), Cancel);
        Assert.True(answer.Refused);
        Assert.Equal(OutboundPolicy.Refused, answer.Error);
        Assert.True(resolver.Questions >= 2);
        Assert.Equal(0, called);
    }

    [Fact]
    public async Task An_allow_listed_network_is_called_through_the_checked_address()
    {
        var called = 0;
        await using var inside = await StartAsync(() => Interlocked.Increment(ref called));
        var settings = new OutboundSettings { AllowedTargets = ["127.0.0.0/8"] };
        using var http = new OutboundHttp(new OutboundPolicy(settings, new FixedResolver(IPAddress.Loopback)), settings);

        var answer = await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, $"http://crm.example.com:{inside.Port}/hook"), Cancel);

        Assert.Equal(200, answer.StatusCode);
        Assert.Equal(1, called);
    }

    [Fact]
    public async Task An_allow_listed_host_name_is_called()
    {
        var called = 0;
        await using var inside = await StartAsync(() => Interlocked.Increment(ref called));
        var settings = new OutboundSettings { AllowedTargets = ["crm.internal"] };
        using var http = new OutboundHttp(new OutboundPolicy(settings, new FixedResolver(IPAddress.Loopback)), settings);

        Assert.Equal(200, (await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, $"http://crm.internal:{inside.Port}/hook"), Cancel)).StatusCode);
        Assert.True((await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, $"http://other.internal:{inside.Port}/hook"), Cancel)).Refused);
        Assert.Equal(1, called);
    }

    /// <summary>SocketsHttpConnectionContext has no public constructor: one is made by reflection for the callback alone.</summary>
    private sealed class SocketsHttpConnectionContextProbe(string host, int port)
    {
        public SocketsHttpConnectionContext Value { get; } = (SocketsHttpConnectionContext)Activator.CreateInstance(
            typeof(SocketsHttpConnectionContext), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance, null,
            [new DnsEndPoint(host, port), new HttpRequestMessage(HttpMethod.Post, $"http://{host}:{port}/")], null)!;
    }

    private sealed class Inside(WebApplication app) : IAsyncDisposable
    {
        public int Port => new Uri(app.Urls.First()).Port;

        public ValueTask DisposeAsync() => app.DisposeAsync();
    }

    private static async Task<Inside> StartAsync(Action onCall)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapPost("/hook", () => { onCall(); return Results.Ok(); });
        await app.StartAsync(Cancel);
        return new Inside(app);
    }
}
