import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { EVENT_ID } from "../../contract/ids";
import type { NotFound, NoticeAnswered, NoticeSpent, Refused } from "../../contract/registry";
import type { NoticeAnswer } from "../../contract/wire";
import { RiskNotice } from "../../contract/wire-schema";
import { readNoticeLink } from "../../shared/notice-link";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { readJson } from "../http/body";
import { failClosed } from "../http/fail-closed";
import { allowMethods } from "../http/methods";
import { ACCESS_TOKEN, ACCESS_TOKEN_REFUSALS, jsonRequest, openApiRoutes, PUBLIC, problems } from "../http/openapi";
import { requireAccessToken } from "../sessions/guard";
import { registryFor } from "../sessions/registry-client";

/**
 * "Was this you?" (docs/devices.md): the open notices of the user's risk findings, and the two
 * answers, from a signed-in device or from the signed link of the finding's webhook event.
 */
export const noticeRoutes = openApiRoutes<AppEnv>();

const noticeIdParam = z.object({
  id: z.string().meta({ description: "A notice id (the first finding's event id, `evt_…`)", example: "evt_01JD2Q4M5N6P7R8S9T0V" }),
});
const Answered = z
  .object({
    answer: z.enum(["confirmed", "reported"]),
    session_id: z.string().meta({ description: "The flagged session" }),
    signed_out: z
      .boolean()
      .meta({ description: "`reported`: the flagged session was ended by this answer (false if it had ended already)" }),
    change_password: z
      .boolean()
      .meta({ description: "True for `reported`: the account may be someone else's too; change the password now" }),
  })
  .strict()
  .meta({ id: "NoticeAnswered" });
const ANSWER_REFUSALS = ["not_found", "notice_answered", "registry_unavailable", "service_unavailable"] as const;

const listNotices = createRoute({
  method: "get",
  path: "/",
  operationId: "listNotices",
  summary: "The open “was this you?” notices, one per flagged session",
  tags: ["sessions"],
  security: ACCESS_TOKEN,
  middleware: [requireAccessToken],
  responses: {
    200: {
      description: "Every unanswered notice of the user's risk findings, oldest first",
      content: { "application/json": { schema: z.object({ notices: z.array(RiskNotice) }).strict() } },
    },
    ...problems(...ACCESS_TOKEN_REFUSALS, "registry_unavailable", "service_unavailable"),
  },
});

noticeRoutes.openapi(listNotices, async (c) => {
  const { userId, actor } = c.var.caller;
  const result = await failClosed("registry", () => registryFor(c.env, userId).sessionNotices(actor));
  if (!result.ok) throw new ApiError(result.code);
  return c.json({ notices: result.notices }, 200);
});

function answerRoute(answer: NoticeAnswer) {
  const confirmed = answer === "confirmed";
  return createRoute({
    method: "post",
    path: confirmed ? "/{id}/confirm" : "/{id}/report",
    operationId: confirmed ? "confirmNotice" : "reportNotice",
    summary: confirmed
      ? "“Yes, it was me”: acknowledge a notice on every device"
      : "“No, sign it out”: end the flagged session and report it as not the user",
    tags: ["sessions"],
    security: ACCESS_TOKEN,
    middleware: [requireAccessToken],
    request: { params: noticeIdParam },
    responses: {
      200: {
        description: confirmed
          ? "Acknowledged (`risk_acknowledged` in the history); every device drops the notice"
          : "The flagged session is ended (`takeover_reported` in the history); the caller should change the password",
        content: { "application/json": { schema: Answered } },
      },
      ...problems(...ACCESS_TOKEN_REFUSALS, "payload_too_large", ...ANSWER_REFUSALS),
    },
  });
}

for (const answer of ["confirmed", "reported"] as const) {
  noticeRoutes.openapi(answerRoute(answer), async (c) => {
    const { userId, actor } = c.var.caller;
    const id = c.req.param("id");
    const registry = registryFor(c.env, userId);
    const result = EVENT_ID.test(id)
      ? await failClosed("registry", () => registry.sessionAnswerNotice(actor, id, answer))
      : await failClosed("registry", async (): Promise<Refused | NotFound> => {
          const live = await registry.sessionCheck(actor);
          return live.ok ? { ok: false, code: "not_found" } : live;
        });
    return c.json(answeredJson(result), 200);
  });
}

/** The answer as the API states it; a refusal is thrown. */
export function answeredJson(result: NoticeAnswered | Refused | NotFound | NoticeSpent) {
  if (!result.ok) throw new ApiError(result.code);
  const reported = result.answer === "reported";
  return { answer: result.answer, session_id: result.sessionId, signed_out: reported && result.revoked > 0, change_password: reported };
}

const linkBody = z.object({
  token: z.string().max(256).meta({ description: "The `token` of the webhook event's `notice.answer_url`" }),
  answer: z.enum(["confirmed", "reported"]),
});

const answerByLink = createRoute({
  method: "post",
  path: "/answer",
  operationId: "answerNoticeByLink",
  summary: "Answer a notice with the signed, single-use link of its webhook event (no sign-in)",
  description:
    "For an application's own page behind the link it emailed. The token names one notice of one user, expires 24 hours after the finding, and is spent once the notice is answered, here, by another link, or on a device.",
  tags: ["sessions"],
  security: PUBLIC,
  request: { body: jsonRequest(linkBody) },
  responses: {
    200: { description: "Answered, as on a device", content: { "application/json": { schema: Answered } } },
    ...problems("validation_failed", "payload_too_large", "invalid_notice_link", ...ANSWER_REFUSALS),
  },
});

noticeRoutes.openapi(answerByLink, async (c) => {
  const { token, answer } = await readJson(c, linkBody);
  const link = await readNoticeLink(c.env.REFRESH_TOKEN_SECRET, token, Date.now());
  if (!link) throw new ApiError("invalid_notice_link");
  const result = await failClosed("registry", () => registryFor(c.env, link.userId).trustedAnswerNotice(link.noticeId, answer));
  return c.json(answeredJson(result), 200);
});

allowMethods(noticeRoutes, "/", ["GET"]);
allowMethods(noticeRoutes, "/answer", ["POST"]);
allowMethods(noticeRoutes, "/:id/confirm", ["POST"]);
allowMethods(noticeRoutes, "/:id/report", ["POST"]);
