/*
 * Closing (RFC 9293 3.6) as Linux does it: active close through
 * FIN_WAIT_1, FIN_WAIT_2 and TIME_WAIT (60 s, restarted by a
 * retransmitted FIN, killed by an exact RST, recycled by a new SYN,
 * bounded in number), passive close through CLOSE_WAIT and LAST_ACK,
 * simultaneous close through CLOSING, half-close with shutdown(), close()
 * with unread data (RST), SO_LINGER 0, close() with unsent data (the
 * orphan keeps sending, then FINs), the orphan FIN_WAIT_2 timeout and
 * TCP_LINGER2, data arriving after close (RST), a listener closed with
 * connections not yet accepted.
 */
#include "tcptest.h"

static struct tt T;

static bool established(struct tt *t, uint64_t seed, const struct topts *o)
{
	tt_init(t, seed);
	if (tt_listen(t, 80, 16) < 0)
		return false;
	return tt_passive_open(t, o);
}

static int state_of(struct tt *t)
{
	return tt_find_state(t->s, t->sport, t->pport);
}

/* close() -> FIN_WAIT_1 -> (ACK) FIN_WAIT_2 -> (FIN) TIME_WAIT, 60 s. */
static void active_close(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 1, &TOPTS_LINUX));
	uint64_t tw = ctr(t->s, "TcpExtTW");
	CHECK_OK(us_close(t->s, t->fd));
	EXPECT_TCP(t, E_FLAGSP(FIN | ACK), E_SEQ(t->rcv_nxt), E_ACK(t->snd_nxt), E_LEN(0));
	CHECK_EQ(state_of(t), TCP_FIN_WAIT1);
	CHECK_EQ(ctr(t->s, "TcpCurrEstab"), 0);
	t->rcv_nxt++;
	tt_ack(t);
	EXPECT_NONE(t, 10 * MS);
	CHECK_EQ(state_of(t), TCP_FIN_WAIT2);
	tt_fin(t);
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(t->rcv_nxt), E_ACK(t->snd_nxt), E_LEN(0), E_WITHIN(1 * MS));
	uint64_t t0 = tt_now(t);
	CHECK_EQ(state_of(t), TCP_TIME_WAIT);
	CHECK_EQ(tt_count_state(t->s, TCP_TIME_WAIT), 1);
	tt_run(t, 59 * SEC);
	CHECK_EQ(state_of(t), TCP_TIME_WAIT);
	tt_run(t, 60 * SEC + 100 * MS - (tt_now(t) - t0));
	CHECK_EQ(state_of(t), -1);
	CHECK_EQ(ctr(t->s, "TcpExtTW"), tw + 1);
	EXPECT_NONE(t, 10 * MS);
	/* Now nobody is there. */
	tt_ack(t);
	EXPECT_TCP(t, E_FLAGS(RST), E_SEQ(t->rcv_nxt));
	tt_free(t);
}

/* A FIN on its own carries ACK only (tcp_send_fin: TCPHDR_ACK |
 * TCPHDR_FIN); PSH marks the end of a write's data, and a FIN that rides
 * on the last data segment keeps it. */
static void fin_flags(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 23, &TOPTS_LINUX));
	CHECK_OK(us_shutdown(t->s, t->fd, SHUT_WR));
	EXPECT_TCP(t, E_FLAGS(FIN | ACK), E_LEN(0));
	tt_free(t);
}

/* In TIME_WAIT a retransmitted FIN is acknowledged again and restarts
 * the 2*MSL timer; a bare ACK at RCV.NXT is not answered (Linux:
 * tcp_timewait_state_process, in-window bare ACK) and the answers to
 * out-of-window segments are rate limited (500 ms). */
