using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Funnels.Tests.Messaging;

namespace Funnels.Tests.Faults;

/// <summary>What the generator needs to know of the test's world: real slugs, ids and secrets, so bodies get past the first checks.</summary>
public sealed record FuzzWorld(
    string Slug, Guid WorkspaceId, string CrmSecret, Guid CampaignId, Guid InfluencerId, string Currency,
    string MetaAppSecret, string MetaVerifyToken, string AdminEmail, string EditorToken, string ViewerToken,
    string? HubSpotSecret = null, string? PipedriveUser = null, string? PipedrivePassword = null, string? GenericAddress = null,
    Guid? KnownLeadId = null, string? KnownEmail = null, string? KnownVisitorId = null)
{
    /// <summary>Most requests name fresh people; one in three an existing lead, which a refused request must leave untouched.</summary>
    public (string Email, string VisitorId) Person(Random r, string email, string visitorId) =>
        KnownEmail is not null && KnownVisitorId is not null && r.Next(3) == 0 ? (KnownEmail, KnownVisitorId) : (email, visitorId);
}

/// <summary>One generated request; <see cref="Describe"/> prints it so a failure can be read and replayed.</summary>
public sealed record FuzzRequest(int Case, string Service, HttpMethod Method, string Path, byte[]? Body, string? ContentType,
    IReadOnlyList<KeyValuePair<string, string>> Headers, string Mutations, bool MustBeRejected, IReadOnlyList<Expect>? Expected = null)
{
    public HttpRequestMessage ToMessage()
    {
        var message = new HttpRequestMessage(Method, Path);
        if (Body is not null)
        {
            message.Content = new ByteArrayContent(Body);
            message.Content.Headers.Remove("Content-Type");
            if (ContentType is not null) message.Content.Headers.TryAddWithoutValidation("Content-Type", ContentType);
        }
        foreach (var (name, value) in Headers) message.Headers.TryAddWithoutValidation(name, value);
        return message;
    }

    public string Describe()
    {
        var body = Body is null ? "(none)" : Body.Length > 600
            ? $"{Body.Length} bytes, starting {Printable(Body.AsSpan(0, 600))}…"
            : $"{Body.Length} bytes: {Printable(Body)}";
        var headers = string.Join("; ", Headers.Select(h => $"{h.Key}: {Clip(h.Value)}"));
        return $"case {Case} [{Mutations}] expects {(Expected is { Count: > 0 } e ? string.Join(" or ", e) : "any 4xx")} {Method} {Clip(Path)} content-type={ContentType ?? "(none)"} headers={{{headers}}} body={body}";
    }

    private static string Clip(string text) => text.Length > 200 ? text[..200] + $"…({text.Length} chars)" : text;

    /// <summary>Valid UTF-8 as text; anything else as base64, so the exact bytes can be replayed.</summary>
    private static string Printable(ReadOnlySpan<byte> bytes) =>
        System.Text.Unicode.Utf8.IsValid(bytes) ? Encoding.UTF8.GetString(bytes) : "base64:" + Convert.ToBase64String(bytes);
}

/// <summary>
/// Deterministic generator of broken requests for every public endpoint. Case n of seed s is
/// always the same request (its own Random), so one case replays alone (FUZZ_SEED, FUZZ_CASE).
/// Each body starts from a valid one, then gets at least one mutation that must make the endpoint
/// refuse it (a missing or mistyped field, an unknown slug or id, a bad signature, invalid JSON
/// or UTF-8, too deep, too large ...), plus optional noise that must not matter (unknown fields,
/// a duplicated key, another content type). So every POST must answer 4xx and write nothing.
/// </summary>
public sealed class FuzzBodies(FuzzWorld world, int seed)
{
    private const string InvalidUtf8Marker = "__INVALID_UTF8__";

    private delegate FuzzRequest Generator(Random random, int n);

    private (int Weight, Generator Make)[] Endpoints => [
        (20, Events), (12, MetaDelivery), (3, MetaVerification), (12, Collect), (8, Identify), (12, CrmWebhook),
        (6, HubSpotWebhook), (6, PipedriveWebhook), (4, GenericCrmWebhook),
        (9, Impression), (10, Conversion), (4, Refund), (4, SignIn), (3, LeadRead), (3, Script),
        (5, ImpressionAliased), (5, ConversionAliased)];

    public FuzzRequest Make(int n)
    {
        // Not HashCode.Combine: its seed changes with every process, and a case must replay.
        var random = new Random(unchecked(seed * 1_000_003 + n));
        var endpoints = Endpoints;
        var pick = random.Next(endpoints.Sum(e => e.Weight));
        foreach (var (weight, make) in endpoints)
        {
            if (pick < weight) return make(random, n);
            pick -= weight;
        }
        throw new InvalidOperationException("unreachable");
    }

    // ---- Runtime.Api

