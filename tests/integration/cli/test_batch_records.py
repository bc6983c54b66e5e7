"""The records of guise batch, written by the library (client/lib/batch_record.c):
the error record of a line that is not a job, byte for byte; and --body-dir file
names: the id cleaned, then the 64-bit FNV-1a of the id in 16 hex digits.
Usage: test_batch_records.py GUISE"""
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, finish

GUISE = sys.argv[1]


def fnv1a64(data):
    """FNV-1a, 64 bits (offset basis and prime as published with the algorithm)."""
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


check("fnv1a64 against the published vector for 'a'", fnv1a64(b"a") == 0xAF63DC4C8601EC8C)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = b"body of " + self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
port = srv.server_address[1]
t = threading.Thread(target=srv.serve_forever, daemon=True)
t.start()
try:
    with tempfile.TemporaryDirectory() as d:
        jobs = os.path.join(d, "jobs.jsonl")
        bodies = os.path.join(d, "bodies")
        os.mkdir(bodies)
        ids = ["p-17", "a/b c", "é☃", "x" * 120]
        with open(jobs, "w", encoding="utf-8") as f:
            for i, jid in enumerate(ids):
                f.write(json.dumps({"id": jid, "url": f"http://127.0.0.1:{port}/{i}"}) + "\n")
            f.write("not a url\n")                                    # line 5
            f.write('{"url": 5}\n')                                   # line 6
            f.write(json.dumps({"id": "p-17", "url": f"http://127.0.0.1:{port}/dup"}) + "\n")  # line 7
        p = subprocess.run([GUISE, "batch", "--progress", "never", "--body-dir", bodies, jobs],
                           capture_output=True, timeout=30)
        check("guise batch ran", p.returncode == 0, p.stderr.decode(errors="replace"))
        lines = p.stdout.decode("utf-8").splitlines()
        recs = {json.loads(l)["id"]: (l, json.loads(l)) for l in lines}
        check("one record per line", len(lines) == 7 and len(recs) == 7, lines)
        for i, jid in enumerate(ids):
            raw = jid.encode()
            # the cleaning works on bytes: one '_' per byte outside [A-Za-z0-9-_.], at most 100
            clean = "".join(chr(b) if (chr(b).isascii() and (chr(b).isalnum() or chr(b) in "-_.")) else "_" for b in raw)[:100]
            want = os.path.join(bodies, f"{clean}-{fnv1a64(raw):016x}")
            rec = recs.get(jid, (None, {}))[1]
            check(f"body file of {jid[:20]!r} named from FNV-1a", rec.get("body_file") == want,
                  f"{rec.get('body_file')} != {want}")
            try:
                with open(want, "rb") as f:
                    got = f.read()
            except OSError as e:
                got = repr(e).encode()
            check(f"body file of {jid[:20]!r} holds the body", got == f"body of /{i}".encode(), got)
        # The error records, byte for byte as docs/BATCH.md shows them.
        check("error record of a line that is not a URL",
              recs.get("5", ("",))[0] == '{"id":"5","line":5,"url":null,"status":0,"error":"USAGE_INVALID_ARGUMENT",'
              '"error_class":"usage","error_detail":"a URL line holds a space or NUL (a JSON job starts with \'{\')",'
              '"attempts":0}', recs.get("5"))
        check("error record of a job without a string url",
              recs.get("6", ("",))[0].startswith('{"id":"6","line":6,"url":null,"status":0,'
                                                 '"error":"USAGE_INVALID_ARGUMENT","error_class":"usage",'
                                                 '"error_detail":"') and
              recs.get("6", ("",))[0].endswith('","attempts":0}'), recs.get("6"))
        check("error record of a duplicate id",
              recs.get("#7", ("",))[0] == '{"id":"#7","line":7,"url":null,"status":0,"error":"USAGE_INVALID_ARGUMENT",'
              '"error_class":"usage","error_detail":"duplicate id \\"p-17\\" (first on line 1): not run","attempts":0}',
              recs.get("#7"))
finally:
    srv.shutdown()
    srv.server_close()
finish()