static void time_wait_answers(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 2, &TOPTS_LINUX));
	CHECK_OK(us_close(t->s, t->fd));
	EXPECT_TCP(t, E_FLAGSP(FIN | ACK));
	t->rcv_nxt++;
	tt_fin(t);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(t->snd_nxt));
	REQUIRE(state_of(t) == TCP_TIME_WAIT);
	tt_run(t, 30 * SEC);
	/* The peer lost our ACK: its FIN again. */
	tt_seg(t, FIN | ACK, t->snd_nxt - 1, t->rcv_nxt, NULL, 0);
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(t->rcv_nxt), E_ACK(t->snd_nxt), E_TS(true));
	tt_seg(t, FIN | ACK, t->snd_nxt - 1, t->rcv_nxt, NULL, 0);
	EXPECT_NONE(t, 100 * MS);
	tt_run(t, 45 * SEC);
	CHECK_EQ(state_of(t), TCP_TIME_WAIT); /* 75 s after entering */
	tt_ack(t);
	EXPECT_NONE(t, 100 * MS);
	tt_free(t);
}

/* A RST at RCV.NXT ends TIME_WAIT (RFC 1337 assassination, which Linux
 * allows with tcp_rfc1337 = 0); one elsewhere does not. */
static void time_wait_rst(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 3, &TOPTS_LINUX));
	CHECK_OK(us_close(t->s, t->fd));
	EXPECT_TCP(t, E_FLAGSP(FIN | ACK));
	t->rcv_nxt++;
	tt_fin(t);
	EXPECT_TCP(t, E_FLAGS(ACK));
	tt_seg(t, RST, t->snd_nxt + 5, 0, NULL, 0);
	CHECK_EQ(state_of(t), TCP_TIME_WAIT);
	tt_seg(t, RST, t->snd_nxt, 0, NULL, 0);
	CHECK_EQ(state_of(t), -1);
	EXPECT_NONE(t, 10 * MS);
	tt_free(t);
}

/* A SYN with a sequence number beyond the old connection's recycles
 * TIME_WAIT into a new connection (RFC 1122 4.2.2.13, RFC 6191); an old
 * one gets the TIME_WAIT ACK. */
static void time_wait_recycled_by_syn(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 4, &TOPTS_NONE));
	CHECK_OK(us_close(t->s, t->fd));
	EXPECT_TCP(t, E_FLAGSP(FIN | ACK));
	t->rcv_nxt++;
	tt_fin(t);
	EXPECT_TCP(t, E_FLAGS(ACK));
	REQUIRE(state_of(t) == TCP_TIME_WAIT);
	uint32_t old_end = t->snd_nxt;
	tt_run(t, SEC);
	TT_SEND(t, .flags = SYN, .seq = old_end - 1000, .syn = &TOPTS_NONE);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(old_end), E_SEQ(t->rcv_nxt));
	CHECK_EQ(state_of(t), TCP_TIME_WAIT);
	tt_run(t, SEC);
	TT_SEND(t, .flags = SYN, .seq = old_end + 100000, .syn = &TOPTS_NONE);
	EXPECT_TCP(t, E_FLAGS(SYN | ACK), E_ACK(old_end + 100001));
	tt_seg(t, ACK, old_end + 100001, t->seg.seq + 1, NULL, 0);
	int fd = us_accept4(t->s, t->lfd, NULL, NULL, SOCK_NONBLOCK);
	CHECK(fd >= 0);
	CHECK_EQ(state_of(t), TCP_ESTABLISHED);
	tt_free(t);
}

/* With timestamps, a SYN with a newer TSval recycles TIME_WAIT whatever
 * its sequence number (tcp_timewait_state_process). */
static void time_wait_recycled_by_timestamp(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 5, &TOPTS_LINUX));
	CHECK_OK(us_close(t->s, t->fd));
	EXPECT_TCP(t, E_FLAGSP(FIN | ACK));
	t->rcv_nxt++;
	tt_fin(t);
	EXPECT_TCP(t, E_FLAGS(ACK));
	tt_run(t, SEC);
	TT_SEND(t, .flags = SYN, .seq = t->snd_nxt - 1000, .syn = &TOPTS_LINUX);
	EXPECT_TCP(t, E_FLAGS(SYN | ACK), E_ACK(t->snd_nxt - 999));
	tt_free(t);
}

/* The number of TIME_WAIT sockets is bounded (tcp_max_tw_buckets): past
 * it, connections close at once (TCPTimeWaitOverflow). */
