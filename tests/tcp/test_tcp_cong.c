/*
 * Congestion control (RFC 5681 with NewReno recovery, RFC 6582): the
 * initial window of 10 segments (RFC 6928), slow start, congestion
 * avoidance, no growth while application-limited, fast retransmit on the
 * third duplicate ACK with limited transmit (RFC 3042) before it,
 * recovery with window inflation, partial ACKs retransmitting the next
 * hole at once, the full ACK ending recovery, and a retransmission
 * timeout collapsing cwnd to one segment (ssthresh = max(FlightSize/2,
 * 2)). The peer offers no SACK: this is the duplicate-ACK machinery.
 */
#include "tcptest.h"

static struct tt T;
static uint8_t buf[1 << 20];

#define MSS 1448

static const struct topts NOSACK = { .mss = 1460, .wscale = 7, .sack_perm = false, .ts = true };

static bool established(struct tt *t, uint64_t seed)
{
	tt_init(t, seed);
	if (!tt_active_open(t, &NOSACK))
		return false;
	tt_ackw(t, 65535); /* 8 MiB with the shift of 7 */
	return true;
}

/* Keeps the send buffer full (the application always has more). */
static void fill(struct tt *t)
{
	while (us_send(t->s, t->fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* Pops the data segments sent within ns (the send buffer kept full); their sequence numbers relative
 * to base go to seqs. */
static int pop_data(struct tt *t, uint32_t base, uint32_t *seqs, int max, uint64_t ns)
{
	int n = 0;
	uint64_t limit = tt_now(t) + ns;
	fill(t);
	while (tt_now(t) <= limit && tt_pop(t, limit - tt_now(t))) {
		fill(t);
		if (!t->seg.len)
			continue;
		if (n < max)
			seqs[n] = t->seg.seq - base;
		n++;
	}
	return n;
}

static void ack_to(struct tt *t, uint32_t ack)
{
	fill(t);
	tt_seg(t, ACK, t->snd_nxt, ack, NULL, 0);
}

static struct tcp_info info(struct tt *t)
{
	return tt_info(t, t->fd);
}

/* RFC 6928: ten segments go at once, the eleventh waits for an ACK. */
static void initial_window(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 1));
	CHECK_EQ(info(t).tcpi_snd_cwnd, 10);
	CHECK_EQ(info(t).tcpi_snd_ssthresh, TCP_INFINITE_SSTHRESH);
	uint32_t base = t->rcv_nxt, seqs[32];
	fill(t);
	CHECK_EQ(pop_data(t, base, seqs, 32, 100 * MS), 10);
	for (int i = 0; i < 10; i++)
		CHECK_EQ(seqs[i], (uint32_t)i * MSS);
	CHECK_EQ(info(t).tcpi_unacked, 10);
	tt_free(t);
}

/* Slow start: each ACK of one segment adds one to cwnd, so every ACK
 * releases two segments; ten ACKs take cwnd to 20. */
static void slow_start(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 2));
	uint32_t base = t->rcv_nxt, seqs[64];
	fill(t);
	CHECK_EQ(pop_data(t, base, seqs, 64, 10 * MS), 10);
	int total = 0;
	for (int i = 1; i <= 10; i++) {
		ack_to(t, base + (uint32_t)i * MSS);
		int n = pop_data(t, base, seqs, 64, 1 * MS);
		CHECK_EQ(n, 2);
		total += n;
	}
	CHECK_EQ(total, 20);
	CHECK_EQ(info(t).tcpi_snd_cwnd, 20);
	/* A cumulative ACK of several segments counts them all. */
	ack_to(t, base + 15 * MSS);
	CHECK_EQ(info(t).tcpi_snd_cwnd, 25);
	CHECK_EQ(info(t).tcpi_ca_state, TCP_CA_Open);
	tt_free(t);
}

/* The send buffer grows with the congestion window (tcp_new_space ->
 * tcp_sndbuf_expand: twice cwnd segments, up to tcp_wmem[2]), so a
 * writer that keeps it full can fill the window: after slow start to
 * cwnd 80, 80 segments are in flight. */
static void send_buffer_grows_with_cwnd(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 8));
	uint32_t base = t->rcv_nxt, seqs[256];
	uint32_t acked = 0;
	int sent = pop_data(t, base, seqs, 256, 10 * MS);
	/* Three round trips of slow start: 10 -> 20 -> 40 -> 80. */
	for (int rtt = 0; rtt < 3; rtt++) {
		uint32_t out = (uint32_t)sent;
		sent = 0;
		for (uint32_t i = 0; i < out; i++) {
			ack_to(t, base + ++acked * MSS);
			sent += pop_data(t, base, seqs, 256, 0);
		}
		sent += pop_data(t, base, seqs, 256, 1 * MS);
	}
	struct tcp_info ti = info(t);
	CHECK_EQ(ti.tcpi_snd_cwnd, 80);
	CHECK_EQ(ti.tcpi_unacked, 80);
	CHECK_EQ(sent, 80);
	CHECK(get_int_opt(t->s, t->fd, SOL_SOCKET, SO_SNDBUF) >= 2 * 80 * MSS);
	tt_free(t);
}

