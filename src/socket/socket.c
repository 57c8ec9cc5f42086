/*
 * The public socket calls: handle lookup, argument checks, blocking, the
 * generic (SOL_SOCKET and IPPROTO_IP) options, and the calls into each
 * protocol's proto_ops.
 */
#include "sock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../core/stack.h"
#include "mt.h"
#include "ustack/socket.h"

#define IOV_MAX_ 1024

/* ---- handles ---- */

void sock_table_init(struct us_stack *s)
{
	struct sock_table *t = &s->socks;
	memset(t, 0, sizeof(*t));
	t->ephemeral_lo = 32768; /* ip_local_port_range */
	t->ephemeral_hi = 60999;
	t->default_rcvbuf = 212992; /* rmem_default */
	t->default_sndbuf = 212992; /* wmem_default */
	t->max_rcvbuf = 212992;     /* rmem_max */
	t->max_sndbuf = 212992;     /* wmem_max */
}

static int handle_alloc(struct us_stack *s, void *obj, uint8_t kind)
{
	struct sock_table *t = &s->socks;
	int fd = t->lowest_free;
	while (fd < t->cap && t->kinds[fd] != HANDLE_FREE)
		fd++;
	if (fd >= t->cap) {
		if (t->cap >= 1 << 20)
			return -EMFILE;
		int ncap = t->cap ? t->cap * 2 : 64;
		void **no = realloc(t->objs, (size_t)ncap * sizeof(*no));
		if (!no)
			return -ENOMEM;
		t->objs = no;
		uint8_t *nk = realloc(t->kinds, (size_t)ncap);
		if (!nk)
			return -ENOMEM;
		t->kinds = nk;
		memset(t->kinds + t->cap, HANDLE_FREE, (size_t)(ncap - t->cap));
		t->cap = ncap;
	}
	t->objs[fd] = obj;
	t->kinds[fd] = kind;
	t->lowest_free = fd + 1;
	t->count++;
	return fd;
}

static void handle_free(struct us_stack *s, int fd)
{
	struct sock_table *t = &s->socks;
	t->objs[fd] = NULL;
	t->kinds[fd] = HANDLE_FREE;
	if (fd < t->lowest_free)
		t->lowest_free = fd;
	t->count--;
}

int sock_install(struct us_stack *s, struct sock *sk)
{
	int fd = handle_alloc(s, sk, HANDLE_SOCK);
	if (fd >= 0)
		sk->fd = fd;
	return fd;
}

/* Handle -> object of the kind wanted: -EBADF for no handle, wrong_err
 * for a handle of the other kind. */
static void *handle_lookup(struct us_stack *s, int fd, int kind, int wrong_err, int *err)
{
	struct sock_table *t = &s->socks;
	if (fd < 0 || fd >= t->cap || t->kinds[fd] == HANDLE_FREE) {
		*err = -EBADF;
		return NULL;
	}
	if (t->kinds[fd] != kind) {
		*err = wrong_err;
		return NULL;
	}
	return t->objs[fd];
}

/* -ENOTSOCK for an epoll handle. */
static struct sock *sock_lookup(struct us_stack *s, int fd, int *err)
{
	return handle_lookup(s, fd, HANDLE_SOCK, -ENOTSOCK, err);
}

/* -EINVAL for a socket handle (epoll_ctl(2), epoll_wait(2)). */
struct eventpoll *ep_lookup(struct us_stack *s, int fd, int *err);
struct eventpoll *ep_lookup(struct us_stack *s, int fd, int *err)
{
	return handle_lookup(s, fd, HANDLE_EPOLL, -EINVAL, err);
}

int ep_install(struct us_stack *s, struct eventpoll *ep);
int ep_install(struct us_stack *s, struct eventpoll *ep)
{
	return handle_alloc(s, ep, HANDLE_EPOLL);
}

void sock_table_cleanup(struct us_stack *s)
{
	struct sock_table *t = &s->socks;
	for (int fd = 0; fd < t->cap; fd++) {
		if (t->kinds[fd] == HANDLE_EPOLL) {
			struct eventpoll *ep = t->objs[fd];
			handle_free(s, fd);
			ep_free(s, ep);
		}
	}
	for (int fd = 0; fd < t->cap; fd++) {
		if (t->kinds[fd] == HANDLE_SOCK) {
			struct sock *sk = t->objs[fd];
			handle_free(s, fd);
			sk->fd = -1;
			sk->dead = true;
			/* A stack going away does not wait for lingering
			 * sockets (Linux skips the wait for an exiting
			 * process); SO_LINGER 0 still resets. */
			if (sk->linger_secs > 0)
				sk->linger_on = 0;
			eventpoll_release(s, sk);
			sk->ops->release(sk);
		}
	}
	free(t->objs);
	free(t->kinds);
	t->objs = NULL;
	t->kinds = NULL;
	t->cap = 0;
}

