CREATE TABLE `action_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`event_id` integer,
	`player_id` integer NOT NULL,
	`kind` text NOT NULL,
	`puzzle_id` integer,
	`detail` text,
	`ip` text,
	`user_agent` text,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `action_log_event_player` ON `action_log` (`event_id`,`player_id`,`at`);--> statement-breakpoint
CREATE TABLE `attachments` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`puzzle_id` integer NOT NULL,
	`name` text NOT NULL,
	`content_type` text NOT NULL,
	`sha256` text NOT NULL,
	`size` integer NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`puzzle_id`) REFERENCES `puzzles`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `attachments_puzzle_name` ON `attachments` (`puzzle_id`,`name`);--> statement-breakpoint
CREATE TABLE `attempts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`event_id` integer NOT NULL,
	`puzzle_id` integer NOT NULL,
	`player_id` integer NOT NULL,
	`raw` text NOT NULL,
	`normalized` text NOT NULL,
	`outcome` text NOT NULL,
	`ip` text,
	`user_agent` text,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `attempts_player_event` ON `attempts` (`player_id`,`event_id`,`at`);--> statement-breakpoint
CREATE INDEX `attempts_puzzle` ON `attempts` (`puzzle_id`,`at`);--> statement-breakpoint
CREATE TABLE `events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`slug` text NOT NULL,
	`title` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`starts_at` integer NOT NULL,
	`ends_at` integer NOT NULL,
	`freeze_at` integer,
	`preset` text DEFAULT 'default' NOT NULL,
	`settings` text DEFAULT '{}' NOT NULL,
	`registration` text DEFAULT 'open' NOT NULL,
	`registration_code` text,
	`is_default` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	CONSTRAINT "events_preset_check" CHECK("events"."preset" IN ('default', 'enigma7')),
	CONSTRAINT "events_registration_check" CHECK("events"."registration" IN ('open', 'closed', 'invite')),
	CONSTRAINT "events_window_check" CHECK("events"."ends_at" > "events"."starts_at")
);
--> statement-breakpoint
CREATE UNIQUE INDEX `events_slug_unique` ON `events` (`slug`);--> statement-breakpoint
CREATE UNIQUE INDEX `events_one_default` ON `events` (`is_default`) WHERE "events"."is_default" = 1;--> statement-breakpoint
CREATE TABLE `hint_reveals` (
	`player_id` integer NOT NULL,
	`puzzle_id` integer NOT NULL,
	`idx` integer NOT NULL,
	`at` integer NOT NULL,
	`via_powerup` integer DEFAULT false NOT NULL,
	PRIMARY KEY(`player_id`, `puzzle_id`, `idx`),
	FOREIGN KEY (`puzzle_id`) REFERENCES `puzzles`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `hunt_players` (
	`event_id` integer NOT NULL,
	`player_id` integer NOT NULL,
	`joined_at` integer NOT NULL,
	`first_attempt_at` integer,
	`finished_at` integer,
	`points` integer DEFAULT 0 NOT NULL,
	`points_at` integer DEFAULT 0 NOT NULL,
	`xp_earned` integer DEFAULT 0 NOT NULL,
	`xp_spent` integer DEFAULT 0 NOT NULL,
	`xp_ticks` integer DEFAULT 0 NOT NULL,
	`solves` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`event_id`, `player_id`),
	FOREIGN KEY (`event_id`) REFERENCES `events`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`player_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "hunt_players_xp_spent_check" CHECK("hunt_players"."xp_spent" >= 0)
);
--> statement-breakpoint
CREATE INDEX `hunt_players_rank` ON `hunt_players` (`event_id`,"points" DESC,`points_at`,`player_id`,`first_attempt_at`);--> statement-breakpoint
CREATE INDEX `hunt_players_player` ON `hunt_players` (`player_id`);--> statement-breakpoint
CREATE TABLE `ledger` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`event_id` integer NOT NULL,
	`player_id` integer NOT NULL,
	`kind` text NOT NULL,
	`amount` integer NOT NULL,
	`currency` text NOT NULL,
	`puzzle_id` integer,
	`at` integer NOT NULL,
	`reason` text,
	`idempotency_key` text,
	`created_by` integer,
	CONSTRAINT "ledger_kind_check" CHECK("ledger"."kind" IN ('solve', 'xp_tick', 'xp_solve', 'powerup', 'adjust')),
	CONSTRAINT "ledger_currency_check" CHECK("ledger"."currency" IN ('points', 'xp'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ledger_idempotency_key_unique` ON `ledger` (`idempotency_key`);--> statement-breakpoint
CREATE INDEX `ledger_event_player` ON `ledger` (`event_id`,`player_id`,`at`);--> statement-breakpoint
CREATE TABLE `progress` (
	`player_id` integer NOT NULL,
	`puzzle_id` integer NOT NULL,
	`event_id` integer NOT NULL,
	`unlocked_at` integer NOT NULL,
	`solved_at` integer,
	`skipped_at` integer,
	`close_enough_active` integer DEFAULT false NOT NULL,
	`awarded` integer,
	`place` integer,
	PRIMARY KEY(`player_id`, `puzzle_id`),
	FOREIGN KEY (`player_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`puzzle_id`) REFERENCES `puzzles`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "progress_done_once" CHECK("progress"."solved_at" IS NULL OR "progress"."skipped_at" IS NULL)
);
--> statement-breakpoint
CREATE INDEX `progress_player_event` ON `progress` (`player_id`,`event_id`);--> statement-breakpoint
CREATE INDEX `progress_puzzle_solved` ON `progress` (`puzzle_id`,`solved_at`);--> statement-breakpoint
CREATE TABLE `puzzles` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`event_id` integer NOT NULL,
	`position` integer NOT NULL,
	`title` text NOT NULL,
	`body` text DEFAULT '' NOT NULL,
	`story` text,
	`answers` text NOT NULL,
	`close_answers` text DEFAULT '[]' NOT NULL,
	`hints` text DEFAULT '[]' NOT NULL,
	`scoring` text DEFAULT '{}' NOT NULL,
	`normalize` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`event_id`) REFERENCES `events`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `puzzles_event_position` ON `puzzles` (`event_id`,`position`);