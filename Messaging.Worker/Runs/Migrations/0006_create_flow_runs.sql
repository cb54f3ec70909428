-- Every execution of a flow, and the log of the steps it took.
CREATE TABLE flow_runs (
    id               uuid PRIMARY KEY,
    workspace_id     uuid NOT NULL,
    flow_id          uuid NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    flow_version     integer NOT NULL,
    contact_id       uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    trigger_id       uuid UNIQUE REFERENCES scheduled_triggers (id) ON DELETE SET NULL,
    phone_number_id  text NOT NULL,
    status           text NOT NULL CHECK (status IN ('running', 'waiting', 'completed', 'failed', 'cancelled')),
    current_node     text,
    step             integer NOT NULL DEFAULT 0,
    wait_kind        text CHECK (wait_kind IN ('delay', 'reply')),
    wait_until       timestamptz,
    context          jsonb NOT NULL DEFAULT '{}',
    error            text,
    executed_by      text,
    started_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
);
CREATE INDEX flow_runs_workspace ON flow_runs (workspace_id, started_at DESC);
CREATE INDEX flow_runs_waiting_reply ON flow_runs (contact_id) WHERE status = 'waiting' AND wait_kind = 'reply';

CREATE TABLE flow_run_steps (
    run_id       uuid NOT NULL REFERENCES flow_runs (id) ON DELETE CASCADE,
    step         integer NOT NULL,
    node_id      text NOT NULL,
    node_type    text NOT NULL,
    outcome      text NOT NULL,
    detail       jsonb,
    executed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, step)
);
