/*
 * TCP input (Linux's tcp_ipv4.c receive side and tcp_input.c), following
 * RFC 9293 3.10.7 "SEGMENT ARRIVES":
 *
 *   tcp_v4_rcv                 validate, look up: established table,
 *                              requests, listeners, or answer with RST
 *   tcp_rcv_established        header prediction fast path, else
 *   tcp_rcv_state_process      the slow path for every state:
 *     tcp_validate_incoming    PAWS (RFC 7323), sequence check, RST and
 *                              SYN handling with RFC 5961 challenge ACKs
 *     tcp_ack                  RFC 5961 ACK range, window update, RTT
 *                              (RFC 6298), congestion control (RFC 5681,
 *                              NewReno RFC 6582)
 *     tcp_data_queue           in-order data, out-of-order queue, FIN
 *     tcp_ack_snd_check        ACK now or delay it (RFC 1122 4.2.3.2)
 */
#include <errno.h>
#include <sys/epoll.h>
#include <string.h>

#include "../core/stack.h"
#include "../wire/icmp.h"
#include "tcp.h"

int icmp_err_to_errno(uint8_t type, uint8_t code, bool *hard);

static void tcp_rcv_state_process(struct tcp_sock *tp, struct skb *skb, const struct tcp_repr *th,
				  const struct tcp_opts *opt);

/* ---- RTT and RTO (RFC 6298) ---- */

void tcp_rtt_estimator(struct tcp_sock *tp, int64_t m)
{
	if (m <= 0)
		m = 1;
	if (m > 600000000)
		return; /* a sample of ten minutes is nonsense */
	uint32_t mu = (uint32_t)m;
	if (tp->srtt_us == 0) {
		/* 2.2: SRTT = R, RTTVAR = R/2 (kept as 8*SRTT and 4*RTTVAR). */
		tp->srtt_us = mu << 3;
		tp->rttvar_us = mu << 1;
	} else {
		/* 2.3: RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R|; SRTT = 7/8 SRTT + 1/8 R */
		int32_t err = (int32_t)mu - (int32_t)(tp->srtt_us >> 3);
		tp->srtt_us = (uint32_t)((int32_t)tp->srtt_us + err);
		uint32_t aerr = (uint32_t)(err < 0 ? -err : err);
		tp->rttvar_us = tp->rttvar_us - (tp->rttvar_us >> 2) + aerr;
	}
	tp->mdev_us = tp->rttvar_us;
}

/* RTO = SRTT + max(4 * RTTVAR, rto_min) within [rto_min, 120 s]; Linux's
 * form of 2.3 with G = rto_min. */
void tcp_set_rto(struct tcp_sock *tp)
{
	uint32_t rto_min_us = tp->sk.stack->tcp.rto_min_ms * 1000u;
	uint32_t var4 = tp->rttvar_us > rto_min_us ? tp->rttvar_us : rto_min_us;
	uint64_t rto_us = (tp->srtt_us >> 3) + (uint64_t)var4;
	uint64_t ms = (rto_us + 999) / 1000;
	if (ms > TCP_RTO_MAX_MS)
		ms = TCP_RTO_MAX_MS;
	tp->rto_ms = (uint32_t)ms;
}

/* ---- delayed ACK bookkeeping ---- */

void tcp_enter_quickack_mode(struct tcp_sock *tp)
{
	uint32_t mss = tp->rcv_mss ? tp->rcv_mss : TCP_MSS_DEFAULT;
	uint32_t quick = tp->rcv_wnd / (2 * mss);
	if (quick < 2)
		quick = 2;
	if (quick > TCP_MAX_QUICKACKS)
		quick = TCP_MAX_QUICKACKS;
	tp->quick = (uint8_t)quick;
	tp->pingpong = false;
	tp->ato_ms = TCP_ATO_MIN_MS;
}

/* tcp_event_data_recv: estimate the peer's segment size and the ACK
 * delay from the data's inter-arrival times; grow the window offered. */
static void tcp_event_data_recv(struct tcp_sock *tp, struct skb *skb)
{
	struct us_stack *s = tp->sk.stack;
	uint64_t now = s->now_ms;
	if (!tp->lrcvtime) {
		tcp_enter_quickack_mode(tp);
	} else {
		uint64_t m = now - tp->lrcvtime;
		if (m <= TCP_ATO_MIN_MS / 2) {
			tp->ato_ms = (tp->ato_ms >> 1) + TCP_ATO_MIN_MS / 2;
		} else if (m < tp->ato_ms) {
			tp->ato_ms = (tp->ato_ms >> 1) + (uint32_t)m;
			if (tp->ato_ms > tp->rto_ms)
				tp->ato_ms = tp->rto_ms;
		}
	}
	tp->lrcvtime = now;
	if (skb->len > tp->rcv_mss)
		tp->rcv_mss = (uint16_t)(skb->len > tp->advmss ? tp->advmss : skb->len);
	/* tcp_grow_window: widen the offer as data flows, within the
	 * buffer. */
	uint32_t space = tcp_space(tp);
	if (tp->rcv_ssthresh < tp->window_clamp && tp->rcv_ssthresh < space) {
		uint32_t inc = 2u * tp->advmss;
		tp->rcv_ssthresh += inc;
		if (tp->rcv_ssthresh > space)
			tp->rcv_ssthresh = space;
		if (tp->rcv_ssthresh > tp->window_clamp)
			tp->rcv_ssthresh = tp->window_clamp;
	}
}

/* RFC 1122 4.2.3.2 as Linux (__tcp_ack_snd_check): ACK at once when two
 * full segments arrived since the last ACK, in quick-ACK mode, or when
 * data is out of order; else delay. */
static void tcp_ack_snd_check(struct tcp_sock *tp)
{
	if (!tp->ack_pending)
		return;
	uint32_t mss = tp->rcv_mss ? tp->rcv_mss : tp->advmss;
	if (tp->ack_now || tp->quick || tp->quickack_opt || tp->ooo_queue.qlen ||
	    tp->rcv_nxt - tp->rcv_wup > mss) {
		/* With net.ipv4.tcp_ack_coalesce, in-order data read in one
		 * poll round is acknowledged once at the end of the round, as
		 * Linux acknowledges a GRO batch: one ACK write instead of one
		 * per two frames (about 25% more receive throughput over a
		 * TAP, docs/BENCHMARKS-tcp.md), at the price of RFC 5681 4.2's
		 * "every second full-sized segment". Duplicate ACKs for
		 * out-of-order data always go at once: the sender counts them. */
		struct us_stack *s = tp->sk.stack;
		if (s->tcp.ack_coalesce && s->in_poll && !tp->ooo_queue.qlen &&
		    !(tp->sk.shutdown & RCV_SHUTDOWN)) {
			if (list_empty(&tp->ack_node))
				list_add_tail(&tp->ack_node, &s->tcp.ack_list);
			return;
		}
		tcp_send_ack(tp);
	} else {
		tcp_send_delayed_ack(tp);
	}
}

void tcp_flush_acks(struct us_stack *s)
{
	while (!list_empty(&s->tcp.ack_list)) {
		struct tcp_sock *tp = list_first_entry(&s->tcp.ack_list, struct tcp_sock, ack_node);
		list_del(&tp->ack_node);
		if (tp->ack_pending)
			tcp_send_ack(tp);
	}
}

static void tcp_schedule_ack(struct tcp_sock *tp, bool now)
{
	tp->ack_pending = true;
	if (now)
		tp->ack_now = true;
}

/* RFC 5961 7 / Linux's tcp_send_challenge_ack: one per 500 ms per
 * connection, and at most challenge_ack_limit a second in all. */
static bool tcp_oow_rate_limited(struct tcp_sock *tp)
{
	struct us_stack *s = tp->sk.stack;
	if (tp->last_oow_ack_ms && s->now_ms - tp->last_oow_ack_ms < s->tcp.invalid_ratelimit_ms)
		return true;
	tp->last_oow_ack_ms = s->now_ms;
	return false;
}

