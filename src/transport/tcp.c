/*
 * TCP socket calls and tables (Linux's tcp.c, inet_hashtables.c,
 * inet_connection_sock.c): bind/listen/connect/accept, sendmsg/recvmsg,
 * shutdown/close, options and TCP_INFO, poll, the established, listening
 * and bound-port tables keyed with a per-stack secret.
 */
#include "tcp.h"

#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "../core/stack.h"
#include "udp.h"

static const struct proto_ops tcp_ops;
static void tcp_diag(struct sock *sk, struct sock_diag *d);

/* ---- tables ---- */

static uint32_t ehash_fn(struct us_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
			 uint16_t rport)
{
	return (uint32_t)siphash_3u32(&s->hash_key, laddr, raddr, ((uint32_t)lport << 16) | rport);
}

void tcp_ehash_add(struct tcp_sock *tp)
{
	struct sock *sk = &tp->sk;
	struct us_stack *s = sk->stack;
	if (tp->in_ehash)
		return;
	uint32_t h = ehash_fn(s, sk->saddr, sk->num, sk->daddr, sk->dport);
	list_add(&tp->ehash_node, &s->tcp.ehash[h & ((1u << TCP_EHASH_BITS) - 1)]);
	tp->in_ehash = true;
}

void tcp_ehash_del(struct tcp_sock *tp)
{
	if (tp->in_ehash) {
		list_del(&tp->ehash_node);
		tp->in_ehash = false;
	}
}

struct tcp_sock *tcp_ehash_lookup(struct us_stack *s, uint32_t laddr, uint16_t lport,
				  uint32_t raddr, uint16_t rport)
{
	uint32_t h = ehash_fn(s, laddr, lport, raddr, rport);
	struct tcp_sock *tp;
	list_for_each_entry(tp, &s->tcp.ehash[h & ((1u << TCP_EHASH_BITS) - 1)], ehash_node) {
		struct sock *sk = &tp->sk;
		if (sk->num == lport && sk->dport == rport && sk->daddr == raddr && sk->saddr == laddr)
			return tp;
	}
	return NULL;
}

static struct list_head *lhash_bucket(struct us_stack *s, uint16_t port)
{
	return &s->tcp.lhash[port & ((1u << TCP_LHASH_BITS) - 1)];
}

/* The best listener: an exact address beats a wildcard, a bound device
 * beats none; SO_REUSEPORT groups are spread by a hash (compute_score). */
struct tcp_sock *tcp_lhash_lookup(struct us_stack *s, uint32_t laddr, uint16_t lport, int dif)
{
	struct tcp_sock *tp, *best = NULL;
	int best_score = -1;
	list_for_each_entry(tp, lhash_bucket(s, lport), lhash_node) {
		struct sock *sk = &tp->sk;
		if (sk->num != lport)
			continue;
		int score = 1;
		if (sk->rcv_saddr) {
			if (sk->rcv_saddr != laddr)
				continue;
			score += 4;
		}
		if (sk->bound_dev_if) {
			if (sk->bound_dev_if != dif)
				continue;
			score += 4;
		}
		if (score > best_score) {
			best = tp;
			best_score = score;
		}
	}
	return best;
}

static struct list_head *bhash_bucket(struct us_stack *s, uint16_t port)
{
	return &s->tcp.bhash[port & ((1u << TCP_BHASH_BITS) - 1)];
}

void tcp_bhash_add(struct tcp_sock *tp)
{
	if (!tp->in_bhash) {
		list_add(&tp->sk.bind_node, bhash_bucket(tp->sk.stack, tp->sk.num));
		tp->in_bhash = true;
	}
}

void tcp_bhash_del(struct tcp_sock *tp)
{
	if (tp->in_bhash) {
		list_del(&tp->sk.bind_node);
		tp->in_bhash = false;
	}
}

/* inet_csk_bind_conflict, with Linux's SO_REUSEADDR/SO_REUSEPORT rules. */
static int tcp_port_in_use(struct us_stack *s, struct sock *sk, uint16_t port)
{
	struct sock *o;
	list_for_each_entry(o, bhash_bucket(s, port), bind_node) {
		if (o == sk || o->num != port || !inet_bind_conflict(sk, o))
			continue;
		if (sk->reuseport && o->reuseport)
			continue;
		if (sk->reuseaddr && o->reuseaddr && o->state != TCP_LISTEN)
			continue;
		return 1;
	}
	return 0;
}

static int tcp_get_port(struct tcp_sock *tp, uint16_t port)
{
	struct sock *sk = &tp->sk;
	if (port == 0) {
		int err = inet_pick_ephemeral(sk->stack, tcp_port_in_use, sk, &port);
		if (err)
			return err;
	} else if (tcp_port_in_use(sk->stack, sk, port)) {
		return -EADDRINUSE;
	}
	sk->num = port;
	tcp_bhash_add(tp);
	return 0;
}

/* inet_hash_connect: a port for an active open whose 4-tuple is unique,
 * from a starting point keyed by the destination (RFC 6056 3.3.3). */
static int tcp_connect_port(struct tcp_sock *tp)
{
	struct sock *sk = &tp->sk;
	struct us_stack *s = sk->stack;
	int lo = s->socks.ephemeral_lo, hi = s->socks.ephemeral_hi;
	uint32_t n = (uint32_t)(hi - lo + 1);
	uint32_t off = (uint32_t)siphash_3u32(&s->tcp.port_key, sk->saddr, sk->daddr, sk->dport) +
		       s->tcp.port_counter;
	for (uint32_t i = 0; i < n; i++) {
		uint16_t p = (uint16_t)(lo + (off + i) % n);
		bool bound_explicitly = false;
		struct sock *o;
		list_for_each_entry(o, bhash_bucket(s, p), bind_node)
			if (o->num == p && (o->state == TCP_LISTEN || o->daddr == 0))
				bound_explicitly = true;
		if (bound_explicitly)
			continue;
		if (tcp_ehash_lookup(s, sk->saddr, p, sk->daddr, sk->dport))
			continue;
		s->tcp.port_counter += i + 2; /* RFC 6056 alg. 3's "next_ephemeral" */
		sk->num = p;
		tcp_bhash_add(tp);
		return 0;
	}
	return -EADDRNOTAVAIL;
}

/* ---- sockets ---- */

