/*
 * Timers, as Linux runs them: retransmission with the RFC 6298 RTO
 * (SRTT/RTTVAR, Karn's rule, exponential backoff capped at 120 s, the
 * retry limit tcp_retries2 -> ETIMEDOUT 924.6 s after the first
 * transmission), SYN retransmission (1, 3, 7, ... s; 127 s -> ETIMEDOUT;
 * TCP_SYNCNT), SYN-ACK retransmission (tcp_synack_retries), the RTT of
 * the handshake, keepalive (SO_KEEPALIVE, TCP_KEEPIDLE/INTVL/CNT),
 * TCP_USER_TIMEOUT, orphan retries, unanswered zero-window probes.
 */
#include "tcptest.h"

static struct tt T;
static uint8_t buf[100000];

static bool established(struct tt *t, uint64_t seed, const struct topts *o)
{
	tt_init(t, seed);
	if (tt_listen(t, 80, 16) < 0)
		return false;
	return tt_passive_open(t, o);
}

/* Unacknowledged data: retransmitted at RTO, 2 RTO, 4 RTO... up to
 * 120 s; 15 retransmissions (tcp_retries2), then ETIMEDOUT once 924.6 s
 * (tcp_model_timeout with a 200 ms base) have passed since the first
 * transmission. No RST is sent; the error is reported once. */
static void rto_backoff_to_etimedout(void)
{
	struct tt *t = &T;
	tt_init(t, 1);
	REQUIRE(tt_active_open(t, &TOPTS_LINUX));
	uint64_t rtx = ctr(t->s, "TcpRetransSegs"), tmo = ctr(t->s, "TcpExtTCPTimeouts");
	uint64_t abort = ctr(t->s, "TcpExtTCPAbortOnTimeout");
	struct tcp_info ti = tt_info(t, t->fd);
	CHECK(ti.tcpi_rto >= 200000 && ti.tcpi_rto <= 202000);
	uint64_t rto = ti.tcpi_rto * 1000ull;
	pat_fill(buf, 100, 1, 0);
	uint64_t t0 = tt_now(t);
	CHECK_EQ(us_send(t->s, t->fd, buf, 100, 0), 100);
	EXPECT_TCP(t, E_SEQ(t->rcv_nxt), E_LEN(100), E_WITHIN(1 * MS));
	uint64_t last = t->seg.time, want = rto;
	int n = 0;
	while (tt_pop(t, 200 * SEC)) {
		CHECK_SEG(t, E_SEQ(t->rcv_nxt), E_LEN(100));
		CHECK(memcmp(t->seg.data, buf, 100) == 0);
		CHECK_EQ(t->seg.time - last, want);
		last = t->seg.time;
		want = want * 2 > 120 * SEC ? 120 * SEC : want * 2;
		n++;
		if (n <= 3) {
			ti = tt_info(t, t->fd);
			CHECK_EQ(ti.tcpi_retransmits, n);
			CHECK_EQ(ti.tcpi_backoff, n);
			CHECK_EQ(ti.tcpi_total_retrans, n);
			CHECK_EQ(ti.tcpi_rto, (rto << n) / 1000);
		}
	}
	CHECK_EQ(n, 15);
	CHECK_EQ(ctr(t->s, "TcpRetransSegs"), rtx + 15);
	CHECK_EQ(ctr(t->s, "TcpExtTCPTimeouts"), tmo + 15);
	CHECK_EQ(ctr(t->s, "TcpExtTCPAbortOnTimeout"), abort + 1);
	CHECK_EQ(tt_state(t, t->fd), TCP_CLOSE);
	/* The error came with the timer after the last retransmission. */
	CHECK(last + 120 * SEC - t0 >= 924600 * MS && last + 120 * SEC - t0 <= 926 * SEC);
	char b[4];
	CHECK_ERR(us_recv(t->s, t->fd, b, sizeof(b), MSG_DONTWAIT), ETIMEDOUT);
	CHECK_EQ(us_recv(t->s, t->fd, b, sizeof(b), MSG_DONTWAIT), 0);
	CHECK_EQ(ctr(t->s, "TcpCurrEstab"), 0);
	tt_free(t);
}

/* Karn's algorithm (RFC 6298 5): the backed-off RTO stays until an ACK
 * gives a valid sample (Linux: "only reset backoff on valid RTT
 * measurement"); the next clean exchange brings it back down. */
