// `npm run dev`: local secrets (generated once into .dev.vars), local D1 migrations, then `wrangler dev`.
// Extra arguments go to wrangler: `npm run dev -- --port 8788`.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { newSecrets } from "./keys.mjs";

process.env.WRANGLER_SEND_METRICS = "false";
const devVars = ".dev.vars";
const existing = existsSync(devVars) ? readFileSync(devVars, "utf8") : "";
const missing = Object.entries(newSecrets("dev")).filter(([name]) => !new RegExp(`^${name}=`, "m").test(existing));
if (missing.length > 0) {
  const lines = missing.map(([name, value]) => `${name}='${value}'`).join("\n");
  writeFileSync(devVars, `${existing}${existing && !existing.endsWith("\n") ? "\n" : ""}${lines}\n`);
  console.log(`Generated local ${missing.map(([n]) => n).join(", ")} in ${devVars}`);
}

const wrangler = (args, options) => spawnSync("npx", ["wrangler", ...args], { stdio: "inherit", ...options });
const migrated = wrangler(["d1", "migrations", "apply", "DB", "--local"], { input: "y\n", stdio: ["pipe", "inherit", "inherit"] });
if (migrated.status !== 0) process.exit(migrated.status ?? 1);

const child = spawn("npx", ["wrangler", "dev", ...process.argv.slice(2)], { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 0));
