import { vi } from "vitest";

export interface LogLine {
  level: "log" | "info" | "warn" | "error" | "debug";
  text: string;
}

/**
 * Captures every console line the Worker and the Durable Objects write (they share the test's
 * isolate, and its console) until `vi.restoreAllMocks()`.
 */
export function captureLogs(): LogLine[] {
  const lines: LogLine[] = [];
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      lines.push({ level, text: args.map(String).join(" ") });
    });
  }
  return lines;
}
