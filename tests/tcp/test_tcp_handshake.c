/*
 * Opening connections (RFC 9293 3.5), as Linux does it towards the same
 * peer: the three-way handshake both ways and its options (MSS from the
 * route MTU, window scale, timestamps, SACK-permitted), simultaneous open,
 * SYN_SENT's answers to bad ACKs and RSTs, request sockets (SYN_RECV) and
 * what they do with retransmitted SYNs, RSTs, SYNs and bad ACKs, the ISN
 * (RFC 6528).
 */
#include <arpa/inet.h>

#include "tcptest.h"

static struct tt T;

static void open_listener(struct tt *t)
{
	tt_init(t, 1);
	REQUIRE(tt_listen(t, 80, 16) >= 0);
}

/* Linux's SYN-ACK to a Linux SYN: MSS 1460 (MTU 1500), SACK-permitted and
 * timestamps in one 12-byte block, NOP + window scale 7 (tcp_rmem[2] of
 * 6 MiB), window 65160 (45 segments of 1448: the MSS less the timestamp
 * option, tcp_openreq_init_rwin). */
static void passive_open_linux_options(void)
{
	struct tt *t = &T;
	open_listener(t);
	uint64_t opens = ctr(t->s, "TcpPassiveOpens");
	uint32_t tsval = tt_tsval(t);
	TT_SEND(t, .flags = SYN, .seq = t->iss, .syn = &TOPTS_LINUX, .win = 64240, .win_set = true);
	EXPECT_TCP(t, E_FLAGS(SYN | ACK), E_ACK(t->iss + 1), E_SPORT(80), E_DPORT(40000), E_MSS(1460),
		   E_WS(7), E_SACKOK(true), E_TS(true), E_TSECR(tsval), E_DOFF(40), E_WIN(65160),
		   E_LEN(0));
	static const uint8_t layout[] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10 };
	CHECK(memcmp(t->seg.optbytes, layout, sizeof(layout)) == 0);
	static const uint8_t ws_layout[] = { 1, 3, 3, 7 };
	CHECK(memcmp(t->seg.optbytes + 16, ws_layout, 4) == 0);
	CHECK(t->seg.df);
	CHECK_EQ(t->seg.ttl, 64);
	/* Nothing is established before the third segment. */
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	CHECK_ERR(us_accept(t->s, t->lfd, SA(&a), &al), EAGAIN);
	t->snd_nxt = t->iss + 1;
	t->irs = t->seg.seq;
	t->rcv_nxt = t->irs + 1;
	t->ts = true;
	t->snd_ws = 7;
	t->rcv_ws = 7;
	tt_ack(t);
	al = sizeof(a);
	t->fd = us_accept4(t->s, t->lfd, SA(&a), &al, SOCK_NONBLOCK);
	REQUIRE(t->fd >= 0);
	CHECK_EQ(a.sin_addr.s_addr, t->pip);
	CHECK_EQ(ntohs(a.sin_port), 40000);
	struct tcp_info ti = tt_info(t, t->fd);
	CHECK_EQ(ti.tcpi_state, TCP_ESTABLISHED);
	CHECK_EQ(ti.tcpi_snd_mss, 1448);
	CHECK_EQ(ti.tcpi_snd_wscale, 7);
	CHECK_EQ(ti.tcpi_rcv_wscale, 7);
	CHECK_EQ(ti.tcpi_options & (TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE),
		 TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE);
	CHECK_EQ(ti.tcpi_snd_cwnd, 10);
	CHECK_EQ(ctr(t->s, "TcpPassiveOpens"), opens + 1);
	CHECK_EQ(ctr(t->s, "TcpCurrEstab"), 1);
	/* The handshake's ACK is not answered. */
	EXPECT_NONE(t, 500 * MS);
	tt_free(t);
}

/* A SYN without options: MSS only in the SYN-ACK, window 64240 (44 x
 * 1460), and the peer's MSS is taken as 536 (RFC 9293 3.7.1). */
