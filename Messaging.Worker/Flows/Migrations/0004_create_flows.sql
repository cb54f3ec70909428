-- Automation flows: a JSON node graph, versioned (every saved change of the graph is a new
-- version; runs keep the version they started with).
CREATE TABLE flows (
    id                       uuid PRIMARY KEY,
    workspace_id             uuid NOT NULL,
    name                     text NOT NULL,
    status                   text NOT NULL CHECK (status IN ('draft', 'active', 'paused')),
    version                  integer NOT NULL,
    channel_phone_number_id  text,
    triggers                 jsonb NOT NULL DEFAULT '[]',
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX flows_workspace ON flows (workspace_id, created_at);

CREATE TABLE flow_versions (
    flow_id     uuid NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    version     integer NOT NULL,
    definition  jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (flow_id, version)
);

-- What starts a flow, kept in matchable form: a normalised phrase, or a funnel's lead capture.
CREATE TABLE flow_triggers (
    flow_id       uuid NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    workspace_id  uuid NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('phrase', 'lead_captured')),
    phrase        text,
    funnel_id     uuid
);
CREATE INDEX flow_triggers_phrase ON flow_triggers (workspace_id, phrase) WHERE kind = 'phrase';
CREATE INDEX flow_triggers_lead ON flow_triggers (workspace_id) WHERE kind = 'lead_captured';
