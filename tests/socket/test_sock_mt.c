/*
 * The blocking layer for threads: a stack running in its own thread
 * (us_stack_start_thread, real clock), application threads blocking in
 * recvfrom/epoll_wait on its loopback, woken by data from other threads,
 * by SO_RCVTIMEO, and by us_close() from another thread (EBADF);
 * us_stack_stop_thread joins. Real time: every wait is short and bounded
 * (SO_RCVTIMEO on every blocking socket). Built with ThreadSanitizer in a
 * -DUSTACK_TSAN=ON build (label tsan), and in the others (label net).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "socktest.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static us_stack *mt_stack(void)
{
	struct us_stack_config cfg = { .seed = 99, .name = "mt" };
	us_stack *s = us_stack_new(&cfg);
	if (s && us_stack_start_thread(s) < 0) {
		us_stack_free(s);
		return NULL;
	}
	return s;
}

static void mt_free(us_stack *s)
{
	CHECK_OK(us_stack_stop_thread(s));
	us_stack_free(s);
}

static int set_timeo(us_stack *s, int fd, int name, unsigned ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	return us_setsockopt(s, fd, SOL_SOCKET, name, &tv, sizeof(tv));
}

/* ---- several threads in blocking calls at once ---- */

enum { CLIENTS = 4, ROUNDS = 150 };

struct echo_srv {
	us_stack *s;
	int fd;
	int echoed;
	int errors;
};

static void *echo_server(void *arg)
{
	struct echo_srv *e = arg;
	char buf[256];
	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = us_recvfrom(e->s, e->fd, buf, sizeof(buf), 0, SA(&from), &fl);
		if (n < 0) {
			if (errno != EAGAIN)
				e->errors++;
			break; /* idle for the timeout: done */
		}
		if (n == 4 && !memcmp(buf, "quit", 4))
			break;
		if (us_sendto(e->s, e->fd, buf, (size_t)n, 0, SA(&from), fl) != n)
			e->errors++;
		e->echoed++;
	}
	return NULL;
}

struct client {
	us_stack *s;
	int id;
	int ok, bad, timeouts;
};

static void *echo_client(void *arg)
{
	struct client *c = arg;
	int fd = us_socket(c->s, AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		c->bad++;
		return NULL;
	}
	set_timeo(c->s, fd, SO_RCVTIMEO, 2000);
	struct sockaddr_in to = sin4("127.0.0.1", 7);
	if (us_connect(c->s, fd, SA(&to), sizeof(to)) < 0)
		c->bad++;
	for (int r = 0; r < ROUNDS; r++) {
		char msg[64], buf[64];
		int len = snprintf(msg, sizeof(msg), "client %d round %d", c->id, r);
		if (us_send(c->s, fd, msg, (size_t)len, 0) != len) {
			c->bad++;
			continue;
		}
		ssize_t n = us_recv(c->s, fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EAGAIN)
			c->timeouts++;
		else if (n == len && !memcmp(buf, msg, (size_t)len))
			c->ok++;
		else
			c->bad++;
	}
	us_close(c->s, fd);
	return NULL;
}

/* CLIENTS threads each do ROUNDS blocking send/recv against an echo
 * server thread blocking in recvfrom, all through the stack thread. */
static void t_mt_echo(void)
{
	us_stack *s = mt_stack();
	REQUIRE(s);
	struct echo_srv e = { s, udp_bound(s, "127.0.0.1", 7), 0, 0 };
	REQUIRE(e.fd >= 0);
	CHECK_OK(set_int_opt(s, e.fd, SOL_SOCKET, SO_RCVBUF, 1 << 16));
	CHECK_OK(set_timeo(s, e.fd, SO_RCVTIMEO, 3000));
	pthread_t srv, cl[CLIENTS];
	struct client c[CLIENTS];
	REQUIRE(pthread_create(&srv, NULL, echo_server, &e) == 0);
	for (int i = 0; i < CLIENTS; i++) {
		c[i] = (struct client){ .s = s, .id = i };
		REQUIRE(pthread_create(&cl[i], NULL, echo_client, &c[i]) == 0);
	}
	int ok = 0;
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(cl[i], NULL);
		CHECK_EQ(c[i].bad, 0);
		CHECK_EQ(c[i].timeouts, 0);
		ok += c[i].ok;
	}
	int q = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = sin4("127.0.0.1", 7);
	CHECK_EQ(us_sendto(s, q, "quit", 4, 0, SA(&to), sizeof(to)), 4);
	pthread_join(srv, NULL);
	CHECK_EQ(ok, CLIENTS * ROUNDS);
	CHECK_EQ(e.echoed, CLIENTS * ROUNDS);
	CHECK_EQ(e.errors, 0);
	mt_free(s);
}