void tcp_init_buffers(struct tcp_sock *tp)
{
	struct us_stack *s = tp->sk.stack;
	if (!tp->rcvbuf_locked)
		tp->sk.rcvbuf = s->tcp.rmem[1];
	if (!tp->sndbuf_locked)
		tp->sk.sndbuf = s->tcp.wmem[1];
}

struct tcp_sock *tcp_sock_new(struct us_stack *s)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk_alloc(s, sizeof(struct tcp_sock), AF_INET,
							  SOCK_STREAM, IPPROTO_TCP, &tcp_ops);
	if (!tp)
		return NULL;
	list_init(&tp->ehash_node);
	list_init(&tp->lhash_node);
	list_init(&tp->orphan_node);
	list_init(&tp->ack_node);
	list_init(&tp->syn_queue);
	list_init(&tp->accept_queue);
	list_init(&tp->accept_node);
	skb_queue_init(&tp->rtx_queue);
	skb_queue_init(&tp->write_queue);
	skb_queue_init(&tp->ooo_queue);
	tcp_init_timers(tp);
	tcp_init_buffers(tp);
	tp->mss_cache = TCP_MSS_DEFAULT;
	tp->advmss = TCP_MSS_DEFAULT;
	tp->rcv_mss = TCP_MSS_DEFAULT;
	tp->rto_ms = TCP_TIMEOUT_INIT_MS;
	tp->snd_cwnd = TCP_INIT_CWND;
	tp->snd_ssthresh = TCP_INFINITE_SSTHRESH;
	tp->ato_ms = TCP_ATO_MIN_MS;
	tp->keepidle_s = s->tcp.keepalive_time_s;
	tp->keepintvl_s = s->tcp.keepalive_intvl_s;
	tp->keepcnt = s->tcp.keepalive_probes;
	tp->linger2_s = 0; /* 0: tcp_fin_timeout (tcp_fin_time) */
	tp->ca_ops = tcp_cong_find(s->tcp.cong_default);
	if (!tp->ca_ops)
		tp->ca_ops = &tcp_reno;
	return tp;
}

int tcp_create(struct us_stack *s, int type, int protocol, struct sock **out)
{
	(void)type;
	(void)protocol;
	struct tcp_sock *tp = tcp_sock_new(s);
	if (!tp)
		return -ENOMEM;
	*out = &tp->sk;
	return 0;
}

void tcp_set_state(struct tcp_sock *tp, int state)
{
	struct us_stack *s = tp->sk.stack;
	int old = tp->sk.state;
	if (old == state)
		return;
	if (state == TCP_ESTABLISHED) {
		mib_inc(s, MIB_TcpCurrEstab);
		s->tcp.estab_count++;
	} else if (old == TCP_ESTABLISHED) {
		mib_dec(s, MIB_TcpCurrEstab);
		s->tcp.estab_count--;
	}
	if (old == TCP_ESTABLISHED || old == TCP_CLOSE_WAIT) {
		/* RFC 1213: EstabResets counts ESTABLISHED/CLOSE_WAIT -> CLOSED;
		 * the caller counts it where a reset caused it. */
	}
	tp->sk.state = state;
}

void tcp_orphan(struct tcp_sock *tp)
{
	struct us_stack *s = tp->sk.stack;
	if (tp->orphan)
		return;
	tp->orphan = true;
	list_add_tail(&tp->orphan_node, &s->tcp.orphans);
	s->tcp.orphan_count++;
}

static void tcp_purge_queues(struct tcp_sock *tp)
{
	skb_queue_purge(&tp->rtx_queue);
	skb_queue_purge(&tp->write_queue);
	skb_queue_purge(&tp->ooo_queue);
	skb_queue_purge(&tp->sk.receive_queue);
	tp->sk.rmem_alloc = 0;
	tp->wmem_queued = 0;
	tp->packets_out = tp->retrans_out = tp->lost_out = 0;
}

static void tcp_destroy(struct tcp_sock *tp)
{
	struct us_stack *s = tp->sk.stack;
	if (tp->orphan) {
		list_del(&tp->orphan_node);
		s->tcp.orphan_count--;
		tp->orphan = false;
	}
	if (tp->sk.state == TCP_TIME_WAIT)
		s->tcp.tw_count--;
	sock_put(&tp->sk);
}

void tcp_done(struct tcp_sock *tp)
{
	struct sock *sk = &tp->sk;
	if (sk->state == TCP_TIME_WAIT) {
		/* A timewait socket ends by being freed. */
		tcp_clear_timers(tp);
		list_del(&tp->ack_node);
		tcp_ehash_del(tp);
		tcp_bhash_del(tp);
		tcp_destroy(tp);
		return;
	}
	tcp_set_state(tp, TCP_CLOSE);
	tcp_clear_timers(tp);
	list_del(&tp->ack_node);
	tcp_ehash_del(tp);
	if (tp->in_lhash) {
		list_del(&tp->lhash_node);
		tp->in_lhash = false;
	}
	/* A socket bound with bind() keeps its port until closed. */
	if (sk->dead)
		tcp_bhash_del(tp);
	skb_queue_purge(&tp->rtx_queue);
	skb_queue_purge(&tp->write_queue);
	skb_queue_purge(&tp->ooo_queue);
	tp->wmem_queued = 0;
	tp->packets_out = tp->retrans_out = tp->lost_out = 0;
	sk->shutdown = SHUTDOWN_MASK;
	tp->fin_queued = true;
	/* Wakes the owner, or a close() lingering on a dead socket. */
	sock_wakeup(sk, 0);
	if (!sk->dead)
		return;
	if (tp->orphan || !tp->parent)
		tcp_destroy(tp);
}

/* tcp_write_err: the connection failed (timeouts); tell the owner. */
void tcp_write_err(struct tcp_sock *tp, int err)
{
	tp->sk.err = err;
	sock_wakeup(&tp->sk, EPOLLERR);
	tcp_done(tp);
}

/* tcp_reset: a valid RST arrived (RFC 9293 3.10.7.4). */
void tcp_reset(struct tcp_sock *tp)
{
	struct us_stack *s = tp->sk.stack;
	switch (tp->sk.state) {
	case TCP_SYN_SENT:
		tp->sk.err = ECONNREFUSED;
		break;
	case TCP_CLOSE_WAIT:
		tp->sk.err = EPIPE;
		break;
	case TCP_CLOSE:
		return;
	default:
		tp->sk.err = ECONNRESET;
		break;
	}
	if (tp->sk.state == TCP_ESTABLISHED || tp->sk.state == TCP_CLOSE_WAIT)
		mib_inc(s, MIB_TcpEstabResets);
	sock_wakeup(&tp->sk, EPOLLERR);
	tcp_done(tp);
}

