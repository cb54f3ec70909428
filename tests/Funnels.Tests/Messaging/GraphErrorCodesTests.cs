extern alias messaging;
using messaging::Funnels.Messaging.Sending;

namespace Funnels.Tests.Messaging;

/// <summary>The one table of Meta's error codes: decided on error.code, the HTTP status only for codes it does not know.</summary>
public sealed class GraphErrorCodesTests
{
    [Theory]
    [InlineData(4, GraphErrorKind.Throttled)]
    [InlineData(80007, GraphErrorKind.Throttled)]
    [InlineData(130429, GraphErrorKind.Throttled)]
    [InlineData(131048, GraphErrorKind.Throttled)]
    [InlineData(131056, GraphErrorKind.Throttled)]
    [InlineData(133016, GraphErrorKind.Throttled)]
    [InlineData(131000, GraphErrorKind.Transient)]
    [InlineData(131016, GraphErrorKind.Transient)]
    [InlineData(190, GraphErrorKind.TokenInvalid)]
    [InlineData(250, GraphErrorKind.TokenInvalid)]
    [InlineData(100, GraphErrorKind.Permanent)]
    [InlineData(131009, GraphErrorKind.Permanent)]
    [InlineData(131026, GraphErrorKind.Permanent)]
    [InlineData(131047, GraphErrorKind.Permanent)]
    [InlineData(132001, GraphErrorKind.Permanent)]
    [InlineData(132015, GraphErrorKind.Permanent)]
    public void Meta_codes_decide_whatever_the_HTTP_status(int code, GraphErrorKind kind)
    {
        var body = $$$"""{"error": {"message": "(#{{{code}}}) x", "type": "OAuthException", "code": {{{code}}}, "error_data": {"messaging_product": "whatsapp", "details": "d"}, "fbtrace_id": "A1"}}""";
        Assert.All(new int?[] { 400, 401, 403, 429, 500, 503 }, status => Assert.Equal(kind, GraphErrorCodes.Classify(status, GraphError.Parse(body))));
    }

    [Theory]
    [InlineData(400, GraphErrorKind.Permanent)]
    [InlineData(404, GraphErrorKind.Permanent)]
    [InlineData(429, GraphErrorKind.Throttled)]
    [InlineData(500, GraphErrorKind.Transient)]
    [InlineData(503, GraphErrorKind.Transient)]
    [InlineData(null, GraphErrorKind.Transient)]
    public void Unknown_codes_and_bodies_without_an_error_fall_back_on_the_HTTP_status(int? status, GraphErrorKind kind)
    {
        Assert.Equal(kind, GraphErrorCodes.Classify(status, GraphError.Parse("""{"error": {"message": "new", "type": "OAuthException", "code": 999999, "fbtrace_id": "A1"}}""")));
        Assert.Equal(kind, GraphErrorCodes.Classify(status, GraphError.Parse("<html>Bad gateway</html>")));
        Assert.Equal(kind, GraphErrorCodes.Classify(status, null));
    }

    [Fact]
    public void The_error_body_is_read_as_Meta_sends_it_and_as_proxies_relay_it()
    {
        var error = GraphError.Parse("""
            {"error": {"message": "(#131056) (Business Account, Consumer Account) pair rate limit hit", "type": "OAuthException", "code": 131056,
             "error_data": {"messaging_product": "whatsapp", "details": "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time."},
             "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"}}
            """)!;
        Assert.Equal((131056, (int?)null, "Az8or2yhqkZfEZ-_4Qn_Bam"), (error.Code!.Value, error.Subcode, error.TraceId));
        Assert.StartsWith("Meta error 131056: (#131056) (Business Account, Consumer Account) pair rate limit hit (Message failed to send", error.Describe());
        Assert.Equal(131056, GraphError.Parse("""{"error": {"code": "131056", "message": "relayed"}}""")!.Code);
        Assert.Equal(463, GraphError.Parse("""{"error": {"message": "Error validating access token", "type": "OAuthException", "code": 190, "error_subcode": 463}}""")!.Subcode);
    }
}
