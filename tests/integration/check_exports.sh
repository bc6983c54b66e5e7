#!/usr/bin/env bash
# check_exports.sh LIBGUISE.so LIBGUISE.a — every defined global symbol starts with guise_.
set -euo pipefail
so=$1 ar=$2
fail=0
dyn=$(nm -D --defined-only "$so" | awk '{print $3}')
[ -n "$dyn" ] || { echo "no dynamic symbols at all in $so"; exit 1; }
bad=$(printf '%s\n' "$dyn" | grep -v '^guise_' || true)
if [ -n "$bad" ]; then echo "$so exports non-guise_ symbols:"; printf '%s\n' "$bad" | head -20; fail=1; fi
printf '%s\n' "$dyn" | grep -qx guise_version || { echo "$so does not export guise_version"; fail=1; }
# Global (upper-case type letter) defined symbols of the static archive.
st=$(nm --defined-only -g "$ar" | awk 'NF == 3 {print $3}')
bad=$(printf '%s\n' "$st" | grep -v '^guise_' || true)
if [ -n "$bad" ]; then echo "$ar has global non-guise_ symbols:"; printf '%s\n' "$bad" | head -20; fail=1; fi
printf '%s\n' "$st" | grep -qx guise_version || { echo "$ar does not define guise_version"; fail=1; }
echo "$(printf '%s\n' "$dyn" | wc -l) exported symbols in $(basename "$so"), $(printf '%s\n' "$st" | wc -l) global in $(basename "$ar")"
exit $fail
