#!/usr/bin/env bash
# The keepalived-rs lab demo (the README's main command). As root:
#
#   ./scripts/demo.sh            # live display when stdout is a terminal
#   ./scripts/demo.sh --check    # plain output + "RESULT ..." lines; exit 1 if a check fails
#
# Builds keepalived, lvs-realserver and the demo driver (crates/testlab/src/bin/krs-demo/main.rs), then
# runs the lab: two directors running our keepalived with examples/demo/director-{a,b}.conf, two
# real servers prepared by lvs-realserver, a client; failover, failback, a real server removed by
# its health check, a summary table, teardown (also on Ctrl-C).
# IPVS is needed: when this kernel has none (no /proc/net/ip_vs and `modprobe ip_vs` fails), the
# whole demo runs inside the project VM (qemu, see crates/testlab/src/vm.rs), which says so.
# Environment: KRS_DEMO_PROFILE=release|debug (default debug), KRS_DEMO_KEEPALIVED=PATH (keepalived
# binary to run on the directors; default: ours), KRS_DEMO_FORCE_VM=1 (use the VM even with IPVS).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "demo.sh: $*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "must run as root: it creates network namespaces (and may boot a VM). Try: sudo $0 $*"
# What the demo needs, installed the way the test command's install stage does it (shared code;
# KRS_SKIP_INSTALL=1 only reports what is missing).
# shellcheck source=scripts/lib/install.sh
. scripts/lib/install.sh
KRS_INSTALL_WHO=demo.sh
krs_install_debs iproute2 python3 ipvsadm kmod curl procps
if ! { [ -e /proc/net/ip_vs ] || modprobe -q ip_vs 2>/dev/null; }; then
    # No IPVS here: the demo runs inside the project VM.
    krs_install_debs qemu-system-x86 busybox-static cpio xz-utils zstd
fi
for t in ip python3 ipvsadm; do
    command -v "$t" >/dev/null || die "missing '$t' (Debian: apt-get install iproute2 python3 ipvsadm)"
done
command -v cargo >/dev/null || die "missing cargo (install Rust: https://rustup.rs, or run sudo with your PATH: sudo env PATH=\$PATH $0)"

profile=${KRS_DEMO_PROFILE:-debug}
flag=()
[ "$profile" = release ] && flag=(--release)
echo "demo.sh: building keepalived, lvs-realserver and the demo driver ($profile)..."
cargo build "${flag[@]}" -q -p keepalived -p lvs-realserver -p testlab --bins \
    || die "cargo build failed"
bin=target/$profile

args=("$@" --conf-dir "$PWD/examples/demo")
# A live display through the VM's output stream too, when we are on a terminal.
if [ -t 1 ] && [[ " $* " != *" --check "* && " $* " != *" --non-interactive "* && " $* " != *" --plain "* ]]; then
    args+=(--live)
fi

has_ipvs() { [ -e /proc/net/ip_vs ] || { modprobe -q ip_vs 2>/dev/null && [ -e /proc/net/ip_vs ]; }; }

if [ "${KRS_IN_VM:-}" != 1 ] && { [ "${KRS_DEMO_FORCE_VM:-}" = 1 ] || ! has_ipvs; }; then
    if [ "${KRS_DEMO_FORCE_VM:-}" = 1 ]; then why="KRS_DEMO_FORCE_VM=1"; else why="this kernel has no IPVS"; fi
    echo "demo.sh: $why: running the demo inside the project VM (qemu; booting takes ~10-30 s)"
    command -v qemu-system-x86_64 >/dev/null || die "missing qemu-system-x86_64 (Debian: apt-get install qemu-system-x86)"
    case "$PWD/" in
        /tmp/*) die "the VM mounts a fresh /tmp, so it cannot see this clone under $PWD: clone the repository elsewhere (e.g. ~/keepalived-rs)" ;;
    esac
    [ -n "${KRS_DEMO_KEEPALIVED:-}" ] && args+=(--keepalived "$KRS_DEMO_KEEPALIVED")
    # Ctrl-C reaches qemu too (same terminal process group): the VM and the lab inside it vanish.
    trap 'echo; echo "demo.sh: interrupted: the VM is stopped; the lab only existed inside it, nothing is left on this machine"; exit 130' INT TERM
    rc=0
    "$bin/krs-vm" run --timeout 900 -- "$PWD/$bin/krs-demo" "${args[@]}" || rc=$?
    exit $rc
fi
exec "$bin/krs-demo" "${args[@]}"