static void tcp_send_dupack(struct tcp_sock *tp)
{
	if (!tcp_oow_rate_limited(tp))
		tcp_send_ack(tp);
}

static void tcp_send_challenge_ack(struct tcp_sock *tp)
{
	struct us_stack *s = tp->sk.stack;
	if (tcp_oow_rate_limited(tp)) {
		mib_inc(s, MIB_TcpExtTCPACKSkippedChallenge);
		return;
	}
	uint64_t sec = s->now_ms / 1000;
	if (sec != s->tcp.challenge_stamp_s) {
		s->tcp.challenge_stamp_s = sec;
		s->tcp.challenge_count = 0;
	}
	if (s->tcp.challenge_count >= s->tcp.challenge_ack_limit)
		return;
	s->tcp.challenge_count++;
	mib_inc(s, MIB_TcpExtTCPChallengeACK);
	tcp_send_ack(tp);
}

/* ---- congestion control: Reno with NewReno recovery ---- */

static void tcp_set_ca_state(struct tcp_sock *tp, uint8_t st)
{
	if (tp->ca_ops->set_state)
		tp->ca_ops->set_state(tp, st);
	tp->ca_state = st;
}

/* RFC 5681 3.2 step 3 / RFC 6582 3.2 step 5: the first unacknowledged
 * segment is resent at once, whatever the congestion window says. */
static void tcp_retransmit_head(struct tcp_sock *tp)
{
	struct skb *head = skb_peek(&tp->rtx_queue);
	if (head && (TCP_SKB_CB(head)->sacked & TCPCB_LOST) &&
	    !(TCP_SKB_CB(head)->sacked & TCPCB_RETRANS) && tcp_retransmit_skb(tp, head) == 0)
		tcp_reset_rtx_timer(tp, ICSK_TIME_RETRANS, tp->rto_ms);
}

static void tcp_mark_head_lost(struct tcp_sock *tp)
{
	struct skb *head = skb_peek(&tp->rtx_queue);
	if (!head)
		return;
	struct tcp_skb_cb *cb = TCP_SKB_CB(head);
	if (!(cb->sacked & TCPCB_LOST)) {
		cb->sacked |= TCPCB_LOST;
		tp->lost_out++;
	}
	if (cb->sacked & TCPCB_RETRANS) {
		/* A partial ACK says the retransmission of it was lost too. */
		cb->sacked &= (uint8_t)~TCPCB_RETRANS;
		tp->retrans_out--;
		mib_inc(tp->sk.stack, MIB_TcpExtTCPLostRetransmit);
	}
}

/* RFC 5681 3.1: after a timeout, cwnd is one segment and everything
 * outstanding is to be resent (tcp_enter_loss). */
void tcp_enter_loss(struct tcp_sock *tp)
{
	if (tp->ca_state <= TCP_CA_Disorder || tp->ca_state == TCP_CA_Recovery ||
	    (tp->ca_state == TCP_CA_Loss && !tp->retransmits)) {
		tp->prior_cwnd = tp->snd_cwnd;
		tp->snd_ssthresh = tp->ca_ops->ssthresh(tp);
	}
	tp->snd_cwnd = 1;
	tp->snd_cwnd_cnt = 0;
	struct skb *skb;
	list_for_each_entry(skb, &tp->rtx_queue.head, list) {
		struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
		cb->sacked &= (uint8_t)~TCPCB_RETRANS;
		cb->sacked |= TCPCB_LOST;
	}
	tp->lost_out = tp->packets_out;
	tp->retrans_out = 0;
	tp->high_seq = tp->snd_nxt;
	tp->dupacks = 0;
	tcp_set_ca_state(tp, TCP_CA_Loss);
}

/* RFC 5681 3.2 steps 2-3 with RFC 6582's "recover" point. */
static void tcp_enter_recovery(struct tcp_sock *tp)
{
	struct us_stack *s = tp->sk.stack;
	tp->prior_cwnd = tp->snd_cwnd;
	tp->snd_ssthresh = tp->ca_ops->ssthresh(tp);
	tp->snd_cwnd = tp->snd_ssthresh + 3;
	tp->high_seq = tp->snd_nxt;
	tcp_set_ca_state(tp, TCP_CA_Recovery);
	mib_inc(s, MIB_TcpExtTCPRenoRecovery);
	mib_inc(s, MIB_TcpExtTCPFastRetrans);
	tcp_mark_head_lost(tp);
	tcp_retransmit_head(tp);
}

static void tcp_dupack(struct tcp_sock *tp)
{
	tp->dupacks++;
	switch (tp->ca_state) {
	case TCP_CA_Open:
	case TCP_CA_Disorder:
	case TCP_CA_CWR:
		/* RFC 6582 3.2 step 2: a new recovery only if this loss is
		 * past the previous recovery point. */
		if (tp->dupacks >= 3 && after(tp->snd_una, tp->high_seq - 1))
			tcp_enter_recovery(tp);
		else if (tp->dupacks >= 3)
			tcp_set_ca_state(tp, TCP_CA_Disorder);
		else
			tcp_set_ca_state(tp, TCP_CA_Disorder); /* RFC 3042 limited transmit */
		break;
	case TCP_CA_Recovery:
		/* RFC 5681 3.2 step 4: inflate by one segment. */
		tp->snd_cwnd++;
		break;
	default:
		break;
	}
}

/* cwnd-limited (tcp_is_cwnd_limited): only a window that was used grows. */
static bool tcp_is_cwnd_limited(const struct tcp_sock *tp, uint32_t prior_in_flight)
{
	if (tp->snd_cwnd < tp->snd_ssthresh)
		return tp->snd_cwnd < 2 * (prior_in_flight + 1);
	return prior_in_flight + 1 >= tp->snd_cwnd;
}

static void tcp_cong_control(struct tcp_sock *tp, uint32_t acked, uint32_t prior_in_flight)
{
	switch (tp->ca_state) {
	case TCP_CA_Recovery:
		if (!before(tp->snd_una, tp->high_seq)) {
			/* RFC 6582 3.2 step 3, option 1: a full ACK. */
			uint32_t flight = tcp_packets_in_flight(tp);
			tp->snd_cwnd = tp->snd_ssthresh < flight + 1 ? tp->snd_ssthresh : flight + 1;
			if (tp->snd_cwnd < 2)
				tp->snd_cwnd = 2;
			tp->dupacks = 0;
			tcp_set_ca_state(tp, TCP_CA_Open);
		} else {
			/* Step 5, a partial ACK: the next hole is lost too;
			 * deflate by what was acked, add back one segment. */
			tcp_mark_head_lost(tp);
			tp->snd_cwnd = tp->snd_cwnd > acked ? tp->snd_cwnd - acked + 1 : 1;
			tcp_retransmit_head(tp);
		}
		return;
	case TCP_CA_Loss:
		if (!before(tp->snd_una, tp->high_seq)) {
			tp->dupacks = 0;
			tcp_set_ca_state(tp, TCP_CA_Open);
		}
		tp->ca_ops->cong_avoid(tp, acked);
		tcp_xmit_retransmit_queue(tp);
		return;
	default:
		tp->dupacks = 0;
		if (tp->ca_state != TCP_CA_Open)
			tcp_set_ca_state(tp, TCP_CA_Open);
		if (tcp_is_cwnd_limited(tp, prior_in_flight))
			tp->ca_ops->cong_avoid(tp, acked);
		return;
	}
}

/* ---- ACK processing ---- */

/* Removes what the ACK covers from the retransmission queue; returns the
 * segments fully acknowledged, and an RTT sample from the first one never
 * retransmitted (Karn) in *rtt_us (-1: none). */