static void backoff_reset_by_ack(void)
{
	struct tt *t = &T;
	tt_init(t, 2);
	REQUIRE(tt_active_open(t, &TOPTS_NONE));
	CHECK_EQ(us_send(t->s, t->fd, buf, 10, 0), 10);
	EXPECT_TCP(t, E_LEN(10));
	EXPECT_TCP(t, E_LEN(10), E_WITHIN(SEC));
	EXPECT_TCP(t, E_LEN(10), E_WITHIN(SEC));
	CHECK_EQ(tt_info(t, t->fd).tcpi_backoff, 2);
	t->rcv_nxt += 10;
	tt_ack(t);
	struct tcp_info ti = tt_info(t, t->fd);
	CHECK_EQ(ti.tcpi_retransmits, 0);
	CHECK(ti.tcpi_rto >= 800000);
	CHECK_EQ(us_send(t->s, t->fd, buf, 10, 0), 10);
	EXPECT_TCP(t, E_LEN(10));
	t->rcv_nxt += 10;
	tt_ack(t);
	ti = tt_info(t, t->fd);
	CHECK(ti.tcpi_rto < 300000);
	uint64_t t0 = tt_now(t);
	CHECK_EQ(us_send(t->s, t->fd, buf, 10, 0), 10);
	EXPECT_TCP(t, E_LEN(10));
	EXPECT_TCP(t, E_LEN(10), E_WITHIN(SEC));
	CHECK(t->seg.time - t0 < 300 * MS);
	tt_free(t);
}

/* RFC 6298 2.2/2.3 as Linux computes them: the first sample R gives
 * SRTT = R, RTTVAR = R/2; the next R' gives RTTVAR = 3/4 RTTVAR +
 * 1/4 |SRTT - R'|, SRTT = 7/8 SRTT + 1/8 R'; RTO = SRTT + max(4 RTTVAR,
 * 200 ms). Samples of 50 then 100 ms: SRTT 56.25 ms, RTTVAR 31.25 ms,
 * RTO 256.25 ms, in whole ms 257. Karn: the ACK of a retransmitted
 * segment gives no sample. */
static void rtt_estimator_and_karn(void)
{
	struct tt *t = &T;
	tt_init(t, 3);
	REQUIRE(tt_connect_syn(t));
	struct tseg syn = t->seg;
	tt_run(t, 50 * MS);
	TT_SEND(t, .flags = SYN | ACK, .seq = t->iss, .ack = syn.seq + 1, .syn = &TOPTS_NONE);
	t->snd_nxt = t->iss + 1;
	EXPECT_TCP(t, E_FLAGS(ACK));
	struct tcp_info ti = tt_info(t, t->fd);
	CHECK_EQ(ti.tcpi_rtt, 50000);
	CHECK_EQ(ti.tcpi_rttvar, 25000);
	CHECK_EQ(ti.tcpi_rto, 250000);
	CHECK_EQ(us_send(t->s, t->fd, buf, 100, 0), 100);
	EXPECT_TCP(t, E_LEN(100));
	tt_run(t, 100 * MS);
	t->rcv_nxt += 100;
	tt_ack(t);
	ti = tt_info(t, t->fd);
	CHECK_EQ(ti.tcpi_rtt, 56250);
	CHECK_EQ(ti.tcpi_rttvar, 31250);
	CHECK_EQ(ti.tcpi_rto, 257000);
	/* Karn: retransmitted, then acknowledged 10 ms later. */
	CHECK_EQ(us_send(t->s, t->fd, buf, 100, 0), 100);
	EXPECT_TCP(t, E_LEN(100));
	EXPECT_TCP(t, E_LEN(100), E_WITHIN(SEC));
	tt_run(t, 10 * MS);
	t->rcv_nxt += 100;
	tt_ack(t);
	ti = tt_info(t, t->fd);
	CHECK_EQ(ti.tcpi_rtt, 56250);
	CHECK_EQ(ti.tcpi_rttvar, 31250);
	CHECK_EQ(ti.tcpi_rto, 2 * 257000); /* still backed off */
	tt_free(t);
}

/* Karn's rule covers the whole ACK: one that acknowledges retransmitted
 * data gives no RTT sample, not even from the segments after the hole
 * that were sent once (Linux: FLAG_RETRANS_DATA_ACKED). Otherwise the
 * time the hole took to repair would be taken for an RTT. */
