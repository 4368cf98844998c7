CREATE TABLE `cron_fires` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`schedule_id` integer NOT NULL,
	`slot` integer NOT NULL,
	`job_id` integer,
	`fired_at` integer NOT NULL,
	FOREIGN KEY (`schedule_id`) REFERENCES `cron_schedules`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `cron_fires_slot_unique` ON `cron_fires` (`schedule_id`,`slot`);--> statement-breakpoint
CREATE TABLE `cron_schedules` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`cron` text,
	`tz` text,
	`every_ms` integer,
	`kind` text NOT NULL,
	`payload` text DEFAULT 'null' NOT NULL,
	`missed` text DEFAULT 'skip' NOT NULL,
	`last_slot` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	CONSTRAINT "cron_missed_check" CHECK("cron_schedules"."missed" IN ('skip', 'catch_up')),
	CONSTRAINT "cron_one_rule_check" CHECK(("cron_schedules"."cron" IS NULL) <> ("cron_schedules"."every_ms" IS NULL)),
	CONSTRAINT "cron_every_check" CHECK("cron_schedules"."every_ms" IS NULL OR "cron_schedules"."every_ms" > 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `cron_schedules_name_unique` ON `cron_schedules` (`name`);--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`payload` text DEFAULT 'null' NOT NULL,
	`status` text DEFAULT 'QUEUED' NOT NULL,
	`priority` integer DEFAULT 0 NOT NULL,
	`run_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`max_attempts` integer DEFAULT 5 NOT NULL,
	`lease_owner` text,
	`fence` integer DEFAULT 0 NOT NULL,
	`lease_expires_at` integer,
	`last_heartbeat` integer,
	`topic` text,
	`idempotency_key` text,
	`progress` real,
	`result` text,
	`error` text,
	`cancel_requested` integer DEFAULT 0 NOT NULL,
	`finished_at` integer,
	CONSTRAINT "jobs_status_check" CHECK("jobs"."status" IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'DEAD', 'CANCELLED')),
	CONSTRAINT "jobs_attempts_check" CHECK("jobs"."attempts" >= 0 AND "jobs"."max_attempts" >= 1),
	CONSTRAINT "jobs_lease_check" CHECK("jobs"."status" <> 'RUNNING' OR ("jobs"."lease_owner" IS NOT NULL AND "jobs"."lease_expires_at" IS NOT NULL)),
	CONSTRAINT "jobs_cancel_check" CHECK("jobs"."cancel_requested" IN (0, 1))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `jobs_idempotency_key_unique` ON `jobs` (`idempotency_key`);--> statement-breakpoint
CREATE INDEX `jobs_claim_idx` ON `jobs` (`kind`,"priority" DESC,`run_at`,`id`) WHERE status = 'QUEUED';--> statement-breakpoint
CREATE INDEX `jobs_topic_idx` ON `jobs` (`topic`,`status`,`id`) WHERE topic IS NOT NULL;--> statement-breakpoint
CREATE INDEX `jobs_status_idx` ON `jobs` (`status`,`lease_expires_at`);--> statement-breakpoint
CREATE INDEX `jobs_status_created_idx` ON `jobs` (`status`,`created_at`);