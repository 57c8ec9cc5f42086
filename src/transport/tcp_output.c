/*
 * TCP output (Linux's tcp_output.c): segments leave through
 * tcp_transmit_skb, which puts the TCP header on a clone of the queued
 * segment and hands it to ip_send_skb. tcp_write_xmit decides what may
 * go: the congestion window (RFC 5681), the peer's window, Nagle
 * (RFC 896, Minshall's variant as Linux), TCP_CORK, and the sender's
 * silly-window avoidance (RFC 1122 4.2.3.4).
 */
#include <errno.h>
#include <sys/epoll.h>
#include <string.h>

#include "../core/stack.h"
#include "tcp.h"

uint32_t tcp_packets_in_flight(const struct tcp_sock *tp)
{
	return tp->packets_out - tp->lost_out + tp->retrans_out;
}

static struct rtable *tcp_route(struct tcp_sock *tp, struct rtable *rt)
{
	struct sock *sk = &tp->sk;
	if (ip_route_output(sk->stack, sk->daddr, sk->saddr, sk->bound_dev_if, rt) < 0)
		return NULL;
	return rt;
}

/* RFC 1122 4.2.3.3 (receiver SWS avoidance) and RFC 7323 2.3, as Linux's
 * __tcp_select_window + tcp_select_window: the window offered is the free
 * buffer space, moved only in steps of at least one MSS, never shrunk
 * below what was offered, scaled by our shift. */
uint16_t tcp_select_window(struct tcp_sock *tp)
{
	uint32_t mss = tp->rcv_mss ? tp->rcv_mss : tp->advmss;
	if (mss > tp->advmss)
		mss = tp->advmss;
	uint32_t free_space = tcp_space(tp);
	uint32_t full_space = (uint32_t)tp->sk.rcvbuf / 2;
	if (tp->window_clamp && full_space > tp->window_clamp)
		full_space = tp->window_clamp;
	uint32_t window;
	if (free_space < full_space / 2 && free_space < mss) {
		window = 0;
	} else {
		if (free_space > tp->rcv_ssthresh)
			free_space = tp->rcv_ssthresh;
		if (tp->window_clamp && free_space > tp->window_clamp)
			free_space = tp->window_clamp;
		uint32_t cur = tp->rcv_wup + tp->rcv_wnd - tp->rcv_nxt;
		if ((int32_t)cur < 0)
			cur = 0;
		window = cur;
		if (tp->rcv_wscale) {
			/* Scaled windows move in units of the scale. */
			window = free_space & ~((1u << tp->rcv_wscale) - 1);
		} else if (window <= free_space - mss || window > free_space) {
			window = (free_space / mss) * mss;
		}
	}
	uint32_t cur_win = tp->rcv_wup + tp->rcv_wnd - tp->rcv_nxt;
	if ((int32_t)cur_win < 0)
		cur_win = 0;
	/* Never shrink the window (RFC 9293 3.8.6.2.1). */
	if (window < cur_win) {
		uint32_t unit = 1u << tp->rcv_wscale;
		window = (cur_win + unit - 1) & ~(unit - 1);
	}
	uint32_t max = 65535u << tp->rcv_wscale;
	if (window > max)
		window = max;
	struct us_stack *s = tp->sk.stack;
	if (window == 0 && tp->rcv_wnd != 0)
		mib_inc(s, MIB_TcpExtTCPToZeroWindowAdv);
	else if (window != 0 && tp->rcv_wnd == 0 && tp->rcv_nxt != tp->irs + 1)
		mib_inc(s, MIB_TcpExtTCPFromZeroWindowAdv);
	tp->rcv_wnd = window;
	tp->rcv_wup = tp->rcv_nxt;
	return (uint16_t)(window >> tp->rcv_wscale);
}

/* RFC 2018 4: what the out-of-order queue holds, as SACK blocks, the
 * block with the latest segment first, at most 3 beside a timestamp. */
