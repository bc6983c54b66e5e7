"""guise: HTTP requests whose TLS and HTTP/2 traffic is a real browser's.

    import guise
    r = guise.get("https://example.org/", profile="firefox-144")
    print(r.status_code, r.http_version, r.headers["content-type"])

    with guise.Client(profile=guise.DEFAULT_PROFILE) as c:
        c.get(url)                     # connections, cookies and TLS sessions kept

    async with guise.AsyncClient() as c:
        rs = await asyncio.gather(*(c.get(u) for u in urls))

    with guise.Client() as c, c.stream("GET", url) as r:
        for chunk in r.iter_bytes(): ...   # a big body, memory bounded

    for rec in guise.batch(urls, concurrency=256): ...   # the C batch engine

Scrapy: guise.scrapy.DownloadHandler. The C engine: guise._guise (src/_guise.c).

Each Client runs libguise's engine (a libuv loop and a connection pool) in one
thread of its own; requests from any thread or asyncio task are handed to it and
the GIL is not held while they run. See docs/PYTHON.md.
"""
from __future__ import annotations

import builtins
import contextlib
import weakref
import codecs
import datetime
import json as _json
import re
import threading
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from . import _guise

# asyncio is imported by the first AsyncClient, not by `import guise`: it was
# two thirds of the package's import time, paid by every sync and guise.batch
# program (docs/BENCHMARKS.md, "Python package").
asyncio: Any = None

__all__ = [
    "Client", "AsyncClient", "Response", "Headers", "request", "get", "post", "put",
    "delete", "head", "profiles", "version", "DEFAULT_PROFILE",
    "GuiseError", "UsageError", "DNSError", "ConnectError", "TLSError", "CertificateError",
    "ProxyError", "HTTPError", "DecodeError", "ProfileError", "TimeoutError", "ResourceError",
    "HTTPStatusError", "batch",
]

DEFAULT_PROFILE: str = _guise.default_profile()


def profiles() -> list[str]:
    """Names of the built-in browser profiles (`guise profile list`)."""
    return _guise.profiles()


def version() -> dict[str, Any]:
    """Versions of libguise and the libraries inside it."""
    return _guise.version()


# ---- Errors ------------------------------------------------------------------------------

class GuiseError(Exception):
    """A request that did not get a response, or a usage error. |code| is the
    library's GUISE_E_* number, |name| its stable name (e.g. "CONNECT_REFUSED"),
    |error_class| its class ("connect"), |detail| what happened, in words."""

    def __init__(self, code: int, name: str, error_class: str, detail: str,
                 request_url: str | None = None):
        super().__init__(f"{detail} ({name})")
        self.code, self.name, self.error_class, self.detail = code, name, error_class, detail
        self.request_url = request_url


class UsageError(GuiseError, ValueError):
    """A bad argument: malformed URL, unsupported scheme, bad option value."""


class DNSError(GuiseError):
    """The host name could not be resolved."""


class ConnectError(GuiseError, ConnectionError):
    """No connection: refused, reset, unreachable."""


class TLSError(GuiseError):
    """The TLS handshake failed."""


class CertificateError(TLSError):
    """The server's certificate was refused (verify=False skips the checks)."""


class ProxyError(GuiseError):
    """The proxy refused, failed or answered something unexpected."""


class HTTPError(GuiseError):
    """A malformed or truncated response, an HTTP/2 protocol error, too many redirects."""


class DecodeError(GuiseError):
    """The body's content coding was corrupt or decoded past its limit."""


class ProfileError(GuiseError):
    """The profile was not found or is invalid."""


class TimeoutError(GuiseError, builtins.TimeoutError):
    """A connect, TLS, response or total timeout."""


class ResourceError(GuiseError):
    """Out of memory, descriptors or ports; cancelled; an internal error."""


class HTTPStatusError(Exception):
    """raise_for_status() on a 4xx or 5xx response."""

    def __init__(self, message: str, response: "Response"):
        super().__init__(message)
        self.response = response


_CLASSES = {"usage": UsageError, "dns": DNSError, "connect": ConnectError, "tls": TLSError,
            "certificate": CertificateError, "proxy": ProxyError, "http": HTTPError,
            "decoding": DecodeError, "profile": ProfileError, "timeout": TimeoutError,
            "resource": ResourceError}


def _error(code: int, name: str, error_class: str, detail: str, url: str | None = None) -> GuiseError:
    # The URL as guise writes URLs everywhere: its password as ***.
    return _CLASSES.get(error_class, GuiseError)(code, name, error_class, detail,
                                                 _guise.url_redact(url) if url else url)


# ---- Responses -------------------------------------------------------------------------

