#!/bin/bash
# Capture BFD control packets exchanged by FRR's bfdd and the reference keepalived (Debian
# 2.2.7, built with --enable-bfd) talking to each other, for the golden-byte fixtures in
# tests/fixtures/. Run as root:
#   crates/bfd-proto/scripts/capture-peers.sh OUTDIR
# Traffic stays on a veth pair between two namespaces this script creates (10.98.0.0/24):
#   A = FRR bfdd 10.98.0.1, B = keepalived 10.98.0.2.
# Timeline: session comes Up (slow start at 1 s, then a Poll Sequence to 100 ms); FRR changes
# its transmit interval to 200 ms (a second Poll Sequence, P from FRR, F from keepalived); FRR
# shuts the peer down (AdminDown, diag 7); keepalived goes Down (diag 3).
set -euo pipefail
OUT=${1:-/tmp/bfdcap}
mkdir -p "$OUT"
A=krs-bcap-a$$; B=krs-bcap-b$$
WORK=$(mktemp -d)
chmod 755 "$WORK"; chown frr:frr "$WORK"
cleanup() {
  for p in $(cat "$WORK"/*.pid 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  ip netns del "$A" 2>/dev/null || true
  ip netns del "$B" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$A"; ip netns add "$B"
ip link add bca$$ type veth peer name bcb$$
ip link set bca$$ netns "$A" name eth0; ip link set bcb$$ netns "$B" name eth0
for n in "$A" "$B"; do ip -n "$n" link set lo up; ip -n "$n" link set eth0 up; done
ip -n "$A" addr add 10.98.0.1/24 dev eth0; ip -n "$B" addr add 10.98.0.2/24 dev eth0

cat > "$WORK/bfdd.conf" <<CONF
bfd
 peer 10.98.0.2 local-address 10.98.0.1
  receive-interval 100
  transmit-interval 100
  detect-multiplier 3
 !
!
CONF
cat > "$WORK/keepalived.conf" <<CONF
global_defs {
  router_id krs_bfdcap
}
bfd_instance frr {
  neighbor_ip 10.98.0.1
  source_ip 10.98.0.2
  min_rx 100
  min_tx 100
  idle_tx 1000
  multiplier 3
}
CONF

ip netns exec "$A" tshark -q -i eth0 -f "udp port 3784" -w "$OUT/frr-keepalived.pcap" >/dev/null 2>&1 &
echo $! > "$WORK/tshark.pid"
sleep 2
ip netns exec "$A" /usr/lib/frr/bfdd -u frr -g frr -f "$WORK/bfdd.conf" -i "$WORK/bfdd.pid" \
  -z "$WORK/zserv.api" --bfdctl "$WORK/bfdd.sock" --vty_socket "$WORK" --log "file:$WORK/bfdd.log" &
sleep 1
ip netns exec "$B" /usr/sbin/keepalived -n -l -D -f "$WORK/keepalived.conf" -p "$WORK/k.pid" \
  --vrrp_pid="$WORK/kv.pid" --checkers_pid="$WORK/kc.pid" --bfd_pid="$WORK/kb.pid" \
  > "$WORK/keepalived.log" 2>&1 &
echo $! > "$WORK/keepalived-main.pid"
sleep 6
vty() { ip netns exec "$A" vtysh --vty_socket "$WORK" "$@"; }
vty -c "show bfd peers" || true
vty -c "configure terminal" -c "bfd" -c "peer 10.98.0.2 local-address 10.98.0.1" -c "transmit-interval 200"
sleep 3
vty -c "configure terminal" -c "bfd" -c "peer 10.98.0.2 local-address 10.98.0.1" -c "shutdown"
sleep 3
kill "$(cat "$WORK/tshark.pid")"; sleep 1
cp "$WORK/keepalived.log" "$OUT/keepalived.log"; cp "$WORK/bfdd.log" "$OUT/bfdd.log" 2>/dev/null || true
tshark -r "$OUT/frr-keepalived.pcap" -Y bfd | head -60
