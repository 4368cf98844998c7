CREATE TABLE `hunt_score_buckets` (
	`event_id` integer NOT NULL,
	`points` integer NOT NULL,
	`players` integer DEFAULT 0 NOT NULL,
	`listed` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`event_id`, `points`),
	CONSTRAINT "hunt_score_buckets_nonneg" CHECK("hunt_score_buckets"."players" >= 0 AND "hunt_score_buckets"."listed" >= 0)
);
--> statement-breakpoint
INSERT INTO `hunt_score_buckets` (`event_id`, `points`, `players`, `listed`) SELECT `event_id`, `points`, count(*), sum(`first_attempt_at` IS NOT NULL) FROM `hunt_players` GROUP BY `event_id`, `points`;
