import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { configFrom } from "../../shared/config";
import type { AppEnv } from "../env";
import { allowMethods } from "../http/methods";
import { openApiRoutes, PUBLIC, problems } from "../http/openapi";
import { DPOP_ALGORITHMS } from "../tokens/dpop";

export const oauthMetadataRoutes = openApiRoutes<AppEnv>();

const url = z.url();
const Metadata = z
  .object({
    issuer: z.string().meta({ description: "JWT_ISSUER: what every access token's `iss` says" }),
    token_endpoint: url,
    introspection_endpoint: url,
    revocation_endpoint: url,
    jwks_uri: url,
    response_types_supported: z.array(z.string()).meta({ description: "None: sessions start at /v1/auth/signup and /login" }),
    grant_types_supported: z.array(z.string()),
    token_endpoint_auth_methods_supported: z.array(z.string()),
    introspection_endpoint_auth_methods_supported: z.array(z.string()),
    revocation_endpoint_auth_methods_supported: z.array(z.string()),
    dpop_signing_alg_values_supported: z.array(z.string()),
  })
  .strict()
  .meta({ id: "AuthorizationServerMetadata", description: "RFC 8414 §2" });

const metadata = createRoute({
  method: "get",
  path: "/oauth-authorization-server",
  operationId: "oauthMetadata",
  summary: "Authorization server metadata (RFC 8414)",
  tags: ["oauth"],
  security: PUBLIC,
  responses: {
    200: {
      description: "The endpoints, grant and authentication methods, and the DPoP algorithms accepted",
      headers: { "Cache-Control": { description: "`public, max-age=300`", required: true, schema: { type: "string" } } },
      content: { "application/json": { schema: Metadata } },
    },
    ...problems("service_unavailable"),
  },
});

/**
 * RFC 8414 authorization server metadata. `issuer` is JWT_ISSUER (what tokens carry; RFC 8414 §3.3
 * wants it to be the URL this document is served under, so deployments set JWT_ISSUER to the
 * service's origin); the endpoints are absolute URLs on the origin the request reached.
 */
oauthMetadataRoutes.openapi(metadata, (c) => {
  const origin = new URL(c.req.url).origin;
  const clientAuthentication = ["client_secret_basic", "client_secret_post"];
  c.header("Cache-Control", "public, max-age=300");
  return c.json(
    {
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
    },
    200,
  );
});
allowMethods(oauthMetadataRoutes, "/oauth-authorization-server", ["GET"]);
