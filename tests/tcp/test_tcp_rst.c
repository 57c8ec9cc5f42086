/*
 * Resets: what a segment for no connection gets (RFC 9293 3.10.7.1), the
 * RFC 5961 defences of a synchronized connection (RST and SYN inside the
 * window get a challenge ACK, only the exact RST resets, ACKs outside the
 * acceptable range are dropped) with the challenge-ACK rate limit, PAWS
 * (RFC 7323 5), that a RST closes exactly its own connection, and the
 * errors and counters a reset leaves (ECONNRESET then EPIPE, SO_ERROR,
 * EstabResets, CurrEstab, OutRsts).
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

/* No socket, a segment with ACK: <SEQ=SEG.ACK><CTL=RST>, window 0. */
static void no_socket_ack(void)
{
	struct tt *t = &T;
	tt_init(t, 1);
	t->sport = 81;
	uint64_t rsts = ctr(t->s, "TcpOutRsts");
	uint64_t outs = ctr(t->s, "TcpOutSegs"), ins = ctr(t->s, "TcpInSegs");
	tt_seg(t, ACK | PSH, 1000, 777777, "abc", 3);
	CHECK_EQ(ctr(t->s, "TcpInSegs"), ins + 1);
	EXPECT_TCP(t, E_FLAGS(RST), E_SEQ(777777), E_ACK(0), E_WIN(0), E_LEN(0), E_SPORT(81),
		   E_DPORT(40000), E_DOFF(20));
	CHECK_EQ(ctr(t->s, "TcpOutRsts"), rsts + 1);
	CHECK_EQ(ctr(t->s, "TcpOutSegs"), outs + 1);
	tt_free(t);
}

/* No socket, no ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, SYN and
 * FIN counting in SEG.LEN. */
static void no_socket_no_ack(void)
{
	struct tt *t = &T;
	tt_init(t, 2);
	t->sport = 81;
	TT_SEND(t, .flags = SYN, .seq = 5000, .syn = &TOPTS_LINUX);
	EXPECT_TCP(t, E_FLAGS(RST | ACK), E_SEQ(0), E_ACK(5001), E_WIN(0), E_LEN(0), E_TS(false));
	tt_seg(t, PSH, 6000, 0, "hello", 5);
	EXPECT_TCP(t, E_FLAGS(RST | ACK), E_SEQ(0), E_ACK(6005));
	tt_seg(t, SYN | FIN, 7000, 0, NULL, 0);
	EXPECT_TCP(t, E_FLAGS(RST | ACK), E_SEQ(0), E_ACK(7002));
	tt_seg(t, FIN, 8000, 0, "x", 1);
	EXPECT_TCP(t, E_FLAGS(RST | ACK), E_SEQ(0), E_ACK(8002));
	tt_seg(t, 0, 9000, 0, NULL, 0);
	EXPECT_TCP(t, E_FLAGS(RST | ACK), E_SEQ(0), E_ACK(9000));
	tt_free(t);
}

/* A RST is never answered; a segment with a bad checksum is not either,
 * and is counted (InErrs, InCsumErrors). */
static void no_socket_silent(void)
{
	struct tt *t = &T;
	tt_init(t, 3);
	t->sport = 81;
	tt_seg(t, RST, 1, 0, NULL, 0);
	tt_seg(t, RST | ACK, 1, 2, NULL, 0);
	EXPECT_NONE(t, 100 * MS);
	uint64_t inerrs = ctr(t->s, "TcpInErrs"), csum = ctr(t->s, "TcpInCsumErrors");
	TT_SEND(t, .flags = SYN, .seq = 1, .syn = &TOPTS_NONE, .bad_csum = true);
	EXPECT_NONE(t, 100 * MS);
	CHECK_EQ(ctr(t->s, "TcpInErrs"), inerrs + 1);
	CHECK_EQ(ctr(t->s, "TcpInCsumErrors"), csum + 1);
	/* A segment from a broadcast source address or to the subnet
	 * broadcast is not answered either (RFC 1122 4.2.3.10). */
	TT_SEND(t, .flags = SYN, .seq = 1, .syn = &TOPTS_NONE, .saddr = ip4("10.0.0.255").s_addr);
	EXPECT_NONE(t, 100 * MS);
	tt_free(t);
}

