// @ts-check
// The admin dashboard's figures (markup: src/worker/web/admin-page.tsx): uPlot draws each chart
// (public/vendor, a classic script that defines `uPlot`); every chart has a table beside it, behind a
// toggle, which is what assistive technology reads and where each number opens the rows behind it.
// Everything from the data goes in with textContent: emails and device names are user input.
// Just past 300 lines: the two kinds of chart and the table they share belong together.

/** @type {any} */
const uPlotLib = /** @type {any} */ (globalThis).uPlot;

export const numbers = new Intl.NumberFormat(undefined);
const regions = new Intl.DisplayNames(undefined, { type: "region" });
/** Every time on the dashboard is UTC and says so: operators compare notes across zones. */
export const utcDateTime = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  timeZone: "UTC",
  timeZoneName: "short",
});
const utcHour = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", timeZone: "UTC" });
const utcDay = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", timeZone: "UTC" });

/** Distinct in both colour schemes and for the common colour-vision deficiencies (Okabe–Ito). */
const PALETTE = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#9467bd"];

/** @param {string | null | undefined} iso */
export function formatTime(iso) {
  return iso ? utcDateTime.format(new Date(iso)) : "—";
}

/** A country code as the reader's language names it, with the code (an unknown code stays as it is). */
export function countryName(/** @type {string} */ code) {
  if (!/^[A-Z]{2}$/.test(code)) return code === "unknown" || code === "" ? "Unknown" : code;
  try {
    return `${regions.of(code) ?? code} (${code})`;
  } catch {
    return code;
  }
}

/** @param {number} seconds @param {"long" | "narrow"} [display] */
export function formatDuration(seconds, display = "long") {
  const units = /** @type {const} */ ([
    ["day", 86_400],
    ["hour", 3600],
    ["minute", 60],
    ["second", 1],
  ]);
  const [unit, size] = units.find(([, size]) => seconds >= size) ?? units[3];
  return new Intl.NumberFormat(undefined, { style: "unit", unit, unitDisplay: display, maximumFractionDigits: 1 }).format(seconds / size);
}

function cssVar(/** @type {string} */ name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#57606a";
}

/**
 * `keep` narrows the rows an endpoint lists to those the figure counts, where the endpoint has no
 * such filter (a lifetime bucket: the ended sessions, kept by how long they lived).
 * @typedef {{ label: string, path: string, keep?: (row: any) => boolean }} DrillTarget
 * @typedef {{ text: string, drill?: DrillTarget, numeric?: boolean, onClick?: () => void }} Cell
 * `quietCaption`: the caption is for assistive technology only, where a visible heading already says it.
 * @typedef {{ caption: string, columns: string[], rows: Cell[][], quietCaption?: boolean }} TableSpec
 * @typedef {(title: string, path: string, keep?: (row: any) => boolean) => void} Drill
 */

/**
 * A table of cells; a cell with `drill` is a button that opens the rows behind its number.
 * @param {TableSpec} spec @param {Drill} drill
 */
export function table(spec, drill) {
  const tableEl = document.createElement("table");
  const caption = document.createElement("caption");
  caption.textContent = spec.caption;
  if (spec.quietCaption) caption.className = "visually-hidden";
  const head = document.createElement("tr");
  spec.columns.forEach((column, i) => {
    const th = document.createElement("th");
    th.scope = "col";
    if (spec.rows[0]?.[i]?.numeric) th.className = "number";
    th.textContent = column;
    head.append(th);
  });
  const thead = document.createElement("thead");
  thead.append(head);
  const tbody = document.createElement("tbody");
  for (const row of spec.rows) {
    const tr = document.createElement("tr");
    row.forEach((cell, i) => {
      const td = document.createElement(i === 0 ? "th" : "td");
      if (i === 0) /** @type {HTMLTableCellElement} */ (td).scope = "row";
      if (cell.numeric) td.className = "number";
      if (cell.drill || cell.onClick) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "link cell-link";
        button.textContent = cell.text;
        button.setAttribute("aria-label", cell.drill?.label ?? cell.text);
        const { drill: target } = cell;
        button.addEventListener(
          "click",
          target ? () => drill(target.label, target.path, target.keep) : /** @type {() => void} */ (cell.onClick),
        );
        td.append(button);
      } else {
        td.textContent = cell.text;
      }
      tr.append(td);
    });
    tbody.append(tr);
  }
  tableEl.append(caption, thead, tbody);
  return tableEl;
}

