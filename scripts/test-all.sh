#!/usr/bin/env bash
# The project's one test command: installs what is missing, then runs every stage and prints a summary.
#
#   sudo ./scripts/test-all.sh            # everything (what .ci/run calls)
#   sudo ./scripts/test-all.sh unit lab   # only the named stages
#
# Stages: install fmt clippy unit lab vm fuzz.  Environment knobs:
#   KRS_FUZZ_SECONDS   seconds per fuzz target (default 15)
#   KRS_SKIP_INSTALL=1 do not apt-get/cargo install anything (fail if missing instead)
#   KRS_LAB_LANES      lab test binaries run side by side (default 3; their time is mostly protocol timers)
#   KRS_LAB_SPLIT_PARTS jobs the longest lab binaries (LAB_SPLIT) are dealt into, each in its own lane (default 3)
#   KRS_VM_BOOTS       VMs the in-VM tests are dealt to, booted side by side (default 2)
#
# It needs root (network namespaces, the qemu VM with real IPVS). Every test that sends packets does so only
# inside network namespaces it created; nothing touches the host's interfaces.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
export CARGO_TERM_COLOR=never
export RUST_BACKTRACE=1
LOGDIR="$ROOT/target/test-logs"
mkdir -p "$LOGDIR"

ALL_STAGES=(install fmt clippy unit lab vm fuzz)
if [ $# -gt 0 ]; then STAGES=("$@"); else STAGES=("${ALL_STAGES[@]}"); fi

DEB_PACKAGES=(qemu-system-x86 nftables frr busybox-static cpio kmod iproute2 keepalived ipvsadm arping curl tshark
    dnsmasq-base python3 procps psmisc xz-utils zstd openssl time
    # build dependencies of the upstream keepalived 2.4.3 reference peer (scripts/build-reference.sh)
    build-essential autoconf automake libtool pkg-config libssl-dev libnl-3-dev libnl-genl-3-dev
    libnl-route-3-dev libnftnl-dev libmnl-dev
    chromium prometheus systemd dpkg-dev
    # the D-Bus lab tests (lab_dbus): dbus-daemon, dbus-send, dbus-monitor; busctl is in systemd
    dbus dbus-bin dbus-daemon util-linux
    # the SNMP lab tests (lab_snmp): net-snmp's master agent and manager tools; libsnmp-dev for
    # the 2.4.3 reference built with SNMP (scripts/build-reference-snmp.sh)
    snmpd snmp snmptrapd libsnmp-dev
    # the iptables/ipset firewall backend (vrrp_iptables/vrrp_ipsets lab tests) and the 2.4.3
    # reference built with it (scripts/build-reference-iptables.sh)
    iptables ipset libipset-dev libip4tc-dev libip6tc-dev libxtables-dev
    # the 2.4.3 reference built with JSON and D-Bus (scripts/build-reference-dbus.sh)
    libjson-c-dev libglib2.0-dev)
# shellcheck source=scripts/lib/install.sh
. "$ROOT/scripts/lib/install.sh"
KRS_INSTALL_WHO=test-all
declare -A ST_STATUS ST_TIME ST_PASS ST_FAIL
TOTAL_PASS=0
TOTAL_FAIL=0

say() { printf '\n=== %s\n' "$*"; }
die() { printf 'test-all: %s\n' "$*" >&2; exit 2; }

need_root() {
    if [ "$(id -u)" != 0 ]; then
        die "stage '$1' needs root (network namespaces, qemu VM). Run: sudo $0"
    fi
}

# Adds the counts of every "test result:" line of a cargo test log to the stage totals.
count_results() { # stage logfile
    local p f
    read -r p f < <(awk '/^test result: /{for(i=1;i<=NF;i++){if($i ~ /^passed;?$/)p+=$(i-1); if($i ~ /^failed;?$/)f+=$(i-1)}} END{print p+0, f+0}' "$2")
    ST_PASS[$1]=$(( ${ST_PASS[$1]:-0} + p ))
    ST_FAIL[$1]=$(( ${ST_FAIL[$1]:-0} + f ))
}

stage_install() {
    need_root install
    krs_install_debs "${DEB_PACKAGES[@]}"
    for c in rustfmt clippy; do
        cargo "${c/rustfmt/fmt}" --version >/dev/null 2>&1 || rustup component add "$c" || die "rustup component add $c failed"
    done
    krs_install_cargo cargo-fuzz cargo-fuzz
    krs_install_cargo cargo-deb cargo-deb
    # Tools the lab and VM stages rely on: say what is missing and how to get it.
    for t in ip qemu-system-x86_64 busybox cpio modprobe keepalived ipvsadm tshark arping curl python3 nft \
        dbus-daemon dbus-send dbus-monitor busctl setpriv snmpd snmpwalk snmptrapd ipset iptables-legacy-save \
        ip6tables-legacy-restore; do
        command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || [ -x "/sbin/$t" ] || [ -x "/bin/$t" ] \
            || die "'$t' is not installed (apt-get install ${DEB_PACKAGES[*]})"
    done
    # The upstream keepalived 2.4.3 reference peer, built once into target/reference/ (about 2.5 min
    # on 2 cores the first time, a stamp check afterwards); tests run it by path.
    "$ROOT/scripts/build-reference.sh" >/dev/null || die "building the keepalived 2.4.3 reference failed"
    # The same 2.4.3 built with SNMP (vm_snmp_stats_update_intervals_as_reference).
    "$ROOT/scripts/build-reference-snmp.sh" >/dev/null || die "building the keepalived 2.4.3 SNMP reference failed"
    # The same 2.4.3 built with the iptables/ipset backend (lab_strict_iptables_*).
    "$ROOT/scripts/build-reference-iptables.sh" >/dev/null || die "building the keepalived 2.4.3 iptables reference failed"
    # The same 2.4.3 built with JSON and D-Bus (json_version, dbus_no_interface_name lab tests).
    "$ROOT/scripts/build-reference-dbus.sh" >/dev/null || die "building the keepalived 2.4.3 JSON/D-Bus reference failed"
    # Build the VM assets (Debian kernel + IPVS modules + initramfs) now so later stages only boot.
    cargo build -q -p testlab --bins || die "building the lab tools failed"
    "$ROOT/target/debug/krs-vm" prepare || die "could not prepare the IPVS VM (see above)"
    "$ROOT/target/debug/krs-lab" sweep || true
}

stage_fmt() {
    cargo fmt --all -- --check
    (cd fuzz && cargo fmt -p krs-fuzz -- --check)
}

stage_clippy() {
    cargo clippy --workspace --all-targets -q -- -D warnings
}

stage_unit() {
    local log="$LOGDIR/unit.log"
    cargo test --workspace --no-fail-fast 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    count_results unit "$log"
    return "$rc"
}

# Prints "executable<TAB>package dir" for every test binary of the workspace (building them first).
test_exes() {
    cargo test --workspace --no-run --message-format=json 2>/dev/null | python3 -c 'import sys, json, os
for l in sys.stdin:
    try: m = json.loads(l)
    except Exception: continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m.get("profile", {}).get("test"):
        print(m["executable"] + "\t" + os.path.dirname(m["manifest_path"]))'
}

# Lab test binaries that keep the CPUs busy (a release build, 3,000 reference `-t` runs) run first,
# by themselves, so they cannot delay the timer-bound tests (BFD's 300 ms detection, VRRP's skew).
LAB_CPU_BOUND=(package conf_mutations)
# BFD's tests bound detection at 3 x 100 ms + 10 ms, and lab_scale runs 250 VMAC instances on
# each of two daemons (a debug build, late when the machine is loaded): they run last, one
# binary at a time.
LAB_STRICT=(lab_bfd lab_bfd_keywords lab_scale)
# The others mostly wait on protocol timers. They are started longest first (by LAB_WEIGHT) so the
# lanes end together.

# Seconds each lab test binary took in a quiet full run (package dir/binary); a binary not listed
# counts 20. A split binary's parts count its weight divided among them.
declare -A LAB_WEIGHT=(
    [vrrp-runtime/lab_keywords]=680 [vrrp-runtime/interop]=185 [keepalived/lab_hmac]=172
    [keepalived/lab_snmp]=154 [vrrp-runtime/interop_hmac]=147 [keepalived/lab_platform]=145
    [vrrp-runtime/lab]=143 [keepalived/lab_chaos_soak]=130 [keepalived/lab_iptables]=68
    [keepalived/lab_dynamic_interfaces]=60 [keepalived/lab_v24_rest]=59
    [keepalived/lab_json_symlink]=49 [keepalived/lab_cli_flags]=47 [lvs-director/smtp_lab]=35
    [keepalived/lab_wired_vrrp]=33 [keepalived/lab_reload_monitor]=32 [keepalived/lab_dbus]=30
    [keepalived/lab_global_keywords]=27 [lvs-director/lab_checker_keywords]=26
)

# The longest lab binaries, whose tests run as LAB_SPLIT_PARTS jobs of their own (in different
# lanes) instead of one.
LAB_SPLIT=(lab_keywords)
LAB_SPLIT_PARTS=${KRS_LAB_SPLIT_PARTS:-3}

# Seconds each in-VM test binary took in a quiet full run (package dir/binary), to deal them to the
# VMs; a binary not listed counts 60.
declare -A VM_WEIGHT=(
    [keepalived/vm_platform]=183 [keepalived/vm_snmp_checker]=110 [lvs-director/vm]=93
    [lvs-director/vm_fast_recovery]=83 [keepalived/vm_chaos_lvs]=70 [keepalived/vm_wired_lvs]=51
    [keepalived/status_page]=40 [lvs-director/vm_notify]=40 [ipvs-nl/vm]=28
    [keepalived/vm_bfd_check]=25 [lvs-director/vm_nftables_ipvs]=23 [lvs-director/vm_keywords]=9
    [lvs-realserver/lab]=7
)

# Runs the lab jobs listed in file $1 (name TAB exe TAB package dir TAB part TAB test filter
# words) in $2 parallel lanes.
run_lab_jobs() { # jobsfile lanes logdir
    # shellcheck disable=SC2016
    tr '\t' '\n' <"$1" | xargs -r -d '\n' -n 5 -P "$2" sh -c '
        t0=$(date +%s)
        log="$0/$1.$(basename "$2")$4.log"
        # $5 unquoted: "lab_", or "--exact NAME..." for a part of a split binary.
        # shellcheck disable=SC2086
        ( cd "$3" && CARGO_MANIFEST_DIR="$3" "$2" --ignored $5 ) >"$log" 2>&1
        rc=$?
        echo "lab: $1$4 exit $rc in $(( $(date +%s) - t0 )) s: $(grep "^test result:" "$log" | tail -n 1)"
        exit 0' "$3"
}

# The fuzz targets' build (a sanitizer build of its own, ~2.5 min on 2 cores) starts in the
# background when the lab stage starts, at the lowest CPU and I/O priority: the lab's tests mostly
# sleep on protocol timers (a lane of them uses under 10% of a core), so the build takes the idle
# CPU and the daemons under test keep theirs. The fuzz stage waits for it.
FUZZ_BUILD_PID=
start_fuzz_build() {
    [[ " ${STAGES[*]} " == *" fuzz "* ]] && command -v cargo-fuzz >/dev/null || return 0
    ( cd "$ROOT/fuzz" && RUSTC_BOOTSTRAP=1 nice -n 19 ionice -c 3 cargo fuzz build \
        >"$LOGDIR/fuzz-build.log" 2>&1 ) &
    FUZZ_BUILD_PID=$!
}

stage_lab() {
    need_root lab
    local log="$LOGDIR/lab.log" dir="$LOGDIR/lab" lanes=${KRS_LAB_LANES:-3}
    cargo build -q -p testlab --bins
    start_fuzz_build
    "$ROOT/target/debug/krs-lab" sweep || true
    rm -rf "$dir"; mkdir -p "$dir"
    # Namespace tests are #[ignore]d (they need root); they are named lab_*. Each test binary runs
    # in its package dir as cargo test runs it, with its usual test threads: first the CPU-bound
    # ones side by side, then the timer-bound ones in $lanes parallel lanes.
    cargo test -q --workspace --no-run || return 1
    local exe pkg list jobs="$dir/jobs" name long w
    : >"$jobs"
    # Each job line starts with its weight (seconds), dropped once the jobs are sorted.
    while IFS=$'\t' read -r exe pkg; do
        [ -n "$exe" ] || continue
        list=$("$exe" --list --ignored 2>/dev/null) || continue
        grep -qE '(^|::)lab_[A-Za-z0-9_]*: test' <<<"$list" || continue
        name=$(basename "$exe"); name=${name%-*}
        w=${LAB_WEIGHT[$(basename "$pkg")/$name]:-20}
        if [[ " ${LAB_SPLIT[*]} " == *" $name "* ]] && [ "$LAB_SPLIT_PARTS" -gt 1 ]; then
            # Its lab tests dealt round-robin into LAB_SPLIT_PARTS parts.
            local part names
            for ((part = 0; part < LAB_SPLIT_PARTS; part++)); do
                names=$(sed -n 's/: test$//p' <<<"$list" | grep -E '(^|::)lab_' |
                    awk -v k="$LAB_SPLIT_PARTS" -v p="$part" '(NR - 1) % k == p' | tr '\n' ' ')
                [ -n "$names" ] || continue
                printf '%s\t%s\t%s\t%s\t.%s\t--exact %s\n' "$(( w / LAB_SPLIT_PARTS ))" "$name" "$exe" "$pkg" "$part" "$names" >>"$jobs"
            done
            continue
        fi
        printf '%s\t%s\t%s\t%s\t\tlab_\n' "$w" "$name" "$exe" "$pkg" >>"$jobs"
    done < <(test_exes)
    sort -t$'\t' -k1,1nr -k2,2 "$jobs" | cut -f2- >"$jobs.sorted" && mv "$jobs.sorted" "$jobs"
    for long in "${LAB_CPU_BOUND[@]}"; do awk -F'\t' -v n="$long" '$1 == n' "$jobs"; done >"$jobs.cpu"
    for long in "${LAB_STRICT[@]}"; do awk -F'\t' -v n="$long" '$1 == n' "$jobs"; done >"$jobs.strict"
    awk -F'\t' -v k="${LAB_CPU_BOUND[*]} ${LAB_STRICT[*]}" \
        'BEGIN{n=split(k, a, " "); for (i=1; i<=n; i++) skip[a[i]]=1} !($1 in skip)' "$jobs" >"$jobs.timers"
    echo "running $(wc -l <"$jobs.cpu") CPU-bound lab test binaries side by side"
    run_lab_jobs "$jobs.cpu" 2 "$dir"
    echo "running $(wc -l <"$jobs.timers") timer-bound lab test binaries in $lanes lanes"
    run_lab_jobs "$jobs.timers" "$lanes" "$dir"
    echo "running $(wc -l <"$jobs.strict") lab test binaries with tight timing bounds one at a time"
    run_lab_jobs "$jobs.strict" 1 "$dir"
    local rc=0 f
    : >"$log"
    for f in "$dir"/*.log; do
        { echo "     Running $(basename "$f" .log)"; cat "$f"; } >>"$log"
    done
    # A binary that crashed or failed has no "test result: ok" line.
    for f in "$dir"/*.log; do
        grep -q '^test result: ok\.' "$f" || { echo "lab: FAILED $(basename "$f" .log):"; grep -E '^test .* FAILED' "$f" | head -n 20
            # Each failure's own lines: the panic location and message (the first 40 lines of its block).
            awk '/^---- .* stdout ----$/ {n = 40} n > 0 {print; n--}' "$f" | head -n 200; rc=1; }
    done
    count_results lab "$log"
    "$ROOT/target/debug/krs-lab" sweep || true
    local left
    left=$(ip netns list | grep -c '^krs-' || true)
    if [ "$left" != 0 ]; then echo "lab: $left namespaces left behind"; rc=1; fi
    return "$rc"
}

stage_vm() {
    need_root vm
    local log="$LOGDIR/vm.log"
    : >"$log"
    cargo build -q -p testlab --bins
    # 1. Host-side tests that boot a VM themselves (named vmhost_*).
    cargo test --workspace --no-fail-fast -- --ignored vmhost_ 2>&1 | tee -a "$log"
    local rc=${PIPESTATUS[0]}
    # 2. Tests that must run INSIDE the VM (named vm_*): build every test binary on the host, keep those that
    #    contain vm_ tests, and run them in $KRS_VM_BOOTS VMs booted side by side (default 2), the
    #    binaries dealt longest first to the VM with the least work so far. Each VM (TCG) keeps about one
    #    core busy, so two of them use a 2-core machine fully and halve the stage.
    local boots=${KRS_VM_BOOTS:-2} dir0="$ROOT/target/vm/scripts" exe dir list name key w i best
    mkdir -p "$dir0"
    local jobs="$dir0/vm-jobs"
    : >"$jobs"
    while IFS=$'\t' read -r exe dir; do
        [ -n "$exe" ] || continue
        # The whole listing first: with pipefail, `grep -q` exiting at its first match could
        # kill the lister with SIGPIPE and drop a binary that has vm_ tests.
        list=$("$exe" --list --ignored 2>/dev/null) || continue
        grep -qE '(^|::)vm_[A-Za-z0-9_]*: test' <<<"$list" || continue
        name=$(basename "$exe"); name=${name%-*}
        key="$(basename "$dir")/$name"
        printf '%s\t%s\t%s\t%s\n' "${VM_WEIGHT[$key]:-60}" "$key" "$exe" "$dir" >>"$jobs"
    done < <(test_exes)
    local -a load=() scripts=()
    for ((i = 0; i < boots; i++)); do
        load[i]=0
        scripts[i]="$dir0/test-all-vm.$i.sh"
        printf '#!/bin/sh\nrc=0\n' >"${scripts[i]}"
    done
    while IFS=$'\t' read -r w key exe dir; do
        best=0
        for ((i = 1; i < boots; i++)); do [ "${load[i]}" -lt "${load[best]}" ] && best=$i; done
        load[best]=$(( load[best] + w ))
        {
            echo "echo '=== in-vm: $(basename "$exe") ($key, VM $best)'"
            echo "( cd '$dir' && CARGO_MANIFEST_DIR='$dir' '$exe' --ignored vm_ --test-threads=1 ) || rc=1"
        } >>"${scripts[best]}"
    done < <(sort -t$'\t' -k1,1nr -k2,2 "$jobs")
    local n
    n=$(wc -l <"$jobs")
    if [ "$n" -gt 0 ]; then
        echo "running $n test binaries inside $boots VM boots side by side (estimated seconds: ${load[*]})"
        local -a pids=()
        for ((i = 0; i < boots; i++)); do
            grep -q "in-vm:" "${scripts[i]}" || continue
            echo 'exit $rc' >>"${scripts[i]}"
            chmod +x "${scripts[i]}"
            ( "$ROOT/target/debug/krs-vm" run --timeout 1500 -- /bin/sh "${scripts[i]}" >"$LOGDIR/vm.$i.log" 2>&1 ) &
            pids[i]=$!
        done
        for i in "${!pids[@]}"; do
            wait "${pids[i]}" || rc=1
            echo "--- VM $i"; cat "$LOGDIR/vm.$i.log"
            cat "$LOGDIR/vm.$i.log" >>"$log"
        done
    else
        echo "no in-VM tests found"
    fi
    count_results vm "$log"
    return "$rc"
}

stage_fuzz() {
    local secs=${KRS_FUZZ_SECONDS:-15} rc=0 t
    command -v cargo-fuzz >/dev/null || die "cargo-fuzz missing (run the install stage)"
    # The build started during the lab stage (if it ran); `cargo fuzz run` rebuilds what is missing.
    if [ -n "$FUZZ_BUILD_PID" ]; then
        wait "$FUZZ_BUILD_PID" || { echo "fuzz: the background build failed:"; tail -n 30 "$LOGDIR/fuzz-build.log"; }
    fi
    for t in $(cd fuzz && cargo fuzz list 2>/dev/null); do
        say "fuzz $t (${secs}s)"
        if RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" -- -max_total_time="$secs" -rss_limit_mb=2048 \
            >"$LOGDIR/fuzz-$t.log" 2>&1; then
            tail -n 2 "$LOGDIR/fuzz-$t.log"
            ST_PASS[fuzz]=$(( ${ST_PASS[fuzz]:-0} + 1 ))
        else
            tail -n 30 "$LOGDIR/fuzz-$t.log"
            ST_FAIL[fuzz]=$(( ${ST_FAIL[fuzz]:-0} + 1 ))
            rc=1
        fi
    done
    return "$rc"
}

cleanup() {
    [ -x "$ROOT/target/debug/krs-lab" ] && "$ROOT/target/debug/krs-lab" sweep >/dev/null 2>&1
    return 0
}
trap cleanup EXIT

START=$(date +%s)
OVERALL=0
for s in "${STAGES[@]}"; do
    declare -F "stage_$s" >/dev/null || die "unknown stage '$s' (stages: ${ALL_STAGES[*]})"
    say "stage $s"
    t0=$(date +%s)
    "stage_$s"
    rc=$?
    ST_TIME[$s]=$(( $(date +%s) - t0 ))
    if [ "$rc" = 0 ]; then ST_STATUS[$s]=ok; else ST_STATUS[$s]=FAILED; OVERALL=1; fi
    if [ "$s" = install ] && [ "$rc" != 0 ]; then break; fi
done

say "summary"
printf '%-8s %-7s %8s %8s %8s\n' stage status seconds passed failed
for s in "${STAGES[@]}"; do
    [ -n "${ST_STATUS[$s]:-}" ] || continue
    printf '%-8s %-7s %8s %8s %8s\n' "$s" "${ST_STATUS[$s]}" "${ST_TIME[$s]}" "${ST_PASS[$s]:--}" "${ST_FAIL[$s]:--}"
    TOTAL_PASS=$(( TOTAL_PASS + ${ST_PASS[$s]:-0} ))
    TOTAL_FAIL=$(( TOTAL_FAIL + ${ST_FAIL[$s]:-0} ))
done
echo "wall time: $(( $(date +%s) - START )) s"
[ "$OVERALL" = 0 ] || [ "$TOTAL_FAIL" != 0 ] || TOTAL_FAIL=1
echo "summary: $TOTAL_PASS passed, $TOTAL_FAIL failed"
exit "$OVERALL"