/* ---- a blocked recv woken by another thread's send ---- */

struct waiter {
	us_stack *s;
	int fd, ep;
	atomic_bool started; /* set just before the blocking call */
	ssize_t n;
	int err;
	char buf[32];
	uint64_t t_start, t_end;
	struct epoll_event ev;
};

/* Waits until the thread is about to block, then 30 ms more: whatever the
 * test does next happens while the thread is (very likely) blocked, and in
 * any case at least 30 ms after its call began. */
static void wait_started(struct waiter *w)
{
	for (int i = 0; i < 5000 && !atomic_load(&w->started); i++)
		sleep_ms(1);
	sleep_ms(30);
}

static void *recv_waiter(void *arg)
{
	struct waiter *w = arg;
	w->t_start = mono_ns();
	atomic_store(&w->started, true);
	w->n = us_recv(w->s, w->fd, w->buf, sizeof(w->buf), 0);
	w->err = w->n < 0 ? errno : 0;
	w->t_end = mono_ns();
	return NULL;
}

static void *epoll_waiter(void *arg)
{
	struct waiter *w = arg;
	w->t_start = mono_ns();
	atomic_store(&w->started, true);
	w->n = us_epoll_wait(w->s, w->ep, &w->ev, 1, 5000);
	w->err = w->n < 0 ? errno : 0;
	w->t_end = mono_ns();
	return NULL;
}

static void t_mt_wakeup(void)
{
	us_stack *s = mt_stack();
	REQUIRE(s);
	int r = udp_bound(s, "127.0.0.1", 5000);
	int c = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	REQUIRE(r >= 0 && c >= 0);
	CHECK_OK(set_timeo(s, r, SO_RCVTIMEO, 5000)); /* a bound, never reached */
	struct waiter w = { .s = s, .fd = r };
	pthread_t t;
	REQUIRE(pthread_create(&t, NULL, recv_waiter, &w) == 0);
	wait_started(&w);
	uint64_t sent = mono_ns();
	struct sockaddr_in to = sin4("127.0.0.1", 5000);
	CHECK_EQ(us_sendto(s, c, "wake up", 7, 0, SA(&to), sizeof(to)), 7);
	pthread_join(t, NULL);
	CHECK_EQ(w.n, 7);
	CHECK(!memcmp(w.buf, "wake up", 7));
	CHECK(w.t_end - w.t_start >= 30 * MS); /* it did block */
	CHECK(w.t_end - sent < 1000 * MS);     /* and woke at the data */

	/* epoll_wait in a thread, woken the same way. */
	int ep = us_epoll_create(s);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 42 };
	CHECK_OK(us_epoll_ctl(s, ep, EPOLL_CTL_ADD, r, &ev));
	struct waiter we = { .s = s, .ep = ep };
	REQUIRE(pthread_create(&t, NULL, epoll_waiter, &we) == 0);
	wait_started(&we);
	sent = mono_ns();
	CHECK_EQ(us_sendto(s, c, "again", 5, 0, SA(&to), sizeof(to)), 5);
	pthread_join(t, NULL);
	CHECK_EQ(we.n, 1);
	CHECK_EQ(we.ev.data.u32, 42);
	CHECK_EQ(we.ev.events, EPOLLIN);
	CHECK(we.t_end - we.t_start >= 30 * MS);
	CHECK(we.t_end - sent < 1000 * MS);
	char buf[8];
	CHECK_EQ(us_recv(s, r, buf, sizeof(buf), MSG_DONTWAIT), 5);
	mt_free(s);
}

/* ---- SO_RCVTIMEO in a thread ---- */

