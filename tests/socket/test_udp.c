/*
 * UDP between stacks under virtual time: echo over a lossy link, 65507-byte
 * datagrams fragmented both ways, ICMP port unreachable as ECONNREFUSED,
 * receive-queue overflow, ephemeral ports, broadcast, connected filtering,
 * SO_REUSEPORT groups, checksums, and the Udp counters moving exactly.
 */
#include <arpa/inet.h>

#include "socktest.h"

static struct sim sim;

/* Datagram i of a test: an 8-byte header (index, length) and bytes that
 * depend on both, so any corruption or mix-up shows. */
static size_t make_dgram(uint8_t *buf, uint32_t i, size_t len)
{
	for (size_t k = 0; k < len; k++)
		buf[k] = (uint8_t)(i * 131 + k * 7 + (k >> 8));
	if (len >= 8) {
		uint32_t n = htonl(i), l = htonl((uint32_t)len);
		memcpy(buf, &n, 4);
		memcpy(buf + 4, &l, 4);
	}
	return len;
}

/* The index of an intact datagram, or -1. */
static long check_dgram(const uint8_t *buf, size_t len)
{
	if (len < 8)
		return -1;
	uint32_t n, l;
	memcpy(&n, buf, 4);
	memcpy(&l, buf + 4, 4);
	if (ntohl(l) != len)
		return -1;
	static uint8_t want[65536];
	make_dgram(want, ntohl(n), len);
	return memcmp(want, buf, len) ? -1 : (long)ntohl(n);
}

/* Echoes everything queued on fd back to its sender; returns how many. */
static int echo_all(us_stack *s, int fd)
{
	static uint8_t buf[65536];
	int n = 0;
	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t r = us_recvfrom(s, fd, buf, sizeof(buf), MSG_DONTWAIT, SA(&from), &fl);
		if (r < 0)
			break;
		if (us_sendto(s, fd, buf, (size_t)r, 0, SA(&from), fl) != r)
			fprintf(stderr, "echo sendto failed: %s\n", errname(errno));
		n++;
	}
	return n;
}

/* An echo exchange over a link that loses 10% of frames each way: every
 * datagram that comes back is intact, none twice, and the counts add up
 * with the frames netem dropped. */
