using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Dapper;
using Funnels.Messaging.Runs;
using Funnels.Messaging.Triggers;
using Npgsql;

namespace Funnels.Messaging.WhatsApp;

/// <summary>Where one new inbound message goes: a waiting run's reply, and/or triggers queued for flows to start.</summary>
public sealed record InboundRoute(ReplyReceived? Reply, IReadOnlyList<QueuedTrigger> Triggers);

/// <summary>
/// Routes an inbound message. Without a run of the contact waiting for a reply, it queues a
/// trigger for each active flow whose phrase it matches. With one, the waiting run's flow decides
/// (<c>trigger_interrupts_wait</c> in its definition, default true) what a message matching
/// another flow's trigger does: by default that trigger wins (the waiting run is cancelled, with
/// the other flow and phrase as its reason, and the other flow starts); with false, the message is
/// the waiting run's reply and nothing else starts. A message the waiting run expects (its
/// wait_for_reply pattern matches the text or the tapped id, or it is one of the choices of the
/// run's last interactive message, by id or title) is always its reply, as is one matching no
/// other flow's trigger or only the waiting run's own flow.
/// </summary>
public static class InboundRoutes
{
    public static async Task<InboundRoute?> RouteAsync(
        NpgsqlTransaction transaction, Guid workspace, Guid contact, InboundMessage inbound, string[] phrases, FlowMetrics metrics, ILogger logger)
    {
        var rows = await RecordAsync(transaction, workspace, contact, inbound, phrases);
        if (rows.FirstOrDefault(r => r.Kind == "inbound") is not { } recorded)
        {
            return null; // seen before: Meta delivered it again
        }
        var matches = rows.Where(r => r.Kind == "match").ToList();
        if (rows.FirstOrDefault(r => r.Kind == "waiting") is not { } waiting)
        {
            return new InboundRoute(null, await QueueAsync(transaction, contact, inbound, matches));
        }
        var reply = new ReplyReceived(waiting.Id, waiting.Number!.Value, recorded.Id, inbound.Text, inbound.Payload);
        if (matches.Count == 0 || Expected(waiting, inbound))
        {
            return new InboundRoute(reply, []);
        }
        var reason = $"interrupted: the message matched the trigger of flow {string.Join(", ", matches.Select(m => $"'{m.Name}' ({m.FlowId}, phrase '{m.Phrase}')"))}";
        if (!waiting.Interruptible!.Value)
        {
            metrics.TriggerHeldByWait();
            logger.LogInformation("Message {Wamid} matched the trigger of flow {FlowId} but is the reply of run {RunId}: its flow does not let triggers interrupt a wait",
                inbound.Wamid, matches[0].FlowId, waiting.Id);
            return new InboundRoute(reply, []);
        }
        var cancelled = await transaction.Connection!.ExecuteAsync("""
            UPDATE messaging.flow_runs SET status = 'cancelled', wait_kind = NULL, wait_until = NULL, error = @reason, updated_at = now(), finished_at = now()
            WHERE id = @Id AND status = 'waiting' AND wait_kind = 'reply' AND step = @Number
            """, new { waiting.Id, waiting.Number, reason }, transaction);
        if (cancelled == 1)
        {
            await transaction.Connection!.ExecuteAsync(RunStates.WithdrawQueuedSends, new { runId = waiting.Id }, transaction);
            // Its scheduled timeout, if any, then finds it cancelled and does nothing.
            metrics.WaitInterrupted();
            logger.LogInformation("Run {RunId} waiting for a reply cancelled: message {Wamid} matched the trigger of flow {FlowId}", waiting.Id, inbound.Wamid, matches[0].FlowId);
        }
        return new InboundRoute(null, await QueueAsync(transaction, contact, inbound, matches));
    }

    /// <summary>Whether the waiting run expects this message: its pattern matches, or it is one of the choices it last sent.</summary>
    private static bool Expected(Row waiting, InboundMessage inbound)
    {
        if (waiting.Pattern is { } pattern && (Matches(pattern, inbound.Text) || Matches(pattern, inbound.Payload)))
        {
            return true;
        }
        if (waiting.Choices is null) return false;
        var text = inbound.Text is null ? null : Phrases.Fold(inbound.Text);
        return JsonNode.Parse(waiting.Choices) is JsonArray choices && choices.Any(c =>
            (inbound.Payload is not null && c?["id"]?.GetValue<string>() == inbound.Payload)
            || (text is not null && c?["title"]?.GetValue<string>() is { } title && Phrases.Fold(title) == text));
    }

