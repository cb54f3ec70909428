-- Commissions for traffic: one row per campaign, influencer and rule kind (per_click or
-- per_mille_impressions) that accrues each paid click or impression. accrued_amount is exact
-- (an impression adds amount/1000, unrounded); it is rounded to the currency only when paid.
-- Every accrual takes the campaign_budgets row lock and adds to committed_amount, so traffic
-- and conversions share one budget cap.
CREATE TABLE traffic_commissions (
    id               uuid PRIMARY KEY,
    workspace_id     uuid NOT NULL,
    campaign_id      uuid NOT NULL,
    influencer_id    uuid NOT NULL,
    rule_kind        text NOT NULL CHECK (rule_kind IN ('per_click', 'per_mille_impressions')),
    rule_id          uuid NOT NULL,
    events           bigint NOT NULL DEFAULT 0,
    computed_amount  numeric NOT NULL DEFAULT 0,
    accrued_amount   numeric NOT NULL DEFAULT 0 CHECK (accrued_amount >= 0),
    currency         text NOT NULL,
    capped_by_budget boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, influencer_id, rule_kind)
);
CREATE INDEX traffic_commissions_workspace ON traffic_commissions (workspace_id, campaign_id);
