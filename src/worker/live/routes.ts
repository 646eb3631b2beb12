import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import {
  BEARER_PROTOCOL_PREFIX,
  DPOP_PROTOCOL_PREFIX,
  LIVE_DPOP_HEADER,
  LIVE_PROTOCOL,
  LIVE_REFUSAL_HEADER,
  LIVE_SESSION_HEADER,
  LIVE_TOKEN_EXP_HEADER,
  liveProofHeader,
} from "../../contract/live";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { failClosed } from "../http/fail-closed";
import { allowMethods } from "../http/methods";
import { ACCESS_TOKEN_REFUSALS, openApiRoutes, PUBLIC, problems } from "../http/openapi";
import { verifiedCaller } from "../sessions/guard";
import { registryFor } from "../sessions/registry-client";
import { dpopRefused } from "../tokens/dpop-http";

export const liveRoutes = openApiRoutes<AppEnv>();

const openLiveChannel = createRoute({
  method: "get",
  path: "/",
  operationId: "openLiveChannel",
  summary: "The session's live channel (WebSocket, docs/live.md)",
  description:
    "The access token travels as a subprotocol entry, since browsers cannot set `Authorization` on a WebSocket and URLs end up in logs. Frames are `LiveEvent`s (client/wire.d.ts).",
  tags: ["sessions"],
  // The token is in a header no security scheme can name: see the `Sec-WebSocket-Protocol` parameter.
  security: PUBLIC,
  request: {
    headers: z.object({
      Upgrade: z.string().optional().meta({ description: "`websocket`; anything else is 426", example: "websocket" }),
      "Sec-WebSocket-Protocol": z
        .string()
        .optional()
        .meta({
          description: `\`${LIVE_PROTOCOL}, ${BEARER_PROTOCOL_PREFIX}<access token>\`, and for a DPoP-bound session \`, ${DPOP_PROTOCOL_PREFIX}<proof>\` (a proof for GET of this URL with \`ath\`)`,
          example: `${LIVE_PROTOCOL}, ${BEARER_PROTOCOL_PREFIX}eyJ…`,
        }),
    }),
  },
  responses: {
    101: {
      description: "Upgraded: the socket stays open while the session lives",
      headers: {
        "Sec-WebSocket-Protocol": {
          description: `\`${LIVE_PROTOCOL}\``,
          required: true,
          schema: { type: "string", enum: [LIVE_PROTOCOL] },
        },
      },
    },
    ...problems(...ACCESS_TOKEN_REFUSALS, "upgrade_required", "registry_unavailable", "service_unavailable"),
  },
});

/**
 * `GET /v1/sessions/live`: the per-session live channel (docs/live.md). Browsers cannot set
 * `Authorization` on a WebSocket, and URLs end up in logs, so the access token travels as a
 * subprotocol entry: `Sec-WebSocket-Protocol: sessions.v1, bearer.<jwt>`; a DPoP-bound token's
 * proof (for GET of this URL, with `ath`) as another: `dpop.<proof>`.
 */
liveRoutes.openapi(openLiveChannel, async (c) => {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") throw new ApiError("upgrade_required", { headers: { Upgrade: "websocket" } });
  const offered = (c.req.header("Sec-WebSocket-Protocol") ?? "").split(",").map((entry) => entry.trim());
  const bearer = offered.find((entry) => entry.startsWith(BEARER_PROTOCOL_PREFIX));
  const proof = offered.find((entry) => entry.startsWith(DPOP_PROTOCOL_PREFIX));
  if (!offered.includes(LIVE_PROTOCOL) || bearer === undefined) throw new ApiError("invalid_token");
  // Signature, claims and a bound token's proof here (an expired token is refused before any
  // upgrade); liveness and the proof's jti in the registry.
  const token = bearer.slice(BEARER_PROTOCOL_PREFIX.length);
  const request = { method: "GET", url: c.req.url, dpop: proof === undefined ? null : proof.slice(DPOP_PROTOCOL_PREFIX.length) };
  const caller = await verifiedCaller(c.env, `${proof === undefined ? "Bearer" : "DPoP"} ${token}`, {}, request);
  // A fresh request: nothing the client sent reaches the object but the verified session id, the
  // token's `exp`, which the socket will not outlive (docs/live.md), and a bound token's proof.
  const headers: Record<string, string> = {
    Upgrade: "websocket",
    [LIVE_SESSION_HEADER]: caller.sessionId,
    [LIVE_TOKEN_EXP_HEADER]: String(caller.claims.exp),
  };
  if (caller.dpop) headers[LIVE_DPOP_HEADER] = liveProofHeader(caller.dpop);
  const forwarded = new Request("https://registry.internal/live", { headers });
  const response = await failClosed("registry", () => registryFor(c.env, caller.userId).fetch(forwarded));
  if (response.status === 101) return response;
  const refusal = response.headers.get(LIVE_REFUSAL_HEADER);
  if (refusal === "invalid_dpop_proof" || refusal === "use_dpop_nonce") throw await dpopRefused(c.env, refusal);
  throw caller.dpop ? await dpopRefused(c.env, "invalid_token") : new ApiError("invalid_token");
});
allowMethods(liveRoutes, "/", ["GET"]);
