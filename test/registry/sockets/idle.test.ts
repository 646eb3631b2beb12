import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { me, signIn, signInOn } from "../../support/http";
import { configure, registry } from "../../support/registry";
import { connect, within } from "../../support/socket";

// The shortest idle timeout the configuration accepts; the clock is moved, nothing sleeps.
const IDLE_MS = 300_000;

afterEach(() => {
  vi.useRealTimers();
});

/**
 * A laptop and a phone of one user, both with a socket open, under the shortest idle timeout and a
 * fake clock; at start + 200 s the laptop is used and the phone is not.
 */
async function laptopInUsePhoneIdle() {
  const [laptop, phone] = await signInOn("laptop", "phone");
  await configure(laptop!.userId, { SESSION_IDLE_TIMEOUT_SECONDS: String(IDLE_MS / 1000) });
  const start = Date.now();
  vi.useFakeTimers({ now: start, toFake: ["Date"] });
  const onLaptop = await connect(laptop!.accessToken);
  const onPhone = await connect(phone!.accessToken);
  vi.setSystemTime(start + 200_000);
  expect((await me(laptop!.accessToken)).status).toBe(200);
  return { laptop: laptop!, phone: phone!, onLaptop, onPhone, start };
}

describe("the live channel and the idle timeout", () => {
  it("should close an idle session's socket with 4002 when the alarm runs past its idle deadline, and tell the user's other sockets", async () => {
    const { laptop, phone, onLaptop, onPhone, start } = await laptopInUsePhoneIdle();

    vi.setSystemTime(start + IDLE_MS + 1000);
    expect(await runDurableObjectAlarm(registry(laptop!.userId))).toBe(true);

    expect(await onPhone.next()).toMatchObject({ type: "session_expired", session_id: phone!.sessionId, reason: "expired", cause: "idle" });
    expect(await within(onPhone.closed)).toEqual({ code: 4002, reason: "session expired" });
    expect(await onLaptop.next()).toMatchObject({ type: "session_expired", session_id: phone!.sessionId });

    // A later alarm does not announce the phone again: the next frame the laptop hears is a new sign-in.
    expect(await runDurableObjectAlarm(registry(laptop!.userId))).toBe(true);
    const third = await signIn(laptop!.email, "laptop");
    expect(await onLaptop.next()).toMatchObject({ type: "session_created", session: { id: third.sessionId } });
    expect(onLaptop.socket.readyState).toBe(WebSocket.OPEN);
    onLaptop.socket.close(1000);
  });

  it("should keep a socket open through the alarm when its session was used before the deadline, and come back for the moved deadline", async () => {
    const [laptop] = await signInOn("laptop");
    await configure(laptop!.userId, { SESSION_IDLE_TIMEOUT_SECONDS: String(IDLE_MS / 1000) });
    const stub = registry(laptop!.userId);
    const start = Date.now();
    vi.useFakeTimers({ now: start, toFake: ["Date"] });
    const onLaptop = await connect(laptop!.accessToken);
    vi.setSystemTime(start + 290_000);
    expect((await me(laptop!.accessToken)).status).toBe(200); // moves the idle deadline to start + 590 s

    vi.setSystemTime(start + IDLE_MS + 1000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())).toBe(start + 290_000 + IDLE_MS);
    // Frames on one socket arrive in order: had the alarm ended the session, this would not come first.
    const second = await signIn(laptop!.email, "laptop");
    expect(await onLaptop.next()).toMatchObject({ type: "session_created", session: { id: second.sessionId } });
    expect(onLaptop.socket.readyState).toBe(WebSocket.OPEN);

    vi.setSystemTime(start + 290_000 + IDLE_MS);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await onLaptop.next()).toMatchObject({
      type: "session_expired",
      session_id: laptop!.sessionId,
      reason: "expired",
      cause: "idle",
    });
    expect(await within(onLaptop.closed)).toEqual({ code: 4002, reason: "session expired" });
  });

  it("should end a session that went idle when its client sends a frame before the alarm has run: session_expired to every socket, then 4002", async () => {
    const { phone, onLaptop, onPhone, start } = await laptopInUsePhoneIdle();

    // Past the phone's deadline, no alarm run: the phone's app says something first.
    vi.setSystemTime(start + IDLE_MS + 1000);
    onPhone.socket.send("hello");
    expect(await onPhone.next()).toMatchObject({ type: "session_expired", session_id: phone!.sessionId, reason: "expired", cause: "idle" });
    expect(await within(onPhone.closed)).toEqual({ code: 4002, reason: "session expired" });
    expect(await onLaptop.next()).toMatchObject({ type: "session_expired", session_id: phone!.sessionId });
    expect(onLaptop.socket.readyState).toBe(WebSocket.OPEN);
    onLaptop.socket.close(1000);
  });
});
