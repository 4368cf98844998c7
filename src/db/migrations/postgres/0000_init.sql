CREATE TABLE "action_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"event_id" bigint,
	"player_id" bigint NOT NULL,
	"kind" text NOT NULL,
	"puzzle_id" bigint,
	"detail" text,
	"ip" text,
	"user_agent" text,
	"at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "announcements" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"event_id" bigint NOT NULL,
	"title" text,
	"body" text NOT NULL,
	"author_id" bigint,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "arena_queue" (
	"user_id" bigint PRIMARY KEY NOT NULL,
	"format" text NOT NULL,
	"difficulty" text NOT NULL,
	"rating" bigint NOT NULL,
	"since" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "attachments" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"puzzle_id" bigint NOT NULL,
	"name" text NOT NULL,
	"content_type" text NOT NULL,
	"sha256" text NOT NULL,
	"size" bigint NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "attempts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"event_id" bigint NOT NULL,
	"puzzle_id" bigint NOT NULL,
	"player_id" bigint NOT NULL,
	"raw" text NOT NULL,
	"normalized" text NOT NULL,
	"outcome" text NOT NULL,
	"ip" text,
	"user_agent" text,
	"at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "cron_fires" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"schedule_id" bigint NOT NULL,
	"slot" bigint NOT NULL,
	"job_id" bigint,
	"fired_at" bigint NOT NULL,
	CONSTRAINT "cron_fires_slot_unique" UNIQUE("schedule_id","slot")
);
--> statement-breakpoint
CREATE TABLE "cron_schedules" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"cron" text,
	"tz" text,
	"every_ms" bigint,
	"kind" text NOT NULL,
	"payload" text DEFAULT 'null' NOT NULL,
	"missed" text DEFAULT 'skip' NOT NULL,
	"last_slot" bigint,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "cron_schedules_name_unique" UNIQUE("name"),
	CONSTRAINT "cron_missed_check" CHECK ("cron_schedules"."missed" IN ('skip', 'catch_up')),
	CONSTRAINT "cron_one_rule_check" CHECK (("cron_schedules"."cron" IS NULL) <> ("cron_schedules"."every_ms" IS NULL)),
	CONSTRAINT "cron_every_check" CHECK ("cron_schedules"."every_ms" IS NULL OR "cron_schedules"."every_ms" > 0)
);
--> statement-breakpoint
CREATE TABLE "events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"slug" text NOT NULL,
	"title" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"starts_at" bigint NOT NULL,
	"ends_at" bigint NOT NULL,
	"freeze_at" bigint,
	"preset" text DEFAULT 'default' NOT NULL,
	"settings" text DEFAULT '{}' NOT NULL,
	"registration" text DEFAULT 'open' NOT NULL,
	"registration_code" text,
	"is_default" bigint DEFAULT 0 NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "events_slug_unique" UNIQUE("slug"),
	CONSTRAINT "events_preset_check" CHECK ("events"."preset" IN ('default', 'enigma7')),
	CONSTRAINT "events_registration_check" CHECK ("events"."registration" IN ('open', 'closed', 'invite')),
	CONSTRAINT "events_window_check" CHECK ("events"."ends_at" > "events"."starts_at")
);
--> statement-breakpoint
CREATE TABLE "hint_reveals" (
	"player_id" bigint NOT NULL,
	"puzzle_id" bigint NOT NULL,
	"idx" bigint NOT NULL,
	"at" bigint NOT NULL,
	"via_powerup" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "hint_reveals_player_id_puzzle_id_idx_pk" PRIMARY KEY("player_id","puzzle_id","idx")
);
--> statement-breakpoint
CREATE TABLE "hunt_players" (
	"event_id" bigint NOT NULL,
	"player_id" bigint NOT NULL,
	"joined_at" bigint NOT NULL,
	"first_attempt_at" bigint,
	"finished_at" bigint,
	"points" bigint DEFAULT 0 NOT NULL,
	"points_at" bigint DEFAULT 0 NOT NULL,
	"xp_earned" bigint DEFAULT 0 NOT NULL,
	"xp_spent" bigint DEFAULT 0 NOT NULL,
	"xp_ticks" bigint DEFAULT 0 NOT NULL,
	"solves" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "hunt_players_event_id_player_id_pk" PRIMARY KEY("event_id","player_id"),
	CONSTRAINT "hunt_players_xp_spent_check" CHECK ("hunt_players"."xp_spent" >= 0)
);
--> statement-breakpoint
CREATE TABLE "hunt_score_buckets" (
	"event_id" bigint NOT NULL,
	"points" bigint NOT NULL,
	"players" bigint DEFAULT 0 NOT NULL,
	"listed" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "hunt_score_buckets_event_id_points_pk" PRIMARY KEY("event_id","points"),
	CONSTRAINT "hunt_score_buckets_nonneg" CHECK ("hunt_score_buckets"."players" >= 0 AND "hunt_score_buckets"."listed" >= 0)
);
--> statement-breakpoint
CREATE TABLE "jobs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"payload" text DEFAULT 'null' NOT NULL,
	"status" text DEFAULT 'QUEUED' NOT NULL,
	"priority" bigint DEFAULT 0 NOT NULL,
	"run_at" bigint NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"attempts" bigint DEFAULT 0 NOT NULL,
	"max_attempts" bigint DEFAULT 5 NOT NULL,
	"lease_owner" text,
	"fence" bigint DEFAULT 0 NOT NULL,
	"lease_expires_at" bigint,
	"last_heartbeat" bigint,
	"topic" text,
	"idempotency_key" text,
	"progress" double precision,
	"result" text,
	"error" text,
	"cancel_requested" bigint DEFAULT 0 NOT NULL,
	"finished_at" bigint,
	CONSTRAINT "jobs_status_check" CHECK ("jobs"."status" IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'DEAD', 'CANCELLED')),
	CONSTRAINT "jobs_attempts_check" CHECK ("jobs"."attempts" >= 0 AND "jobs"."max_attempts" >= 1),
	CONSTRAINT "jobs_lease_check" CHECK ("jobs"."status" <> 'RUNNING' OR ("jobs"."lease_owner" IS NOT NULL AND "jobs"."lease_expires_at" IS NOT NULL)),
	CONSTRAINT "jobs_cancel_check" CHECK ("jobs"."cancel_requested" IN (0, 1))
);
--> statement-breakpoint
CREATE TABLE "kv" (
	"key" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ledger" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"event_id" bigint NOT NULL,
	"player_id" bigint NOT NULL,
	"kind" text NOT NULL,
	"amount" bigint NOT NULL,
	"currency" text NOT NULL,
	"puzzle_id" bigint,
	"at" bigint NOT NULL,
	"reason" text,
	"idempotency_key" text,
	"created_by" bigint,
	CONSTRAINT "ledger_idempotency_key_unique" UNIQUE("idempotency_key"),
	CONSTRAINT "ledger_kind_check" CHECK ("ledger"."kind" IN ('solve', 'xp_tick', 'xp_solve', 'powerup', 'adjust')),
	CONSTRAINT "ledger_currency_check" CHECK ("ledger"."currency" IN ('points', 'xp'))
);
--> statement-breakpoint
CREATE TABLE "match_code" (
	"match_id" bigint NOT NULL,
	"side" bigint NOT NULL,
	"language" text NOT NULL,
	"source" text NOT NULL,
	"updated_at" bigint NOT NULL,
	"updated_by" bigint NOT NULL,
	CONSTRAINT "match_code_match_id_side_pk" PRIMARY KEY("match_id","side")
);
--> statement-breakpoint
CREATE TABLE "match_players" (
	"match_id" bigint NOT NULL,
	"user_id" bigint NOT NULL,
	"side" bigint NOT NULL,
	"start_role" text NOT NULL,
	"joined_at" bigint NOT NULL,
	"disconnected_at" bigint,
	"rating_before" bigint,
	"rating_delta" bigint,
	CONSTRAINT "match_players_match_id_user_id_pk" PRIMARY KEY("match_id","user_id"),
	CONSTRAINT "match_players_side_check" CHECK ("match_players"."side" IN (0, 1))
);
--> statement-breakpoint
CREATE TABLE "matches" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"format" text NOT NULL,
	"difficulty" text NOT NULL,
	"problem_id" bigint,
	"status" text NOT NULL,
	"invite_code" text,
	"is_public" bigint DEFAULT 0 NOT NULL,
	"rated" bigint DEFAULT 1 NOT NULL,
	"duration_sec" bigint NOT NULL,
	"countdown_sec" bigint NOT NULL,
	"created_by" bigint,
	"created_at" bigint NOT NULL,
	"starts_at" bigint,
	"ends_at" bigint,
	"swap_at" bigint,
	"swapped" bigint DEFAULT 0 NOT NULL,
	"finished_at" bigint,
	"winner_side" bigint,
	"reason" text,
	"scores" text,
	CONSTRAINT "matches_invite_code_unique" UNIQUE("invite_code"),
	CONSTRAINT "matches_format_check" CHECK ("matches"."format" IN ('duel', 'pairs')),
	CONSTRAINT "matches_status_check" CHECK ("matches"."status" IN ('waiting', 'countdown', 'running', 'finished', 'cancelled')),
	CONSTRAINT "matches_winner_check" CHECK ("matches"."winner_side" IS NULL OR "matches"."winner_side" IN (0, 1))
);
--> statement-breakpoint
CREATE TABLE "problem_files" (
	"problem_id" bigint NOT NULL,
	"path" text NOT NULL,
	"blob" text NOT NULL,
	"bytes" bigint NOT NULL,
	CONSTRAINT "problem_files_problem_id_path_pk" PRIMARY KEY("problem_id","path")
);
--> statement-breakpoint
CREATE TABLE "problem_tests" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"problem_id" bigint NOT NULL,
	"kind" text NOT NULL,
	"name" text NOT NULL,
	"ord" bigint NOT NULL,
	"input_blob" text NOT NULL,
	"answer_blob" text NOT NULL,
	"input_bytes" bigint NOT NULL,
	"answer_bytes" bigint NOT NULL,
	CONSTRAINT "problem_tests_kind_check" CHECK ("problem_tests"."kind" IN ('sample', 'secret'))
);
--> statement-breakpoint
CREATE TABLE "problems" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"slug" text NOT NULL,
	"title" text NOT NULL,
	"statement" text DEFAULT '' NOT NULL,
	"statement_format" text DEFAULT 'md' NOT NULL,
	"difficulty" text NOT NULL,
	"tags" text DEFAULT '[]' NOT NULL,
	"time_limit_ms" bigint DEFAULT 2000 NOT NULL,
	"memory_limit_mb" bigint DEFAULT 256 NOT NULL,
	"checker" text DEFAULT 'exact' NOT NULL,
	"checker_program" text,
	"meta" text DEFAULT '{}' NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "problems_slug_unique" UNIQUE("slug"),
	CONSTRAINT "problems_difficulty_check" CHECK ("problems"."difficulty" IN ('easy', 'medium', 'hard')),
	CONSTRAINT "problems_limits_check" CHECK ("problems"."time_limit_ms" > 0 AND "problems"."memory_limit_mb" > 0)
);
--> statement-breakpoint
CREATE TABLE "progress" (
	"player_id" bigint NOT NULL,
	"puzzle_id" bigint NOT NULL,
	"event_id" bigint NOT NULL,
	"unlocked_at" bigint NOT NULL,
	"solved_at" bigint,
	"skipped_at" bigint,
	"close_enough_active" bigint DEFAULT 0 NOT NULL,
	"awarded" bigint,
	"place" bigint,
	CONSTRAINT "progress_player_id_puzzle_id_pk" PRIMARY KEY("player_id","puzzle_id"),
	CONSTRAINT "progress_done_once" CHECK ("progress"."solved_at" IS NULL OR "progress"."skipped_at" IS NULL)
);
--> statement-breakpoint
CREATE TABLE "puzzles" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"event_id" bigint NOT NULL,
	"position" bigint NOT NULL,
	"title" text NOT NULL,
	"body" text DEFAULT '' NOT NULL,
	"story" text,
	"answers" text NOT NULL,
	"close_answers" text DEFAULT '[]' NOT NULL,
	"hints" text DEFAULT '[]' NOT NULL,
	"scoring" text DEFAULT '{}' NOT NULL,
	"normalize" text,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ratings" (
	"user_id" bigint PRIMARY KEY NOT NULL,
	"rating" bigint DEFAULT 1200 NOT NULL,
	"matches" bigint DEFAULT 0 NOT NULL,
	"wins" bigint DEFAULT 0 NOT NULL,
	"losses" bigint DEFAULT 0 NOT NULL,
	"draws" bigint DEFAULT 0 NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "realtime_messages" (
	"topic" text NOT NULL,
	"seq" bigint NOT NULL,
	"data" text NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "realtime_messages_topic_seq_pk" PRIMARY KEY("topic","seq")
);
--> statement-breakpoint
CREATE TABLE "realtime_topics" (
	"topic" text PRIMARY KEY NOT NULL,
	"seq" bigint NOT NULL,
	CONSTRAINT "realtime_topics_seq_check" CHECK ("realtime_topics"."seq" >= 1)
);
--> statement-breakpoint
CREATE TABLE "request_latency" (
	"minute" bigint NOT NULL,
	"le" double precision NOT NULL,
	"count" bigint NOT NULL,
	CONSTRAINT "request_latency_minute_le_pk" PRIMARY KEY("minute","le")
);
--> statement-breakpoint
CREATE TABLE "request_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"ts" bigint NOT NULL,
	"method" text NOT NULL,
	"route" text NOT NULL,
	"status" bigint NOT NULL,
	"duration_ms" double precision NOT NULL,
	"request_id" text,
	"ip" text,
	"query" text,
	"referer" text,
	"host" text,
	"user_agent" text,
	"user_id" bigint
);
--> statement-breakpoint
CREATE TABLE "request_rollup" (
	"minute" bigint NOT NULL,
	"method" text NOT NULL,
	"route" text NOT NULL,
	"status" bigint NOT NULL,
	"count" bigint NOT NULL,
	"total_ms" double precision NOT NULL,
	CONSTRAINT "request_rollup_minute_method_route_status_pk" PRIMARY KEY("minute","method","route","status"),
	CONSTRAINT "request_rollup_count_check" CHECK ("request_rollup"."count" > 0)
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" bigint NOT NULL,
	"secret_hash" "bytea" NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"ip" text,
	"user_agent" text
);
--> statement-breakpoint
CREATE TABLE "submissions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"user_id" bigint NOT NULL,
	"problem_id" bigint NOT NULL,
	"match_id" bigint,
	"side" bigint,
	"kind" text DEFAULT 'submit' NOT NULL,
	"language" text NOT NULL,
	"source" text NOT NULL,
	"custom_tests" text,
	"status" text DEFAULT 'queued' NOT NULL,
	"verdict" text,
	"tests_passed" bigint DEFAULT 0 NOT NULL,
	"secret_passed" bigint DEFAULT 0 NOT NULL,
	"secret_total" bigint DEFAULT 0 NOT NULL,
	"tests_total" bigint DEFAULT 0 NOT NULL,
	"runtime_ms_passed" bigint DEFAULT 0 NOT NULL,
	"results" text DEFAULT '[]' NOT NULL,
	"internal_errors" bigint DEFAULT 0 NOT NULL,
	"created_at" bigint NOT NULL,
	"judged_at" bigint,
	CONSTRAINT "submissions_kind_check" CHECK ("submissions"."kind" IN ('submit', 'tester'))
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"username" text NOT NULL,
	"username_key" text NOT NULL,
	"email" text,
	"password_hash" text NOT NULL,
	"role" text DEFAULT 'player' NOT NULL,
	"banned_at" bigint,
	"created_at" bigint NOT NULL,
	CONSTRAINT "users_username_key_unique" UNIQUE("username_key"),
	CONSTRAINT "users_role_check" CHECK ("users"."role" IN ('player', 'organiser'))
);
--> statement-breakpoint
ALTER TABLE "announcements" ADD CONSTRAINT "announcements_event_id_events_id_fk" FOREIGN KEY ("event_id") REFERENCES "events"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "announcements" ADD CONSTRAINT "announcements_author_id_users_id_fk" FOREIGN KEY ("author_id") REFERENCES "users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "arena_queue" ADD CONSTRAINT "arena_queue_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "attachments" ADD CONSTRAINT "attachments_puzzle_id_puzzles_id_fk" FOREIGN KEY ("puzzle_id") REFERENCES "puzzles"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cron_fires" ADD CONSTRAINT "cron_fires_schedule_id_cron_schedules_id_fk" FOREIGN KEY ("schedule_id") REFERENCES "cron_schedules"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hint_reveals" ADD CONSTRAINT "hint_reveals_puzzle_id_puzzles_id_fk" FOREIGN KEY ("puzzle_id") REFERENCES "puzzles"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hunt_players" ADD CONSTRAINT "hunt_players_event_id_events_id_fk" FOREIGN KEY ("event_id") REFERENCES "events"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hunt_players" ADD CONSTRAINT "hunt_players_player_id_users_id_fk" FOREIGN KEY ("player_id") REFERENCES "users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "match_code" ADD CONSTRAINT "match_code_match_id_matches_id_fk" FOREIGN KEY ("match_id") REFERENCES "matches"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "match_players" ADD CONSTRAINT "match_players_match_id_matches_id_fk" FOREIGN KEY ("match_id") REFERENCES "matches"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "match_players" ADD CONSTRAINT "match_players_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "matches" ADD CONSTRAINT "matches_problem_id_problems_id_fk" FOREIGN KEY ("problem_id") REFERENCES "problems"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "matches" ADD CONSTRAINT "matches_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "problem_files" ADD CONSTRAINT "problem_files_problem_id_problems_id_fk" FOREIGN KEY ("problem_id") REFERENCES "problems"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "problem_tests" ADD CONSTRAINT "problem_tests_problem_id_problems_id_fk" FOREIGN KEY ("problem_id") REFERENCES "problems"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "progress" ADD CONSTRAINT "progress_player_id_users_id_fk" FOREIGN KEY ("player_id") REFERENCES "users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "progress" ADD CONSTRAINT "progress_puzzle_id_puzzles_id_fk" FOREIGN KEY ("puzzle_id") REFERENCES "puzzles"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "puzzles" ADD CONSTRAINT "puzzles_event_id_events_id_fk" FOREIGN KEY ("event_id") REFERENCES "events"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ratings" ADD CONSTRAINT "ratings_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "submissions" ADD CONSTRAINT "submissions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "submissions" ADD CONSTRAINT "submissions_problem_id_problems_id_fk" FOREIGN KEY ("problem_id") REFERENCES "problems"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "submissions" ADD CONSTRAINT "submissions_match_id_matches_id_fk" FOREIGN KEY ("match_id") REFERENCES "matches"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "action_log_event_player" ON "action_log" USING btree ("event_id","player_id","at");--> statement-breakpoint
CREATE INDEX "announcements_event_idx" ON "announcements" USING btree ("event_id","created_at");--> statement-breakpoint
CREATE INDEX "arena_queue_bucket_idx" ON "arena_queue" USING btree ("format","difficulty","since");--> statement-breakpoint
CREATE UNIQUE INDEX "attachments_puzzle_name" ON "attachments" USING btree ("puzzle_id","name");--> statement-breakpoint
CREATE INDEX "attempts_player_event" ON "attempts" USING btree ("player_id","event_id","at");--> statement-breakpoint
CREATE INDEX "attempts_puzzle" ON "attempts" USING btree ("puzzle_id","at");--> statement-breakpoint
CREATE UNIQUE INDEX "events_one_default" ON "events" USING btree ("is_default") WHERE "events"."is_default" = 1;--> statement-breakpoint
CREATE INDEX "hunt_players_rank" ON "hunt_players" USING btree ("event_id","points" DESC,"points_at","player_id","first_attempt_at");--> statement-breakpoint
CREATE INDEX "hunt_players_player" ON "hunt_players" USING btree ("player_id");--> statement-breakpoint
CREATE INDEX "jobs_claim_idx" ON "jobs" USING btree ("kind","priority" DESC,"run_at","id") WHERE status = 'QUEUED';--> statement-breakpoint
CREATE INDEX "jobs_topic_idx" ON "jobs" USING btree ("topic","status","id") WHERE topic IS NOT NULL;--> statement-breakpoint
CREATE INDEX "jobs_status_idx" ON "jobs" USING btree ("status","lease_expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "jobs_idempotency_key_unique" ON "jobs" USING btree ("idempotency_key") WHERE idempotency_key IS NOT NULL;--> statement-breakpoint
CREATE INDEX "jobs_finished_idx" ON "jobs" USING btree ("finished_at") WHERE finished_at IS NOT NULL;--> statement-breakpoint
CREATE INDEX "ledger_event_player" ON "ledger" USING btree ("event_id","player_id","at");--> statement-breakpoint
CREATE UNIQUE INDEX "match_players_seat_uq" ON "match_players" USING btree ("match_id","side","start_role");--> statement-breakpoint
CREATE INDEX "match_players_user_idx" ON "match_players" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "matches_status_idx" ON "matches" USING btree ("status");--> statement-breakpoint
CREATE UNIQUE INDEX "problem_tests_name_uq" ON "problem_tests" USING btree ("problem_id","kind","name");--> statement-breakpoint
CREATE INDEX "progress_player_event" ON "progress" USING btree ("player_id","event_id");--> statement-breakpoint
CREATE INDEX "progress_puzzle_solved" ON "progress" USING btree ("puzzle_id","solved_at");--> statement-breakpoint
CREATE UNIQUE INDEX "puzzles_event_position" ON "puzzles" USING btree ("event_id","position");--> statement-breakpoint
CREATE INDEX "realtime_messages_created_idx" ON "realtime_messages" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "request_log_ts_idx" ON "request_log" USING btree ("ts");--> statement-breakpoint
CREATE INDEX "sessions_user_idx" ON "sessions" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "sessions_expires_idx" ON "sessions" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "submissions_user_idx" ON "submissions" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "submissions_match_idx" ON "submissions" USING btree ("match_id","side","created_at");--> statement-breakpoint
CREATE INDEX "submissions_status_idx" ON "submissions" USING btree ("status");