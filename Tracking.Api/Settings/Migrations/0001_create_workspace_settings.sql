-- Per-workspace tracking settings: the secret CRM webhooks authenticate with, the name of the
-- form / custom field that carries the visitor id (fid_vid, or rstk_vid on GoHighLevel setups),
-- and the storage key t.js watches for a contact id (GoHighLevel leaves it under _ud).
CREATE TABLE workspace_settings (
    workspace_id   uuid PRIMARY KEY,
    crm_secret     text,
    visitor_field  text NOT NULL DEFAULT 'fid_vid',
    storage_key    text NOT NULL DEFAULT '_ud',
    updated_at     timestamptz NOT NULL DEFAULT now()
);
