/*
 * TCP (RFC 9293), organized as Linux's net/ipv4/tcp*.c:
 *   tcp.c            socket calls, tables, ports, options, TCP_INFO
 *   tcp_input.c      segment arrival: lookup, state machine, ACK and
 *                    data processing, header prediction
 *   tcp_output.c     building and sending segments, windows, Nagle
 *   tcp_timer.c      retransmission, delayed ACK, persist, keepalive,
 *                    FIN_WAIT_2, TIME_WAIT, SYN-ACK
 *   tcp_minisocks.c  request sockets (SYN queue), SYN cookies, TIME_WAIT
 *   tcp_cong.c       congestion control ops; Reno with NewReno recovery
 */
#ifndef US_TCP_H
#define US_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/tcp.h>

#include "../core/list.h"
#include "../core/rand.h"
#include "../core/skb.h"
#include "../core/timer.h"
#include "../net/route.h"
#include "../socket/sock.h"
#include "../wire/tcp.h"

struct us_stack;
struct tcp_sock;

/* Linux's defaults (include/net/tcp.h). */
#define TCP_RTO_MIN_MS 200
#define TCP_RTO_MAX_MS 120000
#define TCP_TIMEOUT_INIT_MS 1000   /* RFC 6298 2.1 */
#define TCP_DELACK_MAX_MS 200
#define TCP_DELACK_MIN_MS 40
#define TCP_ATO_MIN_MS 40
#define TCP_MAX_QUICKACKS 16
#define TCP_INIT_CWND 10           /* RFC 6928 */
#define TCP_INFINITE_SSTHRESH 0x7fffffff
#define TCP_MIN_MSS 88
#define TCP_MAX_WSCALE 14
#define TCP_PAWS_24DAYS_MS (24ull * 86400 * 1000)
#define TCP_RESOURCE_PROBE_MS 500

/* enum tcp_ca_state (TCP_CA_Open ... TCP_CA_Loss), TCP_MSS_DEFAULT and
 * struct tcp_info come from <linux/tcp.h>. */

/* Per-segment state in skb->cb (TCP_SKB_CB). */
struct tcp_skb_cb {
	uint32_t seq;        /* first sequence number */
	uint32_t end_seq;    /* seq + data + SYN + FIN */
	uint32_t ack_seq;    /* received segments: their ACK field */
	uint8_t tcp_flags;
	uint8_t sacked;      /* TCPCB_* */
	uint16_t window;     /* received segments: window field (unscaled) */
	uint64_t tx_ns;      /* first transmission, for RTT without timestamps */
	uint32_t tsval, tsecr; /* received segments: timestamps, if any */
	bool ts_ok;
	bool has_sack;       /* received segments: SACK blocks present */
	uint32_t sack_end;   /* ... and the highest right edge among them */
};
#define TCPCB_RETRANS 0x01   /* retransmitted at least once (Karn) */
#define TCPCB_LOST 0x02      /* marked lost, to be retransmitted */
#define TCPCB_EVER_RETRANS 0x04
#define TCP_SKB_CB(skb) ((struct tcp_skb_cb *)(void *)(skb)->cb)
_Static_assert(sizeof(struct tcp_skb_cb) <= 48, "tcp_skb_cb fits the control block");

/* Congestion control (tcp_congestion_ops). */
struct tcp_cong_ops {
	const char *name;
	void (*init)(struct tcp_sock *tp);
	/* ssthresh after a loss (RFC 5681 eq. 4). */
	uint32_t (*ssthresh)(struct tcp_sock *tp);
	/* Grows cwnd for acked segments outside recovery. */
	void (*cong_avoid)(struct tcp_sock *tp, uint32_t acked);
	void (*set_state)(struct tcp_sock *tp, uint8_t new_state);
};
extern const struct tcp_cong_ops tcp_reno;
const struct tcp_cong_ops *tcp_cong_find(const char *name);
/* The names of the algorithms, space-separated (snprintf's return). */
int tcp_cong_list_names(char *buf, size_t len);

