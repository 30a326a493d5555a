#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/.

Run it again after editing: it rewrites every file it owns (names start with a digit pair
and a dash) and leaves other files alone (those that `bench/fuzz --merge` adds). Compressed bodies use zlib; brotli goes through libbrotlienc
with ctypes, as Debian has no Python brotli module.
"""
import ctypes
import ctypes.util
import gzip
import json
import os
import pathlib
import re
import zlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    (d / name).write_bytes(data)


def brotli(data, quality=5):
    lib = ctypes.CDLL(ctypes.util.find_library("brotlienc") or "libbrotlienc.so.1")
    out_size = ctypes.c_size_t(len(data) + 1024)
    out = ctypes.create_string_buffer(out_size.value)
    ok = lib.BrotliEncoderCompress(ctypes.c_int(quality), ctypes.c_int(22), ctypes.c_int(0),
                                   ctypes.c_size_t(len(data)), data, ctypes.byref(out_size), out)
    assert ok == 1
    return out.raw[: out_size.value]


def raw_deflate(data):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def gz(data):
    return gzip.compress(data, mtime=0)


# --- url: first line a URL, the rest a reference ---------------------------------------------

def url_corpus():
    rfc_base = "http://a/b/c/d;p?q"
    # RFC 3986 section 5.4: normal and abnormal examples.
    refs = ["g:h", "g", "./g", "g/", "/g", "//g", "?y", "g?y", "#s", "g#s", "g?y#s", ";x",
            "g;x", "g;x?y#s", "", ".", "./", "..", "../", "../g", "../..", "../../", "../../g",
            "../../../g", "../../../../g", "/./g", "/../g", "g.", ".g", "g..", "..g", "./../g",
            "./g/.", "g/./h", "g/../h", "g;x=1/./y", "g;x=1/../y", "g?y/./x", "g?y/../x",
            "g#s/./x", "g#s/../x", "http:g"]
    n = 0
    for r in refs:
        write("url", f"{n:02d}-rfc3986-{n}", f"{rfc_base}\n{r}")
        n += 1
    cases = [
        ("mixed-case", "HTTP://Example.COM:80/a/./b/../c/%7euser/%2a?q=%7e&Z=%41#frag\n../d?x#y"),
        ("https-default-port", "HTTPS://www.example.org:443\n//cdn.example.net/lib.js?v=1"),
        ("seed-no-scheme", "  example.com/path?a=b  \n?only=query"),
        ("userinfo", "http://user:p%40ss@host.example:8080/x\n@not-userinfo"),
        ("ipv6", "http://[2001:DB8:0:0:0:0:0:1]:8080/a\n/abs/path?x"),
        ("ipv4-numeric", "http://0x7f.1/\nhttp://017700000001:81/"),
        ("ipv4-decimal", "http://2130706433/\nhttp://127.0.0.1./"),
        ("idna", "http://Bücher.example/straße?ä=ö\n  spaces in ref  "),
        ("punycode", "http://xn--nxasmq6b.com/\n\\\\evil.example\\path\\file"),
        ("backslashes", "http://example.com\\a\\b\n..\\c"),
        ("tabs-newlines", "http://exa\tmple.com/a\n\t/b\r/c"),
        ("percent-bad", "http://example.com/%zz/%4/%%41\n%E2%82%AC/%e2%82%ac"),
        ("javascript", "http://example.com/\njavascript:alert(1)"),
        ("mailto", "mailto:x@example.com\nhttp://example.com/"),
        ("ftp", "ftp://example.com/file\n//example.com/"),
        ("port-zero", "http://example.com:0/\n:8080/x"),
        ("port-big", "http://example.com:65536/\nhttp://example.com:65535/"),
        ("empty-host", "http:///path\nhttps:"),
        ("query-only", "https://example.com?\n?"),
        ("many-slashes", "http:////example.com///a//b\n///host2/x"),
        ("dots-host", "http://example.com../\nhttp://.example.com/"),
        ("number-host", "http://foo.123/\nhttp://1.2.3.256/"),
        ("utf8-path", "http://example.com/ツ/€?q=ツ\n/пример"),
        ("invalid-utf8", b"http://example.com/\xff\xfe/\xc3\n\xe2\x82"),
        ("space-in-host", "http://exa mple.com/\nhttp://example.com/a b"),
        ("long-path", "http://example.com/" + "a/" * 200 + "\n" + "../" * 210),
        ("uppercase-escape", "http://EXAMPLE.com/%3a%2F%3F\nhttp://Example.com/%3A"),
        ("at-in-path", "http://a@b@c.example/d@e\n//x@y.example/"),
        ("fragment-only", "https://example.com/page?x=1\n#top"),
        ("protocol-relative", "https://example.com/a/b\n//EXAMPLE.net:443/c"),
    ]
    for name, text in cases:
        write("url", f"{n:02d}-{name}", text)
        n += 1


# --- extract: HTML bodies ---------------------------------------------------------------------

def extract_corpus():
    pages = [
        ("basic", "<!doctype html><html><head><title>  Hello\n\tWorld  </title></head><body>"
                  "<a href='/a'>a</a> <a href=\"b?x=1#frag\">b</a> <a href=//cdn.example.net/c>c</a>"
                  "<a href='/a'>again</a></body></html>"),
        ("base-href", "<html><head><base href='https://other.example/dir/'><base href='/ignored/'>"
                      "</head><body><a href=x>x</a><a href=../y>y</a><img src=z></body></html>"),
        ("base-relative", "<base href='sub/'><a href='p.html'>p</a><a href='/root'>r</a>"),
        ("meta-refresh", "<meta http-equiv=refresh content=\"5; url='/next?a=1'\">"
                         "<meta http-equiv=REFRESH content='0;URL=other.html'>"
                         "<meta http-equiv=refresh content='3'>"),
        ("meta-refresh-odd", "<meta http-equiv='Refresh' content='.5,url=\"q\"x'>"
                             "<meta http-equiv=refresh content='1 urlfoo'>"
                             "<meta http-equiv=refresh content='x; url=/no'>"),
        ("nofollow-link", "<a rel='nofollow' href=/nf>nf</a><a rel='external NoFollow' href=/nf2>"
                          "</a><a href=/nf>followed</a><a rel=noopener href=/ok>ok</a>"),
        ("meta-robots-nofollow", "<meta name=robots content='noindex, NOFOLLOW'><a href=/a>a</a>"
                                 "<link rel=canonical href='/canon#x'>"),
        ("meta-robots-none", "<meta name='ROBOTS ' content=none><meta name=robots content="
                             "'noarchive,,nosnippet noarchive'><a href=/z>z</a>"),
        ("canonical", "<link rel='canonical stylesheet' href='https://Example.com:443/c/./d'>"
                      "<link rel=canonical href=/second><link rel=icon href=/favicon.ico>"),
        ("frames", "<frameset><frame src=f1.html><frame src='//h.example/f2'></frameset>"
                   "<iframe src=if.html></iframe><map><area href=/area1 shape=rect></map>"),
        ("schemes", "<a href='javascript:void(0)'>j</a><a href='mailto:a@b.c'>m</a>"
                    "<a href='data:text/html,<b>x</b>'>d</a><a href='ftp://f.example/'>f</a>"
                    "<a href='HTTPS://UPPER.example/'>u</a><a href='tel:+1'>t</a>"),
        ("entities", "<a href='/a?x=1&amp;y=2&lt;&#x2F;&#47;&nbsp;&copy'>e</a>"
                     "<title>Fish &amp; Chips &mdash; &#128512; &bogus;</title>"),
        ("whitespace-hrefs", "<a href='  /spaced  '>s</a><a href='\n/new\tline\n'>n</a>"
                             "<a href=''>empty</a><a href>bare</a><a href='#'>hash</a>"),
        ("charset-meta-1252", b"<meta charset=windows-1252><title>caf\xe9 \x93quoted\x94</title>"
                              b"<a href='/caf\xe9'>c</a>"),
        ("charset-http-equiv-sjis", b"<meta http-equiv=Content-Type content='text/html; "
                                    b"charset=Shift_JIS'><title>\x93\xfa\x96\x7b</title>"
                                    b"<a href='/\x93\xfa'>j</a>"),
        ("charset-latin1-label", b"<meta charset='latin1'><a href=/\xe4\xf6>x</a>"),
        ("bom-utf8", b"\xef\xbb\xbf<meta charset=iso-8859-1><title>\xc3\xa9t\xc3\xa9</title>"),
        ("bom-utf16le", "\ufeff<title>UTF-16</title><a href='/u16'>u</a>".encode("utf-16-le")),
        ("bom-utf16be", "\ufeff<a href='/be'>b</a>".encode("utf-16-be")),
        ("utf16-declared", "<meta charset=utf-16><a href=/x>x</a>"),
        ("invalid-utf8", b"<title>bad \xff\xfe \xc3 \xed\xa0\x80 end</title><a href='/\xff'>x</a>"),
        ("iso-2022-jp", b"<meta charset=iso-2022-jp><title>\x1b$B$3$s$K$A$O\x1b(B</title>"),
        ("replacement-charset", "<meta charset=iso-2022-kr><title>gone</title><a href=/r>r</a>"),
        ("x-user-defined", b"<meta charset=x-user-defined><title>\x80\xff</title>"),
        ("empty-title", "<title></title><title>second</title><a href=/t>t</a>"),
        ("title-in-body", "<body><svg><title>svg title</title></svg><title> late </title>"),
        ("text-hidden", "<head><style>a{}</style><script>var s='<a href=/no>';</script></head>"
                        "<body><p>One<b>two</b> three</p><noscript>ns</noscript><div>four"
                        "</div><template><a href=/tpl>t</a></template></body>"),
        ("broken", "<a href=/1 <a href=/2>x</a><a href='/3>y<a href=\"/4\"><!-- <a href=/c> -->"
                   "<![CDATA[<a href=/cd>]]><a href=/5"),
        ("deep-nesting", "<div>" * 700 + "<a href=/deep>d</a>" + "</div>" * 700),
        ("deep-inline", "<b><i>" * 300 + "<a href=/in>i</a>"),
        ("table", "<table><tr><td><a href=/t1>1</a><td><a href=/t2>2</a></table>"
                  "<form action=/f><a href=/in-form>f</a></form>"),
        ("ipv6-and-ports", "<a href='http://[::1]:80/'>v6</a><a href='https://h.example:443/'>p</a>"
                           "<a href='http://h.example:8080/'>q</a>"),
        ("many-duplicates", "".join(f"<a href='/p{i % 7}#f{i}'>x</a>" for i in range(40))),
        ("xhtml", "<?xml version='1.0'?><html xmlns='http://www.w3.org/1999/xhtml'><head>"
                  "<title>X</title></head><body><a href='x.xhtml'/></body></html>"),
    ]
    article = ROOT / "tests" / "data" / "html" / "article.html"
    if article.exists():
        pages.append(("article", article.read_bytes()))
    pages.append(("requisites",
                  "<link rel='stylesheet icon' href=s.css><style>@import 'i.css' screen;"
                  "@namespace x url(http://ns.example/); a{b:url( \"q\\\"u.png\" )}"
                  "c{d:u\\72l(e\\ .png) image-set('f.png' 1x, url(g.png) 2x)}/* url(no) */"
                  "h{i:url(bad url) url('broken\n')}</style>"
                  "<img src=a.png srcset='b.png 1x, c.png,, d.png 480w 2x, e,f.png 2.5x'>"
                  "<picture><source srcset='p.avif 1x, p2.avif 2x'></picture>"
                  "<video poster=v.jpg src=v.mp4><track src=t.vtt></video><object data=o.pdf>"
                  "<div style='background:url(#frag) , url(div.png)'></div>"
                  "<noscript><img src=ns.png></noscript><input type=IMAGE src=btn.png>"))
    for i, (name, html) in enumerate(pages):
        write("extract", f"{i:02d}-{name}.html", html)


# --- robots: body, NUL, targets one per line ---------------------------------------------------

def robots_corpus():
    by_body = {}
    for f in ("cases.json", "rfc9309_cases.json"):
        p = ROOT / "tests" / "data" / "robots" / f
        if not p.exists():
            continue
        for case in json.loads(p.read_text()):
            by_body.setdefault(case["body"], []).append(case["path"])
    n = 0
    for body, paths in by_body.items():
        seen = []
        for path in paths:
            if path not in seen:
                seen.append(path)
        write("robots", f"{n:02d}-case", body.encode("utf-8") + b"\0" +
              "\n".join(seen).encode("utf-8"))
        n += 1
    extra = [
        ("crlf-cr", b"User-agent: *\r\nDisallow: /private\rAllow: /private/ok\r\n"
                    b"Crawl-delay: 2.5\r\nSitemap: https://example.com/s.xml\0/private/x\n/private/ok/y"),
        ("wildcards", b"user-agent: trawler\ndisallow: /*.php$\ndisallow: /a*b*c\nallow: /*?\n"
                      b"disallow: /**/x$\0/index.php\n/index.php?x\n/aXbYc\n/q/x"),
        ("percent", b"User-Agent: *\nDisallow: /%7efoo\nDisallow: /%2A\nAllow: /\xe3\x83\x84\n"
                    b"Disallow: /a%2fb\0/~foo\n/*\n/%E3%83%84\n/a/b"),
        ("bom-comments", b"\xef\xbb\xbfuser-agent: * # all\ndisallow: /x # not /y\n#user-agent: t\n\0/x"),
        ("no-colon", b"user-agent trawler\ndisallow /\nuser-agent:*\ndisallow:/z\0/z\n/a"),
        ("crawl-delays", b"user-agent: trawler\ncrawl-delay: .5\ncrawl-delay: 10\ncrawl-delay: x\n"
                         b"crawl-delay: -3\ncrawl-delay: 1e9\n\0/"),
        ("empty", b""),
        ("only-sitemaps", b"Sitemap: /rel.xml\nsitemap:https://example.com/a.xml\nSITEMAP:   \n"),
        ("html-error-page", b"<html><body>404 Not Found</body></html>\0/"),
        ("long-line", b"user-agent: *\ndisallow: /" + b"a*" * 300 + b"$\n\0/" + b"a" * 600),
    ]
    for name, data in extra:
        write("robots", f"{n:02d}-{name}", data)
        n += 1


# --- config: YAML and JSON ---------------------------------------------------------------------

def config_corpus():
    n = 0
    import yaml
    for p in sorted((ROOT / "config").glob("*.yaml")):
        text = p.read_text()
        write("config", f"{n:02d}-{p.stem}.yaml", text)
        n += 1
        write("config", f"{n:02d}-{p.stem}.json", json.dumps(yaml.safe_load(text), indent=1))
        n += 1
    full = {
        "seeds": ["https://example.com/", "example.org"],
        "scope": {"mode": "domain", "include": ["^https://"], "exclude": [r"\.pdf$"],
                  "max_depth": 3, "max_pages": 100, "max_url_length": 1024},
        "limits": {"concurrency": 8, "per_host": 2, "delay_ms": 100, "connect_timeout_ms": 5000,
                   "timeout_ms": 20000, "max_redirects": 5, "max_tries": 2,
                   "max_retry_after_ms": 60000, "max_body_bytes": 1048576},
        "robots": {"obey": False, "user_agent": "trawler/9 (+https://x.example)",
                   "max_crawl_delay_ms": 1000},
        "fetch": {"headers": {"Accept-Language": "de", "X-Trace": "1"}, "tls_verify": False,
                  "accept_encoding": ["gzip", "br"], "follow_nofollow": True},
        "network": {"allow_private": True,
                    "resolve": {"Example.com:443": "127.0.0.1", "v6.example:80": "[::1]"}},
        "output": {"path": "out.jsonl", "fields": ["links", "title", "headers", "text",
                                                   "canonical", "meta_robots"]},
        "state": {"dir": "./state"},
        "api": {"listen": "[::1]:0", "token": "abc-DEF_123.~+/=", "data_dir": "/tmp/d"},
    }
    texts = [
        ("full.json", json.dumps(full)),
        ("full.yaml", yaml.safe_dump(full, sort_keys=False)),
        ("empty.yaml", ""),
        ("empty-object.json", "{}"),
        ("null.yaml", "~\n"),
        ("list-doc.yaml", "- a\n- b\n"),
        ("scalar-doc.json", "42"),
        ("unknown-key.yaml", "scope:\n  mode: host\n  colour: blue\nextra: 1\n"),
        ("wrong-types.yaml", "limits:\n  concurrency: fast\n  per_host: 2.5\n  delay_ms: '100'\n"
                             "robots:\n  obey: yes\n"),
        ("out-of-range.json", '{"limits":{"concurrency":0,"max_tries":-1,"max_body_bytes":'
                              '99999999999999999999},"scope":{"max_depth":1e400}}'),
        ("bad-regex.yaml", "scope:\n  include: ['(unclosed', '\\\\p{Greek}+', '(?<name>x)']\n"),
        ("forbidden-headers.yaml", "fetch:\n  headers:\n    User-Agent: x\n    Host: y\n"
                                   "    X-Ok: 'z'\n    Bad Name: v\n    X-Nl: \"a\\nb\"\n"),
        ("duplicate-keys.yaml", "limits:\n  concurrency: 1\n  concurrency: 2\n"),
        ("duplicate-keys.json", '{"limits":{"concurrency":1,"concurrency":2}}'),
        ("anchors.yaml", "base: &b\n  concurrency: 3\nlimits:\n  <<: *b\n  per_host: *b\n"),
        ("tags.yaml", "seeds: !!set {a, b}\nscope:\n  max_depth: !!str 3\n  mode: !custom host\n"),
        ("multi-doc.yaml", "seeds: [a]\n---\nseeds: [b]\n"),
        ("flow.yaml", "{seeds: [http://a.example/], limits: {concurrency: 2}}"),
        ("yaml-11-bools.yaml", "robots:\n  obey: on\nfetch:\n  tls_verify: No\n"
                               "network:\n  allow_private: TRUE\n"),
        ("numbers.yaml", "limits:\n  concurrency: 0x10\n  per_host: 0o7\n  delay_ms: 1_000\n"
                         "  timeout_ms: .inf\n  max_tries: -.nan\n"),
        ("resolve-forms.yaml", "network:\n  resolve:\n    'a.example:80': '::1'\n"
                               "    'B.example:0443': '10.0.0.1'\n    'bad': 'x'\n"
                               "    'c.example:99999': '1.2.3.4'\n"),
        ("listen-forms.yaml", "api:\n  listen: 'localhost:http'\n  token: 'has space'\n"),
        ("output-fields.yaml", "output:\n  fields: [links, links, bogus, TEXT]\n  path: ''\n"),
        ("tabs.yaml", "limits:\n\tconcurrency: 1\n"),
        ("invalid-utf8.yaml", b"seeds: ['http://\xff.example/']\nrobots:\n  user_agent: \"\xc3\"\n"),
        ("invalid-utf8.json", b'{"seeds":["\xed\xa0\x80"]}'),
        ("unicode-escapes.json", '{"robots":{"user_agent":"trawler\\u0000\\ud800"}}'),
        ("deep.json", "[" * 200 + "]" * 200),
        ("deep.yaml", "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 60))),
        ("comment-only.yaml", "# nothing here\n"),
        ("crlf.yaml", "seeds:\r\n  - https://example.com/\r\nscope:\r\n  mode: any\r\n"),
        ("null-values.json", '{"scope":null,"limits":{"concurrency":null},"seeds":null}'),
        ("brace-yaml.yaml", "{seeds: [x], }\n"),
    ]
    for name, text in texts:
        write("config", f"{n:02d}-{name}", text)
        n += 1


# --- http: raw responses -----------------------------------------------------------------------

def http_response(status_line, headers, body, chunked_sizes=None):
    head = status_line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    if chunked_sizes is None:
        return head.encode("latin-1") + b"\r\n" + body
    out = head.encode("latin-1") + b"\r\n"
    i = 0
    for size in chunked_sizes:
        piece = body[i:i + size]
        i += size
        if not piece:
            break
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    if i < len(body):
        out += b"%x\r\n" % (len(body) - i) + body[i:] + b"\r\n"
    return out + b"0\r\n\r\n"


def http_corpus():
    html = (b"<!doctype html><title>Hi</title>" + b"<a href=/x>x</a>" * 20)
    ok = "HTTP/1.1 200 OK"
    tx = ("Content-Type", "text/html; charset=UTF-8")

    def cl(body):
        return ("Content-Length", str(len(body)))

    g, d, zr, b = gz(html), zlib.compress(html), raw_deflate(html), brotli(html)
    bomb = gz(b"\0" * (3 * 1024 * 1024))
    br_bomb = brotli(b"A" * (2 * 1024 * 1024), 9)
    two_members = gz(html[:100]) + gz(html[100:])
    gzip_then_br = brotli(gz(html))
    items = [
        ("plain", http_response(ok, [tx, cl(html)], html)),
        ("chunked", http_response(ok, [tx, ("Transfer-Encoding", "chunked")], html, [7, 100, 1])),
        ("chunk-ext-trailer", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n"
                              b"5;name=val\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"),
        ("gzip", http_response(ok, [tx, ("Content-Encoding", "gzip"), cl(g)], g)),
        ("x-gzip-chunked", http_response(ok, [("Content-Encoding", "X-GZIP"),
                                              ("Transfer-Encoding", "chunked")], g, [3, 50])),
        ("deflate-zlib", http_response(ok, [("Content-Encoding", "deflate"), cl(d)], d)),
        ("deflate-raw", http_response(ok, [("Content-Encoding", "deflate"), cl(zr)], zr)),
        ("br", http_response(ok, [("Content-Encoding", "br"), cl(b)], b)),
        ("gzip-then-br", http_response(ok, [("Content-Encoding", "gzip, br"), cl(gzip_then_br)],
                                       gzip_then_br)),
        ("identity-list", http_response(ok, [("Content-Encoding", " , identity,,"), cl(html)], html)),
        ("gzip-two-members", http_response(ok, [("Content-Encoding", "gzip"), cl(two_members)],
                                           two_members)),
        ("gzip-bomb", http_response(ok, [("Content-Encoding", "gzip"), cl(bomb)], bomb)),
        ("br-bomb", http_response(ok, [("Content-Encoding", "br"),
                                       ("Transfer-Encoding", "chunked")], br_bomb, [64])),
        ("gzip-truncated", http_response(ok, [("Content-Encoding", "gzip")], g[: len(g) // 2])),
        ("gzip-corrupt", http_response(ok, [("Content-Encoding", "gzip"), cl(g)],
                                       g[:20] + b"\xff\xff\xff" + g[23:])),
        ("gzip-trailing-garbage", http_response(ok, [("Content-Encoding", "gzip")],
                                                g + b"garbage")),
        ("unknown-coding", http_response(ok, [("Content-Encoding", "compress"), cl(html)], html)),
        ("too-many-codings", http_response(ok, [("Content-Encoding", "gzip,gzip,gzip,gzip,gzip")],
                                           gz(gz(gz(gz(gz(b"x"))))))),
        ("empty-gzip-body", b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 0\r\n\r\n"),
        ("no-content", b"HTTP/1.1 204 No Content\r\nContent-Encoding: br\r\n\r\n"),
        ("not-modified", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n"),
        ("redirect", b"HTTP/1.1 301 Moved Permanently\r\nLocation: /new?x=1\r\nContent-Length: 0\r\n\r\n"),
        ("continue-then-ok", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        ("http10-eof", b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the connection closes"),
        ("http11-close", b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody to eof"),
        ("past-content-length", b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcEXTRA BYTES"),
        ("short-body", b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"),
        ("two-lengths", b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"),
        ("length-and-chunked", b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked"
                               b"\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
        ("obs-fold", b"HTTP/1.1 200 OK\r\nX-Long: a\r\n  folded\r\nContent-Length: 1\r\n\r\nx"),
        ("bare-lf", b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok"),
        ("big-header", b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n"),
        ("many-headers", b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: %d\r\n" % (i, i) for i in range(300))
                         + b"Content-Length: 0\r\n\r\n"),
        # Just over the 8 KiB limit of the http target: Beast enforces it only roughly.
        ("header-near-limit", b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: %d\r\n" % (i, i)
                                                                 for i in range(700))
                              + b"Content-Length: 0\r\n\r\n"),
        ("status-odd", b"HTTP/1.1 999 Whatever \xff\r\nContent-Length: 0\r\n\r\n"),
        ("bad-status", b"HTTP/1.1 20 OK\r\n\r\n"),
        ("content-types", b"HTTP/1.1 200 OK\r\nContent-Type: Text/HTML ; Charset=\"ISO-8859-1\" ; "
                          b"q=1\r\nContent-Length: 0\r\n\r\n"),
        ("retry-after", b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 120\r\n"
                        b"Content-Length: 4\r\n\r\nbusy"),
        ("empty", b""),
        ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
    ]
    for i, (name, data) in enumerate(items):
        write("http", f"{i:02d}-{name}", data)


# --- record: NUL-separated fields --------------------------------------------------------------

def record_corpus():
    def rec(*parts):
        return b"\0".join(p.encode("utf-8") if isinstance(p, str) else p for p in parts)

    items = [
        ("page", rec("https://example.com/", "", "https://example.com/from", "",
                     "text/html; charset=UTF-8", "Hello", "Some text", "https://example.com/c",
                     "https://example.com/a", "Content-Type:text/html", "!noindex")),
        ("redirect", rec("http://example.com/old", "https://example.com/new", "", "",
                         "", "")),
        ("error", rec("https://down.example/", "", "", "connect: Connection refused\n(after 3)")),
        ("escapes", rec("https://e.example/\"q\"\\b", "", "", "tab\tcr\rff\fnul",
                        "TEXT/Plain", "ti\x01tle\x1f\x7f", "line\nbreak", "")),
        ("invalid-utf8", rec(b"https://x.example/\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
                             b"text/html; charset=\xe9", b"\xe0\x80\xaf", b"\xf0\x9f\x98", b"ok")),
        ("emoji", rec("https://x.example/😀", "", "", "", "", "Ünïcödé ツ 😀", "\u2028\u2029", "")),
        ("headers-repeated", rec("https://h.example/", "", "", "", "", "", "", "",
                                 "Set-Cookie:a=1", "set-cookie:b=2", "SET-COOKIE:c=3",
                                 "X-Empty:", "Via:1.1 proxy", b"X-Bin:\xff\xfe")),
        ("many-links", rec("https://l.example/", "", "", "", "", "", "", "",
                           *[f"https://l.example/p{i}" for i in range(30)])),
        ("charset-params", rec("https://c.example/", "", "", "", "text/html;charset=\"utf-8\";"
                               "charset=latin1", "", "", "")),
        ("charset-empty", rec("https://c.example/", "", "", "", "text/html; charset=", "")),
        ("media-type-spaces", rec("https://c.example/", "", "", "", "  Application/XHTML+XML  ;x=y")),
        ("only-url", rec("https://only.example/")),
        ("empty", b""),
    ]
    for i, (name, data) in enumerate(items):
        write("record", f"{i:02d}-{name}", data)


def clear_own_files():
    """Removes the files an earlier run wrote ("NN-name"), so renumbered seeds leave no copies."""
    if not CORPUS.exists():
        return
    for d in CORPUS.iterdir():
        for f in d.iterdir():
            if re.match(r"^[0-9][0-9]-", f.name):
                f.unlink()


if __name__ == "__main__":
    clear_own_files()
    url_corpus()
    extract_corpus()
    robots_corpus()
    config_corpus()
    http_corpus()
    record_corpus()
    for t in sorted(os.listdir(CORPUS)):
        print(t, len(os.listdir(CORPUS / t)), "files")
