/* The injectable clock: real CLOCK_MONOTONIC or virtual time. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "ustack/ustack.h"

struct us_clock {
	bool is_virtual;
	uint64_t now_ns;  /* virtual clocks only */
};

us_clock *us_clock_new_monotonic(void)
{
	us_clock *c = calloc(1, sizeof(*c));
	if (!c)
		errno = ENOMEM;
	return c;
}

us_clock *us_clock_new_virtual(uint64_t start_ns)
{
	us_clock *c = calloc(1, sizeof(*c));
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	c->is_virtual = true;
	c->now_ns = start_ns;
	return c;
}

uint64_t us_clock_now(const us_clock *c)
{
	if (c->is_virtual)
		return c->now_ns;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool us_clock_is_virtual(const us_clock *c)
{
	return c && c->is_virtual;
}

int us_clock_advance(us_clock *c, uint64_t delta_ns)
{
	if (!c || !c->is_virtual || c->now_ns + delta_ns < c->now_ns) {
		errno = EINVAL;
		return -1;
	}
	c->now_ns += delta_ns;
	return 0;
}

int us_clock_set(us_clock *c, uint64_t now_ns)
{
	if (!c || !c->is_virtual || now_ns < c->now_ns) {
		errno = EINVAL;
		return -1;
	}
	c->now_ns = now_ns;
	return 0;
}

void us_clock_free(us_clock *c)
{
	free(c);
}