static void tcp_sack_blocks(const struct tcp_sock *tp, struct tcp_opts *o)
{
	struct tcp_sack_block blk[16];
	unsigned n = 0;
	struct skb *skb;
	list_for_each_entry(skb, &tp->ooo_queue.head, list) {
		const struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
		if (n && !after(cb->seq, blk[n - 1].end)) {
			if (after(cb->end_seq, blk[n - 1].end))
				blk[n - 1].end = cb->end_seq;
		} else if (n < 16) {
			blk[n].start = cb->seq;
			blk[n].end = cb->end_seq;
			n++;
		}
	}
	unsigned max = o->ts_ok ? 3 : 4;
	o->num_sacks = 0;
	for (unsigned i = 0; i < n; i++) /* the latest first */
		if (!before(tp->sack_recent, blk[i].start) && before(tp->sack_recent, blk[i].end))
			o->sacks[o->num_sacks++] = blk[i];
	for (unsigned i = 0; i < n && o->num_sacks < max; i++)
		if (!(!before(tp->sack_recent, blk[i].start) && before(tp->sack_recent, blk[i].end)))
			o->sacks[o->num_sacks++] = blk[i];
}

/* An ACK (alone or with data) went out: the delayed ACK is settled. */
static void tcp_event_ack_sent(struct tcp_sock *tp)
{
	if (tp->quick)
		tp->quick--;
	tp->ack_pending = false;
	tp->ack_now = false;
	tp->segs_since_ack = 0;
	stack_timer_del(tp->sk.stack, &tp->delack_timer);
}

/* Puts the TCP header on (a clone of) skb and sends it. */
int tcp_transmit_skb(struct tcp_sock *tp, struct skb *skb, bool clone)
{
	struct sock *sk = &tp->sk;
	struct us_stack *s = sk->stack;
	struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	struct skb *c = skb;
	if (clone) {
		/* A transmission still queued below us (a qdisc, loopback)
		 * shares the headroom: copy instead (tcp_transmit_skb's
		 * pskb_copy). */
		c = skb_cloned(skb) ? skb_copy(skb, 0) : skb_clone(skb);
		if (!c)
			return -ENOBUFS;
	}
	bool syn = cb->tcp_flags & TCPHDR_SYN;
	struct tcp_opts o;
	memset(&o, 0, sizeof(o));
	if (syn) {
		o.mss_ok = true;
		o.mss = tp->advmss;
		o.wscale_ok = tp->wscale_ok;
		o.wscale = tp->rcv_wscale;
		o.sack_ok = tp->sack_ok;
	}
	if (tp->tstamp_ok && !(cb->tcp_flags & TCPHDR_RST)) {
		o.ts_ok = true;
		o.tsval = tcp_time_stamp(s, tp->ts_off);
		o.tsecr = tp->ts_recent;
	}
	if (tp->sack_ok && !syn && (cb->tcp_flags & TCPHDR_ACK) && !(cb->tcp_flags & TCPHDR_RST) &&
	    tp->ooo_queue.qlen) {
		tcp_sack_blocks(tp, &o);
		/* Within the path MTU: a full segment has room for none
		 * (Linux takes them out of the MSS instead). */
		uint32_t mtu = tp->pmtu ? tp->pmtu : 576;
		uint32_t used = IPV4_HLEN + TCP_HLEN + (o.ts_ok ? 12u : 0u) + c->len;
		uint32_t room = mtu > used + 4 ? mtu - used - 4 : 0;
		if (o.num_sacks > room / 8)
			o.num_sacks = (uint8_t)(room / 8);
	}
	uint8_t optlen = tcp_options_len(&o, syn);
	uint32_t datalen = c->len;
	uint8_t *th = skb_push(c, TCP_HLEN + optlen);
	skb_reset_transport_header(c);
	struct tcp_repr r = {
		.sport = sk->num,
		.dport = sk->dport,
		.seq = cb->seq,
		.ack = (cb->tcp_flags & TCPHDR_ACK) ? tp->rcv_nxt : 0,
		.doff = (uint8_t)(TCP_HLEN + optlen),
		.flags = cb->tcp_flags,
	};
	if (syn) {
		/* RFC 7323 2.2: the window in a SYN is never scaled. */
		r.window = (uint16_t)(tp->rcv_wnd > 65535 ? 65535 : tp->rcv_wnd);
	} else if (cb->tcp_flags & TCPHDR_RST) {
		r.window = 0;
	} else {
		r.window = tcp_select_window(tp);
	}
	if (tp->urg_pending && after(tp->snd_up, cb->seq)) {
		uint32_t up = tp->snd_up - cb->seq;
		r.flags |= TCPHDR_URG;
		r.urg_ptr = (uint16_t)(up > 65535 ? 65535 : up);
	}
	tcp_emit(th, &r);
	tcp_emit_options(th + TCP_HLEN, &o, syn);
	tcp_set_checksum(th, c->len, sk->saddr, sk->daddr);

	if (cb->tcp_flags & TCPHDR_ACK)
		tcp_event_ack_sent(tp);
	if (datalen) {
		tp->lsndtime = s->now_ms;
		tp->data_segs_out++;
		/* Sending data while an ACK is owed: we are in an
		 * interactive exchange (Linux's pingpong). */
	}
	tp->segs_out++;
	mib_inc(s, MIB_TcpOutSegs);
	if (cb->tcp_flags & TCPHDR_RST)
		mib_inc(s, MIB_TcpOutRsts);

	struct rtable rt;
	if (!tcp_route(tp, &rt)) {
		mib_inc(s, MIB_IpOutNoRoutes);
		skb_drop(s, c, DROP_IP_OUTNOROUTES);
		return -EHOSTUNREACH;
	}
	struct ip_tx tx = {
		.saddr = sk->saddr,
		.daddr = sk->daddr,
		.protocol = IPPROTO_TCP_,
		.ttl = sk->ttl > 0 ? (uint8_t)sk->ttl : 0,
		.tos = sk->tos,
		.df = true, /* path MTU discovery (RFC 1191), as Linux */
		.oif = sk->bound_dev_if,
		.rt = &rt,
	};
	int err = ip_send_skb(s, c, &tx);
	return err == -ENOBUFS ? 0 : err;
}