static void t_mt_rcvtimeo(void)
{
	us_stack *s = mt_stack();
	REQUIRE(s);
	int r = udp_bound(s, "127.0.0.1", 5001);
	REQUIRE(r >= 0);
	CHECK_OK(set_timeo(s, r, SO_RCVTIMEO, 50));
	struct waiter w = { .s = s, .fd = r };
	pthread_t t;
	REQUIRE(pthread_create(&t, NULL, recv_waiter, &w) == 0);
	pthread_join(t, NULL);
	CHECK_EQ(w.n, -1);
	CHECK_EQ(w.err, EAGAIN);
	uint64_t took = w.t_end - w.t_start;
	CHECK(took >= 50 * MS);
	CHECK(took < 1000 * MS);
	/* Two threads timing out on two sockets at once, different times. */
	int r2 = udp_bound(s, "127.0.0.1", 5002);
	CHECK_OK(set_timeo(s, r2, SO_RCVTIMEO, 120));
	struct waiter w1 = { .s = s, .fd = r }, w2 = { .s = s, .fd = r2 };
	pthread_t t1, t2;
	REQUIRE(pthread_create(&t1, NULL, recv_waiter, &w1) == 0);
	REQUIRE(pthread_create(&t2, NULL, recv_waiter, &w2) == 0);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	CHECK_EQ(w1.err, EAGAIN);
	CHECK_EQ(w2.err, EAGAIN);
	CHECK(w1.t_end - w1.t_start >= 50 * MS && w1.t_end - w1.t_start < 1000 * MS);
	CHECK(w2.t_end - w2.t_start >= 120 * MS && w2.t_end - w2.t_start < 1000 * MS);
	/* epoll_wait's own timeout in a thread. */
	int ep = us_epoll_create(s);
	struct epoll_event ev = { .events = EPOLLIN };
	CHECK_OK(us_epoll_ctl(s, ep, EPOLL_CTL_ADD, r, &ev));
	uint64_t t0 = mono_ns();
	struct epoll_event out;
	CHECK_EQ(us_epoll_wait(s, ep, &out, 1, 40), 0);
	CHECK(mono_ns() - t0 >= 40 * MS && mono_ns() - t0 < 1000 * MS);
	mt_free(s);
}

/* ---- SO_LINGER: close() blocks until the FIN is acknowledged ---- */

/* The stack thread carries the connection while the application thread
 * sits in close(); it must be woken when the FIN is acknowledged, not at
 * the end of the 20 s linger time. When close() returns, the server side
 * has every byte and the end of the stream. */
