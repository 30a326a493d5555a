#!/usr/bin/env node
// The dashboard's new-crawl form and its Cancel, in a real browser (Debian's chromium, driven
// by playwright-core), as a user would use them. Usage:
//
//   node tests/browser/new-crawl.mjs BASE_URL TOKEN SEED_URL SCREENSHOT_DIR
//
// Loads BASE_URL/, enters the token; pastes a YAML config with a misspelt key and a bad value
// and submits it, reads the problems the form lists (screenshot dashboard-new-crawl-errors.png);
// pastes a good YAML config of SEED_URL and submits it, waits for the crawl's row to say
// "running" (the list: dashboard-cancel-button.png); clicks its Cancel, reads the confirmation
// (screenshot dashboard-cancel-confirm.png), answers No, reads the row after two refreshes;
// clicks Cancel again and answers Yes, waits for "cancelled" (screenshot
// dashboard-cancelled.png), reads the row's seed and times; clicks Delete, reads the question
// (dashboard-delete-confirm.png), answers No, then Delete and Yes, waits for the row to go.
// Prints one JSON object and exits 0, or prints the error on stderr and exits 1:
//   {"console_errors":[...], "requests":[...], "problems":[[key, message]...],
//    "summary":text, "started":id, "confirm":text, "confirm_buttons":[...],
//    "state_after_no":s, "confirm_after_no":bool, "state_after_yes":s,
//    "cancel_gap_px":n, "cancel_color":css, "pause_color":css}
import { chromium } from "playwright-core";

