/*
 * Data transfer: segmentation to the effective MSS, Nagle (RFC 896 with
 * Minshall's refinement) and TCP_NODELAY, TCP_CORK and MSG_MORE, delayed
 * ACKs (RFC 1122 4.2.3.2, RFC 5681 4.2: every second full segment, at
 * most 200 ms, quick ACKs at the start and after loss), SACK blocks for
 * out-of-order data (RFC 2018), the out-of-order queue bounded by the
 * window, receiver and sender silly-window avoidance (RFC 1122 4.2.3.3,
 * 4.2.3.4), window updates, zero-window probing (RFC 9293 3.8.6.1),
 * header prediction counters, timestamps echo (RFC 7323 4.3), urgent
 * data (RFC 6093: inline, MSG_OOB reads are EINVAL).
 */
#include "tcptest.h"

static struct tt T;

static uint8_t buf[200000];
static uint8_t got[200000];

static bool established(struct tt *t, uint64_t seed, const struct topts *o)
{
	tt_init(t, seed);
	if (tt_listen(t, 80, 16) < 0)
		return false;
	return tt_passive_open(t, o);
}

/* Writes are cut to the effective MSS: the peer's MSS less the 12 bytes
 * of the timestamp option; only the last segment of the write has PSH. */
static void segmentation_to_mss(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 1, &TOPTS_LINUX));
	pat_fill(buf, 10000, 1, 0);
	CHECK_EQ(us_send(t->s, t->fd, buf, 10000, 0), 10000);
	size_t off = 0;
	for (int i = 0; i < 7; i++) {
		size_t want = i < 6 ? 1448 : 10000 - 6 * 1448;
		if (!EXPECT_TCP(t, E_FLAGS(i < 6 ? ACK : PSH | ACK), E_SEQ(t->rcv_nxt + off),
				E_LEN(want), E_WITHIN(1 * MS)))
			break;
		CHECK(memcmp(t->seg.data, buf + off, want) == 0);
		off += want;
	}
	tt_free(t);

	struct topts o = TOPTS_NONE;
	o.mss = 536;
	REQUIRE(established(t, 2, &o));
	CHECK_EQ(us_send(t->s, t->fd, buf, 2000, 0), 2000);
	EXPECT_TCP(t, E_LEN(536), E_DOFF(20));
	EXPECT_TCP(t, E_LEN(536));
	EXPECT_TCP(t, E_LEN(536));
	EXPECT_TCP(t, E_FLAGS(PSH | ACK), E_LEN(2000 - 3 * 536));
	tt_free(t);
}

/* Nagle: a small segment waits while an earlier small one is
 * unacknowledged; full segments go; the ACK of the small one releases
 * the rest (Minshall). TCP_NODELAY sends at once and pushes what waits. */
static void nagle(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 3, &TOPTS_LINUX));
	uint32_t s0 = t->rcv_nxt;
	CHECK_EQ(us_send(t->s, t->fd, "x", 1, 0), 1);
	EXPECT_TCP(t, E_SEQ(s0), E_LEN(1), E_WITHIN(1 * MS));
	CHECK_EQ(us_send(t->s, t->fd, "y", 1, 0), 1);
	EXPECT_NONE(t, 50 * MS);
	CHECK_EQ(us_send(t->s, t->fd, buf, 2000, 0), 2000);
	EXPECT_TCP(t, E_SEQ(s0 + 1), E_LEN(1448), E_WITHIN(1 * MS));
	EXPECT_NONE(t, 50 * MS);
	t->rcv_nxt = s0 + 1;
	tt_ack(t);
	EXPECT_TCP(t, E_FLAGS(PSH | ACK), E_SEQ(s0 + 1449), E_LEN(553), E_WITHIN(1 * MS));
	/* Another small write waits for that small segment. */
	CHECK_EQ(us_send(t->s, t->fd, "z", 1, 0), 1);
	EXPECT_NONE(t, 50 * MS);
	CHECK_OK(set_int_opt(t->s, t->fd, IPPROTO_TCP, TCP_NODELAY, 1));
	EXPECT_TCP(t, E_SEQ(s0 + 2002), E_LEN(1), E_WITHIN(1 * MS));
	CHECK_EQ(us_send(t->s, t->fd, "w", 1, 0), 1);
	EXPECT_TCP(t, E_SEQ(s0 + 2003), E_LEN(1), E_WITHIN(1 * MS));
	tt_free(t);
}