/* A connection request in a listener's SYN queue (request_sock). */
struct tcp_request {
	struct list_head hash;      /* in the stack's request table */
	struct list_head queue;     /* in the listener's SYN queue */
	struct tcp_sock *listener;
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	uint32_t iss, irs;
	uint16_t mss;               /* peer's MSS option (0: none) */
	uint8_t snd_wscale, rcv_wscale;
	bool wscale_ok, sack_ok, ts_ok;
	uint32_t ts_recent;
	uint32_t ts_off;
	uint16_t window;            /* peer's window in its SYN */
	uint8_t retrans;
	uint64_t synack_ns;         /* first SYN-ACK sent (0: retransmitted, Karn) */
	int iif;
	struct timer timer;         /* SYN-ACK retransmission */
	struct us_stack *stack;
};

struct tcp_sock {
	struct sock sk;
	struct list_head ehash_node;   /* established/bound-4-tuple table */
	struct list_head lhash_node;   /* listening table */
	struct list_head orphan_node;  /* sockets without a handle */
	struct list_head ack_node;     /* in tcp_state.ack_list: ACK at the end of the round */
	bool in_ehash, in_lhash, in_bhash, orphan;

	/* Send sequence space (RFC 9293 3.3.1). */
	uint32_t snd_una, snd_nxt, snd_wnd, snd_wl1, snd_wl2, iss;
	uint32_t write_seq;    /* end of the data the application gave */
	uint32_t max_window;   /* largest window the peer offered */
	uint32_t snd_up;       /* urgent pointer to send, if urg_pending */
	bool urg_pending;
	/* Receive sequence space. */
	uint32_t rcv_nxt, rcv_wnd, irs;
	uint32_t rcv_wup;      /* rcv_nxt when the window was last sent */
	uint32_t copied_seq;   /* next byte the application reads */
	uint32_t rcv_ssthresh; /* window growth limit (tcp_grow_window) */
	uint32_t window_clamp;

	/* Options. */
	uint16_t mss_cache;    /* current send MSS (payload per segment) */
	uint16_t advmss;       /* MSS we announce */
	uint16_t rx_mss;       /* MSS the peer announced */
	uint16_t user_mss;     /* TCP_MAXSEG */
	uint16_t rcv_mss;      /* estimate of the peer's segment size */
	uint8_t snd_wscale, rcv_wscale;
	bool wscale_ok, sack_ok, tstamp_ok;
	uint32_t ts_recent;    /* RFC 7323 TS.Recent */
	uint64_t ts_recent_stamp; /* ms when it was taken */
	uint32_t ts_off;       /* random offset of our TSval clock */
	uint32_t pmtu;

	/* Retransmission (RFC 6298). */
	uint32_t srtt_us;      /* smoothed RTT << 3 */
	uint32_t mdev_us;      /* RTT variance estimate << 2 */
	uint32_t rttvar_us;
	uint32_t rto_ms;
	uint8_t retransmits;   /* consecutive timeouts */
	uint8_t backoff;
	uint8_t probes_out;    /* zero-window or keepalive probes unanswered */
	uint64_t retrans_stamp; /* ms of the first retransmission of the head */
	uint64_t rcv_tstamp;   /* ms of the last ACK received */
	uint64_t lsndtime;     /* ms of the last data sent */
	uint64_t lrcvtime;     /* ms of the last data received */

	/* Delayed ACK (inet_connection_sock's icsk_ack). */
	bool ack_pending;      /* an ACK is owed */
	bool ack_now;          /* send it with this segment's processing */
	uint8_t quick;         /* ACKs to send at once (quick-ACK mode) */
	bool pingpong;         /* interactive: piggyback ACKs */
	uint32_t ato_ms;
	uint32_t segs_since_ack; /* full segments received since our last ACK */

	/* Congestion control (RFC 5681, 6582). */
	uint32_t snd_cwnd;     /* segments */
	uint32_t snd_ssthresh;
	uint32_t snd_cwnd_cnt;
	uint32_t prior_cwnd;
	uint32_t high_seq;     /* recovery point (RFC 6582 "recover") */
	uint32_t packets_out, retrans_out, lost_out;
	uint32_t dupacks;
	uint8_t ca_state;
	const struct tcp_cong_ops *ca_ops;
	uint64_t ca_priv[8];

