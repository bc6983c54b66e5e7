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

# QUIC + HTTP/3 sources (tools/quic/fetch; docs/BUILDING.md says why these versions).
# Each entry: cache name, source package, exact Debian version, suite, file, size, SHA-256.
# ngtcp2 1.11.0 is trixie's (its Debian patch series carries a security fix, so the
# debian.tar.xz is applied too); nghttp3 1.15.0 is trixie-backports' (the mirror this
# machine reaches no longer serves trixie's own nghttp3 1.8.0 source).
QUIC_NGTCP2_VERSION=1.11.0
QUIC_NGHTTP3_VERSION=1.15.0
QUIC_FILES=(
  "ngtcp2 ngtcp2 1.11.0-1+deb13u1 trixie ngtcp2_1.11.0.orig.tar.xz 652904 382c15bf66b630f26021631b25b7eb1feac42c67c1d6826189d61091dfaa4d09"
  "ngtcp2-debian ngtcp2 1.11.0-1+deb13u1 trixie ngtcp2_1.11.0-1+deb13u1.debian.tar.xz 10324 5d45f3e07ebaf4fff773d6ec32eee78c8514e17bac67dee8e268fa97af440854"
  "nghttp3 nghttp3 1.15.0-1~bpo13+1 trixie-backports nghttp3_1.15.0.orig.tar.xz 408660 6da0cd06b428d32a54c58137838505d9dc0371a900bb8070a46b29e1ceaf2e0f"
)
QUIC_CACHE="$GUISE_CACHE/quic"

# Prints the mirror of the machine's main Debian archive (not the security one), or
# nothing.
debian_mirror() {
  local m
  m=$(apt-get indextargets --format '$(REPO_URI) $(ORIGIN) $(CODENAME)' 2>/dev/null |
      awk '$2 == "Debian" && $3 !~ /-/ { print $1; exit }')
  [ -n "$m" ] || m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
                     awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }')
  [ -n "$m" ] || m=$(awk '$1 == "deb" && $2 !~ /security/ && $2 !~ /^\[/ { print $2; exit }' \
                     /etc/apt/sources.list 2>/dev/null || true)
  printf '%s' "$m"
}