/* TCP_CORK holds partial segments (full ones go) until uncorked, or at
 * most about 200 ms (man 7 tcp). */
static void cork(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 4, &TOPTS_LINUX));
	uint32_t s0 = t->rcv_nxt;
	CHECK_OK(set_int_opt(t->s, t->fd, IPPROTO_TCP, TCP_CORK, 1));
	CHECK_EQ(us_send(t->s, t->fd, buf, 100, 0), 100);
	EXPECT_NONE(t, 150 * MS);
	EXPECT_TCP(t, E_SEQ(s0), E_LEN(100), E_WITHIN(100 * MS));
	t->rcv_nxt = s0 + 100;
	tt_ack(t);
	CHECK_EQ(us_send(t->s, t->fd, buf, 3000, 0), 3000);
	EXPECT_TCP(t, E_SEQ(s0 + 100), E_LEN(1448), E_WITHIN(1 * MS));
	EXPECT_TCP(t, E_SEQ(s0 + 1548), E_LEN(1448), E_WITHIN(1 * MS));
	EXPECT_NONE(t, 50 * MS);
	CHECK_OK(set_int_opt(t->s, t->fd, IPPROTO_TCP, TCP_CORK, 0));
	EXPECT_TCP(t, E_SEQ(s0 + 2996), E_LEN(104), E_WITHIN(1 * MS));
	tt_free(t);
}

/* MSG_MORE corks one write: the next write without it goes out with it
 * in one segment (tcp_sendmsg's TCP_NAGLE_CORK for this push). */
static void msg_more(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 5, &TOPTS_LINUX));
	CHECK_EQ(us_send(t->s, t->fd, buf, 100, MSG_MORE), 100);
	EXPECT_NONE(t, 100 * MS);
	CHECK_EQ(us_send(t->s, t->fd, buf, 100, 0), 100);
	EXPECT_TCP(t, E_SEQ(t->rcv_nxt), E_LEN(200), E_WITHIN(1 * MS));
	tt_free(t);
}

/* Sends 1-byte segments until one is not acknowledged at once; returns
 * how many were (the quick ACKs), the last ACK popped. */
static int quick_acks(struct tt *t)
{
	int n = 0;
	for (; n < 40; n++) {
		tt_data(t, "q", 1);
		if (!tt_pop(t, 1 * MS))
			break;
		CHECK_SEG(t, E_FLAGS(ACK), E_ACK(t->snd_nxt));
	}
	uint64_t t0 = tt_now(t);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(t->snd_nxt), E_WITHIN(200 * MS));
	CHECK(t->seg.time - t0 >= 30 * MS);
	return n;
}

/* Delayed ACKs: quick ACKs at the start (up to 16), then a lone small
 * segment waits 40..200 ms, and two full-size segments are acknowledged
 * at once (RFC 5681 4.2, "at least every second full-size segment"). */
static void delayed_ack(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 6, &TOPTS_LINUX));
	uint64_t dacks = ctr(t->s, "TcpExtDelayedACKs");
	int q = quick_acks(t);
	CHECK(q >= 2 && q <= 16);
	CHECK(ctr(t->s, "TcpExtDelayedACKs") > dacks);
	/* One full segment: held. Two: acknowledged at once. */
	tt_data(t, buf, 1448);
	EXPECT_NONE(t, 5 * MS);
	tt_data(t, buf, 1448);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(t->snd_nxt), E_WITHIN(1 * MS));
	/* The delay never exceeds 200 ms, whatever the ato grew to. */
	for (int i = 0; i < 5; i++) {
		tt_run(t, 500 * MS);
		tt_data(t, "d", 1);
		uint64_t t0 = tt_now(t);
		if (!EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(t->snd_nxt), E_WITHIN(1 * SEC)))
			break;
		CHECK(t->seg.time - t0 <= 200 * MS);
	}
	tt_free(t);
}

