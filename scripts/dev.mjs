// `npm run dev`: local secrets (generated once into .wrangler/dev-secrets.env), local D1 migrations,
// then `wrangler dev --env-file .wrangler/dev-secrets.env`. Extra arguments go to wrangler:
// `npm run dev -- --port 8788`.
//
// Not .dev.vars: wrangler reads a .dev.vars in the project for every test file too (and says so each
// time), so keys meant for `wrangler dev` would reach the tests, which make their own, and `wrangler
// dev` would find the Env types out of date. A file named by --env-file is read by `wrangler dev` only.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { newSecrets } from "./keys.mjs";

process.env.WRANGLER_SEND_METRICS = "false";
// miniflare fetches a real `request.cf` (the place Cloudflare sees you at) from workers.cloudflare.com;
// offline the fetch fails with a stack trace and a placeholder (Austin, US) is used. Skip the fetch,
// so every run, online or not, sees the same placeholder. CLOUDFLARE_CF_FETCH_ENABLED=true brings it
// back; CLOUDFLARE_CF_FETCH_PATH=<file> uses a stored `cf` object instead.
if (!process.env.CLOUDFLARE_CF_FETCH_PATH) process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

const SECRETS = ".wrangler/dev-secrets.env";
let existing = existsSync(SECRETS) ? readFileSync(SECRETS, "utf8") : "";
if (!existing && existsSync(".dev.vars")) {
  // A clone from before the move: keep its keys (tokens it issued stay valid), once.
  existing = readFileSync(".dev.vars", "utf8");
  console.log(`Copied .dev.vars to ${SECRETS}, which npm run dev now reads; delete .dev.vars, or npm test keeps loading it.`);
}
const missing = Object.entries(newSecrets("dev")).filter(([name]) => !new RegExp(`^${name}=`, "m").test(existing));
if (missing.length > 0 || !existsSync(SECRETS)) {
  const lines = missing.map(([name, value]) => `${name}='${value}'\n`).join("");
  mkdirSync(".wrangler", { recursive: true });
  writeFileSync(SECRETS, `${existing}${existing && !existing.endsWith("\n") ? "\n" : ""}${lines}`);
  if (missing.length > 0) console.log(`Generated local ${missing.map(([n]) => n).join(", ")} in ${SECRETS}`);
}

const wrangler = (args, options) => spawnSync("npx", ["wrangler", ...args], { stdio: "inherit", ...options });
// `--persist-to <dir>` (a state directory of its own, as the crash test uses) must hold the migrated
// D1 too, or `wrangler dev` would start on an empty database there.
const persistAt = process.argv.indexOf("--persist-to");
const persistArgs = persistAt === -1 ? [] : ["--persist-to", process.argv[persistAt + 1]];
const migrated = wrangler(["d1", "migrations", "apply", "DB", "--local", ...persistArgs], {
  input: "y\n",
  stdio: ["pipe", "inherit", "inherit"],
});
if (migrated.status !== 0) process.exit(migrated.status ?? 1);

const child = spawn("npx", ["wrangler", "dev", "--env-file", SECRETS, ...process.argv.slice(2)], { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 0));
