#!/usr/bin/env python3
"""Files guise writes (docs/CLI.md, "Files guise writes"), against a server on
loopback: the cookie jar (-c), -o, --stats-json, batch -o, --body-dir, profile
import -o.

- A symlink planted at the name the jar's temp file used to have
  (<jar>.tmp<pid>: the pid is known here because `sh -c '...; exec guise'` keeps
  the shell's pid) is not followed; the jar is created 0600 and keeps a mode the
  user gave it.
- -o FILE: a failed request (nothing listening, a body cut short) leaves the old
  FILE as it was; a good one replaces it; /dev/null and a symlink to a file work.
- guise batch refuses to write its records to its input (same file by name, by a
  symlink, by a hard link, through stdin/stdout), exit 2, the input untouched.
- --body-dir: a symlink planted at a body file's name is replaced, its target
  untouched; a failed job leaves no body file.
- Nothing is left behind: no temp files in the folders.
- -o FILE in a folder where no temp file can be made (made immutable with chattr
  as root): FILE, writable, is written in place, as curl does.

usage: test_files.py GUISE
"""
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GUISE = sys.argv[1]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, finish, free_port  # noqa: E402


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path == "/cut":
            # announces 1000 bytes, sends 10, closes: the transfer fails
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            self.close_connection = True
            return
        body = b"NEW " + self.path.encode()
        self.send_response(200)
        if self.path == "/set":
            self.send_header("Set-Cookie", "sess=s3cret; Path=/; Max-Age=3600")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def mode(p):
    return stat.S_IMODE(os.lstat(p).st_mode)


def leftovers(d, keep):
    return sorted(set(os.listdir(d)) - set(keep))