/* RFC 7323 4.3: with delayed ACKs, the TSecr echoes the earliest
 * unacknowledged segment's TSval. */
static void timestamp_echo(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 7, &TOPTS_LINUX));
	quick_acks(t);
	uint32_t first = tt_tsval(t);
	tt_data(t, "a", 1);
	tt_run(t, 5 * MS);
	tt_data(t, "b", 1);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(t->snd_nxt), E_TSECR(first), E_WITHIN(200 * MS));
	tt_free(t);
}

/* Out-of-order data: a duplicate ACK at once carrying a SACK block for
 * what was received (RFC 2018 4, RFC 5681 4.2); the segment filling the
 * hole is acknowledged at once, covering everything. */
static void out_of_order(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 8, &TOPTS_LINUX));
	quick_acks(t);
	uint32_t s0 = t->snd_nxt;
	pat_fill(buf, 3000, 3, 0);
	uint64_t ofo = ctr(t->s, "TcpExtTCPOFOQueue");
	tt_seg(t, ACK | PSH, s0 + 1000, t->rcv_nxt, buf + 1000, 1000);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(s0), E_LEN(0), E_WITHIN(1 * MS));
	CHECK_EQ(ctr(t->s, "TcpExtTCPOFOQueue"), ofo + 1);
	tt_seg(t, ACK | PSH, s0 + 2500, t->rcv_nxt, buf + 2500, 500);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(s0), E_WITHIN(1 * MS));
	tt_seg(t, ACK, s0, t->rcv_nxt, buf, 1000);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(s0 + 2000), E_WITHIN(1 * MS));
	tt_seg(t, ACK, s0 + 2000, t->rcv_nxt, buf + 2000, 500);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(s0 + 3000), E_WITHIN(1 * MS));
	t->snd_nxt = s0 + 3000;
	uint8_t *g = got;
	long n = tt_read(t, t->fd, g, sizeof(got));
	/* The 1-byte segments of quick_acks() come first. */
	REQUIRE(n >= 3000);
	CHECK(memcmp(g + n - 3000, buf, 3000) == 0);
	tt_free(t);
}

static void sack_blocks(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 9, &TOPTS_LINUX));
	uint32_t s0 = t->snd_nxt;
	tt_seg(t, ACK | PSH, s0 + 1000, t->rcv_nxt, buf, 1000);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(s0), E_NSACKS(1), E_SACK0(s0 + 1000, s0 + 2000));
	tt_seg(t, ACK | PSH, s0 + 3000, t->rcv_nxt, buf, 500);
	/* The most recent block first (RFC 2018 4). */
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(s0), E_NSACKS(2), E_SACK0(s0 + 3000, s0 + 3500));
	tt_free(t);

	/* Without SACK-permitted, no SACK blocks. */
	struct topts o = TOPTS_LINUX;
	o.sack_perm = false;
	REQUIRE(established(t, 10, &o));
	s0 = t->snd_nxt;
	tt_seg(t, ACK | PSH, s0 + 1000, t->rcv_nxt, buf, 1000);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(s0), E_NSACKS(0));
	tt_free(t);
}

/* The out-of-order queue holds only what fits the window offered: a
 * segment beyond it is dropped (and answered), never queued. */