static void passive_open_no_options(void)
{
	struct tt *t = &T;
	open_listener(t);
	TT_SEND(t, .flags = SYN, .seq = t->iss, .syn = &TOPTS_NONE, .win = 8192, .win_set = true);
	EXPECT_TCP(t, E_FLAGS(SYN | ACK), E_ACK(t->iss + 1), E_MSS(1460), E_NOWS, E_SACKOK(false),
		   E_TS(false), E_DOFF(24), E_WIN(64240));
	t->snd_nxt = t->iss + 1;
	t->irs = t->seg.seq;
	t->rcv_nxt = t->irs + 1;
	tt_ack(t);
	t->fd = us_accept4(t->s, t->lfd, NULL, NULL, SOCK_NONBLOCK);
	REQUIRE(t->fd >= 0);
	struct tcp_info ti = tt_info(t, t->fd);
	CHECK_EQ(ti.tcpi_snd_mss, 536);
	CHECK_EQ(ti.tcpi_options & (TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE), 0);
	CHECK_EQ(ti.tcpi_snd_wscale, 0);
	CHECK_EQ(ti.tcpi_rcv_wscale, 0);
	/* Windows are not scaled: a 1000-byte send fits the 8192 offered. */
	static uint8_t buf[1000];
	CHECK_EQ(us_send(t->s, t->fd, buf, sizeof(buf), 0), 1000);
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(t->irs + 1), E_LEN(536), E_TS(false));
	EXPECT_TCP(t, E_FLAGS(PSH | ACK), E_SEQ(t->irs + 1 + 536), E_LEN(464));
	tt_free(t);
}

/* Options are negotiated one by one: timestamps without window scaling. */
static void passive_open_ts_only(void)
{
	struct tt *t = &T;
	open_listener(t);
	struct topts o = { .mss = 1400, .wscale = -1, .sack_perm = false, .ts = true };
	TT_SEND(t, .flags = SYN, .seq = t->iss, .syn = &o);
	EXPECT_TCP(t, E_FLAGS(SYN | ACK), E_MSS(1460), E_NOWS, E_SACKOK(false), E_TS(true),
		   E_WIN(65160));
	t->snd_nxt = t->iss + 1;
	t->irs = t->seg.seq;
	t->rcv_nxt = t->irs + 1;
	t->ts = true;
	tt_ack(t);
	t->fd = us_accept4(t->s, t->lfd, NULL, NULL, SOCK_NONBLOCK);
	REQUIRE(t->fd >= 0);
	struct tcp_info ti = tt_info(t, t->fd);
	CHECK_EQ(ti.tcpi_snd_mss, 1400 - 12);
	CHECK_EQ(ti.tcpi_options & (TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE),
		 TCPI_OPT_TIMESTAMPS);
	tt_free(t);
}

/* The MSS announced comes from the route's MTU (RFC 9293 3.7.1, RFC 879):
 * MTU 1280 gives 1240, in the SYN-ACK and in our own SYN; the send MSS is
 * the smaller of that and the peer's, less the timestamp option. */
static void mss_from_route_mtu(void)
{
	struct tt *t = &T;
	open_listener(t);
	REQUIRE(us_dev_set_mtu(t->s, t->p.ifindex, 1280) == 0);
	TT_SEND(t, .flags = SYN, .seq = t->iss, .syn = &TOPTS_LINUX);
	EXPECT_TCP(t, E_FLAGS(SYN | ACK), E_MSS(1240));
	t->pport = 40001;
	struct topts o = TOPTS_LINUX;
	o.mss = 1000;
	REQUIRE(tt_active_open(t, &o));
	CHECK_EQ(tt_info(t, t->fd).tcpi_snd_mss, 1000 - 12);
	tt_free(t);

	tt_init(t, 2);
	REQUIRE(us_dev_set_mtu(t->s, t->p.ifindex, 1280) == 0);
	REQUIRE(tt_connect_syn(t));
	CHECK_SEG(t, E_MSS(1240));
	tt_free(t);
}

