"""Helpers of the Redis tests: a redis-server (Debian's) on a free loopback port
with a temporary folder (AOF on, fsync always: a kill -9 and a restart keep
every write Redis acknowledged, whatever the disk's speed), and a small RESP2
client (the tests read what guise wrote without trusting guise: no client
library is needed for a few commands)."""
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import free_port  # noqa: E402

REDIS_SERVER = "/usr/bin/redis-server"


class Redis:
    """redis-server on 127.0.0.1:|port| in |folder|; start() again after a kill
    restarts it on the same port and folder (the AOF is read back)."""

    def __init__(self, folder, extra=()):
        self.folder = folder
        self.port = free_port()
        self.extra = list(extra)
        self.proc = None

    def start(self):
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.folder,
                "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no",
                "--logfile", os.path.join(self.folder, "redis.log")] + self.extra
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 10:
            try:
                c = Client(self.port, auth=self.auth())
                if c.cmd("PING") in ("PONG", b"PONG"):
                    c.close()
                    return
            except (OSError, RespError):
                time.sleep(0.05)
        raise SystemExit(f"redis-server did not start on port {self.port}")

    def auth(self):
        return None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


class RespError(Exception):
    pass


class Client:
    def __init__(self, port, auth=None):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.pos = 0
        if auth:
            self.cmd("AUTH", *auth)

    def close(self):
        self.s.close()

    # The buffer is read from |pos| on and compacted only when refilled: replies
    # of thousands of lines stay linear.
    def _fill(self):
        d = self.s.recv(1 << 20)
        if not d:
            raise OSError("connection closed")
        self.buf = self.buf[self.pos:] + d
        self.pos = 0

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = self.buf[self.pos:i]
                self.pos = i + 2
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        data = self.buf[self.pos:self.pos + n]
        self.pos += n + 2
        return data

    def _reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RespError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise OSError(f"bad RESP line {line!r}")

    def cmd(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))
        return self._reply()

    def xrange_all(self, key):
        """Every entry of |key|: [(id, {field: value})], bytes."""
        out, start = [], "-"
        while True:
            batch = self.cmd("XRANGE", key, start, "+", "COUNT", 1000)
            if start != "-":
                batch = batch[1:]
            if not batch:
                return out
            for eid, fields in batch:
                out.append((eid, dict(zip(fields[::2], fields[1::2]))))
            start = batch[-1][0]


class Relay:
    """127.0.0.1:|port| -> Redis on |target|: what a far Redis or a tunnel in front
    of it does. Each chunk Redis sends is passed on |delay| s later (a far Redis);
    while slamming (start_slamming) the existing connections are cut and every new
    one is accepted and closed at once (a TLS tunnel whose Redis is down, Redis at
    maxclients): stop_slamming says how many were."""

    def __init__(self, target, delay=0.0):
        self.target = target
        self.delay = delay
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(512)
        self.port = self.srv.getsockname()[1]
        self.slam = False
        self.slammed = 0
        self.lock = threading.Lock()
        self.open = []
        self.done = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.done:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            with self.lock:
                if self.slam:
                    self.slammed += 1
                    c.close()
                    continue
            try:
                u = socket.create_connection(("127.0.0.1", self.target), timeout=10)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.open += [c, u]
            threading.Thread(target=self.pipe, args=(c, u, 0), daemon=True).start()
            threading.Thread(target=self.pipe, args=(u, c, self.delay), daemon=True).start()

    @staticmethod
    def pipe(a, b, delay):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                if delay:
                    time.sleep(delay)
                b.sendall(d)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def start_slamming(self):
        with self.lock:
            self.slam = True
            for s in self.open:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.open = []

    def stop_slamming(self):
        with self.lock:
            self.slam = False
            return self.slammed

    def close(self):
        self.done = True
        self.srv.close()
