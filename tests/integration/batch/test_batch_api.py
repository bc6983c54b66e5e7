#!/usr/bin/env python3
"""The batch scheduler through the C API (batch_api.c) against guise echo and a
slow HTTP/1.1 server on loopback: every submitted job ends exactly once — with a
record, or (after guise_batch_stop with cancel) counted as interrupted.

usage: test_batch_api.py GUISE BATCH_API
"""
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GUISE, API = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, finish, free_port, wait_port  # noqa: E402


class Slow(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        time.sleep(0.3)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


port = free_port()
echo = subprocess.Popen([GUISE, "echo", "--listen", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
try:
    wait_port(port)
    r = subprocess.run([API, "all", f"https://127.0.0.1:{port}/api", "2000"], capture_output=True, text=True,
                       timeout=60)
    d = json.loads(r.stdout)
    check("C API: 2,000 jobs, 2,000 records, all OK, none missing or twice",
          d["submitted"] == 2000 and d["records"] == 2000 and d["ok"] == 2000 and d["missing"] == 0 and
          d["duplicates"] == 0 and d["unknown"] == 0 and d["interrupted"] == 0, (r.stdout, r.stderr[-300:]))

    # Jobs staged for a run must not wait for a submit that never comes: every
    # record arrives without guise_batch_wait() (once, 5 of 3,000 stayed staged
    # until a Python caller that waits for records before submitting more hung).
    r = subprocess.run([API, "trickle", f"https://127.0.0.1:{port}/trickle", "3000"], capture_output=True,
                       text=True, timeout=60)
    d = json.loads(r.stdout)
    check("C API, input in runs with pauses: every record before guise_batch_wait",
          d["submitted"] == 3000 and d["before_wait"] == 3000 and d["records"] == 3000 and d["missing"] == 0,
          (r.stdout, r.stderr[-300:]))

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    r = subprocess.run([API, "stop", f"http://127.0.0.1:{srv.server_address[1]}/slow", "500"], capture_output=True,
                       text=True, timeout=60)
    d = json.loads(r.stdout)
    check("C API stop(cancel): each submitted job has a record or is interrupted, never both; later submits refused",
          d["records"] + d["interrupted"] == d["submitted"] and d["duplicates"] == 0 and d["interrupted"] > 0 and
          d["submitted"] + d["refused"] == 500, (r.stdout, r.stderr[-300:]))
finally:
    echo.terminate()
    echo.wait(5)
finish()
