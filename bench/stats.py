#!/usr/bin/env python3
"""bench/run.sh's bookkeeping: one JSON line per run, then medians and the targets.

    stats.py record --scenario S --tool T --run N --time FILE --site FILE
                    [--load TEXT] [--wrk FILE] [--output FILE] [--delay FILE] [--hog FILE]
    stats.py line < ONE_RECORD_LINE
    stats.py report RUNS.jsonl [--parse FILE] [--bench FILE...] [--memory FILE]
"""

import argparse
import json
import re
import statistics
import sys


def parse_time_v(path):
    """/usr/bin/time -v output: user and sys seconds, peak RSS, wall seconds."""
    out = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("User time (seconds):"):
                out["user_s"] = float(line.split(":")[-1])
            elif line.startswith("System time (seconds):"):
                out["sys_s"] = float(line.split(":")[-1])
            elif line.startswith("Maximum resident set size (kbytes):"):
                out["rss_kb"] = int(line.split(":")[-1])
            elif line.startswith("Elapsed (wall clock) time"):
                clock = line.split("):", 1)[1].strip()
                parts = [float(p) for p in clock.split(":")]
                wall = 0.0
                for p in parts:
                    wall = wall * 60 + p
                out["wall_s"] = wall
            elif line.startswith("Exit status:"):
                out["exit"] = int(line.split(":")[-1])
    return out


