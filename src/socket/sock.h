/*
 * The protocol-independent socket layer (Linux's struct socket + struct
 * sock + proto_ops, folded into one object).
 *
 * A protocol embeds struct sock first in its own socket (udp_sock,
 * raw_sock, packet_sock, tcp_sock) and provides a proto_ops table. The
 * public calls in socket.c check arguments, convert errors, block when
 * asked, and call the ops. Ops return 0/length or a negative errno and
 * never block: they return -EAGAIN and the caller waits with sock_wait().
 *
 * Readiness: a protocol calls sock_wakeup(sk, mask) whenever something a
 * poller could see changes (data queued, room to send, an error, a state
 * change). That feeds the epoll instances watching the socket and the
 * threads waiting on the stack.
 */
#ifndef US_SOCK_H
#define US_SOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../core/list.h"
#include "../core/skb.h"

struct us_stack;
struct sock;
struct msghdr;
struct sock_diag;

struct proto_ops {
	int family;
	/* The application closed its handle. The protocol unhashes the
	 * socket (or keeps it as an orphan, as TCP does) and drops the
	 * reference the handle held with sock_put(). */
	void (*release)(struct sock *sk);
	int (*bind)(struct sock *sk, const struct sockaddr *addr, socklen_t len);
	int (*connect)(struct sock *sk, const struct sockaddr *addr, socklen_t len);
	int (*listen)(struct sock *sk, int backlog);
	/* A new connected socket in *newsk (with no handle yet), or -EAGAIN. */
	int (*accept)(struct sock *sk, struct sock **newsk);
	int (*getname)(struct sock *sk, struct sockaddr *addr, socklen_t *len, bool peer);
	/* The current EPOLL* mask. */
	uint32_t (*poll)(struct sock *sk);
	int (*shutdown)(struct sock *sk, int how);
	/* Protocol-level options (IPPROTO_TCP, IPPROTO_IP, SOL_PACKET...);
	 * -ENOPROTOOPT lets the generic layer try. */
	int (*setsockopt)(struct sock *sk, int level, int name, const void *val, socklen_t len);
	int (*getsockopt)(struct sock *sk, int level, int name, void *val, socklen_t *len);
	long (*sendmsg)(struct sock *sk, const struct msghdr *msg, int flags);
	long (*recvmsg)(struct sock *sk, struct msghdr *msg, int flags);
	/* Events a blocked connect() waits for; 0: connect never blocks. */
	uint32_t connect_wait_events;
	/* Fills what `ss` shows beyond the generic fields (queues, TCP_INFO);
	 * NULL: the generic fields only. */
	void (*diag)(struct sock *sk, struct sock_diag *d);
};

/* What `ss` shows of a socket (sock_diag): sock_diag_fill() sets the
 * generic fields, then the protocol's diag op adds its own. */
struct sock_diag {
	int fd;
	int family, type, protocol;
	int state;               /* TCP_* */
	uint32_t laddr, raddr;   /* network order */
	uint16_t lport, rport;   /* host order */
	uint32_t recv_q, send_q; /* bytes, as ss shows them */
	int ifindex;             /* packet sockets, SO_BINDTODEVICE */
	bool has_tcp_info;
	struct {
		uint8_t state, retransmits, backoff;
		uint32_t rto_us, ato_us, snd_mss, rcv_mss;
		uint32_t rtt_us, rttvar_us, snd_cwnd, snd_ssthresh;
		uint32_t unacked, lost, total_retrans;
		uint64_t bytes_acked, bytes_received;
		uint32_t rcv_wnd, snd_wnd;
	} tcp;
};
void sock_diag_fill(struct sock *sk, struct sock_diag *d);
/* Visits every socket of the stack, with a handle or not (TCP orphans,
 * TIME_WAIT, embryonic connections included when the protocol lists them). */
void sock_foreach(struct us_stack *s, void (*fn)(void *arg, struct sock *sk), void *arg);

/* sk_shutdown bits */
#define RCV_SHUTDOWN 1
#define SEND_SHUTDOWN 2
#define SHUTDOWN_MASK 3

/* Connection states, shared with TCP (RFC 9293 names, Linux numbering). */
enum {
	TCP_ESTABLISHED = 1,
	TCP_SYN_SENT,
	TCP_SYN_RECV,
	TCP_FIN_WAIT1,
	TCP_FIN_WAIT2,
	TCP_TIME_WAIT,
	TCP_CLOSE,
	TCP_CLOSE_WAIT,
	TCP_LAST_ACK,
	TCP_LISTEN,
	TCP_CLOSING,
};

#define SOCK_MIN_RCVBUF 2304
#define SOCK_MIN_SNDBUF 4608

struct sock {
	struct us_stack *stack;
	const struct proto_ops *ops;
	int fd;                  /* handle, -1 when the application has none */
	uint16_t family;
	uint8_t type;
	uint8_t protocol;
	uint32_t refcnt;
	bool dead;               /* the application closed it */
	bool nonblock;
	bool reuseaddr, reuseport, broadcast, keepalive, hdrincl;
	uint8_t shutdown;        /* RCV_SHUTDOWN | SEND_SHUTDOWN */
	int state;               /* TCP_* (UDP: ESTABLISHED when connected) */
	int err;                 /* pending error (positive errno), SO_ERROR */
	int rcvbuf, sndbuf;      /* bytes, doubled as Linux does */
	uint64_t rcvtimeo_ns, sndtimeo_ns; /* 0: forever */
	int ttl;                 /* -1: the stack's default */
	uint8_t tos;
	int bound_dev_if;        /* SO_BINDTODEVICE, 0: any */
	int linger_on, linger_secs;

