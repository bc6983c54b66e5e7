"""guise.scrapy: a Scrapy download handler that fetches with guise, so every
connection a spider opens carries a real browser's TLS and HTTP/2 fingerprint.

    # settings.py
    DOWNLOAD_HANDLERS = {"https": "guise.scrapy.DownloadHandler",
                         "http": "guise.scrapy.DownloadHandler"}
    GUISE_PROFILE = "chrome"              # optional; guise.DEFAULT_PROFILE otherwise

Per request: meta["guise_profile"] (another profile), meta["guise_kind"] (the
request kind, as --kind), meta["proxy"] (Scrapy's
own key, with the Proxy-Authorization its HttpProxyMiddleware sets folded back
into the proxy URL), meta["download_timeout"], meta["download_maxsize"].
Other settings: GUISE_VERIFY (default True), GUISE_CACERT, GUISE_RESOLVE (a list
of curl-style "host:port:address"), GUISE_HTTP_VERSION (None, "1.1", "2", "3" or
"3-only"), GUISE_CONNECTIONS_PER_ORIGIN.

What it may call: the guise package (its C engine, guise._guise.Engine), Twisted's
reactor (addReader, Deferred) and Scrapy's response classes. Who calls it: Scrapy's
downloader (DOWNLOAD_HANDLERS), from the reactor's thread.

How it runs: one engine (libguise on a libuv loop in a thread of its own) per
handler; the reactor watches the engine's eventfd with addReader and completes
each request's Deferred when it is readable. That works under any Twisted reactor:
the asyncio one (TWISTED_REACTOR = "twisted.internet.asyncioreactor.
AsyncioSelectorReactor") and Twisted's default alike, with no coroutine or thread
per request. Scrapy's middlewares keep their jobs: redirects (RedirectMiddleware),
cookies (CookiesMiddleware), retries; so the engine follows no redirect and keeps
no cookie jar of its own. Scrapy's default User-Agent, Accept and Accept-Language
give way to the profile's (a value the spider or the settings changed is sent),
and Accept-Encoding is always the profile's: guise decodes the body, and the
response reaches Scrapy without Content-Encoding. docs/PYTHON.md, "Scrapy".
"""
from __future__ import annotations

import base64
import ipaddress
import urllib.parse
import weakref

from scrapy.http import Headers
from scrapy.responsetypes import responsetypes
from scrapy.settings import default_settings
from twisted.internet import defer
from zope.interface import implementer
from twisted.internet.interfaces import IReadDescriptor

import guise
from guise import _guise

__all__ = ["DownloadHandler"]


@implementer(IReadDescriptor)
class _EngineReader:
    """The engine's eventfd, as Twisted's reactor watches it (holds the handler weakly)."""

    def __init__(self, handler: "DownloadHandler", fd: int):
        self._handler = weakref.ref(handler)
        self._fd = fd

    def fileno(self) -> int:
        return self._fd

    def doRead(self):
        h = self._handler()
        if h is not None:
            h._on_ready()

    def connectionLost(self, reason):
        pass

    def logPrefix(self) -> str:
        return "guise"


def _ip_of(remote: str):
    """ipaddress of the engine's "ip:port" (IPv6 as "[ip]:port"), or None."""
    host = remote.rsplit(":", 1)[0].strip("[]") if remote else ""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _proxy_with_auth(proxy: str, auth: bytes | None) -> str:
    """The proxy URL with the credentials of a Basic Proxy-Authorization value, which
    Scrapy's HttpProxyMiddleware took out of the URL (guise sends them to the proxy
    itself, and never to the origin)."""
    if not auth or not auth.startswith(b"Basic "):
        return proxy
    try:
        user, _, pw = base64.b64decode(auth[6:].strip()).decode("latin-1").partition(":")
    except ValueError:
        return proxy
    if "://" not in proxy:
        proxy = "http://" + proxy
    p = urllib.parse.urlsplit(proxy)
    if p.username is not None:
        return proxy
    q = urllib.parse.quote
    netloc = f"{q(user, safe='')}:{q(pw, safe='')}@{p.netloc}"
    return urllib.parse.urlunsplit((p.scheme, netloc, p.path, p.query, p.fragment))


