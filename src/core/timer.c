#include "timer.h"

#define L0_SIZE (1u << WHEEL_L0_BITS)
#define L0_MASK (L0_SIZE - 1)
#define LN_SIZE (1u << WHEEL_LN_BITS)
#define LN_MASK (LN_SIZE - 1)
#define WHEEL_SPAN_BITS (WHEEL_L0_BITS + (WHEEL_LEVELS - 1) * WHEEL_LN_BITS)

static inline unsigned level_shift(int level)
{
	return WHEEL_L0_BITS + (unsigned)(level - 1) * WHEEL_LN_BITS;
}

void wheel_init(struct timer_wheel *w, uint64_t now_ms)
{
	w->clk = now_ms;
	w->count = 0;
	w->running = false;
	for (unsigned i = 0; i < 4; i++)
		w->bm0[i] = 0;
	for (unsigned i = 0; i < L0_SIZE; i++)
		list_init(&w->l0[i]);
	for (int l = 0; l < WHEEL_LEVELS - 1; l++) {
		w->bmn[l] = 0;
		for (unsigned i = 0; i < LN_SIZE; i++)
			list_init(&w->ln[l][i]);
	}
}

void timer_init(struct timer *t, timer_fn fn)
{
	list_init(&t->entry);
	t->expires = 0;
	t->fn = fn;
	t->level = t->idx = 0;
}

/* Places t in the slot its expiry falls in, seen from w->clk. */
static void place(struct timer_wheel *w, struct timer *t, bool cascading)
{
	uint64_t e = t->expires;
	if (e < w->clk)
		e = w->clk;
	/* A timer armed for "now" by a timer callback fires on the next tick,
	 * so that a callback re-arming itself cannot hold the wheel forever.
	 * A timer cascading down to this very tick still fires on it. */
	if (w->running && !cascading && e <= w->clk)
		e = w->clk + 1;
	uint64_t delta = e - w->clk;
	if (delta < L0_SIZE) {
		unsigned idx = (unsigned)(e & L0_MASK);
		t->level = 0;
		t->idx = (uint8_t)idx;
		list_add_tail(&t->entry, &w->l0[idx]);
		w->bm0[idx >> 6] |= 1ull << (idx & 63);
		return;
	}
	if (delta >= (1ull << WHEEL_SPAN_BITS))
		e = w->clk + (1ull << WHEEL_SPAN_BITS) - 1;
	int level = 1;
	while (level < WHEEL_LEVELS - 1 && delta >= (1ull << (level_shift(level) + WHEEL_LN_BITS)))
		level++;
	unsigned idx = (unsigned)((e >> level_shift(level)) & LN_MASK);
	t->level = (uint8_t)level;
	t->idx = (uint8_t)idx;
	list_add_tail(&t->entry, &w->ln[level - 1][idx]);
	w->bmn[level - 1] |= 1ull << idx;
}

static void unlink_timer(struct timer_wheel *w, struct timer *t)
{
	list_del(&t->entry);
	w->count--;
	if (t->level == 0) {
		if (list_empty(&w->l0[t->idx]))
			w->bm0[t->idx >> 6] &= ~(1ull << (t->idx & 63));
	} else if (list_empty(&w->ln[t->level - 1][t->idx])) {
		w->bmn[t->level - 1] &= ~(1ull << t->idx);
	}
}

void timer_mod(struct timer_wheel *w, struct timer *t, uint64_t expires_ms)
{
	if (timer_pending(t))
		unlink_timer(w, t);
	t->expires = expires_ms;
	place(w, t, false);
	w->count++;
}

void timer_del(struct timer_wheel *w, struct timer *t)
{
	if (timer_pending(t))
		unlink_timer(w, t);
}

/* First set bit of the 256-bit level-0 map at or after position from,
 * cyclically; -1 if none. */
static int l0_next(const struct timer_wheel *w, unsigned from)
{
	for (unsigned k = 0; k < 5; k++) {
		unsigned word = ((from >> 6) + k) & 3;
		uint64_t bits = w->bm0[word];
		if (k == 0)
			bits &= ~0ull << (from & 63);
		else if (k == 4)
			bits &= (from & 63) ? ~(~0ull << (from & 63)) : 0;
		if (bits)
			return (int)(word * 64 + (unsigned)__builtin_ctzll(bits));
	}
	return -1;
}

uint64_t wheel_next(const struct timer_wheel *w)
{
	if (w->count == 0)
		return UINT64_MAX;
	uint64_t best = UINT64_MAX;
	int j = l0_next(w, (unsigned)(w->clk & L0_MASK));
	if (j >= 0)
		best = w->clk + (((unsigned)j - w->clk) & L0_MASK);
	for (int level = 1; level < WHEEL_LEVELS; level++) {
		uint64_t bits = w->bmn[level - 1];
		if (!bits)
			continue;
		unsigned s = level_shift(level);
		/* The slot at index i cascades at the first tick T >= clk that
		 * is a multiple of 2^s with (T >> s) & 63 == i. */
		uint64_t b = (w->clk + (1ull << s) - 1) >> s;
		unsigned rot = (unsigned)(b & LN_MASK);
		uint64_t r = (bits >> rot) | (rot ? bits << (LN_SIZE - rot) : 0);
		unsigned k = (unsigned)__builtin_ctzll(r);
		uint64_t t = (b + k) << s;
		if (t < best)
			best = t;
	}
	return best;
}

static void cascade(struct timer_wheel *w, uint64_t tick)
{
	for (int level = 1; level < WHEEL_LEVELS; level++) {
		unsigned idx = (unsigned)((tick >> level_shift(level)) & LN_MASK);
		struct list_head work;
		list_init(&work);
		list_splice_tail_init(&w->ln[level - 1][idx], &work);
		w->bmn[level - 1] &= ~(1ull << idx);
		while (!list_empty(&work)) {
			struct timer *t = list_first_entry(&work, struct timer, entry);
			list_del(&t->entry);
			place(w, t, true);
		}
		if (idx != 0)
			break;
	}
}

uint64_t wheel_run(struct timer_wheel *w, uint64_t now_ms)
{
	uint64_t fired = 0;
	w->running = true;
	while (w->clk <= now_ms) {
		uint64_t nxt = wheel_next(w);
		if (nxt > now_ms) {
			w->clk = now_ms + 1;
			break;
		}
		w->clk = nxt;
		if ((w->clk & L0_MASK) == 0)
			cascade(w, w->clk);
		unsigned idx = (unsigned)(w->clk & L0_MASK);
		struct list_head work;
		list_init(&work);
		list_splice_tail_init(&w->l0[idx], &work);
		w->bm0[idx >> 6] &= ~(1ull << (idx & 63));
		while (!list_empty(&work)) {
			struct timer *t = list_first_entry(&work, struct timer, entry);
			list_del(&t->entry);
			w->count--;
			fired++;
			t->fn(t);
		}
		w->clk++;
	}
	w->running = false;
	return fired;
}
