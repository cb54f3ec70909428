-- Traffic commissions are paid through the same payout states as conversion commissions.
-- A traffic_commissions row now accrues one payout period of one campaign, influencer and rule
-- kind (period_ends_at: the campaign's end, or the end of a calendar period for campaigns
-- without one) and owns one payout (payouts.kind = 'traffic'). When the payout is paid the row
-- is closed; traffic after that accrues into a new row with its own payout.
ALTER TABLE payouts DROP CONSTRAINT payouts_commission_id_fkey;
ALTER TABLE payouts ADD COLUMN kind text NOT NULL DEFAULT 'conversion' CHECK (kind IN ('conversion', 'traffic'));

ALTER TABLE traffic_commissions DROP CONSTRAINT traffic_commissions_campaign_id_influencer_id_rule_kind_key;
ALTER TABLE traffic_commissions
    ADD COLUMN period_ends_at timestamptz,
    ADD COLUMN payout_id      uuid,
    ADD COLUMN closed_at      timestamptz,
    ADD COLUMN paid_amount    numeric;
CREATE UNIQUE INDEX traffic_commissions_open ON traffic_commissions (campaign_id, influencer_id, rule_kind, period_ends_at) WHERE closed_at IS NULL;
CREATE UNIQUE INDEX traffic_commissions_payout ON traffic_commissions (payout_id);

-- Traffic accrued before this migration had no payout and its campaign's end is not known here:
-- it gets a pending payout due after the default refund window (30 days); TrafficPayoutSweep
-- schedules it when the worker starts.
UPDATE traffic_commissions SET payout_id = gen_random_uuid(), period_ends_at = now() WHERE payout_id IS NULL;
INSERT INTO payouts (id, commission_id, workspace_id, amount, currency, state, due_at, kind)
SELECT payout_id, id, workspace_id, accrued_amount, currency, 'pending', now() + interval '30 days', 'traffic' FROM traffic_commissions;
