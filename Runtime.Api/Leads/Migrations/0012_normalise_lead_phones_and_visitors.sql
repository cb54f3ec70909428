-- Issue 16: one lead per person, placeholder visitor ids.

-- Lead phones are stored as "+" and their E.164 digits (PhoneNumbers.E164), so "+16505551234" and
-- "16505551234" match the same lead. The phone column has no unique key: every row is normalised.
WITH candidates AS (
    SELECT id, regexp_replace(phone, '[^0-9]', '', 'g') AS digits, phone ~ '^[^0-9]*\+' AS plus
    FROM leads WHERE phone ~ '^[\s+().-]*[0-9][0-9\s().-]*$'
), normalised AS (
    SELECT id, CASE WHEN NOT plus AND digits LIKE '00%' THEN substr(digits, 3) ELSE digits END AS digits FROM candidates
)
UPDATE leads l SET phone = '+' || n.digits
FROM normalised n
WHERE l.id = n.id AND length(n.digits) BETWEEN 7 AND 15 AND l.phone <> '+' || n.digits;

-- A lead identified by its phone takes the normalised identity key, unless another lead of the
-- workspace holds that key already (the unique key forbids it): then both leads stay, as they
-- were, and new submissions of that number match either by phone (the oldest wins; docs/crm-webhooks.md).
UPDATE leads l SET identity_key = c.key
FROM (
    SELECT DISTINCT ON (workspace_id, 'phone:' || phone) id, workspace_id, 'phone:' || phone AS key FROM leads
    WHERE identity_key LIKE 'phone:%' AND phone LIKE '+%' AND identity_key <> 'phone:' || phone
    ORDER BY workspace_id, 'phone:' || phone, created_at, id
) c
WHERE l.id = c.id AND NOT EXISTS (SELECT 1 FROM leads o WHERE o.workspace_id = c.workspace_id AND o.identity_key = c.key);

-- A placeholder visitor id ("null", "undefined", "", ...) identifies nobody. Leads that were joined
-- to a contact through one lose that contact, the remembered placeholder link is dropped, and the
-- placeholder is cleared from the leads (their identity key is kept: it is unique and matches nothing new).
DELETE FROM visitor_contacts
WHERE lower(btrim(visitor_id)) IN ('', 'null', 'undefined', 'nan', '[object object]', 'none', 'nil', 'false', 'true', '0', '-')
   OR visitor_id ~ '^\s*\{\{.*\}\}\s*$';
UPDATE leads SET visitor_id = NULL, contact_id = NULL
WHERE lower(btrim(visitor_id)) IN ('', 'null', 'undefined', 'nan', '[object object]', 'none', 'nil', 'false', 'true', '0', '-')
   OR visitor_id ~ '^\s*\{\{.*\}\}\s*$';
