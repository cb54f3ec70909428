-- A wiring check proves the messaging path end to end: written here, delivered to the worker.
CREATE TABLE wiring_checks (
    id            uuid PRIMARY KEY,
    requested_at  timestamptz NOT NULL DEFAULT now()
);
