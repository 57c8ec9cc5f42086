/*
 * TCP timers (Linux's tcp_timer.c), all on the stack's timer wheel:
 *   rtx_timer        retransmission (RFC 6298) or zero-window probe
 *                    (persist, RFC 9293 3.8.6.1)
 *   delack_timer     delayed ACK (RFC 1122 4.2.3.2)
 *   keepalive_timer  keepalive (RFC 1122 4.2.3.6); for orphans in
 *                    FIN_WAIT_2 the fin timeout; for TIME_WAIT 2*MSL
 *   cork_timer       the 200 ms ceiling of TCP_CORK
 */
#include <errno.h>
#include <sys/epoll.h>

#include "../core/stack.h"
#include "tcp.h"

static void tcp_rtx_timer_fn(struct timer *t);
static void tcp_delack_timer_fn(struct timer *t);
static void tcp_keepalive_timer_fn(struct timer *t);
static void tcp_cork_timer_fn(struct timer *t);

void tcp_init_timers(struct tcp_sock *tp)
{
	timer_init(&tp->rtx_timer, tcp_rtx_timer_fn);
	timer_init(&tp->delack_timer, tcp_delack_timer_fn);
	timer_init(&tp->keepalive_timer, tcp_keepalive_timer_fn);
	timer_init(&tp->cork_timer, tcp_cork_timer_fn);
}

void tcp_clear_timers(struct tcp_sock *tp)
{
	struct us_stack *s = tp->sk.stack;
	stack_timer_del(s, &tp->rtx_timer);
	stack_timer_del(s, &tp->delack_timer);
	stack_timer_del(s, &tp->keepalive_timer);
	stack_timer_del(s, &tp->cork_timer);
	tp->ack_pending = false;
}

void tcp_reset_rtx_timer(struct tcp_sock *tp, uint8_t kind, uint32_t when_ms)
{
	struct us_stack *s = tp->sk.stack;
	if (when_ms > TCP_RTO_MAX_MS)
		when_ms = TCP_RTO_MAX_MS;
	tp->rtx_timer_kind = kind;
	stack_timer_mod(s, &tp->rtx_timer, s->now_ms + when_ms);
}

void tcp_clear_rtx_timer(struct tcp_sock *tp)
{
	stack_timer_del(tp->sk.stack, &tp->rtx_timer);
}

void tcp_reset_keepalive_timer(struct tcp_sock *tp, uint32_t when_ms)
{
	struct us_stack *s = tp->sk.stack;
	stack_timer_mod(s, &tp->keepalive_timer, s->now_ms + when_ms);
}

uint32_t tcp_keepalive_time_ms(const struct tcp_sock *tp)
{
	return (uint32_t)tp->keepidle_s * 1000u;
}

void tcp_set_keepalive(struct tcp_sock *tp, bool on)
{
	int st = tp->sk.state;
	if (st == TCP_CLOSE || st == TCP_LISTEN || st == TCP_TIME_WAIT)
		return;
	if (on)
		tcp_reset_keepalive_timer(tp, tcp_keepalive_time_ms(tp));
	else if (st != TCP_FIN_WAIT2)
		stack_timer_del(tp->sk.stack, &tp->keepalive_timer);
}

void tcp_arm_cork_timer(struct tcp_sock *tp)
{
	struct us_stack *s = tp->sk.stack;
	if (!timer_pending(&tp->cork_timer))
		stack_timer_mod(s, &tp->cork_timer, s->now_ms + TCP_DELACK_MAX_MS);
}

static void tcp_cork_timer_fn(struct timer *t)
{
	struct tcp_sock *tp = container_of(t, struct tcp_sock, cork_timer);
	/* man 7 tcp: corked output is held at most 200 ms. */
	tcp_push(tp, true);
}

static void tcp_delack_timer_fn(struct timer *t)
{
	struct tcp_sock *tp = container_of(t, struct tcp_sock, delack_timer);
	struct us_stack *s = tp->sk.stack;
	if (!tp->ack_pending || tp->sk.state == TCP_CLOSE)
		return;
	if (!tp->pingpong) {
		/* The delayed ACK fired without data to ride on: lengthen
		 * the delay (Linux doubles ato up to the RTO). */
		tp->ato_ms = tp->ato_ms * 2 < tp->rto_ms ? tp->ato_ms * 2 : tp->rto_ms;
	} else {
		/* Interactive traffic stopped answering: leave pingpong. */
		tp->pingpong = false;
		tp->ato_ms = TCP_ATO_MIN_MS;
	}
	mib_inc(s, MIB_TcpExtDelayedACKs);
	tcp_send_ack(tp);
}

