/*
 * us_epoll_* and us_poll with Linux's semantics: level- against
 * edge-triggered as the epoll(7) example exercises them, EPOLLONESHOT, the
 * masks a UDP socket reports after shutdown() and after an ICMP error
 * (each mask is the one a real Linux UDP socket reports in that state),
 * epoll_ctl's errors, closing a watched socket, maxevents, POLLNVAL, and
 * the timeouts under virtual time.
 */
#include <arpa/inet.h>
#include <fcntl.h>

#include "socktest.h"

static struct sim sim;

#define ALL_IN_OUT (EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND)

/* One stack; a receiver bound to 127.0.0.1:port and a sender. */
static us_stack *setup(uint16_t port, int *r, int *c)
{
	sim_reset(&sim, 1, 11);
	us_stack *s = sim.st[0];
	*r = udp_bound(s, "127.0.0.1", port);
	*c = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	return s;
}

static void send_to(us_stack *s, int c, uint16_t port, const char *msg)
{
	struct sockaddr_in to = sin4("127.0.0.1", port);
	CHECK_EQ(us_sendto(s, c, msg, strlen(msg), 0, SA(&to), sizeof(to)), (long)strlen(msg));
	settle(s);
}

/* The epoll(7) example: data arrives, the reader reads part of what is
 * there, and waits again. Level-triggered reports it again; edge-triggered
 * does not, until new data arrives. */
static void t_lt_vs_et(void)
{
	int r, c;
	us_stack *s = setup(6000, &r, &c);
	REQUIRE(r >= 0 && c >= 0);
	int lt = us_epoll_create(s), et = us_epoll_create(s);
	REQUIRE(lt >= 0 && et >= 0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0x1111 };
	CHECK_OK(us_epoll_ctl(s, lt, EPOLL_CTL_ADD, r, &ev));
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLET, .data.u64 = 0x2222 };
	CHECK_OK(us_epoll_ctl(s, et, EPOLL_CTL_ADD, r, &ev));
	struct epoll_event out[4];
	CHECK_EQ(us_epoll_wait(s, lt, out, 4, 0), 0);
	CHECK_EQ(us_epoll_wait(s, et, out, 4, 0), 0);

	/* Two datagrams written to the socket. */
	send_to(s, c, 6000, "one");
	send_to(s, c, 6000, "two");
	CHECK_EQ(us_epoll_wait(s, lt, out, 4, 0), 1);
	CHECK_EQ(out[0].events, EPOLLIN);
	CHECK_EQ(out[0].data.u64, 0x1111);
	CHECK_EQ(us_epoll_wait(s, et, out, 4, 0), 1);
	CHECK_EQ(out[0].events, EPOLLIN);
	CHECK_EQ(out[0].data.u64, 0x2222);
	/* Nothing read: LT again, ET not. */
	CHECK_EQ(us_epoll_wait(s, lt, out, 4, 0), 1);
	CHECK_EQ(us_epoll_wait(s, et, out, 4, 0), 0);
	/* One of two read: still not drained. */
	char buf[8];
	CHECK_EQ(us_recv(s, r, buf, sizeof(buf), 0), 3);
	CHECK_EQ(us_epoll_wait(s, lt, out, 4, 0), 1);
	CHECK_EQ(us_epoll_wait(s, et, out, 4, 0), 0);
	/* ET waits block their whole timeout although data is there. */
	uint64_t t0 = sim_now(&sim);
	CHECK_EQ(us_epoll_wait(s, et, out, 4, 70), 0);
	CHECK_EQ(sim_now(&sim) - t0, 70 * MS);
	/* A new datagram is a new edge. */
	send_to(s, c, 6000, "three");
	CHECK_EQ(us_epoll_wait(s, et, out, 4, 0), 1);
	CHECK_EQ(out[0].events, EPOLLIN);
	CHECK_EQ(us_epoll_wait(s, et, out, 4, 0), 0);
	/* Drained: neither reports. */
	CHECK_EQ(us_recv(s, r, buf, sizeof(buf), 0), 3);
	CHECK_EQ(us_recv(s, r, buf, sizeof(buf), 0), 5);
	CHECK_EQ(us_epoll_wait(s, lt, out, 4, 0), 0);
	CHECK_EQ(us_epoll_wait(s, et, out, 4, 0), 0);
	/* EPOLLOUT under ET: reported once when added, then not again. */
	int et2 = us_epoll_create(s);
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u64 = 3 };
	CHECK_OK(us_epoll_ctl(s, et2, EPOLL_CTL_ADD, c, &ev));
	CHECK_EQ(us_epoll_wait(s, et2, out, 4, 0), 1);
	CHECK_EQ(out[0].events, EPOLLOUT);
	CHECK_EQ(us_epoll_wait(s, et2, out, 4, 0), 0);
	sim_free(&sim);
}

