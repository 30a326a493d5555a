#!/usr/bin/env node
// A recrawl crawl's freshness cards in the dashboard, in a real browser (Debian's chromium,
// driven by playwright-core). Usage:
//
//   node tests/browser/freshness.mjs BASE_URL TOKEN CRAWL_ID SCREENSHOT.png
//
// Loads BASE_URL/, enters the token, selects the crawl, waits for its Freshness cards and
// reads them twice, 2 s apart; saves a screenshot. Prints one JSON object:
// {"console_errors":[...], "first":{label: value}, "later":{label: value}} and exits 0, or
// prints the error on stderr and exits 1.
import { chromium } from "playwright-core";

const [base, token, crawlId, shot] = process.argv.slice(2);
if (!base || !token || !crawlId || !shot) {
  console.error("usage: freshness.mjs BASE_URL TOKEN CRAWL_ID SCREENSHOT.png");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu"] });
const out = { console_errors: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on("console", (m) => { if (m.type() === "error") out.console_errors.push(m.text()); });
  page.on("pageerror", (e) => out.console_errors.push(String(e)));
  await page.goto(base + "/", { waitUntil: "load" });
  await page.waitForSelector("#login:not([hidden])", { timeout: 10000 });
  await page.fill("#token", token);
  await page.click("#login-form button[type=submit]");
  const row = `#crawls tr[data-id="${crawlId}"]`;
  await page.waitForSelector(row, { timeout: 10000 });
  await page.click(`${row} td.state`);
  await page.waitForSelector("#detail-freshness:not([hidden]) .card", { timeout: 10000 });
  const cards = () => page.$$eval("#detail-freshness .card", (cs) => Object.fromEntries(
    cs.map((c) => [c.querySelector(".label").textContent,
                   c.querySelector(".value").textContent])));
  out.first = await cards();
  await page.waitForTimeout(2000);
  out.later = await cards();
  // The host table lists a host whose only work is revisits waiting.
  out.host_rows = await page.$$eval("#detail-hosts tr.host", (rows) =>
    rows.map((r) => [...r.querySelectorAll("td")].map((t) => t.textContent)));
  await page.screenshot({ path: shot, fullPage: true });
  console.log(JSON.stringify(out));
} catch (e) {
  console.error(String(e && e.stack || e));
  console.error(JSON.stringify(out));
  process.exitCode = 1;
} finally {
  await browser.close();
}
