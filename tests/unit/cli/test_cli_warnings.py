#!/usr/bin/env python3
"""What the command says on stderr when the library warns, and that a write to a
closed peer does not end it.

- `guise URL --profile FILE` with a hand-made incoherent profile
  (tests/data/profiles_incoherent, whose README says which two fields disagree):
  the library's coherence warning (GUISE_LOG_WARN at request time) reaches stderr
  once, naming the profile (before: no log callback, nothing said); `-s` hides it,
  `-s -v` shows it; a shipped profile gives none; a cookie file's warning is still
  printed once (it reaches the command through two callbacks).
- `guise profile check NAME` whose standard output is a pipe nobody reads: the
  write fails (EPIPE) and is reported, exit 1 (before: SIGPIPE was not ignored,
  so the command died of it, as a write to a client that closed mid-answer would
  kill the in-process observer).

usage: test_cli_warnings.py GUISE
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from http.server import ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import QuietHandler, check, finish  # noqa: E402

GUISE = os.path.abspath(sys.argv[1])
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data")
BAD = os.path.join(DATA, "profiles_incoherent", "firefox-with-sec-ch-ua.json")


class Handler(QuietHandler):
    def do_GET(self):
        self.reply(200, b"ok\n")


def guise(*args):
    r = subprocess.run([GUISE, *args], capture_output=True, timeout=30)
    return r.returncode, r.stderr.decode(errors="replace")


def warnings(err, word):
    return [ln for ln in err.splitlines() if ln.startswith("guise: warning:") and word in ln]


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/"
    d = tempfile.mkdtemp(prefix="guise-warn-")
    try:
        rc, err = guise("--profile", BAD, "-o", os.devnull, "-o", os.devnull, url, url + "b")
        w = warnings(err, '"incoherent-firefox-with-sec-ch-ua"')
        check("incoherent profile: one warning on stderr naming the profile, user-agent and sec-ch-ua",
              rc == 0 and len(w) == 1 and "user-agent" in w[0] and "sec-ch-ua" in w[0], (rc, err))
        rc, err = guise("-s", "--profile", BAD, "-o", os.devnull, url)
        check("incoherent profile with -s: nothing on stderr", rc == 0 and err == "", (rc, err))
        rc, err = guise("-s", "-v", "--profile", BAD, "-o", os.devnull, url)
        check("incoherent profile with -s -v: the warning", rc == 0 and len(warnings(err, "incoherent-")) == 1,
              (rc, err))
        rc, err = guise("--profile", "chrome", "-o", os.devnull, url)
        check("a shipped profile: no warning", rc == 0 and "warning" not in err, (rc, err))
        jar = os.path.join(d, "jar")
        with open(jar, "w") as f:
            f.write(".com\tTRUE\t/\tFALSE\t0\ta\tb\n")
        rc, err = guise("-b", jar, "-o", os.devnull, url)
        check("a cookie file's skipped line: its warning once", rc == 0 and len(warnings(err, "cookie file")) == 1,
              (rc, err))
        # profile check with a standard output nobody reads.
        r, w = os.pipe()
        os.close(r)
        try:
            p = subprocess.run([GUISE, "profile", "check", "chrome"], stdout=w, stderr=subprocess.PIPE, timeout=60)
        finally:
            os.close(w)
        err = p.stderr.decode(errors="replace")
        check("profile check, stdout closed: not killed by SIGPIPE", p.returncode != -signal.SIGPIPE, p.returncode)
        check("profile check, stdout closed: exit 1 saying it cannot write standard output",
              p.returncode == 1 and "standard output" in err, (p.returncode, err))
    finally:
        srv.shutdown()
        srv.server_close()
        shutil.rmtree(d, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