/* RFC 5961 3.2: a RST exactly at RCV.NXT resets the connection. */
static void rst_exact_resets(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 4, &TOPTS_LINUX));
	uint64_t resets = ctr(t->s, "TcpEstabResets");
	CHECK_EQ(ctr(t->s, "TcpCurrEstab"), 1);
	tt_seg(t, RST, t->snd_nxt, 0, NULL, 0);
	EXPECT_NONE(t, 100 * MS);
	CHECK_EQ(tt_state(t, t->fd), TCP_CLOSE);
	CHECK_EQ(ctr(t->s, "TcpEstabResets"), resets + 1);
	CHECK_EQ(ctr(t->s, "TcpCurrEstab"), 0);
	uint32_t all = EPOLLIN | EPOLLRDNORM | EPOLLRDHUP | EPOLLOUT | EPOLLWRNORM | EPOLLHUP;
	CHECK_EQ(epoll_mask(t->s, t->fd), all | EPOLLERR);
	char b[4];
	CHECK_ERR(us_recv(t->s, t->fd, b, sizeof(b), MSG_DONTWAIT), ECONNRESET);
	CHECK_EQ(epoll_mask(t->s, t->fd), all);
	CHECK_EQ(us_recv(t->s, t->fd, b, sizeof(b), MSG_DONTWAIT), 0);
	CHECK_ERR(us_send(t->s, t->fd, "x", 1, MSG_NOSIGNAL), EPIPE);
	/* The connection is gone: a segment for it gets a RST. */
	tt_seg(t, ACK, t->snd_nxt, t->rcv_nxt, NULL, 0);
	EXPECT_TCP(t, E_FLAGS(RST), E_SEQ(t->rcv_nxt));
	tt_free(t);
}

/* After a reset, the first send reports ECONNRESET, later ones EPIPE; a
 * RST|ACK works as a RST; SO_ERROR reads and clears the error. */
static void rst_errors_on_send(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 5, &TOPTS_LINUX));
	tt_seg(t, RST | ACK, t->snd_nxt, t->rcv_nxt, NULL, 0);
	CHECK_ERR(us_send(t->s, t->fd, "x", 1, MSG_NOSIGNAL), ECONNRESET);
	CHECK_ERR(us_send(t->s, t->fd, "x", 1, MSG_NOSIGNAL), EPIPE);
	CHECK_EQ(get_int_opt(t->s, t->fd, SOL_SOCKET, SO_ERROR), 0);
	tt_free(t);

	REQUIRE(established(t, 6, &TOPTS_LINUX));
	tt_seg(t, RST, t->snd_nxt, 0, NULL, 0);
	CHECK_EQ(get_int_opt(t->s, t->fd, SOL_SOCKET, SO_ERROR), ECONNRESET);
	CHECK_EQ(get_int_opt(t->s, t->fd, SOL_SOCKET, SO_ERROR), 0);
	tt_free(t);
}

/* In CLOSE_WAIT a reset reports EPIPE (tcp_reset). */
static void rst_in_close_wait(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 7, &TOPTS_LINUX));
	uint64_t resets = ctr(t->s, "TcpEstabResets");
	tt_fin(t);
	tt_drain(t, 300 * MS);
	CHECK_EQ(tt_state(t, t->fd), TCP_CLOSE_WAIT);
	tt_seg(t, RST, t->snd_nxt, 0, NULL, 0);
	CHECK_EQ(tt_state(t, t->fd), TCP_CLOSE);
	CHECK_EQ(ctr(t->s, "TcpEstabResets"), resets + 1);
	CHECK_ERR(us_send(t->s, t->fd, "x", 1, MSG_NOSIGNAL), EPIPE);
	tt_free(t);
}

/* RFC 5961 3.2: a RST inside the window but not at RCV.NXT gets a
 * challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT> and changes nothing. */
static void rst_in_window_challenge(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 8, &TOPTS_LINUX));
	uint64_t ch = ctr(t->s, "TcpExtTCPChallengeACK");
	tt_seg(t, RST, t->snd_nxt + 100, 0, NULL, 0);
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(t->rcv_nxt), E_ACK(t->snd_nxt), E_LEN(0), E_TS(true));
	CHECK_EQ(ctr(t->s, "TcpExtTCPChallengeACK"), ch + 1);
	CHECK_EQ(tt_state(t, t->fd), TCP_ESTABLISHED);
	/* The challenged peer answers with the exact sequence number. */
	tt_run(t, 600 * MS);
	tt_seg(t, RST, t->snd_nxt, 0, NULL, 0);
	CHECK_EQ(tt_state(t, t->fd), TCP_CLOSE);
	tt_free(t);
}