	/* Queues. */
	struct skb_queue rtx_queue;   /* sent, not yet acknowledged */
	struct skb_queue write_queue; /* not yet sent */
	struct skb_queue ooo_queue;   /* out-of-order, ordered by seq */
	uint32_t wmem_queued;         /* bytes charged against sndbuf */
	bool sndbuf_locked, rcvbuf_locked; /* set with SO_SNDBUF/SO_RCVBUF */

	/* Receive buffer auto-tuning (tcp_rcv_space_adjust). */
	uint32_t rcvq_space;
	uint32_t rcvq_seq;
	uint64_t rcvq_time_ms;
	uint32_t rcv_rtt_ms;

	/* Listening. */
	struct list_head syn_queue;   /* struct tcp_request */
	struct list_head accept_queue;/* children (tcp_sock.accept_node) */
	struct list_head accept_node;
	uint32_t syn_qlen, accept_qlen;
	int max_ack_backlog;
	struct tcp_sock *parent;      /* the listener of a child in its accept queue */

	/* Timers. */
	struct timer rtx_timer;       /* retransmit, zero-window probe */
	struct timer delack_timer;
	struct timer keepalive_timer; /* keepalive, SYN_SENT's connect, FIN_WAIT_2, TIME_WAIT */
	struct timer cork_timer;
	uint8_t rtx_timer_kind;       /* ICSK_TIME_RETRANS or ICSK_TIME_PROBE0 */

	/* Options set by the application. */
	bool nodelay, cork, quickack_opt;
	bool more;            /* the write being pushed had MSG_MORE */
	int keepidle_s, keepintvl_s, keepcnt;
	uint32_t user_timeout_ms;
	int linger2_s;
	int syn_retries;

	/* TCP_INFO and statistics. */
	uint32_t total_retrans;
	uint64_t bytes_acked, bytes_received, bytes_sent, bytes_retrans;
	uint32_t segs_in, segs_out, data_segs_in, data_segs_out;

	uint32_t snd_sml;     /* end of the last small segment sent (Minshall) */
	uint32_t sack_recent; /* seq of the latest out-of-order segment (RFC 2018 4) */
	uint32_t highest_sack; /* highest sequence the peer has SACKed (RFC 6675) */
	uint64_t last_oow_ack_ms; /* last ACK sent for an out-of-window segment */
	int err_soft;         /* ICMP error to report if the connection times out */
	uint64_t synq_overflow_ms; /* listeners: when SYN cookies were last sent */
	bool fin_queued;      /* our FIN is in the write queue or sent */
	bool connecting;      /* connect() said EINPROGRESS (SS_CONNECTING) */
	bool syn_cookie;      /* made from a SYN cookie */
};

#define ICSK_TIME_RETRANS 1
#define ICSK_TIME_PROBE0 3

static inline struct tcp_sock *tcp_sk(struct sock *sk)
{
	return (struct tcp_sock *)sk;
}

/* Per-stack TCP state and knobs (the tcp_* sysctls). */
#define TCP_EHASH_BITS 12
#define TCP_LHASH_BITS 6
#define TCP_BHASH_BITS 10

struct tcp_state {
	struct list_head ehash[1 << TCP_EHASH_BITS];
	struct list_head lhash[1 << TCP_LHASH_BITS];
	struct list_head bhash[1 << TCP_BHASH_BITS];
	struct list_head reqhash[1 << TCP_EHASH_BITS];
	struct list_head orphans;
	struct list_head ack_list;     /* ACKs deferred to the end of a poll round */
	unsigned orphan_count, tw_count, estab_count, req_count;
	/* Knobs. */
	bool timestamps, sack, window_scaling, syncookies;
	int rmem[3], wmem[3];
	uint32_t fin_timeout_ms, timewait_ms;
	unsigned max_tw_buckets, max_orphans, max_syn_backlog, somaxconn;
	int retries1, retries2, syn_retries, synack_retries, orphan_retries;
	int keepalive_time_s, keepalive_intvl_s, keepalive_probes;
	uint32_t challenge_ack_limit;   /* per second, all connections */
	uint32_t invalid_ratelimit_ms;
	uint32_t rto_min_ms;
	bool rfc1337;
	bool ack_coalesce;              /* one ACK per poll round (off: RFC 5681 4.2) */
	char cong_default[16];
	/* RFC 5961 challenge-ACK budget. */
	uint64_t challenge_stamp_s;
	uint32_t challenge_count;
	/* Secrets: ISN (RFC 6528), SYN cookies, ephemeral ports (RFC 6056). */
	struct siphash_key isn_key, cookie_key, port_key;
	uint32_t port_counter;
};

