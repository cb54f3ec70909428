using System.Diagnostics.Metrics;

namespace Funnels.Tracking.Collect;

/// <summary>Meter "Funnels.Tracking": link parameters t.js sent as external keys, and whether the workspace knew them.</summary>
public sealed class CollectMetrics
{
    public const string MeterName = "Funnels.Tracking";

    private readonly Counter<long> _keys;

    public CollectMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _keys = meter.CreateCounter<long>("funnels.collect.link_keys",
            description: "Campaign and influencer link parameters given as external keys, by kind (campaign, influencer) and outcome (resolved, unknown)");
    }

    public void Count(SessionWriter.Written written)
    {
        if (written.CampaignKeyFound is { } campaign) Add("campaign", campaign);
        if (written.InfluencerKeyFound is { } influencer) Add("influencer", influencer);
    }

    private void Add(string kind, bool found) =>
        _keys.Add(1, new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("outcome", found ? "resolved" : "unknown"));
}