static void karn_cumulative_ack(void)
{
	struct tt *t = &T;
	tt_init(t, 16);
	REQUIRE(tt_active_open(t, &TOPTS_NONE));
	CHECK_EQ(us_send(t->s, t->fd, buf, 100, 0), 100);
	EXPECT_TCP(t, E_LEN(100));
	t->rcv_nxt += 100;
	tt_ack(t); /* a clean sample: RTT ~0 */
	struct tcp_info before = tt_info(t, t->fd);
	CHECK_EQ(us_send(t->s, t->fd, buf, 3 * 536, 0), 3 * 536);
	CHECK_EQ(tt_drain(t, 1 * MS), 3);
	/* The first is lost: retransmitted at RTO, then again. */
	EXPECT_TCP(t, E_SEQ(t->rcv_nxt), E_LEN(536), E_WITHIN(SEC));
	EXPECT_TCP(t, E_SEQ(t->rcv_nxt), E_LEN(536), E_WITHIN(2 * SEC));
	tt_run(t, 10 * MS);
	t->rcv_nxt += 3 * 536;
	tt_ack(t); /* covers the retransmission and the two sent once */
	struct tcp_info after = tt_info(t, t->fd);
	CHECK_EQ(after.tcpi_rtt, before.tcpi_rtt);
	CHECK_EQ(after.tcpi_rttvar, before.tcpi_rttvar);
	tt_free(t);
}

/* With timestamps, the RTT comes from the echoed TSval (RFC 7323 4.1),
 * in Linux's ms resolution (tcp_rtt_tsopt_us: delta * 1000). */
static void rtt_from_timestamps(void)
{
	struct tt *t = &T;
	tt_init(t, 4);
	REQUIRE(tt_connect_syn(t));
	struct tseg syn = t->seg;
	tt_run(t, 40 * MS);
	TT_SEND(t, .flags = SYN | ACK, .seq = t->iss, .ack = syn.seq + 1, .syn = &TOPTS_LINUX,
		.ts = 1, .tsval = tt_tsval(t), .tsecr = syn.opt.tsval);
	t->snd_nxt = t->iss + 1;
	t->ts = true;
	t->snd_ws = 7;
	EXPECT_TCP(t, E_FLAGS(ACK));
	struct tcp_info ti = tt_info(t, t->fd);
	CHECK_EQ(ti.tcpi_rtt, 40000);
	CHECK_EQ(ti.tcpi_rttvar, 20000);
	tt_free(t);
}

/* The passive side measures the handshake too: SYN-ACK to its ACK
 * (tcp_synack_rtt_meas), so the first RTO is not the initial 1 s. */
static void rtt_of_passive_handshake(void)
{
	struct tt *t = &T;
	tt_init(t, 5);
	REQUIRE(tt_listen(t, 80, 4) >= 0);
	TT_SEND(t, .flags = SYN, .seq = t->iss, .syn = &TOPTS_NONE);
	EXPECT_TCP(t, E_FLAGS(SYN | ACK));
	tt_run(t, 50 * MS);
	tt_seg(t, ACK, t->iss + 1, t->seg.seq + 1, NULL, 0);
	int fd = us_accept4(t->s, t->lfd, NULL, NULL, SOCK_NONBLOCK);
	REQUIRE(fd >= 0);
	struct tcp_info ti = tt_info(t, fd);
	CHECK_EQ(ti.tcpi_rtt, 50000);
	CHECK_EQ(ti.tcpi_rto, 250000);
	tt_free(t);
}

/* SYN retransmission: at 1, 3, 7, 15, 31, 63 s (initial RTO 1 s,
 * doubling); ETIMEDOUT at 127 s (tcp_syn_retries 6). */
