-- A funnel as the admin is designing it; the slug is its public address.
CREATE TABLE funnels (
    id                   uuid PRIMARY KEY,
    workspace_id         uuid NOT NULL REFERENCES workspaces (id),
    name                 text NOT NULL,
    slug                 text NOT NULL UNIQUE,
    schema               jsonb NOT NULL,
    allowed_origins      text[] NOT NULL DEFAULT '{}',
    live_publication_id  uuid,
    revision             integer NOT NULL DEFAULT 1,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX funnels_workspace ON funnels (workspace_id, created_at DESC);

-- An immutable snapshot of a funnel's schema at publish time. Leads keep the one they entered with.
CREATE TABLE publications (
    id            uuid PRIMARY KEY,
    funnel_id     uuid NOT NULL REFERENCES funnels (id) ON DELETE CASCADE,
    workspace_id  uuid NOT NULL REFERENCES workspaces (id),
    slug          text NOT NULL,
    version       integer NOT NULL,
    schema        jsonb NOT NULL,
    published_at  timestamptz NOT NULL DEFAULT now(),
    published_by  text NOT NULL,
    UNIQUE (funnel_id, version)
);

-- NULL while unpublished: public events for the slug then answer 404.
ALTER TABLE funnels ADD CONSTRAINT funnels_live_publication
    FOREIGN KEY (live_publication_id) REFERENCES publications (id);