os.umask(0o022)  # what "created 0600 / 0644" below is measured against
srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
threading.Thread(target=srv.serve_forever, daemon=True).start()
base = f"http://127.0.0.1:{srv.server_address[1]}"
tmp = tempfile.mkdtemp(prefix="guise-files-")
try:
    # ---- (3) the cookie jar -------------------------------------------------------
    d = f"{tmp}/jar"
    os.mkdir(d)
    jar, victim = f"{d}/jar.txt", f"{d}/victim.txt"
    with open(victim, "w") as f:
        f.write("VICTIM\n")
    # The old temp name was "<jar>.tmp<pid>": plant a symlink there for the pid
    # guise will have (exec keeps the shell's).
    r = subprocess.run(["sh", "-c", 'ln -s "$1" "$2.tmp$$" && exec "$3" --profile none -s -c "$2" "$4"',
                        "sh", victim, jar, GUISE, f"{base}/set"], capture_output=True, timeout=30)
    planted = [n for n in os.listdir(d) if n.startswith("jar.txt.tmp")]
    check("-c with a symlink planted at <jar>.tmp<pid>: exit 0", r.returncode == 0, (r.returncode, r.stderr))
    check("the planted symlink's target is untouched", open(victim).read() == "VICTIM\n", open(victim).read())
    check("the planted symlink is still there, still a symlink",
          len(planted) == 1 and os.path.islink(f"{d}/{planted[0]}"), planted)
    check("the jar is a regular file with the cookie", os.path.isfile(jar) and not os.path.islink(jar) and
          "s3cret" in open(jar).read(), os.listdir(d))
    check("a new jar is created 0600 (cookies are credentials), umask 022", mode(jar) == 0o600, oct(mode(jar)))
    os.chmod(jar, 0o640)
    r = subprocess.run([GUISE, "--profile", "none", "-s", "-b", jar, "-c", jar, f"{base}/set"],
                       capture_output=True, timeout=30)
    check("an existing jar keeps the mode it had (0640)", r.returncode == 0 and mode(jar) == 0o640, oct(mode(jar)))
    os.chmod(jar, 0o600)
    r = subprocess.run([GUISE, "--profile", "none", "-s", "-b", jar, "-c", jar, f"{base}/set"],
                       capture_output=True, timeout=30)
    check("a jar the user made 0600 stays 0600", r.returncode == 0 and mode(jar) == 0o600, oct(mode(jar)))
    check("no temp file left beside the jar", leftovers(d, ["jar.txt", "victim.txt"] + planted) == [],
          os.listdir(d))

    # ---- (5) -o FILE --------------------------------------------------------------
    d = f"{tmp}/out"
    os.mkdir(d)
    out = f"{d}/page.html"
    with open(out, "w") as f:
        f.write("OLD CONTENT\n")
    dead = free_port()
    r = subprocess.run([GUISE, "--profile", "none", "-s", "-o", out, f"http://127.0.0.1:{dead}/"],
                       capture_output=True, timeout=30)
    check("-o with nothing listening: the request fails (exit 7)", r.returncode == 7, (r.returncode, r.stderr))
    check("-o: the old file is kept when the request failed", open(out).read() == "OLD CONTENT\n",
          open(out).read())
    r = subprocess.run([GUISE, "--profile", "none", "-s", "-o", out, f"{base}/cut"], capture_output=True, timeout=30)
    check("-o with a body cut short: the request fails", r.returncode != 0, (r.returncode, r.stderr))
    check("-o: the old file is kept when the body was cut short", open(out).read() == "OLD CONTENT\n",
          open(out).read())
    os.chmod(out, 0o604)
    r = subprocess.run([GUISE, "--profile", "none", "-s", "-o", out, f"{base}/a"], capture_output=True, timeout=30)
    check("-o: a good request replaces the file, its mode kept",
          r.returncode == 0 and open(out).read() == "NEW /a" and mode(out) == 0o604, (r.returncode, mode(out)))
    r = subprocess.run([GUISE, "--profile", "none", "-s", "-o", f"{d}/new.html", f"{base}/b"],
                       capture_output=True, timeout=30)
    check("-o: a new file gets 0666 less the umask (0644)",
          r.returncode == 0 and mode(f"{d}/new.html") == 0o644, oct(mode(f"{d}/new.html")))
    os.symlink("page.html", f"{d}/link.html")
    r = subprocess.run([GUISE, "--profile", "none", "-s", "-o", f"{d}/link.html", f"{base}/c"],
                       capture_output=True, timeout=30)
    check("-o to a symlink: its target is written, the link kept",
          r.returncode == 0 and os.path.islink(f"{d}/link.html") and open(out).read() == "NEW /c", os.listdir(d))
    r = subprocess.run([GUISE, "--profile", "none", "-s", "-o", os.devnull, f"{base}/d"],
                       capture_output=True, timeout=30)
    check("-o /dev/null works (written in place) and /dev/null stays a device",
          r.returncode == 0 and stat.S_ISCHR(os.stat(os.devnull).st_mode), (r.returncode, r.stderr))
    longname = "n" * 250
    r = subprocess.run([GUISE, "--profile", "none", "-s", "-o", f"{d}/{longname}", f"{base}/e"],
                       capture_output=True, timeout=30)
    check("-o to a 250-byte file name works (the temp name fits NAME_MAX)",
          r.returncode == 0 and open(f"{d}/{longname}").read() == "NEW /e", (r.returncode, r.stderr))
    check("no temp file left beside -o", leftovers(d, ["page.html", "new.html", "link.html", longname]) == [],
          os.listdir(d))

    # ---- (4) batch: input and output the same file ----------------------------------
    d = f"{tmp}/batch"
    os.mkdir(d)
    jobs = f"{d}/jobs.jsonl"
    text = "".join(f'{{"id":"j{i}","url":"{base}/j{i}"}}\n' for i in range(3))
    with open(jobs, "w") as f:
        f.write(text)
    os.symlink("jobs.jsonl", f"{d}/sym.jsonl")
    os.link(jobs, f"{d}/hard.jsonl")
    for what, args, kw in [
            ("-o the input", [jobs, "-o", jobs], {}),
            ("-o the input with --resume", [jobs, "-o", jobs, "--resume"], {}),
            ("-o a symlink to the input", [jobs, "-o", f"{d}/sym.jsonl"], {}),
            ("-o a hard link of the input", [f"{d}/hard.jsonl", "-o", jobs], {}),
            ("stdin and -o the same file", ["-o", jobs], {"stdin": jobs}),
            ("stdout appended to the input", [jobs], {"stdout": jobs})]:
        fin = open(kw["stdin"]) if "stdin" in kw else subprocess.DEVNULL
        fout = open(kw["stdout"], "a") if "stdout" in kw else subprocess.PIPE
        try:
            r = subprocess.run([GUISE, "batch", "--profile", "none", "--progress", "never", *args], stdin=fin,
                               stdout=fout, stderr=subprocess.PIPE, timeout=30)
        finally:
            if fin is not subprocess.DEVNULL:
                fin.close()
            if fout is not subprocess.PIPE:
                fout.close()
        check(f"batch {what}: refused, exit 2, a message saying so", r.returncode == 2 and b"same file" in r.stderr,
              (r.returncode, r.stderr))
        check(f"batch {what}: the input is untouched", open(jobs).read() == text, open(jobs).read()[:300])
    r = subprocess.run([GUISE, "batch", "--profile", "none", "--progress", "never", jobs, "-o", f"{d}/rec.jsonl",
                        "--stats-json", f"{d}/stats.json"], capture_output=True, timeout=60)
    recs = [json.loads(x) for x in open(f"{d}/rec.jsonl")] if os.path.exists(f"{d}/rec.jsonl") else []
    check("batch to another file runs every job", r.returncode == 0 and len(recs) == 3, (r.returncode, r.stderr))
    st = json.load(open(f"{d}/stats.json")) if os.path.exists(f"{d}/stats.json") else {}
    check("--stats-json written whole, 0644", st.get("done") == 3 and mode(f"{d}/stats.json") == 0o644, st)

    # ---- --body-dir -----------------------------------------------------------------
    bd = f"{tmp}/bodies"
    os.mkdir(bd)
    one = f"{d}/one.jsonl"
    with open(one, "w") as f:
        f.write(f'{{"id":"page","url":"{base}/page"}}\n{{"id":"gone","url":"http://127.0.0.1:{dead}/"}}\n')
    run = [GUISE, "batch", "--profile", "none", "--progress", "never", "--retries", "0", "--body-dir", bd, one]
    r = subprocess.run(run, capture_output=True, timeout=60)
    recs = {x["id"]: x for x in map(json.loads, r.stdout.decode().splitlines())}
    name = recs.get("page", {}).get("body_file", "")
    check("--body-dir: the body in its file, 0644", name.startswith(bd + "/") and open(name).read() == "NEW /page"
          and mode(name) == 0o644, (recs, r.stderr))
    check("--body-dir: a failed job leaves no body file and no temp file",
          recs.get("gone", {}).get("error") and os.listdir(bd) == [os.path.basename(name)], os.listdir(bd))
    # The name is a function of the id: plant a symlink there, run again.
    bvictim = f"{tmp}/body-victim.txt"
    with open(bvictim, "w") as f:
        f.write("VICTIM\n")
    os.unlink(name)
    os.symlink(bvictim, name)
    r = subprocess.run(run, capture_output=True, timeout=60)
    check("--body-dir with a symlink planted at the body's name: its target is untouched",
          open(bvictim).read() == "VICTIM\n", open(bvictim).read()[:100])
    check("... and the body file replaces the symlink",
          not os.path.islink(name) and open(name).read() == "NEW /page", os.listdir(bd))

    # ---- profile import -o ----------------------------------------------------------
    pd = f"{tmp}/prof"
    os.mkdir(pd)
    pout = f"{pd}/p.json"
    with open(pout, "w") as f:
        f.write("OLD\n")
    r = subprocess.run([GUISE, "profile", "import", "--ja3",
                        "771,4865-4866,0-23-65281-10-11-35-16-5-13-18-51-45-43-27-17513,29-23-24,0",
                        "--akamai", "1:65536;2:0;4:6291456;6:262144|15663105|0|m,a,s,p", "x", "-o", pout],
                       capture_output=True, timeout=30)
    try:
        got = json.load(open(pout)).get("name")
    except ValueError:
        got = None
    check("profile import -o: the file replaced whole by the profile, no temp file left",
          r.returncode == 0 and got == "x" and leftovers(pd, ["p.json"]) == [], (r.returncode, r.stderr[-300:]))
    r = subprocess.run([GUISE, "profile", "import", "--ja3", "771,bad", "--akamai", "x", "y", "-o", pout],
                       capture_output=True, timeout=30)
    check("profile import -o: a refused import leaves the file as it was",
          r.returncode != 0 and json.load(open(pout)).get("name") == "x", (r.returncode, r.stderr[-300:]))

    # ---- -o in a folder where no temp file can be made: FILE written in place ------
    # As root, modes do not stop us: the folder is made immutable (chattr +i: EPERM
    # for a new name, its files still writable). Without chattr, the command runs
    # as nobody in a folder it may not write, the file its own.
    ro = os.path.join(tmp, "ro")
    os.mkdir(ro)
    old = b"OLD CONTENT, LONGER THAN THE NEW BODY\n"
    target = os.path.join(ro, "out.txt")

    def reset():
        with open(target, "wb") as f:
            f.write(old)

    reset()
    how = None
    if os.geteuid() != 0:
        os.chmod(ro, 0o555)
        how = []
    elif shutil.which("chattr") and subprocess.run(["chattr", "+i", ro], capture_output=True).returncode == 0:
        how = []
    elif shutil.which("setpriv"):
        os.chmod(tmp, 0o755)
        os.chmod(ro, 0o755)
        os.chmod(target, 0o666)
        how = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--init-groups"]
    try:
        if how is None:
            print("skipped: -o in a read-only folder (no chattr, no setpriv: cannot make one as root)")
        else:
            def run_o(url, name=target):
                return subprocess.run([*how, GUISE, "--profile", "none", "-s", "-o", name, url],
                                      capture_output=True, timeout=30)
            if not how:  # the folder must refuse a new name to us too
                probe = os.path.join(ro, "probe")
                try:
                    open(probe, "w").close()
                    os.unlink(probe)
                    writable = True
                except OSError:
                    writable = False
                check("the read-only folder is one (no new name can be made in it)", not writable)
            r = run_o(f"{base}/inplace")
            check("-o FILE in a folder with no room for a temp file: FILE written in place, cut to the body "
                  "(exit 0)", r.returncode == 0 and open(target, "rb").read() == b"NEW /inplace",
                  (r.returncode, r.stderr[-300:], open(target, "rb").read()))
            reset()
            r = run_o(f"http://127.0.0.1:{free_port()}/")
            check("... a request that fails before any body leaves FILE as it was",
                  r.returncode != 0 and open(target, "rb").read() == old, (r.returncode, open(target, "rb").read()))
            reset()
            r = run_o(f"{base}/cut")
            got = open(target, "rb").read()
            check("... a body cut short: what came (curl's partial file), never mixed with the old tail",
                  r.returncode != 0 and (got == old or (b"0123456789".startswith(got) and got)), (r.returncode, got))
            r = run_o(f"{base}/x", os.path.join(ro, "new.txt"))
            check("... a new FILE there cannot be made: exit 23 (curl's write error; -s: nothing said)",
                  r.returncode == 23 and r.stderr == b"" and
                  not os.path.exists(os.path.join(ro, "new.txt")), (r.returncode, r.stderr[-300:]))
            check("... no temp file left in the folder", leftovers(ro, ["out.txt"]) == [], os.listdir(ro))
    finally:
        if shutil.which("chattr"):
            subprocess.run(["chattr", "-i", ro], capture_output=True)
        os.chmod(ro, 0o755)
finally:
    srv.shutdown()
    srv.server_close()
    subprocess.run(["rm", "-rf", tmp])

finish()