class Headers(Mapping[str, str]):
    """Response header fields in wire order, names as received. h["Name"] is
    case-insensitive and joins repeated fields with ", " (Set-Cookie: the first);
    get_list() gives every value; items() every (name, value) pair in order."""

    __slots__ = ("_pairs",)

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()):
        self._pairs = list(pairs)

    def get_list(self, name: str) -> list[str]:
        n = name.lower()
        return [v for k, v in self._pairs if k.lower() == n]

    def __getitem__(self, name: str) -> str:
        vals = self.get_list(name)
        if not vals:
            raise KeyError(name)
        return vals[0] if name.lower() == "set-cookie" else ", ".join(vals)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(k.lower() == name.lower() for k, _ in self._pairs)

    def __iter__(self) -> Iterator[str]:
        seen = set()
        for k, _ in self._pairs:
            if k.lower() not in seen:
                seen.add(k.lower())
                yield k

    def __len__(self) -> int:
        return len({k.lower() for k, _ in self._pairs})

    def items(self):  # type: ignore[override]
        """Every (name, value) pair, in wire order, repeated names included."""
        return list(self._pairs)

    def __repr__(self) -> str:
        return f"Headers({self._pairs!r})"


_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)


# The fields of a result's info tuple (_guise.c result_of), in order.
_INFO_KEYS = ("http_version", "alpn", "tls_version", "tls_cipher", "tls_group", "remote", "local",
              "url", "error_detail", "dns_ms", "connect_ms", "tls_ms", "ttfb_ms", "total_ms", "reused",
              "body_bytes", "wire_body_bytes")


class Response:
    """A finished response. |history| holds the redirects followed, oldest first,
    as (url, status) pairs; |url| is the last request's URL (passwords shown as ***)."""

    def __init__(self, method: str, url: str, result: tuple, stream=None):
        err, status, headers, body, info, redirects = result
        self.request_method = method
        self.status_code: int = status
        self.headers = Headers(headers)
        self.content: bytes = body
        self._info = info
        self.url: str = info[7] or url
        self.http_version: str = info[0]
        self.history: list[tuple[str, int]] = redirects

    @property
    def info(self) -> dict[str, Any]:
        """Timings (ms from the start), addresses, reuse, byte counts, TLS."""
        return dict(zip(_INFO_KEYS, self._info))

    @property
    def elapsed(self) -> datetime.timedelta:
        """From the request's start to its end."""
        return datetime.timedelta(milliseconds=self._info[13])

    @property
    def tls(self) -> dict[str, str]:
        """What TLS negotiated: version, cipher, group, ALPN ("" over plain HTTP)."""
        i = self._info
        return {"version": i[2], "cipher": i[3], "group": i[4], "alpn": i[1]}

    @property
    def reason_phrase(self) -> str:
        import http
        try:
            return http.HTTPStatus(self.status_code).phrase
        except ValueError:
            return ""

    @property
    def encoding(self) -> str:
        """The body's charset: the Content-Type's, else a <meta charset>, else UTF-8."""
        ct = self.headers.get("content-type", "")
        for part in ct.split(";")[1:]:
            k, _, v = part.strip().partition("=")
            if k.lower() == "charset" and v:
                return _known_codec(v.strip('"\' ')) or "utf-8"
        m = _CHARSET.search(self.content[:4096])
        if m:
            return _known_codec(m.group(1).decode("ascii", "replace")) or "utf-8"
        return "utf-8"

    @property
    def text(self) -> str:
        """The body decoded with |encoding| (undecodable bytes replaced)."""
        return self.content.decode(self.encoding, errors="replace")

    def json(self, **kw) -> Any:
        """The body parsed as JSON (json.loads keywords)."""
        return _json.loads(self.content, **kw)

    @property
    def cookies(self) -> dict[str, str]:
        """name -> value of this response's Set-Cookie fields (the client's jar keeps
        them with their attributes)."""
        out = {}
        for v in self.headers.get_list("set-cookie"):
            name, sep, rest = v.partition("=")
            if sep:
                out[name.strip()] = rest.split(";", 1)[0].strip()
        return out

    @property
    def is_success(self) -> bool:
        """A 2xx status."""
        return 200 <= self.status_code < 300

    def raise_for_status(self) -> "Response":
        """HTTPStatusError for a 4xx or 5xx status; the response itself otherwise."""
        if 400 <= self.status_code < 600:
            kind = "Client" if self.status_code < 500 else "Server"
            raise HTTPStatusError(f"{kind} error '{self.status_code} {self.reason_phrase}' "
                                  f"for url '{self.url}'", self)
        return self

    def __repr__(self) -> str:
        return f"<Response [{self.status_code} {self.http_version}]>"

    # ---- streamed bodies (Client.stream / AsyncClient.stream) ----

    _stream = None  # (engine, token) while the body is being streamed

    @classmethod
    def _streamed(cls, method: str, url: str, engine, token: int, status: int, headers) -> "Response":
        r = cls(method, url, (0, status, headers, b"", ("",) * 9 + (0.0,) * 5 + (False, 0, 0), []))
        r._stream = (engine, token)
        return r

    def _stream_end(self, result: tuple) -> None:
        # The request ended after its body: what only its end knows.
        self._stream = None
        err = result[0]
        if err:
            detail = result[4][8] if result[4] else ""
            raise _error(err, _guise.err_name(err), _guise.err_class(err),
                         detail or _guise.strerror(err), self.url)
        self._info = result[4]
        self.url = self._info[7] or self.url
        self.http_version = self._info[0]
        self.history = result[5]

    def iter_bytes(self) -> Iterator[bytes]:
        """The body of a Client.stream() response, piece by piece as it arrives (decoded;
        each piece at most 1 MiB). At most 1 MiB waits in memory for the reader: past
        that, the engine keeps the rest in an unlinked temporary file until the
        reader catches up (docs/PYTHON.md, "Streaming"). Once it is done, info,
        http_version and history describe the whole request."""
        if self._stream is None:
            if self.content:
                yield self.content
            return
        engine, token = self._stream
        while True:
            try:
                x = engine.stream_take(token, True)
            except _guise.Error as e:
                raise _error(*e.args, self.url) from None
            if isinstance(x, bytes):
                yield x
            else:
                self._stream_end(x[1])
                return

    async def aiter_bytes(self):
        """The body of an AsyncClient.stream() response, as iter_bytes()."""
        if self._stream is None:
            if self.content:
                yield self.content
            return
        engine, token = self._stream
        event = self._event
        while True:
            event.clear()
            try:
                x = engine.stream_take(token, False)
            except _guise.Error as e:
                raise _error(*e.args, self.url) from None
            if x is None:
                await event.wait()
            elif isinstance(x, bytes):
                yield x
            else:
                self._stream_end(x[1])
                return

    def read(self) -> bytes:
        """The rest of a streamed body, kept as |content|."""
        if self._stream is not None:
            self.content = b"".join(self.iter_bytes())
        return self.content

    async def aread(self) -> bytes:
        if self._stream is not None:
            self.content = b"".join([c async for c in self.aiter_bytes()])
        return self.content