/* ---- sock objects ---- */

struct sock *sk_alloc(struct us_stack *s, size_t size, int family, int type, int protocol,
		      const struct proto_ops *ops)
{
	struct sock *sk = calloc(1, size);
	if (!sk)
		return NULL;
	sk->stack = s;
	sk->ops = ops;
	sk->fd = -1;
	sk->family = (uint16_t)family;
	sk->type = (uint8_t)type;
	sk->protocol = (uint8_t)protocol;
	sk->refcnt = 1;
	sk->state = TCP_CLOSE;
	sk->rcvbuf = s->socks.default_rcvbuf;
	sk->sndbuf = s->socks.default_sndbuf;
	sk->ttl = -1;
	list_init(&sk->bind_node);
	list_init(&sk->epitems);
	skb_queue_init(&sk->receive_queue);
	return sk;
}

void sock_put(struct sock *sk)
{
	if (--sk->refcnt > 0)
		return;
	skb_queue_purge(&sk->receive_queue);
	free(sk);
}

void sock_wakeup(struct sock *sk, uint32_t mask)
{
	if (!list_empty(&sk->epitems))
		ep_poll_callback(sk, mask);
	if (sk->stack->mt)
		mt_note_wakeup(sk->stack);
}

int sock_queue_rcv_skb(struct sock *sk, struct skb *skb)
{
	uint32_t ts = skb_truesize(skb);
	if (sk->rmem_alloc + ts > (uint32_t)sk->rcvbuf) {
		sk->drops++;
		return -ENOBUFS;
	}
	sk->rmem_alloc += ts;
	skb_queue_tail(&sk->receive_queue, skb);
	sock_wakeup(sk, EPOLLIN | EPOLLRDNORM);
	return 0;
}

void sock_rfree(struct sock *sk, struct skb *skb)
{
	sk->rmem_alloc -= skb_truesize(skb);
}

void sock_diag_fill(struct sock *sk, struct sock_diag *d)
{
	memset(d, 0, sizeof(*d));
	d->fd = sk->fd;
	d->family = sk->family;
	d->type = sk->type;
	d->protocol = sk->protocol;
	d->state = sk->state;
	d->laddr = sk->rcv_saddr ? sk->rcv_saddr : sk->saddr;
	d->lport = sk->family == AF_INET && sk->type != SOCK_RAW ? sk->num : 0;
	d->raddr = sk->daddr;
	d->rport = sk->dport;
	d->recv_q = sk->rmem_alloc;
	d->ifindex = sk->bound_dev_if;
	if (sk->ops->diag)
		sk->ops->diag(sk, d);
}

void sock_foreach(struct us_stack *s, void (*fn)(void *arg, struct sock *sk), void *arg)
{
	const struct sock_table *t = &s->socks;
	for (int fd = 0; fd < t->cap; fd++)
		if (t->kinds[fd] == HANDLE_SOCK)
			fn(arg, t->objs[fd]);
	/* Sockets without a handle (TCP orphans, embryos) are listed by
	 * their protocol's table walk; see tcp_foreach_orphan. */
	if (s->sock_foreach_extra)
		s->sock_foreach_extra(s, fn, arg);
}

/* ---- blocking ---- */

uint64_t sock_deadline(struct sock *sk, uint64_t timeout_ns)
{
	if (!timeout_ns)
		return US_TIME_NEVER;
	return stack_now_ns(sk->stack) + timeout_ns;
}

int stack_block(struct us_stack *s, bool (*ready)(void *arg), void *arg, uint64_t deadline)
{
	if (s->in_poll)
		return -EDEADLK; /* a blocking call from inside the stack's own round */
	bool virt = us_clock_is_virtual(s->clock);
	for (;;) {
		if (ready(arg))
			return 0;
		if (s->stop) {
			s->stop = 0;
			return -EINTR;
		}
		uint64_t now = stack_now_ns(s);
		if (now >= deadline)
			return -EAGAIN;
		if (s->mt) {
			mt_wait(s, deadline);
			continue;
		}
		uint64_t next = us_stack_poll(s);
		if (ready(arg))
			return 0;
		now = stack_now_ns(s);
		if (next <= now)
			continue;
		uint64_t until = next < deadline ? next : deadline;
		if (virt) {
			if (until == US_TIME_NEVER)
				return -EAGAIN; /* nothing can ever happen */
			us_clock_set(s->clock, until);
			continue;
		}
		stack_wait_fd(s, until);
	}
}

struct sock_wait_arg {
	struct sock *sk;
	uint32_t events;
};

