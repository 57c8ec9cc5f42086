#!/usr/bin/env python3
"""Compares the packets of two pcap files (classic pcap, any byte order,
micro- or nanosecond): the same frames, byte for byte, as multisets (the
two captures may order simultaneous frames differently).

    pcapcmp.py A.pcap B.pcap     exit 0 when equal; differences printed
    pcapcmp.py --count A.pcap    prints "frames bytes"
"""
import struct
import sys
from collections import Counter


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise SystemExit(f"{path}: too short for a pcap header")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise SystemExit(f"{path}: not a classic pcap file")
    linktype = struct.unpack(e + "I", data[20:24])[0]
    off = 24
    out = []
    while off + 16 <= len(data):
        _, _, caplen, origlen = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        if off + caplen > len(data):
            raise SystemExit(f"{path}: truncated record")
        out.append(data[off:off + caplen])
        off += caplen
    if off != len(data):
        raise SystemExit(f"{path}: {len(data) - off} stray bytes at the end")
    return linktype, out


def main():
    if sys.argv[1] == "--count":
        _, fs = frames(sys.argv[2])
        print(len(fs), sum(len(x) for x in fs))
        return 0
    la, a = frames(sys.argv[1])
    lb, b = frames(sys.argv[2])
    ok = True
    if la != lb:
        print(f"link types differ: {la} != {lb}")
        ok = False
    ca, cb = Counter(a), Counter(b)
    only_a = ca - cb
    only_b = cb - ca
    print(f"{sys.argv[1]}: {len(a)} frames, {sum(map(len, a))} bytes; "
          f"{sys.argv[2]}: {len(b)} frames, {sum(map(len, b))} bytes")
    for name, extra in ((sys.argv[1], only_a), (sys.argv[2], only_b)):
        for fr, n in list(extra.items())[:10]:
            ok = False
            print(f"only in {name} (x{n}): {len(fr)} bytes {fr[:48].hex()}")
    return 0 if ok and len(a) == len(b) else 1


if __name__ == "__main__":
    sys.exit(main())