/* TCP_MAXSEG before connect() or listen() lowers the MSS announced. */
static void maxseg_announced(void)
{
	struct tt *t = &T;
	tt_init(t, 3);
	int l = us_socket(t->s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK_OK(set_int_opt(t->s, l, IPPROTO_TCP, TCP_MAXSEG, 1000));
	struct sockaddr_in a = sin4(STACK_IP, 80);
	CHECK_OK(us_bind(t->s, l, SA(&a), sizeof(a)));
	CHECK_OK(us_listen(t->s, l, 8));
	t->lfd = l;
	t->sport = 80;
	TT_SEND(t, .flags = SYN, .seq = t->iss, .syn = &TOPTS_LINUX);
	EXPECT_TCP(t, E_FLAGS(SYN | ACK), E_MSS(1000));

	int c = us_socket(t->s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK_OK(set_int_opt(t->s, c, IPPROTO_TCP, TCP_MAXSEG, 700));
	struct sockaddr_in p = sin4(PEER_IP, 40000);
	CHECK_ERR(us_connect(t->s, c, SA(&p), sizeof(p)), EINPROGRESS);
	EXPECT_TCP(t, E_FLAGS(SYN), E_MSS(700));
	tt_free(t);
}

/* Linux's SYN: MSS, SACK-permitted + timestamps (TSecr 0), NOP + window
 * scale 7, window 64240, DF; the handshake's last ACK echoes the peer's
 * TSval and offers 64240 rounded up to the scale (502 << 7). */
static void active_open(void)
{
	struct tt *t = &T;
	tt_init(t, 4);
	uint64_t opens = ctr(t->s, "TcpActiveOpens");
	REQUIRE(tt_connect_syn(t));
	CHECK_SEG(t, E_FLAGS(SYN), E_ACK(0), E_MSS(1460), E_WS(7), E_SACKOK(true), E_TS(true),
		  E_TSECR(0), E_WIN(64240), E_DOFF(40), E_LEN(0));
	CHECK(t->seg.df);
	CHECK_EQ(ctr(t->s, "TcpActiveOpens"), opens + 1);
	CHECK_EQ(tt_state(t, t->fd), TCP_SYN_SENT);
	CHECK_EQ(epoll_mask(t->s, t->fd), 0);
	struct tseg syn = t->seg;
	uint32_t tsval = tt_tsval(t);
	TT_SEND(t, .flags = SYN | ACK, .seq = t->iss, .ack = syn.seq + 1, .syn = &TOPTS_LINUX,
		.ts = 1, .tsval = tsval, .tsecr = syn.opt.tsval);
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(syn.seq + 1), E_ACK(t->iss + 1), E_TSECR(tsval),
		   E_WIN(502), E_LEN(0));
	CHECK_EQ(tt_state(t, t->fd), TCP_ESTABLISHED);
	CHECK_EQ(epoll_mask(t->s, t->fd), EPOLLOUT | EPOLLWRNORM);
	CHECK_EQ(get_int_opt(t->s, t->fd, SOL_SOCKET, SO_ERROR), 0);
	CHECK_EQ(ctr(t->s, "TcpCurrEstab"), 1);
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	CHECK_OK(us_getpeername(t->s, t->fd, SA(&a), &al));
	CHECK_EQ(ntohs(a.sin_port), 40000);
	/* The connection's first data goes with the negotiated options. */
	t->snd_nxt = t->iss + 1;
	t->rcv_nxt = syn.seq + 1;
	CHECK_EQ(us_send(t->s, t->fd, "hi", 2, 0), 2);
	EXPECT_TCP(t, E_FLAGS(PSH | ACK), E_SEQ(syn.seq + 1), E_ACK(t->iss + 1), E_LEN(2),
		   E_TSECR(tsval));
	tt_free(t);
}

/* The peer's window scale applies to every window after the SYN
 * (RFC 7323 2.3): a window field of 1000 with shift 2 is 4000 bytes, room
 * for two full segments of 1448 and not a third. */
static void window_scale_applied(void)
{
	struct tt *t = &T;
	tt_init(t, 5);
	struct topts o = TOPTS_LINUX;
	o.wscale = 2;
	REQUIRE(tt_active_open(t, &o));
	tt_ackw(t, 1000);
	static uint8_t buf[10000];
	CHECK_EQ(us_send(t->s, t->fd, buf, sizeof(buf), 0), (long)sizeof(buf));
	EXPECT_TCP(t, E_SEQ(t->rcv_nxt), E_LEN(1448));
	EXPECT_TCP(t, E_SEQ(t->rcv_nxt + 1448), E_LEN(1448));
	EXPECT_NONE(t, 100 * MS);
	/* Our windows are scaled by the shift we announced (7). */
	tt_data(t, buf, 100);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(t->snd_nxt));
	uint32_t rcvbuf_win = (uint32_t)t->seg.win << 7;
	CHECK(rcvbuf_win >= 60000 && rcvbuf_win <= 70000);
	tt_free(t);
}