/* How long an orphan waits in FIN_WAIT_2 (tcp_fin_time): TCP_LINGER2, or
 * tcp_fin_timeout when that is 0. */
uint32_t tcp_fin_time_ms(const struct tcp_sock *tp)
{
	return tp->linger2_s > 0 ? (uint32_t)tp->linger2_s * 1000u : tp->sk.stack->tcp.fin_timeout_ms;
}

/* ---- MSS and buffers ---- */

uint16_t tcp_route_mtu(struct tcp_sock *tp)
{
	struct rtable rt;
	if (ip_route_output(tp->sk.stack, tp->sk.daddr, tp->sk.saddr, tp->sk.bound_dev_if, &rt) < 0)
		return 576;
	return (uint16_t)(rt.mtu > 65535 ? 65535 : rt.mtu);
}

/* Payload per segment on a path of this MTU: minus IPv4 and TCP headers
 * and the timestamp option when it is in use (tcp_current_mss). */
uint16_t tcp_mss_for_mtu(const struct tcp_sock *tp, unsigned mtu)
{
	int mss = (int)mtu - IPV4_HLEN - TCP_HLEN;
	if (tp->rx_mss && mss > tp->rx_mss)
		mss = tp->rx_mss;
	if (tp->user_mss && mss > tp->user_mss)
		mss = tp->user_mss;
	if (tp->tstamp_ok)
		mss -= 12;
	if (mss < TCP_MIN_MSS - 40)
		mss = TCP_MIN_MSS - 40;
	return (uint16_t)mss;
}

void tcp_sync_mss(struct tcp_sock *tp, unsigned pmtu)
{
	tp->pmtu = pmtu;
	tp->mss_cache = tcp_mss_for_mtu(tp, pmtu);
}

/* Room in the receive buffer, in window bytes: half of the free memory
 * goes to overhead (tcp_win_from_space with adv_win_scale 1). */
uint32_t tcp_space(const struct tcp_sock *tp)
{
	int free_mem = tp->sk.rcvbuf - (int)tp->sk.rmem_alloc;
	return free_mem > 0 ? (uint32_t)free_mem / 2 : 0;
}

/* Receive-buffer auto-tuning (tcp_rcv_space_adjust, "DRS"): once per
 * RTT, if the application read more than the buffer's window, grow the
 * buffer to twice what it read, up to tcp_rmem[2]. */
void tcp_rcv_space_adjust(struct tcp_sock *tp)
{
	struct us_stack *s = tp->sk.stack;
	uint32_t rtt = tp->srtt_us ? (tp->srtt_us >> 3) / 1000 : 0;
	if (rtt < 1)
		rtt = 1;
	if (s->now_ms < tp->rcvq_time_ms + rtt)
		return;
	uint32_t copied = tp->copied_seq - tp->rcvq_seq;
	if (copied > tp->rcvq_space) {
		tp->rcvq_space = copied;
		if (!tp->rcvbuf_locked) {
			uint64_t want = (uint64_t)copied * 4; /* 2x, and half is overhead */
			if (want > (uint64_t)s->tcp.rmem[2])
				want = (uint64_t)s->tcp.rmem[2];
			if ((int)want > tp->sk.rcvbuf) {
				tp->sk.rcvbuf = (int)want;
				tp->window_clamp = (uint32_t)want / 2;
			}
		}
	}
	tp->rcvq_seq = tp->copied_seq;
	tp->rcvq_time_ms = s->now_ms;
}

/* tcp_sndbuf_expand: room for twice the congestion window. */
void tcp_sndbuf_expand(struct tcp_sock *tp)
{
	struct us_stack *s = tp->sk.stack;
	if (tp->sndbuf_locked)
		return;
	uint64_t per = (uint64_t)tp->mss_cache + SKB_HEADROOM + sizeof(struct skb) + 512;
	uint32_t cwnd = tp->snd_cwnd > TCP_INIT_CWND ? tp->snd_cwnd : TCP_INIT_CWND;
	uint64_t want = 2 * (uint64_t)cwnd * per;
	if (want > (uint64_t)s->tcp.wmem[2])
		want = (uint64_t)s->tcp.wmem[2];
	if ((int)want > tp->sk.sndbuf)
		tp->sk.sndbuf = (int)want;
}

/* sk_stream_is_writeable: a third of the send buffer free. */
bool tcp_stream_writeable(const struct tcp_sock *tp)
{
	int wspace = tp->sk.sndbuf - (int)tp->wmem_queued;
	return wspace >= (int)(tp->wmem_queued / 2) && wspace > 0;
}

/* ---- secrets ---- */

/* RFC 6528: ISN = M + F(4-tuple, secret), M a clock ticking every 64 ns
 * (Linux's secure_tcp_seq). */
uint32_t tcp_secure_isn(struct us_stack *s, uint32_t laddr, uint32_t raddr, uint16_t lport,
			uint16_t rport)
{
	uint32_t f = (uint32_t)siphash_3u32(&s->tcp.isn_key, laddr, raddr,
					     ((uint32_t)lport << 16) | rport);
	return f + (uint32_t)(stack_now_ns(s) >> 6);
}

/* RFC 7323 7.1: a random TSval offset per address pair. */
uint32_t tcp_ts_off(struct us_stack *s, uint32_t laddr, uint32_t raddr)
{
	return (uint32_t)siphash_3u32(&s->tcp.isn_key, laddr, raddr, 0x74737466);
}

/* ---- socket calls ---- */

static int tcp_bind(struct sock *sk, const struct sockaddr *addr, socklen_t len)
{
	struct tcp_sock *tp = tcp_sk(sk);
	uint32_t ip;
	uint16_t port;
	int err = sockaddr_in_get(addr, len, &ip, &port);
	if (err)
		return err;
	if (sk->state != TCP_CLOSE || sk->num)
		return -EINVAL;
	if (ip && !inet_addr_is_local(sk->stack, ip))
		return -EADDRNOTAVAIL;
	sk->rcv_saddr = sk->saddr = ip;
	err = tcp_get_port(tp, port);
	if (err) {
		sk->rcv_saddr = sk->saddr = 0;
		return err;
	}
	return 0;
}