static uint32_t tcp_clean_rtx_queue(struct tcp_sock *tp, uint32_t ack, int64_t *rtt_us)
{
	struct us_stack *s = tp->sk.stack;
	uint64_t now = stack_now_ns(s);
	uint32_t acked = 0;
	bool retrans_acked = false;
	*rtt_us = -1;
	struct skb *skb;
	while ((skb = skb_peek(&tp->rtx_queue)) != NULL) {
		struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
		if (after(cb->end_seq, ack)) {
			/* Part of it is acknowledged: drop those bytes now. */
			if ((cb->tcp_flags & TCPHDR_SYN) || !after(ack, cb->seq))
				break;
			uint32_t trim = ack - cb->seq;
			if (trim >= skb->len)
				break;
			skb_pull(skb, trim);
			tp->rtx_queue.bytes -= trim;
			cb->seq = ack;
			break;
		}
		if (cb->sacked & TCPCB_EVER_RETRANS)
			retrans_acked = true;
		else if (*rtt_us < 0 && cb->tx_ns)
			*rtt_us = (int64_t)((now - cb->tx_ns) / 1000u);
		if (cb->sacked & TCPCB_RETRANS)
			tp->retrans_out--;
		if (cb->sacked & TCPCB_LOST)
			tp->lost_out--;
		tp->packets_out--;
		acked++;
		skb_unlink(&tp->rtx_queue, skb);
		tcp_skb_uncharge(tp, skb);
		skb_free(skb);
	}
	/* Karn (RFC 6298 3): an ACK covering retransmitted data says nothing
	 * of the RTT, not even of the segments after it that were sent once
	 * (Linux: FLAG_RETRANS_DATA_ACKED). */
	if (retrans_acked)
		*rtt_us = -1;
	return acked;
}

static bool tcp_may_update_window(const struct tcp_sock *tp, uint32_t ack, uint32_t ack_seq,
				  uint32_t nwin)
{
	return after(ack, tp->snd_una) || after(ack_seq, tp->snd_wl1) ||
	       (ack_seq == tp->snd_wl1 && (nwin > tp->snd_wnd || !nwin));
}

static void tcp_check_space(struct tcp_sock *tp)
{
	/* tcp_new_space: room for twice the window while the window is not
	 * all used (tcp_should_expand_sndbuf). */
	if (tcp_packets_in_flight(tp) < tp->snd_cwnd)
		tcp_sndbuf_expand(tp);
	if (tcp_stream_writeable(tp))
		sock_wakeup(&tp->sk, EPOLLOUT | EPOLLWRNORM);
}

/* Returns 1 if the ACK was acceptable (even if old), <0 if it must be
 * dropped (RFC 5961 5.2). */
static int tcp_ack(struct tcp_sock *tp, struct skb *skb)
{
	struct us_stack *s = tp->sk.stack;
	struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	uint32_t ack = cb->ack_seq, prior_snd_una = tp->snd_una;
	if (before(ack, prior_snd_una)) {
		/* RFC 5961 5.2: older than SND.UNA - MAX.SND.WND: challenge. */
		/* Linux: "do not accept ACK for bytes we never sent". */
		uint32_t max_window = tp->bytes_acked < tp->max_window ? (uint32_t)tp->bytes_acked
								      : tp->max_window;
		if (before(ack, prior_snd_una - max_window)) {
			tcp_send_challenge_ack(tp);
			return -DROP_TCP_OLD_ACK;
		}
		return 0; /* an old duplicate: nothing to learn */
	}
	if (after(ack, tp->snd_nxt)) {
		/* RFC 9293 3.10.7.4: ACK for something not yet sent. */
		tcp_send_challenge_ack(tp);
		return -DROP_TCP_TOO_NEW_ACK;
	}
	uint32_t prior_in_flight = tcp_packets_in_flight(tp);
	uint32_t nwin = cb->window;
	if (!(cb->tcp_flags & TCPHDR_SYN))
		nwin <<= tp->snd_wscale;
	bool win_update = false;
	if (tcp_may_update_window(tp, ack, cb->seq, nwin)) {
		win_update = nwin != tp->snd_wnd;
		tp->snd_wnd = nwin;
		tp->snd_wl1 = cb->seq;
		tp->snd_wl2 = ack;
		if (nwin > tp->max_window)
			tp->max_window = nwin;
	}
	tp->rcv_tstamp = s->now_ms;
	tp->probes_out = 0;

	if (ack == prior_snd_una) {
		/* RFC 5681 2: a duplicate ACK carries no data, does not move
		 * the window, and comes while data is outstanding. RFC 6675 2:
		 * with SACK, an ACK that SACKs data not SACKed before is a
		 * duplicate too, whatever its window (a Linux receiver opens
		 * its window in the very ACKs that report a hole). */
		bool new_sack = tp->sack_ok && cb->has_sack && after(cb->sack_end, tp->highest_sack);
		if (new_sack)
			tp->highest_sack = cb->sack_end;
		bool dup = tp->packets_out && (!win_update || new_sack) && skb->len == 0 &&
			   !(cb->tcp_flags & (TCPHDR_SYN | TCPHDR_FIN));
		if (dup)
			tcp_dupack(tp);
		else if (!(cb->tcp_flags & TCPHDR_SYN) && !skb->len)
			mib_inc(s, MIB_TcpExtTCPPureAcks);
		if (win_update && !tp->packets_out && tp->snd_wnd) {
			/* The window opened: stop probing. */
			tp->backoff = 0;
			if (tp->rtx_timer_kind == ICSK_TIME_PROBE0)
				tcp_clear_rtx_timer(tp);
		}
		return 1;
	}

	tp->snd_una = ack;
	tp->bytes_acked += ack - prior_snd_una;
	if (before(tp->highest_sack, ack))
		tp->highest_sack = ack;
	if (tp->sack_ok && cb->has_sack && after(cb->sack_end, tp->highest_sack))
		tp->highest_sack = cb->sack_end;
	if (tp->urg_pending && !before(ack, tp->snd_up))
		tp->urg_pending = false; /* urgent mode ends (tcp_urg_mode) */
	int64_t rtt_us;
	uint32_t acked = tcp_clean_rtx_queue(tp, ack, &rtt_us);
	/* RTT: timestamps when both use them (RFC 7323 4.1), else a segment
	 * sent once (Karn's rule, RFC 6298 3). */
	if (rtt_us < 0 && cb->ts_ok && cb->tsecr && tp->tstamp_ok) {
		uint32_t ms = tcp_time_stamp(s, tp->ts_off) - cb->tsecr;
		if (ms < 600000)
			rtt_us = ms ? (int64_t)ms * 1000 : 1; /* tcp_rtt_tsopt_us */
	}
	if (rtt_us >= 0) {
		tcp_rtt_estimator(tp, rtt_us);
		tcp_set_rto(tp);
	}
	tp->retransmits = 0;
	tp->backoff = 0;
	struct skb *head = skb_peek(&tp->rtx_queue);
	if (!head || !(TCP_SKB_CB(head)->sacked & TCPCB_EVER_RETRANS))
		tp->retrans_stamp = 0;
	tcp_cong_control(tp, acked ? acked : 1, prior_in_flight);
	if (tp->packets_out)
		tcp_reset_rtx_timer(tp, ICSK_TIME_RETRANS, tp->rto_ms);
	else
		tcp_clear_rtx_timer(tp);
	tcp_check_space(tp);
	return 1;
}

/* ---- receiving data ---- */

static uint32_t tcp_receive_window(const struct tcp_sock *tp)
{
	int32_t win = (int32_t)(tp->rcv_wup + tp->rcv_wnd - tp->rcv_nxt);
	return win < 0 ? 0 : (uint32_t)win;
}

/* tcp_sequence: the segment overlaps the window we offered (RFC 9293
 * 3.10.7.4, measured from the last window sent as Linux does). */
static bool tcp_sequence(const struct tcp_sock *tp, uint32_t seq, uint32_t end_seq)
{
	return !before(end_seq, tp->rcv_wup) && !after(seq, tp->rcv_nxt + tcp_receive_window(tp));
}

/* Appends in-order data to the receive queue, copying small segments
 * into the tail's spare room (tcp_try_coalesce) so tiny segments cannot
 * pin a buffer each. */
