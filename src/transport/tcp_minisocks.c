/*
 * Connections that are not (or no longer) full sockets (Linux's
 * tcp_minisocks.c, syncookies.c, inet_connection_sock.c):
 *   - request sockets: a SYN to a listener, answered with a SYN-ACK and
 *     kept in the listener's SYN queue until the handshake's ACK makes a
 *     child socket for the accept queue;
 *   - SYN cookies (RFC 4987 3.6) when the SYN queue is full: the state
 *     travels in our ISN (and TSval), and the ACK rebuilds the connection;
 *   - TIME_WAIT: 2*MSL of answering retransmitted FINs, and a recycling
 *     SYN (RFC 6191).
 */
#include <errno.h>
#include <sys/epoll.h>
#include <stdlib.h>
#include <string.h>

#include "../core/stack.h"
#include "tcp.h"

void tcp_child_rcv(struct tcp_sock *child, struct skb *skb, const struct tcp_repr *th,
		   const struct tcp_opts *opt);

static struct list_head *req_bucket(struct us_stack *s, uint32_t laddr, uint16_t lport,
				    uint32_t raddr, uint16_t rport)
{
	uint32_t h = (uint32_t)siphash_3u32(&s->hash_key, laddr ^ 0x72657121u, raddr,
					     ((uint32_t)lport << 16) | rport);
	return &s->tcp.reqhash[h & ((1u << TCP_EHASH_BITS) - 1)];
}

struct tcp_request *tcp_req_lookup(struct us_stack *s, uint32_t laddr, uint16_t lport,
				   uint32_t raddr, uint16_t rport)
{
	struct tcp_request *req;
	struct list_head *bucket = req_bucket(s, laddr, lport, raddr, rport); /* hashed once */
	list_for_each_entry(req, bucket, hash)
		if (req->laddr == laddr && req->lport == lport && req->raddr == raddr &&
		    req->rport == rport)
			return req;
	return NULL;
}

void tcp_req_drop(struct tcp_request *req)
{
	struct us_stack *s = req->stack;
	stack_timer_del(s, &req->timer);
	list_del(&req->hash);
	list_del(&req->queue);
	if (req->listener)
		req->listener->syn_qlen--;
	s->tcp.req_count--;
	free(req);
}

/* SYN-ACK retransmission (inet_rtx_syn_ack): 1 s, doubling, synack_retries. */
static void tcp_req_timer(struct timer *t)
{
	struct tcp_request *req = container_of(t, struct tcp_request, timer);
	struct us_stack *s = req->stack;
	if (req->retrans >= s->tcp.synack_retries) {
		tcp_req_drop(req);
		return;
	}
	req->retrans++;
	req->synack_ns = 0; /* Karn: no RTT sample from a retransmitted SYN-ACK */
	mib_inc(s, MIB_TcpExtTCPSynRetrans);
	mib_inc(s, MIB_TcpRetransSegs);
	tcp_send_synack_req(s, req);
	stack_timer_mod(s, &req->timer, s->now_ms + ((uint64_t)TCP_TIMEOUT_INIT_MS << req->retrans));
}

static uint8_t tcp_wscale_for(struct us_stack *s, const struct tcp_sock *lis)
{
	uint32_t space = lis->rcvbuf_locked ? (uint32_t)lis->sk.rcvbuf : (uint32_t)s->tcp.rmem[2];
	uint8_t ws = 0;
	while (space > 65535 && ws < TCP_MAX_WSCALE) {
		space >>= 1;
		ws++;
	}
	return ws;
}

/* ---- SYN cookies ---- */

/* The MSS values a cookie can carry (Linux's msstab). */
static const uint16_t msstab[] = { 536, 1300, 1440, 1460 };
#define COOKIEBITS 24
#define COOKIEMASK ((1u << COOKIEBITS) - 1)
#define TSBITS 6
#define TSMASK ((1u << TSBITS) - 1)
#define TS_OPT_WSCALE_MASK 0xf
#define TS_OPT_SACK (1u << 4)

static uint32_t cookie_hash(struct us_stack *s, uint32_t saddr, uint32_t daddr, uint16_t sport,
			    uint16_t dport, uint32_t count, uint32_t c)
{
	uint32_t w[5] = { saddr, daddr, ((uint32_t)sport << 16) | dport, count, c };
	return (uint32_t)siphash(&s->tcp.cookie_key, w, sizeof(w));
}

