-- A workspace's outbound webhook endpoints (a CRM, Zapier, the team's own service).
CREATE TABLE webhook_endpoints (
    id            uuid PRIMARY KEY,
    workspace_id  uuid NOT NULL,
    url           text NOT NULL,
    secret        text NOT NULL,
    events        text[] NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_workspace ON webhook_endpoints (workspace_id) WHERE active;

-- One delivery per endpoint and event; attempts are recorded below it.
CREATE TABLE webhook_deliveries (
    id             uuid PRIMARY KEY,
    endpoint_id    uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    workspace_id   uuid NOT NULL,
    event_type     text NOT NULL,
    event_key      text NOT NULL,
    body           text NOT NULL,
    status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'failing', 'delivered', 'dead')),
    attempts       integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    delivered_at   timestamptz,
    UNIQUE (endpoint_id, event_type, event_key)
);
CREATE INDEX webhook_deliveries_workspace ON webhook_deliveries (workspace_id, created_at DESC);

CREATE TABLE webhook_attempts (
    id            uuid PRIMARY KEY,
    delivery_id   uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt       integer NOT NULL,
    status_code   integer,
    error         text,
    duration_ms   integer NOT NULL,
    attempted_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempted_at);