static int tcp_listen(struct sock *sk, int backlog)
{
	struct tcp_sock *tp = tcp_sk(sk);
	struct us_stack *s = sk->stack;
	if (sk->state != TCP_CLOSE && sk->state != TCP_LISTEN)
		return -EINVAL;
	if (backlog > (int)s->tcp.somaxconn)
		backlog = (int)s->tcp.somaxconn;
	if (backlog < 0)
		backlog = 0;
	tp->max_ack_backlog = backlog;
	if (sk->state == TCP_LISTEN)
		return 0;
	if (!sk->num) {
		int err = tcp_get_port(tp, 0);
		if (err)
			return err;
	} else if (tcp_port_in_use(s, sk, sk->num)) {
		/* Someone bound the port with SO_REUSEADDR since; listening
		 * needs it alone (inet_csk_get_port on listen). */
		return -EADDRINUSE;
	}
	tcp_set_state(tp, TCP_LISTEN);
	list_add(&tp->lhash_node, lhash_bucket(s, sk->num));
	tp->in_lhash = true;
	return 0;
}

static int tcp_connect(struct sock *sk, const struct sockaddr *addr, socklen_t len)
{
	struct tcp_sock *tp = tcp_sk(sk);
	struct us_stack *s = sk->stack;
	if (len >= sizeof(sa_family_t) && addr->sa_family == AF_UNSPEC) {
		/* tcp_disconnect */
		if (sk->state == TCP_LISTEN) {
			tcp_listen_stop(tp);
		} else if (sk->state != TCP_CLOSE) {
			if (sk->state != TCP_SYN_SENT)
				tcp_send_active_reset(tp);
			tcp_done(tp);
		}
		sk->err = 0;
		sk->shutdown = 0;
		sk->daddr = 0;
		sk->dport = 0;
		tp->connecting = false;
		return 0;
	}
	if (tp->connecting) {
		/* inet_stream_connect in SS_CONNECTING: the call after
		 * EINPROGRESS reports how the attempt ended, once. */
		switch (sk->state) {
		case TCP_SYN_SENT:
		case TCP_SYN_RECV:
			return -EALREADY;
		case TCP_CLOSE:
			tp->connecting = false;
			return sk->err ? sock_error(sk) : -ECONNABORTED;
		default:
			tp->connecting = false;
			return 0;
		}
	}
	switch (sk->state) {
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
		return -EISCONN;
	case TCP_SYN_SENT:
	case TCP_SYN_RECV:
		return -EALREADY;
	case TCP_LISTEN:
		return -EISCONN; /* inet_stream_connect: sk_state is not CLOSE */
	default:
		break;
	}
	if (sk->shutdown == SHUTDOWN_MASK && tp->rcv_nxt)
		return -EISCONN; /* a finished connection is not reused */
	uint32_t ip;
	uint16_t port;
	int err = sockaddr_in_get(addr, len, &ip, &port);
	if (err)
		return err;
	struct rtable rt;
	err = ip_route_output(s, ip, sk->rcv_saddr, sk->bound_dev_if, &rt);
	if (err)
		return err;
	if (rt.type == RTN_BROADCAST || rt.type == RTN_MULTICAST)
		return -ENETUNREACH;
	if (!sk->saddr)
		sk->saddr = rt.saddr;
	sk->daddr = ip;
	sk->dport = port;
	if (!sk->num) {
		err = tcp_connect_port(tp);
		if (err) {
			sk->daddr = 0;
			sk->dport = 0;
			return err;
		}
	} else if (tcp_ehash_lookup(s, sk->saddr, sk->num, ip, port)) {
		sk->daddr = 0;
		sk->dport = 0;
		return -EADDRNOTAVAIL;
	}
	tp->iss = tcp_secure_isn(s, sk->saddr, sk->daddr, sk->num, sk->dport);
	tp->ts_off = tcp_ts_off(s, sk->saddr, sk->daddr);
	tcp_set_state(tp, TCP_SYN_SENT);
	tcp_ehash_add(tp);
	sk->err = 0;
	mib_inc(s, MIB_TcpActiveOpens);
	err = tcp_connect_send_syn(tp);
	if (err) {
		tcp_done(tp);
		return err;
	}
	tp->connecting = true;
	return -EINPROGRESS;
}

static int tcp_accept(struct sock *sk, struct sock **newsk)
{
	struct tcp_sock *tp = tcp_sk(sk);
	if (sk->state != TCP_LISTEN)
		return -EINVAL;
	if (list_empty(&tp->accept_queue))
		return -EAGAIN;
	struct tcp_sock *child = list_first_entry(&tp->accept_queue, struct tcp_sock, accept_node);
	list_del(&child->accept_node);
	tp->accept_qlen--;
	child->parent = NULL;
	*newsk = &child->sk;
	return 0;
}

static int tcp_getname(struct sock *sk, struct sockaddr *addr, socklen_t *len, bool peer)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (peer) {
		if (!sk->dport || (sk->state == TCP_CLOSE && sk->shutdown != SHUTDOWN_MASK) ||
		    sk->state == TCP_SYN_SENT || sk->state == TCP_LISTEN)
			return -ENOTCONN;
		sin.sin_addr.s_addr = sk->daddr;
		sin.sin_port = htons(sk->dport);
	} else {
		sin.sin_addr.s_addr = sk->rcv_saddr ? sk->rcv_saddr : sk->saddr;
		sin.sin_port = htons(sk->num);
	}
	if ((int)*len < 0)
		return -EINVAL;
	socklen_t n = *len < sizeof(sin) ? *len : (socklen_t)sizeof(sin);
	memcpy(addr, &sin, n);
	*len = sizeof(sin);
	return 0;
}