/** Charts drawn so far, by figure id: redrawn in place when the data comes again. */
/** @type {Map<string, any>} */
const plots = new Map();
const resizer = new ResizeObserver((entries) => {
  for (const entry of entries) {
    const plot = plots.get(/** @type {HTMLElement} */ (entry.target).closest("figure")?.id ?? "");
    const width = Math.floor(entry.contentRect.width);
    if (plot && width > 0 && Math.abs(plot.width - width) > 1) plot.setSize({ width, height: plot.height });
  }
});

/**
 * Fills one figure: the chart (or the empty state instead), and the table behind the toggle.
 * @param {string} id @param {{ empty: string | null, table: TableSpec, options: any, data: any[] }} chart @param {Drill} drill
 */
function fill(id, chart, drill) {
  const figure = /** @type {HTMLElement} */ (document.getElementById(id));
  const plotEl = /** @type {HTMLElement} */ (figure.querySelector(".plot"));
  const empty = /** @type {HTMLElement} */ (figure.querySelector(".empty"));
  const wrap = /** @type {HTMLElement} */ (figure.querySelector(".table-wrap"));
  plots.get(id)?.destroy();
  plots.delete(id);
  empty.textContent = chart.empty ?? "";
  empty.hidden = chart.empty === null;
  plotEl.hidden = chart.empty !== null;
  wrap.replaceChildren(table(chart.table, drill));
  if (chart.empty !== null || !uPlotLib) return;
  const width = Math.max(240, Math.floor(plotEl.clientWidth || figure.clientWidth - 32));
  const plot = new uPlotLib({ width, height: 220, ...chart.options }, chart.data, plotEl);
  plots.set(id, plot);
  resizer.observe(plotEl);
}

/** The toggles: one per figure, wired once. */
export function wireTableToggles() {
  for (const button of document.querySelectorAll(".table-toggle")) {
    button.addEventListener("click", () => {
      const wrap = /** @type {HTMLElement} */ (document.getElementById(button.getAttribute("aria-controls") ?? ""));
      const open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", String(open));
      button.textContent = open ? "Hide the table" : "Show as a table";
      wrap.hidden = !open;
    });
  }
}

function axes(/** @type {any} */ x) {
  const stroke = cssVar("--muted");
  const grid = { stroke: cssVar("--border"), width: 1 };
  return [
    { stroke, grid, ticks: grid, ...x },
    {
      stroke,
      grid,
      ticks: grid,
      incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 100_000, 1_000_000],
      values: (/** @type {any} */ _u, /** @type {number[]} */ splits) => splits.map((v) => numbers.format(v)),
      size: 56,
    },
  ];
}

/**
 * What each series counts, and the events that make it up (GET /admin/api/events).
 * @type {{ key: string, label: string, type: string }[]}
 */
export const SERIES = [
  { key: "sign_ins", label: "Sign-ins", type: "signed_in" },
  { key: "failed_sign_ins", label: "Failed sign-ins", type: "sign_in_failed" },
  { key: "new_devices", label: "New devices", type: "new_device" },
  { key: "impossible_travel", label: "Impossible travel", type: "impossible_travel" },
  { key: "network_change", label: "Network changes", type: "session_network_changed" },
  { key: "refresh_token_reuse", label: "Refresh-token reuse", type: "refresh_token_reuse" },
  { key: "revocations", label: "Revocations", type: "session_revoked" },
];

const eventsPath = (/** @type {string} */ type, /** @type {number} */ from, /** @type {number} */ to) =>
  `/events?${new URLSearchParams({ type, from: new Date(from * 1000).toISOString(), to: new Date(to * 1000).toISOString() })}`;

/**
 * Counts over time: one line per series, the window's buckets in UTC.
 * @param {string} id @param {{ start: string, step_seconds: number, series: Record<string, number[]> }} window
 * @param {"hour" | "day"} unit @param {string} windowText "the last 24 hours" @param {Drill} drill
 */
