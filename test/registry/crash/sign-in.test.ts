import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { UNANSWERED_SIGN_IN_MS } from "../../../src/registry/unanswered";
import { call, type Device, expectProblem, me, PASSWORD, refresh, type SignedIn, signIn, signUp, USER_AGENTS } from "../../support/http";
import { breakRegistry, crashRegistry, movableRegistryClock, registry } from "../../support/registry";
import { connect, type LiveClient } from "../../support/socket";

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
/** A sign-in the registry recorded whose confirmation never arrives: the Worker died after the commit. */
async function signInUnanswered(email: string, device: Device): Promise<SignedIn> {
  breakRegistry(lost, ["signInAnswered"]);
  try {
    return await signIn(email, device);
  } finally {
    vi.restoreAllMocks();
  }
}
const sessionsOf = async (device: SignedIn) =>
  ((await (await call("/v1/sessions", { token: device.accessToken })).json()) as { sessions: { id: string; confirmed: boolean }[] })
    .sessions;
const listed = async (device: SignedIn) => (await sessionsOf(device)).map((s) => s.id);
const confirmedOf = async (device: SignedIn) => Object.fromEntries((await sessionsOf(device)).map((s) => [s.id, s.confirmed]));
/** The next frame of a type (a new device's risk findings may come first). */
const nextOf = async (client: LiveClient, type: string) => {
  for (;;) {
    const frame = await client.next();
    if (frame.type === type) return frame;
  }
};
const mirroredConfirmedAt = async (sessionId: string) =>
  (await env.DB.prepare("SELECT confirmed_at FROM sessions WHERE id = ?").bind(sessionId).first<{ confirmed_at: number | null }>())
    ?.confirmed_at;

describe("a session whose sign-in answer never left the Worker", () => {
  it("should be ended and recorded within minutes of its sign-in, across a restart", async () => {
    const laptop = await signUp("laptop");
    // The registry records the session; the Worker that would confirm its answer is gone.
    const orphan = await signInUnanswered(laptop.email, "phone");
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

  it("should be listed as unconfirmed, in the registry and in D1, and never announced live", async () => {
    const laptop = await signUp("laptop");
    const onLaptop = await connect(laptop.accessToken);
    const orphan = await signInUnanswered(laptop.email, "phone");
    expect(await confirmedOf(laptop)).toEqual({ [laptop.sessionId]: true, [orphan.sessionId]: false });
    // The insert's own alarm mirrors it (nobody confirmed it, so nothing else wrote D1).
    await runDurableObjectAlarm(registry(laptop.userId));
    expect(await mirroredConfirmedAt(orphan.sessionId)).toBeNull();
    expect(await mirroredConfirmedAt(laptop.sessionId)).toEqual(expect.any(Number));
    // Ended at the deadline: the laptop hears of the end only, never of a new device.
    const clock = await movableRegistryClock(laptop.userId);
    clock.moveTo(UNANSWERED_SIGN_IN_MS + 1000);
    await runDurableObjectAlarm(registry(laptop.userId));
    expect(await nextOf(onLaptop, "session_revoked")).toMatchObject({ session_id: orphan.sessionId });
    expect(onLaptop.received.filter((frame) => frame.type === "session_created")).toEqual([]);
    onLaptop.socket.close(1000);
  });

  it("should confirm a session on its first use: listed, mirrored and announced as confirmed", async () => {
    const laptop = await signUp("laptop");
    const onLaptop = await connect(laptop.accessToken);
    const phone = await signInUnanswered(laptop.email, "phone");
    expect((await confirmedOf(laptop))[phone.sessionId]).toBe(false);
    expect((await me(phone.accessToken)).status).toBe(200);
    expect(await confirmedOf(laptop)).toEqual({ [laptop.sessionId]: true, [phone.sessionId]: true });
    expect(await nextOf(onLaptop, "session_created")).toMatchObject({ session: { id: phone.sessionId, confirmed: true } });
    await runDurableObjectAlarm(registry(laptop.userId));
    expect(await mirroredConfirmedAt(phone.sessionId)).toEqual(expect.any(Number));
    onLaptop.socket.close(1000);
  });

  it("should show a sign-in whose answer left as confirmed everywhere, in its own answer too", async () => {
    const laptop = await signUp("laptop");
    const onLaptop = await connect(laptop.accessToken);
    const phone = await call("/v1/auth/login", {
      method: "POST",
      json: { email: laptop.email, password: PASSWORD, token_transport: "body" },
      headers: { "User-Agent": USER_AGENTS.phone },
    });
    const answer = (await phone.json()) as { session: { id: string; confirmed: boolean } };
    expect(answer.session.confirmed).toBe(true);
    expect(await nextOf(onLaptop, "session_created")).toMatchObject({ session: { id: answer.session.id, confirmed: true } });
    expect((await confirmedOf(laptop))[answer.session.id]).toBe(true);
    // The sign-in's D1 write waited for the confirmation: it lands confirmed.
    await vi.waitFor(async () => expect(await mirroredConfirmedAt(answer.session.id)).toEqual(expect.any(Number)));
    onLaptop.socket.close(1000);
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
    const phone = await signInUnanswered(laptop.email, "phone");
    expect((await me(phone.accessToken)).status).toBe(200);
    const clock = await movableRegistryClock(laptop.userId);
    clock.moveTo(UNANSWERED_SIGN_IN_MS + 60_000);
    await runDurableObjectAlarm(registry(laptop.userId));
    expect((await refresh(phone.refreshToken)).status).toBe(200);
    expect((await listed(laptop)).sort()).toEqual([laptop.sessionId, phone.sessionId].sort());
  });
});
