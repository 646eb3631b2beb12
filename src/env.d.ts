// Secrets are not in wrangler.jsonc, so `wrangler types` cannot see them; they are declared here.
// Set them with `wrangler secret put` in production; `npm run dev` writes local ones to `.wrangler/dev-secrets.env`.
declare namespace Cloudflare {
  interface Env {
    /** A JWK Set (JSON) of Ed25519 private keys; the last key with a private part signs. */
    JWT_SIGNING_KEYS: string;
    /** At least 32 random bytes, base64url: keys the refresh-token tag and successor derivation. */
    REFRESH_TOKEN_SECRET: string;
    /**
     * Clients allowed to call /v1/oauth/introspect and /v1/oauth/revoke: a JSON object mapping each
     * client_id to the SHA-256 (hex) of its client secret. Unset means no client is allowed.
     */
    INTROSPECTION_CLIENTS?: string;
    /** Signs security-event webhooks (HMAC-SHA256); only needed when SECURITY_WEBHOOK_URL is set. */
    SECURITY_WEBHOOK_SECRET?: string;
    /**
     * The operators' bearer credential for /v1/admin (at least 32 characters). Unset or shorter:
     * the admin API does not exist (404), so a forgotten secret fails closed.
     */
    ADMIN_TOKEN?: string;
  }
}
interface Env extends Cloudflare.Env {}
