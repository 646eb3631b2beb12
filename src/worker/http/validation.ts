import { type core, z } from "zod";

/**
 * Validation messages, in one place. A schema states a rule as a phrase without its subject ("must
 * not contain control characters"); the rules zod checks itself (presence, type, length, range,
 * options, format) get theirs from `ruleOf`, computed from the schema's own limits. `fieldErrors`
 * then puts the field in front, so each message is a sentence a person can act on:
 * "Email is required", "Password must be at least 8 characters", "device_name must be at most 64 characters".
 */

/**
 * Code points that make text display as something other than what it holds (ASVS 5.0 V1.2 and
 * V2.2, UTS #39 §3.1 and UTR #36 §3): controls (Cc); format characters (Cf: zero-width space and
 * joiners, LRM/RLM and every bidirectional override and isolate, BOM, soft hyphen, tag
 * characters); private-use code points (Co), whose glyphs depend on the font; noncharacters
 * (U+FDD0-FDEF and U+xFFFE/xFFFF, never for interchange); and the line and paragraph separators.
 * Lone surrogates are refused by the well-formedness check beside it.
 */
const HIDDEN_TEXT = /[\p{Cc}\p{Cf}\p{Co}\p{Zl}\p{Zp}\p{Noncharacter_Code_Point}]/u;
const HIDDEN_RULE = "must not contain control, invisible or private-use characters";

const wellFormed = (value: string) => value.isWellFormed();

/** Display text from a client (device and passkey names): trimmed, short, nothing hidden in it. */
export const displayText = (max: number) =>
  z
    .string()
    // Before trimming, which would drop a BOM or line separator at either end and so accept it.
    .refine(wellFormed, "must be valid Unicode")
    .refine((value) => !HIDDEN_TEXT.test(value), HIDDEN_RULE)
    .trim()
    .min(1)
    .max(max);

export const email = z
  .string()
  .trim()
  .max(254)
  .refine(wellFormed, "must be valid Unicode")
  .refine((value) => !HIDDEN_TEXT.test(value), HIDDEN_RULE)
  .pipe(z.email())
  .transform((value) => value.toLowerCase());

/**
 * A password being set: any Unicode, long passphrases allowed (ASVS 5.0 V6.2.1, V6.2.9), never
 * trimmed. Its length and the rest of the rule are checked against the configuration and the
 * account (`passwordWeakness`, 400 `weak_password`), not here.
 */
export const newPassword = z.string().min(1, "is required").max(256).refine(wellFormed, "must be valid Unicode");

/**
 * A password being checked, not set: bounded, so a 10 KB value never reaches PBKDF2, and well-formed,
 * because UTF-8 encoding turns a lone surrogate into U+FFFD and would match a different password.
 */
export const presentedPassword = z.string().min(1, "is required").max(256).refine(wellFormed, "must be valid Unicode");

export const tokenTransport = z.enum(["cookie", "body"]).default("cookie");

const TYPE_RULES: Record<string, string> = {
  string: "must be a string",
  number: "must be a number",
  int: "must be a whole number",
  boolean: "must be true or false",
  object: "must be a JSON object",
  array: "must be a list",
};

const quoted = (values: readonly unknown[]) => {
  const each = values.map((value) => JSON.stringify(value));
  return each.length === 1 ? each[0]! : `${each.slice(0, -1).join(", ")} or ${each.at(-1)}`;
};
const plural = (count: number | bigint, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;

/** The rule an issue broke, as a phrase without its subject; the schema's own message wins over it. */
export function ruleOf(issue: core.$ZodRawIssue): string {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "is required";
      return TYPE_RULES[issue.expected] ?? `must be of type ${issue.expected}`;
    case "too_small":
      if (issue.origin === "string")
        return issue.minimum === 1 ? "must not be empty" : `must be at least ${plural(issue.minimum, "character")}`;
      if (issue.origin === "array") return `must have at least ${plural(issue.minimum, "item")}`;
      return issue.inclusive === false ? `must be more than ${issue.minimum}` : `must be at least ${issue.minimum}`;
    case "too_big":
      if (issue.origin === "string") return `must be at most ${plural(issue.maximum, "character")}`;
      if (issue.origin === "array") return `must have at most ${plural(issue.maximum, "item")}`;
      return issue.inclusive === false ? `must be less than ${issue.maximum}` : `must be at most ${issue.maximum}`;
    case "invalid_value":
      return issue.values.length === 1 ? `must be ${quoted(issue.values)}` : `must be one of ${quoted(issue.values)}`;
    case "invalid_format":
      return issue.format === "email" ? "must be an email address" : "is not in the expected format";
    default:
      return "is not valid";
  }
}

/**
 * A field as a sentence names it: a one-word key as a word ("Email"), any other key exactly as the
 * client sends it ("device_name"), so it can be found in the request; the whole body as "The body".
 */
export function fieldLabel(field: string | null): string {
  if (field === null) return "The body";
  return /^[a-z]+$/.test(field) ? field[0]!.toUpperCase() + field.slice(1) : field;
}

/** Each issue as `{ field, message }`, the message a sentence that names the field and the rule. */
export function fieldErrors(error: z.ZodError): { field: string | null; message: string }[] {
  return error.issues.map((issue) => {
    const field = issue.path.join(".") || null;
    return { field, message: `${fieldLabel(field)} ${issue.message}` };
  });
}