/* Splits skb (in queue q) so that it carries len bytes; the rest becomes
 * a new skb after it (tcp_fragment). */
static int tcp_fragment(struct tcp_sock *tp, struct skb_queue *q, struct skb *skb, uint32_t len)
{
	struct us_stack *s = tp->sk.stack;
	if (len >= skb->len)
		return 0;
	uint32_t rest = skb->len - len;
	struct skb *n = skb_alloc_tx(s->pool, rest);
	if (!n)
		return -ENOBUFS;
	memcpy(skb_put(n, rest), skb->data + len, rest);
	struct tcp_skb_cb *cb = TCP_SKB_CB(skb), *ncb = TCP_SKB_CB(n);
	*ncb = *cb;
	ncb->seq = cb->seq + len;
	/* FIN and PSH belong to the tail. */
	cb->tcp_flags &= (uint8_t)~(TCPHDR_FIN | TCPHDR_PSH);
	cb->end_seq = ncb->seq;
	if (q)
		q->bytes -= rest;
	skb_trim(skb, len);
	list_insert_(&n->list, &skb->list, skb->list.next);
	if (q) {
		q->qlen++;
		q->bytes += rest;
	}
	tp->wmem_queued += skb_truesize(n);
	if (q == &tp->rtx_queue) {
		tp->packets_out++;
		if (cb->sacked & TCPCB_LOST)
			tp->lost_out++;
		if (cb->sacked & TCPCB_RETRANS)
			tp->retrans_out++;
	}
	return 0;
}

/* Moves a segment from the write queue to the retransmission queue as it
 * is sent for the first time (tcp_event_new_data_sent). */
static void tcp_event_new_data_sent(struct tcp_sock *tp, struct skb *skb)
{
	struct us_stack *s = tp->sk.stack;
	skb_unlink(&tp->write_queue, skb);
	skb_queue_tail(&tp->rtx_queue, skb);
	uint32_t prior_packets = tp->packets_out;
	tp->snd_nxt = TCP_SKB_CB(skb)->end_seq;
	tp->packets_out++;
	tp->bytes_sent += skb->len;
	if (skb->len)
		mib_inc(s, MIB_TcpExtTCPOrigDataSent);
	if (!prior_packets || tp->rtx_timer_kind == ICSK_TIME_PROBE0)
		tcp_reset_rtx_timer(tp, ICSK_TIME_RETRANS, tp->rto_ms);
}

