using Dapper;
using Funnels.Tracking.Linking;
using Npgsql;

namespace Funnels.Tracking.Collect;

/// <summary>
/// Writes a batch of one session's events and upserts the session. It takes the same
/// per-visitor lock as linking, so a session either exists before the link (and the link
/// updates it) or sees the link when it arrives (and is linked "on_arrival"): never neither.
/// </summary>
public static class SessionWriter
{
    /// <summary>What was written; CampaignKeyFound / InfluencerKeyFound are null when no external key was given.</summary>
    public sealed record Written(int Events, bool Linked, bool? CampaignKeyFound = null, bool? InfluencerKeyFound = null);

    public static async Task<Written> WriteAsync(NpgsqlTransaction transaction, CollectRequest request, DateTime now)
    {
        var connection = transaction.Connection!;
        await VisitorLock.AcquireAsync(transaction, request.WorkspaceId, request.VisitorId);

        var events = request.Events;
        var inserted = await connection.ExecuteAsync("""
            INSERT INTO tracking.events (workspace_id, id, session_id, visitor_id, type, name, url, title, referrer, properties, occurred_at)
            SELECT @workspace, e.id, @session, @visitor, e.type, e.name, e.url, e.title, e.referrer, e.properties::jsonb, e.occurred_at
            FROM unnest(@ids, @types, @names, @urls, @titles, @referrers, @properties, @times)
                AS e (id, type, name, url, title, referrer, properties, occurred_at)
            ON CONFLICT (workspace_id, id) DO NOTHING
            """, new
        {
            workspace = request.WorkspaceId, session = request.SessionId, visitor = request.VisitorId,
            ids = events.Select(e => e.Id).ToArray(), types = events.Select(e => e.Type).ToArray(),
            names = events.Select(e => e.Name).ToArray(), urls = events.Select(e => e.Url).ToArray(),
            titles = events.Select(e => e.Title).ToArray(), referrers = events.Select(e => e.Referrer).ToArray(),
            properties = events.Select(e => e.Properties).ToArray(), times = events.Select(e => e.OccurredAt).ToArray(),
        }, transaction);

        var link = await connection.QuerySingleOrDefaultAsync<string>(
            "SELECT contact_id FROM tracking.visitor_links WHERE workspace_id = @WorkspaceId AND visitor_id = @VisitorId", request, transaction);
        var s = request.Source;
        var firstPage = events.Where(e => e.Type == "page_view").MinBy(e => e.OccurredAt);
        // A link parameter given as an external key (cmp-123) is resolved in the session's workspace
        // inside this same statement: no extra round trip, and none at all when UUIDs are sent. A key
        // no campaign or influencer of the workspace has leaves the field empty, as an unknown UUID
        // leaves a session no conversion can be attributed from (named returns what was resolved).
        var named = await connection.QuerySingleAsync<Named>("""
            WITH named AS (
                SELECT CASE WHEN @CampaignKey::text IS NULL THEN @CampaignId::uuid
                            ELSE (SELECT id FROM tracking.campaigns WHERE workspace_id = @workspace AND external_key = @CampaignKey) END AS campaign_id,
                       CASE WHEN @InfluencerKey::text IS NULL THEN @InfluencerId::uuid
                            ELSE (SELECT id FROM tracking.influencers WHERE workspace_id = @workspace AND external_key = @InfluencerKey) END AS influencer_id
            ), upserted AS (
                INSERT INTO tracking.sessions (workspace_id, id, visitor_id, started_at, last_seen_at, landing_url, referrer,
                    utm_source, utm_medium, utm_campaign, utm_term, utm_content, ref, campaign_id, influencer_id, events,
                    contact_id, linked_at, link_method)
                VALUES (@workspace, @session, @visitor, @started, @lastSeen, @landing, @referrer,
                    @UtmSource, @UtmMedium, @UtmCampaign, @UtmTerm, @UtmContent, @Ref,
                    (SELECT campaign_id FROM named), (SELECT influencer_id FROM named), @inserted,
                    @link, CASE WHEN @link::text IS NULL THEN NULL ELSE @now END, CASE WHEN @link::text IS NULL THEN NULL ELSE 'on_arrival' END)
                ON CONFLICT (workspace_id, id) DO UPDATE SET
                    started_at = least(sessions.started_at, EXCLUDED.started_at),
                    last_seen_at = greatest(sessions.last_seen_at, EXCLUDED.last_seen_at),
                    events = sessions.events + EXCLUDED.events,
                    landing_url = coalesce(sessions.landing_url, EXCLUDED.landing_url),
                    campaign_id = coalesce(sessions.campaign_id, EXCLUDED.campaign_id),
                    influencer_id = coalesce(sessions.influencer_id, EXCLUDED.influencer_id)
                RETURNING 1
            )
            SELECT campaign_id, influencer_id, (SELECT count(*) FROM upserted) AS upserted FROM named
            """, new
        {
            workspace = request.WorkspaceId, session = request.SessionId, visitor = request.VisitorId,
            started = events.Min(e => e.OccurredAt), lastSeen = events.Max(e => e.OccurredAt),
            landing = s.LandingUrl ?? firstPage?.Url, referrer = s.Referrer ?? firstPage?.Referrer,
            s.UtmSource, s.UtmMedium, s.UtmCampaign, s.UtmTerm, s.UtmContent, s.Ref, s.CampaignId, s.InfluencerId, s.CampaignKey, s.InfluencerKey,
            inserted, link, now,
        }, transaction);
        return new Written(inserted, link is not null,
            s.CampaignKey is null ? null : named.CampaignId is not null, s.InfluencerKey is null ? null : named.InfluencerId is not null);
    }

    private sealed record Named(Guid? CampaignId, Guid? InfluencerId, long Upserted);
}
