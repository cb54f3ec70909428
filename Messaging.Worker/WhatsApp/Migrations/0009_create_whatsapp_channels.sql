-- Which workspace owns each WhatsApp phone-number id, as Runtime.Api (the owner of claims) last
-- announced it (WhatsAppChannelClaimed / WhatsAppChannelReleased, newest changed_at wins).
-- workspace_id null: released. access_token: the channel's own Graph API token, encrypted
-- (SecretProtector); null: sends use the install-wide WhatsApp:AccessToken.
CREATE TABLE whatsapp_channels (
    phone_number_id  text PRIMARY KEY,
    workspace_id     uuid,
    access_token     text,
    changed_at       timestamptz NOT NULL
);
CREATE INDEX whatsapp_channels_workspace ON whatsapp_channels (workspace_id);