/* Nagle with Minshall's refinement: a small segment waits while another
 * small segment is unacknowledged, unless TCP_NODELAY. TCP_CORK holds
 * every partial segment. */
static bool tcp_nagle_hold(struct tcp_sock *tp, struct skb *skb, bool nagle_off)
{
	if (skb->len >= tp->mss_cache || (TCP_SKB_CB(skb)->tcp_flags & TCPHDR_FIN))
		return false;
	if (skb->list.next != &tp->write_queue.head)
		return false; /* not the last: more data follows it */
	if (nagle_off)
		return false; /* a forced push: TCP_NAGLE_PUSH, the cork timer */
	if (tp->cork || tp->more)
		return true;
	if (tp->nodelay)
		return false;
	return tp->packets_out && after(tp->snd_sml, tp->snd_una);
}

bool tcp_write_xmit(struct tcp_sock *tp, bool nagle_off)
{
	struct sock *sk = &tp->sk;
	bool sent = false;
	if (sk->state != TCP_ESTABLISHED && sk->state != TCP_CLOSE_WAIT &&
	    sk->state != TCP_FIN_WAIT1 && sk->state != TCP_LAST_ACK && sk->state != TCP_CLOSING)
		return false;
	struct skb *skb;
	while ((skb = skb_peek(&tp->write_queue)) != NULL) {
		/* RFC 5681 and RFC 3042 (limited transmit: up to two new
		 * segments for the first two duplicate ACKs). */
		uint32_t cwnd = tp->snd_cwnd;
		if (tp->ca_state == TCP_CA_Disorder)
			cwnd += tp->dupacks < 2 ? tp->dupacks : 2;
		if (tcp_packets_in_flight(tp) >= cwnd)
			break;
		struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
		uint32_t wnd_end = tp->snd_una + tp->snd_wnd;
		/* A FIN does not need window space. */
		uint32_t need_end = cb->end_seq - ((cb->tcp_flags & TCPHDR_FIN) ? 1 : 0);
		if (after(need_end, wnd_end)) {
			/* Only part fits: send it if it is large (RFC 1122
			 * 4.2.3.4: at least half the largest window seen),
			 * else wait for the window to open. */
			uint32_t avail = after(wnd_end, cb->seq) ? wnd_end - cb->seq : 0;
			if (avail == 0 || avail < tp->max_window / 2 || avail >= skb->len)
				break;
			if (tcp_fragment(tp, &tp->write_queue, skb, avail) < 0)
				break;
		}
		if (tcp_nagle_hold(tp, skb, nagle_off)) {
			if (tp->cork)
				tcp_arm_cork_timer(tp);
			break;
		}
		if (skb->len > tp->mss_cache && tcp_fragment(tp, &tp->write_queue, skb, tp->mss_cache) < 0)
			break;
		if (skb->len && (skb->list.next == &tp->write_queue.head ||
				 (cb->tcp_flags & TCPHDR_FIN)))
			cb->tcp_flags |= TCPHDR_PSH; /* a bare FIN has none (tcp_send_fin) */
		cb->tx_ns = stack_now_ns(sk->stack);
		if (skb->len < tp->mss_cache)
			tp->snd_sml = cb->end_seq; /* Minshall: last small segment */
		tcp_event_new_data_sent(tp, skb);
		tcp_transmit_skb(tp, skb, true);
		sent = true;
	}
	if (!sent && !tp->packets_out && tp->write_queue.qlen)
		tcp_check_probe_timer(tp);
	return sent;
}

/* tcp_write_wakeup: the persist timer found the window open but too
 * small for the next segment (sender SWS avoidance held it back): send
 * what fits, RFC 1122 4.2.3.4's override timeout. */
