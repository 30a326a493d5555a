#!/usr/bin/env node
// A crawl's story in the dashboard, in a real browser (Debian's chromium, driven by
// playwright-core). Usage:
//
//   node tests/browser/crawl-story.mjs BASE_URL TOKEN RUNNING_ID MAX_PAGES_ID SCREENSHOT_DIR
//
// Logs in; selects RUNNING_ID, pauses it with its button and reads what the detail says of a
// paused crawl (the note, the host table's "next start in" cells, the elapsed and pages/s cards
// now and 2.5 s later; screenshot dashboard-paused.png). Waits for MAX_PAGES_ID (a crawl that
// scope.max_pages stops) to complete, selects it and reads why it ended (the list's state cell,
// the detail's sentence), its host table and its chart (points, time-axis labels; screenshot
// dashboard-ended.png). Reloads the page and reads the same chart again, before the page has
// polled anything new (screenshot dashboard-reloaded.png), then selects the paused crawl and
// reads its chart. Prints one JSON object and exits 0, or prints the error on stderr and exits 1.
import { chromium } from "playwright-core";

const [base, token, runningId, maxPagesId, shots] = process.argv.slice(2);
if (!base || !token || !runningId || !maxPagesId || !shots) {
  console.error("usage: crawl-story.mjs BASE_URL TOKEN RUNNING_ID MAX_PAGES_ID SCREENSHOT_DIR");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

const browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu"] });
// status: the header's status line at each step ("updated HH:MM:SS", or what went wrong).
const out = { console_errors: [], requests: [], status: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on("console", (m) => { if (m.type() === "error") out.console_errors.push(m.text()); });
  page.on("pageerror", (e) => out.console_errors.push(String(e)));
  page.on("request", (r) => out.requests.push(r.url()));
  await page.goto(base + "/", { waitUntil: "load" });
  await page.waitForSelector("#login:not([hidden])", { timeout: 10000 });
  await page.fill("#token", token);
  await page.click("#login-form button[type=submit]");

  const row = (id) => `#crawls tr[data-id="${id}"]`;
  const card = (label) => page.evaluate((l) => {
    for (const c of document.querySelectorAll("#detail-cards .card")) {
      if (c.querySelector(".label").textContent === l) return c.querySelector(".value").textContent;
    }
    return null;
  }, label);
  const showing = (id, state) => page.waitForFunction(
    ([i, s]) => document.getElementById("detail-id")?.textContent === i + " (" + s + ")",
    [id, state], { timeout: 30000 });
  const status = async () => out.status.push(await page.evaluate(() => {
    const s = document.getElementById("status");
    return s.className + ": " + s.textContent;
  }));
  const chart = () => page.evaluate(() => {
    const main = document.querySelector("#detail-chart path.main");
    return {
      points: main ? Number(main.getAttribute("data-points")) : -1,
      d: main ? main.getAttribute("d") : "",
      ticks: [...document.querySelectorAll("#detail-chart .tick-label")].map((t) => t.textContent),
      axis_title: document.querySelector("#detail-chart .axis-title")?.textContent || "",
    };
  });

  // 1. Pause the running crawl and read what its detail says.
  await page.waitForSelector(row(runningId), { timeout: 10000 });
  await page.click(`${row(runningId)} td.crawl`);
  await showing(runningId, "running");
  await page.click(`${row(runningId)} button[data-action="pause"]`);
  await showing(runningId, "paused");
  await page.waitForFunction(() => {
    const cells = [...document.querySelectorAll("#detail-hosts tr.host td.next")];
    return cells.length > 0 && cells.every((c) => c.textContent === "paused");
  }, null, { timeout: 10000 });
  const paused = {};
  paused.list_state = await page.textContent(`${row(runningId)} td.state`);
  paused.why = await page.textContent("#detail-why");
  paused.next_cells = await page.$$eval("#detail-hosts tr.host td.next", (tds) => tds.map((t) => t.textContent));
  paused.hosts_note = await page.textContent("#hosts-note");
  // Open requests finish after the pause; then the clock and the rate stand still.
  await page.waitForTimeout(1500);
  paused.elapsed_1 = await card("elapsed");
  paused.rate_1 = await card("pages/s");
  await page.waitForTimeout(2500);
  paused.elapsed_2 = await card("elapsed");
  paused.rate_2 = await card("pages/s");
  paused.chart = await chart();
  await status();
  await page.screenshot({ path: shots + "/dashboard-paused.png", fullPage: true });
  out.paused = paused;

  // 2. The crawl that scope.max_pages stopped: why it ended, its hosts, its chart.
  await page.waitForFunction(
    (sel) => document.querySelector(sel + " td.state")?.classList.contains("state-completed"),
    row(maxPagesId), { timeout: 60000 });
  await page.click(`${row(maxPagesId)} td.crawl`);
  await showing(maxPagesId, "completed");
  await page.waitForSelector("#detail-why:not([hidden])", { timeout: 10000 });
  await page.waitForTimeout(1200);  // a poll more: nothing changes for an ended crawl
  const ended = {};
  ended.list_reason = await page.textContent(`${row(maxPagesId)} td.state .reason`);
  ended.list_title = await page.getAttribute(`${row(maxPagesId)} td.state`, "title");
  ended.why = await page.textContent("#detail-why");
  ended.hosts_title = await page.textContent("#hosts-title");
  ended.hosts_note = await page.textContent("#hosts-note");
  ended.host_rows = await page.$$eval("#detail-hosts tr.host", (trs) =>
    trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
  ended.no_hosts_hidden = await page.evaluate(() => document.getElementById("no-hosts").hidden);
  ended.chart = await chart();
  ended.counts = await page.$$eval("#detail-counts tr", (trs) => trs.map((tr) => tr.textContent));
  // The reason under the state does not push the list past the page's edge.
  ended.overhang_px = await page.evaluate(() => {
    const table = document.getElementById("crawls").getBoundingClientRect();
    const main = document.getElementById("app").getBoundingClientRect();
    return Math.round(table.right - main.right);
  });
  ended.page_overflows = await page.evaluate(
    () => document.documentElement.scrollWidth > document.documentElement.clientWidth);
  await status();
  await page.screenshot({ path: shots + "/dashboard-ended.png", fullPage: true });
  out.ended = ended;

  // 3. A reload shows the same crawl and the same chart, from the service's history.
  await page.reload({ waitUntil: "load" });
  await showing(maxPagesId, "completed");
  await page.waitForSelector("#detail-chart path.main", { state: "attached", timeout: 10000 });
  out.reloaded = { chart: await chart(), hash: await page.evaluate(() => location.hash) };
  await page.waitForTimeout(1200);  // a poll after the reload: the chart stays as it was
  out.reloaded.chart_after_poll = await chart();
  await status();
  await page.screenshot({ path: shots + "/dashboard-reloaded.png", fullPage: true });
  // The paused crawl's chart after the reload: its points are there at once.
  await page.click(`${row(runningId)} td.crawl`);
  await showing(runningId, "paused");
  await page.waitForSelector("#detail-chart path.main", { state: "attached", timeout: 10000 });
  out.reloaded.paused_chart = await chart();
  await status();
  console.log(JSON.stringify(out));
} catch (e) {
  console.error(String(e && e.stack || e));
  console.error(JSON.stringify(out));
  process.exitCode = 1;
} finally {
  await browser.close();
}