/* tcp.c */
void tcp_init(struct us_stack *s);
void tcp_cleanup(struct us_stack *s);
void tcp_set_state(struct tcp_sock *tp, int state);
/* The connection is over: timers stopped, unhashed; an orphan is freed. */
void tcp_done(struct tcp_sock *tp);
void tcp_ehash_add(struct tcp_sock *tp);
void tcp_ehash_del(struct tcp_sock *tp);
struct tcp_sock *tcp_ehash_lookup(struct us_stack *s, uint32_t laddr, uint16_t lport,
				  uint32_t raddr, uint16_t rport);
struct tcp_sock *tcp_lhash_lookup(struct us_stack *s, uint32_t laddr, uint16_t lport, int dif);
void tcp_bhash_add(struct tcp_sock *tp);
void tcp_bhash_del(struct tcp_sock *tp);
struct tcp_sock *tcp_sock_new(struct us_stack *s);
void tcp_init_buffers(struct tcp_sock *tp);
uint32_t tcp_secure_isn(struct us_stack *s, uint32_t laddr, uint32_t raddr, uint16_t lport,
			uint16_t rport);
uint32_t tcp_ts_off(struct us_stack *s, uint32_t laddr, uint32_t raddr);
/* Our TSval clock: ms + a per-connection offset (RFC 7323 7.1). */
#define tcp_time_stamp(s, off) ((uint32_t)(s)->now_ms + (off))
void tcp_orphan(struct tcp_sock *tp);
uint32_t tcp_fin_time_ms(const struct tcp_sock *tp);
uint16_t tcp_mss_for_mtu(const struct tcp_sock *tp, unsigned mtu);
void tcp_sync_mss(struct tcp_sock *tp, unsigned pmtu);
uint16_t tcp_route_mtu(struct tcp_sock *tp);
uint32_t tcp_space(const struct tcp_sock *tp);
void tcp_rcv_space_adjust(struct tcp_sock *tp);
void tcp_sndbuf_expand(struct tcp_sock *tp);
bool tcp_stream_writeable(const struct tcp_sock *tp);
void tcp_write_err(struct tcp_sock *tp, int err);
void tcp_reset(struct tcp_sock *tp);
uint32_t tcp_poll(struct sock *sk);

/* tcp_output.c */
/* Sends what the windows and Nagle allow. */
void tcp_push(struct tcp_sock *tp, bool force_nagle_off);
bool tcp_write_xmit(struct tcp_sock *tp, bool nagle_off);
bool tcp_write_wakeup(struct tcp_sock *tp);
int tcp_transmit_skb(struct tcp_sock *tp, struct skb *skb, bool clone);
void tcp_send_ack(struct tcp_sock *tp);
void tcp_send_delayed_ack(struct tcp_sock *tp);
void tcp_send_fin(struct tcp_sock *tp);
void tcp_send_active_reset(struct tcp_sock *tp);
int tcp_connect_send_syn(struct tcp_sock *tp);
void tcp_send_synack(struct tcp_sock *tp);
/* A zero-window or keepalive probe: an ACK carrying SND.UNA - 1. */
void tcp_send_probe(struct tcp_sock *tp);
int tcp_retransmit_skb(struct tcp_sock *tp, struct skb *skb);
void tcp_xmit_retransmit_queue(struct tcp_sock *tp);
uint16_t tcp_select_window(struct tcp_sock *tp);
/* RST or ACK for a segment without a socket (tcp_v4_send_reset/ack).
 * in: the received segment, data at the TCP payload, header parsed. */
