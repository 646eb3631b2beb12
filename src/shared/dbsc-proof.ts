import type { JWK } from "jose";
import type { DbscAlgorithm, DbscKey } from "../contract/dbsc";
import { type KeyProof, type KeyProofKind, verifyJwtSignedBy, verifyKeySignedJwt } from "./key-proof";

/**
 * DBSC proofs (w3c/webappsec-dbsc, §"DBSC Proof JWT Syntax"): `typ` "dbsc+jwt", ES256 or RS256
 * (never `none`: this service never offers it). Two shapes are accepted, as browsers differ:
 * - current (the draft since 2025-09, Chromium 156): the key in the header's `jwk` on registration
 *   and no key on refresh; payload `jti` (the challenge) and `authorization` when one was offered;
 * - earlier (2025-04 to 2025-09): the key in the payload's `key` claim, with `aud` (the URL the
 *   proof was sent to), `iat`, and on refresh `sub` (the session identifier).
 * A claim that is present is checked whichever shape it comes in; `jti` must be present, because
 * this service always sends a challenge. The Worker checks registration proofs, the registry refresh
 * proofs (it holds the key); whether `jti` is an outstanding challenge is the registry's.
 */

export const DBSC_ALGORITHMS: readonly DbscAlgorithm[] = ["ES256", "RS256"];
/** A 4096-bit RSA key in the header makes a proof of about 2.5 KB; nothing honest is longer. */
const MAX_PROOF_LENGTH = 4096;
/** An earlier-shape `iat` may be this far from the server's clock (the spec set no window; browsers sign at once). */
const IAT_WINDOW_SECONDS = 300;

const REGISTRATION: KeyProofKind = { typ: "dbsc+jwt", algorithms: DBSC_ALGORITHMS, maxLength: MAX_PROOF_LENGTH, keyInPayload: true };

export type DbscProofVerdict<T> = ({ ok: true } & T) | { ok: false; reason: string };

export interface ClaimContext {
  /** The URL the proof was sent to (`request.url`). */
  audience: string;
  nowSeconds: number;
}

/** A registration proof: self-signed, with the key it binds the session to. */
export async function verifyDbscRegistrationProof(
  proof: string,
  context: ClaimContext,
): Promise<DbscProofVerdict<{ key: DbscKey; jti: string }>> {
  const verified = await verifyKeySignedJwt(proof, REGISTRATION);
  if (!verified.ok) return verified;
  // A registration names no session yet: a `sub` means a proof made for something else (WPT refuses it too).
  if (verified.payload.sub !== undefined) return { ok: false, reason: "unexpected_sub" };
  const claims = checkClaims(verified, context);
  if (!claims.ok) return claims;
  return { ok: true, key: keyOf(verified), jti: claims.jti };
}

/** A refresh proof: signed by the key stored at registration. */
export async function verifyDbscRefreshProof(
  proof: string,
  key: DbscKey,
  context: ClaimContext & { identifier: string },
): Promise<DbscProofVerdict<{ jti: string }>> {
  const kind: KeyProofKind = { ...REGISTRATION, algorithms: [key.alg] };
  const verified = await verifyJwtSignedBy(proof, kind, key.jwk as JWK);
  if (!verified.ok) return verified;
  if (verified.payload.sub !== undefined && verified.payload.sub !== context.identifier) return { ok: false, reason: "wrong_sub" };
  return checkClaims(verified, context);
}

function checkClaims(verified: Extract<KeyProof, { ok: true }>, context: ClaimContext): DbscProofVerdict<{ jti: string }> {
  const { jti, aud, iat, authorization } = verified.payload;
  if (typeof jti !== "string" || jti.length === 0 || jti.length > 256) return { ok: false, reason: "bad_jti" };
  if (authorization !== undefined && typeof authorization !== "string") return { ok: false, reason: "bad_authorization" };
  if (aud !== undefined && !(typeof aud === "string" && sameUrl(aud, context.audience))) return { ok: false, reason: "wrong_aud" };
  if (iat !== undefined) {
    // The spec's own example carries `iat` as a numeric string; the earlier text says NumericDate.
    const seconds = typeof iat === "string" && /^\d{1,12}(\.\d{1,9})?$/.test(iat) ? Number(iat) : iat;
    if (typeof seconds !== "number" || !Number.isFinite(seconds)) return { ok: false, reason: "bad_iat" };
    if (Math.abs(context.nowSeconds - seconds) > IAT_WINDOW_SECONDS) return { ok: false, reason: "iat_out_of_window" };
  }
  return { ok: true, jti };
}

function keyOf(verified: Extract<KeyProof, { ok: true }>): DbscKey {
  const { jwk, thumbprint } = verified;
  const alg = verified.header.alg as DbscAlgorithm;
  return jwk.kty === "EC"
    ? { alg, jwk: { kty: "EC", crv: "P-256", x: jwk.x!, y: jwk.y! }, jkt: thumbprint }
    : { alg, jwk: { kty: "RSA", n: jwk.n!, e: jwk.e! }, jkt: thumbprint };
}

function sameUrl(a: string, b: string): boolean {
  return URL.canParse(a) && URL.canParse(b) && new URL(a).href === new URL(b).href;
}
