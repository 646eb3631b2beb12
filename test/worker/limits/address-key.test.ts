import { describe, expect, it } from "vitest";
import { addressKey } from "../../../src/worker/limits/limits";

describe("the per-IP limiter key", () => {
  it("should key IPv4 by the whole address", () => {
    expect(addressKey("203.0.113.7")).toBe("203.0.113.7");
    expect(addressKey(" 203.0.113.7 ")).toBe("203.0.113.7");
  });

  it("should key IPv6 by its /64, however the address is written", () => {
    const key = addressKey("2001:db8:85a3:1::8a2e:370:7334");
    expect(key).toBe("2001:db8:85a3:1::/64");
    expect(addressKey("2001:0db8:85a3:0001:ffff:ffff:ffff:ffff")).toBe(key);
    expect(addressKey("2001:DB8:85A3:1::1")).toBe(key);
    expect(addressKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    // The elided zeros at either end, or all of them; a long tail after "::".
    expect(addressKey("2001:db8::")).toBe("2001:db8:0:0::/64");
    expect(addressKey("1:2:3:4:5:6:7::")).toBe("1:2:3:4::/64");
    expect(addressKey("::")).toBe("0:0:0:0::/64");
    expect(addressKey("::1:2:3:4:5:6:7")).toBe("0:1:2:3::/64");
    expect(addressKey("1::2:3:4:5:6:7")).toBe("1:0:2:3::/64");
  });

  it("should put requests without an address in one shared bucket", () => {
    expect(addressKey(undefined)).toBe("unknown");
    expect(addressKey("")).toBe("unknown");
  });
});