uint32_t tcp_poll(struct sock *sk)
{
	struct tcp_sock *tp = tcp_sk(sk);
	int state = sk->state;
	if (state == TCP_LISTEN)
		return tp->accept_qlen ? EPOLLIN | EPOLLRDNORM : 0;
	uint32_t mask = 0;
	/* tcp_poll's rules, in its order. */
	if (sk->shutdown == SHUTDOWN_MASK || state == TCP_CLOSE)
		mask |= EPOLLHUP;
	if (sk->shutdown & RCV_SHUTDOWN)
		mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
	if (state != TCP_SYN_SENT && state != TCP_SYN_RECV) {
		if (tp->rcv_nxt != tp->copied_seq && sk->receive_queue.qlen)
			mask |= EPOLLIN | EPOLLRDNORM;
		if (!(sk->shutdown & SEND_SHUTDOWN)) {
			if (tcp_stream_writeable(tp))
				mask |= EPOLLOUT | EPOLLWRNORM;
		} else {
			mask |= EPOLLOUT | EPOLLWRNORM;
		}
	}
	if (sk->err)
		mask |= EPOLLERR;
	return mask;
}

/* Appends user data to the write queue in segments of one MSS
 * (tcp_sendmsg_locked), then pushes. */
static long tcp_sendmsg(struct sock *sk, const struct msghdr *msg, int flags)
{
	struct tcp_sock *tp = tcp_sk(sk);
	struct us_stack *s = sk->stack;
	if (sk->state == TCP_SYN_SENT || sk->state == TCP_SYN_RECV) {
		if (sk->err)
			return sock_error(sk);
		return -EAGAIN; /* sk_stream_wait_connect */
	}
	if (sk->err)
		return sock_error(sk);
	if ((sk->shutdown & SEND_SHUTDOWN) ||
	    (sk->state != TCP_ESTABLISHED && sk->state != TCP_CLOSE_WAIT))
		return -EPIPE;
	size_t total = iov_total(msg);
	size_t copied = 0;
	uint32_t goal = tp->mss_cache;
	while (copied < total) {
		struct skb *skb = tp->write_queue.qlen
				  ? list_entry(tp->write_queue.head.prev, struct skb, list) : NULL;
		if (!skb || skb->len >= goal || (TCP_SKB_CB(skb)->tcp_flags & TCPHDR_FIN)) {
			if ((int)tp->wmem_queued >= sk->sndbuf)
				break;
			skb = skb_alloc_tx(s->pool, goal);
			if (!skb)
				break;
			struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
			memset(cb, 0, sizeof(*cb));
			cb->seq = cb->end_seq = tp->write_seq;
			cb->tcp_flags = TCPHDR_ACK;
			skb_queue_tail(&tp->write_queue, skb);
			tp->wmem_queued += skb_truesize(skb);
		}
		uint32_t room = goal - skb->len;
		if (room > skb_tailroom(skb))
			room = skb_tailroom(skb);
		size_t n = total - copied < room ? total - copied : room;
		iov_copy_from(skb_put(skb, (uint32_t)n), msg, copied, n);
		tp->write_queue.bytes += n;
		TCP_SKB_CB(skb)->end_seq += (uint32_t)n;
		tp->write_seq += (uint32_t)n;
		copied += n;
	}
	if (copied) {
		if (flags & MSG_OOB) {
			/* RFC 6093: the urgent pointer is the sequence number of
			 * the octet following the urgent data. */
			tp->snd_up = tp->write_seq;
			tp->urg_pending = true;
		}
		/* MSG_MORE corks this push (TCP_NAGLE_CORK). */
		tp->more = (flags & MSG_MORE) != 0;
		tcp_push(tp, false);
		tp->more = false;
		return (long)copied;
	}
	if (total == 0)
		return 0;
	return -EAGAIN;
}

/* tcp_recvmsg_locked: in-order data to the reader; urgent data is inline. */
static long tcp_recvmsg(struct sock *sk, struct msghdr *msg, int flags)
{
	struct tcp_sock *tp = tcp_sk(sk);
	if (sk->state == TCP_LISTEN)
		return -ENOTCONN;
	if (flags & MSG_OOB)
		return -EINVAL; /* urgent data stays inline (RFC 6093) */
	if (flags & MSG_ERRQUEUE)
		return -EAGAIN;
	size_t want = iov_total(msg), copied = 0;
	uint32_t seq = tp->copied_seq;
	struct skb *skb, *n;
	list_for_each_entry_safe(skb, n, &sk->receive_queue.head, list) {
		if (copied >= want)
			break;
		uint32_t off = seq - TCP_SKB_CB(skb)->seq;
		if (off >= skb->len) {
			if (!(flags & MSG_PEEK) && off >= skb->len) {
				skb_unlink(&sk->receive_queue, skb);
				sock_rfree(sk, skb);
				skb_free(skb);
			}
			continue;
		}
		size_t take = skb->len - off;
		if (take > want - copied)
			take = want - copied;
		iov_copy_to(msg, copied, skb->data + off, take);
		copied += take;
		seq += (uint32_t)take;
		if (!(flags & MSG_PEEK) && off + take == skb->len) {
			skb_unlink(&sk->receive_queue, skb);
			sock_rfree(sk, skb);
			skb_free(skb);
		}
	}
	if (copied) {
		if (!(flags & MSG_PEEK)) {
			tp->copied_seq = seq;
			tcp_rcv_space_adjust(tp);
			tcp_cleanup_rbuf(tp, (uint32_t)copied);
		}
		return (long)copied;
	}
	if (want == 0)
		return 0;
	if (sk->err)
		return sock_error(sk);
	if (sk->shutdown & RCV_SHUTDOWN)
		return 0;
	if (sk->state == TCP_CLOSE)
		return tp->fin_queued ? 0 : -ENOTCONN;
	return -EAGAIN;
}

static int tcp_shutdown(struct sock *sk, int how)
{
	struct tcp_sock *tp = tcp_sk(sk);
	int mask = how + 1;
	switch (sk->state) {
	case TCP_CLOSE:
		/* Set anyway so pollers see the hangup (inet_shutdown). */
		sk->shutdown |= (uint8_t)mask;
		sock_wakeup(sk, 0);
		return -ENOTCONN;
	case TCP_LISTEN:
		if (!(mask & RCV_SHUTDOWN))
			return 0;
		tcp_listen_stop(tp);
		sock_wakeup(sk, 0);
		return 0;
	case TCP_SYN_SENT:
		tcp_done(tp);
		sk->shutdown = 0;
		sock_wakeup(sk, 0);
		return 0;
	default:
		break;
	}
	sk->shutdown |= (uint8_t)mask;
	if ((mask & SEND_SHUTDOWN) && !tp->fin_queued &&
	    (sk->state == TCP_ESTABLISHED || sk->state == TCP_SYN_RECV ||
	     sk->state == TCP_CLOSE_WAIT)) {
		tcp_set_state(tp, sk->state == TCP_CLOSE_WAIT ? TCP_LAST_ACK : TCP_FIN_WAIT1);
		tcp_send_fin(tp);
	}
	sock_wakeup(sk, 0);
	return 0;
}

