CREATE TABLE `security_events` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`type` text NOT NULL,
	`session_id` text,
	`created_at` integer NOT NULL,
	`details` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `security_events_user_created_idx` ON `security_events` (`user_id`,"created_at" DESC,"id" DESC);--> statement-breakpoint
CREATE INDEX `security_events_created_idx` ON `security_events` (`created_at`);