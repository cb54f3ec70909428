-- A sign-in: every token issued for it (sign-in, workspace switches) carries its id as "sid",
-- and every service refuses the token once the session is revoked (sign-out) or expired.
CREATE TABLE sessions (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES admin_users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Changes whenever the membership's role changes; a token carries the stamp it was issued
-- with ("stamp"), so a downgraded member's old token stops working. A removed membership has no
-- row, which refuses its tokens too.
ALTER TABLE workspace_members ADD COLUMN security_stamp uuid NOT NULL DEFAULT gen_random_uuid();

-- A key made with another key's token is revoked with it: a stolen key cannot leave a successor behind.
ALTER TABLE api_keys ADD COLUMN created_by_key uuid REFERENCES api_keys (id);

-- An owner's invitation to an email address; nobody joins a workspace until the person with
-- that email accepts it after signing in.
CREATE TABLE invitations (
    id            uuid PRIMARY KEY,
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email         text NOT NULL,
    role          text NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    invited_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, email)
);
CREATE INDEX invitations_email ON invitations (email);
