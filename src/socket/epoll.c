/*
 * epoll with Linux's semantics (fs/eventpoll.c): every watched socket has
 * an item; a socket's wake-up puts its items on their instance's ready
 * list (ep_poll_callback); epoll_wait re-polls each ready item for its
 * current mask, reports it, and then:
 *   - EPOLLONESHOT: disarms the item until EPOLL_CTL_MOD;
 *   - level-triggered: puts it back on the ready list, so an event not
 *     fully drained is reported again by the next wait;
 *   - EPOLLET: leaves it off until the socket's next wake-up.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../core/stack.h"
#include "mt.h"
#include "sock.h"
#include "ustack/socket.h"

#define EP_PRIVATE_BITS (EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE)

struct eventpoll {
	struct us_stack *s;
	struct list_head items;   /* every item (epitem.ep_link) */
	struct list_head rdllist; /* ready items (epitem.rdl_link) */
	int fd;
};

struct epitem {
	struct list_head sk_link, ep_link, rdl_link;
	struct sock *sk;
	struct eventpoll *ep;
	int fd;
	struct epoll_event event;
	bool ready;
};

struct eventpoll *ep_lookup(struct us_stack *s, int fd, int *err);
int ep_install(struct us_stack *s, struct eventpoll *ep);

static void ep_set_ready(struct epitem *epi)
{
	if (!epi->ready) {
		epi->ready = true;
		list_add_tail(&epi->rdl_link, &epi->ep->rdllist);
	}
}

static void ep_unset_ready(struct epitem *epi)
{
	if (epi->ready) {
		epi->ready = false;
		list_del(&epi->rdl_link);
	}
}

void ep_poll_callback(struct sock *sk, uint32_t mask)
{
	struct epitem *epi;
	list_for_each_entry(epi, &sk->epitems, sk_link) {
		/* Disarmed by EPOLLONESHOT. */
		if (!(epi->event.events & ~EP_PRIVATE_BITS))
			continue;
		if (mask && !(mask & epi->event.events))
			continue;
		ep_set_ready(epi);
	}
}

static void epi_remove(struct epitem *epi)
{
	ep_unset_ready(epi);
	list_del(&epi->sk_link);
	list_del(&epi->ep_link);
	free(epi);
}

void eventpoll_release(struct us_stack *s, struct sock *sk)
{
	(void)s;
	while (!list_empty(&sk->epitems))
		epi_remove(list_first_entry(&sk->epitems, struct epitem, sk_link));
}

void ep_free(struct us_stack *s, struct eventpoll *ep)
{
	(void)s;
	while (!list_empty(&ep->items))
		epi_remove(list_first_entry(&ep->items, struct epitem, ep_link));
	free(ep);
}

bool ep_has_ready(const struct us_stack *s)
{
	const struct sock_table *t = &s->socks;
	for (int fd = 0; fd < t->cap; fd++)
		if (t->kinds[fd] == HANDLE_EPOLL &&
		    !list_empty(&((struct eventpoll *)t->objs[fd])->rdllist))
			return true;
	return false;
}

