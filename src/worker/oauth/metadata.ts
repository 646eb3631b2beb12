import { Hono } from "hono";
import { configFrom } from "../../shared/config";
import type { AppEnv } from "../env";
import { allowMethods } from "../http/methods";
import { DPOP_ALGORITHMS } from "../tokens/dpop";

export const oauthMetadataRoutes = new Hono<AppEnv>();

/**
 * RFC 8414 authorization server metadata. `issuer` is JWT_ISSUER (what tokens carry; RFC 8414 §3.3
 * wants it to be the URL this document is served under, so deployments set JWT_ISSUER to the
 * service's origin); the endpoints are absolute URLs on the origin the request reached.
 */
oauthMetadataRoutes.get("/oauth-authorization-server", (c) => {
  const origin = new URL(c.req.url).origin;
  const clientAuthentication = ["client_secret_basic", "client_secret_post"];
  c.header("Cache-Control", "public, max-age=300");
  return c.json({
    issuer: configFrom(c.env).issuer,
    token_endpoint: `${origin}/v1/oauth/token`,
    introspection_endpoint: `${origin}/v1/oauth/introspect`,
    revocation_endpoint: `${origin}/v1/oauth/revoke`,
    jwks_uri: `${origin}/.well-known/jwks.json`,
    // No authorization endpoint: sessions start at /v1/auth/signup and /login (docs/api.md).
    response_types_supported: [],
    grant_types_supported: ["refresh_token"],
    token_endpoint_auth_methods_supported: ["none"],
    introspection_endpoint_auth_methods_supported: clientAuthentication,
    revocation_endpoint_auth_methods_supported: clientAuthentication,
    dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS],
  });
});
allowMethods(oauthMetadataRoutes, "/oauth-authorization-server", ["GET"]);
