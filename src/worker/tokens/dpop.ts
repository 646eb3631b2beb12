import type { DpopProof } from "../../contract/dpop";
import { configFrom, DPOP_CLOCK_SKEW_SECONDS } from "../../shared/config";
import { base64url, sha256 } from "../../shared/encoding";
import { dpopNonceIssuedAt } from "./dpop-nonce";
import { type KeyProofKind, verifyKeySignedJwt } from "./key-proof";

/**
 * DPoP proofs (RFC 9449 §4.3), every check a proof allows by itself. The one verifier behind
 * sign-in binding, both refresh endpoints, protected routes, the live channel and the RPC `verify`;
 * the user's registry then checks the key against the session's and the `jti` against its replay
 * cache, in the call that checks liveness.
 */

/** ES256 is required (RFC 9449 §11.6 leaves the choice to us); EdDSA allowed, by both its names. */
export const DPOP_ALGORITHMS = ["ES256", "EdDSA", "Ed25519"] as const;
const DPOP: KeyProofKind = { typ: "dpop+jwt", algorithms: DPOP_ALGORITHMS, maxLength: 2048 };

export interface DpopRequest {
  method: string;
  /** The URL the client used (in Workers `request.url` is the public one, as Cloudflare received it). */
  url: string;
  /** At protected routes: the access token the proof's `ath` must hash (RFC 9449 §4.3 step 11). */
  accessToken?: string | undefined;
}

export type DpopVerdict = { ok: true; proof: DpopProof } | { ok: false; code: "invalid_dpop_proof" | "use_dpop_nonce"; reason: string };

const bad = (reason: string): DpopVerdict => ({ ok: false, code: "invalid_dpop_proof", reason });

/**
 * RFC 9449 §4.3 step 9 (RFC 3986 §6.2.2-6.2.3 normalisation): scheme, host and path, lower-cased
 * scheme and host, no default port, no query, no fragment. A WebSocket URL counts as the HTTP URL
 * of its handshake, so a proof for the live channel may name either.
 */
export function normaliseHtu(value: string): string | null {
  if (!URL.canParse(value)) return null;
  const url = new URL(value);
  const scheme = url.protocol === "wss:" ? "https:" : url.protocol === "ws:" ? "http:" : url.protocol;
  if (scheme !== "https:" && scheme !== "http:") return null;
  const port =
    url.port === "" || (scheme === "https:" && url.port === "443") || (scheme === "http:" && url.port === "80") ? "" : `:${url.port}`;
  return `${scheme}//${url.hostname}${port}${url.pathname}`;
}

/**
 * One `DPoP` header value: `Headers.get` joins repeated headers with ", ", and a compact JWS never
 * holds a comma, so two proofs are refused rather than read as one.
 */
export async function checkDpopProof(env: Env, header: string, request: DpopRequest, nowMs = Date.now()): Promise<DpopVerdict> {
  if (header.includes(",")) return bad("more_than_one_proof");
  const verified = await verifyKeySignedJwt(header.trim(), DPOP);
  if (!verified.ok) return bad(verified.reason);
  const settings = configFrom(env).dpop;
  const { jti, htm, htu, iat, ath, nonce } = verified.payload;
  if (typeof jti !== "string" || jti.length < 16 || jti.length > 256) return bad("bad_jti");
  if (htm !== request.method.toUpperCase()) return bad("wrong_htm");
  const expected = normaliseHtu(request.url);
  if (typeof htu !== "string" || expected === null || normaliseHtu(htu) !== expected) return bad("wrong_htu");
  const nowSeconds = nowMs / 1000;
  if (typeof iat !== "number" || !Number.isSafeInteger(iat)) return bad("bad_iat");
  if (iat > nowSeconds + DPOP_CLOCK_SKEW_SECONDS) return bad("iat_in_the_future");
  if (iat < nowSeconds - settings.proofMaxAgeSeconds - DPOP_CLOCK_SKEW_SECONDS) return bad("iat_too_old");
  if (request.accessToken !== undefined && ath !== base64url(await sha256(request.accessToken))) return bad("wrong_ath");
  const nonceAt = nonce === undefined ? null : await dpopNonceIssuedAt(env.REFRESH_TOKEN_SECRET, settings, nonce, nowMs);
  if (settings.nonces && nonceAt === null)
    return { ok: false, code: "use_dpop_nonce", reason: nonce === undefined ? "no_nonce" : "stale_nonce" };
  return { ok: true, proof: { jkt: verified.thumbprint, jti, iat, nonceAt } };
}
