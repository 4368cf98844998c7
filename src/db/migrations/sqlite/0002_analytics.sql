CREATE TABLE `request_latency` (
	`minute` integer NOT NULL,
	`le` real NOT NULL,
	`count` integer NOT NULL,
	PRIMARY KEY(`minute`, `le`)
);
--> statement-breakpoint
CREATE TABLE `request_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ts` integer NOT NULL,
	`method` text NOT NULL,
	`route` text NOT NULL,
	`status` integer NOT NULL,
	`duration_ms` real NOT NULL,
	`request_id` text,
	`ip` text,
	`query` text,
	`referer` text,
	`host` text,
	`user_agent` text,
	`user_id` integer
);
--> statement-breakpoint
CREATE INDEX `request_log_ts_idx` ON `request_log` (`ts`);--> statement-breakpoint
CREATE TABLE `request_rollup` (
	`minute` integer NOT NULL,
	`method` text NOT NULL,
	`route` text NOT NULL,
	`status` integer NOT NULL,
	`count` integer NOT NULL,
	`total_ms` real NOT NULL,
	PRIMARY KEY(`minute`, `method`, `route`, `status`),
	CONSTRAINT "request_rollup_count_check" CHECK("request_rollup"."count" > 0)
);