static void ooo_bounded_by_window(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 11, &TOPTS_LINUX));
	uint32_t s0 = t->snd_nxt;
	uint32_t wnd = (uint32_t)t->seg.win << t->rcv_ws; /* of the last ACK we saw */
	tt_data(t, buf, 10);
	EXPECT_TCP(t, E_FLAGS(ACK));
	wnd = (uint32_t)t->seg.win << t->rcv_ws;
	REQUIRE(wnd > 3000 && wnd < 1000000);
	pat_fill(buf, 3000, 4, 0);
	/* Beyond the window: dropped with an ACK. */
	tt_seg(t, ACK | PSH, s0 + 10 + wnd + 100, t->rcv_nxt, buf, 1000);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(s0 + 10), E_WITHIN(1 * MS));
	/* Inside the window: queued. */
	tt_seg(t, ACK | PSH, s0 + 10 + 1000, t->rcv_nxt, buf + 1000, 1000);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(s0 + 10), E_WITHIN(1 * MS));
	tt_seg(t, ACK | PSH, s0 + 10, t->rcv_nxt, buf, 1000);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(s0 + 2010), E_WITHIN(1 * MS));
	long n = tt_read(t, t->fd, got, sizeof(got));
	CHECK_EQ(n, 2010);
	CHECK(memcmp(got + 10, buf, 2000) == 0);
	tt_free(t);
}

/* A small receive buffer: the window closes as data queues up (zero
 * window, TCPToZeroWindowAdv); data beyond it is dropped; reading a few
 * bytes does not reopen it by a sliver (receiver SWS avoidance, RFC 1122
 * 4.2.3.3); reading everything sends a window update at once. */
static void receive_window_and_updates(void)
{
	struct tt *t = &T;
	tt_init(t, 12);
	int l = us_socket(t->s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK_OK(set_int_opt(t->s, l, SOL_SOCKET, SO_RCVBUF, 8192));
	struct sockaddr_in a = sin4(STACK_IP, 80);
	CHECK_OK(us_bind(t->s, l, SA(&a), sizeof(a)));
	CHECK_OK(us_listen(t->s, l, 4));
	t->lfd = l;
	t->sport = 80;
	struct topts o = TOPTS_LINUX;
	o.wscale = -1;
	REQUIRE(tt_passive_open(t, &o));
	uint32_t offered = t->seg.win;
	CHECK(offered > 0 && offered <= 16384);
	uint64_t tozero = ctr(t->s, "TcpExtTCPToZeroWindowAdv");
	/* Fill what is offered, segment by segment, as the peer would. */
	uint32_t right = t->snd_nxt + offered;
	size_t sent = 0;
	pat_fill(buf, 100000, 5, 0);
	for (int i = 0; i < 100 && before(t->snd_nxt, right); i++) {
		uint32_t n = right - t->snd_nxt < 1000 ? right - t->snd_nxt : 1000;
		tt_data(t, buf + sent, n);
		sent += n;
		while (tt_pop(t, 1 * MS)) {
			if (t->seg.flags & ACK)
				right = t->seg.ack + t->seg.win;
		}
		if (t->seg.win == 0 && t->seg.ack == t->snd_nxt)
			break;
	}
	tt_drain(t, 300 * MS);
	CHECK_SEG(t, E_FLAGS(ACK), E_ACK(t->snd_nxt), E_WIN(0));
	CHECK(ctr(t->s, "TcpExtTCPToZeroWindowAdv") > tozero);
	/* Beyond the zero window: not taken. */
	tt_data(t, buf + sent, 100);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(t->snd_nxt - 100), E_WIN(0));
	t->snd_nxt -= 100;
	/* A sliver read: no window update. */
	CHECK_EQ(us_recv(t->s, t->fd, got, 10, 0), 10);
	EXPECT_NONE(t, 300 * MS);
	/* Everything read: a window update with at least an MSS. */
	long n = tt_read(t, t->fd, got + 10, sizeof(got) - 10);
	CHECK_EQ(n + 10, (long)sent);
	CHECK(memcmp(got, buf, sent) == 0);
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(t->snd_nxt), E_WITHIN(1 * MS));
	CHECK(t->seg.win >= 1448);
	tt_free(t);
}

