-- One money rule (docs/tracking.md, "Money, commissions and payouts"): everything owed, capped
-- or paid is in the currency's minor unit, so campaign_budgets.committed_amount is a sum of
-- minor-unit amounts and never exceeds the budget. Traffic keeps its exact accrual
-- (accrued_amount) beside the minor-unit part it has reserved (payable_amount); at the payout the
-- sub-unit residue is kept on the closed row and carried into the next period's row.
ALTER TABLE traffic_commissions
    ADD COLUMN payable_amount  numeric NOT NULL DEFAULT 0 CHECK (payable_amount >= 0),
    ADD COLUMN carried_amount  numeric NOT NULL DEFAULT 0,
    ADD COLUMN residue_amount  numeric,
    ADD COLUMN residue_carried boolean NOT NULL DEFAULT false;

-- Conversions draw on the budget in the order Tracking.Api recorded them.
ALTER TABLE commissions ADD COLUMN recorded_at timestamptz;
UPDATE commissions SET recorded_at = created_at;
ALTER TABLE commissions ALTER COLUMN recorded_at SET NOT NULL;
CREATE INDEX commissions_campaign_order ON commissions (campaign_id, recorded_at, conversion_id);

-- States that say what happened: a commission follows its payout; a refund before payment
-- cancels, after payment reverses (a claw-back); a zero payout is closed at once.
ALTER TABLE commissions DROP CONSTRAINT commissions_state_check;
ALTER TABLE commissions ADD CONSTRAINT commissions_state_check CHECK (state IN ('owed', 'paid', 'nothing_due', 'cancelled', 'reversed'));
ALTER TABLE payouts DROP CONSTRAINT payouts_state_check;
ALTER TABLE payouts ADD CONSTRAINT payouts_state_check CHECK (state IN ('pending', 'scheduled', 'paid', 'nothing_due', 'cancelled', 'reversed'));

-- Minor-unit digits by ISO 4217 exponent, as Funnels.Contracts.Money.MinorUnits (used only here, once).
CREATE TEMPORARY TABLE exponents AS
SELECT c AS currency, 0 AS digits FROM unnest(ARRAY['BIF','CLP','DJF','GNF','ISK','JPY','KMF','KRW','PYG','RWF','UGX','UYI','VND','VUV','XAF','XOF','XPF']) c
UNION ALL SELECT c, 3 FROM unnest(ARRAY['BHD','IQD','JOD','KWD','LYD','OMR','TND']) c
UNION ALL SELECT c, 4 FROM unnest(ARRAY['CLF','UYW']) c;

-- Unpaid commissions capped to an unrounded remainder: rounded down, so the budget still holds them.
UPDATE commissions c SET amount = trunc(c.amount, coalesce((SELECT digits FROM exponents e WHERE e.currency = c.currency), 2))
FROM payouts p WHERE p.commission_id = c.id AND p.kind = 'conversion' AND p.state IN ('pending', 'scheduled');
UPDATE payouts p SET amount = c.amount FROM commissions c WHERE p.commission_id = c.id AND p.kind = 'conversion' AND p.state IN ('pending', 'scheduled');

-- States of existing rows.
UPDATE commissions c SET state = CASE WHEN p.paid_at IS NULL THEN 'cancelled' ELSE 'reversed' END
FROM payouts p WHERE p.commission_id = c.id AND p.kind = 'conversion' AND c.state = 'reversed';
UPDATE payouts SET state = 'cancelled' WHERE state = 'reversed' AND paid_at IS NULL;
UPDATE commissions c SET state = 'paid' FROM payouts p WHERE p.commission_id = c.id AND p.kind = 'conversion' AND p.state = 'paid';
UPDATE payouts SET state = 'nothing_due' WHERE kind = 'conversion' AND state = 'pending' AND amount = 0;
UPDATE commissions c SET state = 'nothing_due' FROM payouts p WHERE p.commission_id = c.id AND p.kind = 'conversion' AND p.state = 'nothing_due';

-- Traffic: open rows reserve the minor units of their exact accrual; paid rows keep what was paid and show their residue
-- (it went back to the budget before this migration, so it is not carried).
UPDATE traffic_commissions t SET payable_amount = trunc(t.accrued_amount, coalesce((SELECT digits FROM exponents e WHERE e.currency = t.currency), 2))
WHERE t.closed_at IS NULL;
UPDATE traffic_commissions SET payable_amount = coalesce(paid_amount, 0), residue_amount = accrued_amount - coalesce(paid_amount, 0), residue_carried = true
WHERE closed_at IS NOT NULL;
UPDATE payouts p SET amount = t.payable_amount FROM traffic_commissions t WHERE t.payout_id = p.id AND p.state IN ('pending', 'scheduled');

-- The budget: what is owed or paid, in minor units.
UPDATE campaign_budgets b SET committed_amount =
    coalesce((SELECT sum(amount) FROM commissions c WHERE c.campaign_id = b.campaign_id AND c.state IN ('owed', 'paid')), 0)
  + coalesce((SELECT sum(payable_amount) FROM traffic_commissions t WHERE t.campaign_id = b.campaign_id), 0);

DROP TABLE exponents;
