import { createRoute } from "@hono/zod-openapi";
import { html } from "hono/html";
import { z } from "zod";
import type { AppEnv } from "../env";
import { allowMethods } from "../http/methods";
import { NO_STORE, openApiRoutes, PUBLIC, problems } from "../http/openapi";
import { DevicesPage } from "./page";

/**
 * The "Your devices" page. The markup is rendered here with hono/jsx; its script, stylesheet and
 * the reusable browser client are static files in public/assets (Workers Static Assets), served
 * verbatim with no build step. The page holds no user data: the script fetches it with the token.
 */
export const webRoutes = openApiRoutes<AppEnv>();

const devicesPage = createRoute({
  method: "get",
  path: "/",
  operationId: "devicesPage",
  summary: "The “Your devices” page (HTML)",
  tags: ["operations"],
  security: PUBLIC,
  responses: {
    200: {
      description: "The page; it loads the user's data itself, with the token",
      headers: { "Cache-Control": NO_STORE },
      content: { "text/html": { schema: z.string() } },
    },
    ...problems(),
  },
});

webRoutes.openapi(devicesPage, (c) => {
  c.header("Cache-Control", "no-store");
  // The doctype keeps browsers out of quirks mode; JSX cannot express it.
  return c.html(html`<!DOCTYPE html>${<DevicesPage />}`, 200);
});
allowMethods(webRoutes, "/", ["GET"]);
