import { Hono } from "hono";
import type { AppEnv } from "../env";
import { allowMethods } from "../http/methods";
import { loadKeySet } from "./keys";

export const jwksRoutes = new Hono<AppEnv>();

jwksRoutes.get("/jwks.json", async (c) => {
  const keys = await loadKeySet(c.env.JWT_SIGNING_KEYS);
  // Short enough that a newly added key is seen well before it starts signing (see docs/keys.md).
  c.header("Cache-Control", "public, max-age=300");
  return c.json(keys.jwks);
});
allowMethods(jwksRoutes, "/jwks.json", ["GET"]);
