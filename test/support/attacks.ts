import {
  attackerKey,
  claimsFor,
  decodePart,
  genuineTokenWithUrlSafeCharacters,
  nonCanonicalVariants,
  publicKeyForms,
  rawJwt,
  serviceKid,
  signHs256,
  signRawWithServiceKey,
  signWithServiceKey,
} from "./forge";
import { call, type SignedIn } from "./http";

/**
 * The forged and tampered access tokens every verifier of them must refuse: the service on each
 * protected route and over RPC (test/security/token-attacks.test.ts), and the consumer middleware
 * in its `stateless` and `cached` modes, where its own checks are the only defence
 * (test/consumer/local-checks.test.ts). One table, so neither verifier is tested on less.
 * Each case mints its tokens for a victim (and an attacker, another user) signed in now; claims
 * assume the service's settings (`iss`, `aud` of test/support/forge.ts, a 600 s token lifetime).
 */
export type AttackTokens = (parties: { victim: SignedIn; attacker: SignedIn }) => Promise<Record<string, string>>;

const sign = (payload: unknown) => signRawWithServiceKey({ alg: "EdDSA", typ: "at+jwt", kid: serviceKid() }, payload);
const nowSeconds = () => Math.floor(Date.now() / 1000);

export const ATTACKS = {
  "alg none in every capitalisation": async ({ victim }) => {
    const tokens: Record<string, string> = {};
    for (const alg of ["none", "None", "NONE", "nOnE"]) {
      const header = { alg, typ: "at+jwt", kid: serviceKid() };
      tokens[`alg ${alg}, empty signature`] = rawJwt(header, claimsFor(victim));
      tokens[`alg ${alg}, bogus signature`] = rawJwt(header, claimsFor(victim), "c2lnbmF0dXJl");
      tokens[`alg ${alg}, no kid`] = rawJwt({ alg, typ: "at+jwt" }, claimsFor(victim));
    }
    return tokens;
  },

  "signature stripped or cut": async ({ victim }) => {
    const [h, p, s] = victim.accessToken.split(".") as [string, string, string];
    return {
      "empty signature": `${h}.${p}.`,
      "no signature part": `${h}.${p}`,
      "half a signature": `${h}.${p}.${s.slice(0, 43)}`,
      // 85 characters: a length of 1 mod 4 spells no bytes at all.
      "signature one character short": `${h}.${p}.${s.slice(0, -1)}`,
      "four parts": `${h}.${p}.${s}.${s}`,
      // A b64token character (RFC 6750) that base64url does not have.
      "a tilde in the signature": `${h}.${p}.${s.slice(0, 40)}~${s.slice(41)}`,
    };
  },

  "payload changed under the old signature": async ({ victim, attacker }) => {
    const [h, p, s] = attacker.accessToken.split(".") as [string, string, string];
    const claims = decodePart(p);
    const swap = (changes: Record<string, unknown>) => `${h}.${rawJwt({}, { ...claims, ...changes }).split(".")[1]}.${s}`;
    return {
      "sub and sid of the victim": swap({ sub: victim.userId, sid: victim.sessionId }),
      "sid of the victim only": swap({ sid: victim.sessionId }),
      "sub of the victim only": swap({ sub: victim.userId }),
      "exp pushed out": swap({ exp: claims.exp + 86400 }),
      "victim's payload spliced in": `${h}.${victim.accessToken.split(".")[1]}.${s}`,
    };
  },

  "HS256 keyed with the public key (algorithm confusion)": async ({ victim }) => {
    const jwks = (await (await call("/.well-known/jwks.json")).json()) as { keys: Record<string, string>[] };
    const tokens: Record<string, string> = {};
    for (const [form, secret] of Object.entries(await publicKeyForms(jwks.keys[0]!))) {
      tokens[`HS256 with ${form}`] = await signHs256({ alg: "HS256", typ: "at+jwt", kid: serviceKid() }, claimsFor(victim), secret);
      tokens[`HS256 with ${form}, no kid`] = await signHs256({ alg: "HS256", typ: "at+jwt" }, claimsFor(victim), secret);
    }
    return tokens;
  },

  "a key carried in the token (jwk) or pointed at (jku, x5u)": async ({ victim }) => {
    const attacker = await attackerKey();
    const claims = claimsFor(victim);
    return {
      "embedded jwk, no kid": await attacker.sign(claims, { jwk: attacker.publicJwk }),
      "embedded jwk with the service kid": await attacker.sign(claims, { jwk: attacker.publicJwk, kid: serviceKid() }),
      "jku to the attacker's JWKS": await attacker.sign(claims, { jku: "https://attacker.example/jwks.json", kid: "attacker" }),
      "jku with the service kid": await attacker.sign(claims, { jku: "https://attacker.example/jwks.json", kid: serviceKid() }),
      "x5u to the attacker's certificate": await attacker.sign(claims, { x5u: "https://attacker.example/cert.pem", kid: "attacker" }),
      "x5c with a junk chain": await attacker.sign(claims, { x5c: ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"], kid: serviceKid() }),
    };
  },

  "hostile kid over a genuine signature": async ({ victim }) => {
    const claims = claimsFor(victim);
    return {
      "kid ../../etc/passwd": await signWithServiceKey(claims, { kid: "../../etc/passwd" }),
      "kid ' OR 1=1 --": await signWithServiceKey(claims, { kid: "' OR 1=1 --" }),
      "kid of 10 KB": await signWithServiceKey(claims, { kid: "k".repeat(10 * 1024) }),
      "kid missing": await signWithServiceKey(claims, { kid: undefined }),
      "kid as a number": await signRawWithServiceKey({ alg: "EdDSA", typ: "at+jwt", kid: 1 }, claims),
      "kid __proto__": await signWithServiceKey(claims, { kid: "__proto__" }),
    };
  },

  "ECDSA psychic signature (ES256 with r = s = 0)": async ({ victim }) => {
    const zeros = "A".repeat(86);
    return {
      "ES256, 64 zero bytes": rawJwt({ alg: "ES256", typ: "at+jwt", kid: serviceKid() }, claimsFor(victim), zeros),
      "ES256, no kid": rawJwt({ alg: "ES256", typ: "at+jwt" }, claimsFor(victim), zeros),
      "EdDSA, 64 zero bytes": rawJwt({ alg: "EdDSA", typ: "at+jwt", kid: serviceKid() }, claimsFor(victim), zeros),
    };
  },

  "non-canonical spellings of a live session's genuine token": async ({ victim }) =>
    nonCanonicalVariants(await genuineTokenWithUrlSafeCharacters(victim)),

  "unknown critical header parameters and unencoded payloads": async ({ victim }) => {
    const claims = claimsFor(victim);
    const header = { alg: "EdDSA", typ: "at+jwt", kid: serviceKid() };
    return {
      "crit with an unknown parameter": await signRawWithServiceKey(
        { ...header, crit: ["x-must-understand"], "x-must-understand": true },
        claims,
      ),
      "crit naming an absent parameter": await signRawWithServiceKey({ ...header, crit: ["exp"] }, claims),
      "crit empty": await signRawWithServiceKey({ ...header, crit: [] }, claims),
      "b64 false": await signRawWithServiceKey({ ...header, crit: ["b64"], b64: false }, claims),
    };
  },

  "correctly signed, claims of the wrong types": async ({ victim }) => {
    const claims = claimsFor(victim);
    const { sid: _sid, ...withoutSid } = claims;
    return {
      "exp as a string": await sign({ ...claims, exp: String(claims.exp) }),
      "exp as an array": await sign({ ...claims, exp: [claims.exp] }),
      "iat as a string": await sign({ ...claims, iat: String(claims.iat) }),
      "jti as a number": await sign({ ...claims, jti: 12345 }),
      "jti missing": await sign({ ...claims, jti: undefined }),
      "sub as a number": await sign({ ...claims, sub: 12345 }),
      "sub as an object": await sign({ ...claims, sub: { id: victim.userId } }),
      "sub as a session id": await sign({ ...claims, sub: victim.sessionId }),
      "sid as a number": await sign({ ...claims, sid: 12345 }),
      "sid null": await sign({ ...claims, sid: null }),
      "sid missing": await sign(withoutSid),
      "sid as a user id": await sign({ ...claims, sid: victim.userId }),
      // The id patterns are anchored at both ends, and an array is not its one element.
      "sub with text before the user id": await sign({ ...claims, sub: `x${victim.userId}` }),
      "sub with text after the user id": await sign({ ...claims, sub: `${victim.userId}x` }),
      "sub as an array of the user id": await sign({ ...claims, sub: [victim.userId] }),
      "sid with text before the session id": await sign({ ...claims, sid: `x${victim.sessionId}` }),
      "sid with text after the session id": await sign({ ...claims, sid: `${victim.sessionId}x` }),
      "sid as an array of the session id": await sign({ ...claims, sid: [victim.sessionId] }),
      "payload an array": await sign([claims]),
      // RFC 9470 §6 and RFC 8176: auth_time and amr come together, auth_time an integer no later than iat.
      "auth_time without amr": await sign({ ...claims, auth_time: claims.iat }),
      "amr without auth_time": await sign({ ...claims, amr: ["pwd"] }),
      "auth_time as a string": await sign({ ...claims, auth_time: String(claims.iat), amr: ["pwd"] }),
      "auth_time after iat": await sign({ ...claims, auth_time: (claims.iat as number) + 60, amr: ["pwd"] }),
      "auth_time fractional": await sign({ ...claims, auth_time: (claims.iat as number) - 0.5, amr: ["pwd"] }),
      "auth_time negative": await sign({ ...claims, auth_time: -1, amr: ["pwd"] }),
      "amr empty": await sign({ ...claims, auth_time: claims.iat, amr: [] }),
      "amr a string": await sign({ ...claims, auth_time: claims.iat, amr: "pwd" }),
      "amr holding a number": await sign({ ...claims, auth_time: claims.iat, amr: [1] }),
      // RFC 9449 §6.1: cnf is { jkt: <thumbprint> }.
      "cnf without jkt": await sign({ ...claims, cnf: {} }),
      "cnf a string": await sign({ ...claims, cnf: "jkt" }),
      "cnf.jkt a number": await sign({ ...claims, cnf: { jkt: 1 } }),
    };
  },

  "correctly signed, lifetime over the maximum": async ({ victim }) => {
    const now = nowSeconds();
    return {
      "exp in ten years": await signWithServiceKey({ ...claimsFor(victim), exp: now + 10 * 365 * 86400 }),
      "exp at 2^53": await signWithServiceKey({ ...claimsFor(victim), exp: Number.MAX_SAFE_INTEGER }),
      "lifetime one second too long": await signWithServiceKey({ ...claimsFor(victim), exp: now + 601 }),
      "iat long ago, exp still ahead": await signWithServiceKey({ ...claimsFor(victim), iat: now - 3600, exp: now + 60 }),
      "no iat": await signWithServiceKey({ ...claimsFor(victim), iat: undefined }),
    };
  },

  "other JWTs, and the refresh token, as an access token": async ({ victim }) => {
    const claims = claimsFor(victim);
    return {
      "typ JWT": await signWithServiceKey(claims, { typ: "JWT" }),
      "typ missing": await signWithServiceKey(claims, { typ: undefined }),
      "typ refresh+jwt": await signWithServiceKey(claims, { typ: "refresh+jwt" }),
      "typ id_token style": await signWithServiceKey(claims, { typ: "id+jwt" }),
      "the refresh token itself": victim.refreshToken,
    };
  },

  "another audience or issuer, or from the future": async ({ victim }) => {
    const now = nowSeconds();
    const claims = claimsFor(victim);
    return {
      "audience of another API": await signWithServiceKey({ ...claims, aud: "https://other.example.com" }),
      "audience list without ours": await signWithServiceKey({ ...claims, aud: ["https://other.example.com"] }),
      "no audience": await signWithServiceKey({ ...claims, aud: undefined }),
      "issuer of another service": await signWithServiceKey({ ...claims, iss: "https://evil.example.com" }),
      "no issuer": await signWithServiceKey({ ...claims, iss: undefined }),
      "iat an hour ahead": await signWithServiceKey({ ...claims, iat: now + 3600, exp: now + 4200 }),
      "nbf an hour ahead": await signWithServiceKey({ ...claims, nbf: now + 3600 }),
    };
  },

  // Logout alone takes a genuine expired token (test/registry/liveness/activity.test.ts).
  expired: async ({ victim }) => {
    const now = nowSeconds();
    return {
      "expired a minute ago": await signWithServiceKey({ ...claimsFor(victim), iat: now - 660, exp: now - 60 }),
      "expired this second": await signWithServiceKey({ ...claimsFor(victim), iat: now - 600, exp: now }),
    };
  },

  "over-long tokens": async ({ victim }) => ({
    "8 KB token": `${victim.accessToken}.${"A".repeat(8 * 1024)}`,
    "3 KB genuinely signed token": await signWithServiceKey(claimsFor(victim), { kid: "k".repeat(3 * 1024) }),
    "9 KB of one part": "A".repeat(9 * 1024),
  }),
} satisfies Record<string, AttackTokens>;

export type AttackName = keyof typeof ATTACKS;
