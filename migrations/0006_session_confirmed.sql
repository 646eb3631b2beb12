ALTER TABLE `sessions` ADD `confirmed_at` integer;--> statement-breakpoint
-- Sessions mirrored before this column existed had all been answered (or ended): confirmed at creation.
UPDATE `sessions` SET `confirmed_at` = `created_at`;
