-- Which CRM contact a tracked visitor turned out to be, as Tracking.Api announced it
-- (VisitorLinkedToContact). Kept here so that a lead created after the announcement is joined too.
CREATE TABLE visitor_contacts (
    workspace_id  uuid NOT NULL,
    visitor_id    text NOT NULL,
    contact_id    text NOT NULL,
    linked_at     timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, visitor_id)
);

-- A lead written after its visitor was linked gets the contact on insert.
CREATE FUNCTION leads_contact_from_visitor() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.contact_id IS NULL AND NEW.visitor_id IS NOT NULL THEN
        SELECT contact_id INTO NEW.contact_id FROM runtime.visitor_contacts
        WHERE workspace_id = NEW.workspace_id AND visitor_id = NEW.visitor_id;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER leads_contact_from_visitor BEFORE INSERT OR UPDATE OF visitor_id ON leads
    FOR EACH ROW EXECUTE FUNCTION leads_contact_from_visitor();
