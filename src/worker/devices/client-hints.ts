/**
 * User-Agent Client Hints (https://wicg.github.io/ua-client-hints/). Chromium browsers send the
 * low-entropy hints on every secure request; they name the browser honestly where the UA string
 * cannot (Brave, and Edge on some platforms, report a plain Chrome UA string).
 */
export interface ClientHints {
  brands: string | null; // Sec-CH-UA
  platform: string | null; // Sec-CH-UA-Platform
  mobile: string | null; // Sec-CH-UA-Mobile
}

/** What the hints say, in the same vocabulary as ua-parser-js 1.x, so fingerprints agree. */
export interface HintedDevice {
  browser: string | null;
  os: string | null;
  mobile: boolean | null;
}

const MAX_HINT = 256;

export function clientHintsFrom(headers: Headers): ClientHints {
  const read = (name: string) => headers.get(name)?.slice(0, MAX_HINT) ?? null;
  return { brands: read("Sec-CH-UA"), platform: read("Sec-CH-UA-Platform"), mobile: read("Sec-CH-UA-Mobile") };
}

const BRAND_NAMES: Record<string, string> = {
  "Google Chrome": "Chrome",
  "Microsoft Edge": "Edge",
  Brave: "Brave",
  Opera: "Opera",
  "Opera GX": "Opera GX",
  Vivaldi: "Vivaldi",
  "Samsung Internet": "Samsung Browser",
  Yandex: "Yandex",
};

const PLATFORM_NAMES: Record<string, string> = {
  Windows: "Windows",
  macOS: "Mac OS",
  Linux: "Linux",
  Android: "Android",
  iOS: "iOS",
  "Chrome OS": "Chromium OS",
  ChromeOS: "Chromium OS",
};

/** Brands that carry no identity: GREASE entries ("Not_A Brand") and the engine shared by all. */
const GREASE = /not.?a.?brand/i;

export function readClientHints(hints: ClientHints): HintedDevice {
  return { browser: brandOf(hints.brands), os: platformOf(hints.platform), mobile: mobileOf(hints.mobile) };
}

/** `"Brave";v="131", "Chromium";v="131", "Not_A Brand";v="24"` -> "Brave". */
function brandOf(header: string | null): string | null {
  if (!header) return null;
  const brands = [...header.matchAll(/"((?:[^"\\]|\\.){1,64})"\s*;\s*v\s*=\s*"[^"]*"/g)].map((m) => m[1]!.replace(/\\(.)/g, "$1"));
  const named = brands.filter((brand) => !GREASE.test(brand) && brand !== "Chromium");
  const known = named.find((brand) => brand in BRAND_NAMES);
  if (known) return BRAND_NAMES[known]!;
  if (named[0]) return named[0];
  return brands.includes("Chromium") ? "Chromium" : null;
}

function platformOf(header: string | null): string | null {
  const value = header?.match(/^\s*"([^"]{1,64})"\s*$/)?.[1];
  if (!value || value === "Unknown") return null;
  return PLATFORM_NAMES[value] ?? value;
}

function mobileOf(header: string | null): boolean | null {
  const value = header?.trim();
  return value === "?1" ? true : value === "?0" ? false : null;
}
