import { Hono } from "hono";
import { html } from "hono/html";
import type { AppEnv } from "../env";
import { allowMethods } from "../http/methods";
import { DevicesPage } from "./page";

/**
 * The "Your devices" page. The markup is rendered here with hono/jsx; its script, stylesheet and
 * the reusable browser client are static files in public/assets (Workers Static Assets), served
 * verbatim with no build step. The page holds no user data: the script fetches it with the token.
 */
export const webRoutes = new Hono<AppEnv>();

webRoutes.get("/", (c) => {
  c.header("Cache-Control", "no-store");
  // The doctype keeps browsers out of quirks mode; JSX cannot express it.
  return c.html(html`<!DOCTYPE html>${<DevicesPage />}`);
});
allowMethods(webRoutes, "/", ["GET"]);
