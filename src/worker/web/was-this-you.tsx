import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { html } from "hono/html";
import { z } from "zod";
import type { RiskFinding, RiskNoticeJson } from "../../contract/wire";
import { readNoticeLink } from "../../shared/notice-link";
import type { AppEnv } from "../env";
import { parseWith, readFormFields } from "../http/body";
import { failClosed } from "../http/fail-closed";
import { allowMethods } from "../http/methods";
import { formRequest, NO_STORE, openApiRoutes, PUBLIC, problems, queryParameters } from "../http/openapi";
import { answeredJson } from "../notices/routes";
import { registryFor } from "../sessions/registry-client";

/**
 * The page behind a notice's signed link (the `answer_url` of a risk finding's webhook event), for
 * an application to put in an email. Opening the link changes nothing: mail scanners and link
 * previews fetch links, so the GET only asks, and the answer is a POST from the page's form.
 * No script, no sign-in: the token is the only authority, for this one notice.
 */
export const noticeLinkRoutes = openApiRoutes<AppEnv>();

const tokenQuery = z.object({ token: z.string().max(256).meta({ description: "The signed, single-use token of the link" }) });
const answerForm = tokenQuery.extend({ answer: z.enum(["confirmed", "reported"]) });
const htmlPage = (description: string) => ({ description, content: { "text/html": { schema: z.string() } } });

const FINDINGS: Record<RiskFinding, string> = {
  new_device: "a new device",
  impossible_travel: "a place too far from the last one to have travelled",
  session_network_changed: "another country or network",
};

function Page(props: { title: string; children: unknown }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>{props.title}</title>
        <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="/assets/devices.css" />
      </head>
      <body>
        <main id="main" class="link-page">
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
  );
}

function render(c: Context<AppEnv>, status: 200 | 400 | 409, title: string, body: unknown) {
  c.header("Cache-Control", "no-store");
  return c.html(html`<!DOCTYPE html>${<Page title={title}>{body}</Page>}`, status);
}

const invalid = (c: Context<AppEnv>) =>
  render(c, 400, "This link does not work", <p>It is not a link this service sent, or it has expired (links work for 24 hours).</p>);

function describe(notice: RiskNoticeJson): string {
  const place = [notice.location.city, notice.location.country].filter(Boolean).join(", ") || "an unknown place";
  const when = new Date(notice.created_at).toUTCString().replace(/:\d\d GMT$/, " UTC");
  return `A sign-in on ${notice.device.name} from ${place}, ${when}, came from ${notice.findings.map((f) => FINDINGS[f]).join(" and ")}.`;
}

const showNotice = createRoute({
  method: "get",
  path: "/was-this-you",
  operationId: "noticeLinkPage",
  summary: "The page behind a notice's signed link: asks “was this you?” (changes nothing)",
  tags: ["operations"],
  security: PUBLIC,
  parameters: queryParameters(tokenQuery),
  responses: {
    200: { ...htmlPage("The question, with the two answers as a form"), headers: { "Cache-Control": NO_STORE } },
    400: htmlPage("The link is not valid or has expired"),
    409: htmlPage("The notice was answered already"),
    ...problems("registry_unavailable", "service_unavailable"),
  },
});

noticeLinkRoutes.openapi(showNotice, async (c) => {
  const link = await readNoticeLink(c.env.REFRESH_TOKEN_SECRET, c.req.query("token"), Date.now());
  if (!link) return invalid(c);
  const found = await failClosed("registry", () => registryFor(c.env, link.userId).trustedNotice(link.noticeId));
  if (!found.ok) return invalid(c);
  if (found.answer !== null) return render(c, 409, "Already answered", <p>This sign-in was answered already. Nothing more to do here.</p>);
  const token = c.req.query("token")!;
  return render(
    c,
    200,
    "Was this you?",
    <>
      <p>{describe(found.notice)}</p>
      <p class="muted">Nothing was blocked. If it was not you, signing it out ends that session at once.</p>
      <form method="post" action="/was-this-you" class="actions">
        <input type="hidden" name="token" value={token} />
        <button type="submit" name="answer" value="confirmed">
          Yes, it was me
        </button>
        <button type="submit" name="answer" value="reported" class="danger">
          No, sign it out
        </button>
      </form>
    </>,
  );
});

const answerNotice = createRoute({
  method: "post",
  path: "/was-this-you",
  operationId: "noticeLinkAnswer",
  summary: "The answer from the page behind a notice's signed link",
  tags: ["operations"],
  security: PUBLIC,
  request: { body: formRequest(answerForm) },
  responses: {
    200: htmlPage("Answered, as on a device"),
    400: htmlPage("The link is not valid or has expired, or the form is not one this page sent"),
    409: htmlPage("The notice was answered already"),
    ...problems("payload_too_large", "registry_unavailable", "service_unavailable"),
  },
});

noticeLinkRoutes.openapi(answerNotice, async (c) => {
  let form: z.output<typeof answerForm>;
  try {
    form = parseWith(answerForm, await readFormFields(c));
  } catch {
    return invalid(c);
  }
  const link = await readNoticeLink(c.env.REFRESH_TOKEN_SECRET, form.token, Date.now());
  if (!link) return invalid(c);
  const result = await failClosed("registry", () => registryFor(c.env, link.userId).trustedAnswerNotice(link.noticeId, form.answer));
  if (!result.ok && result.code === "notice_answered")
    return render(c, 409, "Already answered", <p>This sign-in was answered already. Nothing more to do here.</p>);
  if (!result.ok) return invalid(c);
  const answered = answeredJson(result);
  if (answered.answer === "confirmed") return render(c, 200, "Thank you", <p>Noted: it was you. The notice is gone from your devices.</p>);
  return render(
    c,
    200,
    "That device is signed out",
    <>
      <p>{answered.signed_out ? "The sign-in you did not recognise is signed out." : "That sign-in had already ended."}</p>
      <p>
        <strong>Change your password now</strong>: whoever signed in may know it. <a href="/">Sign in and change it</a>.
      </p>
    </>,
  );
});

allowMethods(noticeLinkRoutes, "/was-this-you", ["GET", "POST"]);
