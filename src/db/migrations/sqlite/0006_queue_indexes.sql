DROP INDEX `jobs_status_created_idx`;--> statement-breakpoint
DROP INDEX `jobs_idempotency_key_unique`;--> statement-breakpoint
CREATE UNIQUE INDEX `jobs_idempotency_key_unique` ON `jobs` (`idempotency_key`) WHERE idempotency_key IS NOT NULL;