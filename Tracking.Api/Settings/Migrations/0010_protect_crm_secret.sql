-- The workspace's CRM secret (the first GoHighLevel webhook's) is encrypted at rest like the CRM
-- adapters' secrets: crm_secret_protected is SecretProtector's ciphertext (purpose
-- "crm-secret:{workspace}"). SQL cannot encrypt, so nothing moves here: Tracking.Api encrypts the
-- plain-text values left in crm_secret at start-up and when a delivery first reads one, and clears
-- them (CrmSecrets). Every write from now on stores ciphertext and clears crm_secret, so a value
-- still in crm_secret is the newest one.
ALTER TABLE workspace_settings ADD COLUMN crm_secret_protected text;
