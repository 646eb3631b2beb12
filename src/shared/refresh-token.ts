import { SESSION_ID, USER_ID } from "../contract/ids";
import { ConfigurationError } from "./config";
import { base64url, digestsEqual, fromBase64url, randomBytes, sha256 } from "./encoding";

/**
 * Refresh tokens are opaque to clients but carry their own routing and integrity:
 *
 *   <userId>.<sessionId>.<generation>.<secret>.<tag>
 *
 * - userId picks the user's Durable Object without a database lookup;
 * - generation counts rotations: generation n+1 is derived from generation n, so a retry inside the
 *   grace window gets the same successor without the successor ever being stored in clear;
 * - tag = HMAC(tagKey, everything before it) proves the service minted the token, so a presented
 *   token from an earlier generation is known reuse (revoke) rather than a forgery (ignore).
 * Only SHA-256(token) is stored.
 */
export interface RefreshToken {
  raw: string;
  userId: string;
  sessionId: string;
  generation: number;
  secret: string;
  tag: Uint8Array<ArrayBuffer>;
}

export interface RefreshKeys {
  tag: CryptoKey;
  successor: CryptoKey;
  /** Signs device credentials (src/worker/auth/device-token.ts): one secret, one key per purpose (HKDF info). */
  device: CryptoKey;
}

const MAX_REFRESH_TOKEN_LENGTH = 256;
const unanchored = (pattern: RegExp) => pattern.source.replace(/^\^|\$$/g, "");
const SHAPE = new RegExp(
  `^(${unanchored(USER_ID)})\\.(${unanchored(SESSION_ID)})\\.(0|[1-9][0-9]{0,8})\\.([A-Za-z0-9_-]{43})\\.([A-Za-z0-9_-]{43})$`,
);

const keyCache = new Map<string, Promise<RefreshKeys>>();

export function refreshKeys(secret: string | undefined): Promise<RefreshKeys> {
  const material = secret ? fromBase64url(secret) : null;
  if (!secret || !material || material.byteLength < 32)
    return Promise.reject(new ConfigurationError("REFRESH_TOKEN_SECRET", "must be at least 32 bytes of base64url"));
  let pending = keyCache.get(secret);
  if (!pending) {
    pending = deriveKeys(material);
    keyCache.set(secret, pending);
  }
  return pending;
}

async function deriveKeys(material: Uint8Array<ArrayBuffer>): Promise<RefreshKeys> {
  const base = await crypto.subtle.importKey("raw", material, "HKDF", false, ["deriveKey"]);
  const derive = (info: string) =>
    crypto.subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: new TextEncoder().encode(info) },
      base,
      { name: "HMAC", hash: "SHA-256", length: 256 },
      false,
      ["sign"],
    );
  return {
    tag: await derive("refresh-token-tag/v1"),
    successor: await derive("refresh-token-successor/v1"),
    device: await derive("device-token/v1"),
  };
}

export function parseRefreshToken(raw: unknown): RefreshToken | null {
  if (typeof raw !== "string" || raw.length > MAX_REFRESH_TOKEN_LENGTH) return null;
  const match = SHAPE.exec(raw);
  if (!match) return null;
  const tag = fromBase64url(match[5]!);
  if (!tag || !fromBase64url(match[4]!)) return null;
  return { raw, userId: match[1]!, sessionId: match[2]!, generation: Number(match[3]), secret: match[4]!, tag };
}

async function hmac(key: CryptoKey, text: string): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text)));
}

async function assemble(keys: RefreshKeys, userId: string, sessionId: string, generation: number, secret: string) {
  const body = `${userId}.${sessionId}.${generation}.${secret}`;
  const raw = `${body}.${base64url(await hmac(keys.tag, body))}`;
  return parseRefreshToken(raw)!;
}

export function mintFirstRefreshToken(keys: RefreshKeys, userId: string, sessionId: string): Promise<RefreshToken> {
  return assemble(keys, userId, sessionId, 0, base64url(randomBytes(32)));
}

/**
 * A fresh token of a given generation, for a rotation that has no presented token to derive from
 * (a DBSC refresh whose browser no longer holds the expired cookie): its predecessor then has no
 * grace, as nobody can hold both.
 */
export function mintRefreshToken(keys: RefreshKeys, userId: string, sessionId: string, generation: number): Promise<RefreshToken> {
  return assemble(keys, userId, sessionId, generation, base64url(randomBytes(32)));
}

/** The successor of a token: deterministic under the server key, so retries get the same one. */
export async function deriveSuccessor(keys: RefreshKeys, token: RefreshToken): Promise<RefreshToken> {
  const secret = base64url(await hmac(keys.successor, token.raw));
  return assemble(keys, token.userId, token.sessionId, token.generation + 1, secret);
}

export async function hasGenuineTag(keys: RefreshKeys, token: RefreshToken): Promise<boolean> {
  const expected = await hmac(keys.tag, `${token.userId}.${token.sessionId}.${token.generation}.${token.secret}`);
  return digestsEqual(expected, token.tag);
}

/**
 * Parses a presented token and checks its tag before anything is routed by it: a forged token
 * never reaches (or creates) a user's Durable Object.
 */
export async function genuineRefreshToken(env: Env, presented: unknown): Promise<RefreshToken | null> {
  const token = parseRefreshToken(presented);
  if (!token) return null;
  return (await hasGenuineTag(await refreshKeys(env.REFRESH_TOKEN_SECRET), token)) ? token : null;
}

export function hashRefreshToken(token: RefreshToken): Promise<Uint8Array<ArrayBuffer>> {
  return sha256(token.raw);
}