static void tcp_queue_rcv(struct tcp_sock *tp, struct skb *skb)
{
	struct sock *sk = &tp->sk;
	struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	tp->bytes_received += skb->len;
	tp->data_segs_in++;
	struct skb *tail = sk->receive_queue.qlen
			   ? list_entry(sk->receive_queue.head.prev, struct skb, list) : NULL;
	if (tail && !skb_cloned(tail) && TCP_SKB_CB(tail)->end_seq == cb->seq &&
	    skb->len <= skb_tailroom(tail) && skb->len < 1024) {
		memcpy(skb_put(tail, skb->len), skb->data, skb->len);
		sk->receive_queue.bytes += skb->len;
		TCP_SKB_CB(tail)->end_seq = cb->seq + skb->len;
		skb_free(skb);
		return;
	}
	cb->end_seq = cb->seq + skb->len; /* the FIN is not data */
	skb_queue_tail(&sk->receive_queue, skb);
	sk->rmem_alloc += skb_truesize(skb);
}

/* RFC 9293 3.10.7.4 eighth step: the FIN (tcp_fin). */
static void tcp_fin(struct tcp_sock *tp)
{
	struct sock *sk = &tp->sk;
	struct us_stack *s = sk->stack;
	sk->shutdown |= RCV_SHUTDOWN;
	tp->bytes_received++; /* Linux counts the FIN's sequence number */
	tcp_schedule_ack(tp, true);
	switch (sk->state) {
	case TCP_SYN_RECV:
	case TCP_ESTABLISHED:
		tcp_set_state(tp, TCP_CLOSE_WAIT);
		tp->pingpong = true;
		break;
	case TCP_FIN_WAIT1:
		/* Simultaneous close (RFC 9293 3.6, figure 13). */
		tcp_send_ack(tp);
		tcp_set_state(tp, TCP_CLOSING);
		break;
	case TCP_FIN_WAIT2:
		tcp_send_ack(tp);
		skb_queue_purge(&tp->ooo_queue);
		sock_wakeup(sk, EPOLLIN | EPOLLRDHUP);
		tcp_time_wait(tp, TCP_TIME_WAIT, s->tcp.timewait_ms);
		return;
	default:
		break; /* a retransmitted FIN: just ACK it */
	}
	/* Data beyond the FIN means nothing. */
	struct skb *o;
	while ((o = skb_dequeue(&tp->ooo_queue)) != NULL) {
		sk->rmem_alloc -= skb_truesize(o);
		skb_free(o);
	}
	sock_wakeup(sk, EPOLLIN | EPOLLRDNORM | EPOLLRDHUP);
}

/* Drops out-of-order data from the far end until there is room
 * (tcp_prune_ofo_queue). */
static bool tcp_prune_ofo(struct tcp_sock *tp, uint32_t need)
{
	struct sock *sk = &tp->sk;
	struct us_stack *s = sk->stack;
	bool pruned = false;
	while (tp->ooo_queue.qlen && sk->rmem_alloc + need > (uint32_t)sk->rcvbuf) {
		struct skb *last = list_entry(tp->ooo_queue.head.prev, struct skb, list);
		skb_unlink(&tp->ooo_queue, last);
		sk->rmem_alloc -= skb_truesize(last);
		skb_drop(s, last, DROP_TCP_OFO_DROP);
		pruned = true;
	}
	if (pruned)
		mib_inc(s, MIB_TcpExtOfoPruned);
	return sk->rmem_alloc + need <= (uint32_t)sk->rcvbuf;
}

/* tcp_collapse (tcp_prune_queue's first resort): the unread data of the
 * receive queue copied into as few buffers as it takes, giving
 * back the per-segment overhead, so that the window offered is honoured
 * even when the peer sent it in small segments. True if `need` more
 * bytes fit now. */
static bool tcp_collapse_rcv(struct tcp_sock *tp, uint32_t need)
{
	struct sock *sk = &tp->sk;
	struct us_stack *s = sk->stack;
	struct skb_queue nq;
	skb_queue_init(&nq);
	struct skb *cur = NULL, *skb;
	uint32_t old_true = 0, new_true = 0;
	uint32_t left = tp->rcv_nxt - tp->copied_seq; /* unread bytes to move */
	bool fail = false;
	list_for_each_entry(skb, &sk->receive_queue.head, list) {
		struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
		uint32_t off = before(cb->seq, tp->copied_seq) ? tp->copied_seq - cb->seq : 0;
		old_true += skb_truesize(skb);
		while (off < skb->len) {
			if (!cur || !skb_tailroom(cur)) {
				/* Big buffers for much data, small ones for the rest. */
				cur = skb_alloc(s->pool, left >= 16384 ? 16384 : 2048);
				if (!cur) {
					fail = true;
					break;
				}
				memset(TCP_SKB_CB(cur), 0, sizeof(struct tcp_skb_cb));
				TCP_SKB_CB(cur)->seq = TCP_SKB_CB(cur)->end_seq = cb->seq + off;
				skb_queue_tail(&nq, cur);
				new_true += skb_truesize(cur);
			}
			uint32_t n = skb->len - off < skb_tailroom(cur) ? skb->len - off : skb_tailroom(cur);
			memcpy(skb_put(cur, n), skb->data + off, n);
			nq.bytes += n;
			TCP_SKB_CB(cur)->end_seq += n;
			off += n;
			left = left > n ? left - n : 0;
		}
		if (fail)
			break;
	}
	if (fail || new_true >= old_true) {
		skb_queue_purge(&nq);
		return sk->rmem_alloc + need <= (uint32_t)sk->rcvbuf;
	}
	skb_queue_purge(&sk->receive_queue);
	list_init(&sk->receive_queue.head);
	sk->receive_queue.qlen = 0;
	sk->receive_queue.bytes = 0;
	while ((skb = skb_dequeue(&nq)) != NULL)
		skb_queue_tail(&sk->receive_queue, skb);
	sk->rmem_alloc = sk->rmem_alloc - old_true + new_true;
	mib_inc(s, MIB_TcpExtTCPRcvCollapsed);
	return sk->rmem_alloc + need <= (uint32_t)sk->rcvbuf;
}

/* Moves the out-of-order segments that are now in order (tcp_ofo_queue);
 * their buffers move, nothing is copied again. */
static void tcp_ofo_queue(struct tcp_sock *tp)
{
	struct sock *sk = &tp->sk;
	struct skb *skb;
	while ((skb = skb_peek(&tp->ooo_queue)) != NULL) {
		struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
		if (after(cb->seq, tp->rcv_nxt))
			break;
		skb_unlink(&tp->ooo_queue, skb);
		sk->rmem_alloc -= skb_truesize(skb);
		if (!after(cb->end_seq, tp->rcv_nxt)) {
			skb_free(skb);
			continue;
		}
		bool fin = cb->tcp_flags & TCPHDR_FIN;
		uint32_t trim = tp->rcv_nxt - cb->seq;
		skb_pull(skb, trim);
		cb->seq = tp->rcv_nxt;
		tp->rcv_nxt = cb->end_seq;
		if (skb->len)
			tcp_queue_rcv(tp, skb);
		else
			skb_free(skb);
		if (fin) {
			tcp_fin(tp);
			break;
		}
	}
}

/* Out-of-order data (tcp_data_queue_ofo): kept in sequence order, bounded
 * by the receive buffer; a segment wholly inside another is dropped, one
 * that covers others replaces them. */
