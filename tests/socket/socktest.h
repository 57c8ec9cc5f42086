/* Helpers shared by the socket-layer tests: errno checks that name the
 * errno, address builders, counters, and a two-stack network. */
#ifndef USTACK_SOCKTEST_H
#define USTACK_SOCKTEST_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>

#include "sim.h"
#include "test.h"
#include "ustack/socket.h"

/* expr must fail with exactly errno e (Linux's value). */
#define CHECK_ERR(expr, e)                                                              \
	do {                                                                            \
		errno = 0;                                                              \
		long r_ = (long)(expr);                                                 \
		int e_ = errno;                                                         \
		if (r_ != -1 || e_ != (e)) {                                            \
			fprintf(stderr, "%s:%d: %s: %s: expected -1/%s, got %ld/%s\n",   \
				__FILE__, __LINE__, test_current, #expr, errname(e), r_, \
				r_ == -1 ? errname(e_) : "-");                          \
			test_failures++;                                                \
		}                                                                       \
	} while (0)

/* expr must succeed (>= 0). */
#define CHECK_OK(expr)                                                                  \
	do {                                                                            \
		errno = 0;                                                              \
		long r_ = (long)(expr);                                                 \
		if (r_ < 0) {                                                           \
			fprintf(stderr, "%s:%d: %s: %s failed: %s\n", __FILE__, __LINE__,  \
				test_current, #expr, errname(errno));                   \
			test_failures++;                                                \
		}                                                                       \
	} while (0)

#define SA(p) ((struct sockaddr *)(p))
#define CSA(p) ((const struct sockaddr *)(p))
#define MS 1000000ull

const char *errname(int e);

struct sockaddr_in sin4(const char *ip, uint16_t port);
/* A counter by name; aborts on an unknown name (a typo must not pass). */
uint64_t ctr(const us_stack *s, const char *name);
/* A UDP socket bound to ip:port (ip NULL: any); -1 on failure. The
 * second one sets SO_REUSEADDR first. */
int udp_bound(us_stack *s, const char *ip, uint16_t port);
int udp_bound_reuse(us_stack *s, const char *ip, uint16_t port);
/* The local port (host order) of a bound socket. */
uint16_t local_port(us_stack *s, int fd);
int get_int_opt(us_stack *s, int fd, int level, int name);
int set_int_opt(us_stack *s, int fd, int level, int name, int v);
/* Polls the stack until it has nothing due now (single-stack tests). */
void settle(us_stack *s);

/* sim_init, freeing first what a test stopped by REQUIRE left. */
void sim_reset(struct sim *sim, int n, uint64_t seed);

/* Two stacks on one virtual clock: st[0] eth0 10.0.0.1/24 <-> st[1] eth0
 * 10.0.0.2/24; their ifindexes go to ia and ib when not NULL. */
void net2(struct sim *sim, uint64_t seed, int *ia, int *ib);

/* The EPOLL* mask epoll reports for fd when every readiness bit is asked
 * for (0 when it reports nothing). */
uint32_t epoll_mask(us_stack *s, int fd);

#endif
