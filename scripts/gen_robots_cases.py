#!/usr/bin/env python3
"""Writes tests/data/robots/cases.json from the shared robots.txt conformance data.

The source, robots_cases.py (cases converted from google/robotstxt, see its header), is
Python data; the C++ test reads JSON. Each output row is
{"group", "source", "body", "path", "allowed"}, in the source's order, so running this
twice gives the same bytes.

Usage: gen_robots_cases.py [--cases PATH/robots_cases.py] [--output PATH/cases.json]
Defaults: ../shared/conformance/robots_cases.py beside the repository, and
tests/data/robots/cases.json inside it.
"""

import argparse
import importlib.util
import json
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # never leave a __pycache__ in the shared folder

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CASES = REPO.parent / "shared" / "conformance" / "robots_cases.py"
DEFAULT_OUTPUT = REPO / "tests" / "data" / "robots" / "cases.json"


def load_module(path):
    spec = importlib.util.spec_from_file_location("robots_cases", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rows(module):
    if hasattr(module, "rows"):
        yield from module.rows()
        return
    for group, entries in module.CASES.items():
        for source, body, paths in entries:
            for path, allowed in paths:
                yield group, source, body, path, allowed


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    out = []
    for group, source, body, path, allowed in rows(load_module(args.cases)):
        if not isinstance(body, str) or not isinstance(path, str) or not isinstance(allowed, bool):
            raise SystemExit(f"bad row in {args.cases}: {source!r} {path!r}")
        out.append({"group": group, "source": source, "body": body, "path": path,
                    "allowed": allowed})

    # ASCII-only output keeps invisible characters (the BOM case) visible in review.
    text = json.dumps(out, indent=1, ensure_ascii=True) + "\n"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8", newline="\n")
    print(f"{len(out)} rows -> {args.output}")


if __name__ == "__main__":
    main(sys.argv[1:])
