using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Funnels.Tracking.Campaigns;

/// <summary>Meter "Funnels.Tracking": what became of attribution clients' impressions and conversions.</summary>
public sealed class AttributionMetrics
{
    public const string MeterName = "Funnels.Tracking";

    private readonly Counter<long> _requests;

    public AttributionMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _requests = meter.CreateCounter<long>("funnels.attribution.requests",
            description: "Impressions and conversions posted, by kind and outcome (recorded, repeat, after_end (a conversion also counted recorded, earning no commission), id_conflict, invalid, unauthorized, forbidden, refused)");
    }

    public void Outcome(string kind, string outcome) =>
        _requests.Add(1, new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>Counts a refusal by its status, and passes it on.</summary>
    public IResult Refused(string kind, IResult problem)
    {
        var status = problem is IStatusCodeHttpResult { StatusCode: { } code } ? code : 0;
        Outcome(kind, status switch { 400 => "invalid", 401 => "unauthorized", 403 => "forbidden", _ => "refused" });
        return problem;
    }
}
