using System.Text.Json;
using Funnels.Tracking.Campaigns;
using Funnels.Tracking.Web;

namespace Funnels.Tracking.Collect;

/// <summary>
/// Link parameters the session arrived with (first touch): UTM, ref, campaign, influencer. The
/// campaign and the influencer are each named by our UUID (the Id) or by the workspace's external
/// key (the Key, such as cmp-123), never both; SessionWriter turns a key into the UUID.
/// </summary>
public sealed record SessionSource(
    string? LandingUrl, string? Referrer, string? UtmSource, string? UtmMedium, string? UtmCampaign, string? UtmTerm, string? UtmContent,
    string? Ref, Guid? CampaignId, Guid? InfluencerId, string? CampaignKey = null, string? InfluencerKey = null);

public sealed record TrackedEvent(string Id, string Type, string? Name, string? Url, string? Title, string? Referrer, string? Properties, DateTime OccurredAt);

/// <summary>One page view or custom event, or a batch of them, from one visitor's session.</summary>
public sealed record CollectRequest(Guid WorkspaceId, string VisitorId, string SessionId, SessionSource Source, IReadOnlyList<TrackedEvent> Events);

/// <summary>
/// The shape t.js posts: <c>{workspace_id, visitor_id, session_id, session: {...}, events: [...]}</c>,
/// or a single event with its fields (type, url, ...) at the top level instead of <c>events</c>.
/// </summary>
public static class CollectRequestParser
{
    public const int MaxEvents = 100;
    public const int MaxBodyBytes = 256 * 1024;

    public static (CollectRequest? Request, Dictionary<string, string[]> Errors) Parse(JsonElement root, DateTime now)
    {
        var errors = new Dictionary<string, string[]>();
        if (root.ValueKind != JsonValueKind.Object)
        {
            errors["body"] = ["must be a JSON object"];
            return (null, errors);
        }
        var top = new FieldReader(root, "", errors);
        var workspace = top.Guid("workspace_id", required: true);
        var visitor = top.VisitorId("visitor_id", "tracking-collect", required: true);
        var session = top.Id("session_id", required: true);

        var sourceElement = top.Raw("session");
        if (sourceElement.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null or JsonValueKind.Object))
        {
            errors["session"] = ["must be an object of link parameters"];
        }
        var s = new FieldReader(sourceElement, "session.", errors);
        var (campaignId, campaignKey) = Reference(s, "campaign_id");
        var (influencerId, influencerKey) = Reference(s, "influencer_id");
        var source = new SessionSource(
            s.Text("landing_url", maxLength: 2048), s.Text("referrer", maxLength: 2048),
            s.Text("utm_source"), s.Text("utm_medium"), s.Text("utm_campaign"), s.Text("utm_term"), s.Text("utm_content"),
            s.Text("ref", maxLength: 128), campaignId, influencerId, campaignKey, influencerKey);

        var events = new List<TrackedEvent>();
        var list = top.Raw("events");
        if (list.ValueKind == JsonValueKind.Array)
        {
            var count = list.GetArrayLength();
            if (count is 0 or > MaxEvents)
            {
                errors["events"] = [$"must hold 1 to {MaxEvents} events"];
            }
            else
            {
                var i = 0;
                foreach (var item in list.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.Object)
                    {
                        errors[$"events[{i}]"] = ["must be an object"];
                    }
                    else if (ReadEvent(new FieldReader(item, $"events[{i}].", errors), now) is { } e)
                    {
                        events.Add(e);
                    }
                    i++;
                }
            }
        }
        else if (list.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            if (ReadEvent(top, now) is { } single) events.Add(single);
        }
        else
        {
            errors["events"] = ["must be an array of events"];
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }
        return (new CollectRequest(workspace!.Value, visitor!, session!, source, events), errors);
    }

    /// <summary>A campaign or influencer link parameter: our UUID, or an external key (ExternalKeys' rule).</summary>
    private static (Guid? Id, string? Key) Reference(FieldReader s, string name)
    {
        var text = s.Text(name, maxLength: ExternalKeys.MaxLength);
        if (text is null) return (null, null);
        if (Guid.TryParse(text, out var id)) return (id, null);
        if (ExternalKeys.IsValid(text)) return (null, text);
        s.Fail(name, ExternalKeys.ReferenceRule);
        return (null, null);
    }

    private static TrackedEvent? ReadEvent(FieldReader e, DateTime now)
    {
        var before = e.Errors.Count;
        var type = e.Text("type", required: true, maxLength: 32);
        if (type is not null and not ("page_view" or "custom"))
        {
            e.Fail("type", "must be page_view or custom");
        }
        var name = e.Text("name", required: type == "custom", maxLength: 100);
        var id = e.Id("id");
        var url = e.Text("url", required: type == "page_view", maxLength: 2048);
        var title = e.Text("title", maxLength: 512);
        var referrer = e.Text("referrer", maxLength: 2048);
        var properties = e.Raw("properties");
        if (properties.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null or JsonValueKind.Object))
        {
            e.Fail("properties", "must be an object");
        }
        var occurredAt = e.Timestamp("occurred_at");
        if (e.Errors.Count > before)
        {
            return null;
        }
        // A browser's clock may be wrong: a time far from ours is replaced by the time we received it.
        var at = occurredAt is { } t && t > now.AddDays(-1) && t < now.AddMinutes(5) ? t : now;
        return new TrackedEvent(id ?? Guid.CreateVersion7().ToString(), type!, name, url, title, referrer,
            properties.ValueKind == JsonValueKind.Object ? properties.GetRawText() : null, at);
    }
}
