import { z } from "zod";

// C0/C1 controls, and the bidirectional overrides and isolates that make text display as something else.
const UNSAFE_TEXT = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

const wellFormed = (value: string) => value.isWellFormed();

/** Display text from a client (device names): trimmed, short, no control or direction-override characters. */
export const displayText = (max: number) =>
  z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(max, `must be at most ${max} characters`)
    .refine(wellFormed, "must be valid Unicode")
    .refine((value) => !UNSAFE_TEXT.test(value), "must not contain control or direction-override characters");

export const email = z
  .string()
  .trim()
  .max(254, "must be at most 254 characters")
  .refine(wellFormed, "must be valid Unicode")
  .refine((value) => !UNSAFE_TEXT.test(value), "must not contain control characters")
  .pipe(z.email("must be an email address"))
  .transform((value) => value.toLowerCase());

/** ASVS 5.0 V6.2: at least 8 characters, long passphrases allowed, any printable Unicode. */
export const newPassword = z
  .string()
  .min(8, "must be at least 8 characters")
  .max(256, "must be at most 256 characters")
  .refine(wellFormed, "must be valid Unicode");

/**
 * A password being checked, not set: bounded, so a 10 KB value never reaches PBKDF2, and well-formed,
 * because UTF-8 encoding turns a lone surrogate into U+FFFD and would match a different password.
 */
export const presentedPassword = z
  .string()
  .min(1, "is required")
  .max(256, "must be at most 256 characters")
  .refine(wellFormed, "must be valid Unicode");

export const tokenTransport = z.enum(["cookie", "body"]).default("cookie");
