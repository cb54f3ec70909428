using System.Text.Json;

namespace Funnels.Messaging.Sending;

/// <summary>What a send does about an answer of the Graph API.</summary>
public enum GraphErrorKind
{
    /// <summary>Meta asks us to slow down: the send is rescheduled with back-off and jitter (not a failure).</summary>
    Throttled,

    /// <summary>Meta (or the way to it) is unwell: Wolverine's retry schedule, then the dead letters.</summary>
    Transient,

    /// <summary>This message can never be sent as it is: it fails at once, with Meta's code, title and details.</summary>
    Permanent,

    /// <summary>The channel's token is invalid, expired or lacks a permission: the channel's sending pauses, its messages stay queued.</summary>
    TokenInvalid,
}

/// <summary>Meta's error body: <c>{"error": {"message", "type", "code", "error_subcode", "error_data": {"messaging_product", "details"}, "fbtrace_id"}}</c>.</summary>
public sealed record GraphError(int? Code, int? Subcode, string? Message, string? Type, string? Details, string? TraceId)
{
    /// <summary>The error of an answer's body, or null when it carries none (an HTML error page, nothing, not JSON).</summary>
    public static GraphError? Parse(string? body)
    {
        if (string.IsNullOrWhiteSpace(body)) return null;
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.Object)
            {
                return null;
            }
            var details = error.TryGetProperty("error_data", out var data) && data.ValueKind == JsonValueKind.Object ? Str(data, "details") : null;
            return new GraphError(Int(error, "code"), Int(error, "error_subcode"), Str(error, "message"), Str(error, "type"), details, Str(error, "fbtrace_id"));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>What a person reads on the run page: "(#131026) Message undeliverable: details".</summary>
    public string Describe() =>
        $"{(Code is { } code ? $"Meta error {code}" : "Meta error")}{(Subcode is { } sub ? $"/{sub}" : "")}: {Message ?? "no message"}{(Details is { } d ? $" ({d})" : "")}";

    private static string? Str(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    // Meta sends numbers; some proxies in front of it send them as strings.
    private static int? Int(JsonElement parent, string name) =>
        !parent.TryGetProperty(name, out var v) ? null
        : v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var n) ? n
        : v.ValueKind == JsonValueKind.String && int.TryParse(v.GetString(), out var s) ? s
        : null;
}

/// <summary>
/// The one table of Meta's error codes (developers.facebook.com, WhatsApp Cloud API "Error codes"):
/// what a send does is decided on <c>error.code</c>, never on the HTTP status, as Meta asks (its
/// throttling codes come with HTTP 400). The HTTP status only decides for codes this table does not
/// know: 5xx or no answer is transient, anything else permanent (a refusal we do not understand is
/// shown with Meta's code on the run page rather than retried blindly). docs/whatsapp-and-flows.md
/// ("Graph API errors") lists the same table.
/// </summary>
public static class GraphErrorCodes
{
    public sealed record Entry(GraphErrorKind Kind, string Title, string Why);