    private FuzzRequest Events(Random r, int n)
    {
        var (email, visitor) = world.Person(r, $"fuzz{r.Next()}@example.com", RandomVisitorId(r));
        var body = new JsonObject
        {
            ["publication_slug"] = world.Slug,
            ["event_type"] = "FORM_SUBMIT",
            ["payload"] = new JsonObject
            {
                ["page_id"] = "signup",
                ["visitor_id"] = visitor,
                ["form_data"] = new JsonObject { ["email"] = email, ["name"] = "Ana", ["plan"] = "basic", ["accept"] = true },
            },
        };
        var fields = new[]
        {
            Field.Text("publication_slug", 63, required: true, unknown: () => "no-such-" + r.Next()),
            Field.Enum("event_type", required: true, "form_submit", "HOVER", "PAGE VIEW", ""),
            Field.Object("payload", required: true),
            Field.Text("payload.page_id", 64, required: true, unknown: () => "nowhere-" + r.Next()),
            Field.Text("payload.visitor_id", 128, required: false),
            Field.Object("payload.form_data", required: true),
            Field.Text("payload.form_data.email", 320, required: true, invalid: ["not-an-email", "a@", "@b.co", "a b@c.de"]),
            Field.Text("payload.form_data.name", 20, required: false),
            Field.Text("payload.form_data.plan", 10, required: false, invalid: ["gold", "PRO", "basic "]),
            Field.Checked("payload.form_data.accept"),
            Field.Nested("payload.form_data.extra"),
            Field.Timestamp("payload.form_started_at"),
        };
        var path = r.Next(2) == 0 ? "/api/runtime/events" : "/api/runtime/events/";
        var headers = new List<KeyValuePair<string, string>>();
        var key = r.Next(5) == 0 ? RandomToken(r, r.Next(1, 400)) : null;
        if (key is not null) headers.Add(new("Idempotency-Key", key));
        if (r.Next(8) == 0) headers.Add(new("Origin", "https://" + RandomToken(r, 12) + ".example"));
        var request = JsonRequest(r, n, "runtime", path, body, fields, maxBytes: 64 * 1024, headers);
        // A key over 200 characters is one more field to name (the header's).
        return key is { Length: > 200 } ? request with { Expected = [.. request.Expected!, new(400, "Idempotency-Key")] } : request;
    }

    private FuzzRequest MetaDelivery(Random r, int n)
    {
        var body = JsonNode.Parse(WhatsAppKit.DeliveryTo("1" + r.NextInt64(10_000_000_000, 99_999_999_999),
            ("57" + r.NextInt64(3_000_000_000, 3_999_999_999), WhatsAppKit.Text(RandomText(r, r.Next(1, 60)), "wamid.fuzz-" + r.Next()))))!.AsObject();
        // Any well-formed, correctly signed JSON is a delivery Meta may send: it is kept. So a
        // signed body is only broken at the JSON level; field mutations go out with a bad signature.
        var structural = r.Next(3) == 0;
        var mutations = new Mutations();
        byte[] bytes;
        if (structural)
        {
            bytes = StructuralBreak(r, Serialize(r, body, mutations), mutations, maxBytes: 3 * 1024 * 1024, minDepth: 65); // WhatsApp:MaxBodyBytes (3 MiB)
        }
        else
        {
            MutateSomething(r, body, mutations, MetaFields);
            bytes = Serialize(r, body, mutations);
        }
        var signature = structural && r.Next(4) != 0 ? Sign(world.MetaAppSecret, bytes, mutations) : BadSignature(r, bytes, mutations);
        var headers = new List<KeyValuePair<string, string>>();
        if (signature is not null) headers.Add(new("X-Hub-Signature-256", signature));
        return new FuzzRequest(n, "runtime", HttpMethod.Post, r.Next(2) == 0 ? "/webhooks/meta" : "/webhooks/meta/", bytes,
            ContentType(r, mutations), headers, string.Join(", ", mutations), MustBeRejected: true, Expected: mutations.Expected);
    }

    private static readonly Field[] MetaFields =
    [
        Field.Enum("object", required: true, "instagram", ""),
        Field.Object("entry", required: true),
        Field.Text("entry.0.id", 64, required: true),
    ];

    private FuzzRequest MetaVerification(Random r, int n)
    {
        var mode = r.Next(3) == 0 ? "subscribe" : RandomText(r, r.Next(0, 20));
        var token = r.Next(3) == 0 ? world.MetaVerifyToken : RandomText(r, r.Next(0, 80));
        var challenge = RandomText(r, r.Next(0, r.Next(4) == 0 ? 5000 : 40));
        var query = new List<string>();
        if (r.Next(5) != 0) query.Add("hub.mode=" + Uri.EscapeDataString(mode));
        if (r.Next(5) != 0) query.Add("hub.verify_token=" + Uri.EscapeDataString(token));
        if (r.Next(5) != 0) query.Add("hub.challenge=" + Uri.EscapeDataString(challenge));
        if (r.Next(4) == 0) query.Add("hub.mode=" + Uri.EscapeDataString(RandomText(r, 5))); // a repeated parameter
        return new FuzzRequest(n, "runtime", HttpMethod.Get, "/webhooks/meta?" + string.Join('&', query), null, null, [],
            $"verification mode={Clip(mode)} token={(token == world.MetaVerifyToken ? "right" : "wrong")}", MustBeRejected: false);
    }

    private FuzzRequest SignIn(Random r, int n)
    {
        var body = new JsonObject { ["email"] = world.AdminEmail, ["password"] = "wrong-" + RandomText(r, 12) };
        if (r.Next(4) == 0) body["api_key"] = "fk_" + RandomText(r, 30);
        var fields = new[]
        {
            Field.Text("email", 320, required: true), Field.Text("password", 200, required: true),
            Field.Guid("workspace_id", required: false), Field.Text("api_key", 200, required: false),
        };
        // The password is wrong, so even an unbroken body is refused (401).
        var request = JsonRequest(r, n, "runtime", "/api/runtime/auth/token", body, fields, maxBytes: 64 * 1024, [], signIn: true);
        return request with { Expected = [.. request.Expected!, new(401)] };
    }