static void t_mt_linger_close(void)
{
	us_stack *s = mt_stack();
	REQUIRE(s);
	int l = us_socket(s, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = sin4("127.0.0.1", 5010);
	CHECK_OK(us_bind(s, l, SA(&a), sizeof(a)));
	CHECK_OK(us_listen(s, l, 4));
	int c = us_socket(s, AF_INET, SOCK_STREAM, 0);
	CHECK_OK(set_timeo(s, c, SO_SNDTIMEO, 5000));
	CHECK_OK(us_connect(s, c, SA(&a), sizeof(a)));
	CHECK_OK(set_timeo(s, l, SO_RCVTIMEO, 5000));
	int srv = us_accept(s, l, NULL, NULL);
	REQUIRE(srv >= 0);
	struct linger lg = { .l_onoff = 1, .l_linger = 20 };
	CHECK_OK(us_setsockopt(s, c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	static uint8_t data[50000], got[50001];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	CHECK_EQ(us_send(s, c, data, sizeof(data), 0), (long)sizeof(data));
	uint64_t t0 = mono_ns();
	CHECK_OK(us_close(s, c));
	CHECK(mono_ns() - t0 < 10000 * MS);
	size_t n = 0;
	ssize_t r;
	while ((r = us_recv(s, srv, got + n, sizeof(got) - n, MSG_DONTWAIT)) > 0)
		n += (size_t)r;
	CHECK_EQ(r, 0); /* the FIN is in: end of stream, not EAGAIN */
	CHECK_EQ(n, sizeof(data));
	CHECK(memcmp(got, data, sizeof(data)) == 0);
	mt_free(s);
}

/* ---- us_close from another thread ---- */

static void t_mt_close_wakes(void)
{
	us_stack *s = mt_stack();
	REQUIRE(s);
	int r = udp_bound(s, "127.0.0.1", 5003);
	REQUIRE(r >= 0);
	CHECK_OK(set_timeo(s, r, SO_RCVTIMEO, 5000));
	struct waiter w = { .s = s, .fd = r };
	pthread_t t;
	REQUIRE(pthread_create(&t, NULL, recv_waiter, &w) == 0);
	wait_started(&w);
	uint64_t closed = mono_ns();
	CHECK_OK(us_close(s, r));
	pthread_join(t, NULL);
	CHECK_EQ(w.n, -1);
	CHECK_EQ(w.err, EBADF);
	CHECK(w.t_end - w.t_start >= 30 * MS);
	CHECK(w.t_end - closed < 1000 * MS);
	/* The same for a thread in epoll_wait when the instance is closed. */
	int u = udp_bound(s, "127.0.0.1", 5004);
	int ep = us_epoll_create(s);
	struct epoll_event ev = { .events = EPOLLIN };
	CHECK_OK(us_epoll_ctl(s, ep, EPOLL_CTL_ADD, u, &ev));
	struct waiter we = { .s = s, .ep = ep };
	REQUIRE(pthread_create(&t, NULL, epoll_waiter, &we) == 0);
	wait_started(&we);
	closed = mono_ns();
	CHECK_OK(us_close(s, ep));
	pthread_join(t, NULL);
	CHECK_EQ(we.n, -1);
	CHECK_EQ(we.err, EBADF);
	CHECK(we.t_end - closed < 1000 * MS);
	/* The stack goes on: the other socket still works. */
	int c = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	CHECK_OK(set_timeo(s, u, SO_RCVTIMEO, 2000));
	struct sockaddr_in to = sin4("127.0.0.1", 5004);
	CHECK_EQ(us_sendto(s, c, "still", 5, 0, SA(&to), sizeof(to)), 5);
	char buf[8];
	CHECK_EQ(us_recv(s, u, buf, sizeof(buf), 0), 5);
	mt_free(s);
}

/* ---- starting and stopping ---- */

static void t_mt_start_stop(void)
{
	us_clock *vc = us_clock_new_virtual(1);
	struct us_stack_config vcfg = { .clock = vc, .seed = 1 };
	us_stack *v = us_stack_new(&vcfg);
	REQUIRE(v);
	CHECK_ERR(us_stack_start_thread(v), EINVAL); /* threads need a real clock */
	us_stack_free(v);
	us_clock_free(vc);
	CHECK_ERR(us_stack_start_thread(NULL), EINVAL);

	struct us_stack_config cfg = { .seed = 5 };
	us_stack *s = us_stack_new(&cfg);
	REQUIRE(s);
	CHECK_ERR(us_stack_stop_thread(s), EINVAL); /* none running */
	CHECK_OK(us_stack_start_thread(s));
	CHECK_ERR(us_stack_start_thread(s), EBUSY);
	int r = udp_bound(s, "127.0.0.1", 5005);
	int c = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	REQUIRE(r >= 0 && c >= 0);
	struct sockaddr_in to = sin4("127.0.0.1", 5005);
	char buf[8];
	/* With the thread, the loopback delivers by itself. */
	CHECK_EQ(us_sendto(s, c, "one", 3, 0, SA(&to), sizeof(to)), 3);
	bool got = false;
	for (int i = 0; i < 200 && !got; i++) {
		got = us_recv(s, r, buf, sizeof(buf), MSG_DONTWAIT) == 3;
		if (!got)
			sleep_ms(1);
	}
	CHECK(got);
	CHECK_OK(us_stack_stop_thread(s));
	/* Joined: nothing runs the stack any more until we poll it. */
	CHECK_EQ(us_sendto(s, c, "two", 3, 0, SA(&to), sizeof(to)), 3);
	sleep_ms(30);
	CHECK_ERR(us_recv(s, r, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	us_stack_poll(s);
	CHECK_EQ(us_recv(s, r, buf, sizeof(buf), MSG_DONTWAIT), 3);
	/* Single-threaded blocking again: the call runs the stack. */
	CHECK_OK(set_timeo(s, r, SO_RCVTIMEO, 30));
	uint64_t t0 = mono_ns();
	CHECK_ERR(us_recv(s, r, buf, sizeof(buf), 0), EAGAIN);
	CHECK(mono_ns() - t0 >= 30 * MS);
	/* And a thread again. */
	CHECK_OK(us_stack_start_thread(s));
	CHECK_OK(set_timeo(s, r, SO_RCVTIMEO, 2000));
	CHECK_EQ(us_sendto(s, c, "three", 5, 0, SA(&to), sizeof(to)), 5);
	CHECK_EQ(us_recv(s, r, buf, sizeof(buf), 0), 5);
	CHECK_OK(us_stack_stop_thread(s));
	CHECK_ERR(us_stack_stop_thread(s), EINVAL);
	us_stack_free(s);
}

TEST_MAIN(T(t_mt_echo), T(t_mt_wakeup), T(t_mt_rcvtimeo), T(t_mt_linger_close), T(t_mt_close_wakes),
	  T(t_mt_start_stop))
