// Generates the service's secrets: an Ed25519 signing key (as a JWK Set) and the refresh-token secret.
// Used by `npm run dev` (written to .wrangler/dev-secrets.env) and by `npm run keys` for production:
//   npm run --silent keys -- --kid 2026-11 | jq -r .JWT_SIGNING_KEYS | wrangler secret put JWT_SIGNING_KEYS
import { generateKeyPairSync, randomBytes } from "node:crypto";

export function newSigningKey(kid = new Date().toISOString().slice(0, 10)) {
  const { privateKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  return { ...jwk, kid, alg: "EdDSA", use: "sig" };
}

export function newSecrets(kid) {
  return {
    JWT_SIGNING_KEYS: JSON.stringify({ keys: [newSigningKey(kid)] }),
    REFRESH_TOKEN_SECRET: randomBytes(32).toString("base64url"),
  };
}

/** An admin API credential (256 bits): `node -e 'import("./scripts/keys.mjs").then(k => console.log(k.newAdminToken()))' | wrangler secret put ADMIN_TOKEN`. */
export function newAdminToken() {
  return randomBytes(32).toString("base64url");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const kidIndex = process.argv.indexOf("--kid");
  console.log(JSON.stringify(newSecrets(kidIndex > 0 ? process.argv[kidIndex + 1] : undefined), null, 2));
}