    /// <summary>
    /// The lead reads: the admin read without an admin token (401) and the state read with no,
    /// a malformed, a random or a forged lead token, in the header or the query (401), for an unknown
    /// or malformed id (404).
    /// </summary>
    private FuzzRequest LeadRead(Random r, int n)
    {
        var id = r.Next(4) switch
        {
            0 => RandomGuid(r).ToString(), 1 => Uri.EscapeDataString(RandomText(r, r.Next(1, 300))), 2 => RandomGuid(r).ToString("N"),
            _ => (world.KnownLeadId ?? RandomGuid(r)).ToString(),
        };
        var headers = new List<KeyValuePair<string, string>>();
        if (r.Next(4) == 0) headers.Add(new("Origin", "https://" + RandomToken(r, 12) + ".example"));
        if (r.Next(2) == 0)
        {
            if (r.Next(3) == 0) headers.Add(new("Authorization", "Bearer " + RandomToken(r, r.Next(1, 200))));
            return new FuzzRequest(n, "runtime", HttpMethod.Get, $"/api/runtime/leads/{id}{(r.Next(2) == 0 ? "/" : "")}", null, null, headers,
                "admin lead read without an admin token", MustBeRejected: true, Expected: Guid.TryParse(Uri.UnescapeDataString(id), out _) ? [new(401)] : [new(401), new(404)]);
        }
        var token = r.Next(4) switch
        {
            0 => "",
            1 => RandomText(r, r.Next(1, 300)),
            2 => Convert.ToBase64String(RandomBytes(r, r.Next(1, 120))).TrimEnd('=').Replace('+', '-').Replace('/', '_'),
            _ => Convert.ToBase64String([1, .. RandomBytes(r, 56)]).TrimEnd('=').Replace('+', '-').Replace('/', '_'), // the right shape, a forged signature
        };
        var path = $"/api/runtime/leads/{id}/state";
        if (r.Next(2) == 0) headers.Add(new("Authorization", "Bearer " + (token.All(c => c is > ' ' and < (char)127) ? token : RandomToken(r, token.Length))));
        else path += "?lead_token=" + Uri.EscapeDataString(token);
        // A lead token is checked against the id it names: any id, known or not, is refused 401; one that is no id at all is not found.
        return new FuzzRequest(n, "runtime", HttpMethod.Get, path, null, null, headers, "lead state read without a valid lead token", MustBeRejected: true,
            Expected: Guid.TryParse(Uri.UnescapeDataString(id), out _) ? [new(401)] : [new(401), new(404)]);
    }

    // ---- Tracking.Api