	/* Internet addressing: addresses in network order, ports host order. */
	uint32_t rcv_saddr;      /* bound local address (0: any) */
	uint32_t saddr;          /* source used when sending */
	uint32_t daddr;
	uint16_t num;            /* local port */
	uint16_t dport;
	struct list_head bind_node; /* in the protocol's port table */

	struct skb_queue receive_queue;
	uint32_t rmem_alloc;     /* bytes charged against rcvbuf */
	uint64_t drops;

	struct list_head epitems; /* epoll items watching this socket */
};

/* Allocates a socket of size bytes (the protocol's struct, sock first),
 * with defaults: refcount 1 (the handle), buffers of the stack's defaults. */
struct sock *sk_alloc(struct us_stack *s, size_t size, int family, int type, int protocol,
		      const struct proto_ops *ops);
static inline void sock_hold(struct sock *sk)
{
	sk->refcnt++;
}
/* Drops a reference; the last one frees (queues purged). */
void sock_put(struct sock *sk);

/* Something a poller can see changed; mask hints what (0: anything). */
void sock_wakeup(struct sock *sk, uint32_t mask);

/* Charges skb to sk's receive buffer and queues it, waking readers.
 * -ENOBUFS when the buffer is full (the caller counts and frees). */
int sock_queue_rcv_skb(struct sock *sk, struct skb *skb);
/* Releases what a dequeued skb charged. */
void sock_rfree(struct sock *sk, struct skb *skb);
/* The pending error, cleared (sock_error): negative errno or 0. */
static inline int sock_error(struct sock *sk)
{
	int e = sk->err;
	sk->err = 0;
	return -e;
}

/* Blocks (see socket.h) until sk reports one of events (or an error or
 * hangup), the deadline (ns on the stack's clock, US_TIME_NEVER: none)
 * passes (-EAGAIN), the stack is stopped (-EINTR), or the socket is closed
 * under us (-EBADF). */
int sock_wait(struct sock *sk, uint32_t events, uint64_t deadline);
/* The deadline for a timeout of ns nanoseconds from now (0: none). */
uint64_t sock_deadline(struct sock *sk, uint64_t timeout_ns);
/* Runs the stack (or, with a stack thread, sleeps) until ready(arg), the
 * deadline, or a stop: 0, -EAGAIN, -EINTR. */
int stack_block(struct us_stack *s, bool (*ready)(void *arg), void *arg, uint64_t deadline);

/* Copies len bytes from/to an iovec array, starting at byte offset off of
 * the iovec. */
size_t iov_total(const struct msghdr *msg);
void iov_copy_from(uint8_t *dst, const struct msghdr *msg, size_t off, size_t len);
size_t iov_copy_to(const struct msghdr *msg, size_t off, const uint8_t *src, size_t len);
/* Fills msg_name with an IPv4 address if room was given. */
void msg_put_inet_name(struct msghdr *msg, uint32_t addr, uint16_t port);
/* Reads a sockaddr_in argument: -EINVAL/-EAFNOSUPPORT as Linux. */
int sockaddr_in_get(const struct sockaddr *addr, socklen_t len, uint32_t *ip, uint16_t *port);

/* Generic option helpers. */
int sockopt_get_int(const void *val, socklen_t len, int *out);
int sockopt_put_int(void *val, socklen_t *len, int v);

/* The socket table (handles). */
struct sock_table {
	void **objs;            /* struct sock * or struct eventpoll * */
	uint8_t *kinds;
	int cap;
	int count;
	int lowest_free;
	bool fd_exported;        /* us_stack_fd() was handed out */
	int ephemeral_lo, ephemeral_hi; /* ip_local_port_range */
	int default_rcvbuf, default_sndbuf; /* rmem_default, wmem_default */
	int max_rcvbuf, max_sndbuf;         /* rmem_max, wmem_max */
};
enum { HANDLE_FREE, HANDLE_SOCK, HANDLE_EPOLL };

void sock_table_init(struct us_stack *s);
void sock_table_cleanup(struct us_stack *s);
int sock_install(struct us_stack *s, struct sock *sk);

/* Protocol families register a constructor. */
int udp_create(struct us_stack *s, int type, int protocol, struct sock **out);
int raw_create(struct us_stack *s, int type, int protocol, struct sock **out);
int packet_create(struct us_stack *s, int type, int protocol, struct sock **out);
int tcp_create(struct us_stack *s, int type, int protocol, struct sock **out);

/* epoll (epoll.c) */
void ep_poll_callback(struct sock *sk, uint32_t mask);
void eventpoll_release(struct us_stack *s, struct sock *sk);
struct eventpoll;
void ep_free(struct us_stack *s, struct eventpoll *ep);
bool ep_has_ready(const struct us_stack *s);

#endif