/* EPOLLONESHOT: one report, then disarmed (new data included) until
 * EPOLL_CTL_MOD re-arms it. */
static void t_oneshot(void)
{
	int r, c;
	us_stack *s = setup(6001, &r, &c);
	REQUIRE(r >= 0 && c >= 0);
	int ep = us_epoll_create(s);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.fd = r };
	CHECK_OK(us_epoll_ctl(s, ep, EPOLL_CTL_ADD, r, &ev));
	struct epoll_event out[2];
	send_to(s, c, 6001, "a");
	CHECK_EQ(us_epoll_wait(s, ep, out, 2, 0), 1);
	CHECK_EQ(out[0].data.fd, r);
	CHECK_EQ(us_epoll_wait(s, ep, out, 2, 0), 0);
	send_to(s, c, 6001, "b");
	CHECK_EQ(us_epoll_wait(s, ep, out, 2, 0), 0);
	uint64_t t0 = sim_now(&sim);
	CHECK_EQ(us_epoll_wait(s, ep, out, 2, 30), 0);
	CHECK_EQ(sim_now(&sim) - t0, 30 * MS);
	/* Still there once re-armed; the item's data is the new one. */
	ev.data.u64 = 77;
	CHECK_OK(us_epoll_ctl(s, ep, EPOLL_CTL_MOD, r, &ev));
	CHECK_EQ(us_epoll_wait(s, ep, out, 2, 0), 1);
	CHECK_EQ(out[0].data.u64, 77);
	CHECK_EQ(us_epoll_wait(s, ep, out, 2, 0), 0);
	/* Disarmed items stay registered: ADD is EEXIST, DEL works. */
	CHECK_ERR(us_epoll_ctl(s, ep, EPOLL_CTL_ADD, r, &ev), EEXIST);
	CHECK_OK(us_epoll_ctl(s, ep, EPOLL_CTL_DEL, r, NULL));
	sim_free(&sim);
}

/* The masks after shutdown(), as a Linux UDP socket reports them
 * (datagram_poll): SHUT_RD adds EPOLLRDHUP|EPOLLIN|EPOLLRDNORM, both
 * directions add EPOLLHUP, SHUT_WR alone changes nothing. Unconnected
 * sockets get ENOTCONN from shutdown() but the flags are set. */