/* An application that never fills the window does not grow it
 * (tcp_is_cwnd_limited). */
static void app_limited_no_growth(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 3));
	uint32_t base = t->rcv_nxt;
	for (int i = 0; i < 30; i++) {
		CHECK_EQ(us_send(t->s, t->fd, buf, MSS, 0), MSS);
		EXPECT_TCP(t, E_LEN(MSS));
		tt_seg(t, ACK, t->snd_nxt, base + (uint32_t)(i + 1) * MSS, NULL, 0);
	}
	CHECK_EQ(info(t).tcpi_snd_cwnd, 10);
	tt_free(t);
}

/* A retransmission timeout: ssthresh = max(FlightSize/2, 2), cwnd = 1
 * (RFC 5681 3.1), only the first segment resent; then slow start up to
 * ssthresh resending what is outstanding, and congestion avoidance
 * beyond (one segment per window of ACKs). */
static void rto_collapses_cwnd(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 4));
	uint32_t base = t->rcv_nxt, seqs[64];
	fill(t);
	CHECK_EQ(pop_data(t, base, seqs, 64, 10 * MS), 10);
	CHECK_EQ(pop_data(t, base, seqs, 64, 300 * MS), 1);
	CHECK_EQ(seqs[0], 0);
	struct tcp_info ti = info(t);
	CHECK_EQ(ti.tcpi_snd_cwnd, 1);
	CHECK_EQ(ti.tcpi_snd_ssthresh, 5);
	CHECK_EQ(ti.tcpi_ca_state, TCP_CA_Loss);
	CHECK_EQ(ti.tcpi_lost, 10);
	/* The ACK of the retransmission: cwnd 2, the next two resent. */
	ack_to(t, base + MSS);
	CHECK_EQ(pop_data(t, base, seqs, 64, 1 * MS), 2);
	CHECK_EQ(seqs[0], 1 * MSS);
	CHECK_EQ(seqs[1], 2 * MSS);
	CHECK_EQ(info(t).tcpi_snd_cwnd, 2);
	ack_to(t, base + 3 * MSS);
	CHECK_EQ(pop_data(t, base, seqs, 64, 1 * MS), 4);
	CHECK_EQ(seqs[0], 3 * MSS);
	CHECK_EQ(info(t).tcpi_snd_cwnd, 4);
	/* Slow start stops at ssthresh (5). */
	ack_to(t, base + 7 * MSS);
	CHECK_EQ(info(t).tcpi_snd_cwnd, 5);
	pop_data(t, base, seqs, 64, 1 * MS);
	ack_to(t, base + 10 * MSS);
	CHECK_EQ(info(t).tcpi_ca_state, TCP_CA_Open);
	/* Congestion avoidance: +1 per cwnd segments acknowledged. */
	pop_data(t, base, seqs, 64, 1 * MS);
	uint32_t acked = 10;
	uint32_t cw0 = info(t).tcpi_snd_cwnd;
	for (uint32_t i = 0; i < cw0; i++) {
		ack_to(t, base + ++acked * MSS);
		pop_data(t, base, seqs, 64, 1 * MS);
	}
	CHECK_EQ(info(t).tcpi_snd_cwnd, cw0 + 1);
	tt_free(t);
}

/* Sends a full initial window and has the peer acknowledge the first
 * segment: cwnd 11, twelve segments out, the next ones queued. */
static uint32_t window_out(struct tt *t, uint32_t *seqs)
{
	uint32_t base = t->rcv_nxt;
	fill(t);
	CHECK_EQ(pop_data(t, base, seqs, 64, 10 * MS), 10);
	ack_to(t, base + MSS);
	CHECK_EQ(pop_data(t, base, seqs, 64, 1 * MS), 2);
	return base;
}

/* The third duplicate ACK: the missing segment is resent at once
 * (RFC 5681 3.2), ssthresh = FlightSize/2, cwnd = ssthresh + 3; the first
 * two send one new segment each (RFC 3042 limited transmit); further
 * duplicates inflate cwnd by one each; the ACK of everything outstanding
 * at the loss ends recovery with cwnd = ssthresh. */
