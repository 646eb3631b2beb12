import { describe, expect, it } from "vitest";
import { call, PASSWORD, USER_AGENTS, uniqueEmail } from "../../support/http";

async function signUpWith(headers: Record<string, string>) {
  const response = await call("/v1/auth/signup", {
    method: "POST",
    json: { email: uniqueEmail(), password: PASSWORD, token_transport: "body" },
    headers,
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as any).session.device;
}

describe("user-agent client hints", () => {
  it("should name Brave from Sec-CH-UA although its UA string says Chrome", async () => {
    const device = await signUpWith({
      "User-Agent": USER_AGENTS.laptop,
      "Sec-CH-UA": '"Brave";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
      "Sec-CH-UA-Platform": '"Windows"',
      "Sec-CH-UA-Mobile": "?0",
    });
    expect(device).toEqual({ name: "Brave on Windows", browser: "Brave", os: "Windows", type: "desktop" });
  });

  it("should prefer the hinted platform and mobility over the UA string", async () => {
    const device = await signUpWith({
      "User-Agent": USER_AGENTS.laptop,
      "Sec-CH-UA": '"Not?A_Brand";v="99", "Google Chrome";v="131", "Chromium";v="131"',
      "Sec-CH-UA-Platform": '"Android"',
      "Sec-CH-UA-Mobile": "?1",
    });
    expect(device).toEqual({ name: "Chrome on Android", browser: "Chrome", os: "Android", type: "mobile" });
  });

  it("should fall back to the UA string when there are no hints, or only unusable ones", async () => {
    expect(await signUpWith({ "User-Agent": USER_AGENTS.laptop })).toEqual({
      name: "Chrome on Windows",
      browser: "Chrome",
      os: "Windows",
      type: "desktop",
    });
    const garbled = await signUpWith({
      "User-Agent": USER_AGENTS.phone,
      "Sec-CH-UA": "nonsense",
      "Sec-CH-UA-Platform": "Windows",
      "Sec-CH-UA-Mobile": "maybe",
    });
    expect(garbled).toEqual({ name: "Mobile Safari on iOS", browser: "Mobile Safari", os: "iOS", type: "mobile" });
  });
});
