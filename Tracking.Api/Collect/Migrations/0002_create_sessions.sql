-- A browser's visit: started by t.js after 30 minutes idle, with the link parameters it arrived
-- with (first touch). contact_id is set once, by linking or on arrival when already linked.
CREATE TABLE sessions (
    workspace_id   uuid NOT NULL,
    id             text NOT NULL,
    visitor_id     text NOT NULL,
    started_at     timestamptz NOT NULL,
    last_seen_at   timestamptz NOT NULL,
    landing_url    text,
    referrer       text,
    utm_source     text,
    utm_medium     text,
    utm_campaign   text,
    utm_term       text,
    utm_content    text,
    ref            text,
    campaign_id    uuid,
    influencer_id  uuid,
    events         integer NOT NULL DEFAULT 0,
    contact_id     text,
    linked_at      timestamptz,
    link_method    text CHECK (link_method IN ('webhook', 'identify', 'on_arrival')),
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX sessions_visitor ON sessions (workspace_id, visitor_id, started_at);
CREATE INDEX sessions_contact ON sessions (workspace_id, contact_id) WHERE contact_id IS NOT NULL;

-- Page views and custom events; the client's event id makes a resent beacon harmless.
CREATE TABLE events (
    workspace_id  uuid NOT NULL,
    id            text NOT NULL,
    session_id    text NOT NULL,
    visitor_id    text NOT NULL,
    type          text NOT NULL CHECK (type IN ('page_view', 'custom')),
    name          text,
    url           text,
    title         text,
    referrer      text,
    properties    jsonb,
    occurred_at   timestamptz NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX events_session ON events (workspace_id, session_id, occurred_at);