bool tcp_write_wakeup(struct tcp_sock *tp)
{
	struct skb *skb = skb_peek(&tp->write_queue);
	if (!skb || !skb->len)
		return false;
	struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	uint32_t wnd_end = tp->snd_una + tp->snd_wnd;
	if (!after(wnd_end, cb->seq))
		return false;
	uint32_t seg = wnd_end - cb->seq;
	if (seg > tp->mss_cache)
		seg = tp->mss_cache;
	if (seg < skb->len && tcp_fragment(tp, &tp->write_queue, skb, seg) < 0)
		return false;
	cb->tcp_flags |= TCPHDR_PSH;
	cb->tx_ns = stack_now_ns(tp->sk.stack);
	if (skb->len < tp->mss_cache)
		tp->snd_sml = cb->end_seq;
	tcp_event_new_data_sent(tp, skb);
	tcp_transmit_skb(tp, skb, true);
	return true;
}

void tcp_push(struct tcp_sock *tp, bool nagle_off)
{
	if (tp->write_queue.qlen)
		tcp_write_xmit(tp, nagle_off);
}

void tcp_check_probe_timer(struct tcp_sock *tp)
{
	if (!tp->packets_out && !timer_pending(&tp->rtx_timer)) {
		uint32_t when = tp->rto_ms << (tp->backoff < 10 ? tp->backoff : 10);
		if (when > TCP_RTO_MAX_MS)
			when = TCP_RTO_MAX_MS;
		tcp_reset_rtx_timer(tp, ICSK_TIME_PROBE0, when);
	}
}

/* A control segment with no data, not queued (ACK, RST, probe). */
static void tcp_send_ctl(struct tcp_sock *tp, uint32_t seq, uint8_t flags)
{
	struct us_stack *s = tp->sk.stack;
	struct skb *skb = skb_alloc_tx(s->pool, 0);
	if (!skb) {
		/* Out of memory: the delayed-ACK timer retries later. */
		if (flags == TCPHDR_ACK) {
			tp->ack_pending = true;
			stack_timer_mod(s, &tp->delack_timer, s->now_ms + TCP_RESOURCE_PROBE_MS);
		}
		return;
	}
	struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	memset(cb, 0, sizeof(*cb));
	cb->seq = cb->end_seq = seq;
	cb->tcp_flags = flags;
	tcp_transmit_skb(tp, skb, false);
}

void tcp_send_ack(struct tcp_sock *tp)
{
	if (tp->sk.state == TCP_CLOSE || tp->sk.state == TCP_LISTEN)
		return;
	tcp_send_ctl(tp, tp->snd_nxt, TCPHDR_ACK);
}

/* The delayed-ACK timer: at most ato, never beyond 200 ms (RFC 1122
 * 4.2.3.2 allows 500 ms). */
void tcp_send_delayed_ack(struct tcp_sock *tp)
{
	struct us_stack *s = tp->sk.stack;
	uint32_t ato = tp->ato_ms;
	if (ato > TCP_DELACK_MAX_MS)
		ato = TCP_DELACK_MAX_MS;
	if (ato < TCP_DELACK_MIN_MS)
		ato = TCP_DELACK_MIN_MS;
	uint64_t when = s->now_ms + ato;
	tp->ack_pending = true;
	/* An earlier deadline stands. */
	if (timer_pending(&tp->delack_timer) && tp->delack_timer.expires <= when)
		return;
	stack_timer_mod(s, &tp->delack_timer, when);
}

void tcp_send_probe(struct tcp_sock *tp)
{
	/* tcp_xmit_probe_skb: an old sequence number makes the peer answer
	 * with its current window. */
	tcp_send_ctl(tp, tp->snd_una - 1, TCPHDR_ACK);
}

void tcp_send_active_reset(struct tcp_sock *tp)
{
	tcp_send_ctl(tp, tp->snd_nxt, TCPHDR_ACK | TCPHDR_RST);
}

/* Queues our FIN: on the last unsent segment if there is one, else on a
 * segment of its own (tcp_send_fin). */
