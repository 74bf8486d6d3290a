#!/usr/bin/env bash
# Builds upstream keepalived 2.4.3 WITH JSON and D-Bus (--enable-json --enable-dbus) into
# target/ref-dbus/keepalived-2.4.3 (sbin/keepalived), for the tests comparing the JSON dump
# (json_version) and the D-Bus object tree (dbus_no_interface_name) with 2.4.3.
# scripts/build-reference.sh builds the plain 2.4.3 reference without them; this one adds Debian's
# libjson-c-dev and libglib2.0-dev (gio, for D-Bus).
#
# Cached: when the binary and the stamp (the tarball's sha256) are present, it does nothing.
#   KRS_SKIP_INSTALL=1  do not apt-get the extra build dependencies (fail if missing instead)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
NAME=keepalived-2.4.3
OUT="$ROOT/target/ref-dbus/$NAME"
BIN="$OUT/sbin/keepalived"
STAMP="$OUT/.stamp"
die() { printf 'build-reference-dbus: %s\n' "$*" >&2; exit 2; }
TARBALL=
for d in "${KRS_SHARED_DIR:-}" "$ROOT/../shared" "/work/shared"; do
    [ -n "$d" ] && [ -f "$d/reference/$NAME.tar.gz" ] && { TARBALL="$d/reference/$NAME.tar.gz"; break; }
done
[ -n "$TARBALL" ] || die "$NAME.tar.gz not found"
SUM=$(sha256sum "$TARBALL" | cut -d' ' -f1)
if [ -x "$BIN" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$SUM" ]; then
    echo "$BIN"
    exit 0
fi
"$ROOT/scripts/build-reference.sh" >/dev/null || die "the plain reference (its build dependencies) failed"
missing=()
for p in libjson-c-dev libglib2.0-dev; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "${KRS_SKIP_INSTALL:-0}" = 1 ] && die "missing build dependencies: ${missing[*]}"
    [ "$(id -u)" = 0 ] || die "missing build dependencies (run as root, or apt-get install ${missing[*]})"
    echo "build-reference-dbus: installing ${missing[*]}" >&2
    apt-get -o DPkg::Lock::Timeout=600 update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >&2 \
        || die "apt-get install ${missing[*]} failed"
fi
SRC="$ROOT/target/ref-dbus/src"
LOG="$ROOT/target/ref-dbus/$NAME-build.log"
rm -rf "$SRC/$NAME" "$OUT"
mkdir -p "$SRC" "$OUT"
echo "build-reference-dbus: building $NAME with JSON and D-Bus (log: $LOG)" >&2
tar -xzf "$TARBALL" -C "$SRC" || die "cannot unpack $TARBALL"
(
    set -e
    cd "$SRC/$NAME"
    ./autogen.sh
    ./configure --prefix="$OUT" --sysconfdir="$OUT/etc" --disable-snmp --enable-json --enable-dbus
    make -j"$(nproc)"
    make install
) >"$LOG" 2>&1 || { tail -n 30 "$LOG" >&2; die "building $NAME with JSON and D-Bus failed (see $LOG)"; }
[ -x "$BIN" ] || die "no keepalived binary after the build"
"$BIN" --version >/dev/null 2>&1 || die "$BIN --version failed"
echo "$SUM" >"$STAMP"
echo "$BIN"