/* A zero window: the persist timer probes with <SEQ=SND.UNA-1> (no data)
 * at RTO, backing off exponentially; answered probes keep the connection
 * alive indefinitely; the window opening releases the data at once. */
static void zero_window_probe(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 13, &TOPTS_LINUX));
	uint64_t probes = ctr(t->s, "TcpExtTCPWinProbe");
	tt_ackw(t, 0);
	uint64_t rto = (uint64_t)tt_info(t, t->fd).tcpi_rto * 1000;
	uint64_t t0 = tt_now(t);
	CHECK_EQ(us_send(t->s, t->fd, buf, 2000, 0), 2000);
	uint64_t last = t0, prev_gap = 0;
	for (int i = 0; i < 20; i++) {
		if (!EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(t->rcv_nxt - 1), E_LEN(0), E_WITHIN(200 * SEC)))
			break;
		uint64_t gap = t->seg.time - last;
		if (i == 0)
			CHECK(gap >= rto && gap <= rto + 10 * MS);
		else if (gap < 120 * SEC)
			CHECK(gap == 2 * prev_gap);
		else
			CHECK(gap == 120 * SEC); /* TCP_RTO_MAX */
		prev_gap = gap;
		last = t->seg.time;
		tt_ackw(t, 0);
	}
	CHECK_EQ(ctr(t->s, "TcpExtTCPWinProbe"), probes + 20);
	CHECK_EQ(tt_state(t, t->fd), TCP_ESTABLISHED);
	tt_ackw(t, 1000);
	EXPECT_TCP(t, E_SEQ(t->rcv_nxt), E_LEN(1448), E_WITHIN(1 * MS));
	EXPECT_TCP(t, E_SEQ(t->rcv_nxt + 1448), E_LEN(552), E_WITHIN(1 * MS));
	tt_free(t);
}

/* Sender SWS avoidance (RFC 1122 4.2.3.4): a window much smaller than the
 * largest offered is not filled with a tiny segment at once, but the
 * override timeout (Linux: the persist timer's tcp_write_wakeup) sends
 * what fits, so the transfer never stalls on a small window. */
static void sender_sws(void)
{
	struct tt *t = &T;
	struct topts o = TOPTS_LINUX;
	o.wscale = -1;
	REQUIRE(established(t, 14, &o));
	tt_ackw(t, 60000);
	CHECK_EQ(us_send(t->s, t->fd, buf, 1448, 0), 1448);
	EXPECT_TCP(t, E_LEN(1448));
	t->rcv_nxt += 1448;
	tt_ackw(t, 100);
	CHECK_EQ(us_send(t->s, t->fd, buf, 3000, 0), 3000);
	EXPECT_NONE(t, 100 * MS);
	EXPECT_TCP(t, E_SEQ(t->rcv_nxt), E_LEN(100), E_WITHIN(2 * SEC));
	tt_free(t);
}

/* Header prediction: in-order data and pure ACKs of an established
 * connection take the fast path (TCPHPHits, TCPHPAcks). */
static void header_prediction(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 15, &TOPTS_LINUX));
	uint64_t hits = ctr(t->s, "TcpExtTCPHPHits"), acks = ctr(t->s, "TcpExtTCPHPAcks");
	for (int i = 0; i < 10; i++) {
		tt_data(t, buf, 1448);
		tt_drain(t, 1 * MS);
	}
	CHECK(ctr(t->s, "TcpExtTCPHPHits") >= hits + 8);
	CHECK_EQ(tt_read(t, t->fd, got, sizeof(got)), 14480);
	for (int i = 0; i < 5; i++) {
		CHECK_EQ(us_send(t->s, t->fd, buf, 1448, 0), 1448);
		EXPECT_TCP(t, E_LEN(1448));
		t->rcv_nxt += 1448;
		tt_ack(t);
	}
	CHECK(ctr(t->s, "TcpExtTCPHPAcks") >= acks + 4);
	tt_free(t);
}