static bool sock_ready(void *arg)
{
	struct sock_wait_arg *a = arg;
	if (a->sk->dead)
		return true;
	return (a->sk->ops->poll(a->sk) & (a->events | EPOLLERR | EPOLLHUP)) != 0;
}

int sock_wait(struct sock *sk, uint32_t events, uint64_t deadline)
{
	struct sock_wait_arg a = { sk, events };
	sock_hold(sk);
	int r = stack_block(sk->stack, sock_ready, &a, deadline);
	if (sk->dead)
		r = -EBADF;
	sock_put(sk);
	return r;
}

/* ---- helpers for protocols ---- */

size_t iov_total(const struct msghdr *msg)
{
	size_t n = 0;
	for (size_t i = 0; i < msg->msg_iovlen; i++)
		n += msg->msg_iov[i].iov_len;
	return n;
}

void iov_copy_from(uint8_t *dst, const struct msghdr *msg, size_t off, size_t len)
{
	for (size_t i = 0; i < msg->msg_iovlen && len; i++) {
		size_t l = msg->msg_iov[i].iov_len;
		if (off >= l) {
			off -= l;
			continue;
		}
		size_t n = l - off < len ? l - off : len;
		memcpy(dst, (const uint8_t *)msg->msg_iov[i].iov_base + off, n);
		dst += n;
		len -= n;
		off = 0;
	}
}

size_t iov_copy_to(const struct msghdr *msg, size_t off, const uint8_t *src, size_t len)
{
	size_t done = 0;
	for (size_t i = 0; i < msg->msg_iovlen && len; i++) {
		size_t l = msg->msg_iov[i].iov_len;
		if (off >= l) {
			off -= l;
			continue;
		}
		size_t n = l - off < len ? l - off : len;
		memcpy((uint8_t *)msg->msg_iov[i].iov_base + off, src, n);
		src += n;
		len -= n;
		done += n;
		off = 0;
	}
	return done;
}

void msg_put_inet_name(struct msghdr *msg, uint32_t addr, uint16_t port)
{
	if (!msg->msg_name)
		return;
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = addr;
	socklen_t n = msg->msg_namelen < sizeof(sin) ? msg->msg_namelen : (socklen_t)sizeof(sin);
	memcpy(msg->msg_name, &sin, n);
	msg->msg_namelen = sizeof(sin);
}

int sockaddr_in_get(const struct sockaddr *addr, socklen_t len, uint32_t *ip, uint16_t *port)
{
	if (!addr)
		return -EFAULT;
	if (len < sizeof(struct sockaddr_in))
		return -EINVAL;
	struct sockaddr_in sin;
	memcpy(&sin, addr, sizeof(sin));
	if (sin.sin_family != AF_INET)
		return -EAFNOSUPPORT;
	*ip = sin.sin_addr.s_addr;
	*port = ntohs(sin.sin_port);
	return 0;
}

int sockopt_get_int(const void *val, socklen_t len, int *out)
{
	if (!val)
		return -EFAULT;
	if (len < sizeof(int))
		return -EINVAL;
	memcpy(out, val, sizeof(int));
	return 0;
}

int sockopt_put_int(void *val, socklen_t *len, int v)
{
	if (!val || !len)
		return -EFAULT;
	/* Linux: a shorter buffer gets a truncated int. */
	socklen_t n = *len < sizeof(int) ? *len : (socklen_t)sizeof(int);
	if ((int)*len < 0)
		return -EINVAL;
	memcpy(val, &v, n);
	*len = n;
	return 0;
}

/* ---- public calls ---- */