/* SO_LINGER with a time: close() waits until the peer has acknowledged
 * our FIN (the state leaves FIN_WAIT_1, CLOSING and LAST_ACK) or the time
 * runs out, as Linux's sk_stream_wait_close; the socket blocks even if it
 * is non-blocking, as on Linux, and close() returns 0 either way. After a
 * timeout the connection carries on as an orphan. Returns true if the
 * connection ended meanwhile (it is then gone). */
static bool tcp_linger_waiting(void *arg)
{
	int st = ((struct tcp_sock *)arg)->sk.state;
	return st != TCP_FIN_WAIT1 && st != TCP_CLOSING && st != TCP_LAST_ACK;
}

static bool tcp_linger_wait(struct tcp_sock *tp)
{
	struct sock *sk = &tp->sk;
	if (tcp_linger_waiting(tp))
		return false;
	uint64_t deadline = stack_now_ns(sk->stack) + (uint64_t)sk->linger_secs * 1000000000u;
	sock_hold(sk);
	/* -EDEADLK (close() from inside the stack's round), -EINTR and the
	 * timeout all end the wait the same way. */
	(void)stack_block(sk->stack, tcp_linger_waiting, tp, deadline);
	/* CLOSE: tcp_done ran (reset, TIME_WAIT handed to a timewait socket,
	 * LAST_ACK acknowledged) and dropped the handle's reference. */
	bool gone = sk->state == TCP_CLOSE;
	sock_put(sk);
	return gone;
}

/* tcp_close: the application lets go of the socket. */
static void tcp_release(struct sock *sk)
{
	struct tcp_sock *tp = tcp_sk(sk);
	struct us_stack *s = sk->stack;
	sk->shutdown = SHUTDOWN_MASK;
	if (sk->state == TCP_LISTEN) {
		tcp_listen_stop(tp);
		tcp_done(tp);
		return;
	}
	/* RFC 2525 2.17: closing with unread data aborts the connection. */
	bool unread = tp->rcv_nxt != tp->copied_seq && sk->receive_queue.qlen;
	if (sk->state == TCP_CLOSE) {
		tcp_done(tp);
		return;
	}
	if (unread) {
		mib_inc(s, MIB_TcpExtTCPAbortOnClose);
		tcp_set_state(tp, TCP_CLOSE);
		tcp_send_active_reset(tp);
		tcp_done(tp);
		return;
	}
	if (sk->linger_on && sk->linger_secs == 0) {
		/* SO_LINGER with zero time: abort with RST (tcp_disconnect). */
		mib_inc(s, MIB_TcpExtTCPAbortOnData);
		if (sk->state != TCP_SYN_SENT)
			tcp_send_active_reset(tp);
		tcp_done(tp);
		return;
	}
	switch (sk->state) {
	case TCP_SYN_SENT:
		tcp_done(tp);
		return;
	case TCP_ESTABLISHED:
	case TCP_SYN_RECV:
		tcp_set_state(tp, TCP_FIN_WAIT1);
		tcp_send_fin(tp);
		break;
	case TCP_CLOSE_WAIT:
		tcp_set_state(tp, TCP_LAST_ACK);
		tcp_send_fin(tp);
		break;
	default:
		break; /* FIN_WAIT*, CLOSING, LAST_ACK: our FIN is on its way */
	}
	if (sk->state == TCP_CLOSE)
		return;
	if (sk->linger_on && sk->linger_secs > 0 && tcp_linger_wait(tp))
		return; /* the connection ended while close() waited */
	/* An orphan finishes the close on its own (tcp_close's tail). */
	tcp_orphan(tp);
	if (sk->state == TCP_FIN_WAIT2) {
		uint32_t tmo = tcp_fin_time_ms(tp);
		if (tp->linger2_s < 0) {
			tcp_send_active_reset(tp);
			tcp_done(tp);
			return;
		}
		tcp_reset_keepalive_timer(tp, tmo);
	}
	if (s->tcp.orphan_count > s->tcp.max_orphans) {
		mib_inc(s, MIB_TcpExtTCPAbortOnMemory);
		tcp_send_active_reset(tp);
		tcp_done(tp);
	}
}

/* ---- options ---- */