/* The time counter of a cookie: minutes. */
static uint32_t cookie_time(struct us_stack *s)
{
	return (uint32_t)(s->now_ms / 60000u);
}

/* secure_tcp_syn_cookie: H(addrs) + their ISN + (count << 24) +
 * ((H(addrs, count) + mss index) mod 2^24). */
static uint32_t cookie_v4_init_sequence(struct us_stack *s, uint32_t saddr, uint32_t daddr,
					uint16_t sport, uint16_t dport, uint32_t sseq, uint16_t mss,
					uint16_t *mss_out)
{
	uint32_t idx = 0;
	for (uint32_t i = 0; i < sizeof(msstab) / sizeof(msstab[0]); i++)
		if (mss >= msstab[i])
			idx = i;
	*mss_out = msstab[idx];
	uint32_t count = cookie_time(s);
	return cookie_hash(s, saddr, daddr, sport, dport, 0, 0) + sseq + (count << COOKIEBITS) +
	       ((cookie_hash(s, saddr, daddr, sport, dport, count, 1) + idx) & COOKIEMASK);
}

/* check_tcp_syn_cookie: the mss index, or -1 if the cookie is not ours or
 * older than two minutes. */
static int cookie_v4_check_seq(struct us_stack *s, uint32_t cookie, uint32_t saddr, uint32_t daddr,
			       uint16_t sport, uint16_t dport, uint32_t sseq)
{
	uint32_t count = cookie_time(s);
	cookie -= cookie_hash(s, saddr, daddr, sport, dport, 0, 0) + sseq;
	uint32_t diff = (count - (cookie >> COOKIEBITS)) & ((uint32_t)-1 >> COOKIEBITS);
	if (diff >= 2)
		return -1;
	uint32_t idx = (cookie - cookie_hash(s, saddr, daddr, sport, dport, count - diff, 1)) & COOKIEMASK;
	return idx < sizeof(msstab) / sizeof(msstab[0]) ? (int)idx : -1;
}

/* ---- children ---- */

void tcp_accept_enqueue(struct tcp_sock *lis, struct tcp_sock *child)
{
	child->parent = lis;
	list_add_tail(&child->accept_node, &lis->accept_queue);
	lis->accept_qlen++;
	sock_wakeup(&lis->sk, EPOLLIN | EPOLLRDNORM);
}

/* tcp_create_openreq_child: the established socket a completed
 * handshake makes, with what was negotiated and the listener's options. */
