// Prints the next JWT_SIGNING_KEYS for one step of a key rotation (docs/keys.md).
// Reads the current JWK Set from --from <file> (keep it in your secret store: Cloudflare secrets are
// write-only) and writes the new one to stdout, to pipe into `wrangler secret put JWT_SIGNING_KEYS`.
//   node scripts/rotate-keys.mjs add --kid 2026-12 --from keys.json   stage a new key (published, not signing)
//   node scripts/rotate-keys.mjs promote --kid 2026-12 --from keys.json   the staged key signs
//   node scripts/rotate-keys.mjs retire --from keys.json                  strip `d` from every non-signing key
//   node scripts/rotate-keys.mjs remove --kid 2026-11 --from keys.json    drop a key
// Only kids are reported (on stderr); key material goes to stdout alone.
import { readFileSync } from "node:fs";
import { addKey, parseKeySet, promoteKey, removeKey, retireKeys, signingKid } from "./jwk-set.mjs";
import { newSigningKey } from "./keys.mjs";

const [step, ...args] = process.argv.slice(2);
const option = (name) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
};

try {
  const from = option("from");
  if (!from) throw new Error("--from <file with the current JWK Set> is required");
  const current = parseKeySet(readFileSync(from, "utf8"));
  const kid = option("kid");
  const needKid = () => {
    if (!kid) throw new Error(`${step} needs --kid`);
    return kid;
  };
  const steps = {
    add: () => addKey(current, newSigningKey(needKid())),
    promote: () => promoteKey(current, needKid()),
    retire: () => retireKeys(current),
    remove: () => removeKey(current, needKid()),
  };
  if (!Object.hasOwn(steps, step)) throw new Error("step must be one of: add, promote, retire, remove");
  const next = steps[step]();
  const describe = (key) =>
    `${key.kid}${key.kid === signingKid(next) ? " (signs)" : typeof key.d === "string" ? " (private, not signing)" : " (public only)"}`;
  console.error(`keys: ${next.keys.map(describe).join(", ")}`);
  console.log(JSON.stringify(next));
} catch (error) {
  console.error(`rotate-keys: ${error.message}`);
  process.exit(1);
}
