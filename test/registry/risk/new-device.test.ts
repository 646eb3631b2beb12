import { describe, expect, it } from "vitest";
import { history, login, signedInFrom } from "../../support/devices";
import { signUp } from "../../support/http";

describe("new-device detection", () => {
  it("should flag the first sign-in from a kind of device the user has not used, and only that one", async () => {
    const laptop = await signUp("laptop");
    await signedInFrom(await login(laptop.email, { device: "laptop" }), laptop.email);
    const phone = await signedInFrom(await login(laptop.email, { device: "phone" }), laptop.email);
    await signedInFrom(await login(laptop.email, { device: "phone" }), laptop.email);

    const flagged = (await history(laptop.accessToken)).filter((event) => event.type === "new_device");
    expect(flagged).toHaveLength(1);
    expect(flagged[0]).toMatchObject({
      session_id: phone.sessionId,
      details: { fingerprint: "Mobile Safari|iOS|mobile", device: { browser: "Mobile Safari", os: "iOS", type: "mobile" } },
    });
  });

  it("should record every sign-in with its device and place, the signup's included, without calling the first device new", async () => {
    const laptop = await signUp("laptop");
    const events = await history(laptop.accessToken);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: "signed_in",
      session_id: laptop.sessionId,
      details: { device: { name: "Chrome on Windows", browser: "Chrome", os: "Windows", type: "desktop" }, place: { ip: laptop.ip } },
    });
  });
});
