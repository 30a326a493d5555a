#!/usr/bin/env node
// Replays a WARC file with ReplayWeb.page (tests/replay: ui.js, sw.js) in a real chromium and
// compares it with the live page. Usage:
//
//   node tests/browser/replay.mjs LIVE_URL WARC_FILE PREFIX [HOST=ADDR...]
//
// Starts a loopback HTTP server with ReplayWeb.page's static files and the WARC file, opens an
// index page holding <replay-web-page source=WARC url=LIVE_URL embed=replayonly>, waits for the
// replayed page, then opens LIVE_URL itself in the same viewport. Saves PREFIX-live.png and
// PREFIX-replay.png and prints one JSON object:
//   {"live": checks, "replay": checks, "diff": {"width","height","live_width","live_height",
//    "differing","ratio"}, "console_errors": [...]}
// where checks = {"status", "added", "logo_width", "photo_width", "cdn_width",
// "body_background", "box_border", "sheets_loaded"} are read inside the page (the replayed
// frame for "replay"): texts the page's script writes, naturalWidth of its images (0: not
// loaded), computed styles from its style sheets. A pixel differs when a channel differs by more
// than 24 of 255. Exits 1 with the error on stderr when a page does not load in time.
// HOST=ADDR pairs map host names for the live page (chromium --host-resolver-rules).
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { readFileSync, statSync, createReadStream } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const [live, warc, prefix, ...maps] = process.argv.slice(2);
if (!live || !warc || !prefix) {
  console.error("usage: replay.mjs LIVE_URL WARC_FILE PREFIX [HOST=ADDR...]");
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const rwp = join(here, "..", "replay", "node_modules", "replaywebpage");
const viewport = { width: 1000, height: 700 };

// The replay site: ReplayWeb.page's files, the archive, and the page that embeds them. The
// archive is served with Range support, as a static server would.
const index = `<!doctype html><html><head><meta charset="utf-8"><script src="/ui.js"></script>
<style>html, body { margin: 0; padding: 0; overflow: hidden; }
replay-web-page { display: block; width: 100vw; height: 100vh; }</style></head>
<body><replay-web-page source="/archive.warc.gz" url="${live}" replayBase="/replay/"
 embed="replayonly"></replay-web-page></body></html>`;
const server = createServer((req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  if (path === "/" || path === "/index.html") {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(index);
  } else if (path === "/ui.js" || path === "/replay/sw.js") {
    res.writeHead(200, { "Content-Type": "application/javascript" });
    res.end(readFileSync(join(rwp, path === "/ui.js" ? "ui.js" : "sw.js")));
  } else if (path === "/archive.warc.gz") {
    const size = statSync(warc).size;
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range || "");
    if (range) {
      const start = range[1] === "" ? Math.max(0, size - Number(range[2])) : Number(range[1]);
      const end = range[1] === "" || range[2] === "" ? size - 1 : Math.min(size - 1, Number(range[2]));
      res.writeHead(206, {
        "Content-Type": "application/octet-stream",
        "Content-Length": end - start + 1,
        "Content-Range": `bytes ${start}-${end}/${size}`,
        "Accept-Ranges": "bytes",
      });
      if (req.method === "HEAD") return res.end();
      createReadStream(warc, { start, end }).pipe(res);
    } else {
      res.writeHead(200, {
        "Content-Type": "application/octet-stream",
        "Content-Length": size,
        "Accept-Ranges": "bytes",
      });
      if (req.method === "HEAD") return res.end();
      createReadStream(warc).pipe(res);
    }
  } else {
    res.writeHead(404, { "Content-Type": "text/plain" });
    res.end("not found");
  }
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const base = `http://127.0.0.1:${server.address().port}`;

// What the page shows, read inside it (a frame or the top page).
function checks() {
  const text = (sel) => document.querySelector(sel)?.textContent ?? null;
  const width = (sel) => document.querySelector(sel)?.naturalWidth ?? null;
  const box = document.querySelector(".box");
  let sheets = false;
  try {
    // The page's sheet and the one it imports, both with rules.
    const own = [...document.styleSheets].find((s) => (s.href || "").includes("site.css"));
    const imported = own && [...own.cssRules].find((r) => r.styleSheet);
    sheets = !!(own && own.cssRules.length > 0 && imported && imported.styleSheet.cssRules.length > 0);
  } catch (e) {
    sheets = false;
  }
  return {
    status: text("#status"),
    added: text("#added"),
    logo_width: width("#logo"),
    photo_width: width("#photo"),
    cdn_width: width("#cdn"),
    body_background: getComputedStyle(document.body).backgroundImage,
    box_border: box ? getComputedStyle(box).borderTopColor : null,
    sheets_loaded: sheets,
  };
}

// The document loaded and every image of it decoded or failed; and whether the page's script
// has run.
function loaded() {
  const images = document.readyState === "complete" && [...document.images].every((i) => i.complete);
  return { images, script: document.querySelector("#status")?.textContent === "script ran" };
}

const rules = maps.map((m) => m.split("=")).map(([h, a]) => `MAP ${h} ${a}`).join(", ");
const args = ["--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--font-render-hinting=none"];
if (rules) args.push(`--host-resolver-rules=${rules}`);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args });
const out = { console_errors: [] };
try {
  // The replay first, in a context of its own (its service worker and storage).
  const rctx = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const rpage = await rctx.newPage();
  rpage.on("pageerror", (e) => out.console_errors.push(String(e)));
  const messages = [];
  rpage.on("console", (m) => messages.length < 50 && messages.push(`${m.type()}: ${m.text()}`));
  await rpage.goto(base + "/", { waitUntil: "load" });
  // The replayed frame: loaded, with its script run, or 5 s after it loaded without (a replay
  // without the script). A first visit installs the service worker; should the replay not show
  // within 30 s (a busy machine), the page is loaded once more, as a user would.
  let deadline = Date.now() + 30000;
  let frame = null;
  let loadedAt = null;
  out.reloaded = false;
  for (;;) {
    frame = rpage.frames().find((f) => f.url().includes("mp_/" + live));
    if (frame) {
      const state = await frame.evaluate(loaded).catch(() => ({}));
      if (state.images && state.script) break;
      if (state.images) {
        loadedAt = loadedAt ?? Date.now();
        if (Date.now() - loadedAt > 5000) break;
      }
    }
    if (Date.now() > deadline) {
      if (!out.reloaded) {
        out.reloaded = true;
        out.frames_before_reload = rpage.frames().map((f) => f.url());
        await rpage.reload({ waitUntil: "load" });
        deadline = Date.now() + 60000;
        loadedAt = null;
        continue;
      }
      out.frames = rpage.frames().map((f) => f.url());
      out.messages = messages;
      out.texts = [];
      for (const f of rpage.frames())
        out.texts.push(await f.evaluate(() => document.body?.innerText ?? "").catch((e) => String(e)));
      throw new Error("the replayed page did not appear: " + JSON.stringify(out.frames));
    }
    await rpage.waitForTimeout(250);
  }
  await rpage.waitForTimeout(500);  // the last paint after the last image
  out.replay = await frame.evaluate(checks);
  out.replay_frame = frame.url();
  const replayShot = await (await frame.frameElement()).screenshot({ path: prefix + "-replay.png" });

  // The live page, as chromium shows it.
  const lctx = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const lpage = await lctx.newPage();
  await lpage.goto(live, { waitUntil: "load" });
  await lpage.waitForFunction(
    () =>
      document.readyState === "complete" &&
      [...document.images].every((i) => i.complete) &&
      document.querySelector("#status")?.textContent === "script ran",
    null,
    { timeout: 30000 },
  );
  await lpage.waitForTimeout(500);
  out.live = await lpage.evaluate(checks);
  const liveShot = await lpage.screenshot({ path: prefix + "-live.png" });

  // Pixel comparison, in the browser's own decoder.
  const cmp = await lctx.newPage();
  out.diff = await cmp.evaluate(
    async ([a, b]) => {
      const load = async (b64) => createImageBitmap(await (await fetch("data:image/png;base64," + b64)).blob());
      const [live, replay] = [await load(a), await load(b)];
      const w = Math.min(live.width, replay.width);
      const h = Math.min(live.height, replay.height);
      const pixels = (img) => {
        const c = new OffscreenCanvas(w, h);
        const g = c.getContext("2d");
        g.drawImage(img, 0, 0);
        return g.getImageData(0, 0, w, h).data;
      };
      const p = pixels(live);
      const q = pixels(replay);
      let differing = 0;
      for (let i = 0; i < p.length; i += 4) {
        if (Math.abs(p[i] - q[i]) > 24 || Math.abs(p[i + 1] - q[i + 1]) > 24 ||
            Math.abs(p[i + 2] - q[i + 2]) > 24)
          ++differing;
      }
      // Pixels one image has and the other lacks differ too.
      const area = Math.max(live.width, replay.width) * Math.max(live.height, replay.height);
      differing += area - w * h;
      return { width: replay.width, height: replay.height, live_width: live.width,
               live_height: live.height, differing, ratio: differing / area };
    },
    [liveShot.toString("base64"), replayShot.toString("base64")],
  );
  console.log(JSON.stringify(out));
} catch (e) {
  console.error(String((e && e.stack) || e));
  console.error(JSON.stringify(out));
  process.exitCode = 1;
} finally {
  await browser.close();
  server.close();
}