/* A RST outside the window is dropped without an answer. */
static void rst_out_of_window_dropped(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 9, &TOPTS_LINUX));
	tt_seg(t, RST, t->snd_nxt + 10000000, 0, NULL, 0);
	tt_seg(t, RST, t->snd_nxt - 10, 0, NULL, 0);
	EXPECT_NONE(t, 100 * MS);
	CHECK_EQ(tt_state(t, t->fd), TCP_ESTABLISHED);
	tt_free(t);
}

/* RFC 5961 4.2: a SYN on a synchronized connection, in the window or not,
 * gets a challenge ACK; the connection stays. */
static void syn_in_established_challenge(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 10, &TOPTS_LINUX));
	uint64_t sc = ctr(t->s, "TcpExtTCPSYNChallenge");
	TT_SEND(t, .flags = SYN, .seq = t->snd_nxt + 50, .syn = &TOPTS_LINUX);
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(t->rcv_nxt), E_ACK(t->snd_nxt), E_LEN(0));
	CHECK_EQ(ctr(t->s, "TcpExtTCPSYNChallenge"), sc + 1);
	CHECK_EQ(tt_state(t, t->fd), TCP_ESTABLISHED);
	tt_run(t, 600 * MS);
	TT_SEND(t, .flags = SYN, .seq = t->snd_nxt - 100000, .syn = &TOPTS_LINUX);
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(t->rcv_nxt), E_ACK(t->snd_nxt), E_LEN(0));
	tt_run(t, 600 * MS);
	TT_SEND(t, .flags = SYN | ACK, .seq = t->snd_nxt, .ack = t->rcv_nxt, .syn = &TOPTS_LINUX);
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(t->rcv_nxt), E_ACK(t->snd_nxt), E_LEN(0));
	CHECK_EQ(tt_state(t, t->fd), TCP_ESTABLISHED);
	/* The connection still works. */
	tt_data(t, "abc", 3);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(t->snd_nxt));
	tt_free(t);
}

/* Challenge ACKs are rate limited per connection (tcp_invalid_ratelimit,
 * 500 ms; TCPACKSkippedChallenge counts what was not sent). */
static void challenge_ack_rate_limit(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 11, &TOPTS_LINUX));
	uint64_t skipped = ctr(t->s, "TcpExtTCPACKSkippedChallenge");
	tt_seg(t, RST, t->snd_nxt + 100, 0, NULL, 0);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(t->snd_nxt));
	tt_run(t, 100 * MS);
	tt_seg(t, RST, t->snd_nxt + 100, 0, NULL, 0);
	TT_SEND(t, .flags = SYN, .seq = t->snd_nxt + 50, .syn = &TOPTS_LINUX);
	EXPECT_NONE(t, 300 * MS);
	CHECK_EQ(ctr(t->s, "TcpExtTCPACKSkippedChallenge"), skipped + 2);
	tt_run(t, 200 * MS);
	tt_seg(t, RST, t->snd_nxt + 100, 0, NULL, 0);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(t->snd_nxt));
	tt_free(t);
}

/* The stack-wide challenge-ACK budget (tcp_challenge_ack_limit per
 * second) bounds challenges across connections. */
static void challenge_ack_global_limit(void)
{
	struct tt *t = &T;
	tt_init(t, 12);
	REQUIRE(tt_listen(t, 80, 16) >= 0);
	tt_tcp(t->s)->challenge_ack_limit = 2;
	uint32_t nxt[3], rnxt[3];
	for (int i = 0; i < 3; i++) {
		t->pport = (uint16_t)(40000 + i);
		REQUIRE(tt_passive_open(t, &TOPTS_NONE));
		nxt[i] = t->snd_nxt;
		rnxt[i] = t->rcv_nxt;
	}
	tt_run(t, 1000 * MS - tt_now(t) % (1000 * MS) + 10 * MS);
	int answered = 0;
	for (int i = 0; i < 3; i++) {
		TT_SEND(t, .flags = RST, .seq = nxt[i] + 10, .sport = (uint16_t)(40000 + i));
		if (tt_pop(t, 10 * MS)) {
			CHECK_SEG(t, E_FLAGS(ACK), E_ACK(nxt[i]), E_SEQ(rnxt[i]));
			answered++;
		}
	}
	/* Linux draws the budget at random in [limit/2, limit] each second
	 * (CVE-2016-5696), so one or two of the three. */
	CHECK(answered >= 1 && answered <= 2);
	tt_free(t);
}

