/*
 * Listening: the backlog bounds the accept queue (Linux lets backlog + 1
 * wait) and the SYN queue; a SYN for a full accept queue is dropped, an
 * ACK for one is ignored (the SYN-ACK retransmission retries) with
 * ListenOverflows/ListenDrops; a full SYN queue answers with SYN cookies
 * (RFC 4987 3.6) that rebuild the connection with the right MSS (the
 * cookie's MSS table) and, through the timestamp, window scale and SACK;
 * a SYN flood leaves the listener serving; bad cookies are reset; the
 * listener's poll mask; accept order.
 */
#include <arpa/inet.h>

#include "tcptest.h"

static struct tt T;

static int listen_on(struct tt *t, uint64_t seed, int backlog)
{
	tt_init(t, seed);
	return tt_listen(t, 80, backlog);
}

static bool handshake(struct tt *t, uint16_t pport, const struct topts *o, uint32_t *irs)
{
	t->pport = pport;
	TT_SEND(t, .flags = SYN, .seq = t->iss, .syn = o);
	if (!EXPECT_TCP(t, E_FLAGS(SYN | ACK), E_DPORT(pport), E_ACK(t->iss + 1)))
		return false;
	*irs = t->seg.seq;
	tt_seg(t, ACK, t->iss + 1, t->seg.seq + 1, NULL, 0);
	return true;
}

static int accept_nb(struct tt *t, uint16_t *pport)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = us_accept4(t->s, t->lfd, SA(&a), &al, SOCK_NONBLOCK);
	if (fd >= 0 && pport)
		*pport = ntohs(a.sin_port);
	return fd;
}

/* backlog 2: three connections wait (sk_acceptq_is_full is "more than
 * backlog"); a fourth SYN is dropped; once one is accepted, the SYN's
 * retransmission gets its SYN-ACK. accept() hands them out in order. */
static void accept_queue_backlog(void)
{
	struct tt *t = &T;
	REQUIRE(listen_on(t, 1, 2) >= 0);
	uint64_t ovf = ctr(t->s, "TcpExtListenOverflows"), drops = ctr(t->s, "TcpExtListenDrops");
	uint32_t irs;
	CHECK_EQ(epoll_mask(t->s, t->lfd), 0);
	for (int i = 0; i < 3; i++)
		REQUIRE(handshake(t, (uint16_t)(41000 + i), &TOPTS_NONE, &irs));
	CHECK_EQ(epoll_mask(t->s, t->lfd), EPOLLIN | EPOLLRDNORM);
	t->pport = 41003;
	TT_SEND(t, .flags = SYN, .seq = t->iss, .syn = &TOPTS_NONE);
	EXPECT_NONE(t, 100 * MS);
	CHECK_EQ(ctr(t->s, "TcpExtListenOverflows"), ovf + 1);
	CHECK_EQ(ctr(t->s, "TcpExtListenDrops"), drops + 1);
	uint16_t p = 0;
	int fd = accept_nb(t, &p);
	CHECK(fd >= 0);
	CHECK_EQ(p, 41000);
	TT_SEND(t, .flags = SYN, .seq = t->iss, .syn = &TOPTS_NONE);
	EXPECT_TCP(t, E_FLAGS(SYN | ACK), E_DPORT(41003));
	CHECK(accept_nb(t, &p) >= 0);
	CHECK_EQ(p, 41001);
	CHECK(accept_nb(t, &p) >= 0);
	CHECK_EQ(p, 41002);
	CHECK_ERR(us_accept(t->s, t->lfd, NULL, NULL), EAGAIN);
	CHECK_EQ(epoll_mask(t->s, t->lfd), 0);
	tt_free(t);
}

/* The ACK completing a handshake while the accept queue is full is
 * ignored (tcp_abort_on_overflow 0): no child, no RST; the request stays
 * and its SYN-ACK retransmission lets the peer's ACK in later. */
