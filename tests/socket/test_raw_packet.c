/*
 * Raw IP and packet sockets between two stacks under virtual time: ICMP
 * echo through SOCK_RAW (IP header included), ICMP_FILTER, IP_HDRINCL and
 * IPPROTO_RAW, raw sockets of a protocol the stack does not know; AF_PACKET
 * taps (every frame received and sent, PACKET_OUTGOING, not one's own),
 * SOCK_DGRAM by ethertype, sending frames, PACKET_STATISTICS.
 */
#include <arpa/inet.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/ip_icmp.h>

#include "socktest.h"

#ifndef ICMP_FILTER
#define ICMP_FILTER 1 /* <linux/icmp.h>, SOL_RAW */
#endif

static struct sim sim;
static int ia, ib;
static uint8_t mac_a[6], mac_b[6];

static void setup(uint64_t seed)
{
	net2(&sim, seed, &ia, &ib);
	us_dev_get_mac(sim.st[0], ia, mac_a);
	us_dev_get_mac(sim.st[1], ib, mac_b);
}

static uint16_t csum16(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* An ICMP echo request: id, seq, len bytes of data (pattern seq+i). */
static size_t echo_req(uint8_t *p, uint16_t id, uint16_t seq, size_t len)
{
	p[0] = ICMP_ECHO, p[1] = 0, p[2] = p[3] = 0;
	p[4] = (uint8_t)(id >> 8), p[5] = (uint8_t)id;
	p[6] = (uint8_t)(seq >> 8), p[7] = (uint8_t)seq;
	for (size_t i = 0; i < len; i++)
		p[8 + i] = (uint8_t)(seq + i);
	uint16_t c = csum16(p, 8 + len);
	p[2] = (uint8_t)(c >> 8), p[3] = (uint8_t)c;
	return 8 + len;
}

/* A raw ICMP socket sends an echo request and receives the reply with its
 * IP header; every raw ICMP socket gets a copy of every ICMP message,
 * errors included. */
static void t_raw_icmp_echo(void)
{
	setup(41);
	us_stack *a = sim.st[0], *b = sim.st[1];
	int r = us_socket(a, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	int r2 = us_socket(a, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	REQUIRE(r >= 0 && r2 >= 0);
	uint64_t a_echos = ctr(a, "IcmpOutEchos"), b_in = ctr(b, "IcmpInEchos");
	uint64_t b_reps = ctr(b, "IcmpOutEchoReps"), a_reps = ctr(a, "IcmpInEchoReps");
	uint8_t req[64], buf[256];
	size_t n = echo_req(req, 0x1234, 1, 32);
	struct sockaddr_in to = sin4("10.0.0.2", 0);
	CHECK_EQ(us_sendto(a, r, req, n, 0, SA(&to), sizeof(to)), (long)n);
	sim_run_for(&sim, 20 * MS);
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t got = us_recvfrom(a, r, buf, sizeof(buf), MSG_DONTWAIT, SA(&from), &fl);
	CHECK_EQ(got, 20 + (long)n);
	REQUIRE(got >= 20 + 8);
	CHECK_EQ(buf[0], 0x45);
	CHECK_EQ(buf[2] << 8 | buf[3], got); /* total length */
	CHECK_EQ(buf[9], IPPROTO_ICMP);
	CHECK(!memcmp(buf + 12, &to.sin_addr, 4));
	CHECK_EQ(csum16(buf, 20), 0);
	CHECK_EQ(buf[20], ICMP_ECHOREPLY);
	CHECK_EQ(buf[24] << 8 | buf[25], 0x1234);
	CHECK_EQ(buf[26] << 8 | buf[27], 1);
	CHECK(!memcmp(buf + 28, req + 8, 32));
	CHECK_EQ(csum16(buf + 20, (size_t)got - 20), 0);
	CHECK_EQ(fl, sizeof(from));
	CHECK_EQ(from.sin_family, AF_INET);
	CHECK_EQ(from.sin_addr.s_addr, to.sin_addr.s_addr);
	CHECK_EQ(from.sin_port, 0);
	/* The other raw socket has its copy too. */
	CHECK_EQ(us_recv(a, r2, buf, sizeof(buf), MSG_DONTWAIT), 20 + (long)n);
	CHECK_ERR(us_recv(a, r, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	CHECK_EQ(ctr(a, "IcmpOutEchos") - a_echos, 1);
	CHECK_EQ(ctr(b, "IcmpInEchos") - b_in, 1);
	CHECK_EQ(ctr(b, "IcmpOutEchoReps") - b_reps, 1);
	CHECK_EQ(ctr(a, "IcmpInEchoReps") - a_reps, 1);

	/* An ICMP error is an ICMP message too: a port unreachable. */
	int u = us_socket(a, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in closed = sin4("10.0.0.2", 5999);
	CHECK_EQ(us_sendto(a, u, "x", 1, 0, SA(&closed), sizeof(closed)), 1);
	sim_run_for(&sim, 20 * MS);
	got = us_recv(a, r, buf, sizeof(buf), MSG_DONTWAIT);
	CHECK(got >= 20 + 8 + 20 + 8);
	CHECK_EQ(buf[20], ICMP_DEST_UNREACH);
	CHECK_EQ(buf[21], ICMP_PORT_UNREACH);
	CHECK_EQ(buf[20 + 8 + 9], IPPROTO_UDP); /* the quoted datagram */
	CHECK_EQ(us_recv(a, r2, buf, sizeof(buf), MSG_DONTWAIT), got);

	/* Bound to another local address, or connected to another host: not
	 * for this socket. */
	struct sockaddr_in lo = sin4("127.0.0.1", 0), other = sin4("10.0.0.3", 0);
	CHECK_OK(us_bind(a, r, SA(&lo), sizeof(lo)));
	CHECK_OK(us_connect(a, r2, SA(&other), sizeof(other)));
	int r3 = us_socket(a, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	n = echo_req(req, 0x1234, 2, 8);
	CHECK_EQ(us_sendto(a, r3, req, n, 0, SA(&to), sizeof(to)), (long)n);
	sim_run_for(&sim, 20 * MS);
	CHECK_EQ(us_recv(a, r3, buf, sizeof(buf), MSG_DONTWAIT), 20 + (long)n);
	CHECK_ERR(us_recv(a, r, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	CHECK_ERR(us_recv(a, r2, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	/* Connected: send() goes to the peer. */
	CHECK_OK(us_connect(a, r3, SA(&to), sizeof(to)));
	n = echo_req(req, 0x1234, 3, 8);
	CHECK_EQ(us_send(a, r3, req, n, 0), (long)n);
	sim_run_for(&sim, 20 * MS);
	CHECK_EQ(us_recv(a, r3, buf, sizeof(buf), MSG_DONTWAIT), 20 + (long)n);
	CHECK_EQ(buf[26] << 8 | buf[27], 3);
	sim_free(&sim);
}

/* ICMP_FILTER: bit t set drops ICMP type t for this socket only. */
static void t_icmp_filter(void)
{
	setup(42);
	us_stack *a = sim.st[0];
	int r = us_socket(a, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	int r2 = us_socket(a, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	REQUIRE(r >= 0 && r2 >= 0);
	uint32_t f = 1u << ICMP_ECHOREPLY, g = 0;
	socklen_t l = sizeof(g);
	CHECK_OK(us_getsockopt(a, r, SOL_RAW, ICMP_FILTER, &g, &l));
	CHECK_EQ(g, 0);
	CHECK_OK(us_setsockopt(a, r, SOL_RAW, ICMP_FILTER, &f, sizeof(f)));
	l = sizeof(g);
	CHECK_OK(us_getsockopt(a, r, SOL_RAW, ICMP_FILTER, &g, &l));
	CHECK_EQ(l, sizeof(g));
	CHECK_EQ(g, f);
	uint8_t req[64], buf[256];
	struct sockaddr_in to = sin4("10.0.0.2", 0);
	size_t n = echo_req(req, 7, 1, 16);
	CHECK_EQ(us_sendto(a, r, req, n, 0, SA(&to), sizeof(to)), (long)n);
	sim_run_for(&sim, 20 * MS);
	CHECK_ERR(us_recv(a, r, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	CHECK_EQ(us_recv(a, r2, buf, sizeof(buf), MSG_DONTWAIT), 20 + (long)n);
	/* Filtering other types lets echo replies through. */
	f = ~(1u << ICMP_ECHOREPLY);
	CHECK_OK(us_setsockopt(a, r, SOL_RAW, ICMP_FILTER, &f, sizeof(f)));
	n = echo_req(req, 7, 2, 16);
	CHECK_EQ(us_sendto(a, r, req, n, 0, SA(&to), sizeof(to)), (long)n);
	sim_run_for(&sim, 20 * MS);
	CHECK_EQ(us_recv(a, r, buf, sizeof(buf), MSG_DONTWAIT), 20 + (long)n);
	/* ... but not a port unreachable (type 3). */
	int u = us_socket(a, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in closed = sin4("10.0.0.2", 5999);
	CHECK_EQ(us_sendto(a, u, "x", 1, 0, SA(&closed), sizeof(closed)), 1);
	sim_run_for(&sim, 20 * MS);
	CHECK_ERR(us_recv(a, r, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	CHECK(us_recv(a, r2, buf, sizeof(buf), MSG_DONTWAIT) > 0); /* the reply */
	CHECK(us_recv(a, r2, buf, sizeof(buf), MSG_DONTWAIT) > 0); /* the error */
	CHECK_EQ(buf[20], ICMP_DEST_UNREACH);
	sim_free(&sim);
}

/* IPPROTO_RAW (IP_HDRINCL always on): the application writes the whole
 * datagram; the stack fills in the total length, the checksum, a zero ID
 * and a zero source. */
static void t_hdrincl(void)
{
	setup(43);
	us_stack *a = sim.st[0], *b = sim.st[1];
	int raw = us_socket(a, AF_INET, SOCK_RAW, IPPROTO_RAW);
	int rcv = udp_bound(b, NULL, 7000);
	int cap = us_socket(b, AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
	REQUIRE(raw >= 0 && rcv >= 0 && cap >= 0);
	uint8_t pkt[64];
	memset(pkt, 0, sizeof(pkt));
	static const char msg[] = "hdrincl";
	size_t ulen = 8 + sizeof(msg) - 1, len = 20 + ulen;
	pkt[0] = 0x45;
	pkt[8] = 33;              /* TTL */
	pkt[9] = IPPROTO_UDP;
	struct sockaddr_in to = sin4("10.0.0.2", 0);
	memcpy(pkt + 16, &to.sin_addr, 4); /* source 0, total length 0, ID 0, checksum 0 */
	pkt[20] = 0x30, pkt[21] = 0x39;    /* 12345 */
	pkt[22] = 7000 >> 8, pkt[23] = 7000 & 0xff;
	pkt[24] = 0, pkt[25] = (uint8_t)ulen;
	memcpy(pkt + 28, msg, sizeof(msg) - 1); /* UDP checksum 0: none */
	CHECK_EQ(us_sendto(a, raw, pkt, len, 0, SA(&to), sizeof(to)), (long)len);
	sim_run_for(&sim, 20 * MS);
	char buf[64];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	CHECK_EQ(us_recvfrom(b, rcv, buf, sizeof(buf), MSG_DONTWAIT, SA(&from), &fl), 7);
	CHECK(!memcmp(buf, msg, 7));
	CHECK_EQ(from.sin_addr.s_addr, ip4("10.0.0.1").s_addr);
	CHECK_EQ(ntohs(from.sin_port), 12345);
	/* As it was on the wire. */
	uint8_t ip[128];
	ssize_t n = us_recv(b, cap, ip, sizeof(ip), MSG_DONTWAIT);
	CHECK(n >= (long)len); /* the frame may be padded to 60 bytes */
	REQUIRE(n >= 20);
	CHECK_EQ(ip[2] << 8 | ip[3], len);
	CHECK((ip[4] << 8 | ip[5]) != 0);
	CHECK_EQ(csum16(ip, 20), 0);
	CHECK(!memcmp(ip + 12, (uint8_t[]){ 10, 0, 0, 1 }, 4));
	CHECK_EQ(ip[8], 33);
	/* What the application did set is kept: ID and source. */
	pkt[4] = 0xab, pkt[5] = 0xcd;
	memcpy(pkt + 12, (uint8_t[]){ 10, 0, 0, 1 }, 4);
	CHECK_EQ(us_sendto(a, raw, pkt, len, 0, SA(&to), sizeof(to)), (long)len);
	sim_run_for(&sim, 20 * MS);
	CHECK_EQ(us_recv(b, rcv, buf, sizeof(buf), MSG_DONTWAIT), 7);
	n = us_recv(b, cap, ip, sizeof(ip), MSG_DONTWAIT);
	CHECK(n >= (long)len);
	CHECK_EQ(ip[4] << 8 | ip[5], 0xabcd);
	CHECK_EQ(csum16(ip, 20), 0);
	/* IP_HDRINCL switched on for an ICMP socket does the same. */
	int ri = us_socket(a, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	CHECK_OK(set_int_opt(a, ri, IPPROTO_IP, IP_HDRINCL, 1));
	uint8_t e[64];
	memset(e, 0, 20);
	e[0] = 0x45, e[8] = 64, e[9] = IPPROTO_ICMP;
	memcpy(e + 16, &to.sin_addr, 4);
	size_t el = 20 + echo_req(e + 20, 99, 1, 8);
	CHECK_EQ(us_sendto(a, ri, e, el, 0, SA(&to), sizeof(to)), (long)el);
	sim_run_for(&sim, 20 * MS);
	uint8_t rep[128];
	CHECK_EQ(us_recv(a, ri, rep, sizeof(rep), MSG_DONTWAIT), (long)el);
	CHECK_EQ(rep[20], ICMP_ECHOREPLY);
	sim_free(&sim);
}

/* A raw socket of a protocol the stack has no handler for receives its
 * datagrams, and the stack then sends no protocol unreachable. */
static void t_raw_unknown_proto(void)
{
	setup(44);
	us_stack *a = sim.st[0], *b = sim.st[1];
	enum { PROTO = 253 }; /* RFC 3692 experimentation */
	int tx = us_socket(a, AF_INET, SOCK_RAW, PROTO);
	int rx = us_socket(b, AF_INET, SOCK_RAW, PROTO);
	int other = us_socket(b, AF_INET, SOCK_RAW, 254);
	int icmp = us_socket(a, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	REQUIRE(tx >= 0 && rx >= 0 && other >= 0 && icmp >= 0);
	CHECK_EQ(get_int_opt(b, rx, SOL_SOCKET, SO_PROTOCOL), PROTO);
	uint64_t unreach = ctr(b, "IcmpOutDestUnreachs"), unknown = ctr(b, "IpInUnknownProtos");
	uint64_t delivers = ctr(b, "IpInDelivers");
	struct sockaddr_in to = sin4("10.0.0.2", 0);
	CHECK_EQ(us_sendto(a, tx, "experiment", 10, 0, SA(&to), sizeof(to)), 10);
	sim_run_for(&sim, 20 * MS);
	uint8_t buf[128];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	CHECK_EQ(us_recvfrom(b, rx, buf, sizeof(buf), MSG_DONTWAIT, SA(&from), &fl), 30);
	CHECK_EQ(buf[9], PROTO);
	CHECK(!memcmp(buf + 20, "experiment", 10));
	CHECK_EQ(from.sin_addr.s_addr, ip4("10.0.0.1").s_addr);
	CHECK_ERR(us_recv(b, other, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	CHECK_EQ(ctr(b, "IcmpOutDestUnreachs"), unreach);
	CHECK_EQ(ctr(b, "IpInUnknownProtos"), unknown);
	CHECK_EQ(ctr(b, "IpInDelivers") - delivers, 1);
	CHECK_ERR(us_recv(a, icmp, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	/* Without the socket: protocol unreachable. */
	us_close(b, rx);
	CHECK_EQ(us_sendto(a, tx, "experiment", 10, 0, SA(&to), sizeof(to)), 10);
	sim_run_for(&sim, 20 * MS);
	CHECK_EQ(ctr(b, "IcmpOutDestUnreachs") - unreach, 1);
	CHECK_EQ(ctr(b, "IpInUnknownProtos") - unknown, 1);
	ssize_t n = us_recv(a, icmp, buf, sizeof(buf), MSG_DONTWAIT);
	CHECK(n >= 20 + 8 + 20);
	CHECK_EQ(buf[20], ICMP_DEST_UNREACH);
	CHECK_EQ(buf[21], ICMP_PROT_UNREACH);
	sim_free(&sim);
}

struct pkt {
	uint8_t data[2048];
	ssize_t len;
	struct sockaddr_ll sll;
};

static bool recv_pkt(us_stack *s, int fd, struct pkt *p)
{
	socklen_t l = sizeof(p->sll);
	memset(&p->sll, 0, sizeof(p->sll));
	p->len = us_recvfrom(s, fd, p->data, sizeof(p->data), MSG_DONTWAIT, SA(&p->sll), &l);
	return p->len >= 0;
}

static int bind_ll(us_stack *s, int fd, int ifindex, uint16_t proto)
{
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(proto),
				  .sll_ifindex = ifindex };
	return us_bind(s, fd, SA(&ll), sizeof(ll));
}

/* An ETH_P_ALL packet socket bound to a device sees every frame received
 * and sent on it, whole, with PACKET_OUTGOING for the sent ones, except
 * the frames it sends itself. */
static void t_packet_all(void)
{
	setup(45);
	us_stack *a = sim.st[0], *b = sim.st[1];
	int p = us_socket(b, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	REQUIRE(p >= 0);
	CHECK_OK(bind_ll(b, p, ib, ETH_P_ALL));
	struct sockaddr_ll me;
	socklen_t ml = sizeof(me);
	CHECK_OK(us_getsockname(b, p, SA(&me), &ml));
	CHECK_EQ(me.sll_family, AF_PACKET);
	CHECK_EQ(me.sll_ifindex, ib);
	CHECK_EQ(me.sll_protocol, htons(ETH_P_ALL));
	CHECK_EQ(me.sll_hatype, ARPHRD_ETHER);
	CHECK_EQ(me.sll_halen, 6);
	CHECK(!memcmp(me.sll_addr, mac_b, 6));
	struct us_dev_stats st0, st1;
	us_dev_stats(b, ib, &st0);
	/* A pings B: ARP request (broadcast), ARP reply, echo, echo reply. */
	int r = us_socket(a, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	uint8_t req[64];
	size_t n = echo_req(req, 5, 1, 24);
	struct sockaddr_in to = sin4("10.0.0.2", 0);
	CHECK_EQ(us_sendto(a, r, req, n, 0, SA(&to), sizeof(to)), (long)n);
	sim_run_for(&sim, 20 * MS);
	static struct pkt f[8];
	int k = 0;
	while (k < 8 && recv_pkt(b, p, &f[k]))
		k++;
	CHECK_EQ(k, 4);
	REQUIRE(k == 4);
	static const struct { uint16_t type; uint8_t pkttype; bool from_a; } want[4] = {
		{ ETH_P_ARP, PACKET_BROADCAST, true },
		{ ETH_P_ARP, PACKET_OUTGOING, false },
		{ ETH_P_IP, PACKET_HOST, true },
		{ ETH_P_IP, PACKET_OUTGOING, false },
	};
	for (int i = 0; i < 4; i++) {
		CHECK(f[i].len >= 14 + 28);
		CHECK_EQ(f[i].data[12] << 8 | f[i].data[13], want[i].type);
		CHECK_EQ(f[i].sll.sll_family, AF_PACKET);
		CHECK_EQ(ntohs(f[i].sll.sll_protocol), want[i].type);
		CHECK_EQ(f[i].sll.sll_pkttype, want[i].pkttype);
		CHECK_EQ(f[i].sll.sll_ifindex, ib);
		CHECK_EQ(f[i].sll.sll_hatype, ARPHRD_ETHER);
		CHECK_EQ(f[i].sll.sll_halen, 6);
		/* sll_addr: the frame's source. */
		CHECK(!memcmp(f[i].sll.sll_addr, want[i].from_a ? mac_a : mac_b, 6));
		CHECK(!memcmp(f[i].data + 6, want[i].from_a ? mac_a : mac_b, 6));
	}
	CHECK_EQ(f[2].len, 14 + 20 + (long)n);
	CHECK_EQ(f[2].data[14 + 20], ICMP_ECHO);
	CHECK_EQ(f[3].data[14 + 20], ICMP_ECHOREPLY);
	us_dev_stats(b, ib, &st1);
	CHECK_EQ(k, (st1.rx_packets - st0.rx_packets) + (st1.tx_packets - st0.tx_packets));

	/* Frames sent through packet sockets: a second (unbound, every
	 * device) socket sends one; the first sees it as outgoing, the
	 * sender does not see its own. */
	int q = us_socket(b, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	uint8_t fr[60];
	memset(fr, 0, sizeof(fr));
	memcpy(fr, mac_a, 6);
	memcpy(fr + 6, mac_b, 6);
	fr[12] = 0x88, fr[13] = 0xb5;
	memcpy(fr + 14, "from q", 6);
	struct sockaddr_ll dst = { .sll_family = AF_PACKET, .sll_ifindex = ib };
	CHECK_EQ(us_sendto(b, q, fr, sizeof(fr), 0, SA(&dst), sizeof(dst)), (long)sizeof(fr));
	sim_run_for(&sim, 20 * MS);
	struct pkt g;
	CHECK(recv_pkt(b, p, &g));
	CHECK_EQ(g.len, (long)sizeof(fr));
	CHECK(!memcmp(g.data, fr, sizeof(fr)));
	CHECK_EQ(g.sll.sll_pkttype, PACKET_OUTGOING);
	CHECK(!recv_pkt(b, q, &g));
	/* The socket's own frame: not seen by itself. */
	CHECK_EQ(us_sendto(b, p, fr, sizeof(fr), 0, SA(&dst), sizeof(dst)), (long)sizeof(fr));
	sim_run_for(&sim, 20 * MS);
	CHECK(!recv_pkt(b, p, &g));
	CHECK(recv_pkt(b, q, &g));
	CHECK_EQ(g.sll.sll_pkttype, PACKET_OUTGOING);
	/* q is on every device: it sees the loopback too; p does not. */
	int u = us_socket(b, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in lo = sin4("127.0.0.1", 9);
	CHECK_EQ(us_sendto(b, u, "lo", 2, 0, SA(&lo), sizeof(lo)), 2);
	sim_run_for(&sim, 20 * MS);
	int on_lo = 0;
	while (recv_pkt(b, q, &g))
		on_lo += g.sll.sll_ifindex == us_dev_by_name(b, "lo");
	CHECK(on_lo >= 1);
	CHECK(!recv_pkt(b, p, &g));
	sim_free(&sim);
}

/* SOCK_DGRAM with an ethertype: the payload without the link header, only
 * frames of that type, the link-level source in sll; sending with a
 * destination MAC builds the header. */
static void t_packet_dgram(void)
{
	setup(46);
	us_stack *a = sim.st[0], *b = sim.st[1];
	enum { ETYPE = 0x88b5 }; /* IEEE 802 local experimental */
	int d = us_socket(b, AF_PACKET, SOCK_DGRAM, htons(ETYPE));
	int tx = us_socket(a, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	REQUIRE(d >= 0 && tx >= 0);
	CHECK_OK(bind_ll(b, d, ib, ETYPE));
	CHECK_OK(bind_ll(a, tx, ia, ETH_P_ALL));
	uint8_t fr[64];
	memset(fr, 0, sizeof(fr));
	memcpy(fr, mac_b, 6);
	memcpy(fr + 6, mac_a, 6);
	/* Another ethertype first, then the one asked for. */
	fr[12] = 0x88, fr[13] = 0xb6;
	memcpy(fr + 14, "not this", 8);
	CHECK_EQ(us_send(a, tx, fr, 14 + 46, 0), 14 + 46);
	fr[12] = 0x88, fr[13] = 0xb5;
	memcpy(fr + 14, "experimental payload..", 22);
	CHECK_EQ(us_send(a, tx, fr, 14 + 46, 0), 14 + 46);
	sim_run_for(&sim, 20 * MS);
	struct pkt p;
	CHECK(recv_pkt(b, d, &p));
	CHECK_EQ(p.len, 46);
	CHECK(!memcmp(p.data, "experimental payload..", 22));
	CHECK_EQ(ntohs(p.sll.sll_protocol), ETYPE);
	CHECK_EQ(p.sll.sll_pkttype, PACKET_HOST);
	CHECK_EQ(p.sll.sll_ifindex, ib);
	CHECK_EQ(p.sll.sll_halen, 6);
	CHECK(!memcmp(p.sll.sll_addr, mac_a, 6));
	CHECK(!recv_pkt(b, d, &p));
	/* IP traffic is not this type. */
	int u = us_socket(a, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = sin4("10.0.0.2", 9);
	CHECK_EQ(us_sendto(a, u, "ip", 2, 0, SA(&to), sizeof(to)), 2);
	sim_run_for(&sim, 20 * MS);
	CHECK(!recv_pkt(b, d, &p));
	/* SOCK_DGRAM send: the stack builds the Ethernet header. */
	int ad = us_socket(a, AF_PACKET, SOCK_DGRAM, htons(ETYPE));
	struct sockaddr_ll dst = { .sll_family = AF_PACKET, .sll_protocol = htons(ETYPE),
				   .sll_ifindex = ia, .sll_halen = 6 };
	memcpy(dst.sll_addr, mac_b, 6);
	CHECK_EQ(us_sendto(a, ad, "built by the stack", 18, 0, SA(&dst), sizeof(dst)), 18);
	sim_run_for(&sim, 20 * MS);
	CHECK(recv_pkt(b, d, &p));
	CHECK(p.len >= 18);
	CHECK(!memcmp(p.data, "built by the stack", 18));
	CHECK(!memcmp(p.sll.sll_addr, mac_a, 6));
	/* Larger than the MTU: EMSGSIZE. */
	static uint8_t big[1600];
	CHECK_ERR(us_sendto(a, ad, big, 1501, 0, SA(&dst), sizeof(dst)), EMSGSIZE);
	CHECK_EQ(us_sendto(a, ad, big, 1500, 0, SA(&dst), sizeof(dst)), 1500);
	sim_free(&sim);
}

/* PACKET_STATISTICS: packets seen (drops included, as Linux reports) and
 * drops for a full receive buffer; reading resets them. */
static void t_packet_stats(void)
{
	setup(47);
	us_stack *a = sim.st[0], *b = sim.st[1];
	int p = us_socket(b, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	int tx = us_socket(a, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	REQUIRE(p >= 0 && tx >= 0);
	CHECK_OK(bind_ll(b, p, ib, ETH_P_ALL));
	CHECK_OK(bind_ll(a, tx, ia, ETH_P_ALL));
	CHECK_OK(set_int_opt(b, p, SOL_SOCKET, SO_RCVBUF, 4096)); /* 8192 */
	struct tpacket_stats st;
	socklen_t l = sizeof(st);
	CHECK_OK(us_getsockopt(b, p, SOL_PACKET, PACKET_STATISTICS, &st, &l));
	CHECK_EQ(l, sizeof(st));
	CHECK_EQ(st.tp_packets, 0);
	CHECK_EQ(st.tp_drops, 0);
	uint8_t fr[1000];
	memset(fr, 0x5a, sizeof(fr));
	memcpy(fr, mac_b, 6);
	memcpy(fr + 6, mac_a, 6);
	fr[12] = 0x88, fr[13] = 0xb5;
	enum { N = 30 };
	for (int i = 0; i < N; i++)
		CHECK_EQ(us_send(a, tx, fr, sizeof(fr), 0), (long)sizeof(fr));
	sim_run_for(&sim, 20 * MS);
	struct pkt q;
	int queued = 0;
	while (recv_pkt(b, p, &q)) {
		CHECK_EQ(q.len, (long)sizeof(fr));
		queued++;
	}
	l = sizeof(st);
	CHECK_OK(us_getsockopt(b, p, SOL_PACKET, PACKET_STATISTICS, &st, &l));
	printf("  %d queued of %d; tp_packets %u tp_drops %u\n", queued, N, st.tp_packets,
	       st.tp_drops);
	CHECK(queued >= 1 && queued < N);
	CHECK_EQ(st.tp_packets, N);
	CHECK_EQ(st.tp_drops, N - queued);
	l = sizeof(st);
	CHECK_OK(us_getsockopt(b, p, SOL_PACKET, PACKET_STATISTICS, &st, &l));
	CHECK_EQ(st.tp_packets, 0);
	CHECK_EQ(st.tp_drops, 0);
	sim_free(&sim);
}

TEST_MAIN(T(t_raw_icmp_echo), T(t_icmp_filter), T(t_hdrincl), T(t_raw_unknown_proto),
	  T(t_packet_all), T(t_packet_dgram), T(t_packet_stats))
