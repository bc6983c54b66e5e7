"""guise URL and guise batch read their options from one table (client/cli/options.c):
each bad option or value gets its one-line message naming the command and the
option, and exit 2; --help lists each command's options; -c is --cookie-jar for
one and --concurrency for the other. Usage: test_cli_options.py GUISE"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, finish

GUISE = sys.argv[1]
URL = "http://127.0.0.1:1/"  # never reached: every case ends before a request


def run(*args):
    p = subprocess.run([GUISE, *args], capture_output=True, timeout=20, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def refused(what, args, message):
    rc, out, err = run(*args)
    check(f"{what}: exit 2 and {message!r}", rc == 2 and err == message + "\n" and out == "",
          f"rc={rc} stdout={out!r} stderr={err!r}")


# Options a command does not take, and typos: named with the command's --help
# (curl's wording: "option --bogus: is unknown", exit 2); the other command's
# options are said to be its. Bundles and --name=value: test_cli_parse.py.
refused("unknown option", ["--bogus", URL], "guise: option --bogus: is unknown (guise --help all)")
refused("unknown option of batch", ["batch", "--bogus"], "guise batch: option --bogus: is unknown (guise batch --help)")
refused("batch has no -Z", ["batch", "-Z"], "guise batch: option -Z: is one of guise's, not guise batch's (guise batch --help)")
refused("batch has no -b", ["batch", "-b", "a=1"],
        "guise batch: option -b: is one of guise's, not guise batch's (guise batch --help)")
refused("batch has no --http2-prior-knowledge", ["batch", "--http2-prior-knowledge"],
        "guise batch: option --http2-prior-knowledge: is one of guise's, not guise batch's (guise batch --help)")
refused("guise URL has no --rate", ["--rate", "1", URL],
        "guise: option --rate: is one of guise batch's, not guise URL's (guise --help)")
refused("guise URL has no --workers", ["--workers", "1", URL],
        "guise: option --workers: is one of guise batch's, not guise URL's (guise --help)")
refused("an unknown letter in a bundle", ["-sSW", URL], "guise: option -sSW: -W is unknown (guise --help all)")
refused("--name=value checks the value", ["batch", "--max-time=0", "/dev/null"],
        "guise batch: --max-time 0: expected a number from 0.001 to 86400")

# A value missing at the end of the line.
refused("-o without a value", [URL, "-o"], "guise: -o needs a value")
refused("--output without a value (batch)", ["batch", "--output"], "guise batch: --output needs a value")
refused("--resolve without a value", ["--resolve"], "guise: --resolve needs a value")

# -c: the cookie jar of guise URL, the concurrency of guise batch.
refused("-c of guise URL takes a file", ["-c"], "guise: -c needs a value")
refused("-c of batch is a number", ["batch", "-c", "0", "/dev/null"],
        "guise batch: -c 0: expected a whole number from 1 to 1000000")

# Numbers and words each command checks.
refused("--max-time nan", ["--max-time", "nan", URL], "guise: --max-time nan: expected a number from 0.001 to 86400")
refused("-m nan (batch)", ["batch", "-m", "nan", "/dev/null"],
        "guise batch: -m nan: expected a number from 0.001 to 86400")
refused("--rate 1e-300", ["batch", "--rate", "1e-300", "/dev/null"],
        "guise batch: --rate 1e-300: expected a number from 0 to 10000000 (0, or at least 0.001)")
refused("--max-redirs 0", ["--max-redirs", "0", URL], "guise: --max-redirs 0: expected a whole number from 1 to 1000")
refused("--workers 257", ["batch", "--workers", "257", "/dev/null"],
        "guise batch: --workers 257: expected a whole number from 1 to 256")
refused("--body", ["batch", "--body", "gzip", "/dev/null"], "guise batch: --body gzip: expected discard, text or base64")
refused("--progress", ["batch", "--progress", "x", "/dev/null"],
        "guise batch: --progress x: expected auto, always or never")
refused("--dns-servers", ["--dns-servers", "127.0.0.1:99999", URL],
        'guise: --dns-servers: entry 1 "127.0.0.1:99999": the port is out of range (1-65535)')
refused("--dns-servers (batch)", ["batch", "--dns-servers", "127.0.0.1:99999", "/dev/null"],
        'guise batch: --dns-servers: entry 1 "127.0.0.1:99999": the port is out of range (1-65535)')
refused("-H without a colon", ["-H", "bad", URL], "guise: -H 'bad': expected 'Name: value'")
refused("-H with CR LF", ["--header", "X: a\r\nY: b", URL],
        "guise: --header 'X: a\\x0d\\x0aY: b': the value has a CR or LF (it would end the header)")
refused("-b cookies with a control character", ["-b", "a=1\x01", URL],
        "guise: -b 'a=1\\x01': the value has a control character (RFC 9110 5.5)")
refused("-d @missing", ["-d", "@/nonexistent/guise-body", URL], "guise: -d @/nonexistent/guise-body: No such file or directory")

# Operands.
refused("two inputs", ["batch", "a.jsonl", "b.jsonl"], "guise batch: one input (got a.jsonl and b.jsonl)")
refused("1001 URLs", [URL] * 1001, "guise: at most 1000 URLs (guise batch takes more)")

# Caps that ended the command without a word before.
refused("65 --resolve", sum([["--resolve", "a.test:1:127.0.0.1"] for _ in range(65)], []) + [URL],
        "guise: more than 64 --resolve")
refused("101 headers with -b", sum([["-H", "a: b"] for _ in range(100)], []) + ["-b", "c=1", URL],
        "guise: -b: at most 100 headers (-H and -b cookies together)")

# --help: stdout, exit 0; each option at its command's column, the letters shown.
rc, out, err = run("http://x/", "--help")
lines = out.splitlines()
check("guise URL --help: exit 0, stdout", rc == 0 and err == "" and lines[0] == "usage: guise [options] URL...", out[:200])
check("guise URL --help: -m shown with --max-time",
      "  -m, --max-time S         seconds for the whole request" in lines, out)
check("guise URL --help: a value's text continues at the column",
      "  -x, --proxy URL          http://, https://, socks4://, socks4a://, socks5:// or" in lines and
      "                           socks5h://[user:pass@]host[:port] (docs/PROXIES.md);" in lines, out)
check("guise URL --help: -c is the cookie jar", "  -c, --cookie-jar FILE    keep cookies and write them to FILE at the end" in lines, out)
check("guise URL --help: no batch option", "--rate" not in out and "--resume" not in out, out)
rc, out, err = run("batch", "-h")
lines = out.splitlines()
check("guise batch -h: exit 0, stdout", rc == 0 and err == "" and lines[0] == "usage: guise batch [options] [FILE|-]", out[:200])
check("guise batch --help: -c is the concurrency",
      "  -c, --concurrency N        requests in flight (default 256)" in lines, out)
check("guise batch --help: a name longer than the column",
      "      --connections-per-host N   pool connections per origin (default 6)" in lines, out)
check("guise batch --help: no option of guise URL alone", "--write-out" not in out and "--parallel" not in out, out)
rc, out, err = run("-v")
check("no URL: the usage on stderr, exit 2", rc == 2 and out == "" and err.startswith("usage: guise [options] URL..."),
      f"rc={rc} {err[:200]!r}")
finish()
