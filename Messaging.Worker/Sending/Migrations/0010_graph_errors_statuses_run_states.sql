-- Issue 16 (items 1-3): Meta's error codes, delivery statuses and honest run states.

-- Runs: 'sending' (the flow reached its end, some of its sends still queued or retrying) and
-- 'dead_lettered' (a send's retries ran out; replaying the dead letter moves the run on).
ALTER TABLE flow_runs DROP CONSTRAINT flow_runs_status_check;
ALTER TABLE flow_runs ADD CONSTRAINT flow_runs_status_check
    CHECK (status IN ('running', 'waiting', 'sending', 'completed', 'failed', 'dead_lettered', 'cancelled'));

-- Sends: Meta's error code of the last refusal; when the send was dead-lettered (the row stays
-- 'queued', so the run's later sends keep waiting behind it in step order); until when Meta's
-- pair rate limit (131056) holds sends to this recipient back; Meta's latest delivery status.
ALTER TABLE outbound_messages
    ADD COLUMN error_code        integer,
    ADD COLUMN dead_lettered_at  timestamptz,
    ADD COLUMN throttled_until   timestamptz,
    ADD COLUMN delivery_status   text CHECK (delivery_status IN ('sent', 'delivered', 'read', 'failed')),
    ADD COLUMN delivery_at       timestamptz;
CREATE INDEX outbound_messages_pair_throttled ON outbound_messages (phone_number_id, to_wa_id, throttled_until) WHERE throttled_until IS NOT NULL;
CREATE INDEX outbound_messages_queued ON outbound_messages (phone_number_id) WHERE status = 'queued';

-- Channels: sending paused after Meta refused the token (190); paused_token is the token that was
-- refused, so a claim carrying another one resumes.
ALTER TABLE whatsapp_channels
    ADD COLUMN paused_at      timestamptz,
    ADD COLUMN paused_code    integer,
    ADD COLUMN paused_reason  text,
    ADD COLUMN paused_token   text;

-- Meta's asynchronous error notifications: a webhook value carrying only errors[] (e.g. 130429).
-- source_key: the delivery's event id and the error's place in it (a redelivered event adds nothing).
CREATE TABLE whatsapp_error_notifications (
    id               uuid PRIMARY KEY,
    source_key       text NOT NULL UNIQUE,
    workspace_id     uuid NOT NULL,
    phone_number_id  text NOT NULL,
    code             integer,
    title            text,
    message          text,
    details          text,
    raw              jsonb NOT NULL,
    received_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX whatsapp_error_notifications_workspace ON whatsapp_error_notifications (workspace_id, received_at DESC);