def _known_codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


# ---- Requests --------------------------------------------------------------------------

# http_version as the engine takes it (guise.h): 0 lets ALPN choose (and the client's
# Alt-Svc cache race HTTP/3 for an origin that announced it), 1 and 2 narrow TCP,
# GUISE_HTTP_3 (3) races HTTP/3 against TCP, GUISE_HTTP_3_ONLY (4) is HTTP/3 or fails.
_HTTP_VERSIONS = {None: 0, "1.1": 1, "2": 2, "3": 3, "3-only": 4, 1.1: 1, 2: 2, 3: 3}


def _http_version(v) -> int:
    """The engine's number for an http_version argument, or UsageError naming it."""
    try:
        n = _HTTP_VERSIONS.get(v) if not isinstance(v, bool) else None
    except TypeError:  # unhashable: a list, a dict
        n = None
    if n is None:
        raise UsageError(-101, "USAGE_INVALID_ARGUMENT", "usage",
                         f"http_version must be None, '1.1', '2', '3' or '3-only', not {v!r}")
    return n


def _timeouts(timeout) -> tuple[int, int]:
    """(connect_timeout_ms, max_time_ms) from a number of seconds or a
    (connect, total) pair; None: the library's defaults."""
    def ms(x, what):
        if x is None:
            return 0
        x = float(x)
        if not (0 < x <= 86400):  # also refuses NaN
            raise UsageError(-101, "USAGE_INVALID_ARGUMENT", "usage",
                             f"{what} must be a number of seconds in (0, 86400], not {x!r}")
        return max(1, int(x * 1000))
    if isinstance(timeout, tuple):
        c, t = timeout
        return ms(c, "connect timeout"), ms(t, "timeout")
    t = ms(timeout, "timeout")
    return t, t


def _body(data, json, content) -> tuple[bytes | None, tuple[str, str] | None]:
    """(body, content-type header or None) from the httpx-style arguments."""
    given = [x is not None for x in (data, json, content)]
    if sum(given) > 1:
        raise UsageError(-101, "USAGE_INVALID_ARGUMENT", "usage",
                         "give only one of data=, json= and content=")
    if json is not None:
        return _json.dumps(json, separators=(",", ":")).encode(), ("content-type", "application/json")
    if content is not None:
        return (content.encode() if isinstance(content, str) else bytes(content)), None
    if data is None:
        return None, None
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data), None
    if isinstance(data, str):
        return data.encode(), None
    pairs = data.items() if isinstance(data, Mapping) else data
    return (urllib.parse.urlencode(list(pairs), doseq=True).encode(),
            ("content-type", "application/x-www-form-urlencoded"))


_BOUNDARY_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_UPLOAD_READ = 1 << 20