static void t_echo_lossy(void)
{
	int ia, ib;
	net2(&sim, 21, &ia, &ib);
	us_stack *a = sim.st[0], *b = sim.st[1];
	int srv = udp_bound(b, "10.0.0.2", 7);
	int cli = us_socket(a, AF_INET, SOCK_DGRAM, 0);
	REQUIRE(srv >= 0 && cli >= 0);
	struct sockaddr_in to = sin4("10.0.0.2", 7);
	CHECK_OK(us_connect(a, cli, SA(&to), sizeof(to)));
	/* Resolve ARP both ways before the loss starts, so that every lost
	 * frame is a datagram. */
	CHECK_EQ(us_send(a, cli, "warmup!!", 8, 0), 8);
	sim_run_for(&sim, 20 * MS);
	CHECK_EQ(echo_all(b, srv), 1);
	sim_run_for(&sim, 20 * MS);
	uint8_t buf[2048];
	CHECK_EQ(us_recv(a, cli, buf, sizeof(buf), MSG_DONTWAIT), 8);

	struct us_impair imp = { .loss = 0.10, .seed = 5 };
	REQUIRE(us_dev_set_impair(a, ia, &imp) == 0);
	imp.seed = 6;
	REQUIRE(us_dev_set_impair(b, ib, &imp) == 0);
	uint64_t a_out = ctr(a, "UdpOutDatagrams"), a_in = ctr(a, "UdpInDatagrams");
	uint64_t b_out = ctr(b, "UdpOutDatagrams"), b_in = ctr(b, "UdpInDatagrams");
	uint64_t a_lost = ctr(a, "Drop:NETEM_LOSS"), b_lost = ctr(b, "Drop:NETEM_LOSS");

	enum { N = 400 };
	static bool seen[N];
	memset(seen, 0, sizeof(seen));
	int echoed = 0, got = 0, bad = 0, dup = 0;
	for (uint32_t i = 0; i < N + 50; i++) {
		if (i < N) {
			size_t len = 8 + (i * 37) % 1465; /* 8..1472: one frame each */
			make_dgram(buf, i, len);
			CHECK_EQ(us_send(a, cli, buf, len, 0), (long)len);
		}
		sim_run_for(&sim, 1 * MS);
		echoed += echo_all(b, srv);
		sim_run_for(&sim, 1 * MS);
		for (;;) {
			ssize_t r = us_recv(a, cli, buf, sizeof(buf), MSG_DONTWAIT);
			if (r < 0)
				break;
			long k = check_dgram(buf, (size_t)r);
			if (k < 0 || k >= N)
				bad++;
			else if (seen[k])
				dup++;
			else
				seen[k] = true;
			got++;
		}
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(dup, 0);
	printf("  sent %d, server got %d, client got %d back\n", N, echoed, got);
	CHECK(echoed < N && echoed > N * 8 / 10);
	CHECK(got < echoed && got > echoed * 8 / 10);
	/* Everything sent was either received or lost on the wire. */
	CHECK_EQ(ctr(a, "Drop:NETEM_LOSS") - a_lost, N - echoed);
	CHECK_EQ(ctr(b, "Drop:NETEM_LOSS") - b_lost, echoed - got);
	CHECK_EQ(ctr(a, "UdpOutDatagrams") - a_out, N);
	CHECK_EQ(ctr(b, "UdpInDatagrams") - b_in, echoed);
	CHECK_EQ(ctr(b, "UdpOutDatagrams") - b_out, echoed);
	CHECK_EQ(ctr(a, "UdpInDatagrams") - a_in, got);
	sim_free(&sim);
}

/* 65507-byte datagrams (the largest) fragmented into 1500-byte frames
 * both ways and reassembled intact. */
static void t_big_datagrams(void)
{
	net2(&sim, 22, NULL, NULL);
	us_stack *a = sim.st[0], *b = sim.st[1];
	int srv = udp_bound(b, "10.0.0.2", 7);
	int cli = udp_bound(a, "10.0.0.1", 0);
	REQUIRE(srv >= 0 && cli >= 0);
	struct sockaddr_in to = sin4("10.0.0.2", 7);
	static uint8_t buf[65536];
	static const size_t sizes[] = { 65507, 8000, 1473, 65507, 30000 };
	uint64_t frags = ctr(a, "IpFragCreates"), reasm = ctr(b, "IpReasmOKs");
	uint64_t frags_b = ctr(b, "IpFragCreates"), reasm_a = ctr(a, "IpReasmOKs");
	int n_frag = 0;
	for (uint32_t i = 0; i < 5; i++) {
		make_dgram(buf, i, sizes[i]);
		CHECK_EQ(us_sendto(a, cli, buf, sizes[i], 0, SA(&to), sizeof(to)), (long)sizes[i]);
		n_frag += (int)((sizes[i] + 8 + 1479) / 1480);
		sim_run_for(&sim, 20 * MS);
		CHECK_EQ(echo_all(b, srv), 1);
		sim_run_for(&sim, 20 * MS);
		memset(buf, 0, sizeof(buf));
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t r = us_recvfrom(a, cli, buf, sizeof(buf), MSG_DONTWAIT, SA(&from), &fl);
		CHECK_EQ(r, (long)sizes[i]);
		CHECK_EQ(check_dgram(buf, (size_t)(r > 0 ? r : 0)), (long)i);
		CHECK_EQ(from.sin_addr.s_addr, to.sin_addr.s_addr);
		CHECK_EQ(ntohs(from.sin_port), 7);
	}
	CHECK_EQ(ctr(a, "IpFragCreates") - frags, n_frag);
	CHECK_EQ(ctr(b, "IpFragCreates") - frags_b, n_frag);
	CHECK_EQ(ctr(b, "IpReasmOKs") - reasm, 5);
	CHECK_EQ(ctr(a, "IpReasmOKs") - reasm_a, 5);
	sim_free(&sim);
}

/* ICMP port unreachable: ECONNREFUSED on the next call of a connected
 * socket, recv and send alike, once; unconnected sockets see nothing. */
static void t_icmp_refused(void)
{
	net2(&sim, 23, NULL, NULL);
	us_stack *a = sim.st[0], *b = sim.st[1];
	int c = us_socket(a, AF_INET, SOCK_DGRAM, 0);
	int u = us_socket(a, AF_INET, SOCK_DGRAM, 0);
	REQUIRE(c >= 0 && u >= 0);
	struct sockaddr_in to = sin4("10.0.0.2", 5999);
	CHECK_OK(us_connect(a, c, SA(&to), sizeof(to)));
	uint64_t noports = ctr(b, "UdpNoPorts"), unreach = ctr(a, "IcmpInDestUnreachs");
	char buf[16];

	/* recv reports it. */
	CHECK_EQ(us_send(a, c, "x", 1, 0), 1);
	sim_run_for(&sim, 50 * MS);
	CHECK_EQ(ctr(b, "UdpNoPorts") - noports, 1);
	CHECK_EQ(ctr(a, "IcmpInDestUnreachs") - unreach, 1);
	CHECK_ERR(us_recv(a, c, buf, sizeof(buf), MSG_DONTWAIT), ECONNREFUSED);
	CHECK_ERR(us_recv(a, c, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	/* send reports it (and sends nothing). */
	CHECK_EQ(us_send(a, c, "x", 1, 0), 1);
	sim_run_for(&sim, 50 * MS);
	uint64_t out = ctr(a, "UdpOutDatagrams");
	CHECK_ERR(us_send(a, c, "y", 1, 0), ECONNREFUSED);
	CHECK_EQ(ctr(a, "UdpOutDatagrams"), out);
	CHECK_EQ(us_send(a, c, "z", 1, 0), 1);
	sim_run_for(&sim, 50 * MS);
	/* A blocking recv returns it at once. */
	struct timeval tv = { 5, 0 };
	CHECK_OK(us_setsockopt(a, c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	uint64_t t0 = sim_now(&sim);
	CHECK_ERR(us_recv(a, c, buf, sizeof(buf), 0), ECONNREFUSED);
	CHECK_EQ(sim_now(&sim), t0);
	/* A datagram queued before the error is still read after it. */
	int srv = udp_bound(b, "10.0.0.2", 6000);
	struct sockaddr_in to2 = sin4("10.0.0.2", 6000);
	CHECK_OK(us_connect(a, c, SA(&to2), sizeof(to2)));
	CHECK_EQ(us_send(a, c, "q", 1, 0), 1);
	sim_run_for(&sim, 50 * MS);
	CHECK_EQ(echo_all(b, srv), 1);
	sim_run_for(&sim, 50 * MS);
	CHECK_EQ(us_recv(a, c, buf, sizeof(buf), MSG_DONTWAIT), 1);

	/* Unconnected: the same ICMP arrives, nothing is reported. */
	unreach = ctr(a, "IcmpInDestUnreachs");
	CHECK_EQ(us_sendto(a, u, "x", 1, 0, SA(&to), sizeof(to)), 1);
	sim_run_for(&sim, 50 * MS);
	CHECK_EQ(ctr(a, "IcmpInDestUnreachs") - unreach, 1);
	CHECK_ERR(us_recv(a, u, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	CHECK_EQ(us_sendto(a, u, "x", 1, 0, SA(&to), sizeof(to)), 1);
	CHECK_EQ(get_int_opt(a, u, SOL_SOCKET, SO_ERROR), 0);
	CHECK_EQ(epoll_mask(a, u) & EPOLLERR, 0);
	sim_free(&sim);
}

/* A receive queue bounded by SO_RCVBUF: what does not fit is dropped and
 * counted (UdpRcvbufErrors and UdpInErrors), what fits is intact, and the
 * socket works again once read. */
static void t_rcvbuf_overflow(void)
{
	net2(&sim, 24, NULL, NULL);
	us_stack *a = sim.st[0], *b = sim.st[1];
	int r = udp_bound(b, "10.0.0.2", 7100);
	int c = us_socket(a, AF_INET, SOCK_DGRAM, 0);
	REQUIRE(r >= 0 && c >= 0);
	CHECK_OK(set_int_opt(b, r, SOL_SOCKET, SO_RCVBUF, 8192));
	struct sockaddr_in to = sin4("10.0.0.2", 7100);
	uint64_t rcvbuf = ctr(b, "UdpRcvbufErrors"), inerr = ctr(b, "UdpInErrors");
	uint64_t drops = ctr(b, "Drop:SOCKET_RCVBUFF"), in = ctr(b, "UdpInDatagrams");
	/* Resolve ARP first (frames waiting for it are few). */
	CHECK_EQ(us_sendto(a, c, "arp", 3, 0, SA(&to), sizeof(to)), 3);
	sim_run_for(&sim, 20 * MS);
	uint8_t buf[2048];
	CHECK_EQ(us_recv(b, r, buf, sizeof(buf), MSG_DONTWAIT), 3);
	enum { N = 200 };
	for (uint32_t i = 0; i < N; i++) {
		make_dgram(buf, i, 1000);
		CHECK_EQ(us_sendto(a, c, buf, 1000, 0, SA(&to), sizeof(to)), 1000);
	}
	sim_run_for(&sim, 20 * MS);
	int k = 0;
	long last = -1;
	for (;;) {
		ssize_t n = us_recv(b, r, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			break;
		long idx = check_dgram(buf, (size_t)n);
		CHECK(idx > last); /* intact and in order */
		last = idx;
		k++;
	}
	printf("  %d of %d fitted in a 16384-byte receive buffer\n", k, N);
	CHECK(k >= 2 && k < 20);
	CHECK_EQ(ctr(b, "UdpRcvbufErrors") - rcvbuf, N - k);
	CHECK_EQ(ctr(b, "UdpInErrors") - inerr, N - k);
	CHECK_EQ(ctr(b, "Drop:SOCKET_RCVBUFF") - drops, N - k);
	CHECK_EQ(ctr(b, "UdpInDatagrams") - in, k + 1);
	/* Room again. */
	CHECK_EQ(us_sendto(a, c, "again", 5, 0, SA(&to), sizeof(to)), 5);
	sim_run_for(&sim, 20 * MS);
	CHECK_EQ(us_recv(b, r, buf, sizeof(buf), MSG_DONTWAIT), 5);
	struct us_pool_stats ps;
	us_stack_pool_stats(b, &ps);
	CHECK_EQ(ps.in_use, 0);
	sim_free(&sim);
}

static int cmp_u16(const void *x, const void *y)
{
	return (int)*(const uint16_t *)x - (int)*(const uint16_t *)y;
}

/* Ephemeral ports: in ip_local_port_range (32768..60999), distinct while
 * in use, and random (RFC 6056), not a sequence. */
static void t_ephemeral(void)
{
	net2(&sim, 25, NULL, NULL);
	us_stack *a = sim.st[0], *b = sim.st[1];
	enum { N = 600 };
	static int fds[N];
	static uint16_t ports[N];
	struct sockaddr_in to = sin4("10.0.0.2", 9);
	for (int i = 0; i < N; i++) {
		fds[i] = us_socket(a, AF_INET, SOCK_DGRAM, 0);
		REQUIRE(fds[i] >= 0);
		/* Three ways to get one: bind to 0, connect, send. */
		if (i % 3 == 0) {
			struct sockaddr_in any = sin4(NULL, 0);
			CHECK_OK(us_bind(a, fds[i], SA(&any), sizeof(any)));
		} else if (i % 3 == 1) {
			CHECK_OK(us_connect(a, fds[i], SA(&to), sizeof(to)));
		} else {
			CHECK_EQ(us_sendto(a, fds[i], "p", 1, 0, SA(&to), sizeof(to)), 1);
		}
		ports[i] = local_port(a, fds[i]);
	}
	int out_of_range = 0, consecutive = 0;
	for (int i = 0; i < N; i++) {
		if (ports[i] < 32768 || ports[i] > 60999)
			out_of_range++;
		if (i && (ports[i] == ports[i - 1] + 1 || ports[i] == ports[i - 1]))
			consecutive++;
	}
	CHECK_EQ(out_of_range, 0);
	CHECK(consecutive < N / 20);
	uint16_t sorted[N];
	memcpy(sorted, ports, sizeof(sorted));
	qsort(sorted, N, sizeof(sorted[0]), cmp_u16);
	int dups = 0;
	for (int i = 1; i < N; i++)
		dups += sorted[i] == sorted[i - 1];
	CHECK_EQ(dups, 0);
	/* Spread over the range: both ends of it are used. */
	CHECK(sorted[0] < 32768 + 2000 && sorted[N - 1] > 60999 - 2000);
	/* Another stack (another seed) picks other ports. */
	int o = us_socket(b, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in any = sin4(NULL, 0);
	CHECK_OK(us_bind(b, o, SA(&any), sizeof(any)));
	int o2 = us_socket(b, AF_INET, SOCK_DGRAM, 0);
	CHECK_OK(us_bind(b, o2, SA(&any), sizeof(any)));
	CHECK(local_port(b, o) != ports[0] || local_port(b, o2) != ports[1]);
	sim_free(&sim);
}

/* Broadcast: needs SO_BROADCAST, reaches every matching socket of the
 * peer, and loops back to a local socket bound to the port. */
static void t_broadcast(void)
{
	net2(&sim, 26, NULL, NULL);
	us_stack *a = sim.st[0], *b = sim.st[1];
	int rb = udp_bound_reuse(b, NULL, 4444);             /* any address: gets it */
	int rb_uni = udp_bound_reuse(b, "10.0.0.2", 4444);   /* unicast address: does not */
	int rb_bc = udp_bound_reuse(b, "10.0.0.255", 4444);  /* the broadcast: gets it */
	int ra = udp_bound(a, NULL, 4444);                    /* on the sender: gets it */
	int snd = us_socket(a, AF_INET, SOCK_DGRAM, 0);
	REQUIRE(rb >= 0 && rb_uni >= 0 && rb_bc >= 0 && ra >= 0 && snd >= 0);
	struct sockaddr_in bc = sin4("10.0.0.255", 4444);
	CHECK_ERR(us_sendto(a, snd, "bc", 2, 0, SA(&bc), sizeof(bc)), EACCES);
	CHECK_OK(set_int_opt(a, snd, SOL_SOCKET, SO_BROADCAST, 1));
	uint64_t out_bc = ctr(a, "IpExtOutBcastPkts"), in_bc = ctr(b, "IpExtInBcastPkts");
	CHECK_EQ(us_sendto(a, snd, "bcast", 5, 0, SA(&bc), sizeof(bc)), 5);
	sim_run_for(&sim, 20 * MS);
	char buf[16];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	CHECK_EQ(us_recvfrom(b, rb, buf, sizeof(buf), MSG_DONTWAIT, SA(&from), &fl), 5);
	CHECK(!memcmp(buf, "bcast", 5));
	CHECK_EQ(from.sin_addr.s_addr, ip4("10.0.0.1").s_addr);
	CHECK_EQ(us_recv(b, rb_bc, buf, sizeof(buf), MSG_DONTWAIT), 5);
	CHECK_ERR(us_recv(b, rb_uni, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	fl = sizeof(from);
	CHECK_EQ(us_recvfrom(a, ra, buf, sizeof(buf), MSG_DONTWAIT, SA(&from), &fl), 5);
	CHECK_EQ(from.sin_addr.s_addr, ip4("10.0.0.1").s_addr);
	CHECK_EQ(from.sin_port, htons(local_port(a, snd)));
	/* Exactly one copy each, and the sender gets none. */
	CHECK_ERR(us_recv(b, rb, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	CHECK_ERR(us_recv(a, ra, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	CHECK_ERR(us_recv(a, snd, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	CHECK_EQ(ctr(a, "IpExtOutBcastPkts") - out_bc, 1);
	CHECK_EQ(ctr(b, "IpExtInBcastPkts") - in_bc, 1);
	/* To a port nobody has: no ICMP error for a broadcast. */
	uint64_t icmp_out = ctr(b, "IcmpOutDestUnreachs");
	struct sockaddr_in bc2 = sin4("10.0.0.255", 4445);
	CHECK_EQ(us_sendto(a, snd, "x", 1, 0, SA(&bc2), sizeof(bc2)), 1);
	sim_run_for(&sim, 20 * MS);
	CHECK_EQ(ctr(b, "IcmpOutDestUnreachs"), icmp_out);
	sim_free(&sim);
}

/* A connected socket takes datagrams from its peer only; others go to an
 * unconnected socket of the port, or to nobody (port unreachable). */
static void t_connected_filter(void)
{
	net2(&sim, 27, NULL, NULL);
	us_stack *a = sim.st[0], *b = sim.st[1];
	int cb = us_socket(b, AF_INET, SOCK_DGRAM, 0);
	CHECK_OK(set_int_opt(b, cb, SOL_SOCKET, SO_REUSEADDR, 1));
	struct sockaddr_in me = sin4("10.0.0.2", 5000), peer = sin4("10.0.0.1", 1111);
	CHECK_OK(us_bind(b, cb, SA(&me), sizeof(me)));
	CHECK_OK(us_connect(b, cb, SA(&peer), sizeof(peer)));
	int a1 = udp_bound(a, NULL, 1111), a2 = udp_bound(a, NULL, 2222);
	REQUIRE(cb >= 0 && a1 >= 0 && a2 >= 0);
	uint64_t noports = ctr(b, "UdpNoPorts");
	CHECK_EQ(us_sendto(a, a1, "ok", 2, 0, SA(&me), sizeof(me)), 2);
	CHECK_EQ(us_sendto(a, a2, "no", 2, 0, SA(&me), sizeof(me)), 2);
	sim_run_for(&sim, 20 * MS);
	char buf[8];
	CHECK_EQ(us_recv(b, cb, buf, sizeof(buf), MSG_DONTWAIT), 2);
	CHECK(!memcmp(buf, "ok", 2));
	CHECK_ERR(us_recv(b, cb, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	CHECK_EQ(ctr(b, "UdpNoPorts") - noports, 1);
	/* An unconnected socket on the same port takes the others; the
	 * connected one still gets its peer's. */
	int ub = us_socket(b, AF_INET, SOCK_DGRAM, 0);
	CHECK_OK(set_int_opt(b, ub, SOL_SOCKET, SO_REUSEADDR, 1));
	CHECK_OK(us_bind(b, ub, SA(&me), sizeof(me)));
	CHECK_EQ(us_sendto(a, a2, "other", 5, 0, SA(&me), sizeof(me)), 5);
	CHECK_EQ(us_sendto(a, a1, "peer", 4, 0, SA(&me), sizeof(me)), 4);
	sim_run_for(&sim, 20 * MS);
	CHECK_EQ(us_recv(b, ub, buf, sizeof(buf), MSG_DONTWAIT), 5);
	CHECK_EQ(us_recv(b, cb, buf, sizeof(buf), MSG_DONTWAIT), 4);
	CHECK_ERR(us_recv(b, ub, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	CHECK_ERR(us_recv(b, cb, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	CHECK_EQ(ctr(b, "UdpNoPorts") - noports, 1);
	sim_free(&sim);
}

/* SO_REUSEPORT: a group of sockets on one port shares the flows, each
 * flow (source address and port) always to the same socket. */
static void t_reuseport(void)
{
	net2(&sim, 28, NULL, NULL);
	us_stack *a = sim.st[0], *b = sim.st[1];
	enum { G = 4, F = 40, PER = 3 };
	int grp[G];
	struct sockaddr_in me = sin4(NULL, 5300);
	for (int i = 0; i < G; i++) {
		grp[i] = us_socket(b, AF_INET, SOCK_DGRAM, 0);
		CHECK_OK(set_int_opt(b, grp[i], SOL_SOCKET, SO_REUSEPORT, 1));
		CHECK_OK(us_bind(b, grp[i], SA(&me), sizeof(me)));
	}
	/* Not in the group: refused. */
	int outsider = us_socket(b, AF_INET, SOCK_DGRAM, 0);
	CHECK_ERR(us_bind(b, outsider, SA(&me), sizeof(me)), EADDRINUSE);
	struct sockaddr_in to = sin4("10.0.0.2", 5300);
	int cl[F];
	for (int f = 0; f < F; f++) {
		cl[f] = us_socket(a, AF_INET, SOCK_DGRAM, 0);
		for (int k = 0; k < PER; k++) {
			uint8_t tag = (uint8_t)f;
			CHECK_EQ(us_sendto(a, cl[f], &tag, 1, 0, SA(&to), sizeof(to)), 1);
		}
		sim_run_for(&sim, 2 * MS);
	}
	sim_run_for(&sim, 20 * MS);
	int where[F], count[F], per_sock[G] = { 0 }, total = 0, split = 0;
	for (int f = 0; f < F; f++)
		where[f] = -1, count[f] = 0;
	for (int i = 0; i < G; i++) {
		uint8_t tag;
		while (us_recv(b, grp[i], &tag, 1, MSG_DONTWAIT) == 1) {
			REQUIRE(tag < F);
			if (where[tag] >= 0 && where[tag] != i)
				split++;
			where[tag] = i;
			count[tag]++;
			per_sock[i]++;
			total++;
		}
	}
	CHECK_EQ(total, F * PER);
	CHECK_EQ(split, 0);
	for (int f = 0; f < F; f++)
		CHECK_EQ(count[f], PER);
	int used = 0;
	for (int i = 0; i < G; i++)
		used += per_sock[i] > 0;
	printf("  flows per socket: %d %d %d %d\n", per_sock[0] / PER, per_sock[1] / PER,
	       per_sock[2] / PER, per_sock[3] / PER);
	CHECK(used >= 3);
	for (int i = 0; i < G; i++)
		CHECK(per_sock[i] <= F * PER * 6 / 10); /* no socket takes most */
	sim_free(&sim);
}

/* A UDP datagram from the peer: Ethernet + IPv4 + UDP with the given
 * checksum (-1: the correct one). */
static struct peer pr;

static void inject_udp(const uint8_t *payload, size_t plen, uint16_t dport, int csum)
{
	uint8_t udp[64];
	uint32_t saddr = ip4("10.0.0.2").s_addr, daddr = ip4("10.0.0.1").s_addr;
	uint16_t len = (uint16_t)(8 + plen);
	udp[0] = 0x04, udp[1] = 0xd2; /* 1234 */
	udp[2] = (uint8_t)(dport >> 8), udp[3] = (uint8_t)dport;
	udp[4] = (uint8_t)(len >> 8), udp[5] = (uint8_t)len;
	udp[6] = udp[7] = 0;
	memcpy(udp + 8, payload, plen);
	/* The checksum over the pseudo-header and the datagram. */
	uint8_t ph[12];
	memcpy(ph, &saddr, 4);
	memcpy(ph + 4, &daddr, 4);
	ph[8] = 0, ph[9] = IPPROTO_UDP, ph[10] = (uint8_t)(len >> 8), ph[11] = (uint8_t)len;
	uint32_t sum = 0;
	for (int i = 0; i < 12; i += 2)
		sum += (uint32_t)(ph[i] << 8 | ph[i + 1]);
	for (size_t i = 0; i < len; i += 2)
		sum += (uint32_t)(udp[i] << 8 | (i + 1 < len ? udp[i + 1] : 0));
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	uint16_t ck = (uint16_t)~sum;
	if (ck == 0)
		ck = 0xffff;
	if (csum >= 0)
		ck = (uint16_t)csum;
	udp[6] = (uint8_t)(ck >> 8), udp[7] = (uint8_t)ck;
	static uint16_t id = 1;
	uint8_t frame[128];
	size_t n = build_ipv4(frame, false, pr.stack_mac, pr.mac, saddr, daddr, IPPROTO_UDP, id++, 0,
			      false, 64, udp, len);
	peer_inject(&pr, frame, n);
}

/* Checksum zero means "none" (accepted); a wrong one is counted as
 * UdpInCsumErrors (and UdpInErrors) and dropped without an ICMP error. */
static void t_checksums(void)
{
	sim_reset(&sim, 1, 29);
	us_stack *s = sim.st[0];
	REQUIRE(peer_attach(&pr, s, sim.clk, "eth0", "10.0.0.1/24", false) == 0);
	int r = udp_bound(s, NULL, 7000);
	REQUIRE(r >= 0);
	uint64_t csum = ctr(s, "UdpInCsumErrors"), inerr = ctr(s, "UdpInErrors");
	uint64_t in = ctr(s, "UdpInDatagrams"), icmp = ctr(s, "IcmpOutDestUnreachs");
	char buf[16];
	inject_udp((const uint8_t *)"zero", 4, 7000, 0);
	CHECK_EQ(us_recv(s, r, buf, sizeof(buf), MSG_DONTWAIT), 4);
	CHECK(!memcmp(buf, "zero", 4));
	inject_udp((const uint8_t *)"good", 4, 7000, -1);
	CHECK_EQ(us_recv(s, r, buf, sizeof(buf), MSG_DONTWAIT), 4);
	CHECK(!memcmp(buf, "good", 4));
	inject_udp((const uint8_t *)"bad!", 4, 7000, 0x1234);
	CHECK_ERR(us_recv(s, r, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	inject_udp((const uint8_t *)"bad?", 4, 7001, 0x1234); /* closed port too */
	CHECK_EQ(ctr(s, "UdpInCsumErrors") - csum, 2);
	CHECK_EQ(ctr(s, "UdpInErrors") - inerr, 2);
	CHECK_EQ(ctr(s, "UdpInDatagrams") - in, 2);
	CHECK_EQ(ctr(s, "IcmpOutDestUnreachs"), icmp);
	CHECK_EQ(ctr(s, "UdpNoPorts"), 0);
	/* The odd-length case of the checksum. */
	inject_udp((const uint8_t *)"odd", 3, 7000, -1);
	CHECK_EQ(us_recv(s, r, buf, sizeof(buf), MSG_DONTWAIT), 3);
	peer_detach(&pr);
	sim_free(&sim);
}

/* InDatagrams (counted when read, not when peeked), NoPorts and
 * OutDatagrams move by exactly what happened. */
static void t_counters(void)
{
	net2(&sim, 30, NULL, NULL);
	us_stack *a = sim.st[0], *b = sim.st[1];
	int r = udp_bound(b, NULL, 7000);
	int c = us_socket(a, AF_INET, SOCK_DGRAM, 0);
	REQUIRE(r >= 0 && c >= 0);
	uint64_t a_out = ctr(a, "UdpOutDatagrams"), a_in = ctr(a, "UdpInDatagrams");
	uint64_t b_in = ctr(b, "UdpInDatagrams"), b_np = ctr(b, "UdpNoPorts");
	uint64_t b_out = ctr(b, "UdpOutDatagrams"), a_unr = ctr(a, "IcmpInDestUnreachs");
	uint64_t b_err = ctr(b, "UdpInErrors");
	struct sockaddr_in open_ = sin4("10.0.0.2", 7000), closed = sin4("10.0.0.2", 7001);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(us_sendto(a, c, "d", 1, 0, SA(&open_), sizeof(open_)), 1);
	for (int i = 0; i < 2; i++)
		CHECK_EQ(us_sendto(a, c, "d", 1, 0, SA(&closed), sizeof(closed)), 1);
	sim_run_for(&sim, 50 * MS);
	CHECK_EQ(ctr(a, "UdpOutDatagrams") - a_out, 5);
	CHECK_EQ(ctr(b, "UdpNoPorts") - b_np, 2);
	CHECK_EQ(ctr(a, "IcmpInDestUnreachs") - a_unr, 2);
	CHECK_EQ(ctr(b, "UdpInDatagrams") - b_in, 0); /* queued, not read */
	char buf[4];
	CHECK_EQ(us_recv(b, r, buf, sizeof(buf), MSG_PEEK), 1);
	CHECK_EQ(ctr(b, "UdpInDatagrams") - b_in, 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(us_recv(b, r, buf, sizeof(buf), MSG_DONTWAIT), 1);
	CHECK_EQ(ctr(b, "UdpInDatagrams") - b_in, 3);
	CHECK_EQ(ctr(b, "UdpOutDatagrams"), b_out);
	CHECK_EQ(ctr(a, "UdpInDatagrams"), a_in);
	CHECK_EQ(ctr(b, "UdpInErrors"), b_err);
	/* A failed send counts nothing. */
	CHECK_ERR(us_send(a, c, "x", 1, 0), EDESTADDRREQ);
	CHECK_EQ(ctr(a, "UdpOutDatagrams") - a_out, 5);
	sim_free(&sim);
}

TEST_MAIN(T(t_echo_lossy), T(t_big_datagrams), T(t_icmp_refused), T(t_rcvbuf_overflow),
	  T(t_ephemeral), T(t_broadcast), T(t_connected_filter), T(t_reuseport), T(t_checksums),
	  T(t_counters))
