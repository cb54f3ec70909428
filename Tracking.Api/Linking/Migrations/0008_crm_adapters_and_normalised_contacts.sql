-- Issue 16: one contact per person, placeholder visitor ids, CRM adapters.

-- Phones are stored as "+" and their E.164 digits (PhoneNumbers.E164): "+1 (650) 555-1234",
-- "16505551234" and "++16505551234" all become "+16505551234". tracking.contacts has no unique key
-- on phone, so every row that holds a phone number is normalised; text that is no phone number stays.
WITH candidates AS (
    SELECT workspace_id, id, regexp_replace(phone, '[^0-9]', '', 'g') AS digits, phone ~ '^[^0-9]*\+' AS plus
    FROM contacts WHERE phone ~ '^[\s+().-]*[0-9][0-9\s().-]*$'
), normalised AS (
    SELECT workspace_id, id, CASE WHEN NOT plus AND digits LIKE '00%' THEN substr(digits, 3) ELSE digits END AS digits FROM candidates
)
UPDATE contacts c SET phone = '+' || n.digits
FROM normalised n
WHERE c.workspace_id = n.workspace_id AND c.id = n.id AND length(n.digits) BETWEEN 7 AND 15 AND c.phone <> '+' || n.digits;

-- GoHighLevel sends tags as "a, b" or ["a", "b"]; kept as a list.
ALTER TABLE contacts ADD COLUMN tags text[];

-- A placeholder ("null", "undefined", "", "{{contact.fid_vid}}"...) was once accepted as a visitor id
-- and linked to whichever contact sent it first. Such a link identifies nobody: it is dropped, and
-- sessions that followed it are unlinked (t.js never sends a placeholder, so there are none in practice).
UPDATE sessions SET contact_id = NULL, linked_at = NULL, link_method = NULL
WHERE lower(btrim(visitor_id)) IN ('', 'null', 'undefined', 'nan', '[object object]', 'none', 'nil', 'false', 'true', '0', '-')
   OR visitor_id ~ '^\s*\{\{.*\}\}\s*$';
DELETE FROM visitor_links
WHERE lower(btrim(visitor_id)) IN ('', 'null', 'undefined', 'nan', '[object object]', 'none', 'nil', 'false', 'true', '0', '-')
   OR visitor_id ~ '^\s*\{\{.*\}\}\s*$';

-- How each CRM of a workspace delivers contacts (Linking/Crm): which adapter reads the body, how
-- the sender authenticates, and where the visitor id is. secret_protected is SecretProtector's
-- ciphertext (purpose "crm:{workspace}:{adapter}") of the HMAC key, token, basic-auth password or
-- HubSpot app secret; a path token is kept only as its SHA-256, which finds the row.
CREATE TABLE crm_adapters (
    workspace_id      uuid NOT NULL,
    adapter           text NOT NULL CHECK (adapter IN ('gohighlevel', 'hubspot', 'pipedrive', 'generic')),
    auth              text NOT NULL CHECK (auth IN ('hmac', 'token', 'basic', 'path_token', 'hubspot_v3')),
    secret_protected  text,
    basic_username    text,
    path_token_hash   text UNIQUE,
    visitor_field     text,
    paths             jsonb,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, adapter)
);