def parse_wrk(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    m = re.search(r"Requests/sec:\s*([0-9.]+)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*([0-9]+)", text)
    return {
        "wrk_rps": float(m.group(1)) if m else None,
        "wrk_non2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def output_lines(path):
    """Records a tool wrote (JSONL): total and distinct URLs, as the tool saw them."""
    urls = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                urls.append(json.loads(line).get("url"))
            except ValueError:
                pass
    return {"records": len(urls), "distinct_records": len(set(urls))}


def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def cmd_record(a):
    rec = {"scenario": a.scenario, "tool": a.tool, "run": a.run, "load": a.load}
    rec.update(parse_time_v(a.time))
    if a.site:
        with open(a.site, encoding="utf-8") as f:
            rec["site"] = json.load(f)
    if "cpu_user_s" in rec.get("site", {}):
        rec["server_cpu_s"] = rec["site"]["cpu_user_s"] + rec["site"]["cpu_sys_s"]
    # The delay line (trawler-bench-delay) and the CPU hog: their own getrusage counts.
    for key, path in (("delay", a.delay), ("hog", a.hog)):
        if path:
            got = read_json(path)
            rec[key] = got if got is not None else {"missing": path}
    if a.wrk:
        rec.update(parse_wrk(a.wrk))
    if a.output:
        try:
            rec.update(output_lines(a.output))
        except OSError:
            pass
    print(json.dumps(rec))


def cmd_line(_a):
    """One run, one line, while the benchmark goes on."""
    r = json.loads(sys.stdin.read())
    s = r.get("site", {})
    d = derived(r)
    if r.get("wrk_rps") is not None:
        speed = f"{r['wrk_rps']:.1f} requests/s"
    else:
        speed = f"{fmt(d['pages_s'], '.1f')} pages/s, {fmt(d['cpu_ms'], '.3f')} ms CPU/page"
    extra = ""
    if d.get("delay_cpu_ms") is not None:
        extra += (f", delay line {d['delay_cpu_ms']:.3f} ms CPU/page ({fmt(d['delay_cores'], '.2f')}"
                  f" of a core, released p99 {fmt(d['delay_late_ms'], '.1f')} ms late)")
    if d.get("hog_cores") is not None:
        extra += f", hog {d['hog_cores']:.2f} cores"
    print(f"  {r['scenario']} {r['tool']} run {r['run']}: {speed}, "
          f"{s.get('distinct_pages', 0)}/{s.get('pages', 0)} pages, "
          f"{s.get('duplicate_fetches', 0)} duplicates, {s.get('not_found', 0)} 404s, "
          f"RSS {r.get('rss_kb', 0) / 1024:.0f} MB, wall {d['wall_s']:.1f} s, load {r['load']}"
          f"{extra}")


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def derived(rec):
    """Per-run figures. Pages are the site's count of page responses (200s): the server
    counts them, so no tool's own report is trusted."""
    site = rec.get("site", {})
    pages = site.get("page_responses", 0)
    wall = rec.get("wall_s") or 0
    cpu = rec.get("user_s", 0) + rec.get("sys_s", 0)
    total = site.get("pages", 0) or 1
    d = {
        "pages": pages,
        "pages_s": pages / wall if wall and pages else None,
        "cpu_ms": cpu / pages * 1e3 if pages else None,
        "rss_mb": rec.get("rss_kb", 0) / 1024,
        "complete": site.get("distinct_pages", 0) / total * 100,
        "dups": site.get("duplicate_fetches", 0),
        "not_found": site.get("not_found", 0),
        "server_cpu_ms": rec["server_cpu_s"] / pages * 1e3
        if pages and rec.get("server_cpu_s") is not None else None,
        "wall_s": wall,
        "load": rec.get("load", ""),
        "delay_cpu_ms": None,
        "delay_cores": None,
        "delay_late_ms": None,
        "hog_cores": None,
    }
    delay = rec.get("delay") or {}
    if "cpu_user_s" in delay:
        delay_cpu = delay["cpu_user_s"] + delay["cpu_sys_s"]
        d["delay_cpu_ms"] = delay_cpu / pages * 1e3 if pages else None
        d["delay_cores"] = delay_cpu / wall if wall else None
        d["delay_late_ms"] = delay.get("lateness_p99_ms")
    hog = rec.get("hog") or {}
    if "cores" in hog:
        d["hog_cores"] = hog["cores"]
    if rec.get("wrk_rps") is not None:
        # A load tool asks for pages in a loop: completeness and repeats mean nothing.
        d["pages_s"] = rec["wrk_rps"]
        d["cpu_ms"] = None
        d["complete"] = None
        d["dups"] = None
    return d


def fmt(v, spec):
    if v is None:
        return "n/a"
    return format(v, spec)


def parse_kv_file(path):
    """trawler bench / trawler-bench-parse / frontier-memory outputs, kept verbatim."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def cmd_report(a):
    runs = []
    with open(a.runs, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                runs.append(json.loads(line))
    parse_text = parse_kv_file(a.parse) if a.parse else ""
    gumbo_ms = None
    m = re.search(r"gumbo_parse\s+([0-9.]+) ms/page", parse_text)
    if m:
        gumbo_ms = float(m.group(1))
    cores = a.cores

    scenarios = []
    for r in runs:
        if r["scenario"] not in scenarios:
            scenarios.append(r["scenario"])
    med_by = {}
    for sc in scenarios:
        tools = []
        for r in runs:
            if r["scenario"] == sc and r["tool"] not in tools:
                tools.append(r["tool"])
        sc_runs = [r for r in runs if r["scenario"] == sc]
        # Columns for the delay line and the hog only where a run had them.
        has_delay = any(derived(r)["delay_cpu_ms"] is not None for r in sc_runs)
        has_hog = any(derived(r)["hog_cores"] is not None for r in sc_runs)
        extra_head = ""
        if has_delay:
            extra_head += " delay-line CPU ms/page | delay-line cores | released late p99 ms |"
        if has_hog:
            extra_head += " hog cores |"
        print(f"\n### {sc}\n")
        print("| tool | runs | pages/s | CPU ms/page | peak RSS MB | complete % | duplicates "
              "| 404s | server CPU ms/page | wall s | pages/s vs trawler | CPU vs trawler "
              "| load (1 min, per run) |" + extra_head)
        print("|" + " --- |" * (13 + 3 * has_delay + has_hog))
        meds = {}
        for t in tools:
            ds = [derived(r) for r in sc_runs if r["tool"] == t]
            meds[t] = {k: median([d[k] for d in ds]) for k in
                       ("pages_s", "cpu_ms", "rss_mb", "complete", "dups", "not_found",
                        "server_cpu_ms", "wall_s", "delay_cpu_ms", "delay_cores",
                        "delay_late_ms", "hog_cores")}
            meds[t]["runs"] = len(ds)
            meds[t]["loads"] = ", ".join(d["load"] for d in ds)
        med_by[sc] = meds
        # The ratios are to trawler, or with --trawler-variants to the first variant.
        base_name = "trawler" if "trawler" in meds else next(
            (t for t in tools if t.startswith("trawler")), "trawler")
        base = meds.get(base_name, {})
        for t in tools:
            m_ = meds[t]
            ratio_speed = ratio_cpu = None
            if t != base_name and base.get("pages_s") and m_["pages_s"]:
                ratio_speed = base["pages_s"] / m_["pages_s"]
            if t != base_name and base.get("cpu_ms") and m_["cpu_ms"]:
                ratio_cpu = m_["cpu_ms"] / base["cpu_ms"]
            extra = ""
            if has_delay:
                extra += (f" {fmt(m_['delay_cpu_ms'], '.3f')} | {fmt(m_['delay_cores'], '.2f')} "
                          f"| {fmt(m_['delay_late_ms'], '.1f')} |")
            if has_hog:
                extra += f" {fmt(m_['hog_cores'], '.2f')} |"
            print(f"| {t} | {m_['runs']} | {fmt(m_['pages_s'], '.1f')} | {fmt(m_['cpu_ms'], '.3f')} "
                  f"| {fmt(m_['rss_mb'], '.1f')} | {fmt(m_['complete'], '.2f')} "
                  f"| {fmt(m_['dups'], '.0f')} | {fmt(m_['not_found'], '.0f')} "
                  f"| {fmt(m_['server_cpu_ms'], '.3f')} | {fmt(m_['wall_s'], '.1f')} "
                  f"| {(base_name + ' ' + format(ratio_speed, '.2f') + 'x') if ratio_speed else '-'} "
                  f"| {(format(ratio_cpu, '.2f') + 'x ' + base_name) if ratio_cpu else '-'} "
                  f"| {m_['loads']} |{extra}")

    print("\n### targets\n")
    # With --hog the crawl does not have the cores to itself: the targets that assume it does
    # (share of the cores, share of the link) are reported, not judged.
    hogged = {sc for sc in scenarios
              if any(derived(r)["hog_cores"] is not None for r in runs if r["scenario"] == sc)}
    HOG_NA = "n/a under --hog: the target is for the crawl alone on the machine"

    def verdict(ok, sc):
        return HOG_NA if sc in hogged else ("met" if ok else "NOT met")
    lan_meds = med_by.get("lan", {})
    lan = lan_meds.get("trawler") or next(
        (m for t, m in lan_meds.items() if t.startswith("trawler-")), None)
    if lan and lan.get("cpu_ms"):
        if gumbo_ms:
            limit = 1.25 * gumbo_ms
            ok = lan["cpu_ms"] <= limit
            print(f"- LAN CPU per page: {lan['cpu_ms']:.3f} ms vs 1.25 x Gumbo "
                  f"({gumbo_ms:.3f} ms) = {limit:.3f} ms: {'met' if ok else 'NOT met'} "
                  f"({lan['cpu_ms'] / gumbo_ms:.2f} x Gumbo)")
        server = lan.get("server_cpu_ms") or 0
        cap = cores * 1000 / (lan["cpu_ms"] + server)
        ok = lan["pages_s"] >= 0.85 * cap
        print(f"- LAN pages/s: {lan['pages_s']:.1f} vs what {cores} cores allow at "
              f"{lan['cpu_ms']:.3f} ms (crawler) + {server:.3f} ms (site server) per page = "
              f"{cap:.1f}: {lan['pages_s'] / cap * 100:.1f}% ({verdict(ok, 'lan')}, "
              f"target 85%)")
        cap_alone = cores * 1000 / lan["cpu_ms"]
        print(f"  (without counting the server's CPU: {cap_alone:.1f} pages/s, "
              f"{lan['pages_s'] / cap_alone * 100:.1f}%)")
        scrapy = med_by["lan"].get("scrapy")
        if scrapy and scrapy.get("pages_s"):
            r = lan["pages_s"] / scrapy["pages_s"]
            print(f"- LAN vs Scrapy: {r:.1f}x ({'met' if r >= 15 else 'NOT met'}, target 15x)")
        once = lan["complete"] == 100 and lan["dups"] == 0
        print(f"- LAN every page once: complete {lan['complete']:.2f}%, duplicates "
              f"{lan['dups']:.0f}: {'met' if once else 'NOT met'}")
    for sc in ("latency", "latency-proxy"):
        lat = med_by.get(sc, {})
        label = "Latency" if sc == "latency" else "Latency (delay-line process)"
        for name in [t for t in lat if t == "trawler" or t.startswith("trawler-")]:
            tr = lat[name]
            if not tr.get("pages_s"):
                continue
            who = "" if name == "trawler" else f" ({name})"
            if lat.get("wrk") and lat["wrk"].get("pages_s"):
                t, w = tr["pages_s"], lat["wrk"]["pages_s"]
                # The delay line is one more process on the same cores: 90% of the link there.
                want = 0.90 if sc == "latency-proxy" else 0.95
                print(f"- {label}{who} vs wrk: {t:.1f} / {w:.1f} = {t / w * 100:.1f}% "
                      f"({verdict(t >= want * w, sc)}, target {want * 100:.0f}%)")
            if lat.get("wget2") and lat["wget2"].get("pages_s"):
                t, w = tr["pages_s"], lat["wget2"]["pages_s"]
                print(f"- {label}{who} vs wget2: {t:.1f} vs {w:.1f} pages/s "
                      f"({'met' if t > w else 'NOT met'}, target: above wget2)")
            lan_tr = med_by.get("lan", {}).get(name)
            if sc == "latency-proxy" and lan_tr and lan_tr.get("cpu_ms") and tr.get("cpu_ms"):
                r = tr["cpu_ms"] / lan_tr["cpu_ms"]
                print(f"- {label}{who} CPU per page vs LAN: {tr['cpu_ms']:.3f} / "
                      f"{lan_tr['cpu_ms']:.3f} ms = {r:.2f}x "
                      f"({'met' if r <= 1.05 else 'NOT met'}, target at most 1.05x)")
            if sc == "latency-proxy":
                once = tr["complete"] == 100 and tr["dups"] == 0 and tr["not_found"] == 0
                print(f"- {label}{who} every page once: complete {tr['complete']:.2f}%, "
                      f"duplicates {tr['dups']:.0f}, 404s {tr['not_found']:.0f}: "
                      f"{'met' if once else 'NOT met'}")
    if a.delay_selftest:
        text = parse_kv_file(a.delay_selftest)
        checks = text.count("self-test: ok")
        failed = [l for l in text.splitlines() if "self-test: FAIL" in l]
        verdict = "passed" if "self-test: passed" in text else "FAILED"
        print(f"- Delay line self-test (trawler-bench-delay --self-test): {verdict}, {checks} checks ok"
              + "".join(f"; {l.split('FAIL', 1)[1].strip()}" for l in failed))
    for path in a.bench or []:
        text = parse_kv_file(path)
        m = re.search(r"loop lag\s+p50 ([0-9.]+) ms, p99 ([0-9.]+) ms", text)
        if m:
            p99 = float(m.group(2))
            print(f"- Event-loop lag p99 ({path.split('/')[-1]}): {p99:.3f} ms "
                  f"({'met' if p99 < 5 else 'NOT met'}, target < 5 ms)")
    if a.memory:
        text = parse_kv_file(a.memory)
        for line in text.splitlines():
            if line.startswith(("seen set", "queue", "seen + queued")):
                print(f"- Memory: {line.strip()}")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("--scenario", required=True)
    r.add_argument("--tool", required=True)
    r.add_argument("--run", type=int, required=True)
    r.add_argument("--time", required=True)
    r.add_argument("--site")
    r.add_argument("--load", default="")
    r.add_argument("--wrk")
    r.add_argument("--output")
    r.add_argument("--delay")
    r.add_argument("--hog")
    s = sub.add_parser("report")
    s.add_argument("runs")
    s.add_argument("--parse")
    s.add_argument("--bench", nargs="*")
    s.add_argument("--memory")
    s.add_argument("--cores", type=int, default=1)
    s.add_argument("--delay-selftest")
    sub.add_parser("line")
    a = p.parse_args()
    if a.cmd == "record":
        cmd_record(a)
    elif a.cmd == "line":
        cmd_line(a)
    else:
        cmd_report(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
