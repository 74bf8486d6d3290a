#!/usr/bin/env bash
# Builds the upstream keepalived 2.4.3 reference peer once and caches it under target/reference/.
#
#   ./scripts/build-reference.sh          # prints the path of the built binary on its last line
#
# The source is upstream's v2.4.3 tag, unmodified (`git archive`, so no pre-generated configure), kept
# outside the repository in shared/reference/ (next to the clone in CI: ../shared; /work/shared on the
# development machine; or $KRS_SHARED_DIR). Nothing of its code goes into the project: it is a test peer
# that tests run by path (target/reference/keepalived-2.4.3/bin/keepalived).
#
# Cached: when the binary and the stamp file (which records the tarball's sha256) are present and the
# tarball has not changed, the script does nothing. Environment knobs:
#   KRS_SHARED_DIR      where reference/keepalived-2.4.3.tar.gz lives
#   KRS_SKIP_INSTALL=1  do not apt-get the build dependencies (fail if missing instead)
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
VERSION=2.4.3
NAME=keepalived-$VERSION
OUT="$ROOT/target/reference/$NAME"
BIN="$OUT/bin/keepalived"
STAMP="$OUT/.stamp"

BUILD_DEPS=(build-essential autoconf automake libtool pkg-config libssl-dev libnl-3-dev libnl-genl-3-dev
    libnl-route-3-dev libnftnl-dev libmnl-dev)

die() { printf 'build-reference: %s\n' "$*" >&2; exit 2; }

find_tarball() {
    local d
    for d in "${KRS_SHARED_DIR:-}" "$ROOT/../shared" "/work/shared"; do
        [ -n "$d" ] && [ -f "$d/reference/$NAME.tar.gz" ] && { echo "$d/reference/$NAME.tar.gz"; return 0; }
    done
    return 1
}

TARBALL=$(find_tarball) || die "$NAME.tar.gz not found (looked in \$KRS_SHARED_DIR, ../shared, /work/shared)"
SUM=$(sha256sum "$TARBALL" | cut -d' ' -f1)

if [ -x "$BIN" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$SUM" ]; then
    echo "$BIN"
    exit 0
fi

missing=()
for p in "${BUILD_DEPS[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "${KRS_SKIP_INSTALL:-0}" = 1 ] && die "missing build dependencies: ${missing[*]}"
    [ "$(id -u)" = 0 ] || die "missing build dependencies (run as root, or apt-get install ${missing[*]})"
    echo "build-reference: installing ${missing[*]}" >&2
    apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
        || die "apt-get install ${missing[*]} failed"
fi

SRC="$ROOT/target/reference/src"
LOG="$ROOT/target/reference/$NAME-build.log"
rm -rf "$SRC/$NAME" "$OUT"
mkdir -p "$SRC" "$OUT"
: >"$LOG"
echo "build-reference: building $NAME (log: $LOG)" >&2
tar -xzf "$TARBALL" -C "$SRC" || die "cannot unpack $TARBALL"
(
    set -e
    cd "$SRC/$NAME"
    ./autogen.sh
    # Only what the VRRP interop tests need; no SNMP / D-Bus / regex (optional deps not installed).
    ./configure --prefix="$OUT" --sysconfdir="$OUT/etc" --disable-snmp --disable-dbus
    make -j"$(nproc)"
    make install
) >>"$LOG" 2>&1 || { tail -n 30 "$LOG" >&2; die "building $NAME failed (see $LOG)"; }

# install puts the daemon in sbin/; tests use bin/keepalived.
mkdir -p "$OUT/bin"
if [ -x "$OUT/sbin/keepalived" ]; then ln -sf ../sbin/keepalived "$BIN"; fi
[ -x "$BIN" ] || die "no keepalived binary after the build"
"$BIN" --version >/dev/null 2>&1 || die "$BIN --version failed"
echo "$SUM" >"$STAMP"
# The unpacked tree is kept under target/reference/src: its doc/ and www/docs/ are the specification.
echo "$BIN"