static void tcp_data_queue_ofo(struct tcp_sock *tp, struct skb *skb)
{
	struct sock *sk = &tp->sk;
	struct us_stack *s = sk->stack;
	struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	uint32_t ts = skb_truesize(skb);
	tcp_schedule_ack(tp, true); /* a duplicate ACK at once (RFC 5681 4.2) */
	if (sk->rmem_alloc + ts > (uint32_t)sk->rcvbuf && !tcp_prune_ofo(tp, ts)) {
		mib_inc(s, MIB_TcpExtTCPOFODrop);
		skb_drop(s, skb, DROP_TCP_OFO_DROP);
		return;
	}
	mib_inc(s, MIB_TcpExtTCPOFOQueue);
	tp->sack_recent = cb->seq;
	/* Find the last segment starting at or before us (usually the tail). */
	struct list_head *pos = tp->ooo_queue.head.prev;
	while (pos != &tp->ooo_queue.head &&
	       after(TCP_SKB_CB(list_entry(pos, struct skb, list))->seq, cb->seq))
		pos = pos->prev;
	if (pos != &tp->ooo_queue.head) {
		struct skb *prev = list_entry(pos, struct skb, list);
		struct tcp_skb_cb *pcb = TCP_SKB_CB(prev);
		if (!after(cb->end_seq, pcb->end_seq)) {
			/* All of it we hold already. */
			skb_drop(s, skb, DROP_TCP_OLD_DATA);
			return;
		}
		if (pcb->end_seq == cb->seq && !skb_cloned(prev) && skb->len <= skb_tailroom(prev) &&
		    !(pcb->tcp_flags & TCPHDR_FIN)) {
			/* Coalesce with the segment it continues. */
			memcpy(skb_put(prev, skb->len), skb->data, skb->len);
			tp->ooo_queue.bytes += skb->len;
			pcb->end_seq = cb->end_seq;
			pcb->tcp_flags |= cb->tcp_flags & TCPHDR_FIN;
			skb_free(skb);
			return;
		}
	}
	/* Later segments that we cover entirely go. */
	struct list_head *next = pos->next;
	while (next != &tp->ooo_queue.head) {
		struct skb *n = list_entry(next, struct skb, list);
		struct tcp_skb_cb *ncb = TCP_SKB_CB(n);
		if (after(ncb->end_seq, cb->end_seq))
			break;
		next = next->next;
		skb_unlink(&tp->ooo_queue, n);
		sk->rmem_alloc -= skb_truesize(n);
		skb_free(n);
	}
	list_insert_(&skb->list, pos, pos->next);
	tp->ooo_queue.qlen++;
	tp->ooo_queue.bytes += skb->len;
	sk->rmem_alloc += ts;
}

static void tcp_data_queue(struct tcp_sock *tp, struct skb *skb)
{
	struct sock *sk = &tp->sk;
	struct us_stack *s = sk->stack;
	struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	bool fin = cb->tcp_flags & TCPHDR_FIN;
	if (cb->seq == cb->end_seq) {
		skb_free(skb);
		return;
	}
	if (!after(cb->end_seq, tp->rcv_nxt)) {
		/* A retransmission of what we have: ACK at once (the peer
		 * lost our ACK, or retransmitted early). */
		mib_inc(s, MIB_TcpExtDelayedACKLost);
		tcp_enter_quickack_mode(tp);
		tcp_schedule_ack(tp, true);
		skb_drop(s, skb, DROP_TCP_OLD_DATA);
		return;
	}
	if (!before(cb->seq, tp->rcv_nxt + tcp_receive_window(tp))) {
		if (skb->len && tcp_receive_window(tp) == 0)
			mib_inc(s, MIB_TcpExtTCPZeroWindowDrop);
		tcp_enter_quickack_mode(tp);
		tcp_schedule_ack(tp, true);
		skb_drop(s, skb, tcp_receive_window(tp) ? DROP_TCP_INVALID_SEQ : DROP_TCP_ZEROWINDOW);
		return;
	}
	if (before(cb->seq, tp->rcv_nxt)) {
		/* The head we have already: trim it (partial overlap). */
		uint32_t trim = tp->rcv_nxt - cb->seq;
		skb_pull(skb, trim < skb->len ? trim : skb->len);
		cb->seq = tp->rcv_nxt;
	}
	if (after(cb->seq, tp->rcv_nxt)) {
		tcp_data_queue_ofo(tp, skb);
		return;
	}
	/* In order. */
	if (skb->len && tcp_receive_window(tp) == 0) {
		mib_inc(s, MIB_TcpExtTCPZeroWindowDrop);
		tcp_schedule_ack(tp, true);
		skb_drop(s, skb, DROP_TCP_ZEROWINDOW);
		return;
	}
	if (skb->len && sk->rmem_alloc + skb_truesize(skb) > (uint32_t)sk->rcvbuf &&
	    !tcp_collapse_rcv(tp, skb_truesize(skb)) && !tcp_prune_ofo(tp, skb_truesize(skb))) {
		mib_inc(s, MIB_TcpExtTCPRcvQDrop);
		tcp_schedule_ack(tp, true);
		skb_drop(s, skb, DROP_SOCKET_RCVBUFF);
		return;
	}
	tp->rcv_nxt = cb->end_seq;
	bool had_ooo = tp->ooo_queue.qlen != 0;
	if (skb->len) {
		tcp_event_data_recv(tp, skb);
		tcp_queue_rcv(tp, skb);
	} else {
		skb_free(skb);
	}
	tcp_schedule_ack(tp, false);
	tp->segs_since_ack++;
	if (fin)
		tcp_fin(tp);
	if (had_ooo) {
		tcp_ofo_queue(tp);
		/* A hole filled: ACK at once (quick ACK after loss). */
		if (!tp->ooo_queue.qlen)
			tcp_schedule_ack(tp, true);
	}
	if (!fin)
		sock_wakeup(sk, EPOLLIN | EPOLLRDNORM);
}

/* After the reader took data: send a window update if the window grew a
 * lot, or the ACK owed (tcp_cleanup_rbuf). */
void tcp_cleanup_rbuf(struct tcp_sock *tp, uint32_t copied)
{
	struct sock *sk = &tp->sk;
	if (sk->state == TCP_CLOSE || sk->state == TCP_LISTEN || sk->state == TCP_SYN_SENT)
		return;
	bool time_to_ack = false;
	uint32_t mss = tp->rcv_mss ? tp->rcv_mss : tp->advmss;
	if (tp->ack_pending && (tp->rcv_nxt - tp->rcv_wup > mss || tp->quick))
		time_to_ack = true;
	if (copied && !time_to_ack && !(sk->shutdown & RCV_SHUTDOWN)) {
		uint32_t now_win = tcp_receive_window(tp);
		uint32_t clamp = tp->window_clamp ? tp->window_clamp : 65535;
		if (2 * now_win <= clamp) {
			uint32_t free_space = tcp_space(tp);
			if (free_space > tp->rcv_ssthresh)
				free_space = tp->rcv_ssthresh;
			if (free_space >= mss && free_space >= 2 * now_win)
				time_to_ack = true;
		}
	}
	if (time_to_ack)
		tcp_send_ack(tp);
}

/* ---- validating a segment (RFC 9293 3.10.7.4 first to fourth) ---- */

static bool tcp_paws_discard(const struct tcp_sock *tp, const struct tcp_skb_cb *cb)
{
	struct us_stack *s = tp->sk.stack;
	if (!cb->ts_ok || !tp->tstamp_ok || !tp->ts_recent_stamp)
		return false;
	/* RFC 7323 5.5: TS.Recent older than 24 days is invalid. */
	if (s->now_ms - tp->ts_recent_stamp > TCP_PAWS_24DAYS_MS)
		return false;
	return (int32_t)(tp->ts_recent - cb->tsval) > 0;
}

/* RFC 7323 4.3: remember the newest timestamp of in-window segments. */
static void tcp_store_ts_recent(struct tcp_sock *tp, const struct tcp_skb_cb *cb)
{
	if (cb->ts_ok && tp->tstamp_ok && !after(cb->seq, tp->rcv_wup) &&
	    (int32_t)(cb->tsval - tp->ts_recent) >= 0) {
		tp->ts_recent = cb->tsval;
		tp->ts_recent_stamp = tp->sk.stack->now_ms;
	}
}