/* RFC 6528: ISN = M + F(4-tuple, secret), M ticking every 64 ns as in
 * Linux (secure_tcp_seq). The same 4-tuple one second later is 10^9/64
 * further; another 4-tuple at the same moment is unrelated; another
 * stack (another secret) gives another ISN for the same 4-tuple. */
static uint32_t isn_for(struct tt *t, uint16_t lport, uint16_t dport, uint64_t *when)
{
	*when = tt_now(t);
	int c = us_socket(t->s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in l = sin4(STACK_IP, lport);
	set_int_opt(t->s, c, SOL_SOCKET, SO_REUSEADDR, 1);
	CHECK_OK(us_bind(t->s, c, SA(&l), sizeof(l)));
	struct sockaddr_in p = sin4(PEER_IP, dport);
	CHECK_ERR(us_connect(t->s, c, SA(&p), sizeof(p)), EINPROGRESS);
	uint32_t isn = 0;
	if (EXPECT_TCP(t, E_FLAGS(SYN), E_SPORT(lport), E_DPORT(dport)))
		isn = t->seg.seq;
	us_close(t->s, c); /* in SYN_SENT: nothing is sent */
	EXPECT_NONE(t, 1 * MS);
	return isn;
}

static void isn_rfc6528(void)
{
	struct tt *t = &T;
	tt_init(t, 6);
	uint64_t t0, t1, t2;
	uint32_t a = isn_for(t, 5555, 7000, &t0);
	tt_run(t, SEC - (tt_now(t) - t0));
	uint32_t b = isn_for(t, 5555, 7000, &t1);
	uint32_t want = (uint32_t)((t1 >> 6) - (t0 >> 6));
	CHECK_EQ(b - a, want);
	uint32_t c = isn_for(t, 5555, 7001, &t2);
	/* Had F not covered the port, c would be b plus a few ns. */
	CHECK((uint32_t)(c - b) > 1000000u && (uint32_t)(b - c) > 1000000u);
	tt_free(t);

	struct tt *u = &T;
	tt_init(u, 7);
	uint64_t t3;
	uint32_t d = isn_for(u, 5555, 7000, &t3);
	CHECK_EQ(t3, t0);
	CHECK((uint32_t)(d - a) > 1000000u && (uint32_t)(a - d) > 1000000u);
	tt_free(u);
}

/* Simultaneous open (RFC 9293 3.5 figure 8): our SYN crosses the peer's.
 * We answer its SYN with SYN-ACK (our ISS again) and go to SYN_RECV; its
 * SYN-ACK is then acknowledged and the connection is established (Linux
 * lets this SYN-ACK through tcp_validate_incoming's SYN check). */
static void simultaneous_open(void)
{
	struct tt *t = &T;
	tt_init(t, 8);
	REQUIRE(tt_connect_syn(t));
	uint32_t iss = t->seg.seq;
	uint64_t challenges = ctr(t->s, "TcpExtTCPSYNChallenge");
	struct topts o = TOPTS_NONE;
	o.mss = 1460;
	TT_SEND(t, .flags = SYN, .seq = t->iss, .syn = &o);
	EXPECT_TCP(t, E_FLAGS(SYN | ACK), E_SEQ(iss), E_ACK(t->iss + 1), E_MSS(1460));
	CHECK_EQ(tt_state(t, t->fd), TCP_SYN_RECV);
	TT_SEND(t, .flags = SYN | ACK, .seq = t->iss, .ack = iss + 1, .syn = &o);
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(iss + 1), E_ACK(t->iss + 1), E_LEN(0));
	CHECK_EQ(tt_state(t, t->fd), TCP_ESTABLISHED);
	CHECK_EQ(epoll_mask(t->s, t->fd), EPOLLOUT | EPOLLWRNORM);
	CHECK_EQ(ctr(t->s, "TcpExtTCPSYNChallenge"), challenges);
	/* And it carries data both ways. */
	t->snd_nxt = t->iss + 1;
	t->rcv_nxt = iss + 1;
	tt_data(t, "abc", 3);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(t->iss + 4));
	char buf[8];
	CHECK_EQ(tt_read(t, t->fd, buf, sizeof(buf)), 3);
	tt_free(t);
}

