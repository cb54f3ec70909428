-- A message a flow step sends, one per (run, step): the send handler claims this row, so a
-- retried or repeated send message never reaches Meta twice after a success.
CREATE TABLE outbound_messages (
    id               uuid PRIMARY KEY,
    workspace_id     uuid NOT NULL,
    run_id           uuid NOT NULL REFERENCES flow_runs (id) ON DELETE CASCADE,
    step             integer NOT NULL,
    phone_number_id  text NOT NULL,
    to_wa_id         text NOT NULL,
    kind             text NOT NULL,
    body             jsonb NOT NULL,
    status           text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    wamid            text,
    attempts         integer NOT NULL DEFAULT 0,
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    UNIQUE (run_id, step)
);
CREATE INDEX outbound_messages_wamid ON outbound_messages (wamid) WHERE wamid IS NOT NULL;
