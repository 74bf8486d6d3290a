#!/usr/bin/env bash
# Builds upstream keepalived 2.4.3 WITH SNMP (--enable-snmp --enable-snmp-checker) into
# target/ref-snmp/keepalived-2.4.3 (sbin/keepalived), for the tests comparing 2.4-only SNMP
# behaviour (vm_snmp_stats_update_intervals_as_reference). scripts/build-reference.sh builds the
# plain 2.4.3 reference without SNMP; this one adds Debian's libsnmp-dev.
#   KRS_SKIP_INSTALL=1  do not apt-get libsnmp-dev (fail if missing instead)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
NAME=keepalived-2.4.3
OUT="$ROOT/target/ref-snmp/$NAME"
BIN="$OUT/sbin/keepalived"
[ -x "$BIN" ] && { echo "$BIN"; exit 0; }
die() { printf 'build-reference-snmp: %s\n' "$*" >&2; exit 2; }
TARBALL=
for d in "${KRS_SHARED_DIR:-}" "$ROOT/../shared" "/work/shared"; do
    [ -n "$d" ] && [ -f "$d/reference/$NAME.tar.gz" ] && { TARBALL="$d/reference/$NAME.tar.gz"; break; }
done
[ -n "$TARBALL" ] || die "$NAME.tar.gz not found"
"$ROOT/scripts/build-reference.sh" >/dev/null || die "the plain reference (its build dependencies) failed"
if ! dpkg -s libsnmp-dev >/dev/null 2>&1; then
    [ "${KRS_SKIP_INSTALL:-0}" = 1 ] && die "libsnmp-dev missing"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libsnmp-dev >&2 \
        || die "apt-get install libsnmp-dev failed"
fi
SRC="$ROOT/target/ref-snmp/src"
LOG="$ROOT/target/ref-snmp/$NAME-build.log"
rm -rf "$SRC/$NAME" "$OUT"
mkdir -p "$SRC" "$OUT"
tar -xzf "$TARBALL" -C "$SRC" || die "cannot unpack $TARBALL"
(
    set -e
    cd "$SRC/$NAME"
    ./autogen.sh
    ./configure --prefix="$OUT" --sysconfdir="$OUT/etc" --enable-snmp --enable-snmp-checker --disable-dbus
    make -j"$(nproc)"
    make install
) >"$LOG" 2>&1 || { tail -n 30 "$LOG" >&2; die "building $NAME with SNMP failed (see $LOG)"; }
echo "$BIN"
