-- What the worker knows of a campaign's budget (from ConversionRecorded snapshots) and how much
-- of it commissions have taken. The row is locked while a commission is computed, so two
-- conversions raced together can never spend the same remainder twice.
CREATE TABLE campaign_budgets (
    campaign_id       uuid PRIMARY KEY,
    workspace_id      uuid NOT NULL,
    budget_amount     numeric NOT NULL,
    currency          text NOT NULL,
    committed_amount  numeric NOT NULL DEFAULT 0 CHECK (committed_amount >= 0),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- One commission per conversion; amount is what is owed after the budget cap.
CREATE TABLE commissions (
    id                uuid PRIMARY KEY,
    workspace_id      uuid NOT NULL,
    conversion_id     text NOT NULL,
    campaign_id       uuid NOT NULL,
    influencer_id     uuid NOT NULL,
    rule_id           uuid,
    rule_kind         text,
    conversion_value  numeric NOT NULL,
    computed_amount   numeric NOT NULL,
    amount            numeric NOT NULL CHECK (amount >= 0),
    currency          text NOT NULL,
    capped_by_budget  boolean NOT NULL DEFAULT false,
    state             text NOT NULL CHECK (state IN ('owed', 'reversed')),
    created_at        timestamptz NOT NULL DEFAULT now(),
    reversed_at       timestamptz,
    UNIQUE (workspace_id, conversion_id)
);
CREATE INDEX commissions_workspace ON commissions (workspace_id, created_at DESC);

-- The payout of a commission: pending (recorded), scheduled (a durable PayoutDue message waits
-- for the end of the refund window), paid, or reversed (refunded before or after payment).
CREATE TABLE payouts (
    id             uuid PRIMARY KEY,
    commission_id  uuid NOT NULL UNIQUE REFERENCES commissions (id),
    workspace_id   uuid NOT NULL,
    amount         numeric NOT NULL,
    currency       text NOT NULL,
    state          text NOT NULL CHECK (state IN ('pending', 'scheduled', 'paid', 'reversed')),
    due_at         timestamptz NOT NULL,
    scheduled_at   timestamptz,
    paid_at        timestamptz,
    reversed_at    timestamptz
);
CREATE INDEX payouts_workspace ON payouts (workspace_id, due_at DESC);

-- A refund that overtook its conversion: the commission, when it comes, is not owed.
CREATE TABLE refunded_conversions (
    workspace_id   uuid NOT NULL,
    conversion_id  text NOT NULL,
    refunded_at    timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, conversion_id)
);