static void syn_retransmission_to_etimedout(void)
{
	struct tt *t = &T;
	tt_init(t, 6);
	uint64_t fails = ctr(t->s, "TcpAttemptFails"), sr = ctr(t->s, "TcpExtTCPSynRetrans");
	uint64_t t0 = tt_now(t);
	REQUIRE(tt_connect_syn(t));
	struct tseg syn = t->seg;
	static const int at[] = { 1, 3, 7, 15, 31, 63 };
	for (int i = 0; i < 6; i++) {
		if (!EXPECT_TCP(t, E_FLAGS(SYN), E_SEQ(syn.seq), E_MSS(1460), E_WS(7), E_SACKOK(true),
				E_TS(true), E_WITHIN(100 * SEC)))
			break;
		CHECK_EQ(t->seg.time - t0, (uint64_t)at[i] * SEC);
	}
	EXPECT_NONE(t, 63 * SEC + 500 * MS);
	CHECK_EQ(tt_now(t) - t0, 126500 * MS);
	CHECK_EQ(tt_state(t, t->fd), TCP_SYN_SENT);
	tt_run(t, SEC);
	CHECK_EQ(tt_state(t, t->fd), TCP_CLOSE);
	CHECK_EQ(get_int_opt(t->s, t->fd, SOL_SOCKET, SO_ERROR), ETIMEDOUT);
	CHECK_EQ(ctr(t->s, "TcpAttemptFails"), fails + 1);
	CHECK_EQ(ctr(t->s, "TcpExtTCPSynRetrans"), sr + 6);
	EXPECT_NONE(t, 10 * SEC); /* and no RST */
	tt_free(t);
}

/* TCP_SYNCNT bounds the SYN retransmissions of one socket. */
static void syncnt(void)
{
	struct tt *t = &T;
	tt_init(t, 7);
	int fd = us_socket(t->s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK_EQ(get_int_opt(t->s, fd, IPPROTO_TCP, TCP_SYNCNT), 6);
	CHECK_OK(set_int_opt(t->s, fd, IPPROTO_TCP, TCP_SYNCNT, 2));
	CHECK_EQ(get_int_opt(t->s, fd, IPPROTO_TCP, TCP_SYNCNT), 2);
	uint64_t t0 = tt_now(t);
	struct sockaddr_in a = sin4(PEER_IP, 40000);
	CHECK_ERR(us_connect(t->s, fd, SA(&a), sizeof(a)), EINPROGRESS);
	CHECK_EQ(tt_drain(t, 6900 * MS), 3);
	CHECK_EQ(tt_state(t, fd), TCP_SYN_SENT);
	tt_run(t, 7 * SEC + 10 * MS - (tt_now(t) - t0));
	CHECK_EQ(tt_state(t, fd), TCP_CLOSE);
	CHECK_EQ(get_int_opt(t->s, fd, SOL_SOCKET, SO_ERROR), ETIMEDOUT);
	tt_free(t);
}

/* SYN-ACK retransmission from a request: 1, 3, 7, 15, 31 s
 * (tcp_synack_retries 5), the request dropped at 63 s; its ACK is welcome
 * until then, a RST after. */
static void synack_retransmission(void)
{
	struct tt *t = &T;
	tt_init(t, 8);
	REQUIRE(tt_listen(t, 80, 8) >= 0);
	uint64_t t0 = tt_now(t);
	TT_SEND(t, .flags = SYN, .seq = 5000, .syn = &TOPTS_NONE);
	EXPECT_TCP(t, E_FLAGS(SYN | ACK), E_ACK(5001));
	uint32_t irs = t->seg.seq;
	static const int at[] = { 1, 3, 7, 15, 31 };
	for (int i = 0; i < 5; i++) {
		if (!EXPECT_TCP(t, E_FLAGS(SYN | ACK), E_SEQ(irs), E_ACK(5001), E_MSS(1460),
				E_WITHIN(100 * SEC)))
			break;
		CHECK_EQ(t->seg.time - t0, (uint64_t)at[i] * SEC);
	}
	EXPECT_NONE(t, 40 * SEC);
	tt_seg(t, ACK, 5001, irs + 1, NULL, 0);
	EXPECT_TCP(t, E_FLAGS(RST), E_SEQ(irs + 1));
	CHECK_ERR(us_accept(t->s, t->lfd, NULL, NULL), EAGAIN);
	tt_free(t);

	/* Completed during the retransmissions. */
	tt_init(t, 9);
	REQUIRE(tt_listen(t, 80, 8) >= 0);
	TT_SEND(t, .flags = SYN, .seq = 5000, .syn = &TOPTS_NONE);
	EXPECT_TCP(t, E_FLAGS(SYN | ACK));
	EXPECT_TCP(t, E_FLAGS(SYN | ACK), E_WITHIN(2 * SEC));
	EXPECT_TCP(t, E_FLAGS(SYN | ACK), E_WITHIN(3 * SEC));
	tt_seg(t, ACK, 5001, t->seg.seq + 1, NULL, 0);
	int fd = us_accept4(t->s, t->lfd, NULL, NULL, SOCK_NONBLOCK);
	CHECK(fd >= 0);
	EXPECT_NONE(t, 20 * SEC);
	tt_free(t);
}

/* Keepalive (RFC 1122 4.2.3.6): after TCP_KEEPIDLE of silence a probe
 * <SEQ=SND.UNA-1> with no data; an answer restarts the idle time;
 * unanswered, TCP_KEEPCNT probes TCP_KEEPINTVL apart, then RST and
 * ETIMEDOUT. */
static void keepalive(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 10, &TOPTS_LINUX));
	uint64_t kas = ctr(t->s, "TcpExtTCPKeepAlive");
	CHECK_OK(set_int_opt(t->s, t->fd, IPPROTO_TCP, TCP_KEEPIDLE, 10));
	CHECK_OK(set_int_opt(t->s, t->fd, IPPROTO_TCP, TCP_KEEPINTVL, 2));
	CHECK_OK(set_int_opt(t->s, t->fd, IPPROTO_TCP, TCP_KEEPCNT, 3));
	CHECK_OK(set_int_opt(t->s, t->fd, SOL_SOCKET, SO_KEEPALIVE, 1));
	uint64_t t0 = tt_now(t);
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(t->rcv_nxt - 1), E_ACK(t->snd_nxt), E_LEN(0),
		   E_WITHIN(11 * SEC));
	CHECK_EQ(t->seg.time - t0, 10 * SEC);
	tt_ack(t);
	uint64_t t1 = tt_now(t);
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(t->rcv_nxt - 1), E_LEN(0), E_WITHIN(11 * SEC));
	CHECK_EQ(t->seg.time - t1, 10 * SEC);
	uint64_t t2 = t->seg.time;
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(t->rcv_nxt - 1), E_LEN(0), E_WITHIN(3 * SEC));
	CHECK_EQ(t->seg.time - t2, 2 * SEC);
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(t->rcv_nxt - 1), E_LEN(0), E_WITHIN(3 * SEC));
	CHECK_EQ(t->seg.time - t2, 4 * SEC);
	CHECK_EQ(tt_state(t, t->fd), TCP_ESTABLISHED);
	EXPECT_TCP(t, E_FLAGS(RST | ACK), E_SEQ(t->rcv_nxt), E_ACK(t->snd_nxt), E_WITHIN(3 * SEC));
	CHECK_EQ(t->seg.time - t2, 6 * SEC);
	CHECK_EQ(ctr(t->s, "TcpExtTCPKeepAlive"), kas + 4);
	CHECK_EQ(tt_state(t, t->fd), TCP_CLOSE);
	CHECK_EQ(get_int_opt(t->s, t->fd, SOL_SOCKET, SO_ERROR), ETIMEDOUT);
	tt_free(t);
}

