-- A channel may carry its own Meta app's secret (deliveries for its number are signed with it) and
-- webhook verify token, beside its access token; all three are Data Protection values (never plaintext).
ALTER TABLE whatsapp_channels
    ADD COLUMN app_secret    text,
    ADD COLUMN verify_token  text;

-- Data Protection's key ring, shared by Runtime.Api (which creates and rotates the keys) and
-- Messaging.Worker (which only reads it). Each row is one XML element: a key, encrypted with
-- Secrets:EncryptionKey, or a revocation.
CREATE TABLE data_protection_keys (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    friendly_name  text NOT NULL,
    xml            text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
