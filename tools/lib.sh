# Shared settings for the tools/ scripts. Sourced, not run.
# shellcheck shell=bash

GUISE_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# BoringSSL source: Debian's android-platform-external-boringssl (see docs/BUILDING.md).
BSSL_PKG=android-platform-external-boringssl
BSSL_VERSION=14.0.0+r45
BSSL_SUITE=trixie
BSSL_ORIG="${BSSL_PKG}_${BSSL_VERSION}.orig.tar.xz"
BSSL_SHA256=f9223e8c15ad5d9e3f1cd50861f4c272658864661e2332bea5d60952aa0930cd
BSSL_SIZE=31728996

# The verified tarball is cached outside any build tree so that a rebuild, a new
# clone or `rm -rf build` never downloads it again.
if [ -z "${GUISE_CACHE:-}" ]; then
  if [ "$(id -u)" = 0 ]; then GUISE_CACHE=/var/cache/guise
  else GUISE_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/guise"; fi
fi
BSSL_CACHED="$GUISE_CACHE/boringssl/$BSSL_ORIG"

GUISE_BUILD="${GUISE_BUILD:-$GUISE_TOP/build}"

die() { printf 'guise setup: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'guise setup: %s\n' "$*" >&2; }

# Prints the SHA-256 of $1.
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