/* Urgent data (RFC 6093): the pointer is parsed, the data stays inline
 * in the stream, and recv(MSG_OOB) is EINVAL. Sending with MSG_OOB marks
 * the segment URG with the pointer to the byte after the urgent data,
 * also on a retransmission. */
static void urgent_data(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 16, &TOPTS_LINUX));
	TT_SEND(t, .flags = ACK | PSH | URG, .seq = t->snd_nxt, .ack = t->rcv_nxt, .data = "abc",
		.len = 3, .urg = 3);
	t->snd_nxt += 3;
	EXPECT_TCP(t, E_FLAGS(ACK), E_ACK(t->snd_nxt), E_WITHIN(200 * MS));
	char b[8];
	CHECK_ERR(us_recv(t->s, t->fd, b, sizeof(b), MSG_OOB | MSG_DONTWAIT), EINVAL);
	CHECK_EQ(tt_read(t, t->fd, b, sizeof(b)), 3);
	CHECK(memcmp(b, "abc", 3) == 0);
	CHECK_EQ(us_send(t->s, t->fd, "xy!", 3, MSG_OOB), 3);
	EXPECT_TCP(t, E_FLAGS(URG | PSH | ACK), E_SEQ(t->rcv_nxt), E_LEN(3), E_URG(3));
	EXPECT_TCP(t, E_FLAGS(URG | PSH | ACK), E_SEQ(t->rcv_nxt), E_LEN(3), E_URG(3), E_WITHIN(2 * SEC));
	t->rcv_nxt += 3;
	tt_ack(t);
	CHECK_EQ(us_send(t->s, t->fd, "n", 1, 0), 1);
	EXPECT_TCP(t, E_FLAGS(PSH | ACK), E_LEN(1), E_URG(0));
	tt_free(t);
}

/* An ACK owed rides on the data we send (no separate pure ACK). */
static void ack_piggybacked(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 17, &TOPTS_LINUX));
	quick_acks(t);
	tt_data(t, "request", 7);
	CHECK_EQ(us_send(t->s, t->fd, "response", 8, 0), 8);
	EXPECT_TCP(t, E_FLAGS(PSH | ACK), E_ACK(t->snd_nxt), E_LEN(8), E_WITHIN(1 * MS));
	t->rcv_nxt += 8;
	tt_ack(t);
	EXPECT_NONE(t, 300 * MS); /* no ACK of the request left to send */
	tt_free(t);
}

/* Sequence numbers wrap: the peer's ISS just below 2^32. */
static void sequence_wraparound(void)
{
	struct tt *t = &T;
	tt_init(t, 18);
	REQUIRE(tt_listen(t, 80, 4) >= 0);
	t->iss = 0xfffff000u;
	REQUIRE(tt_passive_open(t, &TOPTS_LINUX));
	pat_fill(buf, 20000, 6, 0);
	size_t off = 0;
	while (off < 20000) {
		size_t n = 20000 - off < 1448 ? 20000 - off : 1448;
		tt_data(t, buf + off, n);
		off += n;
	}
	WAIT_ACK(t, t->snd_nxt, 300 * MS);
	CHECK(t->snd_nxt < 0x10000u);
	CHECK_EQ(tt_read(t, t->fd, got, sizeof(got)), 20000);
	CHECK(memcmp(got, buf, 20000) == 0);
	tt_free(t);
}

TEST_MAIN(T(segmentation_to_mss), T(nagle), T(cork), T(msg_more), T(delayed_ack),
	  T(timestamp_echo), T(out_of_order), T(sack_blocks), T(ooo_bounded_by_window),
	  T(receive_window_and_updates), T(zero_window_probe), T(sender_sws), T(header_prediction),
	  T(urgent_data), T(ack_piggybacked), T(sequence_wraparound))
