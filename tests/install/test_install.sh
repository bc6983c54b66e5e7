#!/usr/bin/env bash
# test_install.sh BUILD_DIR — guise as someone else's dependency: `cmake --install` into
# a temporary prefix, then programs built only from that tree (pkg-config shared and
# static, find_package shared and static) fetch from the installed `guise echo`; the
# installed library needs no libpcap; the man pages render; an unwritable prefix fails
# with CMake's error and writes nothing into the build tree.
set -uo pipefail
build=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/guise-install.XXXXXX)
echo_pid=
cleanup() { [ -n "$echo_pid" ] && kill "$echo_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else fail "$what"; fi; }

p=$tmp/prefix
cmake --install "$build" --prefix "$p" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "cmake --install"; exit 1; }
libdir=$(cd "$p" && ls -d lib lib/*-linux-gnu 2>/dev/null | while read -r d; do [ -e "$p/$d/libguise.so" ] && echo "$d"; done | head -1)
[ -n "$libdir" ] || { fail "no libguise.so under $p/lib"; find "$p" | head -50; exit 1; }
L=$p/$libdir
v=$(grep -m1 'project(guise VERSION' "$here/../../CMakeLists.txt" | sed 's/.*VERSION \([0-9.]*\).*/\1/')
major=${v%%.*}

# The files of docs/BUILDING.md's install list.
for f in bin/guise include/guise.h include/guise_capture.h "$libdir/libguise.so.$v" "$libdir/libguise.a" \
         "$libdir/libguise-capture.so.$v" "$libdir/libguise-capture.a" \
         "$libdir/pkgconfig/guise.pc" "$libdir/pkgconfig/guise-static.pc" "$libdir/pkgconfig/guise-capture.pc" \
         "$libdir/cmake/guise/guiseConfig.cmake" "$libdir/cmake/guise/guiseConfigVersion.cmake" \
         share/man/man1/guise.1 share/man/man1/guise-batch.1 share/doc/guise/README.md share/doc/guise/CLI.md \
         share/bash-completion/completions/guise share/zsh/vendor-completions/_guise; do
  check "installed $f" test -s "$p/$f"
done
check "libguise.so -> libguise.so.$major (dev symlink)" test "$(readlink "$L/libguise.so")" = "libguise.so.$major"
soname=$(readelf -d "$L/libguise.so.$v" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
check "SONAME of libguise is libguise.so.$major (got $soname)" test "$soname" = "libguise.so.$major"
deps=$(ldd "$L/libguise.so.$v" | awk '{print $1}' | tr '\n' ' ')
if echo "$deps" | grep -Eq 'pcap|dbus|systemd'; then fail "libguise.so needs none of libpcap/dbus/systemd: $deps"; else ok "libguise.so needs no libpcap, dbus, systemd"; fi
check "pkg-config file carries the prefix" grep -qx "prefix=$p" "$L/pkgconfig/guise.pc"
for page in guise guise-batch; do
  out=$(MANWIDTH=80 man -l "$p/share/man/man1/$page.1" 2>&1)
  if echo "$out" | grep -q "^NAME" && echo "$out" | grep -q -- "--"; then ok "man -l $page.1 renders";
  else fail "man -l $page.1: $(echo "$out" | head -3)"; fi
done

# The installed observer, on loopback.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$p/bin/guise" echo --listen "127.0.0.1:$port" >"$tmp/echo.log" 2>&1 &
echo_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
url=https://127.0.0.1:$port/install-test
check "installed guise --version runs" "$p/bin/guise" --version
check "installed bash completion defines guise's" bash -c "source '$p/share/bash-completion/completions/guise' && complete -p guise"

run_consumer() { # NAME BINARY [ENV...]
  local name=$1 bin=$2; shift 2
  local out
  out=$(env "$@" "$bin" "$url" 2>&1)
  if [ $? = 0 ] && echo "$out" | grep -q "status 200" && echo "$out" | grep -q '^body: {'; then ok "$name fetched from guise echo"
  else fail "$name: $out"; fi
}
export PKG_CONFIG_PATH=$L/pkgconfig
cc="cc -std=c11 -Wall -Werror"
if $cc "$here/consumer.c" -o "$tmp/c_pc_shared" $(pkg-config --cflags --libs guise) 2>"$tmp/cc.log"; then
  run_consumer "pkg-config guise (shared)" "$tmp/c_pc_shared" LD_LIBRARY_PATH="$L"
  check "the shared consumer needs libguise.so.$major" bash -c "LD_LIBRARY_PATH='$L' ldd '$tmp/c_pc_shared' | grep -q libguise.so.$major"
else fail "build with pkg-config guise: $(cat "$tmp/cc.log")"; fi
if $cc "$here/consumer.c" -o "$tmp/c_pc_static" $(pkg-config --static --cflags --libs guise-static) 2>"$tmp/cc.log"; then
  run_consumer "pkg-config --static guise-static" "$tmp/c_pc_static"
  if ldd "$tmp/c_pc_static" | grep -q libguise; then fail "the static consumer needs no libguise.so"; else ok "the static consumer needs no libguise.so"; fi
else fail "build with pkg-config --static guise-static: $(cat "$tmp/cc.log")"; fi

mkdir -p "$tmp/cm"
cp "$here/consumer.c" "$tmp/cm/" && cp "$here/CMakeLists.txt.consumer" "$tmp/cm/CMakeLists.txt"
if cmake -S "$tmp/cm" -B "$tmp/cm/build" -DCMAKE_PREFIX_PATH="$p" >"$tmp/cm.log" 2>&1 &&
   cmake --build "$tmp/cm/build" >>"$tmp/cm.log" 2>&1; then
  run_consumer "find_package(guise) guise::guise" "$tmp/cm/build/consumer"
  run_consumer "find_package(guise) guise::guise_static" "$tmp/cm/build/consumer_static"
else fail "find_package consumer: $(tail -20 "$tmp/cm.log")"; fi

# An install prefix that cannot be written: CMake's error, nothing new in the build tree
# but CMake's own install manifest.
touch "$tmp/stamp"; sleep 1
if cmake --install "$build" --prefix /proc/guise-cannot-write >"$tmp/bad.log" 2>&1; then
  fail "install into /proc succeeded"
else
  check "unwritable prefix: CMake names the path" grep -q "/proc/guise-cannot-write" "$tmp/bad.log"
  # (client/ is where the install rules keep what they generate; other tests and
  # builds running beside this one write elsewhere in the build tree)
  new=$(find "$build/client" -newer "$tmp/stamp" -type f | head -5)
  if [ -z "$new" ]; then ok "unwritable prefix: nothing written into the build tree"; else fail "files written into the build tree: $new"; fi
fi

echo "$([ $fails = 0 ] && echo ok || echo FAIL): $fails failure(s)"
[ $fails = 0 ]
