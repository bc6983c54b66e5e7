"""guise --help lists every subcommand; guise --help all every option of the table
by group (like curl --help all), --help GROUP one group; guise URL --help and guise
batch --help keep working; guise --completion bash|zsh give scripts that complete
the table's options (bash: complete -p guise and the candidates of `guise --pro`;
zsh, when installed: the same through a pseudo-terminal); the man page built from
the table lists every option. Usage: test_cli_help.py GUISE MANDIR"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, finish

GUISE, MANDIR = sys.argv[1], sys.argv[2]


def run(*args, shell=None):
    p = subprocess.run(shell or [GUISE, *args], capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def names(text):
    return set(re.findall(r"(?m)^\s+(?:-., )?(--[a-z0-9.-]+)", text))


rc, top, err = run("--help")
check("guise --help: exit 0 on stdout", rc == 0 and err == "", (rc, err))
for sub in ("guise [options] URL", "guise batch", "guise profile", "guise echo", "guise fp", "guise enqueue",
            "--help all", "--completion"):
    check(f"guise --help names {sub!r}", sub in top, top)

rc, fetch_help, _ = run("http://127.0.0.1:1/", "--help")
rc2, batch_help, _ = run("batch", "--help")
check("guise URL --help and guise batch --help still work", rc == 0 and rc2 == 0 and "--max-time" in fetch_help
      and "--workers" in batch_help, (rc, rc2))

check("-K/--config is in both commands' --help", "-K, --config FILE" in fetch_help and "-K, --config FILE" in batch_help,
      (fetch_help[-600:], batch_help[-900:]))

rc, all_help, err = run("--help", "all")
check("guise --help all: exit 0", rc == 0 and err == "", (rc, err))
# Every option either command's own --help lists is in --help all (the table is one).
missing = (names(fetch_help) | names(batch_help)) - names(all_help)
check("--help all lists every option of guise URL --help and guise batch --help", not missing, missing)
# curl's common options the issue names, by the groups curl puts them in (curl --help category).
for group, opt in (("http", "--location"), ("http", "--request"), ("output", "--output"), ("verbose", "--silent"),
                   ("tls", "--insecure"), ("proxy", "--proxy"), ("dns", "--resolve"), ("connection", "--max-time"),
                   ("misc", "--config")):
    m = re.search(rf"(?ms)^{group}:\n(.*?)(?:\n\n|\Z)", all_help)
    check(f"--help all: {opt} under {group}:", m is not None and opt in m.group(1), all_help[:3000])
rc, tls, _ = run("--help", "tls")
check("--help tls: the tls group only", rc == 0 and "--insecure" in tls and "--proxy " not in tls
      and "--location" not in tls, tls)
rc, cats, _ = run("--help", "category")
check("--help category lists the groups", rc == 0 and all(g in cats.split() for g in ("http", "tls", "batch")), cats)
rc, _, err = run("--completion", "fish")
check("--completion fish: exit 2, named", rc == 2 and err == "guise: --completion fish: expected bash or zsh\n", err)
rc, _, err = run("--completion")
check("--completion alone: exit 2, named", rc == 2 and err == "guise: --completion needs one value: bash or zsh\n", err)

# bash: the script defines the completion, and `guise --pro<TAB>` offers both options.
bash = shutil.which("bash")
script = f"""
source <("{GUISE}" --completion bash) || exit 3
complete -p guise || exit 4
COMP_WORDS=(guise --pro); COMP_CWORD=1; _guise; echo "PRO: ${{COMPREPLY[*]}}"
COMP_WORDS=(guise batch --wor); COMP_CWORD=2; _guise; echo "WOR: ${{COMPREPLY[*]}}"
COMP_WORDS=(guise --wor); COMP_CWORD=1; _guise; echo "FWOR: ${{COMPREPLY[*]}}"
COMP_WORDS=(guise ba); COMP_CWORD=1; _guise; echo "SUB: ${{COMPREPLY[*]}}"
PATH="{os.path.dirname(GUISE)}:$PATH"
COMP_WORDS=(guise --profile chrome-15); COMP_CWORD=2; _guise; echo "PROF: ${{COMPREPLY[*]}}"
"""
rc, out, err = run(shell=[bash, "-c", script])
lines = dict(l.split(": ", 1) if ": " in l else (l.rstrip(":"), "") for l in out.splitlines() if ":" in l)
check("bash: complete -p guise names _guise", rc == 0 and "complete -o default -F _guise guise" in out, (rc, out, err))
pro = lines.get("PRO", "").split()
check("bash: guise --pro offers --profile and --proxy", "--profile" in pro and "--proxy" in pro, pro)
check("bash: guise batch --wor offers --workers", lines.get("WOR", "").split() == ["--workers"], lines)
check("bash: guise URL has no --workers", lines.get("FWOR", "").split() == [], lines)
check("bash: guise ba offers the subcommand batch", lines.get("SUB", "").split() == ["batch"], lines)
# the shipped profile files (profiles/*.json), not guise's own list, say what must be offered
shipped = {f[:-5] for f in os.listdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                                   "profiles")) if f.startswith("chrome-15") and f.endswith(".json")}
check(f"bash: guise --profile chrome-15 offers the shipped {sorted(shipped)}",
      shipped and shipped <= set(lines.get("PROF", "").split()), lines.get("PROF"))

# zsh (tools/setup installs it): the same through a pseudo-terminal, zsh's own zpty.
zsh = shutil.which("zsh")
if zsh is None:
    print("skip: zsh is not installed")
else:
    tmp = tempfile.mkdtemp(prefix="guise-zsh-")
    try:
        os.mkdir(os.path.join(tmp, "fn"))
        with open(os.path.join(tmp, "fn", "_guise"), "w") as f:
            f.write(run("--completion", "zsh")[1])
        rc, out, err = run(shell=[zsh, "-n", os.path.join(tmp, "fn", "_guise")])
        check("zsh: the script parses (zsh -n)", rc == 0, err)
        driver = f"""
zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z 'PS1="> "; fpath=({tmp}/fn $fpath); autoload -Uz compinit; compinit -u -d {tmp}/dump; unsetopt beep; PATH={os.path.dirname(GUISE)}:$PATH'
sleep 1
zpty -w -n z $'guise --pro\\t'
sleep 2
all=""
while zpty -r -t z chunk; do all+=$chunk; done
print -r -- "$all"
zpty -d z
"""
        p = subprocess.run([zsh, "-f", "-c", driver], capture_output=True, timeout=30, stdin=subprocess.DEVNULL,
                           env={**os.environ, "HOME": tmp, "TERM": "xterm"})
        shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", p.stdout.decode("utf-8", "replace"))
        check("zsh: guise --pro lists --profile and --proxy with their help",
              re.search(r"--profile\s+-- the browser", shown) and re.search(r"--proxy\s+-- http://", shown), shown[-2000:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

# The man page: made from the same table, so it lists every option --help all does.
with open(os.path.join(MANDIR, "guise.1"), encoding="utf-8") as f:
    man = f.read()
missing = {n for n in names(all_help) if n not in man}
check("guise.1 lists every option of --help all", not missing and ".SH CONFIG FILES" in man, missing)
finish()
