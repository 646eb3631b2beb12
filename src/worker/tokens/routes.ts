import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { AppEnv } from "../env";
import { allowMethods } from "../http/methods";
import { openApiRoutes, PUBLIC, problems } from "../http/openapi";
import { loadKeySet } from "./keys";

export const jwksRoutes = openApiRoutes<AppEnv>();

const Jwk = z
  .object({
    kty: z.literal("OKP"),
    crv: z.literal("Ed25519"),
    x: z.string().meta({ description: "The public key, base64url" }),
    kid: z.string().meta({ description: "Matches the `kid` header of the tokens it signed" }),
    alg: z.literal("EdDSA"),
    use: z.literal("sig"),
  })
  .strict()
  .meta({ id: "Jwk" });

const getJwks = createRoute({
  method: "get",
  path: "/jwks.json",
  operationId: "getJwks",
  summary: "The public keys that verify access tokens (RFC 7517)",
  description:
    "Every key that may have signed a live access token, retired ones included. A verifier that only checks signatures keeps accepting a revoked session's access token until it expires; introspection (`POST /v1/oauth/introspect`) also checks that the session is live.",
  tags: ["tokens"],
  security: PUBLIC,
  responses: {
    200: {
      description: "A JWK Set",
      headers: {
        "Cache-Control": {
          description: "`public, max-age=300`: a newly added key is seen well before it signs",
          required: true,
          schema: { type: "string" },
        },
      },
      content: { "application/json": { schema: z.object({ keys: z.array(Jwk) }).strict() } },
    },
    ...problems("service_unavailable"),
  },
});

jwksRoutes.openapi(getJwks, async (c) => {
  const keys = await loadKeySet(c.env.JWT_SIGNING_KEYS);
  // Short enough that a newly added key is seen well before it starts signing (see docs/keys.md).
  c.header("Cache-Control", "public, max-age=300");
  return c.json(keys.jwks, 200);
});
allowMethods(jwksRoutes, "/jwks.json", ["GET"]);
