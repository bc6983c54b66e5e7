#!/bin/sh
# test_capture_cli.sh GUISE VECTORS_DIR — `guise fp`: records on stdout, exit statuses.
set -u
guise=$1 v=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # check WANT_STATUS DESCRIPTION -- command...
  want=$1 what=$2; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"; got=$?
  if [ "$got" != "$want" ]; then
    echo "FAIL: $what: exit $got, want $want"; cat "$tmp/err"; fail=1
  fi
}
pcap=$v/clienthello/local_curl7.88.1_two_handshakes.pcap
check 0 "two handshakes" -- "$guise" fp "$pcap"
[ "$(wc -l <"$tmp/out")" = 2 ] || { echo "FAIL: want 2 JSON lines"; fail=1; }
grep -q '"ja3_md5":"0149f47eabf9a20d0893e2a44e5a6323"' "$tmp/out" || { echo "FAIL: JA3 missing"; fail=1; }
grep -q '"client":"127.0.0.1:39630","server":"127.0.0.1:18443"' "$tmp/out" || { echo "FAIL: flow"; fail=1; }
check 0 "pretty" -- "$guise" fp --pretty "$v/h2/nghttp1.52_and_curl_h2c_port18445.pcap"
grep -q '^  "http2": {' "$tmp/out" || { echo "FAIL: --pretty layout"; fail=1; }
check 0 "hex vectors" -- "$guise" fp "$v"/clienthello/*.hex
[ "$(wc -l <"$tmp/out")" -ge 7 ] || { echo "FAIL: want a line per hex vector"; fail=1; }
printf '16 03 01 zz\n' >"$tmp/bad.hex"
check 1 "malformed hex" -- "$guise" fp "$tmp/bad.hex"
grep -q '"stage":"hex","offset":9' "$tmp/out" || { echo "FAIL: hex error offset"; cat "$tmp/out"; fail=1; }
head -c 3000 "$pcap" >"$tmp/trunc.pcap"
check 1 "truncated pcap" -- "$guise" fp "$tmp/trunc.pcap"
grep -q '"stage":"capture","offset":2980' "$tmp/out" || { echo "FAIL: truncation record"; cat "$tmp/out"; fail=1; }
check 1 "good and bad files" -- "$guise" fp "$pcap" "$tmp/bad.hex"
check 2 "missing file" -- "$guise" fp "$tmp/none.pcap"
grep -q "none.pcap" "$tmp/err" || { echo "FAIL: message names the file"; fail=1; }
check 2 "directory" -- "$guise" fp "$tmp"
head -c 10 "$pcap" >"$tmp/short.pcap"
check 2 "capture header cut" -- "$guise" fp "$tmp/short.pcap"
check 2 "no file" -- "$guise" fp
check 2 "unknown option" -- "$guise" fp --bogus "$pcap"
check 2 "bad limit" -- "$guise" fp --max-flows 0 "$pcap"
check 1 "per-connection cap" -- "$guise" fp --max-flow-bytes 100 "$pcap"
check 0 "help" -- "$guise" fp --help
check 0 "stats" -- "$guise" fp --stats "$pcap"
grep -q "2 TCP connections, 2 records (0 errors)" "$tmp/err" || { echo "FAIL: --stats"; cat "$tmp/err"; fail=1; }
# QUIC: the counters of a headed Chromium's capture (tests/data/captures/quic: one
# connection, its ClientHello over two client Initials).
check 0 "stats of a QUIC capture" -- "$guise" fp --stats "$v/../captures/quic/chromium-1.pcap"
grep -q "quic: 1 connections, 2 Initials decrypted, 0 undecryptable" "$tmp/err" ||
  { echo "FAIL: --stats QUIC counters"; cat "$tmp/err"; fail=1; }
[ $fail = 0 ] && echo "test_capture_cli: ok"
exit $fail
