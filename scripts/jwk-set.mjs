// The steps of a signing-key rotation, as pure functions on a JWK Set (no I/O, so tests run them in
// workerd). The service signs with the LAST key that has a private part `d`; every key is published
// in the JWKS and accepted. See docs/keys.md for when to run each step.

/** The kid of the key that signs new tokens. */
export function signingKid(set) {
  const signer = set.keys.findLast((key) => typeof key.d === "string");
  if (!signer) throw new Error("the set holds no private key");
  return signer.kid;
}

function requireKid(set, kid) {
  if (!set.keys.some((key) => key.kid === kid)) throw new Error(`no key with kid ${JSON.stringify(kid)}`);
}

/** Stage: publish a new key without signing with it (placed just before the current signer). */
export function addKey(set, newKey) {
  if (typeof newKey.d !== "string" || typeof newKey.kid !== "string") throw new Error("the new key needs a kid and a private part");
  if (set.keys.some((key) => key.kid === newKey.kid)) throw new Error(`kid ${JSON.stringify(newKey.kid)} is already in the set`);
  const signer = set.keys.findLastIndex((key) => typeof key.d === "string");
  const keys = [...set.keys];
  keys.splice(signer < 0 ? keys.length : signer, 0, newKey);
  return { keys };
}

/** Promote: the staged key becomes the last entry, so it signs from the next deploy on. */
export function promoteKey(set, kid) {
  requireKid(set, kid);
  const key = set.keys.find((k) => k.kid === kid);
  if (typeof key.d !== "string") throw new Error(`kid ${JSON.stringify(kid)} has no private part and cannot sign`);
  return { keys: [...set.keys.filter((k) => k.kid !== kid), key] };
}

/** Retire: strip the private part of every key but the signer; they stay published for verification. */
export function retireKeys(set) {
  const signer = signingKid(set);
  return { keys: set.keys.map(({ d, ...publicPart }) => (publicPart.kid === signer ? { ...publicPart, d } : publicPart)) };
}

/** Remove: drop a key entirely; tokens it signed stop verifying. Never the signer. */
export function removeKey(set, kid) {
  requireKid(set, kid);
  if (kid === signingKid(set)) throw new Error(`kid ${JSON.stringify(kid)} is the signing key; promote another first`);
  return { keys: set.keys.filter((key) => key.kid !== kid) };
}

/** Accepts a JWK Set or a bare array of JWKs, as the service does. */
export function parseKeySet(json) {
  const parsed = JSON.parse(json);
  const keys = Array.isArray(parsed) ? parsed : parsed?.keys;
  if (!Array.isArray(keys)) throw new Error("not a JWK Set");
  return { keys };
}
