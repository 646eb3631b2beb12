import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { allowMethods } from "../http/methods";
import { verifiedCaller } from "../sessions/guard";
import { callRegistry, registryFor } from "../sessions/registry-client";
import { BEARER_PROTOCOL_PREFIX, LIVE_PROTOCOL } from "./events";
import { LIVE_SESSION_HEADER } from "./sockets";

export const liveRoutes = new Hono<AppEnv>();

/**
 * `GET /v1/sessions/live`: the per-session live channel (docs/live.md). Browsers cannot set
 * `Authorization` on a WebSocket, and URLs end up in logs, so the access token travels as a
 * subprotocol entry: `Sec-WebSocket-Protocol: sessions.v1, bearer.<jwt>`.
 */
liveRoutes.get("/", async (c) => {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") throw new ApiError("upgrade_required", undefined, { Upgrade: "websocket" });
  const offered = (c.req.header("Sec-WebSocket-Protocol") ?? "").split(",").map((entry) => entry.trim());
  const bearer = offered.find((entry) => entry.startsWith(BEARER_PROTOCOL_PREFIX));
  if (!offered.includes(LIVE_PROTOCOL) || bearer === undefined) throw new ApiError("invalid_token");
  // Signature and claims here (an expired token is refused before any upgrade); liveness in the registry.
  const caller = await verifiedCaller(c.env, `Bearer ${bearer.slice(BEARER_PROTOCOL_PREFIX.length)}`);
  // A fresh request: nothing the client sent reaches the object but the verified session id.
  const forwarded = new Request("https://registry.internal/live", {
    headers: { Upgrade: "websocket", [LIVE_SESSION_HEADER]: caller.sessionId },
  });
  const response = await callRegistry(() => registryFor(c.env, caller.userId).fetch(forwarded));
  if (response.status !== 101) throw new ApiError("invalid_token");
  return response;
});
allowMethods(liveRoutes, "/", ["GET"]);
