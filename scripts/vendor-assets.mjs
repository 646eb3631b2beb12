// Copies the admin dashboard's charting library, uPlot (MIT, ~50 KB minified), from its npm
// package into public/vendor, where Workers Static Assets serve it verbatim. The copies are
// committed, so a clone serves the page without running anything; `--check` (run by
// `npm run typecheck`) fails when they differ from the installed devDependency, so an upgrade
// of uplot in package.json cannot leave a stale copy behind. Each file opens with the licence.
import { readFileSync, writeFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync("node_modules/uplot/package.json", "utf8"));
const licence = readFileSync("node_modules/uplot/LICENSE", "utf8");
const copyright = /^Copyright .*$/m.exec(licence)?.[0] ?? "";
const header = `/*! uPlot ${pkg.version} | ${copyright} | ${pkg.license} License (node_modules/uplot/LICENSE) | copied by scripts/vendor-assets.mjs */\n`;

const FILES = [
  ["node_modules/uplot/dist/uPlot.iife.min.js", "public/vendor/uPlot.iife.min.js"],
  ["node_modules/uplot/dist/uPlot.min.css", "public/vendor/uPlot.min.css"],
];

const check = process.argv.includes("--check");
let stale = false;
for (const [source, target] of FILES) {
  const wanted = header + readFileSync(source, "utf8");
  let current = null;
  try {
    current = readFileSync(target, "utf8");
  } catch {}
  if (current === wanted) continue;
  if (check) {
    console.error(`${target} is not uplot ${pkg.version}'s ${source}: run node scripts/vendor-assets.mjs`);
    stale = true;
  } else {
    writeFileSync(target, wanted);
    console.log(`wrote ${target}`);
  }
}
if (stale) process.exit(1);
