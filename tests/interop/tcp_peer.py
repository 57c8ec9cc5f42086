#!/usr/bin/env python3
"""Linux-side TCP peers and checks for the TCP interop tests (run inside the
test's namespace with `ip netns exec`). Each subcommand prints one result
line and exits 0 when it saw exactly what it names, 1 otherwise.

    tcp_peer.py pattern N                  /bytes/N's body (byte i = i % 251) to stdout
    tcp_peer.py refused HOST PORT          connect(): expects ECONNREFUSED, quickly
    tcp_peer.py discard HOST PORT N        sends N bytes, half-closes, expects EOF and
                                           no data back; prints Linux's tcpi_bytes_acked
    tcp_peer.py chargen HOST PORT N        reads N bytes, checks the RFC 864 pattern
    tcp_peer.py http HOST PORT REQ         sends REQ (Python escapes, \\r\\n...) on one
                                           connection, reads until EOF (10 s at most),
                                           prints the responses parsed (status, headers,
                                           body length) one per line, then "EOF" or
                                           "OPEN" (the server kept the connection)
    tcp_peer.py half HOST PORT MODE [SRC]  sends half a request, then MODE: "fin"
                                           (close), "rst" (SO_LINGER 0 close) or "hold"
                                           (prints "holding" and sleeps until killed)
    tcp_peer.py many HOST PORT N           opens N connections at once and holds them
                                           until all are established, then asks each
                                           for a different /bytes/K and checks every
                                           response (status, length, content)
    tcp_peer.py badpcap FILE               writes a pcap with one TCP segment whose
                                           checksum is wrong and one malformed (a TCP
                                           header cut short) frame: the capture
                                           check must reject it
"""
import errno
import os
import select
import socket
import struct
import sys
import time


def pattern(n):
    block = bytes(range(251))
    reps = n // 251 + 1
    return (block * reps)[:n]


def cmd_pattern(n):
    out = sys.stdout.buffer
    block = bytes(range(251)) * 4096  # 1028096 bytes, a multiple of 251
    left = n
    while left:
        k = min(left, len(block))
        out.write(block[:k])
        left -= k
    out.flush()
    return 0