def _form_quote(s: str) -> str:
    # A name or filename in Content-Disposition, as Chrome writes it (HTML's
    # multipart/form-data encoding: '"' and line breaks percent-escaped).
    return s.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _multipart(data, files) -> tuple[bytes, tuple[str, str]]:
    """(body, content-type header) of a multipart/form-data upload: the |data| fields
    first, then |files|, with a boundary shaped like Chrome's
    ("----WebKitFormBoundary" and 16 letters and digits). A file is a file object
    (read in 1 MiB pieces), bytes, str, or a tuple (filename, content[, content type])."""
    import mimetypes
    import secrets
    boundary = "----WebKitFormBoundary" + "".join(secrets.choice(_BOUNDARY_CHARS) for _ in range(16))
    delim = b"--" + boundary.encode() + b"\r\n"
    out = bytearray()
    if data is not None:
        if isinstance(data, (bytes, bytearray, memoryview, str)):
            raise UsageError(-101, "USAGE_INVALID_ARGUMENT", "usage",
                             "with files=, data= must be a dict or (name, value) pairs")
        for k, v in (data.items() if isinstance(data, Mapping) else data):
            vals = v if isinstance(v, (list, tuple)) else [v]
            for one in vals:
                out += delim
                out += f'Content-Disposition: form-data; name="{_form_quote(str(k))}"\r\n\r\n'.encode()
                out += one if isinstance(one, (bytes, bytearray)) else str(one).encode()
                out += b"\r\n"
    for name, spec in (files.items() if isinstance(files, Mapping) else files):
        ctype = None
        if isinstance(spec, tuple):
            if not 2 <= len(spec) <= 3:
                raise UsageError(-101, "USAGE_INVALID_ARGUMENT", "usage",
                                 f"files[{name!r}] must be (filename, content[, content type])")
            filename, content = spec[0], spec[1]
            ctype = spec[2] if len(spec) == 3 else None
        else:
            content = spec
            fn = getattr(spec, "name", None)
            filename = __import__("os").path.basename(fn) if isinstance(fn, str) else str(name)
        filename = "" if filename is None else str(filename)
        if ctype is None:
            ctype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        elif any(ch in str(ctype) for ch in "\r\n\0"):
            raise UsageError(-101, "USAGE_INVALID_ARGUMENT", "usage",
                             f"files[{name!r}]: the content type holds a line break or NUL")
        out += delim
        out += (f'Content-Disposition: form-data; name="{_form_quote(str(name))}"; '
                f'filename="{_form_quote(filename)}"\r\nContent-Type: {ctype}\r\n\r\n').encode()
        if isinstance(content, str):
            out += content.encode()
        elif isinstance(content, (bytes, bytearray, memoryview)):
            out += content
        elif hasattr(content, "read"):
            while True:
                piece = content.read(_UPLOAD_READ)
                if not piece:
                    break
                out += piece.encode() if isinstance(piece, str) else piece
        else:
            raise UsageError(-101, "USAGE_INVALID_ARGUMENT", "usage",
                             f"files[{name!r}]: a file object, bytes, str or a tuple, not {type(content).__name__}")
        out += b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return bytes(out), ("content-type", "multipart/form-data; boundary=" + boundary)


def _header_pairs(*sources) -> list[tuple[str, str]]:
    """Ordered (name, value) pairs; a later source replaces an earlier one's field of
    the same name in place."""
    out: list[tuple[str, str]] = []
    for src in sources:
        if not src:
            continue
        items = src.items() if isinstance(src, Mapping) else src
        for k, v in items:
            k, v = str(k), str(v)
            for i, (ok, _) in enumerate(out):
                if ok.lower() == k.lower():
                    out[i] = (k, v)
                    break
            else:
                out.append((k, v))
    return out


def _url_with_params(url: str, params) -> str:
    if not params:
        return url
    items = params.items() if isinstance(params, Mapping) else params
    q = urllib.parse.urlencode(list(items), doseq=True)
    base, frag = (url.split("#", 1) + [""])[:2]
    sep = "&" if "?" in base else "?"
    return base + sep + q + ("#" + frag if frag else "")


