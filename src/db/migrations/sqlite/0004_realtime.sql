CREATE TABLE `announcements` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`event_id` integer NOT NULL,
	`title` text,
	`body` text NOT NULL,
	`author_id` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`event_id`) REFERENCES `events`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`author_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `announcements_event_idx` ON `announcements` (`event_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `realtime_messages` (
	`topic` text NOT NULL,
	`seq` integer NOT NULL,
	`data` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`topic`, `seq`)
);
--> statement-breakpoint
CREATE INDEX `realtime_messages_created_idx` ON `realtime_messages` (`created_at`);--> statement-breakpoint
CREATE TABLE `realtime_topics` (
	`topic` text PRIMARY KEY NOT NULL,
	`seq` integer NOT NULL,
	CONSTRAINT "realtime_topics_seq_check" CHECK("realtime_topics"."seq" >= 1)
);
