import { describe, expect, it } from "vitest";
import { UNKNOWN_PLACE } from "../../../src/contract/place";
import { assessNetworkChange, assessTravel, deviceFingerprint, haversineKm, type Position } from "../../../src/registry/risk-rules";

const at = (latitude: number, longitude: number, minutes: number): Position => ({
  latitude,
  longitude,
  at: minutes * 60_000,
  country: null,
  region: null,
  city: null,
  asn: null,
});

describe("the risk checks", () => {
  it("should measure great-circle distances like published city-to-city figures", () => {
    const lagosToronto = haversineKm({ latitude: 6.5244, longitude: 3.3792 }, { latitude: 43.6532, longitude: -79.3832 });
    expect(lagosToronto).toBeGreaterThan(8_900);
    expect(lagosToronto).toBeLessThan(8_950);
    const lagosAbuja = haversineKm({ latitude: 6.5244, longitude: 3.3792 }, { latitude: 9.0765, longitude: 7.3986 });
    expect(lagosAbuja).toBeGreaterThan(500);
    expect(lagosAbuja).toBeLessThan(550);
    expect(haversineKm({ latitude: 0, longitude: 179.9 }, { latitude: 0, longitude: -179.9 })).toBeLessThan(25);
  });

  it("should flag travel faster than the limit, ignore short hops and unknown positions, and never divide by zero", () => {
    expect(assessTravel(at(6.5244, 3.3792, 0), at(43.6532, -79.3832, 10), 1000)?.speedKmh).toBeGreaterThan(50_000);
    expect(assessTravel(at(6.5244, 3.3792, 0), at(43.6532, -79.3832, 10 * 60), 1000)).toBeNull(); // ten hours: a flight
    expect(assessTravel(at(6.5244, 3.3792, 0), at(6.6, 3.35, 0), 1000)).toBeNull(); // same city, same instant
    expect(assessTravel(at(6.5244, 3.3792, 0), at(9.0765, 7.3986, 0), 1000)?.elapsedSeconds).toBe(1);
    expect(assessTravel(null, at(1, 1, 0), 1000)).toBeNull();
  });

  it("should count a change of country or ASN only when both sides are known", () => {
    expect(assessNetworkChange({ country: "NG", asn: 1 }, { ...UNKNOWN_PLACE, country: "CA", asn: 1 })?.changed).toEqual(["country"]);
    expect(assessNetworkChange({ country: "NG", asn: 1 }, { ...UNKNOWN_PLACE, country: "NG", asn: 2 })?.changed).toEqual(["asn"]);
    expect(assessNetworkChange({ country: null, asn: null }, { ...UNKNOWN_PLACE, country: "CA", asn: 2 })).toBeNull();
    expect(assessNetworkChange({ country: "NG", asn: 1 }, UNKNOWN_PLACE)).toBeNull();
  });

  it("should fingerprint a device by browser, OS and form factor only", () => {
    expect(deviceFingerprint({ browser: "Brave", os: "Windows", type: "desktop" })).toBe("Brave|Windows|desktop");
    expect(deviceFingerprint({ browser: null, os: null, type: null })).toBe("unknown|unknown|unknown");
  });
});