/* Without SO_KEEPALIVE an idle connection sends nothing, ever. */
static void keepalive_off(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 15, &TOPTS_LINUX));
	EXPECT_NONE(t, 10000 * SEC);
	CHECK_EQ(tt_state(t, t->fd), TCP_ESTABLISHED);
	tt_free(t);
}

/* The defaults: 7200 s idle, and a listener's options pass to its
 * children. Probes are not sent while data is in flight. */
static void keepalive_defaults_and_inheritance(void)
{
	struct tt *t = &T;
	tt_init(t, 11);
	int l = us_socket(t->s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK_OK(set_int_opt(t->s, l, SOL_SOCKET, SO_KEEPALIVE, 1));
	struct sockaddr_in a = sin4(STACK_IP, 80);
	CHECK_OK(us_bind(t->s, l, SA(&a), sizeof(a)));
	CHECK_OK(us_listen(t->s, l, 4));
	t->lfd = l;
	t->sport = 80;
	REQUIRE(tt_passive_open(t, &TOPTS_NONE));
	CHECK_EQ(get_int_opt(t->s, t->fd, SOL_SOCKET, SO_KEEPALIVE), 1);
	CHECK_EQ(get_int_opt(t->s, t->fd, IPPROTO_TCP, TCP_KEEPIDLE), 7200);
	uint64_t t0 = tt_now(t);
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(t->rcv_nxt - 1), E_LEN(0), E_WITHIN(7300 * SEC));
	CHECK_EQ(t->seg.time - t0, 7200 * SEC);
	tt_free(t);
}

