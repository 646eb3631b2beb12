ALTER TABLE `users` ADD `disabled_at` integer;--> statement-breakpoint
CREATE INDEX `sessions_live_expires_idx` ON `sessions` (`expires_at`) WHERE "sessions"."revoked_at" IS NULL;--> statement-breakpoint
CREATE INDEX `sessions_live_device_idx` ON `sessions` (`device_type`,`expires_at`) WHERE "sessions"."revoked_at" IS NULL;--> statement-breakpoint
CREATE INDEX `sessions_live_country_idx` ON `sessions` (`country`,`expires_at`) WHERE "sessions"."revoked_at" IS NULL;--> statement-breakpoint
CREATE INDEX `sessions_created_idx` ON `sessions` (`created_at`);--> statement-breakpoint
CREATE INDEX `sessions_revoked_reason_idx` ON `sessions` (`revoked_reason`,`revoked_at`) WHERE "sessions"."revoked_at" IS NOT NULL;