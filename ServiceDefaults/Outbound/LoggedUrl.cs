namespace Funnels.ServiceDefaults.Outbound;

/// <summary>
/// A user's URL as logs and exception messages may show it: scheme, host, port and path only.
/// Query strings and user info often carry credentials (`?token=…`), and logs go to places the
/// URL's owner never chose.
/// </summary>
public static class LoggedUrl
{
    public static string Of(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri)
            ? uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped) + (uri.Query.Length > 1 ? "?…" : "")
            : "(not a URL)";
}
