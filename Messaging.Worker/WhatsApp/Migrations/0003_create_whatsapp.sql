-- WhatsApp users of a workspace, known by their WhatsApp id (wa_id) and phone; attributes are
-- what flows set on them (set_attribute).
CREATE TABLE contacts (
    id            uuid PRIMARY KEY,
    workspace_id  uuid NOT NULL,
    wa_id         text NOT NULL,
    phone         text,
    name          text,
    attributes    jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, wa_id)
);
CREATE INDEX contacts_phone ON contacts (workspace_id, phone);

-- Every inbound message once: Meta retries deliveries, the wamid is the business key.
CREATE TABLE inbound_messages (
    id               uuid PRIMARY KEY,
    workspace_id     uuid NOT NULL,
    phone_number_id  text NOT NULL,
    contact_id       uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    wamid            text NOT NULL,
    kind             text NOT NULL,
    text             text,
    payload          text,
    raw              jsonb NOT NULL,
    sent_at          timestamptz,
    received_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, wamid)
);
CREATE INDEX inbound_messages_contact ON inbound_messages (contact_id, received_at DESC);

-- Delivery statuses Meta reports for messages we sent (sent, delivered, read, failed).
CREATE TABLE message_statuses (
    workspace_id  uuid NOT NULL,
    wamid         text NOT NULL,
    status        text NOT NULL,
    recipient_id  text,
    errors        jsonb,
    reported_at   timestamptz,
    received_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, wamid, status)
);