/* The retry limit and its timeout (tcp_write_timeout). */
static bool tcp_write_timeout(struct tcp_sock *tp)
{
	struct us_stack *s = tp->sk.stack;
	int limit;
	if (tp->sk.state == TCP_SYN_SENT || tp->sk.state == TCP_SYN_RECV)
		limit = tp->syn_retries ? tp->syn_retries : s->tcp.syn_retries;
	else if (tp->orphan)
		limit = s->tcp.orphan_retries;
	else
		limit = s->tcp.retries2;
	bool expired = tp->retransmits >= limit;
	if (tp->user_timeout_ms && tp->retrans_stamp &&
	    s->now_ms - tp->retrans_stamp >= tp->user_timeout_ms)
		expired = true;
	if (expired) {
		mib_inc(s, MIB_TcpExtTCPAbortOnTimeout);
		if (tp->sk.state == TCP_SYN_SENT || tp->sk.state == TCP_SYN_RECV)
			mib_inc(s, MIB_TcpAttemptFails);
		tcp_write_err(tp, tp->err_soft ? tp->err_soft : ETIMEDOUT);
		return true;
	}
	return false;
}

/* RFC 6298 5.4-5.7: retransmit the earliest unacknowledged segment,
 * back the timer off, collapse the congestion window. */
static void tcp_retransmit_timer(struct tcp_sock *tp)
{
	struct us_stack *s = tp->sk.stack;
	if (!tp->packets_out)
		return;
	if (tcp_write_timeout(tp))
		return;
	mib_inc(s, MIB_TcpExtTCPTimeouts);
	/* Established: everything in flight is presumed lost (go-back-N,
	 * RFC 5681 3.1); in the handshake only the SYN is resent. */
	if (tp->sk.state != TCP_SYN_SENT && tp->sk.state != TCP_SYN_RECV)
		tcp_enter_loss(tp);
	struct skb *head = skb_peek(&tp->rtx_queue);
	int err = head ? tcp_retransmit_skb(tp, head) : 0;
	if (err == -ENOBUFS || err == -ENOMEM) {
		/* Local congestion: try again soon, without backing off. Any
		 * other failure (no route) backs off and counts towards the
		 * timeout, as Linux's tcp_retransmit_timer. */
		tcp_reset_rtx_timer(tp, ICSK_TIME_RETRANS, TCP_RESOURCE_PROBE_MS);
		return;
	}
	tp->backoff++;
	tp->retransmits++;
	tp->rto_ms = tp->rto_ms * 2 > TCP_RTO_MAX_MS ? TCP_RTO_MAX_MS : tp->rto_ms * 2;
	uint32_t when = tp->rto_ms;
	if (tp->user_timeout_ms && tp->retrans_stamp) {
		/* tcp_clamp_rto_to_user_timeout: fire when the user timeout
		 * runs out, not at the next backed-off RTO. */
		uint64_t elapsed = s->now_ms - tp->retrans_stamp;
		uint64_t left = elapsed >= tp->user_timeout_ms ? 1 : tp->user_timeout_ms - elapsed;
		if (left < when)
			when = (uint32_t)left;
	}
	tcp_reset_rtx_timer(tp, ICSK_TIME_RETRANS, when);
}

/* Zero-window probing (RFC 9293 3.8.6.1; tcp_probe_timer): while the
 * peer answers, probe forever with backoff; abort after retries2
 * unanswered probes (orphans: orphan_retries). */
static void tcp_probe_timer(struct tcp_sock *tp)
{
	struct us_stack *s = tp->sk.stack;
	if (tp->packets_out || !tp->write_queue.qlen) {
		tp->probes_out = 0;
		tp->backoff = 0;
		return;
	}
	int max = tp->orphan ? s->tcp.orphan_retries : s->tcp.retries2;
	bool expired = tp->probes_out >= max;
	if (tp->user_timeout_ms && s->now_ms - tp->rcv_tstamp >= tp->user_timeout_ms)
		expired = true;
	if (expired) {
		mib_inc(s, MIB_TcpExtTCPAbortOnTimeout);
		tcp_write_err(tp, ETIMEDOUT);
		return;
	}
	/* The window may have opened meanwhile: send data if we can. */
	if (!tcp_write_xmit(tp, true) && !tcp_write_wakeup(tp)) {
		tcp_send_probe(tp);
		mib_inc(s, MIB_TcpExtTCPWinProbe);
		tp->probes_out++;
		if (tp->backoff < 16)
			tp->backoff++;
		uint32_t when = tp->rto_ms << (tp->backoff < 10 ? tp->backoff : 10);
		tcp_reset_rtx_timer(tp, ICSK_TIME_PROBE0, when > TCP_RTO_MAX_MS ? TCP_RTO_MAX_MS : when);
	}
}