    public static readonly IReadOnlyDictionary<int, Entry> Table = new Dictionary<int, Entry>
    {
        // Throttling (HTTP 400): back off and retry.
        [4] = new(GraphErrorKind.Throttled, "API Too Many Calls", "the app's call rate limit"),
        [80007] = new(GraphErrorKind.Throttled, "Rate limit issues", "the WhatsApp Business account's rate limit"),
        [130429] = new(GraphErrorKind.Throttled, "Rate limit hit", "the number's throughput (messages per second)"),
        [131048] = new(GraphErrorKind.Throttled, "Spam rate limit hit", "quality-based limit on the number; sending slower lets it recover"),
        [131056] = new(GraphErrorKind.Throttled, "(Business Account, Consumer Account) pair rate limit hit", "too many messages to this one recipient: only its sends wait"),
        [133016] = new(GraphErrorKind.Throttled, "Account register deregister rate limit exceeded", "registration attempts of the number"),

        // Meta's side is unwell: retry on the durable schedule, then dead-letter.
        [1] = new(GraphErrorKind.Transient, "API Unknown", "possible server error at Meta"),
        [2] = new(GraphErrorKind.Transient, "API Service", "temporary downtime or overload at Meta"),
        [131000] = new(GraphErrorKind.Transient, "Something went wrong", "unknown error at Meta; Meta suggests trying again"),
        [131016] = new(GraphErrorKind.Transient, "Service unavailable", "Meta's service is temporarily unavailable"),
        [131057] = new(GraphErrorKind.Transient, "Account in maintenance mode", "the business account is being upgraded, for minutes"),
        [133004] = new(GraphErrorKind.Transient, "Server temporarily unavailable", "Meta's server is temporarily unavailable"),

        // The token: pause the channel's sending (every queued message would fail the same way).
        [0] = new(GraphErrorKind.TokenInvalid, "AuthException", "the access token could not be authenticated"),
        [190] = new(GraphErrorKind.TokenInvalid, "Access token has expired", "the access token is invalid or expired"),
        [10] = new(GraphErrorKind.TokenInvalid, "Permission denied", "the token lacks a permission (whatsapp_business_messaging) or it was revoked"),

        // This message, as it is, can never be sent: fail it (and its run) at once.
        [3] = new(GraphErrorKind.Permanent, "API Method", "the app lacks the capability for this call"),
        [33] = new(GraphErrorKind.Permanent, "Parameter value is not valid", "the phone-number id is wrong or was deleted"),
        [100] = new(GraphErrorKind.Permanent, "Invalid parameter", "the request has a wrong or unsupported parameter"),
        [368] = new(GraphErrorKind.Permanent, "Temporarily blocked for policies violations", "the number is blocked for a policy violation"),
        [130472] = new(GraphErrorKind.Permanent, "User's number is part of an experiment", "Meta does not deliver marketing messages to this user now"),
        [130497] = new(GraphErrorKind.Permanent, "Business account is restricted from messaging users in this country", "the recipient's country"),
        [131005] = new(GraphErrorKind.Permanent, "Access denied", "permission not granted or revoked for this call"),
        [131008] = new(GraphErrorKind.Permanent, "Required parameter is missing", "the message body lacks a required field"),
        [131009] = new(GraphErrorKind.Permanent, "Parameter value is not valid", "a value of the message body is not valid"),
        [131021] = new(GraphErrorKind.Permanent, "Recipient cannot be sender", "the message was addressed to the sending number"),
        [131026] = new(GraphErrorKind.Permanent, "Message undeliverable", "the recipient is not on WhatsApp, has not accepted the terms, or runs an old version"),
        [131031] = new(GraphErrorKind.Permanent, "Account has been locked", "the business account is locked (policy or two-step PIN)"),
        [131037] = new(GraphErrorKind.Permanent, "WhatsApp provided number needs display name approval", "the display name is not approved yet"),
        [131042] = new(GraphErrorKind.Permanent, "Business eligibility payment issue", "the account's payment method"),
        [131045] = new(GraphErrorKind.Permanent, "Incorrect certificate", "the number's registration certificate"),
        [131047] = new(GraphErrorKind.Permanent, "Re-engagement message", "more than 24 hours since the user last wrote: only a template may be sent"),
        [131049] = new(GraphErrorKind.Permanent, "Meta chose not to deliver", "kept from the user for ecosystem health (marketing limits)"),
        [131050] = new(GraphErrorKind.Permanent, "User stopped marketing messages", "the recipient opted out of marketing messages"),
        [131051] = new(GraphErrorKind.Permanent, "Unsupported message type", "the message type is not supported"),
        [131052] = new(GraphErrorKind.Permanent, "Media download error", "the user's media could not be downloaded"),
        [131053] = new(GraphErrorKind.Permanent, "Media upload error", "the media link could not be fetched or is of an unsupported type"),
    };

    /// <summary>Template errors: 132000 parameter count mismatch, 132001 does not exist, 132005 too long, 132007 policy, 132012 parameter format, 132015 paused, 132016 disabled, 132068/132069 flows.</summary>
    private static readonly Entry TemplateError = new(GraphErrorKind.Permanent, "Template error", "the template (name, language, parameters, status) does not fit; fix it in WhatsApp Manager or the flow");

    private static readonly Entry PermissionError = new(GraphErrorKind.TokenInvalid, "API Permission", "the token lacks a permission or it was revoked");

    /// <summary>The table's entry for a code, ranges included (132xxx templates, 200-299 permissions); null when unknown.</summary>
    public static Entry? Lookup(int code) =>
        Table.TryGetValue(code, out var entry) ? entry
        : code is >= 132000 and < 133000 ? TemplateError
        : code is >= 200 and < 300 ? PermissionError
        : null;

    /// <summary>
    /// The kind of an answer that was not a success. <paramref name="httpStatus"/> null: no answer (timeout, connection refused).
    /// Only for codes the table does not know: 5xx or no answer is transient, 429 throttled, anything else permanent.
    /// </summary>
    public static GraphErrorKind Classify(int? httpStatus, GraphError? error) =>
        error?.Code is { } code && Lookup(code) is { } entry ? entry.Kind
        : httpStatus is null or >= 500 ? GraphErrorKind.Transient
        : httpStatus == 429 ? GraphErrorKind.Throttled
        : GraphErrorKind.Permanent;

    /// <summary>The metric/log tag of a kind.</summary>
    public static string Tag(GraphErrorKind kind) => kind switch
    {
        GraphErrorKind.Throttled => "throttled",
        GraphErrorKind.Transient => "transient",
        GraphErrorKind.Permanent => "permanent",
        _ => "token_invalid",
    };
}
