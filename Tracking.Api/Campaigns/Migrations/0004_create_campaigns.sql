-- Money is numeric plus an ISO 4217 code, never floating point.
CREATE TABLE campaigns (
    id                     uuid PRIMARY KEY,
    workspace_id           uuid NOT NULL,
    name                   text NOT NULL,
    product                text,
    brand                  text,
    budget_amount          numeric NOT NULL CHECK (budget_amount >= 0),
    currency               text NOT NULL,
    starts_at              timestamptz,
    ends_at                timestamptz,
    status                 text NOT NULL CHECK (status IN ('draft', 'active', 'paused', 'ended')),
    refund_window_seconds  integer NOT NULL DEFAULT 2592000,
    created_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaigns_workspace ON campaigns (workspace_id, created_at DESC);

CREATE TABLE influencers (
    id            uuid PRIMARY KEY,
    workspace_id  uuid NOT NULL,
    name          text NOT NULL,
    handle        text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX influencers_workspace ON influencers (workspace_id, created_at DESC);

-- A rule for the whole campaign (influencer_id null) or for one influencer (which wins).
CREATE TABLE commission_rules (
    id             uuid PRIMARY KEY,
    campaign_id    uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    influencer_id  uuid REFERENCES influencers (id) ON DELETE CASCADE,
    kind           text NOT NULL CHECK (kind IN ('per_mille_impressions', 'per_click', 'per_conversion_fixed', 'per_conversion_percent')),
    amount         numeric CHECK (amount >= 0),
    percent        numeric CHECK (percent >= 0 AND percent <= 100),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX commission_rules_one_per_kind ON commission_rules (campaign_id, coalesce(influencer_id, '00000000-0000-0000-0000-000000000000'), kind);

-- Raw events; the client-supplied id makes a repeat a no-op.
CREATE TABLE impressions (
    workspace_id   uuid NOT NULL,
    id             text NOT NULL,
    campaign_id    uuid NOT NULL REFERENCES campaigns (id),
    influencer_id  uuid NOT NULL REFERENCES influencers (id),
    event_type     text NOT NULL CHECK (event_type IN ('impression', 'click')),
    user_id        text,
    user_agent     text,
    ip_address     text,
    referrer       text,
    occurred_at    timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX impressions_campaign ON impressions (campaign_id, occurred_at);

CREATE TABLE conversions (
    workspace_id     uuid NOT NULL,
    id               text NOT NULL,
    campaign_id      uuid NOT NULL REFERENCES campaigns (id),
    influencer_id    uuid NOT NULL REFERENCES influencers (id),
    visitor_id       text,
    user_id          text,
    conversion_type  text NOT NULL,
    value_amount     numeric NOT NULL CHECK (value_amount >= 0),
    currency         text NOT NULL,
    attributed_by    text NOT NULL CHECK (attributed_by IN ('request', 'session')),
    occurred_at      timestamptz NOT NULL,
    refunded_at      timestamptz,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX conversions_campaign ON conversions (campaign_id, occurred_at DESC);
CREATE INDEX conversions_influencer ON conversions (influencer_id, occurred_at DESC);

-- Read models, kept current by handlers: one row per campaign and one per campaign and influencer.
CREATE TABLE campaign_stats (
    campaign_id          uuid NOT NULL,
    influencer_id        uuid NOT NULL,  -- the nil uuid for the campaign's totals
    impressions          bigint NOT NULL DEFAULT 0,
    clicks               bigint NOT NULL DEFAULT 0,
    conversions          bigint NOT NULL DEFAULT 0,
    refunds              bigint NOT NULL DEFAULT 0,
    revenue_amount       numeric NOT NULL DEFAULT 0,
    commission_amount    numeric NOT NULL DEFAULT 0,
    currency             text NOT NULL,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, influencer_id)
);