static struct tcp_sock *tcp_create_child(struct tcp_sock *lis, const struct tcp_request *req,
					 uint32_t snd_wnd_field)
{
	struct us_stack *s = lis->sk.stack;
	struct tcp_sock *c = tcp_sock_new(s);
	if (!c)
		return NULL;
	struct sock *sk = &c->sk, *lsk = &lis->sk;
	sk->saddr = req->laddr;
	sk->rcv_saddr = req->laddr;
	sk->daddr = req->raddr;
	sk->num = req->lport;
	sk->dport = req->rport;
	sk->reuseaddr = lsk->reuseaddr;
	sk->reuseport = lsk->reuseport;
	sk->keepalive = lsk->keepalive;
	sk->bound_dev_if = lsk->bound_dev_if;
	sk->ttl = lsk->ttl;
	sk->tos = lsk->tos;
	sk->linger_on = lsk->linger_on;
	sk->linger_secs = lsk->linger_secs;
	sk->rcvbuf = lsk->rcvbuf;
	sk->sndbuf = lsk->sndbuf;
	sk->rcvtimeo_ns = lsk->rcvtimeo_ns;
	sk->sndtimeo_ns = lsk->sndtimeo_ns;
	c->rcvbuf_locked = lis->rcvbuf_locked;
	c->sndbuf_locked = lis->sndbuf_locked;
	if (!c->rcvbuf_locked)
		tcp_init_buffers(c);
	c->nodelay = lis->nodelay;
	c->cork = lis->cork;
	c->keepidle_s = lis->keepidle_s;
	c->keepintvl_s = lis->keepintvl_s;
	c->keepcnt = lis->keepcnt;
	c->user_timeout_ms = lis->user_timeout_ms;
	c->linger2_s = lis->linger2_s;
	c->user_mss = lis->user_mss;
	c->ca_ops = lis->ca_ops;

	c->iss = req->iss;
	c->irs = req->irs;
	c->snd_una = c->snd_nxt = c->write_seq = req->iss + 1;
	c->snd_sml = c->snd_una;
	c->rcv_nxt = c->rcv_wup = c->copied_seq = req->irs + 1;
	c->tstamp_ok = req->ts_ok;
	c->ts_recent = req->ts_recent;
	c->ts_recent_stamp = s->now_ms;
	c->ts_off = req->ts_off;
	c->wscale_ok = req->wscale_ok;
	c->snd_wscale = req->wscale_ok ? req->snd_wscale : 0;
	c->rcv_wscale = req->wscale_ok ? req->rcv_wscale : 0;
	c->sack_ok = req->sack_ok;
	c->rx_mss = req->mss ? req->mss : TCP_MSS_DEFAULT;
	unsigned mtu = tcp_route_mtu(c);
	c->advmss = (uint16_t)(mtu - IPV4_HLEN - TCP_HLEN);
	if (c->user_mss && c->advmss > c->user_mss)
		c->advmss = c->user_mss;
	tcp_sync_mss(c, mtu);
	c->window_clamp = c->rcvbuf_locked ? (uint32_t)sk->rcvbuf / 2 : (uint32_t)s->tcp.rmem[2] / 2;
	uint32_t space = tcp_space(c);
	c->rcv_wnd = space < 65535 ? space : 65535;
	uint32_t wmss = c->advmss - (c->tstamp_ok ? 12u : 0u); /* as in the SYN-ACK */
	if (c->rcv_wnd > wmss)
		c->rcv_wnd = (c->rcv_wnd / wmss) * wmss;
	c->rcv_ssthresh = c->rcv_wnd;
	c->snd_wnd = snd_wnd_field << c->snd_wscale;
	c->max_window = c->snd_wnd;
	c->snd_wl1 = req->irs + 1;
	c->snd_wl2 = req->iss + 1;
	if (req->retrans)
		c->total_retrans = req->retrans; /* initial window of one (RFC 6298 5.7) */
	tcp_set_state(c, TCP_ESTABLISHED);
	tcp_bhash_add(c);
	tcp_ehash_add(c);
	if (req->synack_ns) /* tcp_synack_rtt_meas: SYN-ACK to its ACK */
		tcp_rtt_estimator(c, (int64_t)((stack_now_ns(s) - req->synack_ns) / 1000u));
	tcp_init_transfer(c);
	c->total_retrans = 0;
	if (req->retrans)
		c->snd_cwnd = 1;
	mib_inc(s, MIB_TcpPassiveOpens);
	return c;
}