class _Base:
    def __init__(self, profile: str | None = DEFAULT_PROFILE, proxy: str | None = None,
                 verify: bool = True, cacert: str | None = None, timeout=30.0,
                 follow_redirects: bool = True, max_redirects: int = 20,
                 http_version: str | None = None, cookies: bool = True,
                 cookie_file: str | None = None, headers=None, resolve=None,
                 dns_servers: str | None = None, max_connections_per_origin: int = 0,
                 proxy_verify: bool = True, proxy_cacert: str | None = None,
                 max_body: int = 0):
        _http_version(http_version)
        for what, v, hi in (("max_redirects", max_redirects, 2**32 - 1), ("max_body", max_body, 2**63),
                            ("max_connections_per_origin", max_connections_per_origin, 2**32 - 1)):
            if not isinstance(v, int) or not 0 <= v <= hi:
                raise UsageError(-101, "USAGE_INVALID_ARGUMENT", "usage",
                                 f"{what} must be a whole number from 0, not {v!r}")
        self._defaults = dict(verify=verify, cacert=cacert, timeout=timeout,
                              follow_redirects=follow_redirects, max_redirects=max_redirects,
                              http_version=http_version, max_body=max_body)
        self._headers = _header_pairs(headers)
        self._default_ms = _timeouts(timeout)
        connect_ms, _ = self._default_ms
        try:
            self._engine = _guise.Engine(profile=profile if profile is not None else "none",
                                         proxy=proxy, insecure=not verify, cafile=cacert,
                                         resolve=list(resolve) if resolve else None,
                                         dns_servers=dns_servers,
                                         connect_timeout_ms=connect_ms,
                                         max_connections_per_origin=max_connections_per_origin,
                                         cookies=bool(cookies), cookie_file=cookie_file,
                                         proxy_insecure=not proxy_verify, proxy_cafile=proxy_cacert)
        except _guise.Error as e:
            raise _error(*e.args) from None
        self._closed = False
        self._close_lock = threading.Lock()

    def _submit(self, method: str, url: str, is_async: bool, *, params=None, headers=None,
                data=None, json=None, content=None, files=None, cookies=None, timeout=...,
                follow_redirects=None, profile=None, proxy=None, verify=None, http_version=...,
                resolve=None, max_body=None, stream=False, kind=None, referer=None) -> tuple[int, str]:
        if self._closed:
            raise ResourceError(-1103, "CANCELLED", "resource", "the client is closed")
        d = self._defaults
        if files is not None:
            if json is not None or content is not None:
                raise UsageError(-101, "USAGE_INVALID_ARGUMENT", "usage",
                                 "files= goes with data= (form fields), not with json= or content=")
            body, ctype = _multipart(data, files)
        elif data is None and json is None and content is None:
            body, ctype = None, None
        else:
            body, ctype = _body(data, json, content)
        if ctype or cookies or headers:
            extra = [ctype] if ctype else []
            if cookies:
                items = cookies.items() if isinstance(cookies, Mapping) else cookies
                extra.append(("cookie", "; ".join(f"{k}={v}" for k, v in items)))
            pairs = _header_pairs(self._headers, extra, headers)
        else:
            pairs = self._headers  # the engine copies them; nobody changes this list
        hv = d["http_version"] if http_version is ... else http_version
        hv = _http_version(hv)
        connect_ms, total_ms = self._default_ms if timeout is ... else _timeouts(timeout)
        full = _url_with_params(url, params) if params else url
        follow = d["follow_redirects"] if follow_redirects is None else follow_redirects
        insecure = not (d["verify"] if verify is None else verify)
        try:
            token = self._engine.submit(method.upper(), full, pairs, body, is_async, profile, proxy,
                                        insecure, d["cacert"], hv, bool(follow),
                                        int(d["max_redirects"]), connect_ms, total_ms,
                                        int(d["max_body"] if max_body is None else max_body),
                                        list(resolve) if resolve else None, stream, kind, referer)
        except _guise.Error as e:
            raise _error(*e.args, full) from None
        return token, full

    @staticmethod
    def _response(method: str, url: str, result: tuple) -> Response:
        err = result[0]
        if err:
            detail = result[4][8] if result[4] else ""
            name = _guise.err_name(err)
            raise _error(err, name, _guise.err_class(err), detail or _guise.strerror(err), url)
        return Response(method, url, result)

    def close(self) -> None:
        """Ends every request still running (they fail with ResourceError CANCELLED)
        and stops the client's thread. Safe from several threads at once."""
        with self._close_lock:
            self._closed = True
        self._engine.close()  # the engine lets one caller join its thread, the others wait

    def __del__(self):
        eng = getattr(self, "_engine", None)
        if eng is not None and not getattr(self, "_closed", True):
            self._closed = True
            eng.close()