/* The other ending of a simultaneous open: a plain ACK of our SYN-ACK. */
static void simultaneous_open_ack(void)
{
	struct tt *t = &T;
	tt_init(t, 9);
	REQUIRE(tt_connect_syn(t));
	uint32_t iss = t->seg.seq;
	TT_SEND(t, .flags = SYN, .seq = t->iss, .syn = &TOPTS_NONE);
	EXPECT_TCP(t, E_FLAGS(SYN | ACK), E_SEQ(iss), E_ACK(t->iss + 1));
	tt_seg(t, ACK, t->iss + 1, iss + 1, NULL, 0);
	CHECK_EQ(tt_state(t, t->fd), TCP_ESTABLISHED);
	EXPECT_NONE(t, 300 * MS);
	tt_free(t);
}

/* SYN_SENT (RFC 9293 3.10.7.3): an ACK that does not acknowledge our SYN
 * gets <SEQ=SEG.ACK><CTL=RST> and changes nothing. */
static void synsent_bad_ack(void)
{
	struct tt *t = &T;
	tt_init(t, 10);
	REQUIRE(tt_connect_syn(t));
	uint32_t iss = t->seg.seq;
	TT_SEND(t, .flags = SYN | ACK, .seq = t->iss, .ack = iss + 100, .syn = &TOPTS_NONE);
	EXPECT_TCP(t, E_FLAGS(RST), E_SEQ(iss + 100), E_LEN(0));
	CHECK_EQ(tt_state(t, t->fd), TCP_SYN_SENT);
	/* ack == ISS acknowledges nothing either. */
	TT_SEND(t, .flags = SYN | ACK, .seq = t->iss, .ack = iss, .syn = &TOPTS_NONE);
	EXPECT_TCP(t, E_FLAGS(RST), E_SEQ(iss));
	CHECK_EQ(tt_state(t, t->fd), TCP_SYN_SENT);
	/* A RST with an unacceptable ACK is dropped, as is one without ACK. */
	tt_seg(t, RST | ACK, t->iss, iss + 5, NULL, 0);
	tt_seg(t, RST, t->iss, 0, NULL, 0);
	CHECK_EQ(tt_state(t, t->fd), TCP_SYN_SENT);
	EXPECT_NONE(t, 100 * MS);
	TT_SEND(t, .flags = SYN | ACK, .seq = t->iss, .ack = iss + 1, .syn = &TOPTS_NONE);
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(iss + 1), E_ACK(t->iss + 1));
	CHECK_EQ(tt_state(t, t->fd), TCP_ESTABLISHED);
	tt_free(t);
}

/* A RST acknowledging our SYN refuses the connection: ECONNREFUSED,
 * AttemptFails, the socket closed with Linux's poll mask. */
static void synsent_rst_refused(void)
{
	struct tt *t = &T;
	tt_init(t, 11);
	uint64_t fails = ctr(t->s, "TcpAttemptFails");
	REQUIRE(tt_connect_syn(t));
	uint32_t iss = t->seg.seq;
	tt_seg(t, RST | ACK, 0, iss + 1, NULL, 0);
	CHECK_EQ(tt_state(t, t->fd), TCP_CLOSE);
	CHECK_EQ(ctr(t->s, "TcpAttemptFails"), fails + 1);
	CHECK_EQ(ctr(t->s, "TcpCurrEstab"), 0);
	CHECK_EQ(epoll_mask(t->s, t->fd), EPOLLIN | EPOLLRDNORM | EPOLLRDHUP | EPOLLOUT | EPOLLWRNORM |
						  EPOLLHUP | EPOLLERR);
	CHECK_EQ(get_int_opt(t->s, t->fd, SOL_SOCKET, SO_ERROR), ECONNREFUSED);
	CHECK_EQ(get_int_opt(t->s, t->fd, SOL_SOCKET, SO_ERROR), 0);
	EXPECT_NONE(t, 2 * SEC); /* no SYN retransmission */
	tt_free(t);
}

/* A SYN-ACK without options: no timestamps, no scaling, MSS 536. */
static void synsent_synack_without_options(void)
{
	struct tt *t = &T;
	tt_init(t, 12);
	REQUIRE(tt_active_open(t, &TOPTS_NONE));
	CHECK_SEG(t, E_TS(false));
	struct tcp_info ti = tt_info(t, t->fd);
	CHECK_EQ(ti.tcpi_snd_mss, 536);
	CHECK_EQ(ti.tcpi_options & (TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE), 0);
	CHECK_EQ(us_send(t->s, t->fd, "x", 1, 0), 1);
	EXPECT_TCP(t, E_LEN(1), E_TS(false), E_DOFF(20));
	tt_free(t);
}