static void t_shutdown_masks(void)
{
	sim_reset(&sim, 1, 12);
	us_stack *s = sim.st[0];
	int u = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	CHECK_EQ(epoll_mask(s, u), 0x304);
	CHECK_EQ(epoll_mask(s, u), ALL_IN_OUT);
	CHECK_ERR(us_shutdown(s, u, SHUT_RD), ENOTCONN);
	CHECK_EQ(epoll_mask(s, u), 0x2345);
	CHECK_EQ(epoll_mask(s, u), EPOLLRDHUP | EPOLLIN | EPOLLRDNORM | ALL_IN_OUT);
	struct pollfd p = { u, POLLIN | POLLOUT | POLLRDHUP | POLLPRI, 0 };
	CHECK_EQ(us_poll(s, &p, 1, 0), 1);
	CHECK_EQ(p.revents, 0x2005);
	CHECK_ERR(us_shutdown(s, u, SHUT_WR), ENOTCONN);
	CHECK_EQ(epoll_mask(s, u), 0x2355);
	p.revents = 0;
	CHECK_EQ(us_poll(s, &p, 1, 0), 1);
	CHECK_EQ(p.revents, 0x2015);
	/* EPOLLHUP is reported without being asked for. */
	int ep = us_epoll_create(s);
	struct epoll_event ev = { .events = EPOLLOUT }, out;
	CHECK_OK(us_epoll_ctl(s, ep, EPOLL_CTL_ADD, u, &ev));
	CHECK_EQ(us_epoll_wait(s, ep, &out, 1, 0), 1);
	CHECK_EQ(out.events, EPOLLOUT | EPOLLHUP);

	int w = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	CHECK_ERR(us_shutdown(s, w, SHUT_WR), ENOTCONN);
	CHECK_EQ(epoll_mask(s, w), 0x304);
	int b = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	CHECK_ERR(us_shutdown(s, b, SHUT_RDWR), ENOTCONN);
	CHECK_EQ(epoll_mask(s, b), 0x2355);
	/* Connected: shutdown() succeeds, same masks. */
	int c = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = sin4("127.0.0.1", 5000);
	CHECK_OK(us_connect(s, c, SA(&to), sizeof(to)));
	CHECK_OK(us_shutdown(s, c, SHUT_RD));
	CHECK_EQ(epoll_mask(s, c), 0x2345);
	sim_free(&sim);
}

/* Reading after shutdown(SHUT_RD): a blocking recv returns 0 (EOF), a
 * non-blocking one EAGAIN, and datagrams still arrive and are read (Linux
 * does not drop them). */
