/*
 * Hierarchical timer wheel (the kernel's classic cascading wheel), in
 * milliseconds. Level 0 has 256 one-millisecond slots; levels 1-4 have 64
 * slots each, every slot 64 times wider than the level below, so the wheel
 * spans 2^32 ms (49 days); later timers are parked in the last level and
 * re-placed when they cascade. Arm, re-arm and cancel are O(1); a timer
 * fires at the first processed tick >= its expiry, never earlier.
 */
#ifndef US_TIMER_H
#define US_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "list.h"

struct timer;
typedef void (*timer_fn)(struct timer *t);

struct timer {
	struct list_head entry; /* empty when not pending */
	uint64_t expires;       /* ms, on the stack's clock */
	timer_fn fn;
	uint8_t level, idx;
};

#define WHEEL_LEVELS 5
#define WHEEL_L0_BITS 8
#define WHEEL_LN_BITS 6

struct timer_wheel {
	uint64_t clk;           /* next tick to process */
	uint64_t count;         /* pending timers */
	bool running;
	uint64_t bm0[4];        /* non-empty level-0 slots */
	uint64_t bmn[WHEEL_LEVELS - 1]; /* non-empty slots of levels 1-4 */
	struct list_head l0[1 << WHEEL_L0_BITS];
	struct list_head ln[WHEEL_LEVELS - 1][1 << WHEEL_LN_BITS];
};

void wheel_init(struct timer_wheel *w, uint64_t now_ms);
void timer_init(struct timer *t, timer_fn fn);
/* Arms or re-arms t to fire at expires_ms (absolute). */
void timer_mod(struct timer_wheel *w, struct timer *t, uint64_t expires_ms);
void timer_del(struct timer_wheel *w, struct timer *t);
static inline bool timer_pending(const struct timer *t)
{
	return !list_empty(&t->entry);
}
/* The tick at which the wheel next has work (a timer to fire or a slot to
 * cascade): never later than the earliest expiry. UINT64_MAX when empty. */
uint64_t wheel_next(const struct timer_wheel *w);
/* Fires every timer due at or before now_ms. Returns how many fired. */
uint64_t wheel_run(struct timer_wheel *w, uint64_t now_ms);

#endif
