-- A claim needs proof since this version: the number's own Graph API access token (kept encrypted,
-- Secrets:EncryptionKey) answering for it, or an operator's claim (no token: sends use the
-- install-wide WhatsApp:AccessToken). Claims made before are marked 'legacy' for operators to review.
-- announced_at: when Messaging.Worker was told (WhatsAppChannelClaimed); null rows are announced at start.
ALTER TABLE whatsapp_channels
    ADD COLUMN access_token  text,
    ADD COLUMN proof         text NOT NULL DEFAULT 'legacy' CHECK (proof IN ('token', 'operator', 'legacy')),
    ADD COLUMN changed_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    ADD COLUMN announced_at  timestamptz;
