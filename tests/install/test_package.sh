#!/usr/bin/env bash
# test_package.sh SOURCE_DIR BUILD_DIR — tools/package's two .deb files: what
# dpkg-deb --contents lists, their control fields, and a root made with dpkg -x from
# which the consumer program builds (pkg-config) and runs, and guise --version runs.
set -uo pipefail
top=$1 build=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/guise-deb.XXXXXX)
echo_pid=
cleanup() { [ -n "$echo_pid" ] && kill "$echo_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$top/tools/package" --no-setup --build-dir "$build" --out "$tmp/dist" >"$tmp/package.log" 2>&1 ||
  { cat "$tmp/package.log"; echo "FAIL: tools/package"; exit 1; }
arch=$(dpkg --print-architecture)
v=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
rt=$tmp/dist/guise_${v}_${arch}.deb dev=$tmp/dist/libguise-dev_${v}_${arch}.deb
for f in "$rt" "$dev"; do [ -s "$f" ] && ok "made $(basename "$f")" || fail "no $(basename "$f")"; done

has() { # DEB PATTERN...: every pattern matches a path of dpkg-deb --contents
  local deb=$1; shift
  local list; list=$(dpkg-deb --contents "$deb" | sed 's|^.* \./|./|')
  for p in "$@"; do
    if echo "$list" | grep -Eq "$p"; then ok "$(basename "$deb") holds $p"; else fail "$(basename "$deb") lacks $p"; fi
  done
}
has "$rt" '^\./usr/bin/guise$' "^\./usr/lib/(.*/)?libguise\.so\.$v\$" '^\./usr/lib/(.*/)?libguise\.so\.0 ->' \
  "^\./usr/lib/(.*/)?libguise-capture\.so\.$v\$" '^\./usr/share/man/man1/guise\.1\.gz$' \
  '^\./usr/share/man/man1/guise-batch\.1\.gz$' '^\./usr/share/doc/guise/README\.md$' \
  '^\./usr/share/bash-completion/completions/guise$' '^\./usr/share/zsh/vendor-completions/_guise$'
has "$dev" '^\./usr/include/guise\.h$' '^\./usr/include/guise_capture\.h$' '^\./usr/lib/(.*/)?libguise\.a$' \
  '^\./usr/lib/(.*/)?libguise\.so ->' '^\./usr/lib/(.*/)?pkgconfig/guise\.pc$' \
  '^\./usr/lib/(.*/)?pkgconfig/guise-static\.pc$' '^\./usr/lib/(.*/)?cmake/guise/guiseConfig\.cmake$'
# The runtime package must not carry development files, nor the dev package the runtime.
if dpkg-deb --contents "$rt" | sed 's|^.* \./|./|' | grep -Eq '\.a$|\.h$|\.pc$|libguise\.so ->'; then
  fail "guise .deb carries development files"; else ok "guise .deb carries no development files"; fi
dep=$(dpkg-deb --field "$rt" Depends)
for lib in libuv1 libnghttp2-14 libc-ares2 libpsl5 libidn2-0 libjansson4 libc6 libpcap0.8; do
  echo "$dep" | grep -q "$lib" && ok "guise Depends names $lib" || fail "guise Depends lacks $lib: $dep"
done
devdep=$(dpkg-deb --field "$dev" Depends)
echo "$devdep" | grep -q "guise (= $v)" && ok "libguise-dev Depends on guise (= $v)" || fail "libguise-dev Depends: $devdep"

root=$tmp/root
dpkg -x "$rt" "$root" && dpkg -x "$dev" "$root" || fail "dpkg -x"
L=$(dirname "$(ls "$root"/usr/lib/*/libguise.so.$v "$root"/usr/lib/libguise.so.$v 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L
"$root/usr/bin/guise" --version >"$tmp/version" 2>&1 && grep -q "^guise $v" "$tmp/version" &&
  ok "guise --version from the unpacked package: $(head -1 "$tmp/version")" || fail "guise --version: $(cat "$tmp/version")"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$root/usr/bin/guise" echo --listen "127.0.0.1:$port" >"$tmp/echo.log" 2>&1 &
echo_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
# The .pc files say prefix=/usr: the sysroot variable points pkg-config at the unpacked root.
export PKG_CONFIG_PATH=$L/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root
for kind in guise guise-static; do
  static=; [ $kind = guise-static ] && static=--static
  if cc -std=c11 -Wall -Werror "$here/consumer.c" -o "$tmp/c_$kind" $(pkg-config $static --cflags --libs $kind) 2>"$tmp/cc.log"; then
    out=$("$tmp/c_$kind" "https://127.0.0.1:$port/deb" 2>&1)
    if [ $? = 0 ] && echo "$out" | grep -q "status 200"; then ok "consumer ($kind) from the unpacked packages fetched"
    else fail "consumer ($kind): $out"; fi
  else fail "consumer ($kind) build: $(cat "$tmp/cc.log")"; fi
done
echo "$([ $fails = 0 ] && echo ok || echo FAIL): $fails failure(s)"
[ $fails = 0 ]
