import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { AppEnv } from "../env";
import { allowMethods } from "../http/methods";
import { openApiRoutes, PUBLIC, problems } from "../http/openapi";

/** Liveness for load balancers and uptime checks: it touches no store, so it answers while they are down. */
export const healthRoutes = openApiRoutes<AppEnv>();

const health = createRoute({
  method: "get",
  path: "/healthz",
  operationId: "health",
  summary: "Liveness: the Worker answers",
  tags: ["operations"],
  security: PUBLIC,
  responses: {
    200: { description: "The Worker is up", content: { "application/json": { schema: z.object({ status: z.literal("ok") }).strict() } } },
    ...problems(),
  },
});

healthRoutes.openapi(health, (c) => c.json({ status: "ok" as const }, 200));
allowMethods(healthRoutes, "/healthz", ["GET"]);
