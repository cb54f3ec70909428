-- One lead per person per workspace. identity_key is the normalised email, else phone, else
-- visitor id ("email:...", "phone:...", "visitor:..."); the unique index is what makes raced
-- duplicate submissions impossible, whatever the application does.
CREATE TABLE leads (
    id              uuid PRIMARY KEY,
    workspace_id    uuid NOT NULL REFERENCES workspaces (id),
    funnel_id       uuid NOT NULL REFERENCES funnels (id),
    publication_id  uuid NOT NULL REFERENCES publications (id),
    identity_key    text NOT NULL,
    email           text,
    phone           text,
    visitor_id      text,
    contact_id      text,
    form_data       jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, identity_key)
);
CREATE INDEX leads_email ON leads (workspace_id, email) WHERE email IS NOT NULL;
CREATE INDEX leads_phone ON leads (workspace_id, phone) WHERE phone IS NOT NULL;
CREATE INDEX leads_visitor ON leads (workspace_id, visitor_id) WHERE visitor_id IS NOT NULL;
CREATE INDEX leads_funnel ON leads (funnel_id, created_at DESC);

CREATE TABLE lead_states (
    lead_id          uuid PRIMARY KEY REFERENCES leads (id) ON DELETE CASCADE,
    current_page_id  text NOT NULL,
    status           text NOT NULL CHECK (status IN ('active', 'converted', 'lost')),
    version          bigint NOT NULL DEFAULT 1,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lead_states_status ON lead_states (status);

-- Append-only audit: every event with its payload and the state transition it caused.
CREATE TABLE lead_events (
    id               uuid PRIMARY KEY,
    lead_id          uuid NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    workspace_id     uuid NOT NULL,
    publication_id   uuid NOT NULL,
    event_type       text NOT NULL,
    page_id          text NOT NULL,
    payload          jsonb NOT NULL,
    from_page_id     text,
    to_page_id       text,
    from_status      text,
    to_status        text,
    state_version    bigint NOT NULL,
    idempotency_key  text,
    occurred_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lead_events_lead ON lead_events (lead_id, occurred_at, id);

-- The first answer to a request carrying an Idempotency-Key, replayed for its repeats.
CREATE TABLE idempotency_keys (
    scope         text NOT NULL,
    key           text NOT NULL,
    request_hash  text NOT NULL,
    status_code   integer,
    response      jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
