extern alias runtime;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Funnels.ServiceDefaults.Security;
using Funnels.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Funnels.Tests.Security;

/// <summary>What the security tests share: signing in through the real API, and tokens of shapes we never issue.</summary>
public static class SecurityKit
{
    public const string Password = "member-password-0123";

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>Signs in through Runtime.Api and returns the token response.</summary>
    public static async Task<HttpResponseMessage> SignInAsync(HttpClient client, object credentials, string? forwardedFor = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/runtime/auth/token") { Content = JsonContent.Create(credentials, options: TestWorkspace.Json) };
        if (forwardedFor is not null)
        {
            request.Headers.Add(ClientAddress.Header, forwardedFor);
        }
        return await client.SendAsync(request, Cancel);
    }

    /// <summary>The header Admin.Web sends for a browser at <paramref name="address"/>, signed with the tests' key.</summary>
    public static string Forwarded(string address) =>
        ClientAddress.Sign(ServiceHost<runtime::Program>.ClientAddressKey, address, DateTimeOffset.UtcNow);

    public static string NewAddress() => $"10.{Random.Shared.Next(256)}.{Random.Shared.Next(256)}.{Random.Shared.Next(1, 255)}";

    public static async Task<string> TokenAsync(HttpResponseMessage response)
    {
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("access_token").GetString()!;
    }

    /// <summary>A member of <paramref name="workspace"/> with <paramref name="role"/>, signed in by password through the API: (user id, email, token).</summary>
    public static async Task<(Guid UserId, string Email, string Token)> MemberAsync(Hosts hosts, TestWorkspace workspace, string role)
    {
        var email = $"{role}-{Guid.NewGuid():N}@funnels.test";
        var invited = await workspace.Runtime.PutAsJsonAsync("/api/runtime/workspaces/current/members", new { email, role, password = Password }, Cancel);
        invited.EnsureSuccessStatusCode();
        var invitation = (await invited.Content.ReadFromJsonAsync<JsonElement>(Cancel)).TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetGuid() : (Guid?)null;
        using var client = hosts.Runtime.CreateClient();
        var signedIn = await SignInAsync(client, new { email, password = Password, workspace_id = invitation is null ? workspace.Id : (Guid?)null, invitation_id = invitation });
        var body = await signedIn.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>(Cancel);
        return (Guid.Parse(body.GetProperty("subject").GetString()!), email, body.GetProperty("access_token").GetString()!);
    }

    public static HttpClient WithToken(HttpClient client, string token)
    {
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>A token signed with the real key but with claims of our choosing: shapes sign-in never issues.</summary>
    public static string Forge(params (string Type, string Value)[] claims) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = "funnels",
        Audience = "funnels",
        Expires = DateTime.UtcNow.AddHours(1),
        Subject = new ClaimsIdentity(claims.Select(c => new Claim(c.Type, c.Value))),
        SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(ServiceHost<runtime::Program>.SigningKey)), SecurityAlgorithms.HmacSha256),
    });

    /// <summary>Polls a request until it answers <paramref name="expected"/>; returns how long that took.</summary>
    public static async Task<TimeSpan> UntilStatusAsync(Func<Task<HttpResponseMessage>> request, System.Net.HttpStatusCode expected, string what)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        await Eventually.Until(async () =>
        {
            using var response = await request();
            return response.StatusCode == expected ? (bool?)true : null;
        }, TimeSpan.FromSeconds(60), what);
        return started.Elapsed;
    }
}
