-- A matched trigger waiting for (or taken by) an execution. source_key is the business key of
-- what caused it (the inbound wamid or the lead, with the flow), so a repeat never queues twice.
CREATE TABLE scheduled_triggers (
    id               uuid PRIMARY KEY,
    workspace_id     uuid NOT NULL,
    flow_id          uuid NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    flow_version     integer NOT NULL,
    contact_id       uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    phone_number_id  text NOT NULL,
    source           text NOT NULL,
    source_key       text NOT NULL UNIQUE,
    input            jsonb NOT NULL DEFAULT '{}',
    status           text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'started', 'skipped')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz
);
CREATE INDEX scheduled_triggers_workspace ON scheduled_triggers (workspace_id, created_at DESC);
