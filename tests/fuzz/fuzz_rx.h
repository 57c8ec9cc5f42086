/*
 * The fuzz_rx target's input format and the network it fuzzes, shared by
 * the target (fuzz_rx.c) and the seed corpus generator (gen_corpus.c).
 *
 * An input is a sequence of records:
 *
 *   [sel: 1 byte][adv: 1 byte][len: 2 bytes, little-endian][len bytes]
 *
 * A truncated last record takes what is left; fewer than 4 bytes left end
 * the input.
 *
 *   sel bits 0-1: the device the frame arrives on: 0 eth0, 1 eth1, 2 tun0
 *                 (IP packets without a link header), 3 eth0 again
 *   sel bit 2:    recompute the IPv4 header checksum before injecting
 *   sel bit 3:    recompute the ICMP, UDP or TCP checksum (of an
 *                 unfragmented datagram) before injecting
 *   sel bit 4:    set the Ethernet destination to the device's MAC
 *   sel bit 5:    TCP: the acknowledgment number is relative: the harness
 *                 adds the stack's last SYN sequence number + 1 (the
 *                 stack's ISS comes from a keyed hash the fuzzer cannot
 *                 guess), before fixing the checksum
 *   sel bits 5-7: all three set make the record a control record (below)
 *   adv:          virtual time to let pass (running every timer due)
 *                 before the frame arrives: 0 none, 1..100 adv*10 ms,
 *                 101..255 (adv-100) seconds
 *
 * The fix-up bits let the fuzzer mutate headers without having to find
 * the checksums, which coverage feedback cannot solve.
 *
 * A control record changes the configuration instead of carrying a frame:
 * each of its bytes is a command (FZ_CTL_*, unknown ones are ignored), so
 * frames meet devices going down, routes going away, MTU changes.
 *
 * The network (addresses in dotted form; every stack is built the same,
 * with seed FZ_SEED, so a given input always does the same thing):
 *
 *   eth0  02:00:00:00:00:01  10.0.0.1/24   hosts 10.0.0.2... (peer MAC FZ_PEER0_MAC)
 *   eth1  02:00:00:00:01:01  10.1.0.1/24   MTU 1000, gateway 10.1.0.254
 *   tun0  (l3)               10.2.0.1/24   peer 10.2.0.2
 *   lo                       127.0.0.1/8
 *   routes: default via 10.1.0.254 (eth1), 192.168.0.0/16 via 10.2.0.2 (tun0)
 *   forwarding on
 *   sockets: UDP on port 7 (echoes up to 16 datagrams a record back to
 *   their source), TCP listening on port 80 (connections accepted, data
 *   echoed, closed on EOF; 8 at most), raw ICMP, a packet socket for every
 *   protocol; all are read after every record
 */
#ifndef USTACK_FUZZ_RX_H
#define USTACK_FUZZ_RX_H

#include <stddef.h>
#include <stdint.h>

#define FZ_DEV_ETH0 0
#define FZ_DEV_ETH1 1
#define FZ_DEV_TUN0 2
#define FZ_FIX_IPCSUM 0x04
#define FZ_FIX_L4CSUM 0x08
#define FZ_SET_DST 0x10
#define FZ_TCP_ACK_REL 0x20
#define FZ_CONTROL 0xe0

/* Commands of a control record. */
enum {
	FZ_CTL_FWD_OFF = 0x00,
	FZ_CTL_FWD_ON = 0x01,
	FZ_CTL_DOWN = 0x02,         /* + device: 0x02 eth0, 0x03 eth1, 0x04 tun0 */
	FZ_CTL_UP = 0x05,           /* + device */
	FZ_CTL_DEFAULT_DEL = 0x08,  /* the default route */
	FZ_CTL_DEFAULT_ADD = 0x09,
	FZ_CTL_MTU1_576 = 0x0a,     /* eth1's MTU */
	FZ_CTL_MTU1_68 = 0x0b,
	FZ_CTL_MTU1_1500 = 0x0c,
	FZ_CTL_ADDR0_DEL = 0x0d,    /* 10.0.0.1/24 on eth0 */
	FZ_CTL_ADDR0_ADD = 0x0e,
	FZ_CTL_PROMISC0 = 0x0f,     /* eth0 promiscuous on */
};

#define FZ_SEED 0x5eed
#define FZ_ETH1_MTU 1000

/* adv byte for a number of milliseconds (<= 1 s) or seconds (<= 155). */
#define FZ_ADV_MS(ms) ((uint8_t)((ms) / 10))
#define FZ_ADV_S(s) ((uint8_t)(100 + (s)))

static const uint8_t fz_eth0_mac[6] = { 0x02, 0, 0, 0, 0x00, 0x01 };
static const uint8_t fz_eth1_mac[6] = { 0x02, 0, 0, 0, 0x01, 0x01 };
static const uint8_t fz_peer0_mac[6] = { 0x02, 0, 0, 0, 0x00, 0x02 };
static const uint8_t fz_gw1_mac[6] = { 0x02, 0, 0, 0, 0x01, 0xfe };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