static void accept_queue_full_at_ack(void)
{
	struct tt *t = &T;
	REQUIRE(listen_on(t, 2, 2) >= 0);
	uint32_t irs;
	t->pport = 41009;
	TT_SEND(t, .flags = SYN, .seq = t->iss, .syn = &TOPTS_NONE);
	REQUIRE(EXPECT_TCP(t, E_FLAGS(SYN | ACK), E_DPORT(41009)));
	uint32_t irs_x = t->seg.seq;
	for (int i = 0; i < 3; i++)
		REQUIRE(handshake(t, (uint16_t)(41000 + i), &TOPTS_NONE, &irs));
	uint64_t ovf = ctr(t->s, "TcpExtListenOverflows");
	t->pport = 41009;
	tt_seg(t, ACK, t->iss + 1, irs_x + 1, NULL, 0);
	EXPECT_NONE(t, 100 * MS);
	CHECK_EQ(ctr(t->s, "TcpExtListenOverflows"), ovf + 1);
	uint16_t p = 0;
	CHECK(accept_nb(t, &p) >= 0);
	CHECK_EQ(p, 41000);
	/* The SYN-ACK again (1 s after the SYN), the ACK again: in. */
	EXPECT_TCP(t, E_FLAGS(SYN | ACK), E_SEQ(irs_x), E_DPORT(41009), E_WITHIN(2 * SEC));
	tt_seg(t, ACK, t->iss + 1, irs_x + 1, NULL, 0);
	for (int i = 1; i < 3; i++)
		CHECK(accept_nb(t, &p) >= 0);
	CHECK(accept_nb(t, &p) >= 0);
	CHECK_EQ(p, 41009);
	tt_free(t);
}

/* A full SYN queue answers with a SYN cookie: no state kept (no SYN-ACK
 * retransmission), TCPReqQFullDoCookies and SyncookiesSent; the ACK
 * rebuilds the connection (SyncookiesRecv) with the MSS from the cookie's
 * table (536, 1300, 1440, 1460: the largest not above the peer's) and,
 * with timestamps, the peer's window scale and SACK. */
static void syn_cookie_options(int mss, int want_mss, bool ts)
{
	struct tt *t = &T;
	REQUIRE(listen_on(t, 3, 1) >= 0);
	uint64_t sent = ctr(t->s, "TcpExtSyncookiesSent"), recv = ctr(t->s, "TcpExtSyncookiesRecv");
	uint64_t full = ctr(t->s, "TcpExtTCPReqQFullDoCookies");
	t->pport = 41000;
	TT_SEND(t, .flags = SYN, .seq = 7000, .syn = &TOPTS_NONE); /* the SYN queue's one request */
	REQUIRE(EXPECT_TCP(t, E_FLAGS(SYN | ACK)));
	struct topts o = { .mss = mss, .wscale = 5, .sack_perm = true, .ts = ts };
	t->pport = 41001;
	uint32_t tsval = tt_tsval(t);
	TT_SEND(t, .flags = SYN, .seq = t->iss, .syn = &o);
	REQUIRE(EXPECT_TCP(t, E_FLAGS(SYN | ACK), E_ACK(t->iss + 1), E_MSS(1460), E_TS(ts),
			   E_WS(ts ? 7 : -1), E_SACKOK(ts)));
	if (ts)
		CHECK_SEG(t, E_TSECR(tsval));
	CHECK_EQ(ctr(t->s, "TcpExtSyncookiesSent"), sent + 1);
	CHECK_EQ(ctr(t->s, "TcpExtTCPReqQFullDoCookies"), full + 1);
	uint32_t cookie = t->seg.seq;
	uint32_t tsecr = t->seg.opt.tsval;
	/* Only the real request's SYN-ACK is retransmitted. */
	while (tt_pop(t, 1500 * MS))
		CHECK_SEG(t, E_DPORT(41000));
	TT_SEND(t, .flags = ACK, .seq = t->iss + 1, .ack = cookie + 1, .ts = ts ? 1 : -1,
		.tsval = tt_tsval(t), .tsecr = tsecr);
	CHECK_EQ(ctr(t->s, "TcpExtSyncookiesRecv"), recv + 1);
	uint16_t p = 0;
	int fd = accept_nb(t, &p);
	REQUIRE(fd >= 0);
	CHECK_EQ(p, 41001);
	struct tcp_info ti = tt_info(t, fd);
	CHECK_EQ(ti.tcpi_state, TCP_ESTABLISHED);
	CHECK_EQ(ti.tcpi_snd_mss, (uint32_t)(want_mss - (ts ? 12 : 0)));
	CHECK_EQ(!!(ti.tcpi_options & TCPI_OPT_TIMESTAMPS), ts);
	CHECK_EQ(!!(ti.tcpi_options & TCPI_OPT_SACK), ts);
	CHECK_EQ(!!(ti.tcpi_options & TCPI_OPT_WSCALE), ts);
	if (ts) {
		CHECK_EQ(ti.tcpi_snd_wscale, 5);
		CHECK_EQ(ti.tcpi_rcv_wscale, 7);
	}
	/* The connection works both ways. */
	t->snd_nxt = t->iss + 1;
	t->rcv_nxt = cookie + 1;
	t->ts = ts;
	t->ts_recent = tsecr;
	static uint8_t data[3000];
	CHECK_EQ(us_send(t->s, fd, data, sizeof(data), 0), 3000);
	EXPECT_TCP(t, E_SEQ(cookie + 1), E_LEN(want_mss - (ts ? 12 : 0)));
	tt_data(t, "hello", 5);
	char b[8];
	int n = 0;
	for (int i = 0; i < 5 && n <= 0; i++) {
		n = (int)us_recv(t->s, fd, b, sizeof(b), MSG_DONTWAIT);
		tt_drain(t, 1 * MS);
	}
	CHECK_EQ(n, 5);
	tt_free(t);
}

