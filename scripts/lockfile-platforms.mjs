// The registry mirror these machines use carries only the Linux builds of workerd, so npm cannot
// record the other platforms' optional packages in package-lock.json, and `npm ci` then refuses the
// lockfile as out of sync. This adds those entries (they are skipped on Linux, never fetched here).
// Run after any `npm install` that rewrites the lockfile: `node scripts/lockfile-platforms.mjs`.
import { readFileSync, writeFileSync } from "node:fs";

const lock = JSON.parse(readFileSync("package-lock.json", "utf8"));
const platforms = { "darwin-64": ["darwin", "x64"], "darwin-arm64": ["darwin", "arm64"], "windows-64": ["win32", "x64"] };
let added = 0;
for (const [path, entry] of Object.entries(lock.packages)) {
  const match = /^(.*node_modules\/)@cloudflare\/workerd-linux-64$/.exec(path);
  if (!match) continue;
  for (const [suffix, [os, cpu]] of Object.entries(platforms)) {
    const key = `${match[1]}@cloudflare/workerd-${suffix}`;
    if (lock.packages[key]) continue;
    lock.packages[key] = {
      version: entry.version,
      cpu: [cpu],
      dev: entry.dev,
      license: entry.license,
      optional: true,
      os: [os],
      engines: entry.engines,
    };
    added++;
  }
}
writeFileSync("package-lock.json", `${JSON.stringify(lock, null, 2)}\n`);
console.log(`lockfile: added ${added} platform entries`);