class Client(_Base):
    """A browser-shaped HTTP client with a connection pool, a cookie jar and TLS
    session resumption, safe to use from several threads at once.

    profile: a built-in profile name (guise.profiles()) or a profile file; None: no
    browser profile. proxy: http://, https://, socks4(a)://, socks5(h):// URL.
    verify=False: no certificate checks (proxy_verify for an https:// proxy).
    timeout: seconds (connect, and the whole request), or a (connect, total) pair.
    headers: sent with every request (replacing the profile's field of the same
    name in place). resolve: curl-style "host:port:address" overrides.

    Request keywords (request, get, post, ...): params, headers (a dict or pairs,
    order kept), data (bytes, str, or a dict/pairs: form-urlencoded), json, content,
    files (multipart: name -> file object, bytes, str or (filename, content[, type])),
    cookies (the request's Cookie field), timeout, follow_redirects, profile, proxy,
    verify, http_version ("1.1", "2", "3", "3-only"), resolve, kind (the request kind, as --kind:
    "script", "image", "fetch", ...), referer (the initiator's URL, as -e).
    stream(method, url, ...) reads a big
    body piece by piece with bounded memory. Errors: guise.GuiseError subclasses.
    """

    def request(self, method: str, url: str, **kw) -> Response:
        """One request; keywords: params, headers, data, json, content, files, cookies,
        timeout, follow_redirects, profile, proxy, verify, http_version, resolve, kind,
        referer."""
        token, full = self._submit(method, url, False, **kw)
        try:
            result = self._engine.wait(token)
        except _guise.Error as e:
            raise _error(*e.args, full) from None
        return self._response(method, full, result)

    @contextlib.contextmanager
    def stream(self, method: str, url: str, **kw) -> Iterator[Response]:
        """A request whose body is read piece by piece: `with c.stream("GET", url) as r:
        for chunk in r.iter_bytes(): ...`. The Response has its status and headers
        when the block starts; leaving the block early stops the request. Without
        max_body (the client's), the body has no size cap: memory stays bounded."""
        token, full = self._submit(method, url, False, stream=True, **kw)
        eng = self._engine
        try:
            try:
                h = eng.stream_head(token, True)
            except _guise.Error as e:
                raise _error(*e.args, full) from None
            if h[0] == "end":
                self._response(method, full, h[1])  # raises its error
                r = Response(method, full, h[1])
            else:
                r = Response._streamed(method, full, eng, token, h[0], h[1])
            yield r
        finally:
            eng.stream_close(token)

    def get(self, url: str, **kw) -> Response:
        """A GET request: request("GET", url, **kw)."""
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw) -> Response:
        """A POST request: request("POST", url, **kw)."""
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw) -> Response:
        """A PUT request: request("PUT", url, **kw)."""
        return self.request("PUT", url, **kw)

    def patch(self, url: str, **kw) -> Response:
        """A PATCH request: request("PATCH", url, **kw)."""
        return self.request("PATCH", url, **kw)

    def delete(self, url: str, **kw) -> Response:
        """A DELETE request: request("DELETE", url, **kw)."""
        return self.request("DELETE", url, **kw)

    def head(self, url: str, **kw) -> Response:
        """A HEAD request: request("HEAD", url, **kw)."""
        return self.request("HEAD", url, **kw)

    def options(self, url: str, **kw) -> Response:
        """A OPTIONS request: request("OPTIONS", url, **kw)."""
        return self.request("OPTIONS", url, **kw)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class AsyncClient(_Base):
    """Client for asyncio: the same arguments, `await client.get(url)`. The engine's
    thread completes requests; the event loop learns of them through one file
    descriptor it watches (no thread per request, no callback per completion across
    threads). Use it from one event loop."""

    def __init__(self, *args, **kw):
        global asyncio
        if asyncio is None:
            import asyncio as _asyncio
            asyncio = _asyncio
        super().__init__(*args, **kw)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: dict[int, tuple[asyncio.Future, str, str]] = {}
        self._streams: dict[int, asyncio.Event] = {}

    def _attach(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
            # The loop holds only a weak reference: a client dropped without
            # aclose() is collected, and its finalizer stops the watch and the engine.
            me = weakref.ref(self)
            fd = self._engine.fileno()

            def ready():
                c = me()
                if c is not None:
                    c._on_ready()
            loop.add_reader(fd, ready)
            self._finalizer = weakref.finalize(self, AsyncClient._drop, loop, fd, self._engine)
        elif self._loop is not loop:
            raise RuntimeError("an AsyncClient belongs to the event loop it was first used on")
        return loop

    @staticmethod
    def _drop(loop, fd, engine):
        try:
            if not loop.is_closed():
                loop.remove_reader(fd)
        except Exception:  # noqa: BLE001  (an interpreter shutting down)
            pass
        engine.close()

    def _on_ready(self) -> None:
        for token, result in self._engine.drain():
            entry = self._waiting.pop(token, None)
            if entry is None:
                continue
            fut, method, url = entry
            if fut.done():
                continue
            try:
                if result is None:
                    raise ResourceError(-1101, "NOMEM", "resource", "out of memory", url)
                fut.set_result(self._response(method, url, result))
            except GuiseError as e:
                fut.set_exception(e)
            except Exception as e:  # noqa: BLE001  (one bad result never strands the others)
                fut.set_exception(e)
        for ev in self._streams.values():  # streamed bodies look for themselves
            ev.set()

    @contextlib.asynccontextmanager
    async def stream(self, method: str, url: str, **kw):
        """As Client.stream: `async with c.stream("GET", url) as r: async for chunk in
        r.aiter_bytes(): ...`."""
        self._attach()
        token, full = self._submit(method, url, True, stream=True, **kw)
        eng = self._engine
        ev = asyncio.Event()
        self._streams[token] = ev
        try:
            while True:
                ev.clear()
                try:
                    h = eng.stream_head(token, False)
                except _guise.Error as e:
                    raise _error(*e.args, full) from None
                if h is not None:
                    break
                await ev.wait()
            if h[0] == "end":
                self._response(method, full, h[1])
                r = Response(method, full, h[1])
            else:
                r = Response._streamed(method, full, eng, token, h[0], h[1])
                r._event = ev
            yield r
        finally:
            self._streams.pop(token, None)
            eng.stream_close(token)

    async def request(self, method: str, url: str, **kw) -> Response:
        """One request, as Client.request; a cancelled task gives its request up."""
        loop = self._attach()
        token, full = self._submit(method, url, True, **kw)
        fut = loop.create_future()
        self._waiting[token] = (fut, method, full)
        try:
            return await fut
        except asyncio.CancelledError:
            # Nobody wants it any more: the engine stops it at its next callback
            # instead of letting it run to its timeout.
            self._waiting.pop(token, None)
            self._engine.cancel(token)
            raise

    async def get(self, url: str, **kw) -> Response:
        """A GET request: await request("GET", url, **kw)."""
        return await self.request("GET", url, **kw)

    async def post(self, url: str, **kw) -> Response:
        """A POST request: await request("POST", url, **kw)."""
        return await self.request("POST", url, **kw)

    async def put(self, url: str, **kw) -> Response:
        """A PUT request: await request("PUT", url, **kw)."""
        return await self.request("PUT", url, **kw)

    async def patch(self, url: str, **kw) -> Response:
        """A PATCH request: await request("PATCH", url, **kw)."""
        return await self.request("PATCH", url, **kw)

    async def delete(self, url: str, **kw) -> Response:
        """A DELETE request: await request("DELETE", url, **kw)."""
        return await self.request("DELETE", url, **kw)

    async def head(self, url: str, **kw) -> Response:
        """A HEAD request: await request("HEAD", url, **kw)."""
        return await self.request("HEAD", url, **kw)

    async def aclose(self) -> None:
        """Ends every request still running (ResourceError CANCELLED) and stops."""
        if self._closed:
            return
        # close() joins the engine's thread: in an executor, not on the event loop.
        await asyncio.get_running_loop().run_in_executor(None, super().close)
        self._finish_close()

    def close(self) -> None:
        """As aclose(), from synchronous code (it waits for the engine's thread)."""
        super().close()
        self._finish_close()

    def _finish_close(self) -> None:
        # The engine has stopped: its last results are taken, and a request still
        # waited for ends with ResourceError CANCELLED.
        if self._loop is not None:
            self._on_ready()
            fin = getattr(self, "_finalizer", None)
            if fin is not None:
                fin.detach()
            try:
                if not self._loop.is_closed():
                    self._loop.remove_reader(self._engine.fileno())
            except Exception:  # noqa: BLE001
                pass
        for ev in self._streams.values():
            ev.set()
        for fut, _, url in self._waiting.values():
            if not fut.done():
                fut.set_exception(ResourceError(-1103, "CANCELLED", "resource",
                                                "the client was closed", _guise.url_redact(url)))
        self._waiting.clear()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()


_local = threading.local()


def request(method: str, url: str, *, profile: str | None = DEFAULT_PROFILE, proxy=None,
            verify: bool = True, cacert=None, timeout=30.0, follow_redirects: bool = True,
            http_version=None, **kw) -> Response:
    """One request on a client of its own (made and closed here)."""
    with Client(profile=profile, proxy=proxy, verify=verify, cacert=cacert, timeout=timeout,
                follow_redirects=follow_redirects, http_version=http_version) as c:
        return c.request(method, url, **kw)


def get(url: str, **kw) -> Response:
    """One GET request on a client of its own: guise.request("GET", url, **kw)."""
    return request("GET", url, **kw)


def post(url: str, **kw) -> Response:
    """One POST request on a client of its own: guise.request("POST", url, **kw)."""
    return request("POST", url, **kw)


def put(url: str, **kw) -> Response:
    """One PUT request on a client of its own: guise.request("PUT", url, **kw)."""
    return request("PUT", url, **kw)


def delete(url: str, **kw) -> Response:
    """One DELETE request on a client of its own: guise.request("DELETE", url, **kw)."""
    return request("DELETE", url, **kw)


def head(url: str, **kw) -> Response:
    """One HEAD request on a client of its own: guise.request("HEAD", url, **kw)."""
    return request("HEAD", url, **kw)



# ---- Batches ---------------------------------------------------------------------------

_BODY_MODES = {"discard": _guise.BODY_DISCARD, "text": _guise.BODY_TEXT,
               "base64": _guise.BODY_BASE64}


def batch(jobs, *, concurrency: int = 256, per_host: int | None = None,
          rate: float | None = None, per_host_rate: float | None = None, retries: int = 2,
          profile: str | None = DEFAULT_PROFILE, workers: int | None = None,
          verify: bool = True, cacert: str | None = None, proxy: str | None = None,
          resolve=None, dns_servers: str | None = None, timeout=None,
          http_version: str | None = None, follow_redirects: bool = False,
          max_redirects: int = 20, cookies: bool = False, include_headers: bool = False,
          body: str = "discard", body_dir: str | None = None,
          connections_per_host: int | None = None, streams_per_connection: int | None = None,
          max_pending: int | None = None, keepalive: bool = True, coalesce_ms: int | None = None,
          max_body: int = 0) -> Iterator[dict[str, Any]]:
    """libguise's batch engine, the one behind `guise batch`: yields one record (a
    dict with the fields of `guise batch`'s JSON records) per job as jobs end.

    jobs: an iterable (a list, a generator, a file) of URLs (str), JSON job lines, or
    dicts in the job format ({"url", "id", "method", "headers", "body" |
    "body_base64", "profile", "proxy", "http", "meta"}); read lazily, never more
    than max_pending (default 4 x concurrency) ahead of the records yielded. A line
    that is not a job gets an error record (error USAGE_INVALID_ARGUMENT) with its
    line number. The engine's threads run without the GIL; stopping the iteration
    early, or Ctrl-C, cancels what is in flight. timeout: seconds per attempt, or a
    (connect, total) pair. body: "discard", "text", "base64"; body_dir: one file per
    job. Other keywords as `guise batch`'s options (docs/BATCH.md).
    """
    if body_dir is not None:
        mode = _guise.BODY_DIR
    elif body in _BODY_MODES:
        mode = _BODY_MODES[body]
    else:
        raise UsageError(-101, "USAGE_INVALID_ARGUMENT", "usage",
                         f"body must be one of {sorted(_BODY_MODES)}, not {body!r}")
    hv = _http_version(http_version)
    for what, v in (("rate", rate), ("per_host_rate", per_host_rate)):
        if v is not None and not (0.001 <= float(v) <= 1e7):  # refuses NaN too
            raise UsageError(-101, "USAGE_INVALID_ARGUMENT", "usage",
                             f"{what} must be from 0.001 to 1e7 requests/s, not {v!r}")
    for what, v in (("concurrency", concurrency), ("retries", retries), ("max_redirects", max_redirects),
                    ("max_body", max_body), ("per_host", per_host), ("workers", workers),
                    ("connections_per_host", connections_per_host),
                    ("streams_per_connection", streams_per_connection), ("max_pending", max_pending),
                    ("coalesce_ms", coalesce_ms)):
        if v is not None and (not isinstance(v, int) or v < 0 or v > (2**32 - 1 if what != "max_body"
                                                                      else 2**63)):
            raise UsageError(-101, "USAGE_INVALID_ARGUMENT", "usage",
                             f"{what} must be a whole number from 0, not {v!r}")
    connect_ms, total_ms = _timeouts(timeout)
    pending_cap = max_pending or 4 * (concurrency or 256)  # 0: the engine's defaults
    try:
        eng = _guise.Batch(workers=workers or 0, concurrency=concurrency, per_host=per_host or 0,
                           rate=float(rate or 0), per_host_rate=float(per_host_rate or 0),
                           retries=retries, connections_per_host=connections_per_host or 0,
                           streams_per_connection=streams_per_connection or 0,
                           max_pending=pending_cap, profile=profile if profile is not None else "none",
                           proxy=proxy, insecure=not verify, cafile=cacert,
                           http_version=hv,
                           resolve=list(resolve) if resolve else None, dns_servers=dns_servers,
                           connect_timeout_ms=connect_ms, max_time_ms=total_ms, max_body=max_body,
                           include_headers=include_headers, body_mode=mode, body_dir=body_dir,
                           follow_redirects=follow_redirects, max_redirects=max_redirects,
                           cookies=cookies, no_reuse=not keepalive,
                           coalesce_ms=coalesce_ms or 0, no_coalesce=coalesce_ms == 0)
    except _guise.Error as e:
        raise _error(*e.args) from None
    # The engine is the iterator: it reads the jobs, submits them and makes the
    # records' dicts in C (_guise.c, "Iteration"); json.loads and a generator here
    # were most of the Python side's cost per record (docs/BENCHMARKS.md).
    return eng.start(jobs, pending_cap, _job_line, _error, _json.loads)


def _job_line(job) -> str:
    """A job that is not a str as its input line: a dict in the job format as JSON,
    bytes as UTF-8 (invalid bytes make the line's error record), else str(job)."""
    if isinstance(job, Mapping):
        return _json.dumps(job, separators=(",", ":"))
    if isinstance(job, (bytes, bytearray)):
        return bytes(job).decode("utf-8", "surrogateescape")
    return str(job)
