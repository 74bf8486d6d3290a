#!/bin/sh
# Issue #3 benchmark: generate 2,000 virtual_server x 10 real_server (TCP_CHECK) plus
# 200 vrrp_instance, then time the reference `keepalived -t` against our parser (the
# conf-parse `check` example: parse + system checks + exit code, what `keepalived -t` does).
# Prints wall time and max RSS for each (best of N runs). Usage: benches/conf_vs_reference.sh [N]
set -eu
N=${1:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REF=${REF:-/usr/sbin/keepalived}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
CONF=$WORK/big.conf

python3 - "$CONF" <<'PY'
import sys
out = open(sys.argv[1], "w")
w = out.write
w("global_defs {\n    router_id bench\n}\n")
for i in range(200):
    w("vrrp_instance VI_%d {\n    state BACKUP\n    interface eth0\n    virtual_router_id %d\n    priority 100\n    advert_int 1\n    authentication {\n        auth_type PASS\n        auth_pass 1111\n    }\n    virtual_ipaddress {\n        10.%d.%d.1/24\n    }\n}\n" % (i, i % 255 + 1, i // 250, i % 250))
for v in range(2000):
    w("virtual_server 10.100.%d.%d 80 {\n    delay_loop 6\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n" % (v // 250, v % 250 + 1))
    for r in range(10):
        n = v * 10 + r
        w("    real_server 10.200.%d.%d 80 {\n        weight 1\n        TCP_CHECK {\n            connect_port 80\n            connect_timeout 3\n            retry 3\n            delay_before_retry 3\n        }\n    }\n" % (n // 250 % 256, n % 250 + 1))
    w("}\n")
PY
echo "config: $(wc -l < "$CONF") lines, $(wc -c < "$CONF") bytes"

(cd "$ROOT" && cargo build -q --release -p conf-parse --example check && cargo build -q --release -p keepalived)
OURS=$ROOT/target/release/examples/check
DAEMON=$ROOT/target/release/keepalived

# measure CMD...: prints "<seconds> <maxrss_kB>"
measure() {
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f '%e %M' -o "$WORK/t" "$@" >/dev/null 2>&1 || true
        cat "$WORK/t"
    else
        python3 - "$@" <<'PY'
import resource, subprocess, sys, time
t = time.monotonic()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
e = time.monotonic() - t
print("%.3f %d" % (e, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
PY
    fi
}

best() {
    name=$1; shift
    bt=""; bm=""
    i=0
    while [ $i -lt "$N" ]; do
        set -- "$@"
        r=$(measure "$@")
        t=${r% *}; m=${r#* }
        if [ -z "$bt" ] || [ "$(echo "$t < $bt" | bc 2>/dev/null || python3 -c "print(int($t < $bt))")" = 1 ]; then bt=$t; fi
        if [ -z "$bm" ] || [ "$m" -lt "$bm" ]; then bm=$m; fi
        i=$((i + 1))
    done
    echo "$name: best wall ${bt}s, max RSS ${bm} kB (best of $N)"
    eval "${name}_t=$bt; ${name}_m=$bm"
}

best reference "$REF" -t -f "$CONF"
best ours "$OURS" "$CONF"
# The daemon binary itself (`keepalived -t`): the same library call plus the daemon's start-up.
best daemon "$DAEMON" -t -f "$CONF"
python3 - "$reference_t" "$reference_m" "$ours_t" "$ours_m" "$daemon_t" "$daemon_m" <<'PY'
import sys
rt, rm, ot, om, dt, dm = map(float, sys.argv[1:])
r = lambda a, b: a / b if b else float('nan')
print("time ratio ours/reference: %.3f, keepalived -t %.3f (target <= 0.333)" % (r(ot, rt), r(dt, rt)))
print("RSS  ratio ours/reference: %.3f, keepalived -t %.3f (target <= 0.333)" % (r(om, rm), r(dm, rm)))
PY