static bool tcp_validate_incoming(struct tcp_sock *tp, struct skb *skb)
{
	struct us_stack *s = tp->sk.stack;
	struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	uint8_t flags = cb->tcp_flags;
	if (tcp_paws_discard(tp, cb) && !(flags & TCPHDR_RST)) {
		mib_inc(s, MIB_TcpExtPAWSEstab);
		tcp_send_dupack(tp);
		skb_drop(s, skb, DROP_TCP_PAWS);
		return false;
	}
	if (!tcp_sequence(tp, cb->seq, cb->end_seq)) {
		if (!(flags & TCPHDR_RST)) {
			if (flags & TCPHDR_SYN)
				goto syn_challenge;
			tcp_send_dupack(tp);
		}
		skb_drop(s, skb, DROP_TCP_INVALID_SEQ);
		return false;
	}
	if (flags & TCPHDR_RST) {
		/* RFC 5961 3.2: only the exact next sequence resets; another
		 * in the window gets a challenge ACK. */
		if (cb->seq == tp->rcv_nxt) {
			tcp_reset(tp);
		} else {
			tcp_send_challenge_ack(tp);
		}
		skb_drop(s, skb, DROP_TCP_RST);
		return false;
	}
	if ((flags & TCPHDR_SYN) && tp->sk.state == TCP_SYN_RECV && (flags & TCPHDR_ACK) &&
	    cb->seq + 1 == cb->end_seq && cb->seq + 1 == tp->rcv_nxt && cb->ack_seq == tp->snd_nxt) {
		/* Simultaneous open (RFC 9293 figure 8): the SYN-ACK answering
		 * ours completes the handshake, as in Linux. */
		tcp_store_ts_recent(tp, cb);
		return true;
	}
	if (flags & TCPHDR_SYN) {
syn_challenge:
		/* RFC 5961 4.2: a SYN in a synchronized state is challenged. */
		mib_inc(s, MIB_TcpExtTCPSYNChallenge);
		tcp_send_challenge_ack(tp);
		skb_drop(s, skb, DROP_TCP_FLAGS);
		return false;
	}
	tcp_store_ts_recent(tp, cb);
	return true;
}

/* Header prediction (Van Jacobson; tcp_rcv_established's fast path): in
 * ESTABLISHED, the next in-order segment with only ACK (and PSH) set, an
 * unchanged window and an ACK inside what we sent. */
static bool tcp_fast_path(struct tcp_sock *tp, struct skb *skb)
{
	struct sock *sk = &tp->sk;
	struct us_stack *s = sk->stack;
	struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	if (sk->state != TCP_ESTABLISHED || (cb->tcp_flags & ~TCPHDR_PSH) != TCPHDR_ACK ||
	    cb->seq != tp->rcv_nxt || after(cb->ack_seq, tp->snd_nxt) ||
	    before(cb->ack_seq, tp->snd_una) || tp->ooo_queue.qlen || tp->ca_state != TCP_CA_Open ||
	    ((uint32_t)cb->window << tp->snd_wscale) != tp->snd_wnd || tp->urg_pending)
		return false;
	if (tp->tstamp_ok) {
		if (!cb->ts_ok || (int32_t)(cb->tsval - tp->ts_recent) < 0)
			return false;
	}
	if (skb->len == 0) {
		if (cb->ack_seq == tp->snd_una)
			return false; /* a duplicate: the slow path counts it */
		tcp_store_ts_recent(tp, cb);
		mib_inc(s, MIB_TcpExtTCPHPAcks);
		tcp_ack(tp, skb);
		skb_free(skb);
		tcp_push(tp, false);
		return true;
	}
	if (skb->len > tcp_receive_window(tp) ||
	    sk->rmem_alloc + skb_truesize(skb) > (uint32_t)sk->rcvbuf)
		return false;
	tcp_store_ts_recent(tp, cb);
	mib_inc(s, MIB_TcpExtTCPHPHits);
	tp->rcv_nxt = cb->end_seq;
	tcp_event_data_recv(tp, skb);
	bool acks = cb->ack_seq != tp->snd_una;
	tcp_queue_rcv(tp, skb);
	if (acks) {
		struct skb fake;
		memset(&fake, 0, sizeof(fake));
		*TCP_SKB_CB(&fake) = *cb;
		fake.len = 1; /* carried data: not a duplicate ACK */
		tcp_ack(tp, &fake);
		tcp_push(tp, false);
	}
	tcp_schedule_ack(tp, false);
	tp->segs_since_ack++;
	tcp_ack_snd_check(tp);
	sock_wakeup(sk, EPOLLIN | EPOLLRDNORM);
	return true;
}

/* The peer's SYN (in a SYN-ACK, or crossing ours): its sequence space,
 * and the options both sides offered (RFC 7323 2.2/3.2, RFC 2018 3,
 * RFC 9293 3.7.1 default MSS). */
static void tcp_rcv_peer_syn(struct tcp_sock *tp, const struct tcp_skb_cb *cb, const struct tcp_opts *opt)
{
	tp->irs = cb->seq;
	tp->rcv_nxt = cb->seq + 1;
	tp->rcv_wup = tp->rcv_nxt;
	tp->copied_seq = tp->rcv_nxt;
	tp->tstamp_ok = tp->tstamp_ok && opt->ts_ok;
	if (tp->tstamp_ok) {
		tp->ts_recent = opt->tsval;
		tp->ts_recent_stamp = tp->sk.stack->now_ms;
	}
	if (tp->wscale_ok && opt->wscale_ok) {
		tp->snd_wscale = opt->wscale;
	} else {
		tp->wscale_ok = false;
		tp->snd_wscale = tp->rcv_wscale = 0;
	}
	tp->sack_ok = tp->sack_ok && opt->sack_ok;
	tp->rx_mss = opt->mss_ok ? opt->mss : TCP_MSS_DEFAULT;
}

/* SYN_SENT (RFC 9293 3.10.7.3). */
static void tcp_rcv_synsent(struct tcp_sock *tp, struct skb *skb, const struct tcp_repr *th,
			    const struct tcp_opts *opt)
{
	struct sock *sk = &tp->sk;
	struct us_stack *s = sk->stack;
	struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	uint8_t flags = cb->tcp_flags;
	if (flags & TCPHDR_ACK) {
		if (!after(cb->ack_seq, tp->iss) || after(cb->ack_seq, tp->snd_nxt)) {
			if (!(flags & TCPHDR_RST))
				tcp_v4_send_reset(s, skb, th, sk->daddr, sk->saddr);
			skb_drop(s, skb, DROP_TCP_FLAGS);
			return;
		}
		/* RFC 7323 5.5: PAWS in SYN_SENT, when our SYN had a TSval. */
		if (opt->ts_ok && opt->tsecr && tp->tstamp_ok &&
		    (int32_t)(opt->tsecr - tcp_time_stamp(s, tp->ts_off)) > 0) {
			mib_inc(s, MIB_TcpExtPAWSActive);
			skb_drop(s, skb, DROP_TCP_PAWS);
			return;
		}
		if (flags & TCPHDR_RST) {
			mib_inc(s, MIB_TcpAttemptFails);
			tcp_reset(tp);
			skb_drop(s, skb, DROP_TCP_RST);
			return;
		}
		if (!(flags & TCPHDR_SYN)) {
			skb_drop(s, skb, DROP_TCP_FLAGS);
			return;
		}
		/* A SYN-ACK for our SYN. */
		tcp_rcv_peer_syn(tp, cb, opt);
		tp->snd_wl1 = cb->seq;
		tp->snd_wl2 = cb->ack_seq;
		tcp_ack(tp, skb);
		tp->snd_wnd = th->window; /* not scaled in a SYN */
		tp->max_window = tp->snd_wnd;
		tcp_sync_mss(tp, tcp_route_mtu(tp));
		tcp_set_state(tp, TCP_ESTABLISHED);
		tcp_init_transfer(tp);
		sock_wakeup(sk, EPOLLOUT | EPOLLWRNORM);
		tcp_send_ack(tp);
		if (skb->len || (flags & TCPHDR_FIN)) {
			cb->seq++; /* past the SYN */
			tcp_data_queue(tp, skb);
			tcp_ack_snd_check(tp);
		} else {
			skb_free(skb);
		}
		tcp_push(tp, false);
		return;
	}
	if (flags & TCPHDR_RST) {
		skb_drop(s, skb, DROP_TCP_RST);
		return;
	}
	if (flags & TCPHDR_SYN) {
		/* Simultaneous open (RFC 9293 3.5, figure 8). */
		tcp_rcv_peer_syn(tp, cb, opt);
		tp->snd_wnd = th->window;
		tp->max_window = tp->snd_wnd;
		tp->snd_wl1 = cb->seq;
		tcp_sync_mss(tp, tcp_route_mtu(tp));
		tcp_set_state(tp, TCP_SYN_RECV);
		tcp_send_synack(tp);
	}
	skb_drop(s, skb, DROP_TCP_FLAGS);
}

