import { describe, expect, it } from "vitest";
import { call, expectProblem, PASSWORD, refreshCookieOf, signInOn, uniqueEmail } from "../support/http";
import { authenticator, registerPasskey, tryRegister } from "../support/passkeys";

/**
 * Issue 12 item 15 (ASVS 5.0 V1.2.x, V2.2.1; UTS #39 §3.1): a display string may not hide
 * characters a person cannot see, and a body that is not UTF-8 is refused, not repaired.
 */
const HIDDEN: Record<string, string> = {
  "zero-width space": "Lap\u200Btop",
  "zero-width joiner": "Lap\u200Dtop",
  "zero-width non-joiner": "Lap\u200Ctop",
  "left-to-right mark": "Laptop\u200E",
  "right-to-left mark": "\u200FLaptop",
  "byte order mark": "\uFEFFLaptop",
  "word joiner": "Lap\u2060top",
  "soft hyphen": "Lap\u00ADtop",
  "tag characters": "Laptop\u{E0041}\u{E0042}\u{E007F}",
  "a noncharacter (U+FDD0)": "Laptop\uFDD0",
  "a noncharacter (U+FFFF)": "Laptop\uFFFF",
  "a noncharacter (U+1FFFE)": "Laptop\u{1FFFE}",
  "a private-use code point": "Laptop\uE000",
  "a supplementary private-use code point": "Laptop\u{F0000}",
  "a line separator": "Lap\u2028top",
};

// Names in other scripts, with accents and emoji, are names: only hidden code points are refused.
const VISIBLE = ["Ноутбук Ады", "筆記型電腦", "Café laptop", "📱 phone", "لابتوب"];

/** A JSON body with raw bytes spliced in where `@@` stands: what a client with a broken encoder sends. */
function rawJson(template: string, bytes: number[]): Uint8Array {
  const [before, after] = template.split("@@") as [string, string];
  const encoder = new TextEncoder();
  return new Uint8Array([...encoder.encode(before), ...bytes, ...encoder.encode(after)]);
}

const postRaw = (path: string, body: Uint8Array, init: { method?: string; token?: string } = {}) =>
  call(path, {
    method: init.method ?? "POST",
    body,
    headers: { "Content-Type": "application/json", ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}) },
  });

describe("hidden characters in display strings (issue 12 item 15)", () => {
  it("should refuse a device name hiding format, private-use or noncharacter code points at signup, sign-in and rename", async () => {
    const [device] = await signInOn("laptop");
    for (const [label, name] of Object.entries(HIDDEN)) {
      const signup = await call("/v1/auth/signup", {
        method: "POST",
        json: { email: uniqueEmail("hidden"), password: PASSWORD, device_name: name, token_transport: "body" },
      });
      const problem = await expectProblem(signup, 400, "validation_failed");
      expect((problem as { detail?: string }).detail, label).toBe(
        "device_name must not contain control, invisible or private-use characters",
      );
      expect(refreshCookieOf(signup), label).toBeNull();
      const login = await call("/v1/auth/login", {
        method: "POST",
        json: { email: device!.email, password: PASSWORD, device_name: name, token_transport: "body" },
      });
      await expectProblem(login, 400, "validation_failed");
      const rename = await call(`/v1/sessions/${device!.sessionId}`, { method: "PATCH", token: device!.accessToken, json: { name } });
      await expectProblem(rename, 400, "validation_failed");
    }
    for (const name of VISIBLE) {
      const rename = await call(`/v1/sessions/${device!.sessionId}`, { method: "PATCH", token: device!.accessToken, json: { name } });
      expect(rename.status, name).toBe(200);
      expect(((await rename.json()) as { device: { name: string } }).device.name).toBe(name);
    }
  });

  it("should refuse a passkey name hiding characters, at registration and rename", async () => {
    const [device] = await signInOn("laptop");
    for (const name of [HIDDEN["zero-width space"]!, HIDDEN["right-to-left mark"]!, HIDDEN["tag characters"]!]) {
      await expectProblem(await tryRegister(device!, authenticator(), {}, name), 400, "validation_failed");
    }
    const passkey = await registerPasskey(device!, authenticator(), "Security key");
    for (const name of Object.values(HIDDEN)) {
      const rename = await call(`/v1/passkeys/${passkey.id}`, { method: "PATCH", token: device!.accessToken, json: { name } });
      await expectProblem(rename, 400, "validation_failed");
    }
    const list = (await (await call("/v1/passkeys", { token: device!.accessToken })).json()) as { passkeys: { name: string }[] };
    expect(list.passkeys.map((p) => p.name)).toEqual(["Security key"]);
  });

  it("should refuse a JSON body that is not UTF-8 instead of storing U+FFFD", async () => {
    const [device] = await signInOn("laptop");
    // A lone continuation byte, a truncated sequence, an overlong "/" and an encoded surrogate (CESU-8).
    for (const bytes of [[0xff], [0x80], [0xe2, 0x82], [0xc0, 0xaf], [0xed, 0xa0, 0x80]]) {
      const email = uniqueEmail("utf8");
      const signup = await postRaw(
        "/v1/auth/signup",
        rawJson(`{"email":"${email}","password":"${PASSWORD}","device_name":"Lap@@top","token_transport":"body"}`, bytes),
      );
      const problem = await expectProblem(signup, 400, "validation_failed");
      expect((problem as { detail?: string }).detail).toBe("The body is not valid UTF-8");
      // Nothing was created: the address is still free.
      const again = await call("/v1/auth/signup", { method: "POST", json: { email, password: PASSWORD, token_transport: "body" } });
      expect(again.status).toBe(201);
      const rename = await postRaw(`/v1/sessions/${device!.sessionId}`, rawJson(`{"name":"Lap@@top"}`, bytes), {
        method: "PATCH",
        token: device!.accessToken,
      });
      await expectProblem(rename, 400, "validation_failed");
    }
    const sessions = (await (await call("/v1/sessions", { token: device!.accessToken })).json()) as {
      sessions: { id: string; device: { name: string } }[];
    };
    expect(sessions.sessions.find((s) => s.id === device!.sessionId)!.device.name).not.toContain("\uFFFD");
  });
});