/* TCP_USER_TIMEOUT: data unacknowledged for that long fails the
 * connection with ETIMEDOUT at that time (Linux clamps the RTO so that
 * the timer fires exactly then, tcp_clamp_rto_to_user_timeout). */
static void user_timeout(void)
{
	struct tt *t = &T;
	tt_init(t, 12);
	REQUIRE(tt_active_open(t, &TOPTS_LINUX));
	CHECK_OK(set_int_opt(t->s, t->fd, IPPROTO_TCP, TCP_USER_TIMEOUT, 5000));
	CHECK_EQ(get_int_opt(t->s, t->fd, IPPROTO_TCP, TCP_USER_TIMEOUT), 5000);
	uint64_t t0 = tt_now(t);
	CHECK_EQ(us_send(t->s, t->fd, buf, 100, 0), 100);
	while (tt_pop(t, 10 * SEC))
		;
	CHECK_EQ(tt_state(t, t->fd), TCP_CLOSE);
	tt_free(t);
	/* When: step through time. */
	tt_init(t, 12);
	REQUIRE(tt_active_open(t, &TOPTS_LINUX));
	CHECK_OK(set_int_opt(t->s, t->fd, IPPROTO_TCP, TCP_USER_TIMEOUT, 5000));
	t0 = tt_now(t);
	CHECK_EQ(us_send(t->s, t->fd, buf, 100, 0), 100);
	tt_run(t, 4990 * MS);
	CHECK_EQ(tt_state(t, t->fd), TCP_ESTABLISHED);
	tt_run(t, 5010 * MS - (tt_now(t) - t0));
	CHECK_EQ(tt_state(t, t->fd), TCP_CLOSE);
	CHECK_EQ(get_int_opt(t->s, t->fd, SOL_SOCKET, SO_ERROR), ETIMEDOUT);
	tt_free(t);
}

/* An orphan with unacknowledged data gives up after tcp_orphan_retries
 * (8: 102.2 s with a 200 ms RTO), silently. */
static void orphan_retries(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 13, &TOPTS_LINUX));
	/* An RTT sample first, so the RTO is the 200 ms minimum. */
	CHECK_EQ(us_send(t->s, t->fd, buf, 10, 0), 10);
	EXPECT_TCP(t, E_LEN(10));
	t->rcv_nxt += 10;
	tt_ack(t);
	CHECK_EQ(us_send(t->s, t->fd, buf, 100, 0), 100);
	uint64_t t0 = tt_now(t);
	CHECK_OK(us_close(t->s, t->fd));
	int n = tt_drain(t, 102 * SEC);
	CHECK(n >= 9 && n <= 20); /* the data and FIN, and their retransmissions */
	CHECK_EQ(tt_find_state(t->s, 80, 40000), TCP_FIN_WAIT1);
	tt_run(t, 104 * SEC - (tt_now(t) - t0));
	CHECK_EQ(tt_find_state(t->s, 80, 40000), -1);
	tt_free(t);
}

/* Zero-window probes that go unanswered: after tcp_retries2 of them the
 * connection fails with ETIMEDOUT. */
static void zero_window_probes_unanswered(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 14, &TOPTS_LINUX));
	tt_ackw(t, 0);
	CHECK_EQ(us_send(t->s, t->fd, buf, 1000, 0), 1000);
	int n = 0;
	while (tt_pop(t, 200 * SEC)) {
		CHECK_SEG(t, E_FLAGS(ACK), E_SEQ(t->rcv_nxt - 1), E_LEN(0));
		n++;
	}
	CHECK_EQ(n, 15);
	CHECK_EQ(tt_state(t, t->fd), TCP_CLOSE);
	CHECK_EQ(get_int_opt(t->s, t->fd, SOL_SOCKET, SO_ERROR), ETIMEDOUT);
	tt_free(t);
}

TEST_MAIN(T(rto_backoff_to_etimedout), T(backoff_reset_by_ack), T(rtt_estimator_and_karn),
	  T(rtt_from_timestamps), T(karn_cumulative_ack), T(rtt_of_passive_handshake), T(syn_retransmission_to_etimedout),
	  T(syncnt), T(synack_retransmission), T(keepalive), T(keepalive_off), T(keepalive_defaults_and_inheritance),
	  T(user_timeout), T(orphan_retries), T(zero_window_probes_unanswered))