int tcp_conn_request(struct tcp_sock *lis, struct skb *skb, const struct tcp_repr *th,
		     const struct tcp_opts *opt, uint32_t saddr, uint32_t daddr)
{
	struct us_stack *s = lis->sk.stack;
	/* sk_acceptq_is_full: more than backlog waiting to be accepted. */
	if ((int)lis->accept_qlen > lis->max_ack_backlog) {
		mib_inc(s, MIB_TcpExtListenOverflows);
		mib_inc(s, MIB_TcpExtListenDrops);
		return -ENOBUFS;
	}
	bool want_cookie = false;
	if ((int)lis->syn_qlen >= lis->max_ack_backlog || s->tcp.req_count >= s->tcp.max_syn_backlog * 64) {
		if (!s->tcp.syncookies) {
			mib_inc(s, MIB_TcpExtTCPReqQFullDrop);
			mib_inc(s, MIB_TcpExtListenDrops);
			return -ENOBUFS;
		}
		mib_inc(s, MIB_TcpExtTCPReqQFullDoCookies);
		want_cookie = true;
	}
	struct tcp_request tmp;
	memset(&tmp, 0, sizeof(tmp));
	tmp.listener = lis;
	tmp.stack = s;
	tmp.laddr = daddr;
	tmp.raddr = saddr;
	tmp.lport = th->dport;
	tmp.rport = th->sport;
	tmp.irs = th->seq;
	tmp.mss = opt->mss_ok ? opt->mss : 0;
	tmp.ts_ok = opt->ts_ok && s->tcp.timestamps;
	tmp.ts_recent = opt->tsval;
	tmp.sack_ok = opt->sack_ok && s->tcp.sack;
	tmp.wscale_ok = opt->wscale_ok && s->tcp.window_scaling;
	tmp.snd_wscale = tmp.wscale_ok ? opt->wscale : 0;
	tmp.rcv_wscale = tmp.wscale_ok ? tcp_wscale_for(s, lis) : 0;
	tmp.window = th->window;
	tmp.iif = IPCB(skb)->iif;
	tmp.ts_off = tcp_ts_off(s, daddr, saddr);
	if (want_cookie) {
		/* RFC 4987 3.6: keep nothing; the ISN carries the MSS, and the
		 * TSval's low bits the window scale and SACK. Without
		 * timestamps those two are given up, as Linux does. */
		uint16_t mss;
		tmp.iss = cookie_v4_init_sequence(s, saddr, daddr, th->sport, th->dport, th->seq,
						  tmp.mss ? tmp.mss : TCP_MSS_DEFAULT, &mss);
		if (tmp.ts_ok) {
			uint32_t options = tmp.wscale_ok ? tmp.snd_wscale : TS_OPT_WSCALE_MASK;
			if (tmp.sack_ok)
				options |= TS_OPT_SACK;
			uint32_t ts = tcp_time_stamp(s, tmp.ts_off);
			ts = (ts & ~TSMASK) | options;
			if (ts > tcp_time_stamp(s, tmp.ts_off))
				ts -= TSMASK + 1;
			tmp.ts_off = ts - (uint32_t)s->now_ms;
		} else {
			tmp.wscale_ok = tmp.sack_ok = false;
			tmp.snd_wscale = tmp.rcv_wscale = 0;
		}
		lis->synq_overflow_ms = s->now_ms ? s->now_ms : 1;
		mib_inc(s, MIB_TcpExtSyncookiesSent);
		tmp.listener = lis;
		tcp_send_synack_req(s, &tmp);
		return 0;
	}
	/* A retransmitted SYN for a request we hold was found by the lookup
	 * before; a new one gets a request. */
	struct tcp_request *req = malloc(sizeof(*req));
	if (!req)
		return -ENOMEM;
	*req = tmp;
	req->iss = tcp_secure_isn(s, daddr, saddr, th->dport, th->sport);
	list_add(&req->hash, req_bucket(s, daddr, th->dport, saddr, th->sport));
	list_add_tail(&req->queue, &lis->syn_queue);
	lis->syn_qlen++;
	s->tcp.req_count++;
	timer_init(&req->timer, tcp_req_timer);
	tcp_send_synack_req(s, req);
	req->synack_ns = stack_now_ns(s);
	stack_timer_mod(s, &req->timer, s->now_ms + TCP_TIMEOUT_INIT_MS);
	return 0;
}

/* The segment after our SYN-ACK (tcp_check_req, RFC 9293 3.10.7.4 in
 * SYN-RECEIVED). */