static void t_shutdown_rd_reads(void)
{
	int r, c;
	us_stack *s = setup(6002, &r, &c);
	REQUIRE(r >= 0 && c >= 0);
	CHECK_ERR(us_shutdown(s, r, SHUT_RD), ENOTCONN);
	char buf[8];
	uint64_t t0 = sim_now(&sim);
	CHECK_EQ(us_recv(s, r, buf, sizeof(buf), 0), 0);
	CHECK_EQ(sim_now(&sim), t0);
	CHECK_ERR(us_recv(s, r, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	uint64_t errs = ctr(s, "UdpInErrors");
	send_to(s, c, 6002, "hello");
	CHECK_EQ(ctr(s, "UdpInErrors"), errs);
	CHECK_EQ(us_recv(s, r, buf, sizeof(buf), MSG_DONTWAIT), 5);
	CHECK(!memcmp(buf, "hello", 5));
	sim_free(&sim);
}

/* EPOLLERR after an ICMP port unreachable on a connected socket: reported
 * even when not asked for, cleared by SO_ERROR; an unconnected socket
 * sees nothing. */
static void t_epollerr(void)
{
	sim_reset(&sim, 1, 13);
	us_stack *s = sim.st[0];
	int c = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	int u = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	REQUIRE(c >= 0 && u >= 0);
	struct sockaddr_in to = sin4("127.0.0.1", 5999); /* nobody */
	CHECK_OK(us_connect(s, c, SA(&to), sizeof(to)));
	int ep = us_epoll_create(s);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 1 }, out[2];
	CHECK_OK(us_epoll_ctl(s, ep, EPOLL_CTL_ADD, c, &ev));
	ev.data.u32 = 2;
	CHECK_OK(us_epoll_ctl(s, ep, EPOLL_CTL_ADD, u, &ev));
	CHECK_EQ(epoll_mask(s, c), 0x304);
	CHECK_EQ(us_send(s, c, "x", 1, 0), 1);
	CHECK_EQ(us_sendto(s, u, "x", 1, 0, SA(&to), sizeof(to)), 1);
	/* The wait runs the stack: the error wakes it. */
	CHECK_EQ(us_epoll_wait(s, ep, out, 2, 1000), 1);
	CHECK_EQ(out[0].data.u32, 1);
	CHECK_EQ(out[0].events, EPOLLERR);
	CHECK_EQ(epoll_mask(s, c), 0x30c);
	CHECK_EQ(epoll_mask(s, u), 0x304);
	struct pollfd p = { c, POLLIN, 0 };
	CHECK_EQ(us_poll(s, &p, 1, 0), 1);
	CHECK_EQ(p.revents, POLLERR);
	CHECK_EQ(get_int_opt(s, c, SOL_SOCKET, SO_ERROR), ECONNREFUSED);
	CHECK_EQ(get_int_opt(s, c, SOL_SOCKET, SO_ERROR), 0);
	CHECK_EQ(epoll_mask(s, c), 0x304);
	CHECK_EQ(us_epoll_wait(s, ep, out, 2, 0), 0);
	sim_free(&sim);
}

/* EPOLLOUT: a UDP socket is always writable; LT keeps reporting it. */
static void t_epollout(void)
{
	sim_reset(&sim, 1, 14);
	us_stack *s = sim.st[0];
	int u = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	int ep = us_epoll_create(s);
	struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = 9 }, out[2];
	CHECK_OK(us_epoll_ctl(s, ep, EPOLL_CTL_ADD, u, &ev));
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(us_epoll_wait(s, ep, out, 2, -1), 1);
		CHECK_EQ(out[0].events, EPOLLOUT);
		CHECK_EQ(out[0].data.u32, 9);
	}
	/* Asking for EPOLLIN only: nothing (and EPOLLOUT is not added). */
	ev.events = EPOLLIN;
	CHECK_OK(us_epoll_ctl(s, ep, EPOLL_CTL_MOD, u, &ev));
	CHECK_EQ(us_epoll_wait(s, ep, out, 2, 0), 0);
	struct pollfd p = { u, POLLOUT, 0 };
	CHECK_EQ(us_poll(s, &p, 1, -1), 1);
	CHECK_EQ(p.revents, POLLOUT);
	sim_free(&sim);
}