static int tcp_setsockopt(struct sock *sk, int level, int name, const void *val, socklen_t len)
{
	struct tcp_sock *tp = tcp_sk(sk);
	if (level == SOL_SOCKET) {
		/* The generic layer has stored the value; TCP follows up. */
		if (name == SO_KEEPALIVE) {
			int v = 0;
			sockopt_get_int(val, len, &v);
			tcp_set_keepalive(tp, v != 0);
		} else if (name == SO_RCVBUF || name == SO_RCVBUFFORCE) {
			tp->rcvbuf_locked = true;
			tp->window_clamp = (uint32_t)sk->rcvbuf / 2;
		} else if (name == SO_SNDBUF || name == SO_SNDBUFFORCE) {
			tp->sndbuf_locked = true;
		}
		return 0;
	}
	if (level != IPPROTO_TCP)
		return -ENOPROTOOPT;
	if (name == TCP_CONGESTION) {
		char nm[16];
		if (!val)
			return -EFAULT;
		size_t n = len < sizeof(nm) - 1 ? len : sizeof(nm) - 1;
		memcpy(nm, val, n);
		nm[n] = 0;
		const struct tcp_cong_ops *ca = tcp_cong_find(nm);
		if (!ca)
			return -ENOENT;
		tp->ca_ops = ca;
		if (ca->init)
			ca->init(tp);
		return 0;
	}
	int v, err = sockopt_get_int(val, len, &v);
	if (err)
		return err;
	switch (name) {
	case TCP_NODELAY:
		tp->nodelay = v != 0;
		if (tp->nodelay)
			tcp_push(tp, true);
		return 0;
	case TCP_CORK:
		tp->cork = v != 0;
		if (!tp->cork)
			tcp_push(tp, tp->nodelay);
		else
			tcp_arm_cork_timer(tp);
		return 0;
	case TCP_MAXSEG:
		if (v && (v < TCP_MIN_MSS || v > 32767)) /* MAX_TCP_WINDOW */
			return -EINVAL;
		tp->user_mss = (uint16_t)v;
		return 0;
	case TCP_KEEPIDLE:
		if (v < 1 || v > 32767)
			return -EINVAL;
		tp->keepidle_s = v;
		if (sk->keepalive)
			tcp_set_keepalive(tp, true);
		return 0;
	case TCP_KEEPINTVL:
		if (v < 1 || v > 32767)
			return -EINVAL;
		tp->keepintvl_s = v;
		return 0;
	case TCP_KEEPCNT:
		if (v < 1 || v > 127)
			return -EINVAL;
		tp->keepcnt = v;
		return 0;
	case TCP_USER_TIMEOUT:
		if (v < 0)
			return -EINVAL;
		tp->user_timeout_ms = (uint32_t)v;
		return 0;
	case TCP_QUICKACK:
		tp->quickack_opt = v != 0;
		if (v) {
			tcp_enter_quickack_mode(tp);
			if (tp->ack_pending)
				tcp_send_ack(tp);
		}
		return 0;
	case TCP_SYNCNT:
		if (v < 1 || v > 127)
			return -EINVAL;
		tp->syn_retries = v;
		return 0;
	case TCP_LINGER2:
		tp->linger2_s = v < 0 ? -1 : v > 120 ? 120 : v;
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

static void tcp_fill_info(struct tcp_sock *tp, struct tcp_info *ti)
{
	struct us_stack *s = tp->sk.stack;
	memset(ti, 0, sizeof(*ti));
	ti->tcpi_state = (uint8_t)tp->sk.state;
	ti->tcpi_ca_state = tp->ca_state;
	ti->tcpi_retransmits = tp->retransmits;
	ti->tcpi_probes = tp->probes_out;
	ti->tcpi_backoff = tp->backoff;
	if (tp->tstamp_ok)
		ti->tcpi_options |= TCPI_OPT_TIMESTAMPS;
	if (tp->sack_ok)
		ti->tcpi_options |= TCPI_OPT_SACK;
	if (tp->wscale_ok) {
		ti->tcpi_options |= TCPI_OPT_WSCALE;
		ti->tcpi_snd_wscale = tp->snd_wscale;
		ti->tcpi_rcv_wscale = tp->rcv_wscale;
	}
	ti->tcpi_rto = tp->rto_ms * 1000;
	ti->tcpi_ato = tp->ato_ms * 1000;
	ti->tcpi_snd_mss = tp->mss_cache;
	ti->tcpi_rcv_mss = tp->rcv_mss;
	ti->tcpi_unacked = tp->packets_out;
	ti->tcpi_lost = tp->lost_out;
	ti->tcpi_retrans = tp->retrans_out;
	ti->tcpi_last_data_sent = (uint32_t)(s->now_ms - tp->lsndtime);
	ti->tcpi_last_data_recv = (uint32_t)(s->now_ms - tp->lrcvtime);
	ti->tcpi_last_ack_recv = (uint32_t)(s->now_ms - tp->rcv_tstamp);
	ti->tcpi_pmtu = tp->pmtu;
	ti->tcpi_rcv_ssthresh = tp->rcv_ssthresh;
	ti->tcpi_rtt = tp->srtt_us >> 3;
	ti->tcpi_rttvar = tp->rttvar_us >> 2;
	ti->tcpi_snd_ssthresh = tp->snd_ssthresh;
	ti->tcpi_snd_cwnd = tp->snd_cwnd;
	ti->tcpi_advmss = tp->advmss;
	ti->tcpi_reordering = 3;
	ti->tcpi_rcv_space = tp->rcvq_space;
	ti->tcpi_total_retrans = tp->total_retrans;
	ti->tcpi_bytes_acked = tp->bytes_acked;
	ti->tcpi_bytes_received = tp->bytes_received;
	ti->tcpi_segs_out = tp->segs_out;
	ti->tcpi_segs_in = tp->segs_in;
	ti->tcpi_data_segs_in = tp->data_segs_in;
	ti->tcpi_data_segs_out = tp->data_segs_out;
	ti->tcpi_bytes_sent = tp->bytes_sent;
	ti->tcpi_bytes_retrans = tp->bytes_retrans;
	ti->tcpi_snd_wnd = tp->snd_wnd;
	ti->tcpi_notsent_bytes = (uint32_t)tp->write_queue.bytes;
}

static int tcp_getsockopt(struct sock *sk, int level, int name, void *val, socklen_t *len)
{
	struct tcp_sock *tp = tcp_sk(sk);
	if (level != IPPROTO_TCP)
		return -ENOPROTOOPT;
	switch (name) {
	case TCP_INFO: {
		if (!val)
			return -EFAULT;
		struct tcp_info ti;
		tcp_fill_info(tp, &ti);
		socklen_t n = *len < sizeof(ti) ? *len : (socklen_t)sizeof(ti);
		memcpy(val, &ti, n);
		*len = n;
		return 0;
	}
	case TCP_CONGESTION: {
		if (!val)
			return -EFAULT;
		char nm[16] = { 0 };
		strncpy(nm, tp->ca_ops->name, sizeof(nm) - 1);
		socklen_t n = *len < sizeof(nm) ? *len : (socklen_t)sizeof(nm);
		memcpy(val, nm, n);
		*len = n;
		return 0;
	}
	case TCP_NODELAY: return sockopt_put_int(val, len, tp->nodelay);
	case TCP_CORK: return sockopt_put_int(val, len, tp->cork);
	case TCP_MAXSEG:
		return sockopt_put_int(val, len, sk->state == TCP_CLOSE || sk->state == TCP_LISTEN
						 ? (tp->user_mss ? tp->user_mss : TCP_MSS_DEFAULT)
						 : tp->mss_cache);
	case TCP_KEEPIDLE: return sockopt_put_int(val, len, tp->keepidle_s);
	case TCP_KEEPINTVL: return sockopt_put_int(val, len, tp->keepintvl_s);
	case TCP_KEEPCNT: return sockopt_put_int(val, len, tp->keepcnt);
	case TCP_USER_TIMEOUT: return sockopt_put_int(val, len, (int)tp->user_timeout_ms);
	case TCP_QUICKACK: return sockopt_put_int(val, len, !tp->pingpong);
	case TCP_SYNCNT:
		return sockopt_put_int(val, len, tp->syn_retries ? tp->syn_retries
								 : sk->stack->tcp.syn_retries);
	case TCP_LINGER2:
		return sockopt_put_int(val, len, tp->linger2_s < 0 ? -1 : (int)(tcp_fin_time_ms(tp) / 1000));
	default:
		return -ENOPROTOOPT;
	}
}

static void tcp_diag(struct sock *sk, struct sock_diag *d)
{
	struct tcp_sock *tp = tcp_sk(sk);
	if (sk->state == TCP_LISTEN) {
		/* ss shows the accept queue and the backlog for listeners. */
		d->recv_q = tp->accept_qlen;
		d->send_q = (uint32_t)tp->max_ack_backlog;
		return;
	}
	if (sk->state == TCP_TIME_WAIT) {
		/* A timewait socket keeps no queues (inet_twsk_diag_fill):
		 * its copied_seq and write_seq were never set. */
		d->recv_q = d->send_q = 0;
		return;
	}
	d->recv_q = tp->rcv_nxt - tp->copied_seq;
	d->send_q = tp->write_seq - tp->snd_una;
	d->has_tcp_info = true;
	d->tcp.state = (uint8_t)sk->state;
	d->tcp.retransmits = tp->retransmits;
	d->tcp.backoff = tp->backoff;
	d->tcp.rto_us = tp->rto_ms * 1000;
	d->tcp.ato_us = tp->ato_ms * 1000;
	d->tcp.snd_mss = tp->mss_cache;
	d->tcp.rcv_mss = tp->rcv_mss;
	d->tcp.rtt_us = tp->srtt_us >> 3;
	d->tcp.rttvar_us = tp->rttvar_us >> 2;
	d->tcp.snd_cwnd = tp->snd_cwnd;
	d->tcp.snd_ssthresh = tp->snd_ssthresh;
	d->tcp.unacked = tp->packets_out;
	d->tcp.lost = tp->lost_out;
	d->tcp.total_retrans = tp->total_retrans;
	d->tcp.bytes_acked = tp->bytes_acked;
	d->tcp.bytes_received = tp->bytes_received;
	d->tcp.rcv_wnd = tp->rcv_wnd;
	d->tcp.snd_wnd = tp->snd_wnd;
}

static const struct proto_ops tcp_ops = {
	.family = AF_INET,
	.release = tcp_release,
	.bind = tcp_bind,
	.connect = tcp_connect,
	.listen = tcp_listen,
	.accept = tcp_accept,
	.getname = tcp_getname,
	.poll = tcp_poll,
	.shutdown = tcp_shutdown,
	.setsockopt = tcp_setsockopt,
	.getsockopt = tcp_getsockopt,
	.sendmsg = tcp_sendmsg,
	.recvmsg = tcp_recvmsg,
	.connect_wait_events = EPOLLOUT,
	.diag = tcp_diag,
};

/* ---- the stack's TCP ---- */

static void tcp_foreach_extra(struct us_stack *s, void (*fn)(void *arg, struct sock *sk), void *arg)
{
	struct tcp_sock *tp, *n;
	list_for_each_entry_safe(tp, n, &s->tcp.orphans, orphan_node)
		fn(arg, &tp->sk);
}

static const struct net_protocol tcp_protocol = {
	.handler = tcp_v4_rcv,
	.err_handler = tcp_v4_err,
};

void tcp_init(struct us_stack *s)
{
	struct tcp_state *t = &s->tcp;
	for (unsigned i = 0; i < (1u << TCP_EHASH_BITS); i++) {
		list_init(&t->ehash[i]);
		list_init(&t->reqhash[i]);
	}
	for (unsigned i = 0; i < (1u << TCP_LHASH_BITS); i++)
		list_init(&t->lhash[i]);
	for (unsigned i = 0; i < (1u << TCP_BHASH_BITS); i++)
		list_init(&t->bhash[i]);
	list_init(&t->orphans);
	list_init(&t->ack_list);
	t->timestamps = true;
	t->sack = true;
	t->window_scaling = true;
	t->syncookies = true;
	t->rmem[0] = 4096;
	t->rmem[1] = 131072;
	t->rmem[2] = 6291456;
	t->wmem[0] = 4096;
	t->wmem[1] = 16384;
	t->wmem[2] = 4194304;
	t->fin_timeout_ms = 60000;
	t->timewait_ms = 60000;   /* TCP_TIMEWAIT_LEN: 2 * MSL of 30 s */
	t->max_tw_buckets = 16384;
	t->max_orphans = 16384;
	t->max_syn_backlog = 1024;
	t->somaxconn = 4096;
	t->retries1 = 3;
	t->retries2 = 15;
	t->syn_retries = 6;
	t->synack_retries = 5;
	t->orphan_retries = 8;
	t->keepalive_time_s = 7200;
	t->keepalive_intvl_s = 75;
	t->keepalive_probes = 9;
	t->challenge_ack_limit = INT32_MAX; /* Linux 6.0+: no global budget (CVE-2016-5696) */
	t->invalid_ratelimit_ms = 500;
	t->rto_min_ms = TCP_RTO_MIN_MS;
	t->rfc1337 = false;
	strcpy(t->cong_default, "reno");
	t->isn_key.k0 = prng_next(&s->rng);
	t->isn_key.k1 = prng_next(&s->rng);
	t->cookie_key.k0 = prng_next(&s->rng);
	t->cookie_key.k1 = prng_next(&s->rng);
	t->port_key.k0 = prng_next(&s->rng);
	t->port_key.k1 = prng_next(&s->rng);
	t->port_counter = (uint32_t)prng_next(&s->rng);
	inet_add_protocol(s, &tcp_protocol, IPPROTO_TCP_);
	s->sock_foreach_extra = tcp_foreach_extra;
}

/* At teardown: every socket without a handle goes, silently. */
void tcp_cleanup(struct us_stack *s)
{
	struct tcp_state *t = &s->tcp;
	for (unsigned i = 0; i < (1u << TCP_EHASH_BITS); i++)
		while (!list_empty(&t->reqhash[i]))
			tcp_req_drop(list_first_entry(&t->reqhash[i], struct tcp_request, hash));
	while (!list_empty(&t->orphans)) {
		struct tcp_sock *tp = list_first_entry(&t->orphans, struct tcp_sock, orphan_node);
		tcp_purge_queues(tp);
		tcp_done(tp);
	}
}
