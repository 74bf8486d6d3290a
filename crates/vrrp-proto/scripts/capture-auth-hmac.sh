#!/bin/bash
# Capture auth_hmac adverts sent by upstream keepalived 2.4.3 (built by scripts/build-reference.sh)
# inside throw-away network namespaces, for the golden-byte fixtures tests/fixtures/vrrp/hmac_*.hex.
# Run as root:
#   crates/vrrp-proto/scripts/capture-auth-hmac.sh OUTDIR
#   python3 crates/vrrp-proto/scripts/pcap-to-fixtures.py OUTDIR tests/fixtures/vrrp "keepalived 2.4.3" \
#       crates/vrrp-proto/scripts/capture-auth-hmac.sh
# Traffic stays on a veth pair between two namespaces this script creates (10.98.0.0/24, fd00:98::/64).
# The keys below are test keys, also in crates/vrrp-proto/tests/golden_auth_hmac.rs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
KEEPALIVED=${KEEPALIVED:-$("$ROOT/scripts/build-reference.sh" | tail -n 1)}
OUT=${1:-/tmp/hmac-vcap}
mkdir -p "$OUT"
A=krs-hcap-a$$; B=krs-hcap-b$$
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
ip link add hca$$ type veth peer name hcb$$
ip link set hca$$ netns "$A"; ip link set hcb$$ netns "$B"
ip -n "$A" link set hca$$ name vca; ip -n "$B" link set hcb$$ name vcb
ip -n "$A" link set vca address 02:00:00:00:98:01
ip -n "$B" link set vcb address 02:00:00:00:98:02
for n in "$A" "$B"; do ip -n "$n" link set lo up; done
ip -n "$A" addr add 10.98.0.1/24 dev vca; ip -n "$B" addr add 10.98.0.2/24 dev vcb
ip -n "$A" addr add fd00:98::1/64 dev vca nodad; ip -n "$B" addr add fd00:98::2/64 dev vcb nodad
ip -n "$A" link set vca up; ip -n "$B" link set vcb up
sleep 2.5   # link-local addresses finish DAD

KEY1='hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'
# The '!' starts a comment for keepalived's config reader, even mid-word: the key is the 32 bytes
# before it (golden_auth_hmac.rs checks exactly that).
KEY2='correct-horse-battery-staple-243!'

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
  ip netns exec "$B" tshark -q -i vcb -w "$OUT/$name.pcap" -a duration:8 >/dev/null 2>&1 &
  local tpid=$!
  sleep 1.5
  ip netns exec "$A" "$KEEPALIVED" -n -l -D -P -f "$WORK/$name.conf" -p "$WORK/$name.kpid" \
      -r "$WORK/$name.vpid" >"$OUT/$name.log" 2>&1 &
  echo $! > "$WORK/$name.pid"
  sleep 5
  # SIGTERM: a master resigns with a priority-0 advert, signed too.
  kill "$(cat "$WORK/$name.pid")" 2>/dev/null || true
  wait $tpid || true
  sleep 0.5
}

run_case hmac_v2_ipv4 "vrrp_instance H2V4 {
  version 2
  state MASTER
  interface vca
  virtual_router_id 61
  priority 150
  advert_int 1
  auth_hmac {
    key 1 $KEY1
    active_key 1
  }
  virtual_ipaddress { 10.98.0.100/24
    10.98.0.101/24 }
}"
run_case hmac_v3_ipv4 "vrrp_instance H3V4 {
  version 3
  state MASTER
  interface vca
  virtual_router_id 62
  priority 200
  advert_int 0.5
  auth_hmac {
    key 1 $KEY1
    key 2 $KEY2
    active_key 2
    anti_replay time
    time_window 7
  }
  virtual_ipaddress { 10.98.0.102/24 }
}"
run_case hmac_v3_ipv6 "vrrp_instance H3V6 {
  version 3
  state MASTER
  interface vca
  virtual_router_id 63
  priority 100
  advert_int 1
  auth_hmac {
    key 7 $KEY1
    active_key 7
    anti_replay monotonic
  }
  virtual_ipaddress { fd00:98::100/64
    fd00:98::101/64 }
}"
run_case hmac_v2_ipv4_unicast "vrrp_instance H2UC {
  version 2
  state MASTER
  interface vca
  virtual_router_id 64
  priority 90
  advert_int 1
  unicast_src_ip 10.98.0.1
  unicast_peer { 10.98.0.2 }
  auth_hmac {
    key 1 $KEY1
    active_key 1
    mode permissive
  }
  virtual_ipaddress { 10.98.0.103/24 }
}"
run_case hmac_v3_ipv4_unicast "vrrp_instance H3UC {
  version 3
  state MASTER
  interface vca
  virtual_router_id 65
  priority 110
  advert_int 1
  unicast_src_ip 10.98.0.1
  unicast_peer { 10.98.0.2 }
  auth_hmac {
    key 1 $KEY1
    active_key 1
  }
  virtual_ipaddress { 10.98.0.104/24 }
}"
run_case hmac_v3_ipv6_unicast "vrrp_instance H3V6UC {
  version 3
  state MASTER
  interface vca
  virtual_router_id 66
  priority 120
  advert_int 1
  unicast_src_ip fd00:98::1
  unicast_peer { fd00:98::2 }
  auth_hmac {
    key 3 $KEY2
    active_key 3
  }
  virtual_ipaddress { fd00:98::102/64 }
}"
run_case hmac_v2_ipv6 "vrrp_instance H2V6 {
  version 2
  state MASTER
  interface vca
  virtual_router_id 67
  priority 130
  advert_int 1
  auth_hmac {
    key 1 $KEY1
    active_key 1
  }
  virtual_ipaddress { fd00:98::103/64 }
}"
run_case hmac_v3_receive_only "vrrp_instance H3RO {
  version 3
  state MASTER
  interface vca
  virtual_router_id 68
  priority 140
  advert_int 1
  auth_hmac {
    key 1 $KEY1
    active_key 1
    mode receive-only
  }
  virtual_ipaddress { 10.98.0.105/24 }
}"
ls -l "$OUT"