/* epoll_ctl and epoll_wait errors. */
static void t_ctl_errors(void)
{
	sim_reset(&sim, 1, 15);
	us_stack *s = sim.st[0];
	int ep = us_epoll_create(s);
	int u = us_socket(s, AF_INET, SOCK_DGRAM, 0), u2 = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	REQUIRE(ep >= 0 && u >= 0 && u2 >= 0);
	struct epoll_event ev = { .events = EPOLLIN }, out[4];
	CHECK_OK(us_epoll_ctl(s, ep, EPOLL_CTL_ADD, u, &ev));
	CHECK_ERR(us_epoll_ctl(s, ep, EPOLL_CTL_ADD, u, &ev), EEXIST);
	CHECK_OK(us_epoll_ctl(s, ep, EPOLL_CTL_MOD, u, &ev));
	CHECK_OK(us_epoll_ctl(s, ep, EPOLL_CTL_DEL, u, NULL));
	CHECK_ERR(us_epoll_ctl(s, ep, EPOLL_CTL_DEL, u, NULL), ENOENT);
	CHECK_ERR(us_epoll_ctl(s, ep, EPOLL_CTL_MOD, u, &ev), ENOENT);
	CHECK_ERR(us_epoll_ctl(s, ep, EPOLL_CTL_ADD, ep, &ev), EINVAL); /* itself */
	CHECK_ERR(us_epoll_ctl(s, ep, EPOLL_CTL_ADD, 9999, &ev), EBADF);
	CHECK_ERR(us_epoll_ctl(s, ep, EPOLL_CTL_ADD, -1, &ev), EBADF);
	CHECK_ERR(us_epoll_ctl(s, 9999, EPOLL_CTL_ADD, u, &ev), EBADF);
	CHECK_ERR(us_epoll_ctl(s, u2, EPOLL_CTL_ADD, u, &ev), EINVAL); /* not an epoll */
	CHECK_ERR(us_epoll_ctl(s, ep, 77, u, &ev), EINVAL);
	CHECK_ERR(us_epoll_ctl(s, ep, EPOLL_CTL_ADD, u, NULL), EFAULT);
	/* EPOLLEXCLUSIVE: ADD only, and not with EPOLLONESHOT. */
	ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
	CHECK_ERR(us_epoll_ctl(s, ep, EPOLL_CTL_ADD, u2, &ev), EINVAL);
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	CHECK_OK(us_epoll_ctl(s, ep, EPOLL_CTL_ADD, u2, &ev));
	CHECK_ERR(us_epoll_ctl(s, ep, EPOLL_CTL_MOD, u2, &ev), EINVAL);
	ev.events = EPOLLIN;
	CHECK_OK(us_epoll_ctl(s, ep, EPOLL_CTL_ADD, u, &ev));
	CHECK_ERR(us_epoll_wait(s, ep, out, 0, 0), EINVAL);
	CHECK_ERR(us_epoll_wait(s, ep, out, -1, 0), EINVAL);
	CHECK_ERR(us_epoll_wait(s, 9999, out, 4, 0), EBADF);
	CHECK_ERR(us_epoll_wait(s, u, out, 4, 0), EINVAL);
	/* A closed epoll handle. */
	CHECK_OK(us_close(s, ep));
	CHECK_ERR(us_epoll_wait(s, ep, out, 4, 0), EBADF);
	CHECK_ERR(us_epoll_ctl(s, ep, EPOLL_CTL_ADD, u, &ev), EBADF);
	sim_free(&sim);
}

/* Closing a watched socket removes it from every epoll set; a socket that
 * later gets the same handle number is not watched. */
static void t_close_removes(void)
{
	int r, c;
	us_stack *s = setup(6003, &r, &c);
	REQUIRE(r >= 0 && c >= 0);
	int ep1 = us_epoll_create(s), ep2 = us_epoll_create(s);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = r }, out[4];
	CHECK_OK(us_epoll_ctl(s, ep1, EPOLL_CTL_ADD, r, &ev));
	CHECK_OK(us_epoll_ctl(s, ep2, EPOLL_CTL_ADD, r, &ev));
	send_to(s, c, 6003, "x");
	CHECK_EQ(us_epoll_wait(s, ep1, out, 4, 0), 1);
	CHECK_OK(us_close(s, r)); /* ready and on the ready list */
	CHECK_EQ(us_epoll_wait(s, ep1, out, 4, 0), 0);
	CHECK_EQ(us_epoll_wait(s, ep2, out, 4, 0), 0);
	int r2 = udp_bound(s, "127.0.0.1", 6003);
	CHECK_EQ(r2, r); /* the handle is reused */
	send_to(s, c, 6003, "y");
	CHECK_EQ(us_epoll_wait(s, ep1, out, 4, 0), 0);
	CHECK_ERR(us_epoll_ctl(s, ep1, EPOLL_CTL_DEL, r2, NULL), ENOENT);
	CHECK_OK(us_epoll_ctl(s, ep1, EPOLL_CTL_ADD, r2, &ev));
	CHECK_EQ(us_epoll_wait(s, ep1, out, 4, 0), 1);
	/* Closing the epoll instance leaves the socket usable. */
	CHECK_OK(us_close(s, ep1));
	char buf[4];
	CHECK_EQ(us_recv(s, r2, buf, sizeof(buf), MSG_DONTWAIT), 1);
	sim_free(&sim);
}

