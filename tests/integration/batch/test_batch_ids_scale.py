#!/usr/bin/env python3
"""guise batch: what finding duplicate ids costs per input line, and that the
duplicates are still named with their first line when there are thousands of
them (docs/BATCH.md "Ids").

- Memory: the peak RSS of a run of 420,000 lines less that of 20,000, per line
  (each input starts with a 3 MB comment, so that both runs are above the
  launcher's share, see LAUNCH).
  A job's own id costs at most 21 bytes from a file, 27 from a pipe (the line is
  kept beside it), a line without an id at most 1 (was about 41 each: two
  64-bit hashes and the line in a 32-byte node, plus the bucket array); a
  --resume run at most 40 per record and line (was about 101: each previous id
  in a node of its own).
- 17,000 ids given twice and one three times (more duplicates than are resolved
  at once, 16,384): each duplicate's record names the first line, from a file (the
  input read again) and from a pipe alike.
- Ids that are line numbers, past the first 65,536 lines: a duplicate when that
  line took its number, not when it was blank or had an id of its own.
Expected values come from the rules of docs/BATCH.md, computed here.

The jobs are ftp:// URLs: refused at once (USAGE_URL_SCHEME) without a network,
so that 420,000 of them take well under a second.

usage: test_batch_ids_scale.py GUISE
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

GUISE = sys.argv[1]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, finish  # noqa: E402

ARGS = [GUISE, "batch", "--progress", "never", "--profile", "none"]
# A sanitizer's build keeps freed memory in quarantine: there the memory figures
# are only shown.
with open(GUISE, "rb") as f:
    _exe = f.read()
SANITIZED = b"__asan_init" in _exe or b"__tsan_init" in _exe
del _exe


# A launcher of its own: Linux counts a child's peak RSS from the process it was
# started by (the parent's memory at exec), so the test's Python, holding the
# input, would hide guise's figure; a bare python3 -S holds about 8 MiB.
LAUNCH = ("import os, sys\n"
          "pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ)\n"
          "_, st, ru = os.wait4(pid, 0)\n"
          "print(os.waitstatus_to_exitcode(st), ru.ru_maxrss)\n")


def peak_kib(args, path=None, stdin_path=None):
    """Exit status and peak RSS (KiB) of one run of guise batch |args|, its input
    the file |path| as an operand, or |stdin_path| through a pipe (cat |)."""
    cmd = [sys.executable, "-S", "-c", LAUNCH] + ARGS + args + ([path] if path else [])
    if stdin_path:
        with open(stdin_path, "rb") as f:
            cat = subprocess.Popen(["cat"], stdin=f, stdout=subprocess.PIPE)
            out = subprocess.run(cmd, stdin=cat.stdout, capture_output=True, timeout=120).stdout
            cat.stdout.close()
            cat.wait()
    else:
        out = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=120).stdout
    rc, kib = out.split()
    return int(rc), int(kib)


def write_jobs(path, lines, lift=False):
    with open(path, "w") as f:
        if lift:  # a 3 MB comment: the line buffer holds it, in both runs alike
            f.write("#" + "x" * 3000000 + "\n")
        f.write("".join(x + "\n" for x in lines))


tmp = tempfile.mkdtemp(prefix="guise-batch-ids-scale-")
try:
    # ---- memory per line ---------------------------------------------------------------
    small, big = 20000, 60000 if SANITIZED else 420000  # figures not checked there: a short run
    for kind, make in [("own ids", lambda i: '{"id":"job-%d","url":"ftp://127.0.0.1/%d"}' % (i, i)),
                       ("no ids", lambda i: "ftp://127.0.0.1/%d" % i)]:
        for n in (small, big):
            write_jobs(f"{tmp}/{kind[:3]}{n}.jsonl", [make(i) for i in range(n)], lift=True)
        modes = [("a file", False)] + ([("a pipe", True)] if kind == "own ids" else [])
        for mode, pipe in modes:
            res = []
            for n in (small, big):
                path = f"{tmp}/{kind[:3]}{n}.jsonl"
                rc, kib = peak_kib(["-o", f"{tmp}/mem.out"], None if pipe else path, path if pipe else None)
                lines = sum(1 for _ in open(f"{tmp}/mem.out"))
                res.append((rc, kib, lines))
            per_line = (res[1][1] - res[0][1]) * 1024 / (big - small)
            limit = 1 if kind == "no ids" else 27 if pipe else 21
            check(f"{kind} from {mode}: {per_line:.1f} bytes of peak RSS per input line (at most {limit}; "
                  f"was ~41{', not checked under a sanitizer' if SANITIZED else ''})",
                  res[0][0] == 0 and res[1][0] == 0 and res[0][2] == small and res[1][2] == big and
                  (per_line <= limit or SANITIZED), res)

    # ---- --resume: the previous run's ids -------------------------------------------------------
    # Each run's records are written first; the --resume run then skips every job, and
    # holds one entry per record of the previous run.
    res = []
    for n in (small, big):
        path, out = f"{tmp}/own{n}.jsonl", f"{tmp}/resume{n}.out"
        subprocess.run(ARGS + ["-o", out, path], capture_output=True, timeout=120)
        rc, kib = peak_kib(["-o", out, "--resume"], path)
        res.append((rc, kib, sum(1 for _ in open(out))))
    per_line = (res[1][1] - res[0][1]) * 1024 / (big - small)
    check(f"--resume over a run's records: {per_line:.1f} bytes of peak RSS per record and its line (at most 40: "
          f"the previous run's id and the input's, ~17 each; was ~101"
          f"{', not checked under a sanitizer' if SANITIZED else ''})",
          res[0][0] == 0 and res[1][0] == 0 and res[0][2] == small and res[1][2] == big and
          (per_line <= 40 or SANITIZED), res)

    # ---- many duplicates: their first lines -------------------------------------------------
    lines = []
    n = 17000  # more than the 16,384 that wait for one reading of the input
    for i in range(n):
        lines.append('{"id":"d%d","url":"ftp://127.0.0.1/a%d"}' % (i, i))
        if i == 8999:
            lines.append("")  # a blank line: no record, but it counts
    for i in reversed(range(n)):
        lines.append('{"id":"d%d","url":"ftp://127.0.0.1/b%d"}' % (i, i))
    lines.append('{"id":"d7","url":"ftp://127.0.0.1/c"}')  # a third time, after its second was resolved
    lines.append('{"id":"d9999","url":"ftp://127.0.0.1/new"}')
    write_jobs(f"{tmp}/dups.jsonl", lines)
    # expected, from the rules: the first line with the id
    first, want = {}, {}
    for ln, text in enumerate(lines, 1):
        if not text:
            continue
        jid = json.loads(text)["id"]
        if jid in first:
            want[ln] = ("#%d" % ln, 'duplicate id "%s" (first on line %d): not run' % (jid, first[jid]))
        else:
            first[jid] = ln
            want[ln] = (jid, None)
    for mode in ("file", "pipe"):
        if mode == "file":
            r = subprocess.run(ARGS + [f"{tmp}/dups.jsonl"], capture_output=True, timeout=120)
        else:
            r = subprocess.run(ARGS, input=open(f"{tmp}/dups.jsonl", "rb").read(), capture_output=True, timeout=120)
        recs = [json.loads(x) for x in r.stdout.decode().splitlines()]
        got = {x["line"]: (x["id"], x.get("error_detail") if x["id"].startswith("#") else None) for x in recs}
        bad = [(ln, want[ln], got.get(ln)) for ln in want if got.get(ln) != want[ln]]
        check(f"17,001 duplicates from a {mode}: each record names its id and first line, one record a line",
              r.returncode == 0 and len(recs) == len(want) and not bad, (r.returncode, len(recs), bad[:5]))

    # ---- ids that are line numbers, past the first page of 65,536 lines ---------------------
    lines = []
    for ln in range(1, 70001):
        lines.append("" if ln == 100 else
                     '{"id":"x","url":"ftp://127.0.0.1/x"}' if ln == 200 else "ftp://127.0.0.1/%d" % ln)
    tail = ['{"id":"5","url":"ftp://127.0.0.1/t1"}',       # 70001: line 5 took "5"
            '{"id":"65537","url":"ftp://127.0.0.1/t2"}',   # 70002: line 65537 took "65537"
            '{"id":"100","url":"ftp://127.0.0.1/t3"}',     # 70003: line 100 is blank: runs
            '{"id":"200","url":"ftp://127.0.0.1/t4"}',     # 70004: line 200 is "x": runs
            '{"id":"70010","url":"ftp://127.0.0.1/t5"}',   # 70005: a later line's number: runs
            '{"id":"70000","url":"ftp://127.0.0.1/t6"}',   # 70006: line 70000 took "70000"
            "ftp://127.0.0.1/a", "ftp://127.0.0.1/b", "ftp://127.0.0.1/c",
            "ftp://127.0.0.1/t10"]                         # 70010: its number is taken: "#70010"
    lines += tail
    write_jobs(f"{tmp}/nums.jsonl", lines)
    r = subprocess.run(ARGS + [f"{tmp}/nums.jsonl"], capture_output=True, timeout=120)
    by_line = {x["line"]: x for x in map(json.loads, r.stdout.decode().splitlines())}
    want = {70001: ("#70001", 'duplicate id "5" (first on line 5)'),
            70002: ("#70002", 'duplicate id "65537" (first on line 65537)'),
            70003: ("100", None), 70004: ("200", None), 70005: ("70010", None),
            70006: ("#70006", 'duplicate id "70000" (first on line 70000)'), 70010: ("#70010", None)}
    got = {}
    for ln, (wid, wdetail) in want.items():
        x = by_line.get(ln, {})
        got[ln] = (x.get("id"), wdetail if wdetail and wdetail in (x.get("error_detail") or "") else
                   None if wdetail is None else x.get("error_detail"))
    check("ids that are line numbers past line 65,536: duplicates of lines that took their number only",
          r.returncode == 0 and got == want and len(by_line) == len(lines) - 1, (got, len(by_line)))
finally:
    shutil.rmtree(tmp, ignore_errors=True)

finish()
