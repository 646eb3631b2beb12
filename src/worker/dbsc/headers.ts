import { DBSC_SKIP_REASONS, type DbscSkipReason } from "../../contract/dbsc";
import { DBSC_ALGORITHMS } from "../../shared/dbsc-proof";

/**
 * The DBSC header fields (w3c/webappsec-dbsc §"HTTP header fields"), the parts of RFC 9651
 * structured fields they use. The spec defines `Secure-Session-Response` and `Sec-Secure-Session-Id`
 * as sf-strings, but Chromium 156 sends both raw (unquoted), so both forms are read; what this
 * service sends is always the spec's form.
 */

/** Longest header value read at all: a proof with a 4096-bit RSA key is about 2.5 KB. */
const MAX_VALUE_LENGTH = 8192;
/** A raw value: visible ASCII without quotes, commas, semicolons or spaces (a JWT, or one of our identifiers). */
const RAW_VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x7e]+$/;

/**
 * An sf-string (`"…"`, `\"` and `\\` escapes; parameters after it ignored, as the spec says) or a
 * raw value (anything after `;` is parameters). Null for an absent, empty or malformed value.
 */
export function readSfStringOrRaw(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value.length > MAX_VALUE_LENGTH) return null;
  const trimmed = value.trim();
  if (!trimmed.startsWith('"')) {
    const raw = trimmed.split(";")[0]!.trim();
    return RAW_VALUE.test(raw) ? raw : null;
  }
  let text = "";
  for (let i = 1; i < trimmed.length; i++) {
    const char = trimmed[i]!;
    if (char === "\\") {
      const next = trimmed[i + 1];
      if (next !== '"' && next !== "\\") return null;
      text += next;
      i++;
    } else if (char === '"') {
      const rest = trimmed.slice(i + 1).trim();
      return text !== "" && (rest === "" || rest.startsWith(";")) ? text : null;
    } else {
      const code = char.charCodeAt(0);
      if (code < 0x20 || code > 0x7e) return null;
      text += char;
    }
  }
  return null;
}

/** An sf-string (RFC 9651 §4.1.6): only printable ASCII can be one, and everything this service sends is. */
export function sfString(value: string): string {
  if (!/^[\x20-\x7e]*$/.test(value)) throw new TypeError("an sf-string holds printable ASCII only");
  return `"${value.replace(/[\\"]/g, (char) => `\\${char}`)}"`;
}

/** `Secure-Session-Registration: (ES256 RS256);path="…";challenge="…"` (never `none`). */
export function registrationHeader(path: string, challenge: string): string {
  return `(${DBSC_ALGORITHMS.join(" ")});path=${sfString(path)};challenge=${sfString(challenge)}`;
}

/** `Secure-Session-Challenge: "<challenge>";id="<session identifier>"`. */
export function challengeHeader(challenge: string, identifier: string): string {
  return `${sfString(challenge)};id=${sfString(identifier)}`;
}

/**
 * `Secure-Session-Skipped: server_error;session_identifier="…", quota_exceeded;session_identifier="…"`:
 * a list of tokens, each with the session it is about. Members with another reason or without a
 * session are dropped; at most `limit` are read.
 */
export function parseSkipped(value: string | null | undefined, limit = 4): { reason: DbscSkipReason; identifier: string }[] {
  if (!value || value.length > MAX_VALUE_LENGTH) return [];
  const reports: { reason: DbscSkipReason; identifier: string }[] = [];
  for (const member of splitOutsideStrings(value, ",")) {
    if (reports.length >= limit) break;
    const [token, ...parameters] = splitOutsideStrings(member, ";").map((part) => part.trim());
    const reason = DBSC_SKIP_REASONS.find((known) => known === token);
    if (reason === undefined) continue;
    for (const parameter of parameters) {
      const equals = parameter.indexOf("=");
      if (equals <= 0 || parameter.slice(0, equals).trim() !== "session_identifier") continue;
      const identifier = readSfStringOrRaw(parameter.slice(equals + 1));
      if (identifier !== null) reports.push({ reason, identifier });
    }
  }
  return reports;
}

function splitOutsideStrings(value: string, separator: string): string[] {
  const parts: string[] = [];
  let current = "";
  let inString = false;
  for (let i = 0; i < value.length; i++) {
    const char = value[i]!;
    if (inString && char === "\\") {
      current += char + (value[i + 1] ?? "");
      i++;
      continue;
    }
    if (char === '"') inString = !inString;
    if (!inString && char === separator) {
      parts.push(current);
      current = "";
    } else current += char;
  }
  parts.push(current);
  return parts;
}