static long ret(long r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

int us_epoll_create(us_stack *s)
{
	if (!s) {
		errno = EINVAL;
		return -1;
	}
	mt_lock(s);
	struct eventpoll *ep = calloc(1, sizeof(*ep));
	int fd = -ENOMEM;
	if (ep) {
		ep->s = s;
		list_init(&ep->items);
		list_init(&ep->rdllist);
		fd = ep_install(s, ep);
		if (fd < 0)
			free(ep);
		else
			ep->fd = fd;
	}
	mt_unlock(s);
	return (int)ret(fd);
}

static struct epitem *ep_find(struct eventpoll *ep, int fd)
{
	struct epitem *epi;
	list_for_each_entry(epi, &ep->items, ep_link)
		if (epi->fd == fd)
			return epi;
	return NULL;
}

static int do_ctl(us_stack *s, int epfd, int op, int fd, struct epoll_event *ev)
{
	int err = -EBADF;
	struct eventpoll *ep = ep_lookup(s, epfd, &err);
	if (!ep)
		return err;
	const struct sock_table *t = &s->socks;
	if (fd < 0 || fd >= t->cap || t->kinds[fd] == HANDLE_FREE)
		return -EBADF;
	if (fd == epfd || t->kinds[fd] != HANDLE_SOCK)
		return -EINVAL; /* watching epoll instances is not supported */
	struct sock *sk = t->objs[fd];
	if ((op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD) && !ev)
		return -EFAULT;
	struct epitem *epi = ep_find(ep, fd);
	switch (op) {
	case EPOLL_CTL_ADD:
		if ((ev->events & EPOLLEXCLUSIVE) &&
		    (ev->events & ~(EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET |
				    EPOLLEXCLUSIVE)))
			return -EINVAL;
		if (epi)
			return -EEXIST;
		epi = calloc(1, sizeof(*epi));
		if (!epi)
			return -ENOMEM;
		epi->sk = sk;
		epi->ep = ep;
		epi->fd = fd;
		epi->event = *ev;
		epi->event.events |= EPOLLERR | EPOLLHUP; /* always reported */
		list_add_tail(&epi->sk_link, &sk->epitems);
		list_add_tail(&epi->ep_link, &ep->items);
		if (sk->ops->poll(sk) & epi->event.events)
			ep_set_ready(epi);
		return 0;
	case EPOLL_CTL_MOD:
		if (!epi)
			return -ENOENT;
		if (ev->events & EPOLLEXCLUSIVE)
			return -EINVAL;
		epi->event = *ev;
		epi->event.events |= EPOLLERR | EPOLLHUP;
		if (sk->ops->poll(sk) & epi->event.events)
			ep_set_ready(epi);
		else
			ep_unset_ready(epi);
		return 0;
	case EPOLL_CTL_DEL:
		if (!epi)
			return -ENOENT;
		epi_remove(epi);
		return 0;
	default:
		return -EINVAL;
	}
}

int us_epoll_ctl(us_stack *s, int epfd, int op, int fd, struct epoll_event *ev)
{
	if (!s) {
		errno = EINVAL;
		return -1;
	}
	mt_lock(s);
	int r = do_ctl(s, epfd, op, fd, ev);
	mt_unlock(s);
	return (int)ret(r);
}

/* ep_send_events: report what is ready now, re-arming as the flags say. */
static int ep_send_events(struct eventpoll *ep, struct epoll_event *events, int maxevents)
{
	struct list_head txlist;
	list_init(&txlist);
	list_splice_tail_init(&ep->rdllist, &txlist);
	int n = 0;
	while (!list_empty(&txlist) && n < maxevents) {
		struct epitem *epi = list_first_entry(&txlist, struct epitem, rdl_link);
		list_del(&epi->rdl_link);
		epi->ready = false;
		uint32_t revents = epi->sk->ops->poll(epi->sk) & epi->event.events;
		if (!revents)
			continue;
		events[n].events = revents;
		events[n].data = epi->event.data;
		n++;
		if (epi->event.events & EPOLLONESHOT)
			epi->event.events &= EP_PRIVATE_BITS;
		else if (!(epi->event.events & EPOLLET))
			ep_set_ready(epi);
	}
	/* What did not fit goes back in front, in order. */
	if (!list_empty(&txlist)) {
		struct list_head rest;
		list_init(&rest);
		list_splice_tail_init(&ep->rdllist, &rest);
		list_splice_tail_init(&txlist, &ep->rdllist);
		list_splice_tail_init(&rest, &ep->rdllist);
	}
	return n;
}

struct ep_wait_arg {
	struct eventpoll *ep;
	struct epoll_event *events;
	int max, n;
	bool gone;
	us_stack *s;
	int epfd;
};

static bool ep_ready(void *arg)
{
	struct ep_wait_arg *a = arg;
	int err;
	if (ep_lookup(a->s, a->epfd, &err) != a->ep) {
		a->gone = true; /* closed by another thread */
		return true;
	}
	if (list_empty(&a->ep->rdllist))
		return false;
	a->n = ep_send_events(a->ep, a->events, a->max);
	return a->n > 0;
}

int us_epoll_wait(us_stack *s, int epfd, struct epoll_event *events, int maxevents, int timeout_ms)
{
	if (!s) {
		errno = EINVAL;
		return -1;
	}
	mt_lock(s);
	int err = -EBADF, r;
	struct eventpoll *ep = ep_lookup(s, epfd, &err);
	if (!ep) {
		r = err;
	} else if (maxevents <= 0) {
		r = -EINVAL;
	} else if (!events) {
		r = -EFAULT;
	} else {
		struct ep_wait_arg a = { ep, events, maxevents, 0, false, s, epfd };
		uint64_t deadline = timeout_ms < 0 ? US_TIME_NEVER
				    : stack_now_ns(s) + (uint64_t)timeout_ms * 1000000u;
		if (timeout_ms == 0) {
			/* Collect what the last rounds made ready, and what a
			 * round now brings. */
			if (!ep_ready(&a) && !s->in_poll && !s->mt) {
				us_stack_poll(s);
				ep_ready(&a);
			}
			r = a.n;
		} else {
			r = stack_block(s, ep_ready, &a, deadline);
			if (a.gone)
				r = -EBADF;
			else if (r == 0 || r == -EAGAIN)
				r = a.n;
		}
	}
	mt_unlock(s);
	return (int)ret(r);
}

/* ---- poll(2) ---- */

struct poll_arg {
	us_stack *s;
	struct pollfd *fds;
	nfds_t n;
	int ready;
};

static bool poll_ready(void *arg)
{
	struct poll_arg *a = arg;
	const struct sock_table *t = &a->s->socks;
	a->ready = 0;
	for (nfds_t i = 0; i < a->n; i++) {
		struct pollfd *p = &a->fds[i];
		p->revents = 0;
		if (p->fd < 0)
			continue;
		if (p->fd >= t->cap || t->kinds[p->fd] != HANDLE_SOCK) {
			p->revents = POLLNVAL;
		} else {
			struct sock *sk = t->objs[p->fd];
			p->revents = (short)(sk->ops->poll(sk) &
					     ((uint32_t)(uint16_t)p->events | POLLERR | POLLHUP));
		}
		if (p->revents)
			a->ready++;
	}
	return a->ready > 0;
}

int us_poll(us_stack *s, struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
	if (!s || (!fds && nfds)) {
		errno = !s ? EINVAL : EFAULT;
		return -1;
	}
	if (nfds > 1u << 20) {
		errno = EINVAL;
		return -1;
	}
	mt_lock(s);
	struct poll_arg a = { s, fds, nfds, 0 };
	int r;
	if (timeout_ms == 0) {
		if (!poll_ready(&a) && !s->in_poll && !s->mt) {
			us_stack_poll(s);
			poll_ready(&a);
		}
		r = a.ready;
	} else {
		uint64_t deadline = timeout_ms < 0 ? US_TIME_NEVER
				    : stack_now_ns(s) + (uint64_t)timeout_ms * 1000000u;
		r = stack_block(s, poll_ready, &a, deadline);
		if (r == 0 || r == -EAGAIN)
			r = a.ready;
	}
	mt_unlock(s);
	return (int)ret(r);
}