static void time_wait_bounded(void)
{
	struct tt *t = &T;
	tt_init(t, 6);
	REQUIRE(tt_listen(t, 80, 16) >= 0);
	tt_tcp(t->s)->max_tw_buckets = 1;
	uint64_t ovf = ctr(t->s, "TcpExtTCPTimeWaitOverflow");
	for (int i = 0; i < 2; i++) {
		t->pport = (uint16_t)(40000 + i);
		REQUIRE(tt_passive_open(t, &TOPTS_NONE));
		CHECK_OK(us_close(t->s, t->fd));
		EXPECT_TCP(t, E_FLAGSP(FIN | ACK));
		t->rcv_nxt++;
		tt_fin(t);
		EXPECT_TCP(t, E_FLAGS(ACK));
	}
	CHECK_EQ(tt_find_state(t->s, 80, 40000), TCP_TIME_WAIT);
	CHECK_EQ(tt_find_state(t->s, 80, 40001), -1);
	CHECK_EQ(tt_count_state(t->s, TCP_TIME_WAIT), 1);
	CHECK_EQ(ctr(t->s, "TcpExtTCPTimeWaitOverflow"), ovf + 1);
	tt_free(t);
}

/* The peer closes first: our ACK of its FIN (delayed at most 200 ms),
 * CLOSE_WAIT (EOF, EPOLLIN|EPOLLRDHUP), then close() -> LAST_ACK -> the
 * final ACK closes, with no TIME_WAIT on this side. */
static void passive_close(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 7, &TOPTS_LINUX));
	tt_fin(t);
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(t->rcv_nxt), E_ACK(t->snd_nxt), E_WITHIN(200 * MS));
	CHECK_EQ(tt_state(t, t->fd), TCP_CLOSE_WAIT);
	CHECK_EQ(epoll_mask(t->s, t->fd),
		 EPOLLIN | EPOLLRDNORM | EPOLLRDHUP | EPOLLOUT | EPOLLWRNORM);
	char b[4];
	CHECK_EQ(us_recv(t->s, t->fd, b, sizeof(b), MSG_DONTWAIT), 0);
	/* Still writable in CLOSE_WAIT. */
	CHECK_EQ(us_send(t->s, t->fd, "late", 4, 0), 4);
	EXPECT_TCP(t, E_FLAGS(PSH | ACK), E_SEQ(t->rcv_nxt), E_LEN(4));
	t->rcv_nxt += 4;
	tt_ack(t);
	CHECK_OK(us_shutdown(t->s, t->fd, SHUT_WR));
	EXPECT_TCP(t, E_FLAGSP(FIN | ACK), E_SEQ(t->rcv_nxt), E_ACK(t->snd_nxt));
	CHECK_EQ(tt_state(t, t->fd), TCP_LAST_ACK);
	t->rcv_nxt++;
	tt_ack(t);
	CHECK_EQ(tt_state(t, t->fd), TCP_CLOSE);
	CHECK_EQ(tt_count_state(t->s, TCP_TIME_WAIT), 0);
	CHECK_EQ(epoll_mask(t->s, t->fd), EPOLLIN | EPOLLRDNORM | EPOLLRDHUP | EPOLLOUT |
						  EPOLLWRNORM | EPOLLHUP);
	EXPECT_NONE(t, 100 * MS);
	tt_free(t);
}

/* Both FINs cross (RFC 9293 figure 13): FIN_WAIT_1 -> (FIN) CLOSING ->
 * (ACK of our FIN) TIME_WAIT. */
static void simultaneous_close(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 8, &TOPTS_LINUX));
	CHECK_OK(us_shutdown(t->s, t->fd, SHUT_RDWR));
	EXPECT_TCP(t, E_FLAGSP(FIN | ACK), E_SEQ(t->rcv_nxt));
	tt_fin(t); /* does not acknowledge our FIN */
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(t->rcv_nxt + 1), E_ACK(t->snd_nxt), E_LEN(0));
	CHECK_EQ(tt_state(t, t->fd), TCP_CLOSING);
	t->rcv_nxt++;
	tt_ack(t);
	CHECK_EQ(state_of(t), TCP_TIME_WAIT);
	CHECK_EQ(tt_state(t, t->fd), TCP_CLOSE);
	tt_free(t);
}