static void tcp_rtx_timer_fn(struct timer *t)
{
	struct tcp_sock *tp = container_of(t, struct tcp_sock, rtx_timer);
	int st = tp->sk.state;
	if (st == TCP_CLOSE || st == TCP_LISTEN || st == TCP_TIME_WAIT)
		return;
	if (tp->rtx_timer_kind == ICSK_TIME_PROBE0)
		tcp_probe_timer(tp);
	else if (!tp->packets_out && tp->fin_queued == false && tp->write_queue.qlen == 0 &&
		 (st == TCP_FIN_WAIT1 || st == TCP_LAST_ACK || st == TCP_CLOSING))
		tcp_send_fin(tp); /* a FIN that could not be queued for lack of memory */
	else
		tcp_retransmit_timer(tp);
}

/* Keepalive (RFC 1122 4.2.3.6), the orphan FIN_WAIT_2 timeout, and the
 * end of TIME_WAIT share one timer, by state (tcp_keepalive_timer). */
static void tcp_keepalive_timer_fn(struct timer *t)
{
	struct tcp_sock *tp = container_of(t, struct tcp_sock, keepalive_timer);
	struct us_stack *s = tp->sk.stack;
	struct sock *sk = &tp->sk;
	switch (sk->state) {
	case TCP_TIME_WAIT:
		mib_inc(s, MIB_TcpExtTW);
		tcp_done(tp);
		return;
	case TCP_FIN_WAIT2:
		if (tp->orphan) {
			tcp_done(tp);
			return;
		}
		break;
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
	case TCP_FIN_WAIT1:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
		break;
	default:
		return;
	}
	if (!sk->keepalive)
		return;
	uint32_t idle = tcp_keepalive_time_ms(tp);
	if (tp->packets_out || tp->write_queue.qlen) {
		/* Data in flight: the retransmission timer watches the peer. */
		tcp_reset_keepalive_timer(tp, idle);
		return;
	}
	uint64_t last = tp->rcv_tstamp > tp->lrcvtime ? tp->rcv_tstamp : tp->lrcvtime;
	uint64_t elapsed = s->now_ms - last;
	if (elapsed >= idle) {
		bool dead = tp->probes_out >= tp->keepcnt ||
			    (tp->user_timeout_ms && elapsed >= tp->user_timeout_ms && tp->probes_out);
		if (dead) {
			mib_inc(s, MIB_TcpExtTCPAbortOnTimeout);
			tcp_send_active_reset(tp);
			tcp_write_err(tp, ETIMEDOUT);
			return;
		}
		tcp_send_probe(tp);
		mib_inc(s, MIB_TcpExtTCPKeepAlive);
		tp->probes_out++;
		tcp_reset_keepalive_timer(tp, (uint32_t)tp->keepintvl_s * 1000u);
	} else {
		tcp_reset_keepalive_timer(tp, (uint32_t)(idle - elapsed));
	}
}

/* tcp_time_wait: the connection's 4-tuple is held for timeo (2*MSL) by a
 * small socket of its own, so the original goes away (RFC 9293 3.6.1). */
void tcp_time_wait(struct tcp_sock *tp, int state, uint32_t timeo_ms)
{
	struct us_stack *s = tp->sk.stack;
	struct sock *sk = &tp->sk;
	(void)state;
	if (s->tcp.tw_count >= s->tcp.max_tw_buckets) {
		mib_inc(s, MIB_TcpExtTCPTimeWaitOverflow);
		tcp_done(tp);
		return;
	}
	struct tcp_sock *tw = tcp_sock_new(s);
	if (!tw) {
		tcp_done(tp);
		return;
	}
	tcp_ehash_del(tp);
	struct sock *tsk = &tw->sk;
	tsk->saddr = sk->saddr;
	tsk->rcv_saddr = sk->rcv_saddr;
	tsk->daddr = sk->daddr;
	tsk->num = sk->num;
	tsk->dport = sk->dport;
	tsk->reuseaddr = sk->reuseaddr;
	tsk->reuseport = sk->reuseport;
	tsk->bound_dev_if = sk->bound_dev_if;
	tsk->ttl = sk->ttl;
	tsk->tos = sk->tos;
	tw->rcv_nxt = tp->rcv_nxt;
	tw->snd_nxt = tp->snd_nxt;
	tw->snd_una = tp->snd_una;
	tw->rcv_wnd = tp->rcv_wnd;
	tw->rcv_wscale = tp->rcv_wscale;
	tw->tstamp_ok = tp->tstamp_ok;
	tw->ts_recent = tp->ts_recent;
	tw->ts_recent_stamp = tp->ts_recent_stamp;
	tw->ts_off = tp->ts_off;
	tsk->state = TCP_TIME_WAIT;
	tsk->dead = true;
	tsk->shutdown = SHUTDOWN_MASK;
	s->tcp.tw_count++;
	tcp_orphan(tw);
	tcp_ehash_add(tw);
	tcp_bhash_add(tw);
	tcp_reset_keepalive_timer(tw, timeo_ms);
	tcp_done(tp);
}
