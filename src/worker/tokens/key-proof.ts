import { calculateJwkThumbprint, compactVerify, errors, importJWK, type JWK, type ProtectedHeaderParameters } from "jose";
import { fromBase64url } from "../../shared/encoding";

/**
 * JWTs signed by the key their own header carries (RFC 7515 §4.1.3 `jwk`): DPoP proofs (RFC 9449)
 * today, DBSC registration proofs (`dbsc+jwt`, ES256 or RS256) later. Each kind names its `typ` and
 * its algorithms; this module checks what they share: one compact JWS in canonical base64url, an
 * algorithm on the kind's list (never `none`, never a MAC), a public key of that algorithm's type
 * (a private member is refused before anything is imported), the signature, and the key's RFC 7638
 * thumbprint, which is what a session is bound to.
 */

export type ProofAlgorithm = "ES256" | "EdDSA" | "Ed25519" | "RS256";

export interface KeyProofKind {
  /** The exact `typ`: the `application/` prefix RFC 7515 §4.1.9 allows is refused, so one proof has one spelling. */
  typ: string;
  algorithms: readonly ProofAlgorithm[];
  /** Longest proof read at all, before any parsing. */
  maxLength: number;
}

export type KeyProof =
  | { ok: true; header: ProtectedHeaderParameters; payload: Record<string, unknown>; jwk: JWK; thumbprint: string }
  | { ok: false; reason: string };

/** Every private or symmetric member of a JWK (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"] as const;

/** The public members each algorithm's key must have, and nothing else is kept (the thumbprint's input). */
const PUBLIC_KEY: Record<ProofAlgorithm, (jwk: Record<string, unknown>) => JWK | null> = {
  ES256: (jwk) =>
    jwk.kty === "EC" && jwk.crv === "P-256" && isText(jwk.x) && isText(jwk.y) ? { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y } : null,
  EdDSA: (jwk) => ed25519(jwk),
  // RFC 9864's fully-specified name for EdDSA over Ed25519; oauth4webapi signs Ed25519 keys with it.
  Ed25519: (jwk) => ed25519(jwk),
  RS256: (jwk) => (jwk.kty === "RSA" && isText(jwk.n) && isText(jwk.e) ? { kty: "RSA", n: jwk.n, e: jwk.e } : null),
};

function ed25519(jwk: Record<string, unknown>): JWK | null {
  return jwk.kty === "OKP" && jwk.crv === "Ed25519" && isText(jwk.x) ? { kty: "OKP", crv: "Ed25519", x: jwk.x } : null;
}

function isText(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= 1024;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Imported keys and their thumbprints, by algorithm and public members: a client signs every
 * request with one key, so only its first proof in an isolate pays for the import and the
 * thumbprint. Bounded; emptied when full (a flood of new keys costs imports, never memory).
 */
const imported = new Map<string, Promise<{ key: CryptoKey | Uint8Array; thumbprint: string }>>();
const MAX_IMPORTED_KEYS = 1024;

function importedKey(alg: ProofAlgorithm, jwk: JWK): Promise<{ key: CryptoKey | Uint8Array; thumbprint: string }> {
  const id = `${alg}:${JSON.stringify(jwk)}`;
  let pending = imported.get(id);
  if (!pending) {
    if (imported.size >= MAX_IMPORTED_KEYS) imported.clear();
    pending = Promise.all([importJWK(jwk, alg), calculateJwkThumbprint(jwk, "sha256")]).then(([key, thumbprint]) => ({ key, thumbprint }));
    // A key that fails to import is not remembered: the next proof tries again and fails the same way.
    pending.catch(() => imported.delete(id));
    imported.set(id, pending);
  }
  return pending;
}

/**
 * Checks a proof of `kind` up to and including its signature; its claims are the caller's. Answers
 * a value, never throws for a bad proof: the `reason` is for logs and security events, not secrets.
 */
export async function verifyKeySignedJwt(proof: string, kind: KeyProofKind): Promise<KeyProof> {
  if (proof.length > kind.maxLength) return { ok: false, reason: "too_long" };
  const parts = proof.split(".");
  // Canonical base64url only: a lenient decoder would give one proof many spellings.
  const decoded = parts.map((part) => (part.length === 0 ? null : fromBase64url(part)));
  if (decoded.length !== 3 || decoded.includes(null)) return { ok: false, reason: "not_a_compact_jws" };
  const header = parseJson(decoded[0]!);
  if (!isRecord(header)) return { ok: false, reason: "malformed_header" };
  if (header.typ !== kind.typ) return { ok: false, reason: "wrong_typ" };
  const alg = kind.algorithms.find((allowed) => allowed === header.alg);
  if (alg === undefined) return { ok: false, reason: "algorithm_not_allowed" };
  const presented = header.jwk;
  if (!isRecord(presented)) return { ok: false, reason: "no_jwk" };
  if (PRIVATE_MEMBERS.some((member) => member in presented)) return { ok: false, reason: "private_key_in_jwk" };
  const jwk = PUBLIC_KEY[alg](presented);
  if (jwk === null) return { ok: false, reason: "jwk_does_not_fit_alg" };
  let verified: Awaited<ReturnType<typeof compactVerify>>;
  let thumbprint: string;
  try {
    const { key, thumbprint: ofKey } = await importedKey(alg, jwk);
    verified = await compactVerify(proof, key, { algorithms: [alg] });
    thumbprint = ofKey;
  } catch (error) {
    if (error instanceof errors.JOSEError || error instanceof TypeError || error instanceof DOMException)
      return { ok: false, reason: error instanceof errors.JWSSignatureVerificationFailed ? "bad_signature" : "bad_key" };
    throw error;
  }
  const payload = parseJson(verified.payload);
  if (!isRecord(payload)) return { ok: false, reason: "malformed_payload" };
  return { ok: true, header: verified.protectedHeader, payload, jwk, thumbprint };
}