/* A FIN acknowledging our FIN takes FIN_WAIT_1 straight to TIME_WAIT. */
static void fin_wait1_fin_ack(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 9, &TOPTS_LINUX));
	CHECK_OK(us_close(t->s, t->fd));
	EXPECT_TCP(t, E_FLAGSP(FIN | ACK));
	t->rcv_nxt++;
	tt_fin(t);
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(t->rcv_nxt), E_ACK(t->snd_nxt));
	CHECK_EQ(state_of(t), TCP_TIME_WAIT);
	tt_free(t);
}

/* shutdown(SHUT_WR): our FIN goes, we keep receiving (half-close); the
 * peer's FIN then ends the connection in TIME_WAIT while the handle stays
 * usable (EOF). */
static void half_close_shut_wr(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 10, &TOPTS_LINUX));
	CHECK_OK(us_shutdown(t->s, t->fd, SHUT_WR));
	EXPECT_TCP(t, E_FLAGSP(FIN | ACK), E_SEQ(t->rcv_nxt));
	CHECK_EQ(tt_state(t, t->fd), TCP_FIN_WAIT1);
	CHECK_EQ(epoll_mask(t->s, t->fd), EPOLLOUT | EPOLLWRNORM);
	CHECK_ERR(us_send(t->s, t->fd, "x", 1, MSG_NOSIGNAL), EPIPE);
	t->rcv_nxt++;
	tt_ack(t);
	CHECK_EQ(tt_state(t, t->fd), TCP_FIN_WAIT2);
	static uint8_t data[3000];
	pat_fill(data, sizeof(data), 1, 0);
	tt_data(t, data, 1448);
	tt_data(t, data + 1448, 1448);
	WAIT_ACK(t, t->snd_nxt, 200 * MS);
	static uint8_t got[3000];
	CHECK_EQ(tt_read(t, t->fd, got, sizeof(got)), 2896);
	CHECK(memcmp(got, data, 2896) == 0);
	tt_fin(t);
	WAIT_ACK(t, t->snd_nxt, 200 * MS);
	CHECK_EQ(state_of(t), TCP_TIME_WAIT);
	CHECK_EQ(tt_state(t, t->fd), TCP_CLOSE);
	CHECK_EQ(us_recv(t->s, t->fd, got, 10, MSG_DONTWAIT), 0);
	tt_free(t);
}

/* shutdown(SHUT_RD) sends nothing; reads return EOF at once, yet (as in
 * Linux) data the peer still sends is acknowledged and can be read. */
static void half_close_shut_rd(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 11, &TOPTS_LINUX));
	CHECK_OK(us_shutdown(t->s, t->fd, SHUT_RD));
	EXPECT_NONE(t, 100 * MS);
	char b[8];
	CHECK_EQ(us_recv(t->s, t->fd, b, sizeof(b), MSG_DONTWAIT), 0);
	CHECK_EQ(epoll_mask(t->s, t->fd),
		 EPOLLIN | EPOLLRDNORM | EPOLLRDHUP | EPOLLOUT | EPOLLWRNORM);
	tt_data(t, "late", 4);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(t->snd_nxt), E_WITHIN(200 * MS));
	CHECK_EQ(tt_read(t, t->fd, b, sizeof(b)), 4);
	CHECK_EQ(tt_state(t, t->fd), TCP_ESTABLISHED);
	CHECK_EQ(us_send(t->s, t->fd, "ok", 2, 0), 2);
	EXPECT_TCP(t, E_LEN(2));
	tt_free(t);
}

/* close() with data not yet read aborts: RST, no FIN (RFC 2525 2.17,
 * TCPAbortOnClose), and the connection is gone. */