export function timeChart(id, window, unit, windowText, drill) {
  const start = Date.parse(window.start) / 1000;
  const step = window.step_seconds;
  const length = Math.max(0, ...SERIES.map(({ key }) => window.series[key]?.length ?? 0));
  const xs = Array.from({ length }, (_, i) => start + i * step);
  const label = (/** @type {number} */ t) => (unit === "hour" ? utcHour : utcDay).format(new Date(t * 1000));
  const values = SERIES.map(({ key }) => xs.map((_, i) => window.series[key]?.[i] ?? 0));
  const totals = values.map((column) => column.reduce((a, b) => a + b, 0));
  const end = start + length * step;
  const rows = xs.map((t, i) => [
    { text: unit === "hour" ? `${label(t)}–${label(t + step)}` : label(t) },
    ...SERIES.map(({ label: name, type }, s) => {
      const n = values[s]?.[i] ?? 0;
      const text = numbers.format(n);
      return n === 0
        ? { text, numeric: true }
        : { text, numeric: true, drill: { label: `${text} ${name.toLowerCase()}, ${label(t)} UTC`, path: eventsPath(type, t, t + step) } };
    }),
  ]);
  rows.push([
    { text: "Total" },
    ...SERIES.map(({ label: name, type }, s) => {
      const text = numbers.format(totals[s] ?? 0);
      return {
        text,
        numeric: true,
        drill: { label: `${text} ${name.toLowerCase()} in ${windowText}`, path: eventsPath(type, start, end) },
      };
    }),
  ]);
  const nothing = totals.every((n) => n === 0);
  fill(
    id,
    {
      empty: nothing ? `No sign-ins, failures, findings or revocations in ${windowText}.` : null,
      table: {
        caption: `Counts by ${unit} (UTC), ${windowText}`,
        columns: [unit === "hour" ? "Hour (UTC)" : "Day (UTC)", ...SERIES.map((s) => s.label)],
        rows,
      },
      data: [xs, ...values],
      options: {
        tzDate: (/** @type {number} */ ts) => uPlotLib.tzDate(new Date(ts * 1000), "Etc/UTC"),
        scales: {
          x: { time: true },
          y: { range: (/** @type {any} */ _u, /** @type {number} */ _min, /** @type {number} */ max) => [0, Math.max(1, max)] },
        },
        series: [
          { label: "Time (UTC)", value: (/** @type {any} */ _u, /** @type {number} */ t) => (t == null ? "—" : label(t)) },
          ...SERIES.map(({ label: name }, i) => ({ label: name, stroke: PALETTE[i], width: 2, points: { show: length <= 31 } })),
        ],
        axes: axes({}),
      },
    },
    drill,
  );
}

/**
 * Counts by category as bars: the biggest first, at most 12 (the rest in the table only).
 * `short` is the axis label where the label is long (a country's code).
 * @param {string} id @param {{ key: string, label: string, short?: string, count: number, path: string, keep?: (row: any) => boolean }[]} items
 * @param {string} empty the empty state @param {string} what "live sessions" @param {string} column @param {Drill} drill
 * @param {boolean} [inOrder] keep the items' order (a histogram's buckets) instead of the biggest first
 */
export function barChart(id, items, empty, what, column, drill, inOrder = false) {
  const sorted = inOrder ? items : [...items].sort((a, b) => b.count - a.count || a.label.localeCompare(b.label));
  // A histogram shows every bucket; categories only those with sessions (the table lists the zeros).
  const shown = inOrder ? sorted : sorted.filter((item) => item.count > 0).slice(0, 12);
  const xs = shown.map((_, i) => i);
  const nothing = sorted.every((item) => item.count === 0);
  fill(
    id,
    {
      empty: nothing ? empty : null,
      table: {
        caption: `${what} by ${column.toLowerCase()}`,
        columns: [column, "Count"],
        rows: sorted.map((item) => {
          const text = numbers.format(item.count);
          const label = `${what[0]?.toUpperCase()}${what.slice(1)}, ${item.label}: ${text}`;
          // Zero has no rows behind it: plain text, not a link to an empty table.
          return [
            { text: item.label },
            item.count === 0 ? { text, numeric: true } : { text, numeric: true, drill: { label, path: item.path, keep: item.keep } },
          ];
        }),
      },
      data: [xs, shown.map((item) => item.count)],
      options: {
        legend: { show: false },
        cursor: { points: { show: false } },
        scales: {
          x: { time: false, range: () => [-0.6, Math.max(0, shown.length - 1) + 0.6] },
          y: { range: (/** @type {any} */ _u, /** @type {number} */ _min, /** @type {number} */ max) => [0, Math.max(1, max)] },
        },
        series: [
          {},
          { label: what, fill: PALETTE[0], stroke: PALETTE[0], paths: uPlotLib?.paths.bars({ size: [0.6, 48] }), points: { show: false } },
        ],
        axes: axes({
          splits: () => xs,
          values: (/** @type {any} */ u, /** @type {number[]} */ splits) => {
            // As many characters as a bar's width holds (about 7 px each): the table has the full names.
            const room = Math.max(3, Math.floor(u.bbox.width / devicePixelRatio / Math.max(1, shown.length) / 7));
            return splits.map((i) => truncate(shown[i]?.short ?? shown[i]?.label ?? "", room));
          },
          grid: { show: false },
        }),
      },
    },
    drill,
  );
}

const truncate = (/** @type {string} */ text, /** @type {number} */ room) => (text.length > room ? `${text.slice(0, room - 1)}…` : text);
