-- The workspaces Tracking.Api knows, from Runtime.Api's WorkspaceCreated messages (Runtime.Api
-- owns workspaces; nobody queries across services). Public endpoints answer 404 for any other id.
CREATE TABLE workspaces (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL,
    known_at    timestamptz NOT NULL DEFAULT now()
);