void tcp_send_fin(struct tcp_sock *tp)
{
	struct us_stack *s = tp->sk.stack;
	if (tp->fin_queued)
		return;
	tp->fin_queued = true;
	struct skb *tail = tp->write_queue.qlen
			   ? list_entry(tp->write_queue.head.prev, struct skb, list) : NULL;
	if (tail) {
		TCP_SKB_CB(tail)->tcp_flags |= TCPHDR_FIN;
		TCP_SKB_CB(tail)->end_seq++;
	} else {
		struct skb *skb = skb_alloc_tx(s->pool, 0);
		if (!skb) {
			/* Memory is short: the FIN goes alone, now, and the
			 * retransmission timer keeps trying. */
			tp->fin_queued = false;
			tcp_reset_rtx_timer(tp, ICSK_TIME_RETRANS, TCP_RESOURCE_PROBE_MS);
			return;
		}
		struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
		memset(cb, 0, sizeof(*cb));
		cb->seq = tp->write_seq;
		cb->end_seq = tp->write_seq + 1;
		cb->tcp_flags = TCPHDR_ACK | TCPHDR_FIN;
		skb_queue_tail(&tp->write_queue, skb);
		tp->wmem_queued += skb_truesize(skb);
	}
	tp->write_seq++;
	tcp_push(tp, true);
}

/* The window scale we offer: enough for the largest buffer we may grow
 * to (tcp_select_initial_window). */
static uint8_t tcp_rcv_wscale_for(struct us_stack *s, int rcvbuf, bool locked)
{
	uint32_t space = locked ? (uint32_t)rcvbuf : (uint32_t)s->tcp.rmem[2];
	uint8_t ws = 0;
	while (space > 65535 && ws < TCP_MAX_WSCALE) {
		space >>= 1;
		ws++;
	}
	return ws;
}

/* The first window: 64 KiB rounded down to whole segments (Linux offers
 * 64240 with a 1460-byte MSS), within the buffer. */
static uint32_t tcp_initial_window(uint32_t space, uint32_t mss)
{
	uint32_t w = space < 65535 ? space : 65535;
	if (mss && w > mss)
		w = (w / mss) * mss;
	return w;
}

int tcp_connect_send_syn(struct tcp_sock *tp)
{
	struct sock *sk = &tp->sk;
	struct us_stack *s = sk->stack;
	unsigned mtu = tcp_route_mtu(tp);
	tp->advmss = (uint16_t)(mtu - IPV4_HLEN - TCP_HLEN);
	if (tp->user_mss && tp->advmss > tp->user_mss)
		tp->advmss = tp->user_mss;
	tp->tstamp_ok = s->tcp.timestamps;
	tp->sack_ok = s->tcp.sack;
	tp->wscale_ok = s->tcp.window_scaling;
	tp->rcv_wscale = tp->wscale_ok ? tcp_rcv_wscale_for(s, sk->rcvbuf, tp->rcvbuf_locked) : 0;
	tp->window_clamp = tp->rcvbuf_locked ? (uint32_t)sk->rcvbuf / 2 : (uint32_t)s->tcp.rmem[2] / 2;
	tp->rcv_wnd = tcp_initial_window(tcp_space(tp), tp->advmss);
	tp->rcv_ssthresh = tp->rcv_wnd;
	tp->rcv_nxt = 0;
	tp->rcv_wup = 0;
	tp->snd_una = tp->iss;
	tp->snd_sml = tp->iss;
	tp->snd_nxt = tp->iss + 1;
	tp->write_seq = tp->iss + 1;
	tp->snd_wnd = 0;
	tp->max_window = 0;
	tp->rto_ms = TCP_TIMEOUT_INIT_MS;
	tp->retransmits = 0;
	tp->backoff = 0;
	tcp_sync_mss(tp, mtu);
	struct skb *skb = skb_alloc_tx(s->pool, 0);
	if (!skb)
		return -ENOBUFS;
	struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	memset(cb, 0, sizeof(*cb));
	cb->seq = tp->iss;
	cb->end_seq = tp->iss + 1;
	cb->tcp_flags = TCPHDR_SYN;
	cb->tx_ns = stack_now_ns(s);
	skb_queue_tail(&tp->rtx_queue, skb);
	tp->wmem_queued += skb_truesize(skb);
	tp->packets_out = 1;
	tcp_transmit_skb(tp, skb, true);
	tcp_reset_rtx_timer(tp, ICSK_TIME_RETRANS, tp->rto_ms);
	return 0;
}