def cmd_refused(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    t0 = time.monotonic()
    try:
        s.connect((host, port))
    except ConnectionRefusedError as e:
        dt = time.monotonic() - t0
        print("refused errno=%s (%s) after %.3f s" % (errno.errorcode[e.errno], e.strerror, dt))
        return 0 if dt < 2 else 1
    except OSError as e:
        print("unexpected error: %s" % e)
        return 1
    print("connected (expected Connection refused)")
    return 1


def tcp_info_bytes_acked(s):
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    # struct tcp_info: tcpi_bytes_acked is the u64 at offset 120.
    return struct.unpack_from("=Q", info, 120)[0]


def cmd_discard(host, port, n):
    s = socket.create_connection((host, port), timeout=30)
    data = pattern(min(n, 1 << 20))
    sent = 0
    while sent < n:
        k = min(n - sent, len(data))
        s.sendall(data[:k])
        sent += k
    s.shutdown(socket.SHUT_WR)
    got = 0
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += len(b)
    acked = tcp_info_bytes_acked(s)
    s.close()
    print("sent %d bytes, received %d, EOF, tcpi_bytes_acked %d" % (sent, got, acked))
    # Linux's bytes_acked counts the SYN's and the FIN's sequence numbers
    # too; the server's FIN (our EOF) acknowledged ours.
    return 0 if got == 0 and acked == n + 2 else 1


def cmd_chargen(host, port, n):
    s = socket.create_connection((host, port), timeout=30)
    buf = bytearray()
    while len(buf) < n:
        b = s.recv(min(65536, n - len(buf)))
        if not b:
            break
        buf += b
    s.close()
    if len(buf) < n:
        print("chargen: only %d of %d bytes" % (len(buf), n))
        return 1
    # RFC 864: line k is 72 characters starting at printable character
    # k mod 95, then CR LF.
    for off in range(0, n, 74):
        k = off // 74
        line = bytes(32 + (k + i) % 95 for i in range(72)) + b"\r\n"
        want = line[: min(74, n - off)]
        if buf[off:off + len(want)] != want:
            print("chargen: line %d differs: %r" % (k, bytes(buf[off:off + 74])))
            return 1
    print("chargen: %d bytes, %d lines in the RFC 864 pattern" % (n, (n + 73) // 74))
    return 0


def cmd_http(host, port, req, heads):
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(req)
    data = bytearray()
    state = "EOF"
    deadline = time.monotonic() + 10
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            state = "OPEN"
            break
        r, _, _ = select.select([s], [], [], min(left, 1.0))
        if not r:
            # Quiet for a second after at least one full response: the
            # server keeps the connection open.
            if data:
                state = "OPEN"
                break
            continue
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            state = "RESET"
            break
        if not b:
            break
        data += b
    s.close()
    # Responses to HEAD have headers only: split them with that knowledge.
    pos = 0
    for i, is_head in enumerate(heads + [False] * 64):
        if pos >= len(data):
            break
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            print("INCOMPLETE %r" % bytes(data[pos:pos + 80]))
            return 1
        head = bytes(data[pos:end]).decode("latin-1").split("\r\n")
        hdrs = {}
        for h in head[1:]:
            k, _, v = h.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        pos = end + 4
        cl = int(hdrs.get("content-length", "0"))
        blen = 0 if is_head else cl
        body = bytes(data[pos:pos + blen])
        pos += len(body)
        body_ok = ""
        if body and body == pattern(len(body)):
            body_ok = " pattern"
        print("%s|len=%s|conn=%s|body=%d%s" % (head[0], hdrs.get("content-length"),
                                               hdrs.get("connection"), len(body), body_ok))
    print(state)
    return 0


def cmd_half(host, port, mode, src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if src:
        s.bind((src, 0))
    s.settimeout(10)
    s.connect((host, port))
    s.sendall(b"GET /bytes/100 HTTP/1.1\r\nHost: 10.0.0.2\r\nUser-Ag")
    time.sleep(0.2)
    if mode == "fin":
        s.close()
        print("sent half a request, closed")
    elif mode == "rst":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        print("sent half a request, reset")
    elif mode == "hold":
        print("holding %d" % s.getsockname()[1], flush=True)
        time.sleep(3600)
    else:
        print("bad mode")
        return 1
    return 0


def cmd_many(host, port, n):
    import resource
    import selectors
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1024), hard))
    sel = selectors.DefaultSelector()
    conns = []
    t0 = time.monotonic()
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((host, port))
        conns.append(s)
        sel.register(s, selectors.EVENT_WRITE, i)
    # Phase 1: every connection established before any request is sent.
    pending = n
    deadline = time.monotonic() + 60
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                print("connection %d failed: %s" % (key.data, os.strerror(err)))
                return 1
            sel.unregister(s)
            pending -= 1
    if pending:
        print("%d of %d connections not established in 60 s" % (pending, n))
        return 1
    t1 = time.monotonic()
    # Phase 2: a request on each (sizes differ so answers cannot be mixed up).
    bufs = {}
    for i, s in enumerate(conns):
        size = 100 + i
        s.setblocking(True)
        s.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" %
                  (size, host.encode()))
        s.setblocking(False)
        bufs[i] = bytearray()
        sel.register(s, selectors.EVENT_READ, i)
    open_ = n
    deadline = time.monotonic() + 60
    while open_ and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            s, i = key.fileobj, key.data
            try:
                b = s.recv(65536)
            except BlockingIOError:
                continue
            except ConnectionError as e:
                print("connection %d: %s" % (i, e))
                return 1
            if b:
                bufs[i] += b
                continue
            sel.unregister(s)
            s.close()
            open_ -= 1
    if open_:
        print("%d of %d responses incomplete after 60 s" % (open_, n))
        return 1
    for i in range(n):
        size = 100 + i
        data = bytes(bufs[i])
        head, sep, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        if not sep or lines[0] != "HTTP/1.1 200 OK" or \
                "Content-Length: %d" % size not in lines or body != pattern(size):
            print("connection %d: bad response %r" % (i, data[:120]))
            return 1
    print("%d concurrent connections established in %.2f s, all %d answered correctly in %.2f s"
          % (n, t1 - t0, n, time.monotonic() - t1))
    return 0


def csum(data):
    if len(data) % 2:
        data += b"\0"
    t = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while t >> 16:
        t = (t & 0xFFFF) + (t >> 16)
    return (~t) & 0xFFFF


def cmd_badpcap(path):
    src, dst = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])

    def ip(payload, proto=6):
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, proto, 0,
                        src, dst)
        return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload

    payload = b"hello"
    tcp = struct.pack("!HHIIBBHHH", 40000, 80, 1, 1, 5 << 4, 0x18, 1024, 0, 0) + payload
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    good = csum(pseudo + tcp)
    bad_tcp = tcp[:16] + struct.pack("!H", good ^ 0x1111) + tcp[18:]
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    frames = [eth + ip(bad_tcp), eth + ip(tcp[:12])]  # the second: TCP header cut short
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1000 + i, 0, len(fr), len(fr)))
            f.write(fr)
    print("wrote %s: 1 bad TCP checksum, 1 malformed TCP header" % path)
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    c = argv[1]
    if c == "pattern":
        return cmd_pattern(int(argv[2]))
    if c == "refused":
        return cmd_refused(argv[2], int(argv[3]))
    if c == "discard":
        return cmd_discard(argv[2], int(argv[3]), int(argv[4]))
    if c == "chargen":
        return cmd_chargen(argv[2], int(argv[3]), int(argv[4]))
    if c == "http":
        req = argv[4].encode("latin-1").decode("unicode_escape").encode("latin-1")
        heads = []
        for line in req.split(b"\r\n\r\n"):
            if line.lstrip(b"\r\n").startswith(b"HEAD "):
                heads.append(True)
            elif line.strip():
                heads.append(False)
        return cmd_http(argv[2], int(argv[3]), req, heads)
    if c == "half":
        return cmd_half(argv[2], int(argv[3]), argv[4], argv[5] if len(argv) > 5 else None)
    if c == "many":
        return cmd_many(argv[2], int(argv[3]), int(argv[4]))
    if c == "badpcap":
        return cmd_badpcap(argv[2])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