static void close_with_unread_data(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 12, &TOPTS_LINUX));
	uint64_t ab = ctr(t->s, "TcpExtTCPAbortOnClose");
	tt_data(t, "unread", 6);
	tt_drain(t, 300 * MS);
	CHECK_OK(us_close(t->s, t->fd));
	EXPECT_TCP(t, E_FLAGS(RST | ACK), E_SEQ(t->rcv_nxt), E_ACK(t->snd_nxt), E_LEN(0),
		   E_WITHIN(1 * MS));
	CHECK_EQ(ctr(t->s, "TcpExtTCPAbortOnClose"), ab + 1);
	CHECK_EQ(state_of(t), -1);
	EXPECT_NONE(t, 500 * MS);
	tt_free(t);
}

/* SO_LINGER with a zero timeout: close() resets at once. */
static void linger_zero_resets(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 13, &TOPTS_LINUX));
	struct linger l = { .l_onoff = 1, .l_linger = 0 };
	CHECK_OK(us_setsockopt(t->s, t->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)));
	CHECK_EQ(us_send(t->s, t->fd, "abc", 3, 0), 3);
	EXPECT_TCP(t, E_LEN(3));
	CHECK_OK(us_close(t->s, t->fd));
	EXPECT_TCP(t, E_FLAGS(RST | ACK), E_SEQ(t->rcv_nxt + 3), E_ACK(t->snd_nxt), E_WITHIN(1 * MS));
	CHECK_EQ(state_of(t), -1);
	EXPECT_NONE(t, 2 * SEC);
	tt_free(t);
}

/* SO_LINGER with a time, over loopback (the peer answers inside the
 * blocking close): close() returns once the peer has acknowledged every
 * byte and the FIN, long before the linger time, and the connection is
 * then in FIN_WAIT_2. */
