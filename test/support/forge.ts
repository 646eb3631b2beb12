import { env } from "cloudflare:workers";
import { importJWK, type JWK, type JWTHeaderParameters, type JWTPayload, SignJWT } from "jose";

/**
 * An attacker's (and a test's) JWT workshop. `signWithServiceKey` holds the real private key, read
 * from the `JWT_SIGNING_KEYS` binding, so a test can mint a correctly signed token with hostile
 * claims and prove that the claim checks, not the signature, refuse it.
 */

export const ISSUER = "https://auth.example.com";
export const AUDIENCE = "https://api.example.com";
/** A well-formed RFC 7638 thumbprint (43 base64url characters) of no key in particular, for `cnf.jkt` claims. */
export const SOME_JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";

export function b64url(data: Uint8Array | string): string {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodePart(part: string): any {
  return JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/")));
}

/** A JWT from raw parts, with whatever signature the caller wants (none, bogus, someone else's). */
export function rawJwt(header: unknown, payload: unknown, signature = ""): string {
  return `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}.${signature}`;
}

function serviceJwk(): JWK & { kid: string } {
  const set = JSON.parse(env.JWT_SIGNING_KEYS) as { keys: (JWK & { kid: string })[] };
  return set.keys.at(-1)!;
}

export const serviceKid = () => serviceJwk().kid;

/** The public key exactly as any client sees it: from the service's JWKS. */
export function publicJwkFrom(jwks: { keys: JWK[] }): JWK {
  return jwks.keys[0]!;
}

/** Claims of a genuine access token for a session, valid now; override any of them. */
export function claimsFor(subject: { userId: string; sessionId: string }, nowSeconds = Math.floor(Date.now() / 1000)): JWTPayload {
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: subject.userId,
    sid: subject.sessionId,
    jti: `at_${"x".repeat(22)}`,
    iat: nowSeconds,
    exp: nowSeconds + 600,
  };
}

/** Signs any header and claims with the service's own private Ed25519 key (jose, as the service does). */
export async function signWithServiceKey(payload: Record<string, unknown>, header: Partial<JWTHeaderParameters> = {}): Promise<string> {
  const jwk = serviceJwk();
  const key = await importJWK({ ...jwk, alg: "EdDSA" }, "EdDSA");
  const protectedHeader = { alg: "EdDSA", kid: jwk.kid, typ: "at+jwt", ...header } as JWTHeaderParameters;
  for (const [name, value] of Object.entries(protectedHeader))
    if (value === undefined) delete (protectedHeader as Record<string, unknown>)[name];
  return new SignJWT(payload).setProtectedHeader(protectedHeader).sign(key);
}

/** Signs raw header and payload bytes with the service key, bypassing jose's own claim encoding. */
export async function signRawWithServiceKey(header: unknown, payload: unknown): Promise<string> {
  const key = (await importJWK({ ...serviceJwk(), alg: "EdDSA" }, "EdDSA")) as CryptoKey;
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature = new Uint8Array(await crypto.subtle.sign("Ed25519", key, new TextEncoder().encode(input)));
  return `${input}.${b64url(signature)}`;
}

/** HS256 over header.payload with an arbitrary secret: the algorithm-confusion forgery. */
export async function signHs256(header: unknown, payload: unknown, secret: Uint8Array): Promise<string> {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const key = await crypto.subtle.importKey("raw", secret as Uint8Array<ArrayBuffer>, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const signature = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input)));
  return `${input}.${b64url(signature)}`;
}

