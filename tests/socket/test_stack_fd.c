/* The stack inside an application's own event loop: the readiness of its
 * sockets shows through us_stack_fd(), a descriptor the application adds
 * to its own (kernel) epoll set. Real clock; every wait bounded. */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "test.h"
#include "ustack/socket.h"

/* Runs the application's loop until a datagram arrives on fd: wait on the
 * kernel epoll (bounded), then us_stack_poll and us_epoll_wait(0).
 * Returns the kernel wake-ups it took, or -1 if none came in time. */
static int app_loop_until_readable(us_stack *s, int kep, int uep, int fd)
{
	for (int wakeups = 0; wakeups < 50;) {
		struct epoll_event kev;
		int n = epoll_wait(kep, &kev, 1, 200);
		if (n <= 0)
			return -1;
		wakeups++;
		us_stack_poll(s);
		struct epoll_event uev[4];
		int m = us_epoll_wait(s, uep, uev, 4, 0);
		for (int i = 0; i < m; i++)
			if (uev[i].data.fd == fd && (uev[i].events & EPOLLIN))
				return wakeups;
	}
	return -1;
}

static void loopback_datagram_wakes_app_loop(void)
{
	us_stack *s = us_stack_new(NULL);
	REQUIRE(s);
	int sfd = us_stack_fd(s);
	REQUIRE(sfd >= 0);
	int kep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN };
	REQUIRE(epoll_ctl(kep, EPOLL_CTL_ADD, sfd, &ev) == 0);

	int rx = us_socket(s, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	int tx = us_socket(s, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(5000) };
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	REQUIRE(us_bind(s, rx, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	int uep = us_epoll_create(s);
	struct epoll_event uev = { .events = EPOLLIN, .data.fd = rx };
	REQUIRE(us_epoll_ctl(s, uep, EPOLL_CTL_ADD, rx, &uev) == 0);
	us_stack_poll(s); /* settle: nothing pending */

	/* Nothing to do: the stack's fd stays quiet (the idle timers are
	 * seconds away). */
	struct epoll_event kev;
	CHECK_EQ(epoll_wait(kep, &kev, 1, 50), 0);

	/* A send outside the poll round queues the datagram on loopback;
	 * the stack's fd must wake the application's loop. */
	CHECK_EQ(us_sendto(s, tx, "ping", 4, 0, (struct sockaddr *)&sin, sizeof(sin)), 4);
	int w = app_loop_until_readable(s, kep, uep, rx);
	CHECK(w >= 1 && w <= 3);
	char buf[16];
	CHECK_EQ(us_recv(s, rx, buf, sizeof(buf), 0), 4);
	CHECK(memcmp(buf, "ping", 4) == 0);

	/* Drained: the loop goes quiet again. */
	us_stack_poll(s);
	struct epoll_event out[2];
	CHECK_EQ(us_epoll_wait(s, uep, out, 2, 0), 0);
	CHECK_EQ(epoll_wait(kep, &kev, 1, 50), 0);

	close(kep);
	us_close(s, uep);
	us_close(s, rx);
	us_close(s, tx);
	us_stack_free(s);
}

static int frames_out;
static void count_tx(void *arg, const void *frame, size_t len)
{
	(void)arg;
	(void)frame;
	(void)len;
	frames_out++;
}

static void arp_retransmit_timer_wakes_app_loop(void)
{
	us_stack *s = us_stack_new(NULL);
	REQUIRE(s);
	int sfd = us_stack_fd(s);
	int kep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN };
	REQUIRE(epoll_ctl(kep, EPOLL_CTL_ADD, sfd, &ev) == 0);
	int ifi = us_dev_callback(s, "cb0", false, count_tx, NULL);
	REQUIRE(ifi > 0);
	us_dev_set_up(s, ifi, true);
	struct in_addr a;
	inet_pton(AF_INET, "10.66.0.1", &a);
	REQUIRE(us_addr_add(s, ifi, a, 24) == 0);
	us_stack_poll(s);
	frames_out = 0; /* the gratuitous ARP of the address */
	int fd = us_socket(s, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	inet_pton(AF_INET, "10.66.0.2", &to.sin_addr);
	CHECK_EQ(us_sendto(s, fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)), 1);
	CHECK_EQ(frames_out, 1); /* the first ARP request */
	/* The second request is due 1 s later: the fd wakes the loop for it. */
	uint64_t t0 = us_stack_now(s);
	int woke = 0;
	while (frames_out < 2 && us_stack_now(s) - t0 < 3000000000ull) {
		uint64_t next = us_stack_poll(s);
		uint64_t now = us_stack_now(s);
		int ms = next == US_TIME_NEVER ? 3000 : (int)((next > now ? next - now : 0) / 1000000u) + 1;
		struct epoll_event kev;
		if (epoll_wait(kep, &kev, 1, ms > 3000 ? 3000 : ms) > 0)
			woke++;
	}
	us_stack_poll(s);
	CHECK_EQ(frames_out, 2);
	CHECK(woke >= 1);
	uint64_t took = us_stack_now(s) - t0;
	CHECK(took >= 900000000ull && took < 2500000000ull);
	close(kep);
	us_close(s, fd);
	us_stack_free(s);
}

TEST_MAIN(T(loopback_datagram_wakes_app_loop), T(arp_retransmit_timer_wakes_app_loop))