/* Simultaneous open: our SYN becomes a SYN-ACK (tcp_send_synack). */
void tcp_send_synack(struct tcp_sock *tp)
{
	struct skb *skb = skb_peek(&tp->rtx_queue);
	if (!skb || !(TCP_SKB_CB(skb)->tcp_flags & TCPHDR_SYN))
		return;
	TCP_SKB_CB(skb)->tcp_flags = TCPHDR_SYN | TCPHDR_ACK;
	tcp_transmit_skb(tp, skb, true);
}

int tcp_retransmit_skb(struct tcp_sock *tp, struct skb *skb)
{
	struct us_stack *s = tp->sk.stack;
	struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	/* Trim what the peer has already (a partial ACK inside it). */
	if (before(cb->seq, tp->snd_una) && !(cb->tcp_flags & TCPHDR_SYN)) {
		uint32_t acked = tp->snd_una - cb->seq;
		if (acked >= skb->len) {
			acked = skb->len;
		}
		skb_pull(skb, acked);
		tp->rtx_queue.bytes -= acked;
		cb->seq += acked;
	}
	/* The path MTU shrank since: split to the current MSS. */
	if (skb->len > tp->mss_cache && tcp_fragment(tp, &tp->rtx_queue, skb, tp->mss_cache) < 0)
		return -ENOBUFS;
	int err = tcp_transmit_skb(tp, skb, true);
	if (err)
		return err;
	if (!(cb->sacked & TCPCB_RETRANS)) {
		cb->sacked |= TCPCB_RETRANS;
		tp->retrans_out++;
	}
	cb->sacked |= TCPCB_EVER_RETRANS;
	tp->total_retrans++;
	tp->bytes_retrans += skb->len;
	mib_inc(s, MIB_TcpRetransSegs);
	if (cb->tcp_flags & TCPHDR_SYN)
		mib_inc(s, MIB_TcpExtTCPSynRetrans);
	if (!tp->retrans_stamp) /* the first transmission's time (Linux) */
		tp->retrans_stamp = cb->tx_ns ? cb->tx_ns / 1000000u : s->now_ms;
	return 0;
}

/* Resends segments marked lost while the congestion window allows
 * (tcp_xmit_retransmit_queue). */
void tcp_xmit_retransmit_queue(struct tcp_sock *tp)
{
	if (!tp->lost_out)
		return;
	struct skb *skb;
	list_for_each_entry(skb, &tp->rtx_queue.head, list) {
		struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
		if (tcp_packets_in_flight(tp) >= tp->snd_cwnd)
			break;
		if (!(cb->sacked & TCPCB_LOST) || (cb->sacked & TCPCB_RETRANS))
			continue;
		if (tcp_retransmit_skb(tp, skb) < 0)
			break;
		if (skb == skb_peek(&tp->rtx_queue))
			tcp_reset_rtx_timer(tp, ICSK_TIME_RETRANS, tp->rto_ms);
	}
}

bool tcp_skb_queue_charge(struct tcp_sock *tp, struct skb *skb)
{
	tp->wmem_queued += skb_truesize(skb);
	return true;
}

void tcp_skb_uncharge(struct tcp_sock *tp, struct skb *skb)
{
	uint32_t t = skb_truesize(skb);
	tp->wmem_queued = tp->wmem_queued > t ? tp->wmem_queued - t : 0;
}

/* ---- segments without a full socket ---- */

static void tcp_v4_send_ctl(struct us_stack *s, uint32_t saddr, uint32_t daddr, uint16_t sport,
			    uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
			    const struct tcp_opts *o, bool syn, int oif)
{
	uint8_t optlen = o ? tcp_options_len(o, syn) : 0;
	struct skb *skb = skb_alloc_tx(s->pool, TCP_HLEN + optlen);
	if (!skb)
		return;
	uint8_t *th = skb_put(skb, TCP_HLEN + optlen);
	struct tcp_repr r = {
		.sport = sport,
		.dport = dport,
		.seq = seq,
		.ack = ack,
		.doff = (uint8_t)(TCP_HLEN + optlen),
		.flags = flags,
		.window = win,
	};
	tcp_emit(th, &r);
	if (o)
		tcp_emit_options(th + TCP_HLEN, o, syn);
	tcp_set_checksum(th, TCP_HLEN + optlen, saddr, daddr);
	mib_inc(s, MIB_TcpOutSegs);
	if (flags & TCPHDR_RST)
		mib_inc(s, MIB_TcpOutRsts);
	struct ip_tx tx = {
		.saddr = saddr,
		.daddr = daddr,
		.protocol = IPPROTO_TCP_,
		.df = true,
		.oif = oif,
	};
	ip_send_skb(s, skb, &tx);
}

