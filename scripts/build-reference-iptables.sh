#!/usr/bin/env bash
# Builds upstream keepalived 2.4.3 WITH the iptables/ipset firewall backend (--enable-iptables
# --enable-libipset, no nftables) into target/ref-ipt/keepalived-2.4.3 (sbin/keepalived): the oracle
# for `vrrp_iptables`/`vrrp_ipsets` (Debian's 2.2.7 and the plain 2.4.3 reference are built
# NFTABLES-only, where `vrrp_ipsets` is an unknown keyword). Also installs iptables and ipset, the
# components the lab tests read (`iptables-save`, `ipset list`).
#   KRS_SKIP_INSTALL=1  do not apt-get the packages (fail if missing instead)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
NAME=keepalived-2.4.3
OUT="$ROOT/target/ref-ipt/$NAME"
BIN="$OUT/sbin/keepalived"
die() { printf 'build-reference-iptables: %s\n' "$*" >&2; exit 2; }
PKGS=(iptables ipset libipset-dev libip4tc-dev libip6tc-dev libxtables-dev)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    [ "${KRS_SKIP_INSTALL:-0}" = 1 ] && die "missing: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends "${missing[@]}" >&2; } || die "apt-get install ${missing[*]} failed"
fi
[ -x "$BIN" ] && { echo "$BIN"; exit 0; }
TARBALL=
for d in "${KRS_SHARED_DIR:-}" "$ROOT/../shared" "/work/shared"; do
    [ -n "$d" ] && [ -f "$d/reference/$NAME.tar.gz" ] && { TARBALL="$d/reference/$NAME.tar.gz"; break; }
done
[ -n "$TARBALL" ] || die "$NAME.tar.gz not found"
"$ROOT/scripts/build-reference.sh" >/dev/null || die "the plain reference (its build dependencies) failed"
SRC="$ROOT/target/ref-ipt/src"
LOG="$ROOT/target/ref-ipt/$NAME-build.log"
rm -rf "$SRC/$NAME" "$OUT"
mkdir -p "$SRC" "$OUT"
tar -xzf "$TARBALL" -C "$SRC" || die "cannot unpack $TARBALL"
(
    set -e
    cd "$SRC/$NAME"
    ./autogen.sh
    ./configure --prefix="$OUT" --sysconfdir="$OUT/etc" --enable-iptables --enable-libipset \
        --disable-nftables --disable-dbus --disable-snmp
    make -j"$(nproc)"
    make install
) >"$LOG" 2>&1 || { tail -n 30 "$LOG" >&2; die "building $NAME with iptables/ipset failed (see $LOG)"; }
echo "$BIN"
