/*
 * libFuzzer target for the whole receive path: arbitrary frames on two
 * Ethernet devices and a TUN-like device of a stack with addresses,
 * routes, forwarding and sockets (UDP echo, a TCP echo server, raw ICMP,
 * a packet tap), under virtual time (input format and network in
 * fuzz_rx.h).
 *
 * Each input gets a fresh, deterministic stack. Besides the sanitizers,
 * the target aborts when:
 *  - a frame the stack transmits is malformed (an IPv4 header with a bad
 *    checksum or length, a frame over the device MTU or under the
 *    Ethernet minimum, a wrong source MAC);
 *  - the stack does not settle (keeps finding work at one instant);
 *  - once the sockets are closed, socket buffers are still in use after
 *    an hour of virtual time (reassembly, ARP and TCP timers have all run
 *    out by then);
 *  - us_stack_free reports an error (buffers not returned to the pool).
 *
 * Only the public API is used, so the target follows the library.
 */
#include "fuzz_rx.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <sys/socket.h>

#include "ustack/socket.h"
#include "ustack/ustack.h"

#define FZ_NDEV 3
#define FZ_MAX_RECORDS 1024
/* Datagrams the UDP echo socket sends back per record, at most (a
 * datagram from our own port 7 would echo forever). */
#define FZ_ECHO_MAX 16
#define FZ_TCP_CONNS 8
/* Time allowed, after the sockets are closed, for every buffer to come
 * back (reassembly 30 s, ARP 3 s, TCP retransmission up to ~15 min). */
#define FZ_DRAIN_MAX_NS (3600ull * 1000000000ull)
#define FZ_QUIET_NS (300ull * 1000000000ull)

struct fz;
struct fz_dev {
	struct fz *f;
	int ifindex;
	bool l3;
	unsigned mtu;        /* the largest it has had (queued frames may be older) */
	const uint8_t *mac;
	uint64_t tx;         /* frames the stack sent on it */
};

struct fz {
	us_clock *clk;
	us_stack *s;
	struct fz_dev dev[FZ_NDEV];
	int udp_fd;          /* UDP echo on port 7 */
	int raw_fd;          /* raw ICMP */
	int pkt_fd;          /* packet socket, every protocol */
	int tcp_lfd;         /* TCP listening on port 80, or -1 */
	int tcp_fd[FZ_TCP_CONNS]; /* accepted connections, -1 when free */
	uint32_t tcp_iss;    /* sequence number of the stack's last SYN */
	bool teardown;
};

static void fz_fail(struct fz *f, const char *what)
{
	fprintf(stderr, "fuzz_rx: %s\n", what);
	if (f->s)
		us_stack_dump_counters(f->s, stderr);
	abort();
}

