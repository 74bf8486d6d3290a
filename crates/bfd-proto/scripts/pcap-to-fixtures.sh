#!/bin/bash
# Turn a capture from capture-peers.sh into a golden-byte fixture: one line per distinct
# (sender, payload), with tshark's own decode of the fields beside the bytes, so the golden test
# checks our parser against an independent dissector as well as emit against the bytes.
#   crates/bfd-proto/scripts/pcap-to-fixtures.sh CAPTURE.pcap > crates/bfd-proto/tests/fixtures/NAME.tsv
set -euo pipefail
echo "# frame	time	src	ttl	sta	diag	flags	mult	my_discr	your_discr	min_tx	min_rx	min_echo_rx	payload"
tshark -r "$1" -Y bfd -T fields -e frame.number -e frame.time_relative -e ip.src -e ip.ttl \
  -e bfd.sta -e bfd.diag -e bfd.flags -e bfd.detect_time_multiplier -e bfd.my_discriminator \
  -e bfd.your_discriminator -e bfd.desired_min_tx_interval -e bfd.required_min_rx_interval \
  -e bfd.required_min_echo_interval -e udp.payload 2>/dev/null \
  | awk -F'\t' '!seen[$3 $14]++'
