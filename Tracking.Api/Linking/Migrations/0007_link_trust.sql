-- Who vouches for a link. A CRM webhook authenticated by the workspace's secret (signature or token)
-- is 'signed'; an identify call, which anyone can post for any visitor id, is 'provisional' until a
-- signed webhook confirms it (same contact) or replaces it (another contact). Links made before this
-- migration: an identify link whose last confirmation came from the webhook counts as signed.
ALTER TABLE visitor_links ADD COLUMN trust text NOT NULL DEFAULT 'signed' CHECK (trust IN ('provisional', 'signed'));
UPDATE visitor_links SET trust = 'provisional' WHERE method = 'identify' AND confirmed_by IS DISTINCT FROM 'webhook';
ALTER TABLE visitor_links ALTER COLUMN trust DROP DEFAULT;

-- 1 for the first link; +1 each time a signed webhook replaces a provisional one. Sent with
-- VisitorLinkedToContact so consumers apply the newest link whatever order messages arrive in.
ALTER TABLE visitor_links ADD COLUMN generation integer NOT NULL DEFAULT 1;

-- Every link that was replaced: who it pointed to, how and when it was made, what replaced it and why.
CREATE TABLE visitor_link_history (
    id                      uuid PRIMARY KEY,
    workspace_id            uuid NOT NULL,
    visitor_id              text NOT NULL,
    generation              integer NOT NULL,
    contact_id              text NOT NULL,
    method                  text NOT NULL,
    trust                   text NOT NULL,
    linked_at               timestamptz NOT NULL,
    replaced_by_contact_id  text NOT NULL,
    replaced_by_method      text NOT NULL,
    replaced_at             timestamptz NOT NULL,
    reason                  text NOT NULL
);
CREATE INDEX visitor_link_history_visitor ON visitor_link_history (workspace_id, visitor_id, replaced_at);