/* RFC 9293 3.10.7.1: a segment for no connection gets a RST, unless it is
 * a RST. With ACK: <SEQ=SEG.ACK><CTL=RST>; without:
 * <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. */
void tcp_v4_send_reset(struct us_stack *s, struct skb *in, const struct tcp_repr *th,
		       uint32_t saddr, uint32_t daddr)
{
	if (th->flags & TCPHDR_RST)
		return;
	/* Never answer a broadcast or multicast (RFC 1122 4.2.3.10). */
	if (in->pkt_type != PACKET_HOST && in->pkt_type != PACKET_LOOPBACK)
		return;
	if (inet_addr_is_bcast_for(s, in->dev, daddr) || ipv4_is_multicast(daddr))
		return;
	const struct tcp_skb_cb *cb = TCP_SKB_CB(in);
	if (th->flags & TCPHDR_ACK)
		tcp_v4_send_ctl(s, daddr, saddr, th->dport, th->sport, th->ack, 0, TCPHDR_RST, 0, NULL,
				false, 0);
	else
		tcp_v4_send_ctl(s, daddr, saddr, th->dport, th->sport, 0, cb->end_seq,
				TCPHDR_RST | TCPHDR_ACK, 0, NULL, false, 0);
}

void tcp_v4_send_ack(struct us_stack *s, uint32_t saddr, uint32_t daddr, uint16_t sport,
		     uint16_t dport, uint32_t seq, uint32_t ack, uint16_t win, bool ts_ok,
		     uint32_t tsval, uint32_t tsecr, int oif, uint8_t flags)
{
	struct tcp_opts o;
	memset(&o, 0, sizeof(o));
	o.ts_ok = ts_ok;
	o.tsval = tsval;
	o.tsecr = tsecr;
	tcp_v4_send_ctl(s, saddr, daddr, sport, dport, seq, ack, flags ? flags : TCPHDR_ACK, win,
			&o, false, oif);
}

/* The SYN-ACK of a request socket (tcp_v4_send_synack). */
void tcp_send_synack_req(struct us_stack *s, struct tcp_request *req)
{
	struct tcp_opts o;
	memset(&o, 0, sizeof(o));
	struct rtable rt;
	unsigned mtu = ip_route_output(s, req->raddr, req->laddr, 0, &rt) == 0 ? rt.mtu : 576;
	o.mss_ok = true;
	o.mss = (uint16_t)((mtu > 65535 ? 65535 : mtu) - IPV4_HLEN - TCP_HLEN);
	if (req->listener && req->listener->user_mss && o.mss > req->listener->user_mss)
		o.mss = req->listener->user_mss;
	o.wscale_ok = req->wscale_ok;
	o.wscale = req->rcv_wscale;
	o.sack_ok = req->sack_ok;
	o.ts_ok = req->ts_ok;
	o.tsval = tcp_time_stamp(s, req->ts_off);
	o.tsecr = req->ts_recent;
	uint32_t space = req->listener ? (uint32_t)req->listener->sk.rcvbuf / 2 : 65535;
	/* tcp_openreq_init_rwin: whole segments of the MSS less the
	 * timestamp option (65160 = 45 x 1448). */
	uint16_t win = (uint16_t)tcp_initial_window(space, o.mss - (o.ts_ok ? 12u : 0u));
	tcp_v4_send_ctl(s, req->laddr, req->raddr, req->lport, req->rport, req->iss, req->irs + 1,
			TCPHDR_SYN | TCPHDR_ACK, win, &o, true, 0);
}