static long ret(long r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

#define API_ENTER(s)                   \
	do {                           \
		if (!(s)) {            \
			errno = EINVAL; \
			return -1;     \
		}                      \
		mt_lock(s);            \
	} while (0)
#define API_RETURN(s, r)                 \
	do {                             \
		long r_ = (r);           \
		mt_unlock(s);            \
		return ret(r_);          \
	} while (0)

int us_socket(us_stack *s, int domain, int type, int protocol)
{
	API_ENTER(s);
	bool nonblock = type & SOCK_NONBLOCK;
	type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct sock *sk = NULL;
	int err;
	if (type < 0 || type >= 11 /* SOCK_MAX */)
		API_RETURN(s, -EINVAL);
	if (domain == AF_INET && (protocol < 0 || protocol >= 263 /* IPPROTO_MAX */))
		API_RETURN(s, -EINVAL);
	if (domain == AF_INET) {
		switch (type) {
		case SOCK_DGRAM:
			err = protocol == 0 || protocol == IPPROTO_UDP ? udp_create(s, type, protocol, &sk)
								       : -EPROTONOSUPPORT;
			break;
		case SOCK_STREAM:
			err = protocol == 0 || protocol == IPPROTO_TCP ? tcp_create(s, type, protocol, &sk)
								       : -EPROTONOSUPPORT;
			break;
		case SOCK_RAW:
			err = raw_create(s, type, protocol, &sk);
			break;
		default:
			err = -ESOCKTNOSUPPORT;
			break;
		}
	} else if (domain == AF_PACKET) {
		err = packet_create(s, type, protocol, &sk);
	} else {
		err = -EAFNOSUPPORT;
	}
	if (err)
		API_RETURN(s, err);
	sk->nonblock = nonblock;
	int fd = sock_install(s, sk);
	if (fd < 0) {
		sk->dead = true;
		sk->ops->release(sk);
	}
	API_RETURN(s, fd);
}

int us_bind(us_stack *s, int fd, const struct sockaddr *addr, socklen_t len)
{
	API_ENTER(s);
	int err = -EBADF;
	struct sock *sk = sock_lookup(s, fd, &err);
	if (!sk)
		API_RETURN(s, err);
	if (!addr)
		API_RETURN(s, len ? -EFAULT : -EINVAL);
	API_RETURN(s, sk->ops->bind ? sk->ops->bind(sk, addr, len) : -EOPNOTSUPP);
}

int us_connect(us_stack *s, int fd, const struct sockaddr *addr, socklen_t len)
{
	API_ENTER(s);
	int err = -EBADF;
	struct sock *sk = sock_lookup(s, fd, &err);
	if (!sk)
		API_RETURN(s, err);
	if (!addr)
		API_RETURN(s, -EFAULT);
	if (!sk->ops->connect)
		API_RETURN(s, -EOPNOTSUPP);
	long r = sk->ops->connect(sk, addr, len);
	/* A stream connect in progress: wait for the handshake unless
	 * non-blocking (EINPROGRESS), as inet_stream_connect does. */
	if (r == -EINPROGRESS && !sk->nonblock) {
		uint64_t dl = sock_deadline(sk, sk->sndtimeo_ns);
		int w = sock_wait(sk, sk->ops->connect_wait_events, dl);
		if (w == -EAGAIN)
			r = -EINPROGRESS; /* SO_SNDTIMEO ran out; Linux says EINPROGRESS */
		else if (w < 0)
			r = w;
		else /* the outcome, as a second connect() reports it */
			r = sk->ops->connect(sk, addr, len);
	}
	API_RETURN(s, r);
}

int us_listen(us_stack *s, int fd, int backlog)
{
	API_ENTER(s);
	int err = -EBADF;
	struct sock *sk = sock_lookup(s, fd, &err);
	if (!sk)
		API_RETURN(s, err);
	API_RETURN(s, sk->ops->listen ? sk->ops->listen(sk, backlog) : -EOPNOTSUPP);
}

int us_accept4(us_stack *s, int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	API_ENTER(s);
	int err = -EBADF;
	struct sock *sk = sock_lookup(s, fd, &err);
	if (!sk)
		API_RETURN(s, err);
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		API_RETURN(s, -EINVAL);
	if (addr && !len)
		API_RETURN(s, -EFAULT);
	if (!sk->ops->accept)
		API_RETURN(s, -EOPNOTSUPP);
	struct sock *nsk = NULL;
	uint64_t dl = sock_deadline(sk, sk->rcvtimeo_ns);
	long r;
	for (;;) {
		r = sk->ops->accept(sk, &nsk);
		if (r != -EAGAIN || sk->nonblock)
			break;
		int w = sock_wait(sk, EPOLLIN, dl);
		if (w < 0) {
			r = w;
			break;
		}
	}
	if (r < 0)
		API_RETURN(s, r);
	int nfd = sock_install(s, nsk);
	if (nfd < 0) {
		nsk->dead = true;
		nsk->ops->release(nsk);
		API_RETURN(s, nfd);
	}
	nsk->nonblock = (flags & SOCK_NONBLOCK) != 0;
	if (addr)
		nsk->ops->getname(nsk, addr, len, true);
	API_RETURN(s, nfd);
}

int us_accept(us_stack *s, int fd, struct sockaddr *addr, socklen_t *len)
{
	return us_accept4(s, fd, addr, len, 0);
}

static long check_msg(const struct msghdr *msg)
{
	if (!msg)
		return -EFAULT;
	if (msg->msg_iovlen > IOV_MAX_)
		return -EMSGSIZE;
	if (msg->msg_iovlen && !msg->msg_iov)
		return -EFAULT;
	for (size_t i = 0; i < msg->msg_iovlen; i++)
		if (!msg->msg_iov[i].iov_base && msg->msg_iov[i].iov_len)
			return -EFAULT;
	return 0;
}

/* A copy of msg's iovec that starts skip bytes in (for the part of a
 * stream send or MSG_WAITALL receive still to do). */
static void msg_skip(const struct msghdr *in, size_t skip, struct msghdr *out, struct iovec *iov)
{
	*out = *in;
	size_t n = 0;
	for (size_t i = 0; i < in->msg_iovlen; i++) {
		size_t l = in->msg_iov[i].iov_len;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		iov[n].iov_base = (uint8_t *)in->msg_iov[i].iov_base + skip;
		iov[n].iov_len = l - skip;
		skip = 0;
		n++;
	}
	out->msg_iov = iov;
	out->msg_iovlen = n;
}

static long do_sendmsg(us_stack *s, int fd, const struct msghdr *msg, int flags)
{
	int err = -EBADF;
	struct sock *sk = sock_lookup(s, fd, &err);
	if (!sk)
		return err;
	long r = check_msg(msg);
	if (r)
		return r;
	if (!sk->ops->sendmsg)
		return -EOPNOTSUPP;
	uint64_t dl = sock_deadline(sk, sk->sndtimeo_ns);
	bool nonblock = sk->nonblock || (flags & MSG_DONTWAIT);
	size_t total = iov_total(msg), done = 0;
	struct iovec iov[IOV_MAX_];
	struct msghdr part;
	for (;;) {
		const struct msghdr *m = msg;
		if (done) {
			msg_skip(msg, done, &part, iov);
			m = &part;
		}
		r = sk->ops->sendmsg(sk, m, flags);
		if (r > 0 && sk->type == SOCK_STREAM) {
			/* A blocking stream send queues everything (as Linux's
			 * tcp_sendmsg waits for room between pieces). */
			done += (size_t)r;
			if (done >= total || nonblock)
				return (long)done;
			r = -EAGAIN;
		}
		if (r != -EAGAIN || nonblock)
			break;
		int w = sock_wait(sk, EPOLLOUT, dl);
		if (w < 0) {
			r = w;
			break;
		}
	}
	/* Interrupted or timed out after part of it: that part was sent. */
	return done ? (long)done : r;
}

static long do_recvmsg(us_stack *s, int fd, struct msghdr *msg, int flags)
{
	int err = -EBADF;
	struct sock *sk = sock_lookup(s, fd, &err);
	if (!sk)
		return err;
	long r = check_msg(msg);
	if (r)
		return r;
	if (!sk->ops->recvmsg)
		return -EOPNOTSUPP;
	msg->msg_flags = 0;
	uint64_t dl = sock_deadline(sk, sk->rcvtimeo_ns);
	bool nonblock = sk->nonblock || (flags & MSG_DONTWAIT);
	/* MSG_WAITALL on a stream: fill the whole buffer unless the stream
	 * ends, fails, or the wait is cut short (tcp_recvmsg's target). */
	bool waitall = (flags & MSG_WAITALL) && sk->type == SOCK_STREAM && !(flags & MSG_PEEK);
	size_t total = iov_total(msg), done = 0;
	struct iovec iov[IOV_MAX_];
	struct msghdr part;
	for (;;) {
		struct msghdr *m = msg;
		if (done) {
			msg_skip(msg, done, &part, iov);
			m = &part;
		}
		r = sk->ops->recvmsg(sk, m, flags);
		if (done)
			msg->msg_flags |= part.msg_flags;
		if (r > 0 && waitall) {
			done += (size_t)r;
			if (done >= total || nonblock)
				return (long)done;
			r = -EAGAIN;
		} else if (r == 0 && done) {
			return (long)done; /* the stream ended */
		}
		if (r != -EAGAIN || nonblock)
			break;
		if (sk->type != SOCK_STREAM && (sk->shutdown & RCV_SHUTDOWN)) {
			r = 0;
			break;
		}
		int w = sock_wait(sk, EPOLLIN, dl);
		if (w < 0) {
			r = w;
			break;
		}
	}
	return done ? (long)done : r;
}

ssize_t us_sendmsg(us_stack *s, int fd, const struct msghdr *msg, int flags)
{
	API_ENTER(s);
	API_RETURN(s, do_sendmsg(s, fd, msg, flags));
}

ssize_t us_recvmsg(us_stack *s, int fd, struct msghdr *msg, int flags)
{
	API_ENTER(s);
	API_RETURN(s, do_recvmsg(s, fd, msg, flags));
}

ssize_t us_sendto(us_stack *s, int fd, const void *buf, size_t len, int flags,
		  const struct sockaddr *to, socklen_t tolen)
{
	API_ENTER(s);
	if (!buf && len)
		API_RETURN(s, -EFAULT);
	struct iovec iov = { (void *)(uintptr_t)buf, len };
	struct msghdr msg = { .msg_name = (void *)(uintptr_t)to, .msg_namelen = to ? tolen : 0,
			      .msg_iov = &iov, .msg_iovlen = 1 };
	API_RETURN(s, do_sendmsg(s, fd, &msg, flags));
}

ssize_t us_send(us_stack *s, int fd, const void *buf, size_t len, int flags)
{
	return us_sendto(s, fd, buf, len, flags, NULL, 0);
}

ssize_t us_recvfrom(us_stack *s, int fd, void *buf, size_t len, int flags,
		    struct sockaddr *from, socklen_t *fromlen)
{
	API_ENTER(s);
	if (!buf && len)
		API_RETURN(s, -EFAULT);
	if (from && !fromlen)
		API_RETURN(s, -EFAULT);
	struct iovec iov = { buf, len };
	struct msghdr msg = { .msg_name = from, .msg_namelen = from ? *fromlen : 0,
			      .msg_iov = &iov, .msg_iovlen = 1 };
	long r = do_recvmsg(s, fd, &msg, flags);
	if (r >= 0 && from)
		*fromlen = msg.msg_namelen;
	API_RETURN(s, r);
}

ssize_t us_recv(us_stack *s, int fd, void *buf, size_t len, int flags)
{
	return us_recvfrom(s, fd, buf, len, flags, NULL, NULL);
}

int us_shutdown(us_stack *s, int fd, int how)
{
	API_ENTER(s);
	int err = -EBADF;
	struct sock *sk = sock_lookup(s, fd, &err);
	if (!sk)
		API_RETURN(s, err);
	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		API_RETURN(s, -EINVAL);
	API_RETURN(s, sk->ops->shutdown ? sk->ops->shutdown(sk, how) : -EOPNOTSUPP);
}

int us_close(us_stack *s, int fd)
{
	API_ENTER(s);
	struct sock_table *t = &s->socks;
	if (fd < 0 || fd >= t->cap || t->kinds[fd] == HANDLE_FREE)
		API_RETURN(s, -EBADF);
	if (t->kinds[fd] == HANDLE_EPOLL) {
		struct eventpoll *ep = t->objs[fd];
		handle_free(s, fd);
		ep_free(s, ep);
		if (s->mt)
			mt_note_wakeup(s);
		API_RETURN(s, 0);
	}
	struct sock *sk = t->objs[fd];
	handle_free(s, fd);
	sk->fd = -1;
	sk->dead = true;
	eventpoll_release(s, sk);
	/* Threads blocked on it wake and see it gone. */
	if (s->mt)
		mt_note_wakeup(s);
	sk->ops->release(sk);
	API_RETURN(s, 0);
}

int us_getsockname(us_stack *s, int fd, struct sockaddr *addr, socklen_t *len)
{
	API_ENTER(s);
	int err = -EBADF;
	struct sock *sk = sock_lookup(s, fd, &err);
	if (!sk)
		API_RETURN(s, err);
	if (!addr || !len)
		API_RETURN(s, -EFAULT);
	API_RETURN(s, sk->ops->getname(sk, addr, len, false));
}

int us_getpeername(us_stack *s, int fd, struct sockaddr *addr, socklen_t *len)
{
	API_ENTER(s);
	int err = -EBADF;
	struct sock *sk = sock_lookup(s, fd, &err);
	if (!sk)
		API_RETURN(s, err);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int r = sk->ops->getname(sk, (struct sockaddr *)&ss, &sl, true);
	if (r < 0)
		API_RETURN(s, r);
	if (!addr || !len)
		API_RETURN(s, -EFAULT);
	API_RETURN(s, sk->ops->getname(sk, addr, len, true));
}

static int set_timeout(const void *val, socklen_t len, uint64_t *out)
{
	if (!val)
		return -EFAULT;
	if (len < sizeof(struct timeval))
		return -EINVAL;
	struct timeval tv;
	memcpy(&tv, val, sizeof(tv));
	if (tv.tv_usec < 0 || tv.tv_usec >= 1000000)
		return -EDOM;
	if (tv.tv_sec < 0) {
		*out = 1; /* Linux: a negative timeout returns at once */
		return 0;
	}
	*out = (uint64_t)tv.tv_sec * 1000000000u + (uint64_t)tv.tv_usec * 1000u;
	return 0;
}

static int get_timeout(void *val, socklen_t *len, uint64_t ns)
{
	if (!val || !len)
		return -EFAULT;
	if (*len < sizeof(struct timeval))
		return -EINVAL;
	struct timeval tv = { .tv_sec = (time_t)(ns / 1000000000u),
			      .tv_usec = (suseconds_t)((ns % 1000000000u) / 1000u) };
	memcpy(val, &tv, sizeof(tv));
	*len = sizeof(tv);
	return 0;
}

/* SO_RCVBUF/SO_SNDBUF: the request, capped at rmem_max/wmem_max unless
 * forced (a negative request then reads as huge, as Linux compares it
 * unsigned), doubled for bookkeeping overhead, at least the minimum. */
static int sock_buf_size(int v, bool capped, int max, int min)
{
	unsigned u = capped ? (unsigned)v : v < 0 ? 0u : (unsigned)v;
	if (capped && u > (unsigned)max)
		u = (unsigned)max;
	if (u > INT32_MAX / 2)
		u = INT32_MAX / 2;
	return (int)(u * 2) < min ? min : (int)(u * 2);
}

static int sock_setsockopt(struct sock *sk, int level, int name, const void *val, socklen_t len)
{
	struct us_stack *s = sk->stack;
	int v = 0, err;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_RCVTIMEO:
			return set_timeout(val, len, &sk->rcvtimeo_ns);
		case SO_SNDTIMEO:
			return set_timeout(val, len, &sk->sndtimeo_ns);
		case SO_BINDTODEVICE: {
			if (!val && len)
				return -EFAULT;
			char name_buf[IFNAMSIZ];
			size_t n = len < IFNAMSIZ - 1 ? len : IFNAMSIZ - 1;
			memset(name_buf, 0, sizeof(name_buf));
			if (n)
				memcpy(name_buf, val, n);
			if (!name_buf[0]) {
				sk->bound_dev_if = 0;
				return 0;
			}
			struct netdev *dev = netdev_get_by_name(s, name_buf);
			if (!dev)
				return -ENODEV;
			sk->bound_dev_if = dev->ifindex;
			return 0;
		}
		case SO_LINGER: {
			if (!val)
				return -EFAULT;
			if (len < sizeof(struct linger))
				return -EINVAL;
			struct linger l;
			memcpy(&l, val, sizeof(l));
			sk->linger_on = l.l_onoff != 0;
			sk->linger_secs = l.l_linger < 0 ? 0 : l.l_linger;
			return 0;
		}
		default:
			break;
		}
		if ((err = sockopt_get_int(val, len, &v)))
			return err;
		switch (name) {
		case SO_REUSEADDR:
			sk->reuseaddr = v != 0;
			return 0;
		case SO_REUSEPORT:
			sk->reuseport = v != 0;
			return 0;
		case SO_BROADCAST:
			sk->broadcast = v != 0;
			return 0;
		case SO_KEEPALIVE:
			sk->keepalive = v != 0;
			if (sk->ops->setsockopt)
				sk->ops->setsockopt(sk, level, name, val, len);
			return 0;
		case SO_RCVBUF:
		case SO_RCVBUFFORCE:
			sk->rcvbuf = sock_buf_size(v, name == SO_RCVBUF, s->socks.max_rcvbuf, SOCK_MIN_RCVBUF);
			if (sk->ops->setsockopt)
				sk->ops->setsockopt(sk, level, name, val, len);
			return 0;
		case SO_SNDBUF:
		case SO_SNDBUFFORCE:
			sk->sndbuf = sock_buf_size(v, name == SO_SNDBUF, s->socks.max_sndbuf, SOCK_MIN_SNDBUF);
			if (sk->ops->setsockopt)
				sk->ops->setsockopt(sk, level, name, val, len);
			sock_wakeup(sk, EPOLLOUT);
			return 0;
		default:
			return -ENOPROTOOPT;
		}
	}
	if (level == IPPROTO_IP && sk->family == AF_INET) {
		if (len >= 1 && len < sizeof(int) && val)
			v = *(const unsigned char *)val; /* do_ip_setsockopt */
		else if ((err = sockopt_get_int(val, len, &v)))
			return err;
		switch (name) {
		case IP_TTL:
			if (v != -1 && (v < 1 || v > 255))
				return -EINVAL;
			sk->ttl = v;
			return 0;
		case IP_TOS:
			sk->tos = (uint8_t)v;
			return 0;
		default:
			return -ENOPROTOOPT;
		}
	}
	return -ENOPROTOOPT;
}

