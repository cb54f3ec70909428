-- Issue 16: one WhatsApp contact per person. wa_id is the number's E.164 digits (what Meta sends),
-- phone is "+" and those digits (PhoneNumbers). A contact stored as "+16505551234" or with phone
-- "++16505551234" is normalised.

WITH candidates AS (
    SELECT id, regexp_replace(phone, '[^0-9]', '', 'g') AS digits, phone ~ '^[^0-9]*\+' AS plus
    FROM contacts WHERE phone ~ '^[\s+().-]*[0-9][0-9\s().-]*$'
), normalised AS (
    SELECT id, CASE WHEN NOT plus AND digits LIKE '00%' THEN substr(digits, 3) ELSE digits END AS digits FROM candidates
)
UPDATE contacts c SET phone = '+' || n.digits
FROM normalised n
WHERE c.id = n.id AND length(n.digits) BETWEEN 7 AND 15 AND c.phone <> '+' || n.digits;

-- wa_id is unique per workspace: a contact takes its digits-only wa_id unless another contact of the
-- workspace has it already. Such duplicates stay two contacts (their runs and messages point at
-- them); new messages go to the one whose wa_id is the digits (docs/crm-webhooks.md).
UPDATE contacts c SET wa_id = d.digits
FROM (
    SELECT DISTINCT ON (workspace_id, regexp_replace(wa_id, '[^0-9]', '', 'g')) id, workspace_id, regexp_replace(wa_id, '[^0-9]', '', 'g') AS digits
    FROM contacts
    WHERE wa_id ~ '^[\s+().-]*[0-9][0-9\s().-]*$' AND wa_id <> regexp_replace(wa_id, '[^0-9]', '', 'g')
    ORDER BY workspace_id, regexp_replace(wa_id, '[^0-9]', '', 'g'), created_at, id
) d
WHERE c.id = d.id AND length(d.digits) BETWEEN 7 AND 15
  AND NOT EXISTS (SELECT 1 FROM contacts o WHERE o.workspace_id = d.workspace_id AND o.wa_id = d.digits);
