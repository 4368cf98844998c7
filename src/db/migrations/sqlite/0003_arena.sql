CREATE TABLE `arena_queue` (
	`user_id` integer PRIMARY KEY NOT NULL,
	`format` text NOT NULL,
	`difficulty` text NOT NULL,
	`rating` integer NOT NULL,
	`since` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `arena_queue_bucket_idx` ON `arena_queue` (`format`,`difficulty`,`since`);--> statement-breakpoint
CREATE TABLE `match_code` (
	`match_id` integer NOT NULL,
	`side` integer NOT NULL,
	`language` text NOT NULL,
	`source` text NOT NULL,
	`updated_at` integer NOT NULL,
	`updated_by` integer NOT NULL,
	PRIMARY KEY(`match_id`, `side`),
	FOREIGN KEY (`match_id`) REFERENCES `matches`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `match_players` (
	`match_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`side` integer NOT NULL,
	`start_role` text NOT NULL,
	`joined_at` integer NOT NULL,
	`disconnected_at` integer,
	`rating_before` integer,
	`rating_delta` integer,
	PRIMARY KEY(`match_id`, `user_id`),
	FOREIGN KEY (`match_id`) REFERENCES `matches`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "match_players_side_check" CHECK("match_players"."side" IN (0, 1))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `match_players_seat_uq` ON `match_players` (`match_id`,`side`,`start_role`);--> statement-breakpoint
CREATE INDEX `match_players_user_idx` ON `match_players` (`user_id`);--> statement-breakpoint
CREATE TABLE `matches` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`format` text NOT NULL,
	`difficulty` text NOT NULL,
	`problem_id` integer,
	`status` text NOT NULL,
	`invite_code` text,
	`is_public` integer DEFAULT false NOT NULL,
	`rated` integer DEFAULT true NOT NULL,
	`duration_sec` integer NOT NULL,
	`countdown_sec` integer NOT NULL,
	`created_by` integer,
	`created_at` integer NOT NULL,
	`starts_at` integer,
	`ends_at` integer,
	`swap_at` integer,
	`swapped` integer DEFAULT false NOT NULL,
	`finished_at` integer,
	`winner_side` integer,
	`reason` text,
	`scores` text,
	FOREIGN KEY (`problem_id`) REFERENCES `problems`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "matches_format_check" CHECK("matches"."format" IN ('duel', 'pairs')),
	CONSTRAINT "matches_status_check" CHECK("matches"."status" IN ('waiting', 'countdown', 'running', 'finished', 'cancelled')),
	CONSTRAINT "matches_winner_check" CHECK("matches"."winner_side" IS NULL OR "matches"."winner_side" IN (0, 1))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `matches_invite_code_unique` ON `matches` (`invite_code`);--> statement-breakpoint
CREATE INDEX `matches_status_idx` ON `matches` (`status`);--> statement-breakpoint
CREATE TABLE `problem_files` (
	`problem_id` integer NOT NULL,
	`path` text NOT NULL,
	`blob` text NOT NULL,
	`bytes` integer NOT NULL,
	PRIMARY KEY(`problem_id`, `path`),
	FOREIGN KEY (`problem_id`) REFERENCES `problems`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `problem_tests` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`problem_id` integer NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`ord` integer NOT NULL,
	`input_blob` text NOT NULL,
	`answer_blob` text NOT NULL,
	`input_bytes` integer NOT NULL,
	`answer_bytes` integer NOT NULL,
	FOREIGN KEY (`problem_id`) REFERENCES `problems`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "problem_tests_kind_check" CHECK("problem_tests"."kind" IN ('sample', 'secret'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `problem_tests_name_uq` ON `problem_tests` (`problem_id`,`kind`,`name`);--> statement-breakpoint
CREATE TABLE `problems` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`slug` text NOT NULL,
	`title` text NOT NULL,
	`statement` text DEFAULT '' NOT NULL,
	`statement_format` text DEFAULT 'md' NOT NULL,
	`difficulty` text NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL,
	`time_limit_ms` integer DEFAULT 2000 NOT NULL,
	`memory_limit_mb` integer DEFAULT 256 NOT NULL,
	`checker` text DEFAULT 'exact' NOT NULL,
	`checker_program` text,
	`meta` text DEFAULT '{}' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	CONSTRAINT "problems_difficulty_check" CHECK("problems"."difficulty" IN ('easy', 'medium', 'hard')),
	CONSTRAINT "problems_limits_check" CHECK("problems"."time_limit_ms" > 0 AND "problems"."memory_limit_mb" > 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `problems_slug_unique` ON `problems` (`slug`);--> statement-breakpoint
CREATE TABLE `ratings` (
	`user_id` integer PRIMARY KEY NOT NULL,
	`rating` integer DEFAULT 1200 NOT NULL,
	`matches` integer DEFAULT 0 NOT NULL,
	`wins` integer DEFAULT 0 NOT NULL,
	`losses` integer DEFAULT 0 NOT NULL,
	`draws` integer DEFAULT 0 NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `submissions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`user_id` integer NOT NULL,
	`problem_id` integer NOT NULL,
	`match_id` integer,
	`side` integer,
	`kind` text DEFAULT 'submit' NOT NULL,
	`language` text NOT NULL,
	`source` text NOT NULL,
	`custom_tests` text,
	`status` text DEFAULT 'queued' NOT NULL,
	`verdict` text,
	`tests_passed` integer DEFAULT 0 NOT NULL,
	`secret_passed` integer DEFAULT 0 NOT NULL,
	`secret_total` integer DEFAULT 0 NOT NULL,
	`tests_total` integer DEFAULT 0 NOT NULL,
	`runtime_ms_passed` integer DEFAULT 0 NOT NULL,
	`results` text DEFAULT '[]' NOT NULL,
	`internal_errors` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`judged_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`problem_id`) REFERENCES `problems`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`match_id`) REFERENCES `matches`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "submissions_kind_check" CHECK("submissions"."kind" IN ('submit', 'tester'))
);
--> statement-breakpoint
CREATE INDEX `submissions_user_idx` ON `submissions` (`user_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `submissions_match_idx` ON `submissions` (`match_id`,`side`,`created_at`);--> statement-breakpoint
CREATE INDEX `submissions_status_idx` ON `submissions` (`status`);