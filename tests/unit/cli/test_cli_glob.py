#!/usr/bin/env python3
"""URL globbing of guise URL against Debian's curl 7.88 (client/cli/fetch_glob.c).
Each pattern runs through both tools against one loopback server, in the same run:
the exit status and the URLs made (-w '%{url}') must be curl's. Then the caps guise
has and curl has not (1,000 values in a set, 10 sets, 1,000 URLs): exit 3 before
any request, the position named.

Before the parser moved to a CBS (this test's first version), guise took `{}` as
one empty value, `{a,[1-2]}` as a literal `[1-2]`, `[1-3:99]` as one URL, kept the
backslash of `{a\\,b}` and refused `{a\\}b,c}`.

usage: test_cli_glob.py GUISE
"""
import os
import shutil
import subprocess
import sys
import threading
from http.server import ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import QuietHandler, check, finish  # noqa: E402

GUISE = os.path.abspath(sys.argv[1])
CURL = shutil.which("curl")
requests = []
lock = threading.Lock()

# Taken by curl 7.88.
TAKEN = [r"{a,b,c}", r"{a\,b,c}", r"{a\}b,c}", r"{a\x,b}", r"{a\[,b}", r"{a,}", r"[001-3]", r"[1-003]",
         r"[08-10]", r"[00-2]", r"x\[1\]", r"[1-2:+1]", r"[1-1:1]", r"[a-a:1]", r"[A-C]", r"[a-e:2]",
         r"{a,b}[a-c:2]", r"[1-5:2]x", r"{a,b}{c,d}"]
# Refused by curl 7.88, exit 3.
REFUSED = [r"{}", r"{a,[1-2]}", r"{a,{b}}", r"[1-3:99]", r"[1-3:3]", r"[1-1:2]", r"{a,b]", r"a}", r"b]",
           r"[1-2", r"{a,b", r"[1-2:0]", r"[1-2:]", r"[-1-3]", r"[ 1-3]", r"[+1-2]", r"[1-+2]", r"[a-C]",
           r"[a-1]", r"[1-2\]", r"{a,b\}", r"[1x-2]", r"[1-2:1x]", r"[1-99999999999999999999]",
           r"[1-4000000000][1-4000000000][1-4000000000]"]


class Handler(QuietHandler):
    def do_GET(self):
        with lock:
            requests.append(self.path)
        self.reply(200, b"ok\n")


def run(tool, url):
    with lock:
        requests.clear()
    r = subprocess.run([tool, "-s", "-o", os.devnull, "-w", "%{url}\n", url], capture_output=True, timeout=60)
    with lock:
        n = len(requests)
    return r.returncode, r.stdout.decode(errors="replace").splitlines(), n, r.stderr.decode(errors="replace")


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_address[1]}/"
    try:
        for p in TAKEN + REFUSED:
            g, c = run(GUISE, base + p), run(CURL, base + p)
            expect = "taken" if p in TAKEN else "refused"
            check(f"{p!r} {expect}: exit {c[0]} and the {len(c[1])} URL(s) curl makes",
                  g[0] == c[0] and g[1] == c[1] and (c[0] == 0) == (p in TAKEN), (g, c[:3]))
        # guise's own caps: exit 3 before any request, with the reason.
        for p, why in ((r"[1-1001]", "more than 1000 values in a range at"),
                       ("{" + ",".join(str(i) for i in range(1001)) + "}", "more than 1000 values in a set at"),
                       ("{a,b}" * 11, "more than 10 sets at"),
                       (r"[1-100][1-11]", "more than 1000 URLs")):
            rc, urls, n, err = run(GUISE, base + p)
            check(f"{p[:30]!r}: exit 3 '{why}', no request", rc == 3 and why in err and n == 0, (rc, err, n))
        # An IPv6 literal is not a set.
        rc, urls, n, err = run(GUISE, f"http://[::1]:{srv.server_address[1]}/{{a,b}}")
        check("http://[::1]:PORT/{a,b}: two URLs, the address kept", urls == [
            f"http://[::1]:{srv.server_address[1]}/a", f"http://[::1]:{srv.server_address[1]}/b"], (rc, urls, err))
    finally:
        srv.shutdown()
        srv.server_close()
    finish()


if __name__ == "__main__":
    main()
