#!/usr/bin/env node
// A finished crawl's broken links in the dashboard, in a real browser (Debian's chromium,
// driven by playwright-core). Usage:
//
//   node tests/browser/broken-links.mjs BASE_URL TOKEN CRAWL_ID SCREENSHOT.png [REPORT.html]
//
// Loads BASE_URL/, enters the token, selects the crawl, waits for its Broken links table; reads
// the crawl's row of the crawl list, the detail cards and the table's rows; saves a screenshot.
// With REPORT.html (a fifth argument): clicks "Download the report", saves the download there,
// opens it and saves a screenshot beside it (REPORT.png); then "Download the records", saved as
// REPORT.jsonl.
// Prints one JSON object: {"console_errors":[...], "list_row":{class: text}, "cards":{label:
// value}, "broken_rows":[[url, status, count, [linking pages]]...], "requests":[...]} and exits 0,
// or prints the error on stderr and exits 1.
import { chromium } from "playwright-core";

const [base, token, crawlId, shot, reportPath] = process.argv.slice(2);
if (!base || !token || !crawlId || !shot) {
  console.error("usage: broken-links.mjs BASE_URL TOKEN CRAWL_ID SCREENSHOT.png");
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
  await page.goto(base + "/", { waitUntil: "load" });
  await page.waitForSelector("#login:not([hidden])", { timeout: 10000 });
  await page.fill("#token", token);
  await page.click("#login-form button[type=submit]");
  const row = `#crawls tr[data-id="${crawlId}"]`;
  await page.waitForSelector(row, { timeout: 10000 });
  out.list_head = await page.$$eval("#crawls thead th", (ths) => ths.map((t) => t.textContent));
  out.list_row = await page.$eval(row, (r) => ({
    http_errors: r.querySelector("td.http-errors").textContent,
    errors: r.querySelector("td.errors").textContent,
  }));
  await page.click(`${row} td.state`);
  await page.waitForSelector("#detail-broken tr.broken", { timeout: 10000 });
  out.cards = await page.$$eval("#detail-cards .card", (cs) => Object.fromEntries(
    cs.map((c) => [c.querySelector(".label").textContent, c.querySelector(".value").textContent])));
  out.broken_rows = await page.$$eval("#detail-broken tr.broken", (rows) => rows.map((r) => {
    const td = r.querySelectorAll("td");
    const pages = [...td[3].childNodes].filter((n) => n.nodeType === Node.TEXT_NODE)
      .map((n) => n.textContent);
    return [td[0].textContent, td[1].textContent, td[2].textContent, pages];
  }));
  out.no_broken_hidden = await page.$eval("#no-broken", (p) => p.hidden);
  // The table in view, as a user scrolls to it.
  await page.$eval("#detail-broken", (t) => t.scrollIntoView({ block: "center" }));
  await page.screenshot({ path: shot, fullPage: true });
  // "Download the report": the crawl's HTML report saved as a file, then opened as a user would.
  if (reportPath) {
    const [download] = await Promise.all([
      page.waitForEvent("download", { timeout: 20000 }),
      page.click("#detail-report"),
    ]);
    out.report_name = download.suggestedFilename();
    await download.saveAs(reportPath);
    await page.waitForFunction(() => /^saved as .*html$/.test(document.getElementById("download-result").textContent),
      null, { timeout: 10000 });
    out.report_result = await page.textContent("#download-result");
    const report = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    report.on("pageerror", (e) => out.console_errors.push("report: " + String(e)));
    await report.goto("file://" + reportPath, { waitUntil: "load" });
    out.report_title = await report.title();
    out.report_h1 = await report.textContent("h1");
    await report.screenshot({ path: reportPath.replace(/\.html$/, ".png"), fullPage: false });
    // "Download the records": the JSONL file, saved beside the report.
    const [records] = await Promise.all([
      page.waitForEvent("download", { timeout: 20000 }),
      page.click("#detail-records"),
    ]);
    out.records_name = records.suggestedFilename();
    await records.saveAs(reportPath.replace(/\.html$/, ".jsonl"));
  }
  console.log(JSON.stringify(out));
} catch (e) {
  console.error(String(e && e.stack || e));
  console.error(JSON.stringify(out));
  process.exitCode = 1;
} finally {
  await browser.close();
}
