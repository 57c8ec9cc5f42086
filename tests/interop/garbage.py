#!/usr/bin/env python3
"""Sends malformed frames onto a TAP's Linux side with an AF_PACKET raw
socket (run inside the test's namespace with `ip netns exec`).

    garbage.py IFACE DST_MAC COUNT SEED

Sends COUNT frames of each kind below to DST_MAC (ustack's MAC) and prints
one line per kind: "KIND N". Random frames never carry the IPv4 or ARP
ethertype, so the IP and ARP counters on the ustack side move only by the
kinds meant for them."""
import random
import socket
import struct
import sys

SRC_IP = bytes([10, 0, 0, 1])
DST_IP = bytes([10, 0, 0, 2])


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(payload, proto=1, tot_len=None, ihl=5, version=4, bad_csum=False):
    tl = 20 + len(payload) if tot_len is None else tot_len
    hdr = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, tl, 0x1234, 0, 64, proto, 0,
                      SRC_IP, DST_IP)
    c = csum(hdr)
    if bad_csum:
        c ^= 0x5A5A
    return hdr[:10] + struct.pack("!H", c) + hdr[12:] + payload


def icmp_echo(data=b"garbage-test-payload", bad_csum=False):
    hdr = struct.pack("!BBHHH", 8, 0, 0, 0x4242, 1)
    c = csum(hdr + data)
    if bad_csum:
        c ^= 0x0F0F
    return hdr[:2] + struct.pack("!H", c) + hdr[4:] + data


def main():
    iface, dst_mac, count, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rnd = random.Random(seed)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    dst = bytes.fromhex(dst_mac.replace(":", ""))
    src = s.getsockname()[4][:6]
    other = bytes.fromhex("02bbccddeeff")

    def eth(t, payload, d=dst):
        return d + src + struct.pack("!H", t) + payload

    arp_ok = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, src, SRC_IP, b"\0" * 6, DST_IP)
    kinds = {
        # IpInHdrErrors
        "eth_only": lambda: eth(0x0800, b""),
        "ip_truncated_hdr": lambda: eth(0x0800, ipv4(icmp_echo())[:10]),
        "ip_bad_ihl": lambda: eth(0x0800, ipv4(icmp_echo(), ihl=4)),
        "ip_ihl_past_end": lambda: eth(0x0800, ipv4(b"", ihl=15)),
        "ip_version_6": lambda: eth(0x0800, ipv4(icmp_echo(), version=6)),
        "ip_totlen_below_ihl": lambda: eth(0x0800, ipv4(icmp_echo(), tot_len=12)),
        # IpExtInCsumErrors (+ IpInHdrErrors)
        "ip_bad_csum": lambda: eth(0x0800, ipv4(icmp_echo(), bad_csum=True)),
        # IpExtInTruncatedPkts
        "ip_totlen_past_frame": lambda: eth(0x0800, ipv4(icmp_echo(), tot_len=200)),
        # IcmpInErrors
        "icmp_truncated": lambda: eth(0x0800, ipv4(icmp_echo()[:4])),
        "icmp_bad_csum": lambda: eth(0x0800, ipv4(icmp_echo(bad_csum=True))),
        # Drop:ARP_MALFORMED
        "arp_truncated": lambda: eth(0x0806, arp_ok[:20]),
        "arp_bad_htype": lambda: eth(0x0806, b"\x00\x06" + arp_ok[2:]),
        # Drop:UNHANDLED_PROTO
        "ipv6": lambda: eth(0x86DD, b"\x60" + bytes(rnd.getrandbits(8) for _ in range(47))),
        "unknown_ethertype": lambda: eth(0x88B5, bytes(46)),
        "ieee_802_3_length": lambda: eth(46, b"\x42\x42\x03" + bytes(43)),
        # Drop:OTHERHOST
        "other_host": lambda: eth(0x0800, ipv4(icmp_echo()), d=other),
    }

    def random_frame():
        n = rnd.randrange(14, 300)
        b = bytearray(rnd.getrandbits(8) for _ in range(n))
        # Never IPv4 or ARP: a broadcast or multicast destination would
        # reach ustack's IP or ARP layer and blur the exact counts.
        if struct.unpack("!H", b[12:14])[0] in (0x0800, 0x0806):
            b[12:14] = b"\x88\xb6"
        return bytes(b)

    kinds["random_bytes"] = random_frame
    for name, make in kinds.items():
        for _ in range(count):
            s.send(make())
        print(name, count)


if __name__ == "__main__":
    main()
