#!/bin/bash
# Capture VRRP adverts sent by the reference keepalived (Debian 2.2.7) inside throw-away network
# namespaces, for the golden-byte fixtures in tests/fixtures/vrrp/. Run as root:
#   crates/vrrp-proto/scripts/capture-reference.sh OUTDIR
# Traffic stays on a veth pair between two namespaces this script creates (10.99.0.0/24, fd00:99::/64).
set -euo pipefail
OUT=${1:-/tmp/vcap}
mkdir -p "$OUT"
A=krs-vcap-a$$; B=krs-vcap-b$$
WORK=$(mktemp -d)
cleanup() {
  for p in $(cat "$WORK"/*.pid 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  ip netns del "$A" 2>/dev/null || true
  ip netns del "$B" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$A"; ip netns add "$B"
ip link add vca type veth peer name vcb
ip link set vca netns "$A"; ip link set vcb netns "$B"
ip -n "$A" link set vca address 02:00:00:00:99:01
ip -n "$B" link set vcb address 02:00:00:00:99:02
for n in "$A" "$B"; do ip -n "$n" link set lo up; done
ip -n "$A" addr add 10.99.0.1/24 dev vca; ip -n "$B" addr add 10.99.0.2/24 dev vcb
ip -n "$A" addr add fd00:99::1/64 dev vca nodad; ip -n "$B" addr add fd00:99::2/64 dev vcb nodad
ip -n "$A" link set vca up; ip -n "$B" link set vcb up
sleep 2.5   # link-local addresses finish DAD

run_case() { # name config-body
  local name=$1 body=$2
  cat > "$WORK/$name.conf" <<CONF
global_defs {
  router_id krs_$name
  vrrp_garp_master_delay 1
  vrrp_garp_master_repeat 1
}
$body
CONF
  ip netns exec "$B" tshark -q -i vcb -w "$OUT/$name.pcap" -a duration:10 >/dev/null 2>&1 &
  local tpid=$!
  sleep 1.5
  ip netns exec "$A" keepalived -n -l -D -P -f "$WORK/$name.conf" -p "$WORK/$name.kpid" -r "$WORK/$name.vpid" \
      >"$OUT/$name.log" 2>&1 &
  echo $! > "$WORK/$name.pid"
  sleep 7
  # SIGTERM: a master resigns with a priority-0 advert (RFC 5798 §6.4.3), captured too.
  kill "$(cat "$WORK/$name.pid")" 2>/dev/null || true
  wait $tpid || true
  sleep 0.5
}

run_case v2_pass 'vrrp_instance V2P {
  state MASTER
  interface vca
  virtual_router_id 51
  priority 150
  advert_int 1
  authentication { auth_type PASS
    auth_pass pw42 }
  virtual_ipaddress { 10.99.0.100/24
    10.99.0.101/24 }
}'
run_case v2_ah 'vrrp_instance V2AH {
  state MASTER
  interface vca
  virtual_router_id 52
  priority 120
  advert_int 1
  authentication { auth_type AH
    auth_pass ahkey1 }
  virtual_ipaddress { 10.99.0.102/24 }
}'
run_case v3_ipv4 'vrrp_instance V3V4 {
  version 3
  state MASTER
  interface vca
  virtual_router_id 53
  priority 200
  advert_int 0.5
  virtual_ipaddress { 10.99.0.103/24
    10.99.0.104/24
    10.99.0.105/24 }
}'
run_case v3_ipv6 'vrrp_instance V3V6 {
  version 3
  state MASTER
  interface vca
  virtual_router_id 54
  priority 100
  advert_int 1
  virtual_ipaddress { fd00:99::100/64
    fd00:99::101/64 }
}'
run_case v3_unicast 'vrrp_instance V3UC {
  version 3
  state MASTER
  interface vca
  virtual_router_id 55
  priority 110
  advert_int 1
  unicast_src_ip 10.99.0.1
  unicast_peer { 10.99.0.2 }
  virtual_ipaddress { 10.99.0.106/24 }
}'
run_case v2_unicast 'vrrp_instance V2UC {
  state MASTER
  interface vca
  virtual_router_id 56
  priority 90
  advert_int 2
  unicast_src_ip 10.99.0.1
  unicast_peer { 10.99.0.2 }
  virtual_ipaddress { 10.99.0.107/24 }
}'
run_case v2_ah_unicast 'vrrp_instance V2AHUC {
  state BACKUP
  interface vca
  virtual_router_id 58
  priority 130
  advert_int 1
  unicast_src_ip 10.99.0.1
  unicast_peer { 10.99.0.2 }
  authentication { auth_type AH
    auth_pass uckey }
  virtual_ipaddress { 10.99.0.109/24 }
}'
ls -l "$OUT"
