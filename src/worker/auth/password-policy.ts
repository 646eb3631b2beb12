import { configFrom } from "../../shared/config";
import { ApiError } from "../errors";
import { BLOCKLIST, BLOCKLIST_SIZE } from "./blocklist-data";

/** 400 `weak_password`, its `detail` the rule the new password broke; the length from PASSWORD_MIN_LENGTH. */
export async function assertStrongPassword(env: Env, password: string, email: string): Promise<void> {
  const weakness = await passwordWeakness(password, email, configFrom(env).passwordMinLength);
  if (weakness !== null) throw new ApiError("weak_password", { detail: weakness });
}

/**
 * The rule for a new password (signup, password change), NIST SP 800-63B-4 §3.1.1.2: at least
 * `minLength` characters, counting each code point of the NFKC form as one; and not on a list of
 * common and breached passwords, not repetitive or sequential, not containing the account's email
 * (its local part). No composition rules and no maximum below 64 (§3.1.1.2 forbids the first and
 * requires the second). Answers the `detail` of a 400 `weak_password`, or null for an acceptable
 * password.
 */
export async function passwordWeakness(password: string, email: string, minLength: number): Promise<string | null> {
  const normalised = normalisePassword(password);
  if ([...normalised].length < minLength)
    return `The password must be at least ${minLength} characters long; a few unrelated words make one that is easy to remember`;
  const folded = normalised.toLowerCase();
  if (containsEmail(folded, email)) return "The password must not contain your email address or its name";
  if (isRepetitive(folded)) return "The password must not be one character or a short group of characters repeated";
  if (isSequential(folded)) return "The password must not be a run of consecutive characters, such as 12345 or abcde";
  if (await isBlocklisted(folded)) return "This password is on a list of common or breached passwords; choose another";
  return null;
}

/**
 * NFKC (§3.1.1.2: SHOULD apply NFKC or NFKD before hashing), so the same text typed as composed
 * or decomposed characters, or with compatibility forms (full-width digits, ligatures), is one
 * password. Never trimmed: a space at either end is part of it.
 */
export function normalisePassword(password: string): string {
  return password.normalize("NFKC");
}

/** The local part (and, for `name+tag@`, the name) of three or more characters, anywhere in the password. */
function containsEmail(folded: string, email: string): boolean {
  const local = normalisePassword(email).toLowerCase().split("@")[0] ?? "";
  return [local, local.split("+")[0] ?? ""].some((part) => [...part].length >= 3 && folded.includes(part));
}

/** A unit of one to four code points repeated throughout: `aaaa…`, `abab…`, `abcabc…`, `1234123…`. */
function isRepetitive(folded: string): boolean {
  const points = [...folded];
  for (let period = 1; period <= 4 && period * 2 <= points.length; period++) {
    if (points.every((point, i) => i < period || point === points[i - period])) return true;
  }
  return false;
}

/**
 * Each character the next (or each the previous) of the one before: `abcdef…`, `987654…`, and
 * `1234567890123…`, since digits wrap from 9 to 0 and letters from z to a.
 */
function isSequential(folded: string): boolean {
  const points = [...folded].map((point) => point.codePointAt(0)!);
  if (points.length < 2) return false;
  const first = step(points[0]!, points[1]!);
  return first !== 0 && points.every((point, i) => i === 0 || step(points[i - 1]!, point) === first);
}

/** Digits and (folded) Latin letters go round; other code points only count up or down. */
const RINGS = [
  [0x30, 10],
  [0x61, 26],
] as const;

function step(from: number, to: number): 1 | -1 | 0 {
  const size = RINGS.find(([start, size]) => [from, to].every((point) => point >= start && point < start + size))?.[1];
  const forward = size === undefined ? to - from : (to - from + size) % size;
  const backward = size === undefined ? from - to : (from - to + size) % size;
  return forward === 1 ? 1 : backward === 1 ? -1 : 0;
}

let hashes: Uint32Array | undefined;

/**
 * The list, decoded on first use and kept for the isolate's life: about 200,000 hashes (800 KB).
 * Read straight from `atob`'s binary string: building a byte array first (`Uint8Array.from` with a
 * mapper) took 50 times longer. A few milliseconds on a quiet machine; never on a sign-in.
 */
function blocklist(): Uint32Array {
  if (hashes) return hashes;
  const bytes = atob(BLOCKLIST);
  const decoded = new Uint32Array(BLOCKLIST_SIZE);
  let value = 0;
  let at = 0;
  for (let i = 0; i < BLOCKLIST_SIZE; i++) {
    let byte = bytes.charCodeAt(at++);
    let gap = byte & 0x7f;
    for (let shift = 7; byte >= 0x80; shift += 7) {
      byte = bytes.charCodeAt(at++);
      gap += (byte & 0x7f) * 2 ** shift;
    }
    value += gap;
    decoded[i] = value;
  }
  hashes = decoded;
  return decoded;
}

/** Binary search for the first 32 bits of SHA-256 of the folded password, as the generator hashed each entry. */
async function isBlocklisted(folded: string): Promise<boolean> {
  const digest = new DataView(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(folded)));
  const hash = digest.getUint32(0);
  const list = blocklist();
  let low = 0;
  let high = list.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const found = list[middle]!;
    if (found === hash) return true;
    if (found < hash) low = middle + 1;
    else high = middle - 1;
  }
  return false;
}
