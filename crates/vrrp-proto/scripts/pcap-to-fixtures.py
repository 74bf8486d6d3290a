#!/usr/bin/env python3
"""Extract raw IP packets (VRRP adverts) and GARP/NA Ethernet frames from the captures made by
capture-reference.sh into hex fixture files (one packet per line, '#' comments)."""
import struct, sys, os

src, dst = sys.argv[1], sys.argv[2]
# Who sent the captures and which script made them (for the fixture header).
who = sys.argv[3] if len(sys.argv) > 3 else 'keepalived 2.2.7'
script = sys.argv[4] if len(sys.argv) > 4 else 'crates/vrrp-proto/scripts/capture-reference.sh'

def frames(path):
    with open(path, 'rb') as f:
        data = f.read()
    magic = struct.unpack('<I', data[:4])[0]
    if magic == 0x0a0d0d0a:  # pcapng
        off = 0
        while off + 12 <= len(data):
            btype, blen = struct.unpack('<II', data[off:off+8])
            if btype == 6:  # enhanced packet block
                caplen = struct.unpack('<I', data[off+20:off+24])[0]
                yield data[off+28:off+28+caplen]
            off += blen
    else:
        off = 24
        while off + 16 <= len(data):
            incl = struct.unpack('<I', data[off+8:off+12])[0]
            yield data[off+16:off+16+incl]
            off += 16 + incl

for name in sorted(os.listdir(src)):
    if not name.endswith('.pcap'):
        continue
    case = name[:-5]
    adverts, link = [], []
    for fr in frames(os.path.join(src, name)):
        et = struct.unpack('>H', fr[12:14])[0]
        ip = fr[14:]
        if et == 0x0800 and ip[9] in (112, 51) and ip[8] == 255:
            tot = struct.unpack('>H', ip[2:4])[0]
            adverts.append(ip[:tot])
        elif et == 0x86dd and ip[6] == 112:
            plen = struct.unpack('>H', ip[4:6])[0]
            adverts.append(ip[:40+plen])
        elif et == 0x0806 or (et == 0x86dd and ip[6] == 58 and len(ip) > 40 and ip[40] == 136):
            link.append(fr)
    with open(os.path.join(dst, case + '.hex'), 'w') as f:
        f.write('# %s: VRRP adverts (raw IP packets) sent by %s, captured with\n' % (case, who))
        f.write('# %s (see that script for the config).\n' % script)
        for a in adverts:
            f.write(a.hex() + '\n')
    if link:
        with open(os.path.join(dst, case + '.frames.hex'), 'w') as f:
            f.write('# %s: gratuitous ARP / unsolicited NA Ethernet frames sent by %s\n' % (case, who))
            for l in link:
                f.write(l.hex() + '\n')
    print(case, len(adverts), 'adverts', len(link), 'link frames')