/* A request socket (SYN_RECV, tcp_check_req). */
static uint32_t request(struct tt *t, uint16_t pport, uint32_t seq)
{
	t->pport = pport;
	TT_SEND(t, .flags = SYN, .seq = seq, .syn = &TOPTS_NONE);
	if (!EXPECT_TCP(t, E_FLAGS(SYN | ACK), E_ACK(seq + 1), E_DPORT(pport)))
		return 0;
	return t->seg.seq;
}

static bool accepted(struct tt *t)
{
	int fd = us_accept4(t->s, t->lfd, NULL, NULL, SOCK_NONBLOCK);
	if (fd < 0)
		return false;
	us_close(t->s, fd);
	return true;
}

/* A retransmitted SYN gets the same SYN-ACK again. */
static void request_syn_retransmitted(void)
{
	struct tt *t = &T;
	open_listener(t);
	uint32_t irs = request(t, 41000, 5000);
	tt_run(t, 300 * MS);
	TT_SEND(t, .flags = SYN, .seq = 5000, .syn = &TOPTS_NONE);
	EXPECT_TCP(t, E_FLAGS(SYN | ACK), E_SEQ(irs), E_ACK(5001), E_MSS(1460));
	tt_seg(t, ACK, 5001, irs + 1, NULL, 0);
	CHECK(accepted(t));
	tt_free(t);
}

/* The third segment acknowledging something else: <SEQ=SEG.ACK><CTL=RST>;
 * the request stays. */
static void request_bad_ack(void)
{
	struct tt *t = &T;
	open_listener(t);
	uint32_t irs = request(t, 41000, 5000);
	tt_seg(t, ACK, 5001, irs + 7, NULL, 0);
	EXPECT_TCP(t, E_FLAGS(RST), E_SEQ(irs + 7), E_LEN(0));
	CHECK(!accepted(t));
	tt_seg(t, ACK, 5001, irs + 1, NULL, 0);
	CHECK(accepted(t));
	tt_free(t);
}

/* A RST at exactly RCV.NXT ends the request silently (EmbryonicRsts):
 * the ACK that follows finds no connection and is reset. */
static void request_rst_exact(void)
{
	struct tt *t = &T;
	open_listener(t);
	uint64_t rsts = ctr(t->s, "TcpExtEmbryonicRsts");
	uint32_t irs = request(t, 41000, 5000);
	tt_seg(t, RST, 5001, 0, NULL, 0);
	EXPECT_NONE(t, 100 * MS);
	CHECK_EQ(ctr(t->s, "TcpExtEmbryonicRsts"), rsts + 1);
	tt_seg(t, ACK, 5001, irs + 1, NULL, 0);
	EXPECT_TCP(t, E_FLAGS(RST), E_SEQ(irs + 1));
	CHECK(!accepted(t));
	tt_free(t);
}

/* A RST inside the window but not at RCV.NXT: a challenge ACK (RFC 5961
 * 3.2; Linux answers it from the request too) and the request lives on. */
static void request_rst_inexact(void)
{
	struct tt *t = &T;
	open_listener(t);
	uint32_t irs = request(t, 41000, 5000);
	tt_seg(t, RST, 5010, 0, NULL, 0);
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(irs + 1), E_ACK(5001), E_LEN(0));
	tt_seg(t, ACK, 5001, irs + 1, NULL, 0);
	CHECK(accepted(t));
	tt_free(t);
}

/* A SYN with another sequence number inside the window of a request:
 * Linux resets (embryonic_reset: <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>) and
 * forgets the request. */
static void request_new_syn_in_window(void)
{
	struct tt *t = &T;
	open_listener(t);
	uint64_t fails = ctr(t->s, "TcpAttemptFails");
	uint32_t irs = request(t, 41000, 5000);
	TT_SEND(t, .flags = SYN, .seq = 5010, .syn = &TOPTS_NONE);
	EXPECT_TCP(t, E_FLAGS(RST | ACK), E_SEQ(0), E_ACK(5011));
	CHECK_EQ(ctr(t->s, "TcpAttemptFails"), fails + 1);
	tt_seg(t, ACK, 5001, irs + 1, NULL, 0);
	EXPECT_TCP(t, E_FLAGS(RST), E_SEQ(irs + 1));
	CHECK(!accepted(t));
	tt_free(t);
}

