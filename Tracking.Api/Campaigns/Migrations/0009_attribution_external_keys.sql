-- Attribution clients already in use name campaigns and influencers by their own keys (cmp-123,
-- inf-001): one per workspace, optional, never a UUID (so a reference is unambiguous).
ALTER TABLE campaigns ADD COLUMN external_key text;
CREATE UNIQUE INDEX campaigns_external_key ON campaigns (workspace_id, external_key) WHERE external_key IS NOT NULL;
ALTER TABLE influencers ADD COLUMN external_key text;
CREATE UNIQUE INDEX influencers_external_key ON influencers (workspace_id, external_key) WHERE external_key IS NOT NULL;

-- Our own id of each impression and conversion, beside the client's (the primary key): a record
-- can be read by either. Existing rows get one now.
ALTER TABLE impressions ADD COLUMN record_id uuid NOT NULL DEFAULT gen_random_uuid();
CREATE UNIQUE INDEX impressions_record_id ON impressions (record_id);
ALTER TABLE conversions ADD COLUMN record_id uuid NOT NULL DEFAULT gen_random_uuid();
CREATE UNIQUE INDEX conversions_record_id ON conversions (record_id);

-- A campaign's and an influencer's impressions, newest first (the reads attribution clients make).
CREATE INDEX impressions_campaign_newest ON impressions (campaign_id, occurred_at DESC);
CREATE INDEX impressions_influencer_newest ON impressions (influencer_id, occurred_at DESC);