static void syn_cookies(void)
{
	syn_cookie_options(1460, 1460, true);
	syn_cookie_options(1460, 1460, false);
	syn_cookie_options(1400, 1300, true);
	syn_cookie_options(1000, 536, true);
	syn_cookie_options(536, 536, false);
}

/* A SYN flood: the listener answers everything (its queue's worth with
 * requests, the rest with cookies), and a real client still connects and
 * exchanges data with the right MSS. */
static void syn_flood(void)
{
	struct tt *t = &T;
	REQUIRE(listen_on(t, 4, 64) >= 0);
	uint64_t sent = ctr(t->s, "TcpExtSyncookiesSent");
	int answered = 0;
	for (int i = 0; i < 1000; i++) {
		char ip[16];
		snprintf(ip, sizeof(ip), "10.0.0.%d", 3 + i % 200);
		TT_SEND(t, .flags = SYN, .seq = (uint32_t)i * 7919u, .syn = &TOPTS_LINUX,
			.saddr = ip4(ip).s_addr, .sport = (uint16_t)(10000 + i));
		while (tt_pop(t, 0))
			answered += (t->seg.flags == (SYN | ACK));
	}
	answered += tt_drain(t, 10 * MS);
	CHECK_EQ(answered, 1000);
	CHECK_EQ(ctr(t->s, "TcpExtSyncookiesSent"), sent + 1000 - 64);
	t->pport = 40000;
	REQUIRE(tt_passive_open(t, &TOPTS_LINUX));
	struct tcp_info ti = tt_info(t, t->fd);
	CHECK_EQ(ti.tcpi_snd_mss, 1448);
	CHECK_EQ(ti.tcpi_snd_wscale, 7);
	tt_data(t, "ping", 4);
	char b[8];
	CHECK_EQ(tt_read(t, t->fd, b, sizeof(b)), 4);
	CHECK_EQ(us_send(t->s, t->fd, "pong", 4, 0), 4);
	bool got = false;
	while (tt_pop(t, 10 * MS))
		if (t->seg.dport == 40000 && t->seg.len == 4)
			got = true;
	CHECK(got);
	tt_free(t);
}

/* An ACK with a cookie that is not ours is reset like any stray ACK to a
 * listener (cookie_v4_check fails, tcp_rcv_state_process in LISTEN:
 * <SEQ=SEG.ACK><CTL=RST>), and counted as SyncookiesFailed. */