/* Linux has had no stack-wide budget by default since 6.0
 * (tcp_challenge_ack_limit = INT_MAX): a fixed global count is the side
 * channel of CVE-2016-5696. 1100 connections challenged within one
 * second all get their challenge ACK. */
static void challenge_ack_no_global_limit_by_default(void)
{
	struct tt *t = &T;
	tt_init(t, 18);
	REQUIRE(tt_listen(t, 80, 4096) >= 0);
	enum { N = 1100 };
	static uint32_t nxt[N];
	for (int i = 0; i < N; i++) {
		t->pport = (uint16_t)(20000 + i);
		REQUIRE(tt_passive_open(t, &TOPTS_NONE));
		nxt[i] = t->snd_nxt;
	}
	tt_run(t, 1000 * MS - tt_now(t) % (1000 * MS) + 10 * MS);
	int answered = 0;
	for (int i = 0; i < N; i++) {
		TT_SEND(t, .flags = RST, .seq = nxt[i] + 10, .sport = (uint16_t)(20000 + i));
		if (tt_pop(t, 0))
			answered++;
	}
	CHECK_EQ(answered, N);
	tt_free(t);
}

/* RFC 5961 5.2: an ACK beyond SND.NXT is not accepted (nothing of it is
 * used) and gets an ACK back. */
static void ack_too_new(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 13, &TOPTS_LINUX));
	CHECK_EQ(us_send(t->s, t->fd, "0123456789", 10, 0), 10);
	EXPECT_TCP(t, E_LEN(10), E_SEQ(t->rcv_nxt));
	tt_seg(t, ACK, t->snd_nxt, t->rcv_nxt + 5000, NULL, 0);
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(t->rcv_nxt + 10), E_ACK(t->snd_nxt), E_LEN(0));
	struct tcp_info ti = tt_info(t, t->fd);
	CHECK_EQ(ti.tcpi_unacked, 1);
	/* Data riding on such an ACK is dropped with it. */
	tt_run(t, 600 * MS);
	tt_seg(t, ACK | PSH, t->snd_nxt, t->rcv_nxt + 5000, "zz", 2);
	tt_drain(t, 10 * MS);
	char b[4];
	CHECK_ERR(us_recv(t->s, t->fd, b, sizeof(b), MSG_DONTWAIT), EAGAIN);
	tt_free(t);
}

/* RFC 5961 5.2: SND.UNA - MAX.SND.WND <= SEG.ACK; an older ACK gets a
 * challenge ACK. Linux bounds MAX.SND.WND by the bytes acknowledged so
 * far (tcp_ack), so on a fresh connection any ACK below SND.UNA is. */
static void ack_too_old(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 14, &TOPTS_LINUX));
	uint64_t ch = ctr(t->s, "TcpExtTCPChallengeACK");
	tt_seg(t, ACK | PSH, t->snd_nxt, t->rcv_nxt - 1, "ab", 2);
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(t->rcv_nxt), E_ACK(t->snd_nxt), E_LEN(0));
	CHECK_EQ(ctr(t->s, "TcpExtTCPChallengeACK"), ch + 1);
	tt_run(t, 600 * MS);
	tt_seg(t, ACK, t->snd_nxt, t->rcv_nxt - 100000, NULL, 0);
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(t->rcv_nxt), E_ACK(t->snd_nxt), E_LEN(0));
	char b[4];
	CHECK_ERR(us_recv(t->s, t->fd, b, sizeof(b), MSG_DONTWAIT), EAGAIN);
	tt_free(t);
}

/* A segment outside the receive window gets a duplicate ACK and is not
 * used; the answers are rate limited too. */
static void out_of_window_data(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 15, &TOPTS_LINUX));
	tt_seg(t, ACK | PSH, t->snd_nxt + 10000000, t->rcv_nxt, "x", 1);
	EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(t->rcv_nxt), E_ACK(t->snd_nxt), E_LEN(0));
	tt_seg(t, ACK | PSH, t->snd_nxt + 10000000, t->rcv_nxt, "x", 1);
	EXPECT_NONE(t, 100 * MS);
	char b[4];
	CHECK_ERR(us_recv(t->s, t->fd, b, sizeof(b), MSG_DONTWAIT), EAGAIN);
	CHECK_EQ(tt_state(t, t->fd), TCP_ESTABLISHED);
	tt_free(t);
}

