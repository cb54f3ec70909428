-- Attribution clients (impressions, conversions, refunds) authenticate with a per-workspace key
-- sent in X-Funnels-Attribution-Key; only its SHA-256 is kept (the key is shown once). A
-- workspace may accept unauthenticated attribution while its clients are being updated
-- (attribution_key_required = false); by default it does not.
ALTER TABLE workspace_settings
    ADD COLUMN attribution_key_hash     text UNIQUE,
    ADD COLUMN attribution_key_required boolean NOT NULL DEFAULT true;