/* More ready sockets than maxevents: the rest come first next time (LT
 * items go back to the end of the ready list). */
static void t_maxevents(void)
{
	sim_reset(&sim, 1, 16);
	us_stack *s = sim.st[0];
	int c = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	int lt = us_epoll_create(s), et = us_epoll_create(s);
	int fds[5];
	for (int i = 0; i < 5; i++) {
		fds[i] = udp_bound(s, "127.0.0.1", (uint16_t)(6100 + i));
		REQUIRE(fds[i] >= 0);
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		CHECK_OK(us_epoll_ctl(s, lt, EPOLL_CTL_ADD, fds[i], &ev));
		ev.events |= EPOLLET;
		CHECK_OK(us_epoll_ctl(s, et, EPOLL_CTL_ADD, fds[i], &ev));
	}
	for (int i = 0; i < 5; i++) {
		struct sockaddr_in to = sin4("127.0.0.1", (uint16_t)(6100 + i));
		CHECK_EQ(us_sendto(s, c, "d", 1, 0, SA(&to), sizeof(to)), 1);
		settle(s); /* ready in order 0..4 */
	}
	struct epoll_event out[5];
	/* LT: 0 1 | 2 3 | 4 0 | 1 2 ... */
	static const uint32_t lt_order[] = { 0, 1, 2, 3, 4, 0, 1, 2 };
	for (int call = 0; call < 4; call++) {
		int n = us_epoll_wait(s, lt, out, 2, 0);
		CHECK_EQ(n, 2);
		for (int j = 0; j < n && j < 2; j++)
			CHECK_EQ(out[j].data.u32, lt_order[call * 2 + j]);
	}
	/* ET: 0 1 | 2 3 | 4 | nothing. */
	CHECK_EQ(us_epoll_wait(s, et, out, 2, 0), 2);
	CHECK_EQ(out[0].data.u32, 0);
	CHECK_EQ(out[1].data.u32, 1);
	CHECK_EQ(us_epoll_wait(s, et, out, 2, 0), 2);
	CHECK_EQ(out[0].data.u32, 2);
	CHECK_EQ(out[1].data.u32, 3);
	CHECK_EQ(us_epoll_wait(s, et, out, 2, 0), 1);
	CHECK_EQ(out[0].data.u32, 4);
	CHECK_EQ(us_epoll_wait(s, et, out, 2, 0), 0);
	/* A socket drained while on the ready list is skipped, not reported
	 * with an empty mask. */
	char buf[4];
	CHECK_EQ(us_recv(s, fds[2], buf, sizeof(buf), 0), 1);
	CHECK_EQ(us_recv(s, fds[3], buf, sizeof(buf), 0), 1);
	CHECK_EQ(us_epoll_wait(s, lt, out, 5, 0), 3);
	for (int j = 0; j < 3; j++)
		CHECK(out[j].data.u32 != 2 && out[j].data.u32 != 3 && out[j].events == EPOLLIN);
	sim_free(&sim);
}

/* us_poll: POLLNVAL for a handle that is not open, negative fds ignored,
 * several sockets at once. */
static void t_poll(void)
{
	int r, c;
	us_stack *s = setup(6004, &r, &c);
	REQUIRE(r >= 0 && c >= 0);
	int closed = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	us_close(s, closed);
	struct pollfd p[4] = { { 9999, POLLIN, 0x7 }, { -1, POLLIN, 0x7 }, { closed, POLLIN, 0 },
			       { r, POLLIN, 0 } };
	CHECK_EQ(us_poll(s, p, 4, 0), 2);
	CHECK_EQ(p[0].revents, POLLNVAL);
	CHECK_EQ(p[1].revents, 0);
	CHECK_EQ(p[2].revents, POLLNVAL);
	CHECK_EQ(p[3].revents, 0);
	send_to(s, c, 6004, "z");
	CHECK_EQ(us_poll(s, &p[3], 1, 0), 1);
	CHECK_EQ(p[3].revents, POLLIN);
	/* POLLNVAL needs no events asked for; POLLOUT is only when asked. */
	struct pollfd q[2] = { { 9999, 0, 0 }, { r, POLLIN | POLLOUT, 0 } };
	CHECK_EQ(us_poll(s, q, 2, 0), 2);
	CHECK_EQ(q[0].revents, POLLNVAL);
	CHECK_EQ(q[1].revents, POLLIN | POLLOUT);
	CHECK_ERR(us_poll(s, NULL, 1, 0), EFAULT);
	CHECK_EQ(us_poll(s, NULL, 0, 0), 0);
	sim_free(&sim);
}