static void fast_retransmit(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 5));
	uint32_t seqs[64];
	uint64_t fr = ctr(t->s, "TcpExtTCPFastRetrans");
	uint32_t base = window_out(t, seqs); /* 12 out, 11 in flight, segment 1 lost */
	ack_to(t, base + MSS);
	CHECK_EQ(pop_data(t, base, seqs, 64, 1 * MS), 1);
	CHECK_EQ(seqs[0], 12 * MSS);
	ack_to(t, base + MSS);
	CHECK_EQ(pop_data(t, base, seqs, 64, 1 * MS), 1);
	CHECK_EQ(seqs[0], 13 * MSS);
	CHECK_EQ(info(t).tcpi_ca_state, TCP_CA_Disorder);
	ack_to(t, base + MSS);
	CHECK_EQ(pop_data(t, base, seqs, 64, 1 * MS), 1);
	CHECK_EQ(seqs[0], 1 * MSS);
	CHECK_EQ(ctr(t->s, "TcpExtTCPFastRetrans"), fr + 1);
	struct tcp_info ti = info(t);
	CHECK_EQ(ti.tcpi_ca_state, TCP_CA_Recovery);
	CHECK_EQ(ti.tcpi_snd_ssthresh, 6); /* 13 in flight / 2 */
	CHECK_EQ(ti.tcpi_snd_cwnd, 9);
	CHECK_EQ(ti.tcpi_total_retrans, 1);
	/* More duplicates (segments 3..13 arriving): inflation; new data
	 * once cwnd exceeds what is in flight. */
	int sent = 0;
	for (int i = 0; i < 10; i++) {
		ack_to(t, base + MSS);
		sent += pop_data(t, base, seqs, 64, 1 * MS);
	}
	CHECK_EQ(info(t).tcpi_snd_cwnd, 19);
	CHECK(sent >= 4 && sent <= 6);
	/* The full ACK: everything sent before the loss. */
	ack_to(t, base + 14 * MSS);
	ti = info(t);
	CHECK_EQ(ti.tcpi_ca_state, TCP_CA_Open);
	CHECK_EQ(ti.tcpi_snd_cwnd, 6);
	tt_free(t);
}

/* NewReno (RFC 6582 3.2 step 5): a partial ACK (covering the first hole
 * but not everything outstanding at the loss) resends the next hole at
 * once and recovery goes on; the full ACK ends it. */
static void newreno_partial_ack(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 6));
	uint32_t seqs[64];
	uint32_t base = window_out(t, seqs); /* segments 1 and 4 lost */
	for (int i = 0; i < 3; i++) {
		ack_to(t, base + MSS);
		pop_data(t, base, seqs, 64, 1 * MS);
	}
	CHECK_EQ(seqs[0], 1 * MSS);
	CHECK_EQ(info(t).tcpi_ca_state, TCP_CA_Recovery);
	uint32_t recover = base + 14 * MSS;
	/* Segment 1's retransmission arrives: ACK up to the second hole. */
	ack_to(t, base + 4 * MSS);
	int n = pop_data(t, base, seqs, 64, 1 * MS);
	CHECK(n >= 1);
	CHECK_EQ(seqs[0], 4 * MSS);
	CHECK_EQ(info(t).tcpi_ca_state, TCP_CA_Recovery);
	CHECK_EQ(info(t).tcpi_total_retrans, 2);
	ack_to(t, recover);
	CHECK_EQ(info(t).tcpi_ca_state, TCP_CA_Open);
	tt_free(t);
}

/* Duplicate ACKs that carry data or change the window are not
 * duplicates (RFC 5681 2): no fast retransmit from them. */
static void not_duplicate_acks(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 7));
	uint32_t seqs[64];
	uint32_t base = window_out(t, seqs);
	uint64_t fr = ctr(t->s, "TcpExtTCPFastRetrans");
	for (int i = 0; i < 4; i++) {
		tt_seg(t, ACK | PSH, t->snd_nxt, base + MSS, "x", 1);
		t->snd_nxt++;
		tt_drain(t, 1 * MS);
	}
	for (int i = 0; i < 4; i++) {
		TT_SEND(t, .flags = ACK, .seq = t->snd_nxt, .ack = base + MSS, .win = (uint16_t)(60000 + i),
			.win_set = true);
		tt_drain(t, 1 * MS);
	}
	CHECK_EQ(ctr(t->s, "TcpExtTCPFastRetrans"), fr);
	CHECK(info(t).tcpi_ca_state != TCP_CA_Recovery);
	tt_free(t);
}

TEST_MAIN(T(initial_window), T(slow_start), T(send_buffer_grows_with_cwnd), T(app_limited_no_growth), T(rto_collapses_cwnd),
	  T(fast_retransmit), T(newreno_partial_ack), T(not_duplicate_acks))