int tcp_check_req(struct tcp_request *req, struct skb *skb, const struct tcp_repr *th,
		  const struct tcp_opts *opt, uint32_t saddr, uint32_t daddr)
{
	struct us_stack *s = req->stack;
	struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	uint8_t flags = th->flags;
	/* A retransmitted SYN: answer it again. */
	if ((flags & TCPHDR_SYN) && !(flags & TCPHDR_ACK) && th->seq == req->irs && !(flags & TCPHDR_RST)) {
		tcp_send_synack_req(s, req);
		skb_free(skb);
		return 1;
	}
	uint32_t rcv_nxt = req->irs + 1;
	/* RFC 7323 5: PAWS on the request. */
	bool paws = opt->ts_ok && req->ts_ok && (int32_t)(req->ts_recent - opt->tsval) > 0 &&
		    !(flags & TCPHDR_RST);
	uint32_t wnd = 65535;
	bool in_window = !before(cb->end_seq, rcv_nxt) && !after(cb->seq, rcv_nxt + wnd);
	if (paws || !in_window) {
		if (!(flags & TCPHDR_RST))
			tcp_v4_send_ack(s, daddr, saddr, req->lport, req->rport, req->iss + 1, rcv_nxt,
					(uint16_t)(wnd >> req->rcv_wscale), req->ts_ok,
					tcp_time_stamp(s, req->ts_off), req->ts_recent, 0, 0);
		skb_drop(s, skb, paws ? DROP_TCP_PAWS : DROP_TCP_INVALID_SEQ);
		return 1;
	}
	if (flags & TCPHDR_RST) {
		/* RFC 5961 3.2 for requests: the exact sequence resets it,
		 * another in the window gets a challenge ACK (Linux 6.x). */
		if (th->seq == rcv_nxt) {
			mib_inc(s, MIB_TcpExtEmbryonicRsts);
			tcp_req_drop(req);
		} else {
			mib_inc(s, MIB_TcpExtTCPChallengeACK);
			tcp_v4_send_ack(s, daddr, saddr, req->lport, req->rport, req->iss + 1, rcv_nxt,
					(uint16_t)(wnd >> req->rcv_wscale), req->ts_ok,
					tcp_time_stamp(s, req->ts_off), req->ts_recent, 0, 0);
		}
		skb_drop(s, skb, DROP_TCP_RST);
		return 1;
	}
	if (flags & TCPHDR_SYN) {
		/* A new SYN inside the window of a passive open: the request
		 * is reset and forgotten (tcp_check_req's embryonic_reset;
		 * RFC 9293 3.10.7.4: "return to LISTEN"). */
		mib_inc(s, MIB_TcpAttemptFails);
		mib_inc(s, MIB_TcpExtEmbryonicRsts);
		tcp_v4_send_reset(s, skb, th, saddr, daddr);
		tcp_req_drop(req);
		skb_drop(s, skb, DROP_TCP_FLAGS);
		return 1;
	}
	if (!(flags & TCPHDR_ACK)) {
		skb_drop(s, skb, DROP_TCP_FLAGS);
		return 1;
	}
	if (th->ack != req->iss + 1) {
		/* RFC 9293: an unacceptable ACK gets <SEQ=SEG.ACK><CTL=RST>. */
		tcp_v4_send_reset(s, skb, th, saddr, daddr);
		skb_drop(s, skb, DROP_TCP_FLAGS);
		return 1;
	}
	struct tcp_sock *lis = req->listener;
	if ((int)lis->accept_qlen > lis->max_ack_backlog) {
		/* tcp_abort_on_overflow off: ignore the ACK; the SYN-ACK
		 * retransmission gives the application another chance. */
		mib_inc(s, MIB_TcpExtListenOverflows);
		mib_inc(s, MIB_TcpExtListenDrops);
		skb_drop(s, skb, DROP_TCP_LISTEN_OVERFLOW);
		return 1;
	}
	if (opt->ts_ok && req->ts_ok)
		req->ts_recent = opt->tsval;
	struct tcp_sock *child = tcp_create_child(lis, req, th->window);
	tcp_req_drop(req);
	if (!child) {
		skb_drop(s, skb, DROP_NOMEM);
		return 1;
	}
	tcp_accept_enqueue(lis, child);
	tcp_child_rcv(child, skb, th, opt);
	return 0;
}

/* cookie_v4_check: an ACK to a listener that sent cookies lately. */
struct tcp_sock *tcp_cookie_check(struct tcp_sock *lis, struct skb *skb, const struct tcp_repr *th,
				  const struct tcp_opts *opt, uint32_t saddr, uint32_t daddr)
{
	struct us_stack *s = lis->sk.stack;
	(void)skb;
	int idx = cookie_v4_check_seq(s, th->ack - 1, saddr, daddr, th->sport, th->dport, th->seq - 1);
	if (idx < 0) {
		mib_inc(s, MIB_TcpExtSyncookiesFailed);
		return lis; /* not a cookie of ours: the caller resets it */
	}
	if ((int)lis->accept_qlen > lis->max_ack_backlog) {
		mib_inc(s, MIB_TcpExtListenOverflows);
		mib_inc(s, MIB_TcpExtListenDrops);
		return NULL;
	}
	struct tcp_request req;
	memset(&req, 0, sizeof(req));
	req.listener = lis;
	req.stack = s;
	req.laddr = daddr;
	req.raddr = saddr;
	req.lport = th->dport;
	req.rport = th->sport;
	req.irs = th->seq - 1;
	req.iss = th->ack - 1;
	req.mss = msstab[idx];
	if (opt->ts_ok && s->tcp.timestamps && opt->tsecr) {
		/* cookie_timestamp_decode: our TSval carried the options. */
		uint32_t options = opt->tsecr & TSMASK;
		req.ts_ok = true;
		req.ts_recent = opt->tsval;
		req.ts_off = tcp_ts_off(s, daddr, saddr);
		req.sack_ok = (options & TS_OPT_SACK) && s->tcp.sack;
		if ((options & TS_OPT_WSCALE_MASK) != TS_OPT_WSCALE_MASK && s->tcp.window_scaling) {
			req.wscale_ok = true;
			req.snd_wscale = (uint8_t)(options & TS_OPT_WSCALE_MASK);
			req.rcv_wscale = tcp_wscale_for(s, lis);
		}
		/* Our TSvals continue from the one in the cookie. */
		req.ts_off = opt->tsecr - (uint32_t)s->now_ms;
	}
	struct tcp_sock *child = tcp_create_child(lis, &req, th->window);
	if (!child)
		return NULL;
	child->syn_cookie = true;
	mib_inc(s, MIB_TcpExtSyncookiesRecv);
	tcp_accept_enqueue(lis, child);
	return child;
}