/** The forms of a public key an HMAC-confused verifier might use as its secret. */
export async function publicKeyForms(jwk: JWK): Promise<Record<string, Uint8Array>> {
  const key = await crypto.subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x: jwk.x }, { name: "Ed25519" }, true, ["verify"]);
  const spki = new Uint8Array((await crypto.subtle.exportKey("spki", key)) as ArrayBuffer);
  const raw = new Uint8Array((await crypto.subtle.exportKey("raw", key)) as ArrayBuffer);
  const base64 = btoa(String.fromCharCode(...spki));
  const pem = `-----BEGIN PUBLIC KEY-----\n${base64}\n-----END PUBLIC KEY-----\n`;
  const encode = (text: string) => new TextEncoder().encode(text);
  return {
    "PEM (SPKI)": encode(pem),
    "PEM without trailing newline": encode(pem.trimEnd()),
    "JWK JSON": encode(JSON.stringify(jwk)),
    "JWK JSON (x only)": encode(JSON.stringify({ kty: "OKP", crv: "Ed25519", x: jwk.x })),
    "raw 32-byte key": raw,
    "x as base64url text": encode(jwk.x!),
  };
}

/** A key pair the attacker controls, for embedded-`jwk` / `jku` / `x5u` forgeries. */
export async function attackerKey() {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const publicJwk = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JWK;
  const sign = (payload: Record<string, unknown>, header: Record<string, unknown>) =>
    new SignJWT(payload).setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", ...header } as JWTHeaderParameters).sign(pair.privateKey);
  return { publicJwk: { kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x }, sign };
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * Non-canonical spellings of the same bytes: a decoder that is not strict maps each back to the
 * original token, so a denylist or cache keyed on the string would see "a different token".
 */
export function nonCanonicalVariants(token: string): Record<string, string> {
  const [h, p, s] = token.split(".") as [string, string, string];
  const flipLowBit = (part: string) => part.slice(0, -1) + ALPHABET[ALPHABET.indexOf(part.at(-1)!) ^ 1];
  const variants: Record<string, string> = {
    "padding on the signature": `${h}.${p}.${s}==`,
    "padding on the payload": `${h}.${p}=.${s}`,
    "trailing bits of the signature changed": `${h}.${p}.${flipLowBit(s)}`,
  };
  const standardAlphabet = token.replace(/-/g, "+").replace(/_/g, "/");
  if (standardAlphabet !== token) variants["standard alphabet (+ and /)"] = standardAlphabet;
  // The header and payload lengths vary; a part whose length is 2 or 3 mod 4 has spare trailing bits.
  if (p.length % 4 !== 0) variants["trailing bits of the payload changed"] = `${h}.${flipLowBit(p)}.${s}`;
  if (h.length % 4 !== 0) variants["trailing bits of the header changed"] = `${flipLowBit(h)}.${p}.${s}`;
  return variants;
}

/**
 * A genuine access token for a session (service key, genuine claims) whose text contains `-` or `_`,
 * so that its standard-alphabet spelling differs from it. About one token in fifteen has neither.
 */
export async function genuineTokenWithUrlSafeCharacters(subject: { userId: string; sessionId: string }): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const token = await signWithServiceKey({ ...claimsFor(subject), jti: `at_${attempt.toString().padStart(22, "0")}` });
    if (/[-_]/.test(token)) return token;
  }
  throw new Error("no token with - or _ in 100 attempts");
}

/**
 * A token signed with the service key, with genuine claims, of exactly `length` characters (an
 * unused `pad` claim sizes it; a header parameter shifts it when base64url cannot reach the length).
 */
export async function genuineTokenOfLength(subject: { userId: string; sessionId: string }, length: number): Promise<string> {
  for (const header of [{}, { cty: "x" }, { cty: "xy" }]) {
    const base = await signWithServiceKey({ ...claimsFor(subject), pad: "" }, header);
    // Each 3 bytes of claim text add 4 characters; try around the estimate.
    const estimate = Math.floor(((length - base.length) * 3) / 4);
    for (let pad = Math.max(0, estimate - 2); pad <= estimate + 2; pad++) {
      const token = await signWithServiceKey({ ...claimsFor(subject), pad: "p".repeat(pad) }, header);
      if (token.length === length) return token;
    }
  }
  throw new Error(`no token of exactly ${length} characters`);
}
