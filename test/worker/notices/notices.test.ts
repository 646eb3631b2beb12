import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { mintNoticeLink } from "../../../src/shared/notice-link";
import { call, expectProblem, me, signInOn } from "../../support/http";
import { connect, within } from "../../support/socket";

/** A laptop, then a phone: a new kind of device for the user, so one "was this you?" notice about the phone. */
async function phoneFlagged() {
  const [laptop, phone] = await signInOn("laptop", "phone");
  const listed = await call("/v1/notices", { token: laptop!.accessToken });
  expect(listed.status).toBe(200);
  const { notices } = (await listed.json()) as {
    notices: { id: string; session_id: string; findings: string[]; device: { name: string } }[];
  };
  expect(notices).toHaveLength(1);
  return { laptop: laptop!, phone: phone!, notice: notices[0]! };
}

const historyOf = async (token: string) =>
  ((await (await call("/v1/security-events", { token })).json()) as { events: { type: string; session_id: string; details: any }[] })
    .events;

describe("“was this you?” notices", () => {
  it("should list a risk finding as an open notice about the flagged session, naming its device, and none for the first sign-in", async () => {
    const { laptop, phone, notice } = await phoneFlagged();
    expect(notice).toMatchObject({ session_id: phone.sessionId, findings: ["new_device"], device: { type: "mobile" } });
    expect(notice.id).toMatch(/^evt_/);
    // Every device sees the same notices, the flagged one too.
    const onPhone = (await (await call("/v1/notices", { token: phone.accessToken })).json()) as { notices: unknown[] };
    expect(onPhone.notices).toEqual([notice]);
    void laptop;
  });

  it("should acknowledge a notice for every device on “Yes, it was me”, record it, and refuse a second answer", async () => {
    const { laptop, phone, notice } = await phoneFlagged();
    const onPhone = await connect(phone.accessToken);
    const answered = await call(`/v1/notices/${notice.id}/confirm`, { method: "POST", token: laptop.accessToken });
    expect(answered.status).toBe(200);
    expect(await answered.json()).toEqual({ answer: "confirmed", session_id: phone.sessionId, signed_out: false, change_password: false });
    expect(await within(onPhone.next())).toMatchObject({ type: "risk_notice_answered", notice_id: notice.id, answer: "confirmed" });
    expect(((await (await call("/v1/notices", { token: phone.accessToken })).json()) as { notices: unknown[] }).notices).toEqual([]);
    expect((await me(phone.accessToken)).status).toBe(200);
    const [latest] = await historyOf(laptop.accessToken);
    expect(latest).toMatchObject({
      type: "risk_acknowledged",
      session_id: phone.sessionId,
      details: { notice_id: notice.id, findings: ["new_device"], via: "device", answered_by_session_id: laptop.sessionId },
    });
    await expectProblem(
      await call(`/v1/notices/${notice.id}/report`, { method: "POST", token: laptop.accessToken }),
      409,
      "notice_answered",
    );
    expect((await me(phone.accessToken)).status).toBe(200);
    onPhone.socket.close(1000);
  });

  it("should sign the flagged session out at once on “No, sign it out”, tell it why, and record takeover_reported", async () => {
    const { laptop, phone, notice } = await phoneFlagged();
    const onPhone = await connect(phone.accessToken);
    const answered = await call(`/v1/notices/${notice.id}/report`, { method: "POST", token: laptop.accessToken });
    expect(answered.status).toBe(200);
    expect(await answered.json()).toEqual({ answer: "reported", session_id: phone.sessionId, signed_out: true, change_password: true });
    expect(await within(onPhone.next())).toMatchObject({
      type: "session_revoked",
      session_id: phone.sessionId,
      reason: "takeover_reported",
    });
    expect((await me(phone.accessToken)).status).toBe(401);
    const [latest, revoked] = await historyOf(laptop.accessToken);
    expect(latest).toMatchObject({
      type: "takeover_reported",
      session_id: phone.sessionId,
      details: { session_signed_out: true, via: "device" },
    });
    expect(revoked).toMatchObject({ type: "session_revoked", details: { reason: "takeover_reported", by_session_id: laptop.sessionId } });
  });

  it("should answer through a signed link once, and refuse a tampered, expired or foreign link", async () => {
    const { laptop, phone, notice } = await phoneFlagged();
    const link = (token: string, answer = "reported") => call("/v1/notices/answer", { method: "POST", json: { token, answer } });
    const token = await mintNoticeLink(env.REFRESH_TOKEN_SECRET, laptop.userId, notice.id, Date.now() + 60_000);
    const flipped = `${token.slice(0, -2)}${token.at(-2) === "A" ? "B" : "A"}${token.at(-1)}`;
    await expectProblem(await link(flipped), 400, "invalid_notice_link");
    const expired = await mintNoticeLink(env.REFRESH_TOKEN_SECRET, laptop.userId, notice.id, Date.now() - 1000);
    await expectProblem(await link(expired), 400, "invalid_notice_link");
    const otherKey = await mintNoticeLink(btoa("x".repeat(32)).replace(/=+$/, ""), laptop.userId, notice.id, Date.now() + 60_000);
    await expectProblem(await link(otherKey), 400, "invalid_notice_link");
    expect((await me(phone.accessToken)).status).toBe(200);

    const answered = await link(token);
    expect(answered.status).toBe(200);
    expect(await answered.json()).toMatchObject({ answer: "reported", signed_out: true });
    expect((await me(phone.accessToken)).status).toBe(401);
    const [latest] = await historyOf(laptop.accessToken);
    expect(latest).toMatchObject({ type: "takeover_reported", details: { via: "link", answered_by_session_id: null } });
    // Single use: the same link, with either answer, is spent.
    await expectProblem(await link(token, "confirmed"), 409, "notice_answered");
  });

  it("should show the link's question without acting on a GET, and answer on the page's POST", async () => {
    const { laptop, phone, notice } = await phoneFlagged();
    const token = await mintNoticeLink(env.REFRESH_TOKEN_SECRET, laptop.userId, notice.id, Date.now() + 60_000);
    const page = await call(`/was-this-you?token=${encodeURIComponent(token)}`);
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text).toContain("Was this you?");
    expect(text).toContain(notice.device.name);
    expect((await me(phone.accessToken)).status).toBe(200);
    const form = new URLSearchParams({ token, answer: "confirmed" });
    const posted = await call("/was-this-you", {
      method: "POST",
      body: form,
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect(posted.status).toBe(200);
    expect(await posted.text()).toContain("it was you");
    expect((await call(`/was-this-you?token=${encodeURIComponent(token)}`)).status).toBe(409);
    expect((await call("/was-this-you?token=nonsense")).status).toBe(400);
  });
});
