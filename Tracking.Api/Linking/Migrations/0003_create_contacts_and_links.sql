-- CRM contacts as their webhooks describe them.
CREATE TABLE contacts (
    workspace_id  uuid NOT NULL,
    id            text NOT NULL,
    email         text,
    phone         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id)
);

-- One link per visitor, ever: the primary key is what makes a raced second link impossible.
-- latency_seconds: from the start of the visitor's latest session to the link (null when it had none yet).
CREATE TABLE visitor_links (
    workspace_id     uuid NOT NULL,
    visitor_id       text NOT NULL,
    contact_id       text NOT NULL,
    method           text NOT NULL CHECK (method IN ('webhook', 'identify')),
    linked_at        timestamptz NOT NULL,
    session_started_at  timestamptz,
    latency_seconds  numeric,
    confirmations    integer NOT NULL DEFAULT 0,
    confirmed_at     timestamptz,
    confirmed_by     text,
    PRIMARY KEY (workspace_id, visitor_id)
);
CREATE INDEX visitor_links_contact ON visitor_links (workspace_id, contact_id);

-- A visitor already linked to one contact was claimed for another: recorded, never re-pointed.
CREATE TABLE link_conflicts (
    id                    uuid PRIMARY KEY,
    workspace_id          uuid NOT NULL,
    visitor_id            text NOT NULL,
    linked_contact_id     text NOT NULL,
    attempted_contact_id  text NOT NULL,
    method                text NOT NULL,
    occurred_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX link_conflicts_workspace ON link_conflicts (workspace_id, occurred_at DESC);