static void linger_waits_for_fin_ack(void)
{
	struct tt *t = &T;
	tt_init(t, 30);
	us_stack *s = t->s;
	int c, srv;
	REQUIRE(tt_loopback_conn(t, 7100, &c, &srv));
	struct sockaddr_in me;
	socklen_t ml = sizeof(me);
	CHECK_OK(us_getsockname(s, c, SA(&me), &ml));
	struct linger lg = { .l_onoff = 1, .l_linger = 10 };
	CHECK_OK(us_setsockopt(s, c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	static uint8_t data[60000], got[60001];
	pat_fill(data, sizeof(data), 30, 0);
	CHECK_EQ(us_send(s, c, data, sizeof(data), MSG_DONTWAIT), (long)sizeof(data));
	uint64_t t0 = tt_now(t);
	CHECK_OK(us_close(s, c));
	CHECK(tt_now(t) - t0 < 1 * SEC);
	CHECK_EQ(tt_find_state(s, ntohs(me.sin_port), 7100), TCP_FIN_WAIT2);
	CHECK_ERR(us_send(s, c, "x", 1, 0), EBADF);
	/* Everything arrived, then the end of the stream. */
	CHECK_EQ(tt_read(t, srv, got, sizeof(got)), (long)sizeof(data));
	CHECK(memcmp(got, data, sizeof(data)) == 0);
	CHECK_EQ(us_recv(s, srv, got, 1, MSG_DONTWAIT), 0);
	tt_free(t);
}

/* SO_LINGER with a time and a peer that acknowledges nothing: close()
 * blocks (even on a non-blocking socket, as on Linux) for exactly the
 * linger time while the data and FIN are retransmitted, returns 0, and
 * the orphan carries on; the peer's late ACK moves it to FIN_WAIT_2. */
static void linger_times_out(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 31, &TOPTS_LINUX));
	CHECK_OK(us_set_nonblocking(t->s, t->fd, true));
	struct linger lg = { .l_onoff = 1, .l_linger = 3 };
	CHECK_OK(us_setsockopt(t->s, t->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	CHECK_EQ(us_send(t->s, t->fd, "abc", 3, 0), 3);
	uint64_t t0 = tt_now(t);
	CHECK_OK(us_close(t->s, t->fd));
	CHECK_EQ(tt_now(t) - t0, 3 * SEC);
	CHECK_EQ(state_of(t), TCP_FIN_WAIT1);
	/* What went out while close() waited: the data, the FIN, and their
	 * retransmissions. */
	EXPECT_TCP(t, E_FLAGSP(ACK), E_SEQ(t->rcv_nxt), E_LEN(3));
	EXPECT_TCP(t, E_FLAGSP(FIN | ACK), E_SEQ(t->rcv_nxt + 3), E_LEN(0));
	CHECK(t->seg.time - t0 < 1 * MS);
	EXPECT_TCP(t, E_SEQ(t->rcv_nxt), E_LEN(3));
	CHECK(t->seg.time > t0 + 200 * MS && t->seg.time < t0 + 3 * SEC);
	t->rcv_nxt += 4;
	tt_ack(t);
	tt_drain(t, 10 * MS);
	CHECK_EQ(state_of(t), TCP_FIN_WAIT2);
	tt_fin(t);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(t->snd_nxt), E_WITHIN(1 * MS));
	CHECK_EQ(state_of(t), TCP_TIME_WAIT);
	tt_free(t);
}

/* A stack freed with a lingering socket does not wait for it. */
static void linger_not_at_teardown(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 32, &TOPTS_LINUX));
	struct linger lg = { .l_onoff = 1, .l_linger = 30 };
	CHECK_OK(us_setsockopt(t->s, t->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	CHECK_EQ(us_send(t->s, t->fd, "abc", 3, 0), 3);
	uint64_t t0 = tt_now(t);
	/* Free the stack alone; the clock and the peer stay to look at. */
	us_stack_free(t->s);
	t->sim.st[0] = NULL;
	CHECK_EQ(tt_now(t), t0);
	tt_free(t);
}

/* close() with data not yet sent: the orphan keeps sending when the
 * window opens, then FINs (the FIN rides on the last segment). */
static void close_with_unsent_data(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 14, &TOPTS_LINUX));
	tt_ackw(t, 0);
	static uint8_t data[3000];
	pat_fill(data, sizeof(data), 2, 0);
	CHECK_EQ(us_send(t->s, t->fd, data, sizeof(data), 0), 3000);
	EXPECT_NONE(t, 50 * MS);
	CHECK_OK(us_close(t->s, t->fd));
	CHECK_EQ(state_of(t), TCP_FIN_WAIT1);
	EXPECT_NONE(t, 50 * MS);
	tt_ackw(t, 1000); /* 128000 bytes with our shift of 7 */
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(t->rcv_nxt), E_LEN(1448));
	CHECK(memcmp(t->seg.data, data, 1448) == 0);
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(t->rcv_nxt + 1448), E_LEN(1448));
	EXPECT_TCP(t, E_FLAGS(FIN | PSH | ACK), E_SEQ(t->rcv_nxt + 2896), E_LEN(104));
	CHECK(memcmp(t->seg.data, data + 2896, 104) == 0);
	t->rcv_nxt += 3001;
	tt_ack(t);
	CHECK_EQ(state_of(t), TCP_FIN_WAIT2);
	tt_fin(t);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(t->snd_nxt));
	CHECK_EQ(state_of(t), TCP_TIME_WAIT);
	tt_free(t);
}

/* An orphan in FIN_WAIT_2 waits tcp_fin_timeout (60 s) for the peer's
 * FIN, then goes away silently; the peer's late FIN then gets a RST. */
static void orphan_fin_wait2_timeout(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 15, &TOPTS_LINUX));
	CHECK_OK(us_close(t->s, t->fd));
	EXPECT_TCP(t, E_FLAGSP(FIN | ACK));
	t->rcv_nxt++;
	tt_ack(t);
	CHECK_EQ(state_of(t), TCP_FIN_WAIT2);
	EXPECT_NONE(t, 59 * SEC);
	CHECK_EQ(state_of(t), TCP_FIN_WAIT2);
	EXPECT_NONE(t, 2 * SEC);
	CHECK_EQ(state_of(t), -1);
	tt_fin(t);
	EXPECT_TCP(t, E_FLAGS(RST), E_SEQ(t->rcv_nxt));
	tt_free(t);
}

