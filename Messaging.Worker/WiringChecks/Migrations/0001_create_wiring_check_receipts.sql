-- Where a wiring check from Runtime.Api arrived; one row per check however often it is delivered.
CREATE TABLE wiring_check_receipts (
    check_id      uuid PRIMARY KEY,
    requested_at  timestamptz NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    deliveries    integer NOT NULL DEFAULT 1
);
