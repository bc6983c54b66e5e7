"""The command line as curl reads it (client/cli/options.c, config_file.c): bundled
letters, a value attached to its letter, options after the URL, "--", --no-NAME,
-K config files in each of curl's syntaxes (and -K -), a URL without a scheme. Each
case runs guise and curl (Debian's, installed) with the same words against one
loopback server and compares what the server received (method, path, body) and
the exit status: curl is the reference, not guise's own output. Then guise's
refusals: exit 2 (curl's for a bad option) with a message naming the option, and
FILE:LINE for a config file. Usage: test_cli_parse.py GUISE"""
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import QuietHandler, check, finish

GUISE = sys.argv[1]
CURL = shutil.which("curl")
seen = []  # (method, path, body) per request, in order
lock = threading.Lock()


class Handler(QuietHandler):
    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        with lock:
            seen.append((self.command, self.path, body))
        if self.path.startswith("/redirect"):
            self.reply(302, b"moved", [("Location", "/target")])
        else:
            self.reply(200, b"hello " + self.path.encode())

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any


def run(prog, args, stdin=None):
    with lock:
        seen.clear()
    p = subprocess.run([prog, *args], capture_output=True, timeout=20,
                       input=stdin if stdin is not None else b"")
    with lock:
        got = list(seen)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace"), got


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
port = srv.server_address[1]
U = f"http://127.0.0.1:{port}"
threading.Thread(target=srv.serve_forever, daemon=True).start()
tmp = tempfile.mkdtemp(prefix="guise-cli-parse-")
try:
    def conf(name, text):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    # The same words for guise and curl: the server must see the same requests.
    cases = [
        ("bundled flags and -XPUT attached", ["-sLXPUT", "-d", "abc", f"{U}/a"]),
        ("options after the URL", [f"{U}/b", "-XPATCH", "-s", "--data-binary", "x y"]),
        ("a value-taking letter last takes the next word", ["-sLX", "DELETE", f"{U}/d"]),
        ("-- ends the options", ["-s", "-X", "PUT", "--", f"{U}/e"]),
        ("a URL without a scheme is http://", ["-s", f"127.0.0.1:{port}/f?q=1"]),
        ("-L then --no-location: not followed", ["-s", "-L", "--no-location", f"{U}/redirect"]),
        ("-L followed", ["-sL", f"{U}/redirect"]),
        ("-K: name = value, name: value, name value, --name value, -x value, quotes, comments",
         ["-K", conf("a.conf",
                     "# curl's -K syntax\n"
                     f'url = "127.0.0.1:{port}/g"\n'
                     "request: PUT\n"
                     'data "a \\"quoted\\" b\\tc"\n'
                     "  --silent\n"
                     "-H \"X-A: 1\"   # a comment after the value\n")]),
        ("-K at its place: a later option wins", ["-K", conf("b.conf", "request = PUT\nsilent\n"),
                                                  "-X", "PATCH", f"{U}/h"]),
        ("-K - reads standard input", ["-K", "-"], f"url = {U}/i\nsilent\ndata = x\n".encode()),
        ("--url", ["-s", "--url", f"{U}/j"]),
    ]
    for what, args, *stdin in cases:
        stdin = stdin[0] if stdin else None
        grc, gout, gerr, gseen = run(GUISE, args, stdin)
        crc, cout, cerr, cseen = run(CURL, args, stdin)
        check(f"{what}: guise's requests are curl's ({cseen})",
              grc == crc == 0 and gseen == cseen and len(cseen) >= 1,
              f"guise rc={grc} {gseen} {gerr!r}; curl rc={crc} {cseen} {cerr!r}")

    # -oFILE: the value attached to its letter, at the end of a bundle.
    outs = []
    for prog in (GUISE, CURL):
        out = os.path.join(tmp, f"out-{len(outs)}")
        rc, _, err, got = run(prog, ["-sLo" + out, f"{U}/c"])
        with open(out, "rb") as f:
            outs.append((rc, got, f.read()))
    check("-sLoFILE: the body in FILE as curl writes it", outs[0] == outs[1] == (0, [("GET", "/c", b"")], b"hello /c"),
          outs)

    # guise's own extension (getopt_long's; curl refuses it as unknown).
    rc, out, err, got = run(GUISE, ["--request=PUT", "--data=v", "-s", f"{U}/k"])
    check("--name=value", rc == 0 and got == [("PUT", "/k", b"v")], f"rc={rc} {got} {err!r}")

    # Refusals: exit 2 like curl's for a bad option; one line naming what is wrong.
    def refused(what, args, want, stdin=None):
        rc, out, err, got = run(GUISE, args, stdin)
        check(f"{what}: exit 2, {want!r}", rc == 2 and err == want + "\n" and not got,
              f"rc={rc} stderr={err!r} requests={got}")

    rc, _, _, _ = run(CURL, ["--bogus", f"{U}/x"])
    check("curl's exit status for an unknown option is 2", rc == 2, rc)
    refused("unknown option", ["--bogus", f"{U}/x"], "guise: option --bogus: is unknown (guise --help all)")
    refused("a typo gets the nearest option", ["--locaton", f"{U}/x"],
            "guise: option --locaton: is unknown, did you mean --location? (guise --help all)")
    refused("an unknown letter in a bundle", ["-sW", f"{U}/x"],
            "guise: option -sW: -W is unknown (guise --help all)")
    refused("--no- of an option that is not a boolean", ["--no-request", f"{U}/x"],
            "guise: option --no-request: used '--no-' for an option that is not a boolean")
    refused("a flag given a value", ["--silent=yes", f"{U}/x"], "guise: --silent 'yes': takes no value")
    refused("a letter without its value", [f"{U}/x", "-sX"], "guise: -X needs a value")
    rc, _, _, _ = run(CURL, ["-", f"{U}/x"])
    check("curl refuses '-' alone with exit 2", rc == 2, rc)
    refused("'-' alone is no URL (curl's 'option -: is unknown')", ["-", f"{U}/x"],
            "guise: option -: is unknown (guise --help all)")
    bad = conf("bad1.conf", "silent\nuser-agent = \"open\n")
    refused("config: an unterminated quote names FILE:LINE", ["-K", bad, f"{U}/x"],
            f"guise: {bad}:2: the value's double quote is not closed")
    bad = conf("bad2.conf", "# ok\n\nmax-time = nan\n")
    refused("config: a bad value names FILE:LINE and the option", ["-K", bad, f"{U}/x"],
            f"guise: {bad}:3: --max-time nan: expected a number from 0.001 to 86400")
    bad = conf("bad3.conf", "locaton\n")
    refused("config: an unknown option names FILE:LINE", ["-K", bad, f"{U}/x"],
            f"guise: {bad}:1: option --locaton: is unknown, did you mean --location? (guise --help all)")
    bad = conf("bad4.conf", "user-agent = Mozilla/5.0 (X11)\n")
    refused("config: an unquoted value with white space (curl warns and cuts it)", ["-K", bad, f"{U}/x"],
            f"guise: {bad}:1: the value has white space in it: put it in double quotes")
    refused("config: a missing file", ["-K", os.path.join(tmp, "none.conf"), f"{U}/x"],
            f"guise: -K {os.path.join(tmp, 'none.conf')}: No such file or directory")
    refused("config from stdin: FILE is -", ["-K", "-", f"{U}/x"], "guise: -:1: option --bogus: is unknown (guise --help all)",
            b"bogus\n")
    loop = os.path.join(tmp, "loop.conf")
    conf("loop.conf", f'config = "{loop}"\n')
    rc, _, err, got = run(GUISE, ["-K", loop, f"{U}/x"])
    check("config: a file that includes itself ends with exit 2", rc == 2 and "inside each other" in err and not got,
          f"rc={rc} {err!r}")
    big = conf("big.conf", "# x\n" * (5 << 18))  # 5 MiB of comments
    refused("config: over 4 MiB", ["-K", big, f"{U}/x"],
            f"guise: -K {big}: larger than 4194304 bytes (a config file holds options)")
    # guise batch reads -K too, and refuses what it does not take.
    bad = conf("batch.conf", "workers = 0\n")
    refused("guise batch -K: a bad value names FILE:LINE", ["batch", "-K", bad, "/dev/null"],
            f"guise batch: {bad}:1: --workers 0: expected a whole number from 1 to 256")
finally:
    srv.shutdown()
    srv.server_close()
    shutil.rmtree(tmp, ignore_errors=True)
finish()