static void bad_cookie(void)
{
	struct tt *t = &T;
	REQUIRE(listen_on(t, 5, 1) >= 0);
	t->pport = 41000;
	TT_SEND(t, .flags = SYN, .seq = 7000, .syn = &TOPTS_NONE);
	REQUIRE(EXPECT_TCP(t, E_FLAGS(SYN | ACK)));
	t->pport = 41001;
	TT_SEND(t, .flags = SYN, .seq = 9000, .syn = &TOPTS_NONE);
	REQUIRE(EXPECT_TCP(t, E_FLAGS(SYN | ACK)));
	uint32_t cookie = t->seg.seq;
	uint64_t failed = ctr(t->s, "TcpExtSyncookiesFailed");
	tt_seg(t, ACK, 9001, cookie + 1 + 12345, NULL, 0);
	EXPECT_TCP(t, E_FLAGS(RST), E_SEQ(cookie + 1 + 12345), E_DPORT(41001));
	CHECK_EQ(ctr(t->s, "TcpExtSyncookiesFailed"), failed + 1);
	CHECK(accept_nb(t, NULL) < 0);
	/* The right cookie still works. */
	tt_seg(t, ACK, 9001, cookie + 1, NULL, 0);
	CHECK(accept_nb(t, NULL) >= 0);
	tt_free(t);
}

/* With tcp_syncookies off a full SYN queue drops the SYN
 * (TCPReqQFullDrop, ListenDrops). */
static void syn_queue_full_without_cookies(void)
{
	struct tt *t = &T;
	REQUIRE(listen_on(t, 6, 2) >= 0);
	tt_tcp(t->s)->syncookies = false;
	uint64_t qf = ctr(t->s, "TcpExtTCPReqQFullDrop"), drops = ctr(t->s, "TcpExtListenDrops");
	for (int i = 0; i < 2; i++) {
		t->pport = (uint16_t)(41000 + i);
		TT_SEND(t, .flags = SYN, .seq = 7000, .syn = &TOPTS_NONE);
		EXPECT_TCP(t, E_FLAGS(SYN | ACK));
	}
	t->pport = 41002;
	TT_SEND(t, .flags = SYN, .seq = 7000, .syn = &TOPTS_NONE);
	EXPECT_NONE(t, 100 * MS);
	CHECK_EQ(ctr(t->s, "TcpExtTCPReqQFullDrop"), qf + 1);
	CHECK_EQ(ctr(t->s, "TcpExtListenDrops"), drops + 1);
	tt_free(t);
}

/* A child keeps the data that came with the handshake's ACK and what
 * arrives before accept(). */
static void data_before_accept(void)
{
	struct tt *t = &T;
	REQUIRE(listen_on(t, 7, 4) >= 0);
	TT_SEND(t, .flags = SYN, .seq = t->iss, .syn = &TOPTS_NONE);
	REQUIRE(EXPECT_TCP(t, E_FLAGS(SYN | ACK)));
	t->irs = t->seg.seq;
	t->rcv_nxt = t->irs + 1;
	t->snd_nxt = t->iss + 1;
	tt_data(t, "first", 5);
	tt_data(t, "second", 6);
	tt_drain(t, 300 * MS);
	int fd = accept_nb(t, NULL);
	REQUIRE(fd >= 0);
	char b[16];
	CHECK_EQ(tt_read(t, fd, b, sizeof(b)), 11);
	CHECK(memcmp(b, "firstsecond", 11) == 0);
	CHECK_EQ(tt_info(t, fd).tcpi_bytes_received, 11);
	tt_free(t);
}

/* listen() on a socket in use and a second listen(): Linux's answers. */
static void listen_api(void)
{
	struct tt *t = &T;
	REQUIRE(listen_on(t, 8, 4) >= 0);
	/* listen() again only changes the backlog. */
	CHECK_OK(us_listen(t->s, t->lfd, 1));
	CHECK_EQ(get_int_opt(t->s, t->lfd, SOL_SOCKET, SO_ACCEPTCONN), 1);
	int s2 = us_socket(t->s, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = sin4(STACK_IP, 80);
	CHECK_ERR(us_bind(t->s, s2, SA(&a), sizeof(a)), EADDRINUSE);
	/* An unbound listener gets an ephemeral port. */
	int s3 = us_socket(t->s, AF_INET, SOCK_STREAM, 0);
	CHECK_OK(us_listen(t->s, s3, 4));
	CHECK(local_port(t->s, s3) >= 32768);
	tt_free(t);
}

TEST_MAIN(T(accept_queue_backlog), T(accept_queue_full_at_ack), T(syn_cookies), T(syn_flood),
	  T(bad_cookie), T(syn_queue_full_without_cookies), T(data_before_accept), T(listen_api))