/* A segment outside the request's window is answered with an ACK. */
static void request_out_of_window(void)
{
	struct tt *t = &T;
	open_listener(t);
	uint32_t irs = request(t, 41000, 5000);
	tt_seg(t, ACK, 5001 + 1000000, irs + 1, NULL, 0);
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(irs + 1), E_ACK(5001));
	CHECK(!accepted(t));
	tt_free(t);
}

/* RFC 7323 2.3: a shift over 14 is taken as 14. */
static void window_scale_capped(void)
{
	struct tt *t = &T;
	open_listener(t);
	struct topts o = TOPTS_LINUX;
	o.wscale = 15;
	REQUIRE(tt_passive_open(t, &o));
	CHECK_EQ(tt_info(t, t->fd).tcpi_snd_wscale, 14);
	tt_free(t);
}

/* Timestamps negotiated, then a segment without one: Linux takes it (RFC
 * 7323 3.2 lets a receiver drop it; Linux does not), data and all. */
static void segment_without_timestamp(void)
{
	struct tt *t = &T;
	open_listener(t);
	REQUIRE(tt_passive_open(t, &TOPTS_LINUX));
	TT_SEND(t, .flags = ACK | PSH, .seq = t->snd_nxt, .ack = t->rcv_nxt, .data = "abc", .len = 3,
		.ts = -1);
	t->snd_nxt += 3;
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(t->snd_nxt), E_WITHIN(200 * MS));
	char b[4];
	CHECK_EQ(tt_read(t, t->fd, b, sizeof(b)), 3);
	tt_free(t);
}

/* A retransmitted SYN-ACK (our ACK was lost) on an established
 * connection: outside the window, it gets an ACK (a challenge, RFC 5961
 * 4.2) and the connection stays. */
static void synack_after_established(void)
{
	struct tt *t = &T;
	tt_init(t, 13);
	REQUIRE(tt_active_open(t, &TOPTS_LINUX));
	tt_run(t, SEC);
	TT_SEND(t, .flags = SYN | ACK, .seq = t->iss, .ack = t->rcv_nxt, .syn = &TOPTS_LINUX);
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(t->rcv_nxt), E_ACK(t->iss + 1), E_LEN(0));
	CHECK_EQ(tt_state(t, t->fd), TCP_ESTABLISHED);
	tt_free(t);
}

/* SACK-permitted is offered back only when the peer offered it. */
static void sack_permitted_negotiated(void)
{
	struct tt *t = &T;
	open_listener(t);
	struct topts o = TOPTS_LINUX;
	o.sack_perm = false;
	REQUIRE(tt_passive_open(t, &o));
	CHECK_SEG(t, E_FLAGS(SYN | ACK), E_SACKOK(false), E_TS(true), E_WS(7));
	CHECK_EQ(tt_info(t, t->fd).tcpi_options & TCPI_OPT_SACK, 0);
	t->pport = 40001;
	o.sack_perm = true;
	o.ts = false;
	REQUIRE(tt_passive_open(t, &o));
	CHECK_SEG(t, E_FLAGS(SYN | ACK), E_SACKOK(true), E_TS(false), E_DOFF(32));
	CHECK(tt_info(t, t->fd).tcpi_options & TCPI_OPT_SACK);
	tt_free(t);
}

TEST_MAIN(T(passive_open_linux_options), T(passive_open_no_options), T(passive_open_ts_only),
	  T(mss_from_route_mtu), T(maxseg_announced), T(active_open), T(window_scale_applied),
	  T(isn_rfc6528), T(simultaneous_open), T(simultaneous_open_ack), T(synsent_bad_ack),
	  T(synsent_rst_refused), T(synsent_synack_without_options), T(request_syn_retransmitted),
	  T(request_bad_ack), T(request_rst_exact), T(request_rst_inexact),
	  T(request_new_syn_in_window), T(request_out_of_window), T(sack_permitted_negotiated),
	  T(synack_after_established), T(window_scale_capped), T(segment_without_timestamp))