/* TCP_LINGER2 sets that wait; 0 means the default (tcp_fin_timeout), a
 * negative value skips FIN_WAIT_2 with a RST. */
static void linger2_option(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 16, &TOPTS_LINUX));
	CHECK_OK(set_int_opt(t->s, t->fd, IPPROTO_TCP, TCP_LINGER2, 5));
	CHECK_OK(us_close(t->s, t->fd));
	EXPECT_TCP(t, E_FLAGSP(FIN | ACK));
	t->rcv_nxt++;
	tt_ack(t);
	tt_run(t, 4900 * MS);
	CHECK_EQ(state_of(t), TCP_FIN_WAIT2);
	tt_run(t, 200 * MS);
	CHECK_EQ(state_of(t), -1);
	tt_free(t);

	REQUIRE(established(t, 17, &TOPTS_LINUX));
	CHECK_OK(set_int_opt(t->s, t->fd, IPPROTO_TCP, TCP_LINGER2, 0));
	CHECK_EQ(get_int_opt(t->s, t->fd, IPPROTO_TCP, TCP_LINGER2), 60);
	CHECK_OK(us_close(t->s, t->fd));
	EXPECT_TCP(t, E_FLAGSP(FIN | ACK));
	t->rcv_nxt++;
	tt_ack(t);
	tt_run(t, 30 * SEC);
	CHECK_EQ(state_of(t), TCP_FIN_WAIT2);
	tt_free(t);

	REQUIRE(established(t, 18, &TOPTS_LINUX));
	CHECK_OK(set_int_opt(t->s, t->fd, IPPROTO_TCP, TCP_LINGER2, -1));
	CHECK_EQ(get_int_opt(t->s, t->fd, IPPROTO_TCP, TCP_LINGER2), -1);
	CHECK_OK(us_close(t->s, t->fd));
	EXPECT_TCP(t, E_FLAGSP(FIN | ACK));
	t->rcv_nxt++;
	tt_ack(t);
	CHECK_EQ(state_of(t), -1);
	tt_free(t);
}

/* New data for a socket whose reader is gone (after close(), or after
 * shutdown(SHUT_RD) with our FIN out) resets the connection (RFC 1122
 * 4.2.2.13, TCPAbortOnData); Linux answers the segment itself:
 * <SEQ=SEG.ACK><CTL=RST>. */
static void data_after_close_resets(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 19, &TOPTS_LINUX));
	uint64_t ab = ctr(t->s, "TcpExtTCPAbortOnData");
	CHECK_OK(us_close(t->s, t->fd));
	EXPECT_TCP(t, E_FLAGSP(FIN | ACK));
	t->rcv_nxt++;
	tt_data(t, "more", 4);
	EXPECT_TCP(t, E_FLAGS(RST), E_SEQ(t->rcv_nxt));
	CHECK_EQ(ctr(t->s, "TcpExtTCPAbortOnData"), ab + 1);
	CHECK_EQ(state_of(t), -1);
	tt_free(t);

	REQUIRE(established(t, 20, &TOPTS_LINUX));
	CHECK_OK(us_shutdown(t->s, t->fd, SHUT_RDWR));
	EXPECT_TCP(t, E_FLAGSP(FIN | ACK));
	t->rcv_nxt++;
	tt_data(t, "more", 4);
	EXPECT_TCP(t, E_FLAGS(RST), E_SEQ(t->rcv_nxt));
	CHECK_EQ(tt_state(t, t->fd), TCP_CLOSE);
	CHECK_EQ(get_int_opt(t->s, t->fd, SOL_SOCKET, SO_ERROR), ECONNRESET);
	tt_free(t);
}

/* close() in SYN_SENT sends nothing; the SYN-ACK then finds no socket. */
static void close_in_syn_sent(void)
{
	struct tt *t = &T;
	tt_init(t, 21);
	REQUIRE(tt_connect_syn(t));
	uint32_t iss = t->seg.seq;
	CHECK_OK(us_close(t->s, t->fd));
	EXPECT_NONE(t, 2 * SEC);
	TT_SEND(t, .flags = SYN | ACK, .seq = t->iss, .ack = iss + 1, .syn = &TOPTS_NONE);
	EXPECT_TCP(t, E_FLAGS(RST), E_SEQ(iss + 1));
	tt_free(t);
}

