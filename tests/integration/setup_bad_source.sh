#!/usr/bin/env bash
# setup_bad_source.sh GOOD_TARBALL — the BoringSSL fetch and prepare steps refuse
# bad sources with one clear message and leave nothing that a later run would trust.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
good=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; else echo "ok: $1"; fi; }

# 1. A truncated local copy: refused, named, nothing cached.
head -c 1000000 "$good" > "$work/truncated.tar.xz"
out=$(GUISE_CACHE="$work/cache" GUISE_BORINGSSL_TARBALL="$work/truncated.tar.xz" \
      "$top/tools/boringssl/fetch" 2>&1); rc=$?
check "truncated tarball exits non-zero" '[ $rc -ne 0 ]'
check "message says corrupt and what to do" '[[ $out == *"is corrupt: 1000000 bytes"* && $out == *"Run tools/setup again"* ]]'
check "message is one line" '[ "$(printf "%s\n" "$out" | wc -l)" = 1 ]'
check "nothing left in the cache" '[ -z "$(find "$work/cache" -type f)" ]'

# 2. Same size, one byte flipped: the checksum catches it.
cp "$good" "$work/flipped.tar.xz"
printf '\xff' | dd of="$work/flipped.tar.xz" bs=1 seek=4096 conv=notrunc status=none
out=$(GUISE_CACHE="$work/cache" GUISE_BORINGSSL_TARBALL="$work/flipped.tar.xz" \
      "$top/tools/boringssl/fetch" 2>&1); rc=$?
check "flipped byte exits non-zero" '[ $rc -ne 0 ] && [[ $out == *"with SHA-256"* ]]'
check "nothing left in the cache after flip" '[ -z "$(find "$work/cache" -type f)" ]'

# 3. A corrupt cached copy is not trusted: it is replaced by a verified one.
mkdir -p "$work/cache/boringssl"
cached="$work/cache/boringssl/$(basename "$good")"
head -c 5000 "$good" > "$cached"
out=$(GUISE_CACHE="$work/cache" GUISE_BORINGSSL_TARBALL="$good" "$top/tools/boringssl/fetch" 2>&1); rc=$?
check "corrupt cache replaced" '[ $rc -eq 0 ] && cmp -s "$cached" "$good"'

# 4. prepare: a missing tarball is named; a tree without its stamp is redone.
out=$("$top/tools/boringssl/prepare" "$work/nope.tar.xz" "$work/out" 2>&1); rc=$?
check "prepare names a missing tarball" '[ $rc -ne 0 ] && [[ $out == *"nope.tar.xz is missing: run tools/setup"* ]]'
out=$("$top/tools/boringssl/prepare" "$work/flipped.tar.xz" "$work/out" 2>&1); rc=$?
check "prepare refuses a bad tarball, leaves no tree" '[ $rc -ne 0 ] && [ ! -e "$work/out/tree" ] && [ -z "$(ls "$work/out")" ]'
mkdir -p "$work/out/tree"; echo junk > "$work/out/tree/.guise-stamp"
"$top/tools/boringssl/prepare" "$good" "$work/out" 2>/dev/null; rc=$?
check "unstamped tree rebuilt" '[ $rc -eq 0 ] && [ -f "$work/out/tree/android-sources.cmake" ] && [ "$(cat "$work/out/tree/.guise-stamp")" != junk ]'

[ $fail = 0 ] && echo "all setup checks passed"
exit $fail