int us_setsockopt(us_stack *s, int fd, int level, int name, const void *val, socklen_t len)
{
	API_ENTER(s);
	int err = -EBADF;
	struct sock *sk = sock_lookup(s, fd, &err);
	if (!sk)
		API_RETURN(s, err);
	if ((int)len < 0)
		API_RETURN(s, -EINVAL);
	/* The protocol first (it may own the level), then the generic layer. */
	if (level != SOL_SOCKET && sk->ops->setsockopt) {
		int r = sk->ops->setsockopt(sk, level, name, val, len);
		if (r != -ENOPROTOOPT)
			API_RETURN(s, r);
	}
	API_RETURN(s, sock_setsockopt(sk, level, name, val, len));
}

static int sock_getsockopt(struct sock *sk, int level, int name, void *val, socklen_t *len)
{
	struct us_stack *s = sk->stack;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_RCVTIMEO:
			return get_timeout(val, len, sk->rcvtimeo_ns);
		case SO_SNDTIMEO:
			return get_timeout(val, len, sk->sndtimeo_ns);
		case SO_LINGER: {
			if (!val || !len)
				return -EFAULT;
			if (*len < sizeof(struct linger))
				return -EINVAL;
			struct linger l = { .l_onoff = sk->linger_on, .l_linger = sk->linger_secs };
			memcpy(val, &l, sizeof(l));
			*len = sizeof(l);
			return 0;
		}
		case SO_BINDTODEVICE: {
			if (!val || !len)
				return -EFAULT;
			struct netdev *dev = sk->bound_dev_if ? netdev_get_by_index(s, sk->bound_dev_if) : NULL;
			const char *n = dev ? dev->name : "";
			size_t l = strlen(n) + (dev ? 1 : 0);
			if (*len < l)
				return -EINVAL;
			memcpy(val, n, l);
			*len = (socklen_t)l;
			return 0;
		}
		case SO_REUSEADDR: return sockopt_put_int(val, len, sk->reuseaddr);
		case SO_REUSEPORT: return sockopt_put_int(val, len, sk->reuseport);
		case SO_BROADCAST: return sockopt_put_int(val, len, sk->broadcast);
		case SO_KEEPALIVE: return sockopt_put_int(val, len, sk->keepalive);
		case SO_RCVBUF: return sockopt_put_int(val, len, sk->rcvbuf);
		case SO_SNDBUF: return sockopt_put_int(val, len, sk->sndbuf);
		case SO_TYPE: return sockopt_put_int(val, len, sk->type);
		case SO_DOMAIN: return sockopt_put_int(val, len, sk->family);
		case SO_PROTOCOL:
			return sockopt_put_int(val, len, sk->family == AF_PACKET ? 0 : sk->protocol);
		case SO_ACCEPTCONN: return sockopt_put_int(val, len, sk->state == TCP_LISTEN);
		case SO_ERROR: return sockopt_put_int(val, len, -sock_error(sk));
		default:
			return -ENOPROTOOPT;
		}
	}
	if (level == IPPROTO_IP && sk->family == AF_INET) {
		switch (name) {
		case IP_TTL:
			return sockopt_put_int(val, len, sk->ttl < 0 ? s->ip.default_ttl : sk->ttl);
		case IP_TOS:
			return sockopt_put_int(val, len, sk->tos);
		default:
			return -ENOPROTOOPT;
		}
	}
	if (sk->family == AF_INET && level != SOL_SOCKET && level != IPPROTO_IP)
		return -EOPNOTSUPP;
	return -ENOPROTOOPT;
}

