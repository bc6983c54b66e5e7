#!/usr/bin/env bash
# setup_bad_quic_source.sh CACHE_QUIC_DIR — tools/quic/fetch and tools/quic/prepare
# refuse bad ngtcp2/nghttp3 sources with one clear message and leave nothing that a
# later run would trust. CACHE_QUIC_DIR holds the verified files (the setup's cache);
# every run here uses a temporary cache and the GUISE_*_TARBALL overrides, so no
# network is needed.
set -uo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
good=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; else echo "ok: $1"; fi; }
ng="$good/ngtcp2_1.11.0.orig.tar.xz"
deb="$good/ngtcp2_1.11.0-1+deb13u1.debian.tar.xz"
h3="$good/nghttp3_1.15.0.orig.tar.xz"
for f in "$ng" "$deb" "$h3"; do
  [ -f "$f" ] || { echo "FAIL: $f is missing (run tools/setup)"; exit 1; }
done
fetch() {  # fetch CACHE NGTCP2 DEBIAN NGHTTP3
  GUISE_CACHE="$1" GUISE_NGTCP2_TARBALL="$2" GUISE_NGTCP2_DEBIAN_TARBALL="$3" \
    GUISE_NGHTTP3_TARBALL="$4" "$top/tools/quic/fetch" 2>&1
}

# 1. A truncated local copy of ngtcp2: refused, named, nothing cached.
head -c 100000 "$ng" > "$work/truncated.tar.xz"
out=$(fetch "$work/c1" "$work/truncated.tar.xz" "$deb" "$h3"); rc=$?
check "truncated tarball exits non-zero" '[ $rc -ne 0 ]'
check "message names the variable, says corrupt and what to do" \
  '[[ $out == *"GUISE_NGTCP2_TARBALL"*"is corrupt: 100000 bytes"* && $out == *"Run tools/setup again"* ]]'
check "message is one line" '[ "$(printf "%s\n" "$out" | wc -l)" = 1 ]'
check "nothing left in the cache" '[ -z "$(find "$work/c1" -type f -name "*.xz*")" ]'

# 2. nghttp3 of the same size with one byte flipped: the checksum catches it.
cp "$h3" "$work/flipped.tar.xz"
printf '\xff' | dd of="$work/flipped.tar.xz" bs=1 seek=4096 conv=notrunc status=none
out=$(fetch "$work/c2" "$ng" "$deb" "$work/flipped.tar.xz"); rc=$?
check "flipped byte exits non-zero" '[ $rc -ne 0 ] && [[ $out == *"GUISE_NGHTTP3_TARBALL"*"with SHA-256"* ]]'
check "no nghttp3 in the cache after flip" '[ -z "$(find "$work/c2" -name "nghttp3*")" ]'

# 3. A corrupt cached copy is not trusted: it is replaced by a verified one.
mkdir -p "$work/c3/quic"
head -c 5000 "$h3" > "$work/c3/quic/$(basename "$h3")"
out=$(fetch "$work/c3" "$ng" "$deb" "$h3"); rc=$?
check "corrupt cache replaced" '[ $rc -eq 0 ] && cmp -s "$work/c3/quic/$(basename "$h3")" "$h3"'
check "fetch prints the three cached paths" '[ "$(printf "%s\n" "$out" | grep -c "^$work/c3/quic/")" = 3 ]'

# 4. prepare: a missing file is named; a file spoiled after the fetch is refused and
#    leaves no tree; a tree without its stamp is redone, with Debian's patch applied.
rm "$work/c3/quic/$(basename "$deb")"
out=$(GUISE_CACHE="$work/c3" "$top/tools/quic/prepare" "$work/out" 2>&1); rc=$?
check "prepare names a missing file" '[ $rc -ne 0 ] && [[ $out == *"$(basename "$deb") is missing: run tools/setup"* ]]'
cp "$deb" "$work/c3/quic/"
printf '\xff' | dd of="$work/c3/quic/$(basename "$h3")" bs=1 seek=4096 conv=notrunc status=none
out=$(GUISE_CACHE="$work/c3" "$top/tools/quic/prepare" "$work/out" 2>&1); rc=$?
check "prepare refuses a spoiled file, leaves no tree" \
  '[ $rc -ne 0 ] && [[ $out == *"fails its SHA-256 check"* ]] && [ -z "$(ls "$work/out")" ]'
cp "$h3" "$work/c3/quic/"
mkdir -p "$work/out/tree"; echo junk > "$work/out/tree/.guise-stamp"
GUISE_CACHE="$work/c3" "$top/tools/quic/prepare" "$work/out" 2>/dev/null; rc=$?
check "unstamped tree rebuilt" \
  '[ $rc -eq 0 ] && [ -f "$work/out/tree/ngtcp2/crypto/boringssl/boringssl.c" ] && [ -f "$work/out/tree/nghttp3/lib/nghttp3_conn.c" ] && [ "$(cat "$work/out/tree/.guise-stamp")" != junk ]'
# Debian's CVE-2026-40170 patch (debian/patches in 1.11.0-1+deb13u1) enlarges this buffer.
check "Debian's ngtcp2 patch applied" \
  'grep -q "uint8_t buf\[2048\];" "$work/out/tree/ngtcp2/lib/ngtcp2_qlog.c"'

[ $fail = 0 ] && echo "all QUIC setup checks passed"
exit $fail