/* PAWS (RFC 7323 5.3): a segment whose TSval is older than TS.Recent is
 * dropped with a duplicate ACK (PAWSEstab); a RST is exempt. */
static void paws_rejects_old_timestamp(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 16, &TOPTS_LINUX));
	uint64_t paws = ctr(t->s, "TcpExtPAWSEstab");
	tt_run(t, 10 * MS);
	tt_data(t, "new", 3);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(t->snd_nxt), E_TSECR(tt_tsval(t)));
	TT_SEND(t, .flags = ACK | PSH, .seq = t->snd_nxt, .ack = t->rcv_nxt, .data = "old", .len = 3,
		.ts = 1, .tsval = tt_tsval(t) - 1000, .tsecr = t->ts_recent);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(t->snd_nxt), E_LEN(0));
	CHECK_EQ(ctr(t->s, "TcpExtPAWSEstab"), paws + 1);
	char b[8];
	CHECK_EQ(tt_read(t, t->fd, b, sizeof(b)), 3);
	CHECK(memcmp(b, "new", 3) == 0);
	TT_SEND(t, .flags = RST, .seq = t->snd_nxt, .ts = 1, .tsval = tt_tsval(t) - 1000);
	CHECK_EQ(tt_state(t, t->fd), TCP_CLOSE);
	tt_free(t);
}

/* A RST closes exactly the connection of its 4-tuple. */
static void rst_closes_only_its_connection(void)
{
	struct tt *t = &T;
	tt_init(t, 17);
	REQUIRE(tt_listen(t, 80, 16) >= 0);
	int fds[3];
	uint32_t nxt[3];
	for (int i = 0; i < 3; i++) {
		t->pport = (uint16_t)(40000 + i);
		REQUIRE(tt_passive_open(t, &TOPTS_NONE));
		fds[i] = t->fd;
		nxt[i] = t->snd_nxt;
	}
	TT_SEND(t, .flags = RST, .seq = nxt[1], .sport = 40001);
	CHECK_EQ(tt_state(t, fds[0]), TCP_ESTABLISHED);
	CHECK_EQ(tt_state(t, fds[1]), TCP_CLOSE);
	CHECK_EQ(tt_state(t, fds[2]), TCP_ESTABLISHED);
	CHECK_EQ(ctr(t->s, "TcpCurrEstab"), 2);
	/* The same ports from another address reset nothing. */
	TT_SEND(t, .flags = RST, .seq = nxt[2], .sport = 40002, .saddr = ip4("10.0.0.3").s_addr);
	CHECK_EQ(tt_state(t, fds[2]), TCP_ESTABLISHED);
	/* Nor does a RST to the listener. */
	TT_SEND(t, .flags = RST, .seq = nxt[0], .sport = 40009);
	CHECK_EQ(tt_state(t, t->lfd), TCP_LISTEN);
	tt_free(t);
}

/* RFC 9293 3.10.7.4 fifth: a segment without ACK on a synchronized
 * connection is dropped silently (its data not used). */
static void no_ack_flag_dropped(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 19, &TOPTS_LINUX));
	tt_seg(t, PSH, t->snd_nxt, 0, "xyz", 3);
	EXPECT_NONE(t, 300 * MS);
	char b[4];
	CHECK_ERR(us_recv(t->s, t->fd, b, sizeof(b), MSG_DONTWAIT), EAGAIN);
	tt_data(t, "abc", 3);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(t->snd_nxt));
	CHECK_EQ(tt_read(t, t->fd, b, sizeof(b)), 3);
	CHECK(memcmp(b, "abc", 3) == 0);
	tt_free(t);
}

TEST_MAIN(T(no_socket_ack), T(no_socket_no_ack), T(no_socket_silent), T(rst_exact_resets),
	  T(rst_errors_on_send), T(rst_in_close_wait), T(rst_in_window_challenge),
	  T(rst_out_of_window_dropped), T(syn_in_established_challenge),
	  T(challenge_ack_rate_limit), T(challenge_ack_global_limit), T(challenge_ack_no_global_limit_by_default), T(ack_too_new), T(ack_too_old),
	  T(out_of_window_data), T(paws_rejects_old_timestamp), T(rst_closes_only_its_connection),
	  T(no_ack_flag_dropped))