void tcp_v4_send_reset(struct us_stack *s, struct skb *in, const struct tcp_repr *th,
		       uint32_t saddr, uint32_t daddr);
void tcp_v4_send_ack(struct us_stack *s, uint32_t saddr, uint32_t daddr, uint16_t sport,
		     uint16_t dport, uint32_t seq, uint32_t ack, uint16_t win, bool ts_ok,
		     uint32_t tsval, uint32_t tsecr, int oif, uint8_t flags);
void tcp_send_synack_req(struct us_stack *s, struct tcp_request *req);
void tcp_check_probe_timer(struct tcp_sock *tp);
uint32_t tcp_packets_in_flight(const struct tcp_sock *tp);
bool tcp_skb_queue_charge(struct tcp_sock *tp, struct skb *skb);
void tcp_skb_uncharge(struct tcp_sock *tp, struct skb *skb);

/* tcp_input.c */
int tcp_v4_rcv(struct skb *skb);
void tcp_v4_err(struct us_stack *s, struct skb *skb, uint8_t type, uint8_t code, uint32_t info);
void tcp_enter_quickack_mode(struct tcp_sock *tp);
void tcp_rtt_estimator(struct tcp_sock *tp, int64_t rtt_us);
void tcp_set_rto(struct tcp_sock *tp);
void tcp_enter_loss(struct tcp_sock *tp);
void tcp_cleanup_rbuf(struct tcp_sock *tp, uint32_t copied);
void tcp_init_transfer(struct tcp_sock *tp);
/* Sends the ACKs deferred during this poll round (GRO-like coalescing). */
void tcp_flush_acks(struct us_stack *s);

/* tcp_timer.c */
void tcp_init_timers(struct tcp_sock *tp);
void tcp_clear_timers(struct tcp_sock *tp);
void tcp_reset_rtx_timer(struct tcp_sock *tp, uint8_t kind, uint32_t when_ms);
void tcp_clear_rtx_timer(struct tcp_sock *tp);
void tcp_reset_keepalive_timer(struct tcp_sock *tp, uint32_t when_ms);
void tcp_set_keepalive(struct tcp_sock *tp, bool on);
uint32_t tcp_keepalive_time_ms(const struct tcp_sock *tp);
void tcp_time_wait(struct tcp_sock *tp, int state, uint32_t timeo_ms);
void tcp_arm_cork_timer(struct tcp_sock *tp);

/* tcp_minisocks.c */
int tcp_conn_request(struct tcp_sock *lis, struct skb *skb, const struct tcp_repr *th,
		     const struct tcp_opts *opt, uint32_t saddr, uint32_t daddr);
struct tcp_request *tcp_req_lookup(struct us_stack *s, uint32_t laddr, uint16_t lport,
				   uint32_t raddr, uint16_t rport);
/* The third segment of a handshake for req: 1 consumed (and freed), or 0 if
 * a child took it (skb handed to the child). */
int tcp_check_req(struct tcp_request *req, struct skb *skb, const struct tcp_repr *th,
		  const struct tcp_opts *opt, uint32_t saddr, uint32_t daddr);
void tcp_req_drop(struct tcp_request *req);
/* The child a valid cookie makes; lis itself when the ACK is not one of
 * our cookies (to be reset); NULL when there is no room for it. */
struct tcp_sock *tcp_cookie_check(struct tcp_sock *lis, struct skb *skb, const struct tcp_repr *th,
				  const struct tcp_opts *opt, uint32_t saddr, uint32_t daddr);
/* Segment for a connection in TIME_WAIT: 1 to process it as new (a SYN
 * recycling the connection: the timewait socket is gone), 0 consumed. */
int tcp_timewait_state_process(struct tcp_sock *tw, struct skb *skb, const struct tcp_repr *th,
			       const struct tcp_opts *opt);
void tcp_listen_stop(struct tcp_sock *lis);
void tcp_accept_enqueue(struct tcp_sock *lis, struct tcp_sock *child);

#endif
