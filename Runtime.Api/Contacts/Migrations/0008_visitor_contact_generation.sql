-- A visitor's link can be replaced (a signed CRM webhook over an anonymous identify claim): each
-- VisitorLinkedToContact carries the link's generation, and only a newer one replaces the remembered
-- contact, whatever order the messages arrive in. Links remembered before this migration are generation 1.
ALTER TABLE visitor_contacts ADD COLUMN generation integer NOT NULL DEFAULT 1;