void tcp_init_transfer(struct tcp_sock *tp)
{
	struct us_stack *s = tp->sk.stack;
	/* RFC 6928 initial window; one segment if the handshake needed a
	 * retransmission (RFC 6298 5.7, RFC 5681 3.1). */
	tp->snd_cwnd = tp->total_retrans ? 1 : TCP_INIT_CWND;
	tp->snd_cwnd_cnt = 0;
	tp->snd_sml = tp->snd_una;
	tp->highest_sack = tp->snd_una;
	tp->lsndtime = s->now_ms;
	tp->rcv_tstamp = s->now_ms;
	tp->rcvq_space = 10u * tp->advmss;
	tp->rcvq_seq = tp->copied_seq;
	tp->rcvq_time_ms = s->now_ms;
	tp->retransmits = 0;
	tp->backoff = 0;
	tp->retrans_stamp = 0;
	if (tp->srtt_us)
		tcp_set_rto(tp);
	else
		tp->rto_ms = TCP_TIMEOUT_INIT_MS;
	tcp_enter_quickack_mode(tp);
	tcp_sndbuf_expand(tp);
	if (tp->ca_ops->init)
		tp->ca_ops->init(tp);
	if (tp->sk.keepalive)
		tcp_set_keepalive(tp, true);
}

/* The slow path, every state but LISTEN and TIME_WAIT (RFC 9293 3.10.7.4). */
static void tcp_rcv_state_process(struct tcp_sock *tp, struct skb *skb, const struct tcp_repr *th,
				  const struct tcp_opts *opt)
{
	struct sock *sk = &tp->sk;
	struct us_stack *s = sk->stack;
	struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	switch (sk->state) {
	case TCP_CLOSE:
	case TCP_LISTEN:
		skb_drop(s, skb, DROP_TCP_FLAGS);
		return;
	case TCP_SYN_SENT:
		tcp_rcv_synsent(tp, skb, th, opt);
		return;
	default:
		break;
	}
	if (!tcp_validate_incoming(tp, skb))
		return;
	if (!(cb->tcp_flags & TCPHDR_ACK)) {
		/* RFC 9293: "if the ACK bit is off, drop the segment". */
		skb_drop(s, skb, DROP_TCP_FLAGS);
		return;
	}
	int acceptable = tcp_ack(tp, skb);
	if (sk->state == TCP_SYN_RECV) {
		if (acceptable <= 0 || tp->snd_una != tp->iss + 1) {
			tcp_v4_send_reset(s, skb, th, sk->daddr, sk->saddr);
			skb_drop(s, skb, DROP_TCP_FLAGS);
			return;
		}
		tp->snd_wnd = (uint32_t)cb->window << tp->snd_wscale;
		tp->max_window = tp->snd_wnd;
		tp->snd_wl1 = cb->seq;
		tp->snd_wl2 = cb->ack_seq;
		tcp_set_state(tp, TCP_ESTABLISHED);
		tcp_init_transfer(tp);
		sock_wakeup(sk, EPOLLOUT | EPOLLWRNORM);
	} else if (acceptable < 0) {
		skb_drop(s, skb, (enum drop_reason)-acceptable);
		return;
	}
	bool fin_acked = tp->fin_queued && tp->snd_una == tp->write_seq;
	switch (sk->state) {
	case TCP_FIN_WAIT1:
		if (fin_acked) {
			tcp_set_state(tp, TCP_FIN_WAIT2);
			sk->shutdown |= SEND_SHUTDOWN;
			sock_wakeup(sk, 0);
			if (tp->orphan) {
				/* An orphan waits for the peer's FIN at most
				 * linger2 (tcp_fin_timeout); data after close
				 * aborts (TCPAbortOnData). */
				if (tp->linger2_s < 0 || (skb->len && after(cb->end_seq, tp->rcv_nxt))) {
					/* Linux answers the segment:
					 * <SEQ=SEG.ACK><CTL=RST>. */
					mib_inc(s, MIB_TcpExtTCPAbortOnData);
					tcp_v4_send_reset(s, skb, th, sk->daddr, sk->saddr);
					tcp_done(tp);
					skb_free(skb);
					return;
				}
				tcp_reset_keepalive_timer(tp, tcp_fin_time_ms(tp));
			}
		}
		break;
	case TCP_CLOSING:
		if (fin_acked) {
			tcp_time_wait(tp, TCP_TIME_WAIT, s->tcp.timewait_ms);
			skb_free(skb);
			return;
		}
		break;
	case TCP_LAST_ACK:
		if (fin_acked) {
			tcp_done(tp);
			skb_free(skb);
			return;
		}
		break;
	default:
		break;
	}
	/* The text (seventh step) and the FIN (eighth). */
	switch (sk->state) {
	case TCP_CLOSE_WAIT:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
		/* The peer's FIN came already: data after it is ignored (a
		 * bare ACK carries nothing more to queue). */
		if (!before(cb->seq, tp->rcv_nxt)) {
			if (skb->len)
				skb_drop(s, skb, DROP_TCP_CLOSE);
			else
				skb_free(skb);
			break;
		}
		tcp_data_queue(tp, skb);
		break;
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
		if ((sk->shutdown & RCV_SHUTDOWN) && skb->len &&
		    after(cb->end_seq - ((cb->tcp_flags & TCPHDR_FIN) ? 1 : 0), tp->rcv_nxt)) {
			/* RFC 1122 4.2.2.13: new data for a reader that is gone
			 * (closed, or shut down for reading with our FIN out):
			 * reset, answering the segment (<SEQ=SEG.ACK><CTL=RST>),
			 * and ECONNRESET for the owner, as Linux's tcp_reset. */
			mib_inc(s, MIB_TcpExtTCPAbortOnData);
			tcp_v4_send_reset(s, skb, th, sk->daddr, sk->saddr);
			tcp_reset(tp);
			skb_free(skb);
			return;
		}
		tcp_data_queue(tp, skb);
		break;
	case TCP_ESTABLISHED:
		tcp_data_queue(tp, skb);
		break;
	default:
		skb_free(skb);
		break;
	}
	if (sk->state == TCP_CLOSE || sk->state == TCP_TIME_WAIT || !tp->in_ehash)
		return;
	tcp_push(tp, false);
	tcp_ack_snd_check(tp);
}

/* ---- lookup and demultiplexing (tcp_v4_rcv) ---- */

static void tcp_child_process(struct tcp_sock *child, struct skb *skb, const struct tcp_repr *th,
			      const struct tcp_opts *opt)
{
	if (!tcp_fast_path(child, skb))
		tcp_rcv_state_process(child, skb, th, opt);
}

