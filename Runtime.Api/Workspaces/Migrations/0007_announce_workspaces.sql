-- When Runtime.Api published WorkspaceCreated for the workspace. Null: not yet (the default
-- workspace inserted at start-up, and every workspace made before the message existed);
-- WorkspaceAnnouncements publishes those at start.
ALTER TABLE workspaces ADD COLUMN announced_at timestamptz;