/* Timeouts under virtual time: epoll_wait and poll return 0 after exactly
 * their timeout; 0 never advances time; data arriving earlier ends the
 * wait exactly when it arrives. */
static void t_timeouts(void)
{
	int r, c;
	us_stack *s = setup(6005, &r, &c);
	REQUIRE(r >= 0 && c >= 0);
	int ep = us_epoll_create(s);
	struct epoll_event ev = { .events = EPOLLIN }, out[2];
	CHECK_OK(us_epoll_ctl(s, ep, EPOLL_CTL_ADD, r, &ev));
	uint64_t t0 = sim_now(&sim);
	CHECK_EQ(us_epoll_wait(s, ep, out, 2, 300), 0);
	CHECK_EQ(sim_now(&sim) - t0, 300 * MS);
	t0 = sim_now(&sim);
	CHECK_EQ(us_epoll_wait(s, ep, out, 2, 0), 0);
	CHECK_EQ(sim_now(&sim), t0);
	struct pollfd p = { r, POLLIN, 0 };
	t0 = sim_now(&sim);
	CHECK_EQ(us_poll(s, &p, 1, 250), 0);
	CHECK_EQ(sim_now(&sim) - t0, 250 * MS);
	t0 = sim_now(&sim);
	CHECK_EQ(us_poll(s, &p, 1, 0), 0);
	CHECK_EQ(sim_now(&sim), t0);
	/* An empty epoll set still waits its timeout. */
	int empty = us_epoll_create(s);
	t0 = sim_now(&sim);
	CHECK_EQ(us_epoll_wait(s, empty, out, 2, 1234), 0);
	CHECK_EQ(sim_now(&sim) - t0, 1234 * MS);
	/* A datagram delayed 40 ms on the loopback ends a 1 s wait at 40 ms. */
	struct us_impair imp = { .delay_ns = 40 * MS };
	REQUIRE(us_dev_set_impair(s, us_dev_by_name(s, "lo"), &imp) == 0);
	struct sockaddr_in to = sin4("127.0.0.1", 6005);
	t0 = sim_now(&sim);
	CHECK_EQ(us_sendto(s, c, "late", 4, 0, SA(&to), sizeof(to)), 4);
	CHECK_EQ(us_epoll_wait(s, ep, out, 2, 1000), 1);
	CHECK_EQ(sim_now(&sim) - t0, 40 * MS);
	char buf[8];
	CHECK_EQ(us_recv(s, r, buf, sizeof(buf), 0), 4);
	t0 = sim_now(&sim);
	CHECK_EQ(us_sendto(s, c, "late", 4, 0, SA(&to), sizeof(to)), 4);
	CHECK_EQ(us_poll(s, &p, 1, 1000), 1);
	CHECK_EQ(sim_now(&sim) - t0, 40 * MS);
	CHECK_EQ(p.revents, POLLIN);
	sim_free(&sim);
}

TEST_MAIN(T(t_lt_vs_et), T(t_oneshot), T(t_shutdown_masks), T(t_shutdown_rd_reads),
	  T(t_epollerr), T(t_epollout), T(t_ctl_errors), T(t_close_removes), T(t_maxevents),
	  T(t_poll), T(t_timeouts))