int us_getsockopt(us_stack *s, int fd, int level, int name, void *val, socklen_t *len)
{
	API_ENTER(s);
	int err = -EBADF;
	struct sock *sk = sock_lookup(s, fd, &err);
	if (!sk)
		API_RETURN(s, err);
	if (!len)
		API_RETURN(s, -EFAULT);
	if ((int)*len < 0)
		API_RETURN(s, -EINVAL);
	if (level != SOL_SOCKET && sk->ops->getsockopt) {
		int r = sk->ops->getsockopt(sk, level, name, val, len);
		/* The protocol's answer for its own level stands. */
		if (r != -ENOPROTOOPT || level == sk->protocol)
			API_RETURN(s, r);
	}
	API_RETURN(s, sock_getsockopt(sk, level, name, val, len));
}

int us_set_nonblocking(us_stack *s, int fd, bool on)
{
	API_ENTER(s);
	int err = -EBADF;
	struct sock *sk = sock_lookup(s, fd, &err);
	if (!sk)
		API_RETURN(s, err);
	sk->nonblock = on;
	API_RETURN(s, 0);
}

int us_fcntl(us_stack *s, int fd, int cmd, int arg)
{
	API_ENTER(s);
	int err = -EBADF;
	struct sock *sk = sock_lookup(s, fd, &err);
	if (!sk)
		API_RETURN(s, err);
	if (cmd == F_GETFL)
		API_RETURN(s, O_RDWR | (sk->nonblock ? O_NONBLOCK : 0));
	if (cmd == F_SETFL) {
		sk->nonblock = (arg & O_NONBLOCK) != 0;
		API_RETURN(s, 0);
	}
	API_RETURN(s, -EINVAL);
}