static void tcp_rcv_listen(struct tcp_sock *lis, struct skb *skb, const struct tcp_repr *th,
			   const struct tcp_opts *opt, uint32_t saddr, uint32_t daddr)
{
	struct us_stack *s = lis->sk.stack;
	uint8_t flags = th->flags;
	if (flags & TCPHDR_RST) {
		skb_drop(s, skb, DROP_TCP_RST);
		return;
	}
	if (flags & TCPHDR_ACK) {
		/* No request for it: a SYN cookie, if we sent cookies lately
		 * (cookie_v4_check), else a stray ACK that gets a RST. */
		if (!(flags & TCPHDR_SYN) && lis->synq_overflow_ms &&
		    s->now_ms - lis->synq_overflow_ms < 120000) {
			struct tcp_sock *child = tcp_cookie_check(lis, skb, th, opt, saddr, daddr);
			if (!child) { /* no room for it: ignored, as a full accept queue */
				skb_drop(s, skb, DROP_TCP_FLAGS);
				return;
			}
			if (child != lis) {
				tcp_child_process(child, skb, th, opt);
				return;
			}
			/* Not one of our cookies (cookie_v4_check returns the
			 * listener): a stray ACK, reset below. */
		}
		tcp_v4_send_reset(s, skb, th, saddr, daddr);
		skb_drop(s, skb, DROP_TCP_NO_SOCKET);
		return;
	}
	if ((flags & TCPHDR_SYN) && !(flags & TCPHDR_FIN)) {
		tcp_conn_request(lis, skb, th, opt, saddr, daddr);
		skb_free(skb);
		return;
	}
	skb_drop(s, skb, DROP_TCP_FLAGS);
}

int tcp_v4_rcv(struct skb *skb)
{
	struct us_stack *s = skb->dev->stack;
	mib_inc(s, MIB_TcpInSegs);
	if (skb->pkt_type != PACKET_HOST && skb->pkt_type != PACKET_LOOPBACK) {
		skb_drop(s, skb, DROP_OTHERHOST);
		return 0;
	}
	const uint8_t *nh = skb_network_header(skb);
	struct ip_repr ip;
	ipv4_parse_quoted(nh, (size_t)(skb->tail - nh), &ip);
	if (ipv4_is_multicast(ip.daddr) || inet_addr_is_bcast_for(s, skb->dev, ip.daddr)) {
		skb_drop(s, skb, DROP_OTHERHOST);
		return 0;
	}
	struct tcp_repr th;
	switch (tcp_parse(skb->data, skb->len, ip.saddr, ip.daddr, &th)) {
	case TCP_OK:
		break;
	case TCP_ECSUM:
		mib_inc(s, MIB_TcpInCsumErrors);
		mib_inc(s, MIB_TcpInErrs);
		skb_drop(s, skb, DROP_TCP_CSUM);
		return 0;
	default:
		mib_inc(s, MIB_TcpInErrs);
		skb_drop(s, skb, DROP_TCP_MALFORMED);
		return 0;
	}
	struct tcp_opts opt;
	tcp_parse_options(skb->data, th.doff, th.flags & TCPHDR_SYN, &opt);
	skb_pull(skb, th.doff);
	int iif = IPCB(skb)->iif;
	struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	memset(cb, 0, sizeof(*cb));
	cb->seq = th.seq;
	cb->end_seq = th.seq + skb->len + ((th.flags & TCPHDR_SYN) ? 1 : 0) +
		      ((th.flags & TCPHDR_FIN) ? 1 : 0);
	cb->ack_seq = th.ack;
	cb->tcp_flags = th.flags;
	cb->window = th.window;
	cb->ts_ok = opt.ts_ok;
	cb->tsval = opt.tsval;
	cb->tsecr = opt.tsecr;
	for (unsigned i = 0; i < opt.num_sacks; i++) {
		if (!cb->has_sack || after(opt.sacks[i].end, cb->sack_end))
			cb->sack_end = opt.sacks[i].end;
		cb->has_sack = true;
	}

	struct tcp_sock *tp = tcp_ehash_lookup(s, ip.daddr, th.dport, ip.saddr, th.sport);
	if (tp && tp->sk.state == TCP_TIME_WAIT) {
		if (!tcp_timewait_state_process(tp, skb, &th, &opt))
			return 0;
		tp = NULL; /* a SYN recycles the connection: to the listener */
	}
	if (tp) {
		/* Processing may end the connection (an orphan reaching
		 * TIME_WAIT is freed): hold it until we are done, as Linux's
		 * lookup does. */
		sock_hold(&tp->sk);
		tp->segs_in++;
		if (!tcp_fast_path(tp, skb))
			tcp_rcv_state_process(tp, skb, &th, &opt);
		sock_put(&tp->sk);
		return 0;
	}
	struct tcp_request *req = tcp_req_lookup(s, ip.daddr, th.dport, ip.saddr, th.sport);
	if (req) {
		tcp_check_req(req, skb, &th, &opt, ip.saddr, ip.daddr);
		return 0;
	}
	struct tcp_sock *lis = tcp_lhash_lookup(s, ip.daddr, th.dport, iif);
	if (lis) {
		tcp_rcv_listen(lis, skb, &th, &opt, ip.saddr, ip.daddr);
		return 0;
	}
	/* RFC 9293 3.10.7.1: nobody is here. */
	tcp_v4_send_reset(s, skb, &th, ip.saddr, ip.daddr);
	skb_drop(s, skb, DROP_TCP_NO_SOCKET);
	return 0;
}

/* Called by tcp_check_req / cookies for a new child. */
void tcp_child_rcv(struct tcp_sock *child, struct skb *skb, const struct tcp_repr *th,
		   const struct tcp_opts *opt);
void tcp_child_rcv(struct tcp_sock *child, struct skb *skb, const struct tcp_repr *th,
		   const struct tcp_opts *opt)
{
	tcp_child_process(child, skb, th, opt);
}

/* ---- ICMP errors (tcp_v4_err, RFC 5927 checks, RFC 1191 PMTU) ---- */

void tcp_v4_err(struct us_stack *s, struct skb *skb, uint8_t type, uint8_t code, uint32_t info)
{
	const uint8_t *nh = skb_network_header(skb);
	struct ip_repr ip;
	ipv4_parse_quoted(nh, (size_t)(skb->tail - nh), &ip);
	uint16_t sport = get_be16(skb->data), dport = get_be16(skb->data + 2);
	uint32_t seq = get_be32(skb->data + 4);
	struct tcp_sock *tp = tcp_ehash_lookup(s, ip.saddr, sport, ip.daddr, dport);
	if (!tp || tp->sk.state == TCP_TIME_WAIT)
		return;
	/* RFC 5927 4.1: the quoted sequence number must be in flight. */
	if (!between(seq, tp->snd_una, tp->snd_nxt)) { /* SYN_SENT too: seq must be the ISS */
		mib_inc(s, MIB_TcpExtOutOfWindowIcmps);
		return;
	}
	if (type == ICMP_SOURCE_QUENCH)
		return; /* RFC 6633: ignored */
	if (type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED) {
		/* RFC 1191: a smaller path MTU; resend what no longer fits. */
		uint32_t mtu = info & 0xffff;
		if (mtu < 68 || mtu >= tp->pmtu)
			return;
		if (mtu < 552)
			mtu = 552; /* Linux's min_pmtu */
		uint16_t old = tp->mss_cache;
		tcp_sync_mss(tp, mtu);
		if (tp->mss_cache < old) {
			struct skb *q;
			list_for_each_entry(q, &tp->rtx_queue.head, list) {
				struct tcp_skb_cb *qcb = TCP_SKB_CB(q);
				if (q->len > tp->mss_cache && !(qcb->sacked & TCPCB_LOST)) {
					qcb->sacked |= TCPCB_LOST;
					tp->lost_out++;
				}
			}
			tcp_xmit_retransmit_queue(tp);
		}
		return;
	}
	bool hard;
	int err = icmp_err_to_errno(type, code, &hard);
	if (!err)
		return;
	if (tp->sk.state == TCP_SYN_SENT || tp->sk.state == TCP_SYN_RECV) {
		/* The handshake fails at once (tcp_v4_err). */
		mib_inc(s, MIB_TcpAttemptFails);
		tcp_write_err(tp, err);
		return;
	}
	/* Established: remembered, reported if the connection times out. */
	tp->err_soft = err;
}
