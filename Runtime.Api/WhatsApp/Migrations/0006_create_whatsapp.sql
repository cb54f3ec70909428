-- Which workspace a WhatsApp business phone number (Meta's phone-number id) belongs to.
CREATE TABLE whatsapp_channels (
    phone_number_id       text PRIMARY KEY,
    workspace_id          uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    display_phone_number  text,
    created_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX whatsapp_channels_workspace ON whatsapp_channels (workspace_id, created_at);

-- Every verified delivery from Meta, raw, as received (Meta retries: duplicates are expected here;
-- the worker processes each message id once).
CREATE TABLE whatsapp_webhook_events (
    id           uuid PRIMARY KEY,
    body         text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX whatsapp_webhook_events_received ON whatsapp_webhook_events (received_at);
