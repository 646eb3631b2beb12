import UAParser from "ua-parser-js";
import type { DeviceInfo, Place } from "../../contract/place";
import { type ClientHints, readClientHints } from "./client-hints";

const MAX_USER_AGENT = 512;

/**
 * Browser, OS and device type from the User-Agent (ua-parser-js 1.x, MIT; 2.x is AGPL), with the
 * client hints, when a browser sends them, taking precedence: they are not frozen or spoofed the
 * way Chromium's UA string is (Brave says Chrome there, and every Chrome says Windows NT 10.0).
 */
export function describeDevice(userAgentHeader: string | null | undefined, requestedName?: string | null, hints?: ClientHints): DeviceInfo {
  const userAgent = userAgentHeader ? userAgentHeader.slice(0, MAX_USER_AGENT) : null;
  const parsed = userAgent ? new UAParser(userAgent).getResult() : null;
  const hinted = hints ? readClientHints(hints) : { browser: null, os: null, mobile: null };
  const browser = hinted.browser ?? parsed?.browser.name ?? null;
  const os = hinted.os ?? parsed?.os.name ?? null;
  const parsedType = deviceType(parsed);
  const type =
    hinted.mobile === true
      ? "mobile"
      : hinted.mobile === false && parsedType === "mobile"
        ? "desktop"
        : (parsedType ?? (hinted.mobile === false ? "desktop" : null));
  return { name: requestedName || defaultName(browser, os, userAgent), browser, os, type, userAgent };
}

function deviceType(parsed: UAParser.IResult | null): string | null {
  if (!parsed) return null;
  const type = parsed.device.type;
  if (type === "mobile" || type === "tablet" || type === "smarttv" || type === "wearable" || type === "console" || type === "embedded")
    return type;
  if (parsed.os.name && /windows|mac os|linux|ubuntu|chrom|debian|fedora/i.test(parsed.os.name)) return "desktop";
  return parsed.browser.name ? "desktop" : null;
}

function defaultName(browser: string | null, os: string | null, userAgent: string | null): string {
  if (browser && os) return `${browser} on ${os}`;
  if (browser || os) return (browser ?? os)!;
  if (userAgent) return userAgent.split(/[\s/]/)[0]!.slice(0, 40) || "Unknown device";
  return "Unknown device";
}

/** Where a request came from: the client IP Cloudflare saw, and its geolocation from `request.cf`. */
export function describePlace(request: Request): Place {
  const cf = (request as Request & { cf?: IncomingRequestCfProperties }).cf;
  const text = (value: unknown) => (typeof value === "string" && value.length > 0 ? value : null);
  const number = (value: unknown) => {
    const n = typeof value === "string" ? Number(value) : value;
    return typeof n === "number" && Number.isFinite(n) ? n : null;
  };
  return {
    ip: text(request.headers.get("CF-Connecting-IP")),
    country: text(cf?.country),
    region: text(cf?.region),
    city: text(cf?.city),
    latitude: number(cf?.latitude),
    longitude: number(cf?.longitude),
    colo: text(cf?.colo),
    asn: number(cf?.asn),
  };
}
