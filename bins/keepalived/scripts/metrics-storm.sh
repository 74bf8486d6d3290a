#!/usr/bin/env bash
# Connection storm against the metrics endpoint (issue 26 item 5): the parent's open
# descriptors and resident set before, during and after N connections (default 20000).
#
# Everything happens inside a fresh network namespace (its own veth "eth0" with 10.66.0.1/24;
# no packet leaves it). The daemon listens on 0.0.0.0:9660 with `metrics_allow 10.66.0.0/24`.
# The storm is CLIENTS python3 processes (default 4) inside the namespace, each opening its
# share of the N connections to 10.66.0.1:9660 as fast as it can (for at most 60 s; a connect
# not done in 1 s counts as failed) and holding every one open for HOLD seconds (default 10): a quarter send a whole request and never read the answer, a
# quarter half a header, the rest nothing. Meanwhile /metrics is scraped every 0.5 s from the
# same address, and the parent's fd count and VmRSS are sampled every 0.2 s.
#
#   sudo [CLIENTS=4] [HOLD=10] bins/keepalived/scripts/metrics-storm.sh [N] [BINARY]
set -euo pipefail
N=${1:-20000}
BIN=${2:-$(cd "$(dirname "$0")/../../.." && pwd)/target/release/keepalived}
CLIENTS=${CLIENTS:-4}
HOLD=${HOLD:-10}
[ -x "$BIN" ] || { echo "build first: cargo build --release -p keepalived ($BIN)"; exit 2; }
command -v python3 >/dev/null || { echo "python3 needed"; exit 2; }
TMP=$(mktemp -d /tmp/krs-storm.XXXXXX)
NS=krs-storm$$
cleanup() {
    [ -f "$TMP/k.pid" ] && kill "$(cat "$TMP/k.pid")" 2>/dev/null || true
    sleep 2
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add eth0 type veth peer name eth1
ip -n "$NS" link set eth1 up
ip -n "$NS" link set eth0 up
ip -n "$NS" addr add 10.66.0.1/24 dev eth0
cat > "$TMP/k.conf" <<'CONF'
global_defs {
    metrics_allow 10.66.0.0/24
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.10/24
    }
}
CONF
cat > "$TMP/storm.py" <<'PY'
import socket, sys, time, resource
n, hold = int(sys.argv[1]), float(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
held, failed, t0 = [], 0, time.time()
for i in range(n):
    if time.time() - t0 > 60:
        break
    s = socket.socket()
    s.settimeout(1.0)
    try:
        s.connect(("10.66.0.1", 9660))
        if i % 4 == 0:
            s.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        elif i % 4 == 1:
            s.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        held.append(s)
    except OSError:
        failed += 1
        s.close()
print(f"client: {len(held)} opened, {failed} failed, in {time.time() - t0:.1f} s", flush=True)
time.sleep(hold)
for s in held:
    s.close()
PY
ip netns exec "$NS" "$BIN" -n -l -G -f "$TMP/k.conf" -p "$TMP/k.pid" -r "$TMP/v.pid" \
    -c "$TMP/c.pid" --metrics-listen 0.0.0.0:9660 2> "$TMP/log" &
for _ in $(seq 50); do [ -s "$TMP/k.pid" ] && break; sleep 0.2; done
PID=$(cat "$TMP/k.pid")
sleep 5
fds() { ls "/proc/$PID/fd" | wc -l; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$PID/status"; }
scrape() {
    ip netns exec "$NS" curl -sS -o /dev/null --max-time 10 -w '%{http_code} %{time_total}' \
        http://10.66.0.1:9660/metrics 2>>"$TMP/curl.err" || true
}
scrape >/dev/null
sleep 1
echo "idle:   fds $(fds)  RSS $(rss) kB"
for ((c = 0; c < CLIENTS; c++)); do
    ip netns exec "$NS" python3 "$TMP/storm.py" $((N / CLIENTS)) "$HOLD" &
done
START=$(date +%s.%N)
PEAK_FDS=0 PEAK_RSS=0 OK=0 BAD=0
while [ "$(jobs -rp | wc -l)" -gt 1 ]; do
    f=$(fds) r=$(rss)
    ((f > PEAK_FDS)) && PEAK_FDS=$f
    ((r > PEAK_RSS)) && PEAK_RSS=$r
    code=$(scrape | cut -d' ' -f1) || true
    if [ "${code:-}" = 200 ]; then OK=$((OK + 1)); else BAD=$((BAD + 1)); fi
    sleep 0.2
done
sort "$TMP/curl.err" 2>/dev/null | uniq -c | sed 's/^/  scrape error: /' || true
echo "during: peak fds $PEAK_FDS  peak RSS $PEAK_RSS kB  scrapes ok $OK failed $BAD  ($(echo "$(date +%s.%N) - $START" | bc) s)"
for t in 1 5 10; do
    sleep $((t == 1 ? 1 : (t == 5 ? 4 : 5)))
    echo "after ${t}s: fds $(fds)  RSS $(rss) kB"
done
ip netns exec "$NS" curl -s --max-time 10 http://10.66.0.1:9660/metrics | grep '^keepalived_http'
