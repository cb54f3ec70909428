-- A cancelled run's sends that had not gone out are withdrawn ('cancelled'), so resuming a paused
-- channel or retrying a send never delivers a message of a run that was stopped.
ALTER TABLE outbound_messages DROP CONSTRAINT outbound_messages_status_check;
ALTER TABLE outbound_messages ADD CONSTRAINT outbound_messages_status_check CHECK (status IN ('queued', 'sent', 'failed', 'cancelled'));
