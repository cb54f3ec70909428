using Funnels.ServiceDefaults.Security;

namespace Funnels.Admin.Infrastructure;

/// <summary>
/// Every panel user's requests reach Runtime.Api from Admin.Web's own address, so Admin.Web forwards
/// the browser's address, signed with "Auth:ClientAddressKey" (ClientAddress): sign-in limits then
/// count each person, not the whole panel. Behind a reverse proxy, configure ASP.NET Core's
/// forwarded headers so RemoteIpAddress is the browser's.
/// </summary>
public sealed class ClientAddressHandler(IHttpContextAccessor http, IConfiguration configuration, TimeProvider time) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (configuration[ClientAddress.KeySetting] is { Length: >= 32 } key && http.HttpContext?.Connection.RemoteIpAddress is { } address)
        {
            request.Headers.Remove(ClientAddress.Header);
            request.Headers.TryAddWithoutValidation(ClientAddress.Header, ClientAddress.Sign(key, address.ToString(), time.GetUtcNow()));
        }
        return base.SendAsync(request, cancellationToken);
    }
}
