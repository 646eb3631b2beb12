import { call, PASSWORD, USER_AGENTS } from "../helpers";

let address = 0;
/** A fresh client address per test, so tests never share a per-IP window (storage lives for the file). */
export function freshIp(): string {
  address++;
  return `198.51.${Math.floor(address / 250)}.${(address % 250) + 1}`;
}

export function login(email: string, ip: string, password = PASSWORD) {
  return call("/v1/auth/login", {
    method: "POST",
    json: { email, password, token_transport: "body" },
    headers: { "User-Agent": USER_AGENTS.laptop, "CF-Connecting-IP": ip },
  });
}