/* ---- TIME_WAIT (tcp_timewait_state_process) ---- */

int tcp_timewait_state_process(struct tcp_sock *tw, struct skb *skb, const struct tcp_repr *th,
			       const struct tcp_opts *opt)
{
	struct us_stack *s = tw->sk.stack;
	struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	uint8_t flags = th->flags;
	bool paws = opt->ts_ok && tw->tstamp_ok && (int32_t)(tw->ts_recent - opt->tsval) > 0;
	if ((flags & TCPHDR_SYN) && !(flags & (TCPHDR_RST | TCPHDR_ACK)) && !paws &&
	    (after(th->seq, tw->rcv_nxt) ||
	     (opt->ts_ok && tw->tstamp_ok && (int32_t)(opt->tsval - tw->ts_recent) > 0))) {
		/* RFC 6191 / RFC 9293 3.6.1: a new incarnation may start:
		 * its SYN is beyond the old sequence space (or newer by
		 * timestamp). */
		mib_inc(s, MIB_TcpExtTWRecycled);
		tcp_done(tw);
		return 1;
	}
	if (flags & TCPHDR_RST) {
		/* RFC 1337 hazard: Linux (tcp_rfc1337 = 0) lets a RST end
		 * TIME_WAIT; with rfc1337 it is ignored. */
		if (!paws && !s->tcp.rfc1337 && cb->seq == tw->rcv_nxt) {
			mib_inc(s, MIB_TcpExtTWKilled);
			tcp_done(tw);
		}
		skb_drop(s, skb, DROP_TCP_RST);
		return 0;
	}
	if (paws)
		mib_inc(s, MIB_TcpExtPAWSEstab);
	if (opt->ts_ok && tw->tstamp_ok && !paws && !after(cb->seq, tw->rcv_nxt)) {
		tw->ts_recent = opt->tsval;
		tw->ts_recent_stamp = s->now_ms;
	}
	if (!paws && cb->seq == tw->rcv_nxt && cb->seq == cb->end_seq) {
		/* In the window, a bare ACK: nothing to answer; TIME_WAIT
		 * starts over (Linux). */
		tcp_reset_keepalive_timer(tw, s->tcp.timewait_ms);
		skb_free(skb);
		return 0;
	}
	/* Anything else, such as the peer's FIN again (it lost our ACK),
	 * gets the TIME_WAIT ACK (RFC 9293 3.10.7.4), one per
	 * tcp_invalid_ratelimit; one carrying an ACK starts 2*MSL over. */
	if (paws || (flags & TCPHDR_ACK))
		tcp_reset_keepalive_timer(tw, s->tcp.timewait_ms);
	if (tw->last_oow_ack_ms && s->now_ms - tw->last_oow_ack_ms < s->tcp.invalid_ratelimit_ms) {
		skb_free(skb);
		return 0;
	}
	tw->last_oow_ack_ms = s->now_ms ? s->now_ms : 1;
	tcp_v4_send_ack(s, tw->sk.saddr, tw->sk.daddr, tw->sk.num, tw->sk.dport, tw->snd_nxt,
			tw->rcv_nxt, (uint16_t)(tw->rcv_wnd >> tw->rcv_wscale), tw->tstamp_ok,
			tcp_time_stamp(s, tw->ts_off), tw->ts_recent, tw->sk.bound_dev_if, 0);
	skb_free(skb);
	return 0;
}

/* inet_csk_listen_stop: requests dropped, children never accepted reset. */
void tcp_listen_stop(struct tcp_sock *lis)
{
	while (!list_empty(&lis->syn_queue))
		tcp_req_drop(list_first_entry(&lis->syn_queue, struct tcp_request, queue));
	while (!list_empty(&lis->accept_queue)) {
		struct tcp_sock *c = list_first_entry(&lis->accept_queue, struct tcp_sock, accept_node);
		list_del(&c->accept_node);
		lis->accept_qlen--;
		c->parent = NULL;
		c->sk.dead = true;
		if (c->sk.state != TCP_CLOSE) {
			tcp_send_active_reset(c);
			mib_inc(lis->sk.stack, MIB_TcpExtTCPAbortOnClose);
		}
		tcp_done(c);
		/* tcp_done frees a dead socket that no queue holds. */
	}
}
