#!/usr/bin/env node
// The dashboard in a real browser (Debian's chromium, driven by playwright-core over the
// DevTools protocol). Usage:
//
//   node tests/browser/dashboard.mjs BASE_URL TOKEN CRAWL_ID SCREENSHOT.png [EXPLAIN_URL]
//
// Loads BASE_URL/, enters the token, waits for the crawl's row, reads its page count twice a
// second apart, clicks its Pause button and waits for the row to say "paused", then saves a
// screenshot; with EXPLAIN_URL, asks the detail's explain form about it first. Prints one JSON
// object: {"console_errors":[...], "first_pages":n, "later_pages":n, "state_after_pause":s,
// "csp":header, "requests":[...], "host_rows":[...], "explain":text}
// and exits 0, or
// prints the error on stderr and exits 1.
import { chromium } from "playwright-core";

const [base, token, crawlId, shot, explainUrl] = process.argv.slice(2);
if (!base || !token || !crawlId || !shot) {
  console.error("usage: dashboard.mjs BASE_URL TOKEN CRAWL_ID SCREENSHOT.png");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

const browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu"] });
const out = { console_errors: [], requests: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on("console", (m) => { if (m.type() === "error") out.console_errors.push(m.text()); });
  page.on("pageerror", (e) => out.console_errors.push(String(e)));
  page.on("request", (r) => out.requests.push(r.url()));
  const res = await page.goto(base + "/", { waitUntil: "load" });
  out.csp = res.headers()["content-security-policy"] || null;
  // The service wants its token: the page asks for it.
  await page.waitForSelector("#login:not([hidden])", { timeout: 10000 });
  await page.fill("#token", token);
  await page.click("#login-form button[type=submit]");
  const row = `#crawls tr[data-id="${crawlId}"]`;
  await page.waitForSelector(row, { timeout: 10000 });
  const pages = async () => Number((await page.textContent(`${row} td.pages`)).replace(/,/g, ""));
  out.first_pages = await pages();
  await page.waitForTimeout(2500);
  out.later_pages = await pages();
  await page.click(`${row} button[data-action="pause"]`);
  await page.waitForFunction(
    (sel) => document.querySelector(sel + " td.state")?.textContent === "paused", row,
    { timeout: 10000 });
  out.state_after_pause = await page.textContent(`${row} td.state`);
  // The crawl's detail, for the screenshot.
  await page.click(`${row} td.state`);
  await page.waitForSelector("#detail:not([hidden])", { timeout: 10000 });
  await page.waitForTimeout(1200);
  out.host_rows = await page.$$eval("#detail-hosts tr.host td:first-child", (tds) => tds.map((t) => t.textContent));
  // "Why was this URL (not) fetched?" for one URL of the crawl.
  if (explainUrl) {
    await page.fill("#explain-url", explainUrl);
    await page.click("#explain-form button[type=submit]");
    await page.waitForSelector("#explain-result.explanation", { timeout: 10000 });
    out.explain = await page.textContent("#explain-result");
  }
  out.token_in_session = await page.evaluate(() => sessionStorage.getItem("trawler-token") !== null);
  await page.screenshot({ path: shot, fullPage: true });
  console.log(JSON.stringify(out));
} catch (e) {
  console.error(String(e && e.stack || e));
  console.error(JSON.stringify(out));
  process.exitCode = 1;
} finally {
  await browser.close();
}
