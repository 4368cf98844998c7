-- Hand-written (not drizzle schema). drizzle's sqlite-core INSERT sends an
-- explicit NULL for an omitted autoincrement id (SQLite makes a new rowid of
-- it); a PostgreSQL column default does not apply to an explicit NULL. So each
-- table with an autoincrement id gets this BEFORE INSERT trigger: a NULL id
-- takes the next value of the table's sequence, named by the trigger's
-- argument and looked up in the table's own schema (so it works under any
-- search_path). A new autoincrement table needs its own trigger in a later
-- migration; src/db/schema/pg.test.ts fails until it has one.
CREATE FUNCTION gauntlet_fill_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id IS NULL THEN
    NEW.id := nextval(format('%I.%I', TG_TABLE_SCHEMA, TG_ARGV[0])::regclass);
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "action_log_fill_id" BEFORE INSERT ON "action_log" FOR EACH ROW EXECUTE FUNCTION gauntlet_fill_id('action_log_id_seq');
--> statement-breakpoint
CREATE TRIGGER "announcements_fill_id" BEFORE INSERT ON "announcements" FOR EACH ROW EXECUTE FUNCTION gauntlet_fill_id('announcements_id_seq');
--> statement-breakpoint
CREATE TRIGGER "attachments_fill_id" BEFORE INSERT ON "attachments" FOR EACH ROW EXECUTE FUNCTION gauntlet_fill_id('attachments_id_seq');
--> statement-breakpoint
CREATE TRIGGER "attempts_fill_id" BEFORE INSERT ON "attempts" FOR EACH ROW EXECUTE FUNCTION gauntlet_fill_id('attempts_id_seq');
--> statement-breakpoint
CREATE TRIGGER "cron_fires_fill_id" BEFORE INSERT ON "cron_fires" FOR EACH ROW EXECUTE FUNCTION gauntlet_fill_id('cron_fires_id_seq');
--> statement-breakpoint
CREATE TRIGGER "cron_schedules_fill_id" BEFORE INSERT ON "cron_schedules" FOR EACH ROW EXECUTE FUNCTION gauntlet_fill_id('cron_schedules_id_seq');
--> statement-breakpoint
CREATE TRIGGER "events_fill_id" BEFORE INSERT ON "events" FOR EACH ROW EXECUTE FUNCTION gauntlet_fill_id('events_id_seq');
--> statement-breakpoint
CREATE TRIGGER "jobs_fill_id" BEFORE INSERT ON "jobs" FOR EACH ROW EXECUTE FUNCTION gauntlet_fill_id('jobs_id_seq');
--> statement-breakpoint
CREATE TRIGGER "ledger_fill_id" BEFORE INSERT ON "ledger" FOR EACH ROW EXECUTE FUNCTION gauntlet_fill_id('ledger_id_seq');
--> statement-breakpoint
CREATE TRIGGER "matches_fill_id" BEFORE INSERT ON "matches" FOR EACH ROW EXECUTE FUNCTION gauntlet_fill_id('matches_id_seq');
--> statement-breakpoint
CREATE TRIGGER "problem_tests_fill_id" BEFORE INSERT ON "problem_tests" FOR EACH ROW EXECUTE FUNCTION gauntlet_fill_id('problem_tests_id_seq');
--> statement-breakpoint
CREATE TRIGGER "problems_fill_id" BEFORE INSERT ON "problems" FOR EACH ROW EXECUTE FUNCTION gauntlet_fill_id('problems_id_seq');
--> statement-breakpoint
CREATE TRIGGER "puzzles_fill_id" BEFORE INSERT ON "puzzles" FOR EACH ROW EXECUTE FUNCTION gauntlet_fill_id('puzzles_id_seq');
--> statement-breakpoint
CREATE TRIGGER "request_log_fill_id" BEFORE INSERT ON "request_log" FOR EACH ROW EXECUTE FUNCTION gauntlet_fill_id('request_log_id_seq');
--> statement-breakpoint
CREATE TRIGGER "submissions_fill_id" BEFORE INSERT ON "submissions" FOR EACH ROW EXECUTE FUNCTION gauntlet_fill_id('submissions_id_seq');
--> statement-breakpoint
CREATE TRIGGER "users_fill_id" BEFORE INSERT ON "users" FOR EACH ROW EXECUTE FUNCTION gauntlet_fill_id('users_id_seq');
