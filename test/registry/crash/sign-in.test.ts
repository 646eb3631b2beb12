import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { UNANSWERED_SIGN_IN_MS } from "../../../src/registry/unanswered";
import { call, expectProblem, me, refresh, type SignedIn, signIn, signUp } from "../../support/http";
import { breakRegistry, crashRegistry, movableRegistryClock, registry } from "../../support/registry";

/**
 * A sign-in whose answer never left the Worker (docs/storage-schema.md, "Crash consistency"): the
 * registry committed the session, then the process died. Nobody holds its tokens; the registry ends
 * it within UNANSWERED_SIGN_IN_MS. A session whose answer did leave is never touched, however
 * late its client first uses it.
 */
afterEach(() => {
  vi.restoreAllMocks();
});

const lost = () => new Error("process died before answering (injected)");
const listed = async (device: SignedIn) =>
  ((await (await call("/v1/sessions", { token: device.accessToken })).json()) as { sessions: { id: string }[] }).sessions.map((s) => s.id);

describe("a session whose sign-in answer never left the Worker", () => {
  it("should be ended and recorded within minutes of its sign-in, across a restart", async () => {
    const laptop = await signUp("laptop");
    // The registry records the session; the Worker that would confirm its answer is gone.
    breakRegistry(lost, ["signInAnswered"]);
    const orphan = await signIn(laptop.email, "phone");
    vi.restoreAllMocks();
    await crashRegistry(laptop.userId);
    const clock = await movableRegistryClock(laptop.userId);
    clock.moveTo(UNANSWERED_SIGN_IN_MS + 1000);
    await runDurableObjectAlarm(registry(laptop.userId));
    expect(await listed(laptop)).toEqual([laptop.sessionId]);
    await expectProblem(await refresh(orphan.refreshToken), 401, "invalid_refresh_token");
    const row = await env.DB.prepare("SELECT revoked_reason FROM sessions WHERE id = ?").bind(orphan.sessionId).first();
    expect(row).toEqual({ revoked_reason: "sign_in_unanswered" });
    const events = await env.DB.prepare("SELECT details FROM security_events WHERE user_id = ? AND type = 'session_revoked'")
      .bind(laptop.userId)
      .all<{ details: string }>();
    expect(events.results.map((event) => JSON.parse(event.details))).toEqual([
      expect.objectContaining({ reason: "sign_in_unanswered", revoked_by: "policy", by_session_id: null }),
    ]);
  });

  it("should keep a session whose answer left, though its client first uses it an hour later", async () => {
    const laptop = await signUp("laptop");
    const phone = await signIn(laptop.email, "phone");
    const clock = await movableRegistryClock(laptop.userId);
    clock.moveTo(60 * 60_000);
    await runDurableObjectAlarm(registry(laptop.userId));
    expect((await refresh(phone.refreshToken)).status).toBe(200);
  });

  it("should keep a session its client used before the deadline, even if the Worker's confirmation was lost", async () => {
    const laptop = await signUp("laptop");
    breakRegistry(lost, ["signInAnswered"]);
    const phone = await signIn(laptop.email, "phone");
    vi.restoreAllMocks();
    expect((await me(phone.accessToken)).status).toBe(200);
    const clock = await movableRegistryClock(laptop.userId);
    clock.moveTo(UNANSWERED_SIGN_IN_MS + 60_000);
    await runDurableObjectAlarm(registry(laptop.userId));
    expect((await refresh(phone.refreshToken)).status).toBe(200);
    expect((await listed(laptop)).sort()).toEqual([laptop.sessionId, phone.sessionId].sort());
  });
});
