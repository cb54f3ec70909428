-- A test-send reserves its run's id up front, so the admin who asked can follow the run at once;
-- triggers from inbound phrases and leads leave it empty and the run gets its id when it starts.
ALTER TABLE scheduled_triggers ADD COLUMN run_id uuid UNIQUE;