    private FuzzRequest Collect(Random r, int n)
    {
        var body = new JsonObject
        {
            ["workspace_id"] = world.WorkspaceId.ToString(),
            ["visitor_id"] = world.Person(r, "", RandomVisitorId(r)).VisitorId,
            ["session_id"] = "s-" + r.Next(),
            ["session"] = new JsonObject { ["utm_source"] = "instagram", ["ref"] = "ana", ["campaign_id"] = r.Next(2) == 0 ? world.CampaignId.ToString() : "cmp-" + r.Next() },
            ["events"] = new JsonArray(new JsonObject { ["id"] = "e-" + r.Next(), ["type"] = "page_view", ["url"] = "https://shop.example/", ["occurred_at"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() }),
        };
        var fields = new[]
        {
            Field.Guid("workspace_id", required: true), Field.Id("visitor_id", required: true), Field.Id("session_id", required: true),
            Field.Object("session", required: false),
            Field.Text("session.landing_url", 2048, required: false), Field.Text("session.utm_source", 256, required: false),
            Field.Text("session.ref", 128, required: false), LinkReference("session.campaign_id"),
            LinkReference("session.influencer_id"),
            Field.EventList("events", 100),
            Field.Enum("events.0.type", required: true, "PAGE_VIEW", "click", ""), Field.Text("events.0.url", 2048, required: true),
            Field.Id("events.0.id", required: false), Field.Text("events.0.title", 512, required: false),
            Field.Object("events.0.properties", required: false), Field.Timestamp("events.0.occurred_at"),
        };
        var request = JsonRequest(r, n, "tracking", "/api/tracking/collect", body, fields, maxBytes: 256 * 1024, []);
        // Without events the body is one event (collect takes one or a batch): its missing type is named.
        return request.Mutations.Contains("events missing") || request.Mutations.Contains("events null") ? request with { Expected = [.. request.Expected!, new(400, "type")] } : request;
    }

    private FuzzRequest Identify(Random r, int n)
    {
        var body = new JsonObject { ["workspace_id"] = world.WorkspaceId.ToString(), ["visitor_id"] = world.Person(r, "", RandomVisitorId(r)).VisitorId, ["contact_id"] = "c-" + r.Next() };
        var fields = new[] { Field.Guid("workspace_id", required: true), Field.Id("visitor_id", required: true), Field.Id("contact_id", required: true) };
        return JsonRequest(r, n, "tracking", "/api/tracking/identify", body, fields, maxBytes: 8 * 1024, []);
    }

    private FuzzRequest CrmWebhook(Random r, int n)
    {
        var body = new JsonObject
        {
            ["contact_id"] = "c-" + r.Next(), ["email"] = $"crm{r.Next()}@example.com", ["phone"] = "+573001112233",
            ["customData"] = new JsonObject { ["fid_vid"] = RandomVisitorId(r) },
        };
        var fields = new[]
        {
            // A visitor id that is not one is no visitor id (the contact is kept): it no longer breaks the webhook.
            Field.Id("contact_id", required: true), Field.Text("email", 320, required: false), Field.Text("phone", 32, required: false),
        };
        var mutations = new Mutations();
        var workspace = world.WorkspaceId.ToString();
        var authBroken = r.Next(3) == 0;
        byte[] bytes;
        if (r.Next(3) == 0)
        {
            bytes = StructuralBreak(r, Serialize(r, body, mutations), mutations, maxBytes: 64 * 1024, minDepth: 17);
        }
        else if (authBroken)
        {
            if (r.Next(2) == 0) MutateSomething(r, body, mutations, fields);
            bytes = Serialize(r, body, mutations);
        }
        else
        {
            MutateSomething(r, body, mutations, fields, mustBreak: true);
            bytes = Serialize(r, body, mutations);
        }
        // Without a contact id the body is no GoHighLevel delivery: the adapter names the body.
        if (mutations.Contains("contact_id missing") || mutations.Contains("contact_id null")) mutations.Expected.Add(new(400, "body"));
        var headers = new List<KeyValuePair<string, string>>();
        if (authBroken)
        {
            switch (r.Next(4))
            {
                case 0: workspace = RandomGuid(r).ToString(); mutations.Add("unknown workspace", 404); break;
                case 1: workspace = Uri.EscapeDataString(RandomText(r, r.Next(1, 60))); mutations.Add("workspace not a uuid", 404); break;
                case 2: headers.Add(new("X-Funnels-Token", RandomToken(r, r.Next(0, 80)))); mutations.Add("wrong token", 401); break;
                default: if (BadSignature(r, bytes, mutations) is { } bad) headers.Add(new("X-Funnels-Signature", bad)); break;
            }
        }
        else if (r.Next(3) == 0)
        {
            headers.Add(new("X-Funnels-Token", world.CrmSecret));
        }
        else
        {
            headers.Add(new("X-Funnels-Signature", "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(world.CrmSecret), bytes))));
        }
        return Sized(new FuzzRequest(n, "tracking", HttpMethod.Post, $"/api/tracking/webhooks/crm/{workspace}", bytes, ContentType(r, mutations), headers,
            string.Join(", ", mutations), MustBeRejected: true, Expected: mutations.Expected), maxBytes: 64 * 1024);
    }

    // HubSpot's webhook: a signed (v3) array of events; each case breaks an event's field, the signature or its timestamp.
    private FuzzRequest HubSpotWebhook(Random r, int n)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var events = new JsonArray(Enumerable.Range(0, r.Next(1, 4)).Select(i => (JsonNode?)new JsonObject
        {
            ["eventId"] = r.Next(), ["subscriptionId"] = 234567, ["portalId"] = 12345678, ["appId"] = 987654, ["occurredAt"] = now,
            ["subscriptionType"] = i == 0 ? "contact.creation" : "contact.propertyChange", ["attemptNumber"] = 0, ["objectId"] = r.NextInt64(1, long.MaxValue),
            ["propertyName"] = "fid_vid", ["propertyValue"] = RandomVisitorId(r), ["changeSource"] = "CRM_UI",
        }).ToArray());
        var fields = new[] { Field.PositiveInteger("objectId"), Field.RequiredString("subscriptionType") };
        var mutations = new Mutations();
        var authBroken = world.HubSpotSecret is null || r.Next(3) == 0;
        byte[] bytes;
        if (r.Next(4) == 0)
        {
            bytes = StructuralBreak(r, Encoding.UTF8.GetBytes(events.ToJsonString()), mutations, maxBytes: 64 * 1024, minDepth: 17);
        }
        else
        {
            var index = r.Next(events.Count);
            var before = mutations.Expected.Count;
            if (!authBroken || r.Next(2) == 0) MutateSomething(r, (JsonObject)events[index]!, mutations, fields, mustBreak: !authBroken);
            // The fields are the event's: named under its index in the array ([1].objectId).
            for (var i = before; i < mutations.Expected.Count; i++) mutations.Expected[i] = mutations.Expected[i] with { Field = $"{index}.{mutations.Expected[i].Field}" };
            bytes = Encoding.UTF8.GetBytes(events.ToJsonString());
        }
        var path = $"/api/tracking/crm/hubspot/{world.WorkspaceId}";
        var timestamp = now;
        var secret = world.HubSpotSecret ?? "no-secret";
        if (authBroken)
        {
            switch (r.Next(4))
            {
                case 0: secret = "another-app-secret"; mutations.Add("signed with another secret", 401); break;
                case 1: timestamp = now - 6 * 60_000 - r.Next(1, 1_000_000); mutations.Add("timestamp older than 5 minutes", 401); break;
                case 2: path = $"/api/tracking/crm/hubspot/{RandomGuid(r)}"; mutations.Add("unknown workspace", 404); break;
                default: secret = ""; mutations.Add("no signature", 401); break;
            }
        }
        var headers = new List<KeyValuePair<string, string>> { new("X-HubSpot-Request-Timestamp", timestamp.ToString()), new("X-HubSpot-Signature-Version", "v3") };
        if (secret.Length > 0)
        {
            var source = Encoding.UTF8.GetBytes("POST" + "http://localhost" + path).Concat(bytes).Concat(Encoding.UTF8.GetBytes(timestamp.ToString())).ToArray();
            headers.Add(new("X-HubSpot-Signature-v3", Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), source))));
        }
        return Sized(new FuzzRequest(n, "tracking", HttpMethod.Post, path, bytes, ContentType(r, mutations), headers, string.Join(", ", mutations), MustBeRejected: true, Expected: mutations.Expected), maxBytes: 64 * 1024);
    }

    // Pipedrive's webhooks v2 with basic auth; each case breaks meta, the person's id or the credentials.
    private FuzzRequest PipedriveWebhook(Random r, int n)
    {
        var id = r.Next(1, 1_000_000);
        var body = new JsonObject
        {
            ["data"] = new JsonObject
            {
                ["id"] = id, ["name"] = "Ana", ["emails"] = new JsonArray(new JsonObject { ["label"] = "work", ["value"] = $"pd{id}@example.com", ["primary"] = true }),
                ["phones"] = new JsonArray(new JsonObject { ["label"] = "mobile", ["value"] = "+16505551234", ["primary"] = true }),
                ["custom_fields"] = new JsonObject { ["fid_vid"] = new JsonObject { ["type"] = "varchar", ["value"] = RandomVisitorId(r) } },
            },
            ["previous"] = null,
            ["meta"] = new JsonObject { ["action"] = "create", ["entity"] = "person", ["entity_id"] = id.ToString(), ["version"] = "2.0", ["company_id"] = "12882925" },
        };
        var fields = new[] { Field.Object("meta", required: true), Field.Id("meta.entity_id", required: false) };
        var mutations = new Mutations();
        var authBroken = world.PipedrivePassword is null || r.Next(3) == 0;
        byte[] bytes;
        if (r.Next(4) == 0)
        {
            bytes = StructuralBreak(r, Serialize(r, body, mutations), mutations, maxBytes: 64 * 1024, minDepth: 17);
        }
        else
        {
            if (!authBroken || r.Next(2) == 0) MutateSomething(r, body, mutations, fields, mustBreak: !authBroken);
            bytes = Serialize(r, body, mutations);
        }
        // Without meta as an object, or with a contact id that is no id, the body is no Pipedrive delivery: the adapter names the body.
        if (mutations.Any(m => m.StartsWith("meta", StringComparison.Ordinal))) mutations.Expected.Add(new(400, "body"));
        var (user, password) = (world.PipedriveUser ?? "nobody", world.PipedrivePassword ?? "none");
        var headers = new List<KeyValuePair<string, string>>();
        if (authBroken)
        {
            switch (r.Next(3))
            {
                case 0: password = RandomToken(r, r.Next(1, 60)); mutations.Add("wrong password", 401); break;
                case 1: user = "someone-else"; mutations.Add("wrong user", 401); break;
                default: user = ""; mutations.Add("no basic auth", 401); break;
            }
        }
        if (user.Length > 0) headers.Add(new("Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"))));
        return Sized(new FuzzRequest(n, "tracking", HttpMethod.Post, $"/api/tracking/crm/pipedrive/{world.WorkspaceId}", bytes, ContentType(r, mutations), headers,
            string.Join(", ", mutations), MustBeRejected: true, Expected: mutations.Expected), maxBytes: 64 * 1024);
    }

    // The generic JSON adapter behind a URL token; each case breaks the contact id at its path, or the token.
    private FuzzRequest GenericCrmWebhook(Random r, int n)
    {
        var body = new JsonObject
        {
            ["record"] = new JsonObject
            {
                ["id"] = "rec-" + r.Next(), ["fields"] = new JsonObject { ["E-mail"] = $"g{r.Next()}@example.com", ["Visitor ID"] = RandomVisitorId(r) },
            },
        };
        var fields = new[] { Field.Id("record.id", required: true), Field.Object("record", required: true) };
        var mutations = new Mutations();
        var path = world.GenericAddress ?? "/api/tracking/crm/generic/crmt_" + new string('0', 64);
        if (world.GenericAddress is null || r.Next(3) == 0)
        {
            path = r.Next(2) == 0
                ? "/api/tracking/crm/generic/crmt_" + Convert.ToHexStringLower(RandomBytes(r, 32))
                : "/api/tracking/crm/generic/" + Uri.EscapeDataString(RandomText(r, r.Next(1, 80)));
            mutations.Add("unknown URL token", 401); // the URL token is the credential
            if (r.Next(2) == 0) MutateSomething(r, body, mutations, fields);
        }
        else
        {
            MutateSomething(r, body, mutations, fields, mustBreak: true);
        }
        // A record without an id, or an id that is no id (true, a number too long), is no contact: the adapter names the body.
        if (mutations.Any(m => m.StartsWith("record", StringComparison.Ordinal))) mutations.Expected.Add(new(400, "body"));
        var bytes = r.Next(4) == 0 ? StructuralBreak(r, Serialize(r, body, mutations), mutations, maxBytes: 64 * 1024, minDepth: 17) : Serialize(r, body, mutations);
        return Sized(new FuzzRequest(n, "tracking", HttpMethod.Post, path, bytes, ContentType(r, mutations), [], string.Join(", ", mutations), MustBeRejected: true, Expected: mutations.Expected), maxBytes: 64 * 1024);
    }

    private FuzzRequest Impression(Random r, int n)
    {
        var body = new JsonObject
        {
            ["id"] = "i-" + r.Next(), ["campaign_id"] = world.CampaignId.ToString(), ["influencer_id"] = world.InfluencerId.ToString(),
            ["user_id"] = "u-" + r.Next(), ["event_type"] = r.Next(2) == 0 ? "impression" : "click", ["user_agent"] = "Mozilla/5.0",
            ["ip_address"] = "203.0.113.7", ["referrer"] = "https://instagram.com/", ["timestamp"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        };
        var fields = new[]
        {
            Field.Id("id", required: true), Field.Guid("campaign_id", required: true, unknownBreaks: true), Field.Guid("influencer_id", required: true, unknownBreaks: true),
            Field.Enum("event_type", required: true, "view", "clicks"), Field.Text("user_id", 128, required: false),
            Field.Text("user_agent", 512, required: false), Field.Text("ip_address", 64, required: false), Field.Text("referrer", 2048, required: false),
            Field.Timestamp("timestamp"),
        };
        return Unattributable(JsonRequest(r, n, "tracking", "/api/tracking/impressions", body, fields, maxBytes: 16 * 1024, []));
    }

    private FuzzRequest Conversion(Random r, int n)
    {
        var body = new JsonObject
        {
            ["id"] = "o-" + r.Next(), ["campaign_id"] = world.CampaignId.ToString(), ["influencer_id"] = world.InfluencerId.ToString(),
            ["user_id"] = "u-" + r.Next(), ["conversion_type"] = "purchase", ["value"] = 150000.0, ["currency"] = world.Currency,
            ["timestamp"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        };
        var fields = new[]
        {
            Field.Id("id", required: true), Field.Guid("campaign_id", required: true, unknownBreaks: true), Field.Guid("influencer_id", required: true, unknownBreaks: true),
            Field.Text("conversion_type", 64, required: true), Field.Decimal("value"),
            Field.Enum("currency", required: true, world.Currency == "USD" ? "EUR" : "USD", "US", "USDX", "12A"),
            Field.Guid("workspace_id", required: false, unknownBreaks: true), Field.Timestamp("timestamp"),
        };
        return Unattributable(JsonRequest(r, n, "tracking", "/api/tracking/conversions", body, fields, maxBytes: 16 * 1024, []));
    }

    // Attribution clients' Spanish names (Tracking.Api's AttributionAliases), as those clients send them.
    private FuzzRequest ImpressionAliased(Random r, int n)
    {
        var body = new JsonObject
        {
            ["id"] = "imp-" + r.Next(), ["campaña_id"] = world.CampaignId.ToString(), ["influencer_id"] = world.InfluencerId.ToString(),
            ["usuario_id"] = "usr-" + r.Next(), ["tipo_evento"] = r.Next(2) == 0 ? "IMPRESION" : "CLICK", ["user_agent"] = "Mozilla/5.0",
            ["ip_address"] = "203.0.113.7", ["referrer"] = "https://instagram.com/", ["timestamp"] = DateTimeOffset.UtcNow.ToString("O"),
        };
        var fields = new[]
        {
            Field.Id("id", required: true), CampaignReference("campaña_id", r), Field.Guid("influencer_id", required: true, unknownBreaks: true),
            Field.Enum("tipo_evento", required: true, "VISTA", "impresiones", "clicks"), Field.Text("usuario_id", 128, required: false),
            Field.Conflicting("campaign_id", r => FuzzBodies.RandomGuid(r).ToString()), Field.Conflicting("event_type", r => r.Next(2) == 0 ? "impression" : "click"),
            Field.Conflicting("user_id", r => "other-" + r.Next()), Field.Timestamp("timestamp"),
        };
        return Unattributable(JsonRequest(r, n, "tracking", "/api/tracking/impressions", body, fields, maxBytes: 16 * 1024, []));
    }

    private FuzzRequest ConversionAliased(Random r, int n)
    {
        var body = new JsonObject
        {
            ["id"] = "conv-" + r.Next(), ["campaña_id"] = world.CampaignId.ToString(), ["influencer_id"] = world.InfluencerId.ToString(),
            ["usuario_id"] = "usr-" + r.Next(), ["tipo_conversion"] = "VENTA", ["valor"] = 150000.0, ["moneda"] = world.Currency,
            ["timestamp"] = DateTimeOffset.UtcNow.ToString("O"),
        };
        var fields = new[]
        {
            Field.Id("id", required: true), CampaignReference("campaña_id", r), Field.Guid("influencer_id", required: true, unknownBreaks: true),
            Field.Text("tipo_conversion", 64, required: true), Field.Decimal("valor"),
            Field.Enum("moneda", required: true, world.Currency == "USD" ? "EUR" : "USD", "US", "USDX", "12A"),
            Field.Conflicting("value", r => r.Next(1, 1000) + 0.5), Field.Conflicting("currency", _ => world.Currency == "USD" ? "EUR" : "USD"),
            Field.Conflicting("conversion_type", r => "OTRA-" + r.Next()), Field.Timestamp("timestamp"),
        };
        return Unattributable(JsonRequest(r, n, "tracking", "/api/tracking/conversions", body, fields, maxBytes: 16 * 1024, []));
    }

    /// <summary>
    /// An id that finds no campaign (or workspace) leaves the workspace unknown, so no attribution
    /// key can be checked: refused 401 whatever else is wrong (it tells nothing of what exists).
    /// </summary>
    private static FuzzRequest Unattributable(FuzzRequest request)
    {
        var expected = request.Expected!.ToList();
        // The fuzz sends no attribution key and the world's workspace requires one: a body that passes the field checks
        // (another currency than the campaign's is checked after the key) is refused 401 too.
        if (request.Mutations.Split(", ").Any(m => m.Split(' ')[0] is "campaign_id" or "campaña_id" or "influencer_id" or "workspace_id" or "currency" or "moneda")) expected.Add(new(401));
        // Our name set beside its alias, and the alias then removed, is no conflict: the body may pass the field checks.
        var touched = request.Mutations.Split(", ").Select(m => m.Split(' ')[0]).ToList();
        // Both references broken (blank or left out) read as "attribute from the visitor's session", which needs these two.
        if (touched.Intersect(["campaign_id", "campaña_id"]).Any() && touched.Contains("influencer_id"))
        {
            expected.AddRange([new(400, "workspace_id"), new(400, "visitor_id")]);
        }
        if (Canonical.Any(c => touched.Contains(c.Key) && touched.Contains(c.Value))) expected.Add(new(401));
        // A Spanish field the client left out (or got wrong) may be named by our name for it.
        expected.AddRange(expected.Where(e => e.Field is not null && Canonical.ContainsKey(e.Field)).Select(e => e with { Field = Canonical[e.Field!] }).ToList());
        return request with { Expected = expected };
    }

    // Tracking.Api's AttributionAliases, the other way round.
    private static readonly Dictionary<string, string> Canonical = new()
    {
        ["campaña_id"] = "campaign_id", ["usuario_id"] = "user_id", ["tipo_evento"] = "event_type",
        ["tipo_conversion"] = "conversion_type", ["valor"] = "value", ["moneda"] = "currency",
    };

    /// <summary>
    /// A t.js link parameter: a UUID or an external key. Only a malformed one is refused; a key no
    /// campaign has leaves the session without one (as an unknown UUID does), so it is no break.
    /// </summary>
    private static Field LinkReference(string path) =>
        Field.Text(path, 64, required: false, invalid: ["has space", "slash/ed", "-leading", "emoji😀"]);

    /// <summary>A campaign named by UUID or external key: a malformed one, or a key no campaign has.</summary>
    private static Field CampaignReference(string path, Random r) =>
        Field.Text(path, 64, required: true, invalid: ["has space", "slash/ed", "-leading", "emoji😀"], unknown: () => "cmp-no-such-" + r.Next());

    private FuzzRequest Refund(Random r, int n)
    {
        var id = r.Next(2) == 0 ? "o-" + r.Next() : Uri.EscapeDataString(RandomText(r, r.Next(1, 300)));
        var headers = new List<KeyValuePair<string, string>>();
        var (auth, what, status) = r.Next(4) switch
        {
            0 => ((string?)null, "no token", 401),
            1 => ("Bearer " + RandomToken(r, r.Next(0, 200)), "garbage token", 401),
            2 => ("Bearer " + world.ViewerToken, "viewer token", 403),
            _ => ("Bearer " + world.EditorToken, "unknown conversion", 404),
        };
        if (auth is not null) headers.Add(new("Authorization", auth));
        var body = r.Next(2) == 0 ? RandomBytes(r, r.Next(0, 200)) : null;
        return new FuzzRequest(n, "tracking", HttpMethod.Post, $"/api/tracking/conversions/{id}/refund", body, body is null ? null : "application/json",
            headers, what, MustBeRejected: true, Expected: [new(status)]);
    }

    private FuzzRequest Script(Random r, int n)
    {
        var query = string.Join('&', Enumerable.Range(0, r.Next(0, 5)).Select(_ => Uri.EscapeDataString(RandomText(r, r.Next(0, 20))) + "=" + Uri.EscapeDataString(RandomText(r, r.Next(0, 300)))));
        var headers = new List<KeyValuePair<string, string>>();
        if (r.Next(3) == 0) headers.Add(new("If-None-Match", r.Next(2) == 0 ? "*" : "\"" + RandomToken(r, r.Next(0, 40)) + "\""));
        return new FuzzRequest(n, "tracking", HttpMethod.Get, "/t.js?" + query, null, null, headers, "query parameters", MustBeRejected: false);
    }

    // ---- building blocks

    /// <summary>A body a field mutation made larger than the endpoint takes (a 60,000-character value) may be refused 413 first.</summary>
    private static FuzzRequest Sized(FuzzRequest request, int maxBytes) =>
        request.Body is { } body && body.Length > maxBytes ? request with { Expected = [.. request.Expected ?? [], new(413)] } : request;

    /// <summary>A JSON endpoint's body: broken at the JSON level, or a valid body with a field that must be refused.</summary>
    private FuzzRequest JsonRequest(Random r, int n, string service, string path, JsonObject body, Field[] fields, int maxBytes,
        List<KeyValuePair<string, string>> headers, bool signIn = false)
    {
        var mutations = new Mutations();
        byte[] bytes;
        if (r.Next(4) == 0)
        {
            bytes = StructuralBreak(r, Serialize(r, body, mutations), mutations, maxBytes, minDepth: 17);
        }
        else
        {
            MutateSomething(r, body, mutations, fields, mustBreak: !signIn);
            bytes = Serialize(r, body, mutations);
            if (bytes.Length > maxBytes) mutations.Add("over the size limit", 413);
        }
        return new FuzzRequest(n, service, HttpMethod.Post, path, bytes, ContentType(r, mutations, beacon: path is "/api/tracking/collect" or "/api/tracking/identify"), headers, string.Join(", ", mutations), MustBeRejected: true, Expected: mutations.Expected);
    }

    /// <summary>One (sometimes two) field mutations; with mustBreak, at least one that the endpoint must refuse.</summary>
    private static void MutateSomething(Random r, JsonObject body, Mutations mutations, Field[] fields, bool mustBreak = false)
    {
        var count = r.Next(4) == 0 ? 2 : 1;
        for (var i = 0; i < count; i++)
        {
            var field = fields[r.Next(fields.Length)];
            field.Break(r, body, mutations);
        }
        if (mustBreak && mutations.Count == 0)
        {
            fields[0].Break(r, body, mutations);
        }
    }

    /// <summary>Something wrong with the JSON itself: empty, not JSON, not an object, invalid UTF-8, too deep, too large.</summary>
    private static byte[] StructuralBreak(Random r, byte[] valid, Mutations mutations, int maxBytes, int minDepth)
    {
        switch (r.Next(9))
        {
            case 0:
                mutations.Add("empty body", 400);
                return [];
            case 1:
                mutations.Add("truncated JSON", 400);
                return valid[..r.Next(1, valid.Length - 1)];
            case 2:
                mutations.Add("random bytes", 400);
                return RandomBytes(r, r.Next(1, 300));
            case 3:
                var root = new[] { "[]", "[1,2]", "42", "\"text\"", "null", "true", "1e999", "{\"a\":}", "{'single':'quotes'}", "{\"a\":1,}", "NaN" }[r.Next(11)];
                mutations.Add("root " + root, 400);
                return Encoding.UTF8.GetBytes(root);
            case 4:
                var depth = r.Next(minDepth, 400);
                mutations.Add($"nested {depth} deep", 400);
                var open = r.Next(2) == 0 ? ("[", "]") : ("{\"a\":", "}");
                return Encoding.UTF8.GetBytes("{\"deep\":" + string.Concat(Enumerable.Repeat(open.Item1, depth)) + "1" + string.Concat(Enumerable.Repeat(open.Item2, depth)) + "}");
            case 5:
                var size = maxBytes + r.Next(1, 4096);
                mutations.Add($"{size} bytes", 413);
                var padding = new string('x', size);
                return Encoding.UTF8.GetBytes("{\"padding\":\"" + padding + "\"," + Encoding.UTF8.GetString(valid.AsSpan(1)));
            case 6:
                mutations.Add("utf-16 encoded", 400);
                return Encoding.Unicode.GetBytes(Encoding.UTF8.GetString(valid));
            default:
                // Invalid UTF-8 inside a string value (an extra field, so the rest would be valid).
                return InvalidUtf8(r, Encoding.UTF8.GetBytes("{\"zz_note\":\"" + InvalidUtf8Marker + "\"," + Encoding.UTF8.GetString(valid.AsSpan(1))), mutations);
        }
    }

    private static byte[] InvalidUtf8(Random r, byte[] bytes, Mutations mutations)
    {
        byte[][] sequences = [[0xFF], [0xC3, 0x28], [0xE2, 0x28, 0xA1], [0xED, 0xA0, 0x80], [0xF0, 0x28, 0x8C, 0xBC], [0xC0, 0xAF], [0x80]];
        var bad = sequences[r.Next(sequences.Length)];
        mutations.Add("invalid UTF-8 " + Convert.ToHexString(bad), 400);
        var marker = Encoding.UTF8.GetBytes(InvalidUtf8Marker);
        var at = bytes.AsSpan().IndexOf(marker);
        return [.. bytes[..at], .. bad, .. bytes[(at + marker.Length)..]];
    }

    /// <summary>Serializes by hand so noise can be added: unknown fields, a key written twice (with the same value, so either wins).</summary>
    private static byte[] Serialize(Random r, JsonObject body, Mutations mutations)
    {
        var properties = body.Select(p => (p.Key, Json: p.Value?.ToJsonString() ?? "null")).ToList();
        if (r.Next(3) == 0)
        {
            var extra = r.Next(1, 4);
            for (var i = 0; i < extra; i++) properties.Insert(r.Next(properties.Count + 1), ("zz_" + r.Next(1000), RandomValue(r, 0).ToJsonString()));
            mutations.Add("+unknown fields");
        }
        if (r.Next(5) == 0 && properties.Count > 0)
        {
            var duplicate = properties[r.Next(properties.Count)];
            properties.Insert(r.Next(properties.Count + 1), duplicate);
            mutations.Add("+duplicated " + duplicate.Key);
        }
        var separator = r.Next(4) == 0 ? " ,\n\t" : ",";
        var json = "{" + string.Join(separator, properties.Select(p => System.Text.Json.JsonSerializer.Serialize(p.Key) + ":" + p.Json)) + "}";
        return Encoding.UTF8.GetBytes(json);
    }

    private static string? ContentType(Random r, Mutations mutations, bool beacon = false)
    {
        // Mostly JSON, so most bodies reach the endpoint's own checks rather than the routing's 415.
        var type = r.Next(20) switch
        {
            < 13 => "application/json",
            < 15 => "text/plain",
            < 17 => null,
            17 => new[] { "application/x-www-form-urlencoded", "text/xml", "multipart/form-data; boundary=x", "application/octet-stream" }[r.Next(4)],
            18 => "application/json; charset=utf-16",
            _ => "@@" + RandomToken(r, 8),
        };
        // Only the beacon endpoints (collect, identify) take text/plain, sendBeacon's type, as JSON.
        if (type == "application/json; charset=utf-16")
        {
            // Routed as JSON; read as UTF-8 by hand (a field named) or as UTF-16 by model binding (the body refused).
            mutations.Add("+content-type " + type, 415);
            mutations.Expected.Add(new(400));
        }
        else if (type is not ("application/json" or "text/plain") || (type == "text/plain" && !beacon)) mutations.Add("+content-type " + (type ?? "none"), 415);
        return type;
    }

    private static string Sign(string secret, byte[] body, Mutations mutations)
    {
        mutations.Add("signed");
        return "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));
    }

    private static string? BadSignature(Random r, byte[] body, Mutations mutations)
    {
        var (value, what) = r.Next(6) switch
        {
            0 => ((string?)null, "no signature"),
            1 => ("sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData("another-secret"u8, body)), "signed with another secret"),
            2 => ("sha256=" + RandomToken(r, r.Next(0, 80)), "signature not hex"),
            3 => ("sha1=" + Convert.ToHexStringLower(SHA1.HashData(body)), "sha1 signature"),
            4 => ("sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData("another-secret"u8, body))[..r.Next(0, 63)], "truncated signature"),
            _ => (RandomToken(r, r.Next(0, 200)), "garbage signature"),
        };
        mutations.Add(what, 401);
        return value;
    }

    internal static JsonNode RandomValue(Random r, int depth) => r.Next(depth > 2 ? 7 : 9) switch
    {
        0 => JsonValue.Create(RandomText(r, r.Next(0, r.Next(10) == 0 ? 3000 : 30)))!,
        1 => JsonValue.Create(r.NextInt64(long.MinValue, long.MaxValue))!,
        2 => JsonNode.Parse(new[] { "1e308", "-1e308", "1e-400", "123456789012345678901234567890", "-0", "0.1", "1E+2" }[r.Next(7)])!,
        3 => JsonValue.Create(r.Next(2) == 0)!,
        4 => JsonValue.Create("\u0000\u001f\ud83d\ude00 \u202e \\ \" </script>")!,
        5 => JsonValue.Create(r.NextDouble() * 1e6)!,
        6 => JsonValue.Create("")!,
        7 => new JsonArray(Enumerable.Range(0, r.Next(0, 4)).Select(_ => (JsonNode?)RandomValue(r, depth + 1)).ToArray()),
        _ => new JsonObject(Enumerable.Range(0, r.Next(0, 4)).Select(i => KeyValuePair.Create("k" + i, (JsonNode?)RandomValue(r, depth + 1)))),
    };

    private static readonly string[] Letters = ["a", "b", "c", "X", "Y", "Z", "0", "1", "9", " ", "-", "_", ".", ":", "/", "?", "&", "=", "%", "#", "@", "!",
        "\"", "'", "\\", "<", ">", "{", "}", "[", "]", "ü", "ñ", "é", "中", "文", "😀", "\t", "\u202e"];

    internal static string RandomText(Random r, int length)
    {
        var builder = new StringBuilder(length);
        while (builder.Length < length) builder.Append(Letters[r.Next(Letters.Length)]);
        return builder.ToString();
    }

    /// <summary>Printable ASCII without CR/LF: what an HTTP header can carry.</summary>
    private static string RandomToken(Random r, int length) =>
        string.Concat(Enumerable.Range(0, length).Select(_ => (char)r.Next(33, 127)));

    internal static Guid RandomGuid(Random r) => new(RandomBytes(r, 16));

    /// <summary>A visitor id in t.js's format (a UUIDv7 in lower-case hex), from the case's own Random so it replays.</summary>
    internal static string RandomVisitorId(Random r)
    {
        var b = RandomBytes(r, 16);
        b[6] = (byte)((b[6] & 0x0f) | 0x70);
        b[8] = (byte)((b[8] & 0x3f) | 0x80);
        var hex = Convert.ToHexStringLower(b);
        return $"{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..]}";
    }

    private static byte[] RandomBytes(Random r, int length)
    {
        var bytes = new byte[length];
        r.NextBytes(bytes);
        return bytes;
    }

    private static string Clip(string text) => text.Length > 20 ? text[..20] + "…" : text;
}