    private static bool Matches(string pattern, string? text)
    {
        try
        {
            return text is not null && Regex.IsMatch(text, pattern, RegexOptions.None, TimeSpan.FromMilliseconds(100));
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    /// <summary>
    /// In one statement: the message inserted by wamid (no row back: seen before, nothing more
    /// happens), the contact's latest run waiting for a reply with what it expects and its flow's
    /// rule, and the other active flows whose phrase the message matches.
    /// </summary>
    private static async Task<List<Row>> RecordAsync(NpgsqlTransaction transaction, Guid workspace, Guid contact, InboundMessage inbound, string[] phrases) =>
        (await transaction.Connection!.QueryAsync<Row>("""
            WITH inbound AS (
                INSERT INTO messaging.inbound_messages (id, workspace_id, phone_number_id, contact_id, wamid, kind, text, payload, raw, sent_at)
                VALUES (@id, @workspace, @PhoneNumberId, @contact, @Wamid, @Kind, @Text, @Payload, @Raw::jsonb, @SentAt)
                ON CONFLICT (workspace_id, wamid) DO NOTHING RETURNING id
            ), waiting AS (
                SELECT r.id, r.step, r.flow_id, v.definition->'nodes'->r.current_node->>'pattern' AS pattern,
                       r.context->'interactive'->'choices' AS choices,
                       -- FlowDefinition.TriggerInterruptsWait: anything but an explicit false means true.
                       v.definition->'trigger_interrupts_wait' IS DISTINCT FROM 'false'::jsonb AS interruptible
                FROM messaging.flow_runs r JOIN messaging.flow_versions v ON v.flow_id = r.flow_id AND v.version = r.flow_version
                WHERE r.contact_id = @contact AND r.status = 'waiting' AND r.wait_kind = 'reply' AND EXISTS (SELECT 1 FROM inbound)
                ORDER BY r.started_at DESC LIMIT 1
            ), matches AS (
                SELECT DISTINCT ON (f.id) f.id, f.name, f.created_at, t.phrase
                FROM messaging.flow_triggers t JOIN messaging.flows f ON f.id = t.flow_id
                WHERE t.workspace_id = @workspace AND t.kind = 'phrase' AND t.phrase = ANY (@phrases)
                  AND f.status = 'active' AND EXISTS (SELECT 1 FROM inbound)
                  -- A flow bound to one of the workspace's numbers answers that number only; one without, any.
                  AND (f.channel_phone_number_id IS NULL OR f.channel_phone_number_id = @PhoneNumberId)
                  AND NOT EXISTS (SELECT 1 FROM waiting w WHERE w.flow_id = f.id)
                ORDER BY f.id, t.phrase
            )
            SELECT 'inbound' AS kind, id, NULL::integer AS number, NULL::uuid AS flow_id, NULL AS name, NULL AS phrase, NULL AS pattern, NULL AS choices, NULL::boolean AS interruptible FROM inbound
            UNION ALL SELECT 'waiting', id, step, flow_id, NULL, NULL, pattern, choices::text, interruptible FROM waiting
            UNION ALL SELECT 'match', id, NULL, id, name, phrase, NULL, NULL, NULL FROM (SELECT * FROM matches ORDER BY created_at, id) m
            """, new { id = Guid.CreateVersion7(), workspace, contact, inbound.PhoneNumberId, inbound.Wamid, inbound.Kind, inbound.Text, inbound.Payload, inbound.Raw, inbound.SentAt, phrases },
            transaction)).ToList();

    /// <summary>A queued trigger per matched flow (keyed by wamid and flow: Meta's redeliveries queue nothing twice).</summary>
    private static async Task<IReadOnlyList<QueuedTrigger>> QueueAsync(NpgsqlTransaction transaction, Guid contact, InboundMessage inbound, List<Row> matches)
    {
        if (matches.Count == 0) return [];
        var input = JsonSerializer.Serialize(new { source = "whatsapp", text = inbound.Text, payload = inbound.Payload, wamid = inbound.Wamid, kind = inbound.Kind });
        return (await transaction.Connection!.QueryAsync<QueuedTrigger>("""
            INSERT INTO messaging.scheduled_triggers (id, workspace_id, flow_id, flow_version, contact_id, phone_number_id, source, source_key, input)
            SELECT gen_random_uuid(), f.workspace_id, f.id, f.version, @contact, @PhoneNumberId, 'whatsapp', @Wamid || ':' || f.id, @input::jsonb
            FROM messaging.flows f WHERE f.id = ANY (@flows)
            ON CONFLICT (source_key) DO NOTHING RETURNING id, flow_id, flow_version
            """, new { contact, inbound.PhoneNumberId, inbound.Wamid, input, flows = matches.Select(m => m.FlowId!.Value).ToArray() }, transaction)).ToList();
    }

    private sealed record Row(string Kind, Guid Id, int? Number, Guid? FlowId, string? Name, string? Phrase, string? Pattern, string? Choices, bool? Interruptible);
}