class DownloadHandler:
    """Scrapy download handler for http:// and https:// over guise (see the module's
    docstring for settings and meta keys)."""

    lazy = False

    def __init__(self, settings, crawler=None):
        self._crawler = crawler
        profile = settings.get("GUISE_PROFILE") or guise.DEFAULT_PROFILE
        resolve = settings.getlist("GUISE_RESOLVE") or None
        self._default_timeout = settings.getfloat("DOWNLOAD_TIMEOUT", 180.0)
        self._default_maxsize = settings.getint("DOWNLOAD_MAXSIZE")
        # Scrapy's own default values of these fields give way to the profile's.
        self._scrapy_defaults = {b"user-agent": default_settings.USER_AGENT.encode("latin-1")}
        for k, v in default_settings.DEFAULT_REQUEST_HEADERS.items():
            self._scrapy_defaults[k.lower().encode("latin-1")] = v.encode("latin-1")
        self._client = guise.AsyncClient(
            profile=profile, verify=settings.getbool("GUISE_VERIFY", True),
            cacert=settings.get("GUISE_CACERT"), timeout=self._default_timeout,
            follow_redirects=False, cookies=False, resolve=resolve,
            http_version=settings.get("GUISE_HTTP_VERSION"),
            max_connections_per_origin=settings.getint("GUISE_CONNECTIONS_PER_ORIGIN", 0))
        self._engine = self._client._engine
        self._waiting: dict[int, tuple[defer.Deferred, object]] = {}
        from twisted.internet import reactor
        self._reactor = reactor
        self._reader = _EngineReader(self, self._engine.fileno())
        reactor.addReader(self._reader)
        self._closed = False

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings, crawler)

    def _headers_of(self, request) -> tuple[list[tuple[str, str]], bytes | None]:
        pairs = []
        proxy_auth = None
        for name, values in request.headers.items():
            low = name.lower()
            if low == b"accept-encoding":
                continue  # the profile's: guise decodes what it asked for
            if low == b"proxy-authorization":
                proxy_auth = values[-1] if values else None
                continue
            default = self._scrapy_defaults.get(low)
            for v in values:
                if default is not None and v == default:
                    continue
                pairs.append((name.decode("latin-1"), v.decode("latin-1")))
        return pairs, proxy_auth

    def download_request(self, request, spider):
        """A Deferred that fires with a scrapy Response (or fails with a GuiseError)."""
        if self._closed:
            return defer.fail(guise.ResourceError(-1103, "CANCELLED", "resource",
                                                  "the download handler is closed"))
        headers, proxy_auth = self._headers_of(request)
        meta = request.meta
        proxy = meta.get("proxy")
        if proxy:
            proxy = _proxy_with_auth(proxy, proxy_auth)
        maxsize = meta.get("download_maxsize", getattr(spider, "download_maxsize", self._default_maxsize))
        timeout = meta.get("download_timeout", self._default_timeout)
        try:
            token, _ = self._client._submit(
                request.method, request.url, True, headers=headers,
                content=request.body if request.body else None,
                timeout=min(float(timeout), 86400.0) if timeout else None,
                profile=meta.get("guise_profile"), proxy=proxy or None, kind=meta.get("guise_kind"),
                max_body=int(maxsize) if maxsize else 0)
        except Exception as e:  # noqa: BLE001  (a bad URL or option: the request's failure)
            return defer.fail(e)
        d = defer.Deferred(lambda _d: self._cancel(token))
        self._waiting[token] = (d, request)
        return d

    def _cancel(self, token: int) -> None:
        # Scrapy gave up on it (a timeout, the spider closing): stopped at its next callback.
        self._waiting.pop(token, None)
        self._engine.cancel(token)

    def _on_ready(self) -> None:
        for token, result in self._engine.drain():
            entry = self._waiting.pop(token, None)
            if entry is None:
                continue
            d, request = entry
            try:
                if result is None:
                    raise guise.ResourceError(-1101, "NOMEM", "resource", "out of memory", request.url)
                resp = self._response(request, result)
            except Exception as e:  # noqa: BLE001  (one bad result never strands the others)
                d.errback(e)
            else:
                d.callback(resp)

    @staticmethod
    def _response(request, result):
        err, status, pairs, body, info, _redirects = result
        if err:
            detail = info[8] if info else ""
            raise guise._error(err, _guise.err_name(err), _guise.err_class(err),
                               detail or _guise.strerror(err), request.url)
        decoded = any(k.lower() == "content-encoding" for k, _ in pairs)
        headers = Headers()
        for k, v in pairs:
            low = k.lower()
            # The body is decoded: its coding and wire length no longer describe it.
            if decoded and low in ("content-encoding", "content-length"):
                continue
            headers.appendlist(k, v)
        respcls = responsetypes.from_args(headers=headers, url=request.url, body=body)
        return respcls(url=request.url, status=status, headers=headers, body=body,
                       ip_address=_ip_of(info[5]), protocol=info[0] or None)

    def close(self):
        """Ends the requests still running (their Deferreds fail with ResourceError
        CANCELLED) and stops the engine's thread."""
        if self._closed:
            return defer.succeed(None)
        self._closed = True
        self._reactor.removeReader(self._reader)
        self._client.close()  # joins the engine's thread: the loop has stopped
        self._on_ready()
        waiting, self._waiting = self._waiting, {}
        for d, request in waiting.values():
            d.errback(guise.ResourceError(-1103, "CANCELLED", "resource", "the download handler was closed",
                                          _guise.url_redact(request.url)))
        return defer.succeed(None)