const [base, token, seed, shots] = process.argv.slice(2);
if (!base || !token || !seed || !shots) {
  console.error("usage: new-crawl.mjs BASE_URL TOKEN SEED_URL SCREENSHOT_DIR");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu"] });
const out = { console_errors: [], requests: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  out.refused_posts = [];
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    // Chromium logs every 4xx; the 400 refusing the bad config is the one expected.
    if (/status of 400/.test(m.text()) && m.location().url === base + "/v1/crawls") {
      out.refused_posts.push(m.text());
    } else {
      out.console_errors.push(m.text() + " (" + m.location().url + ")");
    }
  });
  page.on("pageerror", (e) => out.console_errors.push(String(e)));
  page.on("request", (r) => out.requests.push(r.url()));
  // A native dialog would block the page: there must be none.
  page.on("dialog", (d) => { out.console_errors.push("unexpected dialog: " + d.message()); d.dismiss(); });
  await page.goto(base + "/", { waitUntil: "load" });
  await page.waitForSelector("#login:not([hidden])", { timeout: 10000 });
  await page.fill("#token", token);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#app:not([hidden])", { timeout: 10000 });

  // A config with a misspelt key and a negative per_host, pasted as YAML.
  await page.fill("#new-config", [
    "# my first crawl",
    "seeds:",
    "  - " + seed,
    "limits:",
    "  concurency: 4",
    "  per_host: -1",
    "",
  ].join("\n"));
  await page.click("#new-form button[type=submit]");
  await page.waitForSelector("#new-errors:not([hidden]) li.problem", { timeout: 10000 });
  out.summary = await page.textContent("#new-result");
  out.problems = await page.$$eval("#new-errors li.problem", (lis) => lis.map((li) =>
    [li.querySelector(".problem-key").textContent, li.querySelector(".problem-message").textContent]));
  out.problem_lines = await page.$$eval("#new-errors li.problem", (lis) => lis.map((li) => li.textContent));
  await page.$eval("#new-form", (f) => f.scrollIntoView({ block: "center" }));
  await page.screenshot({ path: shots + "/dashboard-new-crawl-errors.png", fullPage: true });

  // Fixed: the crawl starts.
  await page.fill("#new-config", [
    "seeds:",
    "  - " + seed,
    "scope:",
    "  max_depth: 1000",
    "limits:",
    "  concurrency: 4",
    "network:",
    "  allow_private: true   # the test site is on loopback",
    "",
  ].join("\n"));
  await page.click("#new-form button[type=submit]");
  await page.waitForFunction(() => /^started /.test(document.getElementById("new-result").textContent),
    null, { timeout: 10000 });
  out.started = (await page.textContent("#new-result")).replace(/^started /, "");
  out.errors_hidden_after_start = await page.$eval("#new-errors", (u) => u.hidden);
  const row = `#crawls tr[data-id="${out.started}"]`;
  await page.waitForFunction(
    (sel) => document.querySelector(sel + " td.state")?.textContent === "running", row,
    { timeout: 10000 });

  // Cancel stands apart from Pause and looks dangerous.
  const pause = await page.$eval(`${row} button[data-action="pause"]`, (b) => {
    const r = b.getBoundingClientRect();
    return { right: r.right, color: getComputedStyle(b).color };
  });
  const cancel = await page.$eval(`${row} button[data-action="cancel"]`, (b) => {
    const r = b.getBoundingClientRect();
    return { left: r.left, color: getComputedStyle(b).color };
  });
  out.cancel_gap_px = Math.round(cancel.left - pause.right);
  out.cancel_color = cancel.color;
  out.pause_color = pause.color;

  await page.locator("#crawls").screenshot({ path: shots + "/dashboard-cancel-button.png" });

  // Cancel asks first; No leaves the crawl running.
  await page.click(`${row} button[data-action="cancel"]`);
  await page.waitForSelector(`${row} button[data-action="cancel-yes"]`, { timeout: 5000 });
  out.confirm = await page.textContent(`${row} td.danger-zone`);
  out.confirm_buttons = await page.$$eval(`${row} td.danger-zone button`, (bs) => bs.map((b) => b.textContent));
  // The question stays while the list refreshes underneath it.
  await page.waitForTimeout(1500);
  out.confirm_survives_refresh = (await page.$(`${row} button[data-action="cancel-yes"]`)) !== null;
  // The page as it is, from the top: the crawl list with the question in its row.
  await page.evaluate(() => window.scrollTo(0, 0));
  out.page_overflows = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  out.confirm_overhang_px = await page.$eval(`${row} td.danger-zone`, (td) => Math.round(
    td.getBoundingClientRect().right - document.querySelector("main").getBoundingClientRect().right));
  await page.screenshot({ path: shots + "/dashboard-cancel-confirm.png" });
  await page.click(`${row} button[data-action="cancel-no"]`);
  await page.waitForSelector(`${row} button[data-action="cancel"]`, { timeout: 5000 });
  await page.waitForTimeout(2200);
  out.state_after_no = await page.textContent(`${row} td.state`);
  out.confirm_after_no = (await page.$(`${row} button[data-action="cancel-yes"]`)) !== null;

  // Cancel, Yes: cancelled.
  await page.click(`${row} button[data-action="cancel"]`);
  await page.click(`${row} button[data-action="cancel-yes"]`);
  await page.waitForFunction(
    (sel) => document.querySelector(sel + " td.state")?.textContent === "cancelled", row,
    { timeout: 10000 });
  out.state_after_yes = await page.textContent(`${row} td.state`);
  out.buttons_after_cancel = await page.$$eval(`${row} button`, (bs) => bs.map((b) => b.textContent));
  // The row names the crawl's seed and when it started and ended.
  await page.waitForFunction((sel) => document.querySelector(sel + " td.times .ended")?.textContent !== "",
    row, { timeout: 10000 });
  out.row = await page.$eval(row, (r) => ({
    seeds: r.querySelector("td.crawl .seeds").textContent,
    times: [...r.querySelectorAll("td.times div")].map((t) => [t.textContent, t.title]),
  }));
  out.list_head = await page.$$eval("#crawls thead th", (ths) => ths.map((t) => t.textContent));
  await page.screenshot({ path: shots + "/dashboard-cancelled.png", fullPage: true });

  // Delete asks too; No keeps the crawl listed, Yes takes it off the list.
  await page.click(`${row} button[data-action="delete"]`);
  await page.waitForSelector(`${row} button[data-action="delete-yes"]`, { timeout: 5000 });
  out.delete_confirm = await page.textContent(`${row} td.danger-zone`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: shots + "/dashboard-delete-confirm.png" });
  await page.click(`${row} button[data-action="delete-no"]`);
  await page.waitForTimeout(1500);
  out.listed_after_no = (await page.$(row)) !== null;
  await page.click(`${row} button[data-action="delete"]`);
  await page.click(`${row} button[data-action="delete-yes"]`);
  await page.waitForSelector(row, { state: "detached", timeout: 10000 });
  await page.waitForSelector("#no-crawls:not([hidden])", { timeout: 10000 });
  out.detail_hidden_after_delete = await page.$eval("#detail", (d) => d.hidden);
  console.log(JSON.stringify(out));
} catch (e) {
  console.error(String(e && e.stack || e));
  console.error(JSON.stringify(out));
  process.exitCode = 1;
} finally {
  await browser.close();
}