static void fz_log(void *arg, enum us_log_level lvl, const char *msg)
{
	struct fz *f = arg;
	if (f->teardown && lvl == US_LOG_ERR) {
		fprintf(stderr, "fuzz_rx: error at teardown: %s\n", msg);
		abort();
	}
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold16(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Checks one frame the stack sent on dev; returns a description of what
 * is wrong, or NULL. */
static const char *fz_check_tx(const struct fz_dev *d, const uint8_t *p, size_t len)
{
	size_t off = 0;
	if (!d->l3) {
		if (len < 60)
			return "Ethernet frame shorter than 60 bytes";
		if (len > 14 + d->mtu)
			return "Ethernet frame longer than the MTU";
		if (memcmp(p + 6, d->mac, 6) != 0)
			return "Ethernet source is not the device's MAC";
		if (p[12] != 0x08 || p[13] != 0x00)
			return NULL; /* ARP: checked by its receiver */
		off = 14;
	} else if (len > d->mtu) {
		return "IP packet longer than the MTU";
	}
	const uint8_t *ip = p + off;
	size_t avail = len - off;
	if (avail < 20 || (ip[0] >> 4) != 4)
		return "not an IPv4 header";
	size_t ihl = (size_t)(ip[0] & 15) * 4;
	size_t tot = (size_t)(ip[2] << 8 | ip[3]);
	if (ihl < 20 || ihl > avail || tot < ihl || tot > avail)
		return "IPv4 header or total length inconsistent with the frame";
	if (d->l3 && tot != avail)
		return "IP packet longer than its total length";
	if (csum_fold16(csum_add(0, ip, ihl)) != 0)
		return "IPv4 header checksum wrong";
	return NULL;
}

static void fz_tx(void *arg, const void *frame, size_t len)
{
	struct fz_dev *d = arg;
	d->tx++;
	const char *bad = fz_check_tx(d, frame, len);
	if (bad) {
		fprintf(stderr, "fuzz_rx: transmitted frame (%zu bytes): %s\n", len, bad);
		abort();
	}
	/* Remember the stack's ISS (checked above: a whole IPv4 header). */
	const uint8_t *ip = (const uint8_t *)frame + (d->l3 ? 0 : 14);
	size_t ipl = len - (d->l3 ? 0 : 14);
	if (!d->l3 && (len < 14 || ((const uint8_t *)frame)[12] != 0x08 ||
		       ((const uint8_t *)frame)[13] != 0x00))
		return;
	size_t ihl = (size_t)(ip[0] & 15) * 4;
	if (ip[9] == 6 && !((ip[6] & 0x3f) || ip[7]) && ipl >= ihl + 20 && (ip[ihl + 13] & 0x02))
		d->f->tcp_iss = (uint32_t)ip[ihl + 4] << 24 | (uint32_t)ip[ihl + 5] << 16 |
				(uint32_t)ip[ihl + 6] << 8 | ip[ihl + 7];
}

/* Runs the stack until it has nothing left to do at this instant. */
static void fz_settle(struct fz *f)
{
	for (int i = 0; i < 10000; i++)
		if (us_stack_poll(f->s) > us_clock_now(f->clk))
			return;
	fz_fail(f, "the stack does not settle: still busy after 10000 poll rounds");
}

/* Lets delta_ns of virtual time pass, running every event on the way. */
static void fz_advance(struct fz *f, uint64_t delta_ns)
{
	uint64_t target = us_clock_now(f->clk) + delta_ns;
	for (int i = 0; i < 100000; i++) {
		uint64_t next = us_stack_next_event(f->s);
		if (next > target)
			break;
		if (next > us_clock_now(f->clk))
			us_clock_set(f->clk, next);
		fz_settle(f);
	}
	us_clock_set(f->clk, target);
	fz_settle(f);
}

static uint64_t fz_adv_ns(uint8_t adv)
{
	if (adv == 0)
		return 0;
	if (adv <= 100)
		return (uint64_t)adv * 10000000ull;
	return (uint64_t)(adv - 100) * 1000000000ull;
}

/* The fix-up bits of the selector (see fuzz_rx.h). */
static void fz_fixup(uint8_t *p, size_t len, bool l3, unsigned sel, const uint8_t *mac,
		     uint32_t iss)
{
	size_t off = 0;
	if (!l3) {
		if ((sel & FZ_SET_DST) && len >= 6)
			memcpy(p, mac, 6);
		if (len < 14 || p[12] != 0x08 || p[13] != 0x00)
			return;
		off = 14;
	}
	uint8_t *ip = p + off;
	size_t avail = len - off;
	if (avail < 20 || (ip[0] >> 4) != 4)
		return;
	size_t ihl = (size_t)(ip[0] & 15) * 4;
	if (ihl < 20 || ihl > avail)
		return;
	size_t tot = (size_t)(ip[2] << 8 | ip[3]);
	if (tot > avail)
		tot = avail;
	bool frag = (ip[6] & 0x3f) || ip[7];
	if ((sel & FZ_TCP_ACK_REL) && !frag && ip[9] == 6 && tot >= ihl + 20) {
		uint8_t *a = ip + ihl + 8;
		uint32_t ack = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
		ack += iss + 1;
		put16(a, (uint16_t)(ack >> 16));
		put16(a + 2, (uint16_t)ack);
	}
	if ((sel & FZ_FIX_L4CSUM) && !frag && tot > ihl) {
		uint8_t *l4 = ip + ihl;
		size_t l4len = tot - ihl;
		uint32_t pseudo = csum_add(0, ip + 12, 8) + ip[9] + (uint32_t)l4len;
		if (ip[9] == 1 && l4len >= 8) {
			put16(l4 + 2, 0);
			put16(l4 + 2, csum_fold16(csum_add(0, l4, l4len)));
		} else if (ip[9] == 17 && l4len >= 8) {
			size_t ulen = (size_t)(l4[4] << 8 | l4[5]);
			if (ulen >= 8 && ulen <= l4len) {
				pseudo = csum_add(0, ip + 12, 8) + 17 + (uint32_t)ulen;
				put16(l4 + 6, 0);
				uint16_t c = csum_fold16(csum_add(pseudo, l4, ulen));
				put16(l4 + 6, c ? c : 0xffff);
			}
		} else if (ip[9] == 6 && l4len >= 20) {
			put16(l4 + 16, 0);
			put16(l4 + 16, csum_fold16(csum_add(pseudo, l4, l4len)));
		}
	}
	if (sel & FZ_FIX_IPCSUM) {
		put16(ip + 10, 0);
		put16(ip + 10, csum_fold16(csum_add(0, ip, ihl)));
	}
}

static void fz_add_addr(struct fz *f, int ifindex, const char *prefix)
{
	struct in_addr a;
	int plen;
	if (us_parse_prefix(prefix, &a, &plen) < 0 || us_addr_add(f->s, ifindex, a, plen) < 0)
		fz_fail(f, "cannot add an address");
}

static void fz_setup(struct fz *f)
{
	memset(f, 0, sizeof(*f));
	f->clk = us_clock_new_virtual(1000000000ull);
	struct us_stack_config cfg = {
		.clock = f->clk,
		.seed = FZ_SEED,
		.mem_limit = 64u << 20,
		.name = "fuzz",
	};
	f->s = us_stack_new(&cfg);
	if (!f->clk || !f->s)
		fz_fail(f, "cannot create a stack");
	us_set_log(f->s, US_LOG_ERR, fz_log, f);

	static const char *const names[FZ_NDEV] = { "eth0", "eth1", "tun0" };
	static const char *const addrs[FZ_NDEV] = { "10.0.0.1/24", "10.1.0.1/24", "10.2.0.1/24" };
	const uint8_t *macs[FZ_NDEV] = { fz_eth0_mac, fz_eth1_mac, NULL };
	for (int i = 0; i < FZ_NDEV; i++) {
		struct fz_dev *d = &f->dev[i];
		d->f = f;
		d->l3 = i == FZ_DEV_TUN0;
		d->mac = macs[i];
		d->ifindex = us_dev_callback(f->s, names[i], d->l3, fz_tx, d);
		if (d->ifindex < 0)
			fz_fail(f, "cannot create a callback device");
		if (d->mac && us_dev_set_mac(f->s, d->ifindex, d->mac) < 0)
			fz_fail(f, "cannot set a MAC");
		if (i == FZ_DEV_ETH1 && us_dev_set_mtu(f->s, d->ifindex, FZ_ETH1_MTU) < 0)
			fz_fail(f, "cannot set the MTU");
		d->mtu = (unsigned)us_dev_get_mtu(f->s, d->ifindex);
		us_dev_set_up(f->s, d->ifindex, true);
		fz_add_addr(f, d->ifindex, addrs[i]);
	}
	struct in_addr any = { 0 }, gw1, net192, gw2;
	inet_pton(AF_INET, "10.1.0.254", &gw1);
	inet_pton(AF_INET, "192.168.0.0", &net192);
	inet_pton(AF_INET, "10.2.0.2", &gw2);
	if (us_route_add(f->s, any, 0, gw1, 0) < 0 || us_route_add(f->s, net192, 16, gw2, 0) < 0)
		fz_fail(f, "cannot add routes");
	us_set_forwarding(f->s, true);

	/* Sockets, so that delivery reaches a UDP socket, a raw socket and a
	 * packet tap; what they receive is read and discarded (UDP's is
	 * echoed back). */
	f->udp_fd = us_socket(f->s, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(7) };
	if (f->udp_fd < 0 || us_bind(f->s, f->udp_fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		fz_fail(f, "cannot open the UDP socket");
	f->raw_fd = us_socket(f->s, AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_ICMP);
	if (f->raw_fd < 0)
		fz_fail(f, "cannot open the raw socket");
	f->pkt_fd = us_socket(f->s, AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
	if (f->pkt_fd < 0)
		fz_fail(f, "cannot open the packet socket");
	/* TCP may be absent from a build: then the target goes without. */
	for (int i = 0; i < FZ_TCP_CONNS; i++)
		f->tcp_fd[i] = -1;
	f->tcp_lfd = us_socket(f->s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	sin.sin_port = htons(80);
	if (f->tcp_lfd >= 0 &&
	    (us_bind(f->s, f->tcp_lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	     us_listen(f->s, f->tcp_lfd, FZ_TCP_CONNS) < 0))
		fz_fail(f, "cannot listen on TCP port 80");
	fz_settle(f);
}

/* The TCP side of fz_drain: accept, echo what arrives, close on EOF or
 * error. Returns true if anything happened. */
static bool fz_drain_tcp(struct fz *f, uint8_t *buf, size_t cap)
{
	bool any = false;
	if (f->tcp_lfd < 0)
		return false;
	int c;
	while ((c = us_accept4(f->s, f->tcp_lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
		any = true;
		int slot = -1;
		for (int i = 0; i < FZ_TCP_CONNS && slot < 0; i++)
			if (f->tcp_fd[i] < 0)
				slot = i;
		if (slot < 0) { /* full: the oldest goes */
			us_close(f->s, f->tcp_fd[0]);
			memmove(f->tcp_fd, f->tcp_fd + 1, sizeof(f->tcp_fd[0]) * (FZ_TCP_CONNS - 1));
			slot = FZ_TCP_CONNS - 1;
		}
		f->tcp_fd[slot] = c;
	}
	for (int i = 0; i < FZ_TCP_CONNS; i++) {
		if (f->tcp_fd[i] < 0)
			continue;
		ssize_t n = us_recv(f->s, f->tcp_fd[i], buf, cap, 0);
		if (n > 0) {
			any = true;
			us_send(f->s, f->tcp_fd[i], buf, (size_t)n, MSG_NOSIGNAL);
		} else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
			any = true;
			us_close(f->s, f->tcp_fd[i]);
			f->tcp_fd[i] = -1;
		}
	}
	return any;
}

/* Reads what the sockets hold; the UDP socket echoes a few datagrams. */
static void fz_drain(struct fz *f)
{
	static uint8_t buf[65536];
	int echoed = 0;
	for (int round = 0; round < 4; round++) {
		bool any = false;
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n;
		while ((n = us_recvfrom(f->s, f->udp_fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
					&fl)) >= 0) {
			any = true;
			if (echoed++ < FZ_ECHO_MAX)
				us_sendto(f->s, f->udp_fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
			fl = sizeof(from);
		}
		while (us_recv(f->s, f->raw_fd, buf, sizeof(buf), 0) >= 0)
			any = true;
		while (us_recv(f->s, f->pkt_fd, buf, sizeof(buf), 0) >= 0)
			any = true;
		if (fz_drain_tcp(f, buf, sizeof(buf)))
			any = true;
		if (!any)
			break;
		fz_settle(f);
	}
}

static struct in_addr fz_ip(const char *dotted)
{
	struct in_addr a;
	inet_pton(AF_INET, dotted, &a);
	return a;
}

/* A control record: one command per byte (fuzz_rx.h). */
static void fz_control(struct fz *f, const uint8_t *cmd, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t c = cmd[i];
		switch (c) {
		case FZ_CTL_FWD_OFF:
		case FZ_CTL_FWD_ON:
			us_set_forwarding(f->s, c == FZ_CTL_FWD_ON);
			break;
		case FZ_CTL_DOWN:
		case FZ_CTL_DOWN + 1:
		case FZ_CTL_DOWN + 2:
			us_dev_set_up(f->s, f->dev[c - FZ_CTL_DOWN].ifindex, false);
			break;
		case FZ_CTL_UP:
		case FZ_CTL_UP + 1:
		case FZ_CTL_UP + 2:
			us_dev_set_up(f->s, f->dev[c - FZ_CTL_UP].ifindex, true);
			break;
		case FZ_CTL_DEFAULT_DEL:
			us_route_del(f->s, fz_ip("0.0.0.0"), 0);
			break;
		case FZ_CTL_DEFAULT_ADD:
			us_route_add(f->s, fz_ip("0.0.0.0"), 0, fz_ip("10.1.0.254"), 0);
			break;
		case FZ_CTL_MTU1_576:
		case FZ_CTL_MTU1_68:
		case FZ_CTL_MTU1_1500: {
			struct fz_dev *d = &f->dev[FZ_DEV_ETH1];
			unsigned mtu = c == FZ_CTL_MTU1_576 ? 576 : c == FZ_CTL_MTU1_68 ? 68 : 1500;
			/* Frames waiting for ARP were sized for the old MTU: the
			 * check of transmitted frames keeps the largest. */
			if (us_dev_set_mtu(f->s, d->ifindex, mtu) == 0 && mtu > d->mtu)
				d->mtu = mtu;
			break;
		}
		case FZ_CTL_ADDR0_DEL:
			us_addr_del(f->s, f->dev[FZ_DEV_ETH0].ifindex, fz_ip("10.0.0.1"), 24);
			break;
		case FZ_CTL_ADDR0_ADD:
			us_addr_add(f->s, f->dev[FZ_DEV_ETH0].ifindex, fz_ip("10.0.0.1"), 24);
			break;
		case FZ_CTL_PROMISC0:
			us_dev_set_promisc(f->s, f->dev[FZ_DEV_ETH0].ifindex, true);
			break;
		default:
			break;
		}
	}
	fz_settle(f);
}

static void fz_teardown(struct fz *f)
{
	/* The sockets are emptied and closed; then every buffer must come
	 * back as the timers that hold them run out. */
	fz_drain(f);
	for (int i = 0; i < FZ_TCP_CONNS; i++)
		if (f->tcp_fd[i] >= 0)
			us_close(f->s, f->tcp_fd[i]);
	if (f->tcp_lfd >= 0)
		us_close(f->s, f->tcp_lfd);
	us_close(f->s, f->udp_fd);
	us_close(f->s, f->raw_fd);
	us_close(f->s, f->pkt_fd);
	fz_settle(f);
	struct us_pool_stats st;
	uint64_t waited = 0;
	for (;;) {
		us_stack_pool_stats(f->s, &st);
		/* At least FZ_QUIET_NS, so that the timers run even then. */
		if ((st.in_use == 0 && waited >= FZ_QUIET_NS) || waited >= FZ_DRAIN_MAX_NS)
			break;
		fz_advance(f, 60ull * 1000000000ull);
		waited += 60ull * 1000000000ull;
	}
	static int verbose = -1;
	if (verbose < 0)
		verbose = getenv("FUZZ_RX_VERBOSE") != NULL;
	if (verbose) {
		/* What the input did: FUZZ_RX_VERBOSE=1 fuzz_rx_replay FILE. */
		fprintf(stderr, "sent: eth0 %llu, eth1 %llu, tun0 %llu; buffers back after %llu s\n",
			(unsigned long long)f->dev[0].tx, (unsigned long long)f->dev[1].tx,
			(unsigned long long)f->dev[2].tx, (unsigned long long)(waited / 1000000000ull));
		us_stack_dump_counters(f->s, stderr);
	}
	if (st.in_use) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%llu socket buffers still in use %llu s after the sockets closed",
			 (unsigned long long)st.in_use,
			 (unsigned long long)(FZ_DRAIN_MAX_NS / 1000000000ull));
		fz_fail(f, msg);
	}
	f->teardown = true;
	us_stack_free(f->s);
	f->s = NULL;
	us_clock_free(f->clk);
	f->clk = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frame[65536];
	static struct fz f;
	fz_setup(&f);
	size_t off = 0;
	for (int n = 0; n < FZ_MAX_RECORDS && size - off >= 4; n++) {
		unsigned sel = data[off];
		uint8_t adv = data[off + 1];
		size_t len = (size_t)data[off + 2] | (size_t)data[off + 3] << 8;
		off += 4;
		if (len > size - off)
			len = size - off;
		if (adv)
			fz_advance(&f, fz_adv_ns(adv));
		if ((sel & FZ_CONTROL) == FZ_CONTROL) {
			fz_control(&f, data + off, len);
			off += len;
			fz_drain(&f);
			continue;
		}
		struct fz_dev *d = &f.dev[(sel & 3) == 3 ? FZ_DEV_ETH0 : (sel & 3)];
		memcpy(frame, data + off, len);
		off += len;
		fz_fixup(frame, len, d->l3, sel, d->mac, f.tcp_iss);
		us_dev_input(f.s, d->ifindex, frame, len);
		fz_settle(&f);
		fz_drain(&f);
	}
	fz_teardown(&f);
	return 0;
}