/* Closing a listener resets the connections it has not handed out yet
 * (inet_csk_listen_stop) and forgets its requests. */
static void close_listener_resets_children(void)
{
	struct tt *t = &T;
	tt_init(t, 22);
	REQUIRE(tt_listen(t, 80, 16) >= 0);
	uint32_t nxt[2], rnxt[2];
	for (int i = 0; i < 2; i++) {
		t->pport = (uint16_t)(40000 + i);
		TT_SEND(t, .flags = SYN, .seq = t->iss, .syn = &TOPTS_NONE);
		REQUIRE(EXPECT_TCP(t, E_FLAGS(SYN | ACK)));
		nxt[i] = t->iss + 1;
		rnxt[i] = t->seg.seq + 1;
		tt_seg(t, ACK, nxt[i], rnxt[i], NULL, 0);
	}
	t->pport = 40002;
	TT_SEND(t, .flags = SYN, .seq = t->iss, .syn = &TOPTS_NONE);
	REQUIRE(EXPECT_TCP(t, E_FLAGS(SYN | ACK)));
	CHECK_OK(us_close(t->s, t->lfd));
	int rsts = 0;
	while (tt_pop(t, 10 * MS)) {
		int i = t->seg.dport - 40000;
		CHECK(i == 0 || i == 1);
		if (i == 0 || i == 1) {
			CHECK_SEG(t, E_FLAGS(RST | ACK), E_SEQ(rnxt[i]), E_ACK(nxt[i]));
			rsts++;
		}
	}
	CHECK_EQ(rsts, 2);
	/* No SYN-ACK retransmission for the forgotten request. */
	EXPECT_NONE(t, 3 * SEC);
	tt_free(t);
}

/* A FIN that arrives out of order waits in the out-of-order queue and
 * takes effect when the hole is filled: everything is acknowledged, the
 * data read in order, then EOF. */
static void fin_out_of_order(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 24, &TOPTS_LINUX));
	uint32_t s0 = t->snd_nxt;
	tt_seg(t, FIN | ACK | PSH, s0 + 5, t->rcv_nxt, "world", 5);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(s0), E_WITHIN(1 * MS));
	CHECK_EQ(tt_state(t, t->fd), TCP_ESTABLISHED);
	tt_seg(t, ACK | PSH, s0, t->rcv_nxt, "hello", 5);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(s0 + 11), E_WITHIN(200 * MS));
	CHECK_EQ(tt_state(t, t->fd), TCP_CLOSE_WAIT);
	char b[16];
	CHECK_EQ(tt_read(t, t->fd, b, sizeof(b)), 10);
	CHECK(memcmp(b, "helloworld", 10) == 0);
	CHECK_EQ(us_recv(t->s, t->fd, b, sizeof(b), MSG_DONTWAIT), 0);
	/* A retransmission of the FIN is acknowledged again. */
	tt_run(t, SEC);
	tt_seg(t, FIN | ACK, s0 + 10, t->rcv_nxt, NULL, 0);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(s0 + 11), E_WITHIN(1 * MS));
	tt_free(t);
}

TEST_MAIN(T(active_close), T(fin_flags), T(time_wait_answers), T(time_wait_rst), T(time_wait_recycled_by_syn),
	  T(time_wait_recycled_by_timestamp), T(time_wait_bounded), T(passive_close),
	  T(simultaneous_close), T(fin_wait1_fin_ack), T(half_close_shut_wr), T(half_close_shut_rd),
	  T(close_with_unread_data), T(linger_zero_resets), T(linger_waits_for_fin_ack),
	  T(linger_times_out), T(linger_not_at_teardown), T(close_with_unsent_data),
	  T(orphan_fin_wait2_timeout), T(linger2_option), T(data_after_close_resets),
	  T(close_in_syn_sent), T(close_listener_resets_children), T(fin_out_of_order))
