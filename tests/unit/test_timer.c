/* The hierarchical timer wheel: a timer fires at the first processed tick
 * >= its expiry, never earlier, whatever the level it started on. */
#include "test.h"

#include "core/list.h"
#include "core/rand.h"
#include "core/timer.h"

/* The wheel under test and the "now" of the wheel_run call in progress. */
static struct timer_wheel *W;
static uint64_t now_run;
/* Errors found inside callbacks (counted, the first few printed). */
static unsigned cb_errors;

#define CB_ERR(...)                                           \
	do {                                                  \
		if (cb_errors++ < 8)                          \
			fprintf(stderr, __VA_ARGS__);         \
	} while (0)

struct tt {
	struct timer t;
	uint64_t want;      /* the tick it must fire at */
	unsigned fired;
	uint64_t fired_clk; /* the wheel's tick at the callback */
	uint64_t fired_now; /* the now of the wheel_run that fired it */
};

static void tt_fire(struct timer *t)
{
	struct tt *x = container_of(t, struct tt, t);
	x->fired++;
	x->fired_clk = W->clk;
	x->fired_now = now_run;
	if (t->expires > now_run)
		CB_ERR("timer for %llu fired early, in run(%llu)\n", (unsigned long long)t->expires,
		       (unsigned long long)now_run);
}

static void tt_arm(struct tt *x, uint64_t at)
{
	x->want = at < W->clk ? W->clk : at;
	timer_mod(W, &x->t, at);
}

static uint64_t run(uint64_t now)
{
	now_run = now;
	return wheel_run(W, now);
}

static struct timer_wheel *new_wheel(uint64_t start)
{
	struct timer_wheel *w = malloc(sizeof(*w));
	wheel_init(w, start);
	W = w;
	cb_errors = 0;
	return w;
}

static void arm_cancel_rearm(void)
{
	struct timer_wheel *w = new_wheel(1000);
	struct tt a = { 0 };
	timer_init(&a.t, tt_fire);
	CHECK(!timer_pending(&a.t));
	CHECK_EQ(wheel_next(w), UINT64_MAX);
	CHECK_EQ(run(5000), 0);
	free(w);
	w = new_wheel(1000);

	timer_mod(w, &a.t, 1010);
	CHECK(timer_pending(&a.t));
	CHECK_EQ(w->count, 1);
	CHECK_EQ(wheel_next(w), 1010);
	timer_del(w, &a.t);
	CHECK(!timer_pending(&a.t));
	CHECK_EQ(w->count, 0);
	CHECK_EQ(wheel_next(w), UINT64_MAX);
	timer_del(w, &a.t); /* not pending: nothing happens */
	CHECK_EQ(w->count, 0);
	CHECK_EQ(run(1010), 0);
	CHECK_EQ(a.fired, 0);

	/* Re-arming a pending timer moves it: earlier... */
	timer_mod(w, &a.t, 1100);
	timer_mod(w, &a.t, 1050);
	CHECK_EQ(w->count, 1);
	CHECK_EQ(run(1049), 0);
	CHECK_EQ(run(1050), 1);
	CHECK_EQ(a.fired, 1);
	CHECK_EQ(a.fired_clk, 1050);
	CHECK(!timer_pending(&a.t));
	CHECK_EQ(w->count, 0);
	/* ... and later, across levels. */
	timer_mod(w, &a.t, 1060);
	timer_mod(w, &a.t, 90000);
	CHECK_EQ(run(1060), 0);
	CHECK_EQ(run(89999), 0);
	CHECK_EQ(a.fired, 1);
	CHECK_EQ(run(90000), 1);
	CHECK_EQ(a.fired, 2);
	CHECK_EQ(a.fired_clk, 90000);
	/* Far, then near. */
	timer_mod(w, &a.t, 90000 + (1ull << 30));
	timer_mod(w, &a.t, 90005);
	CHECK_EQ(wheel_next(w), 90005);
	CHECK_EQ(run(90005), 1);
	CHECK_EQ(a.fired_clk, 90005);
	CHECK_EQ(run(90000 + (1ull << 31)), 0);
	CHECK_EQ(a.fired, 3);

	/* Armed in the past (outside a callback): fires at the next tick
	 * processed, which is the next run. */
	uint64_t clk = w->clk;
	timer_mod(w, &a.t, 5);
	CHECK(wheel_next(w) <= clk);
	CHECK_EQ(run(clk), 1);
	CHECK_EQ(a.fired_clk, clk);
	/* Running again at the same time fires nothing. */
	CHECK_EQ(run(clk), 0);
	/* Armed for the current tick: also fires in the next run. */
	timer_mod(w, &a.t, w->clk);
	CHECK_EQ(run(w->clk), 1);
	CHECK_EQ(cb_errors, 0);
	free(w);
}

/* One timer at a time, from many start ticks and distances around every
 * level boundary: silent up to expiry - 1, fires at expiry exactly. */
static void exact_fire_time(void)
{
	static const uint64_t starts[] = { 0,           1,           255,
					   256,         1000,        12345,
					   (1u << 14) - 1, (1u << 20) + 3, (1ull << 26) - 3,
					   (1ull << 32) - 2, (1ull << 40) + 5, 123456789012ull };
	uint64_t deltas[2000];
	unsigned nd = 0;
	for (uint64_t d = 0; d <= 300; d++)
		deltas[nd++] = d;
	for (uint64_t k = 2; k <= 70; k++)
		for (int e = -1; e <= 1; e++)
			deltas[nd++] = k * 256 + (uint64_t)e;
	static const unsigned shifts[] = { 14, 20, 26, 32 };
	for (unsigned i = 0; i < 4; i++)
		for (uint64_t k = 1; k <= 3; k++)
			for (int e = -2; e <= 2; e++)
				deltas[nd++] = (k << shifts[i]) + (uint64_t)(int64_t)e;
	static const uint64_t far[] = { 3600000ull,            /* 1 h */
					10 * 3600000ull + 17,  /* 10 h */
					49ull * 86400000 + 1,  /* 49 days */
					(1ull << 33) + 12345, (1ull << 36) + 1,
					(1ull << 40) + 7 };
	for (unsigned i = 0; i < sizeof(far) / sizeof(far[0]); i++)
		deltas[nd++] = far[i];

	unsigned bad = 0;
	struct timer_wheel *w = malloc(sizeof(*w));
	W = w;
	cb_errors = 0;
	for (unsigned si = 0; si < sizeof(starts) / sizeof(starts[0]); si++) {
		for (unsigned di = 0; di < nd; di++) {
			uint64_t start = starts[si], at = start + deltas[di];
			wheel_init(w, start);
			struct tt x = { 0 };
			timer_init(&x.t, tt_fire);
			timer_mod(w, &x.t, at);
			if (wheel_next(w) > at) {
				if (bad++ < 8)
					fprintf(stderr, "start %llu +%llu: wheel_next %llu later than expiry\n",
						(unsigned long long)start, (unsigned long long)deltas[di],
						(unsigned long long)wheel_next(w));
			}
			if (at > start)
				run(at - 1);
			bool early = x.fired != 0;
			run(at);
			if (early || x.fired != 1 || x.fired_clk != at) {
				if (bad++ < 8)
					fprintf(stderr,
						"start %llu +%llu: fired %u times%s, at tick %llu\n",
						(unsigned long long)start, (unsigned long long)deltas[di],
						x.fired, early ? " (early)" : "",
						(unsigned long long)x.fired_clk);
				timer_del(w, &x.t);
			}
		}
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(cb_errors, 0);
	free(w);
}

/* Every distance from 1 to 70000 ms at once, from an unaligned start,
 * stepped one tick at a time: each fires at its tick (cascades from
 * levels 1 and 2 included). */
static void every_tick_stepped(void)
{
	enum { N = 70000 };
	uint64_t start = 987654321;
	struct timer_wheel *w = new_wheel(start);
	struct tt *x = calloc(N + 1, sizeof(*x));
	for (unsigned i = 1; i <= N; i++) {
		timer_init(&x[i].t, tt_fire);
		tt_arm(&x[i], start + i);
	}
	CHECK_EQ(w->count, N);
	unsigned bad = 0;
	for (uint64_t now = start; now <= start + N + 1; now++) {
		uint64_t n = run(now);
		uint64_t i = now - start;
		uint64_t want = (i >= 1 && i <= N) ? 1 : 0;
		if (n != want || (want && (x[i].fired != 1 || x[i].fired_clk != now))) {
			if (bad++ < 8)
				fprintf(stderr, "tick +%llu: %llu fired\n", (unsigned long long)i,
					(unsigned long long)n);
		}
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(w->count, 0);
	CHECK_EQ(cb_errors, 0);
	free(x);
	free(w);
}

/* ---- callbacks that re-arm and cancel ---- */

static unsigned periodic_fires;
static uint64_t periodic_last;
static void periodic(struct timer *t)
{
	if (periodic_fires && W->clk != periodic_last + 7)
		CB_ERR("periodic: %llu after %llu\n", (unsigned long long)W->clk,
		       (unsigned long long)periodic_last);
	periodic_fires++;
	periodic_last = W->clk;
	timer_mod(W, t, t->expires + 7);
}

static unsigned now_fires;
static void rearm_now(struct timer *t)
{
	now_fires++;
	timer_mod(W, t, W->clk); /* "now" from a callback: the next tick */
}

static struct tt *victims;
static unsigned nvictims;
static void killer(struct timer *t)
{
	(void)t;
	for (unsigned i = 0; i < nvictims; i++)
		timer_del(W, &victims[i].t);
}

static struct tt *moved;
static void mover(struct timer *t)
{
	(void)t;
	timer_mod(W, &moved->t, W->clk + 1000);
	moved->want = W->clk + 1000;
}

static struct tt *child;
static void spawner(struct timer *t)
{
	(void)t;
	/* One in the past, one for now, one later in this same run. */
	tt_arm(&child[0], W->clk - 5);
	child[0].want = W->clk + 1;
	tt_arm(&child[1], W->clk);
	child[1].want = W->clk + 1;
	tt_arm(&child[2], W->clk + 300);
}

static void callbacks(void)
{
	struct timer_wheel *w = new_wheel(100);
	/* Periodic every 7 ms for 7 s, run in uneven steps. */
	struct timer p;
	timer_init(&p, periodic);
	timer_mod(w, &p, 107);
	struct prng r;
	prng_seed(&r, 11);
	uint64_t now = 100;
	while (now < 7100) {
		now += 1 + prng_below(&r, 40);
		if (now > 7100)
			now = 7100;
		run(now);
	}
	CHECK_EQ(periodic_fires, 1000);
	CHECK_EQ(periodic_last, 7100);
	CHECK(timer_pending(&p));
	timer_del(w, &p);

	/* A callback re-arming itself for "now" fires once per tick and does
	 * not hold the wheel. */
	struct timer n;
	timer_init(&n, rearm_now);
	timer_mod(w, &n, 8000);
	CHECK_EQ(run(8000), 1);
	CHECK_EQ(run(8000), 0);
	CHECK_EQ(run(8009), 9);
	CHECK_EQ(now_fires, 10);
	timer_del(w, &n);
	CHECK_EQ(w->count, 0);

	/* A callback cancelling others: one behind it in the same slot, one
	 * a few ticks later, one on level 1 and one far away. */
	struct tt v[4] = { 0 };
	victims = v;
	nvictims = 4;
	struct timer k;
	timer_init(&k, killer);
	timer_mod(w, &k, 9000);
	for (int i = 0; i < 4; i++)
		timer_init(&v[i].t, tt_fire);
	timer_mod(w, &v[0].t, 9000);
	timer_mod(w, &v[1].t, 9003);
	timer_mod(w, &v[2].t, 9500);
	timer_mod(w, &v[3].t, 9000 + (1ull << 35));
	CHECK_EQ(w->count, 5);
	CHECK_EQ(run(9000 + (1ull << 36)), 1);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(v[i].fired, 0);
	CHECK_EQ(w->count, 0);
	CHECK_EQ(wheel_next(w), UINT64_MAX);

	/* A callback moving a timer due in the same tick to later. */
	uint64_t base = w->clk + 10;
	struct tt m = { 0 };
	moved = &m;
	struct timer mv;
	timer_init(&mv, mover);
	timer_init(&m.t, tt_fire);
	timer_mod(w, &mv, base);
	timer_mod(w, &m.t, base);
	run(base + 999);
	CHECK_EQ(m.fired, 0);
	run(base + 1000);
	CHECK_EQ(m.fired, 1);
	CHECK_EQ(m.fired_clk, base + 1000);

	/* Timers armed by a callback: the past and "now" fire on the next
	 * tick, the future at its tick, all within the same run. */
	struct tt c[3] = { 0 };
	child = c;
	for (int i = 0; i < 3; i++)
		timer_init(&c[i].t, tt_fire);
	struct timer sp;
	timer_init(&sp, spawner);
	base = w->clk + 50;
	timer_mod(w, &sp, base);
	run(base + 1000);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(c[i].fired, 1);
		CHECK_EQ(c[i].fired_clk, c[i].want);
	}
	CHECK_EQ(c[0].fired_clk, base + 1);
	CHECK_EQ(c[2].fired_clk, base + 300);
	CHECK_EQ(cb_errors, 0);
	free(w);
}

/* wheel_next is never later than the earliest pending expiry (nor
 * earlier than the wheel's clock), through random arms, cancels and
 * runs. */
static void next_never_late(void)
{
	enum { N = 1000 };
	struct timer_wheel *w = new_wheel(5000);
	struct tt *x = calloc(N, sizeof(*x));
	for (int i = 0; i < N; i++)
		timer_init(&x[i].t, tt_fire);
	struct prng r;
	prng_seed(&r, 99);
	unsigned bad = 0;
	for (int op = 0; op < 40000; op++) {
		unsigned c = prng_below(&r, 100);
		struct tt *t = &x[prng_below(&r, N)];
		if (c < 55) {
			unsigned lvl = prng_below(&r, 6);
			uint64_t span = lvl == 5 ? (1ull << 36) : 1ull << (8 + 6 * lvl);
			uint64_t d = ((uint64_t)prng_next(&r)) % span;
			timer_mod(w, &t->t, w->clk + d - (prng_below(&r, 50) == 0 ? d : 0));
		} else if (c < 75) {
			timer_del(w, &t->t);
		} else {
			uint64_t next = wheel_next(w);
			uint64_t to = w->clk + prng_below(&r, 3000);
			if (next != UINT64_MAX && prng_below(&r, 4) == 0)
				to = next; /* exactly at an event */
			run(to);
		}
		uint64_t earliest = UINT64_MAX;
		uint64_t pending = 0;
		for (int i = 0; i < N; i++)
			if (timer_pending(&x[i].t)) {
				pending++;
				uint64_t e = x[i].t.expires < w->clk ? w->clk : x[i].t.expires;
				if (e < earliest)
					earliest = e;
			}
		uint64_t next = wheel_next(w);
		if (pending != w->count || next > earliest || next < w->clk ||
		    (pending == 0) != (next == UINT64_MAX)) {
			if (bad++ < 8)
				fprintf(stderr, "op %d: next %llu earliest %llu clk %llu pending %llu/%llu\n",
					op, (unsigned long long)next, (unsigned long long)earliest,
					(unsigned long long)w->clk, (unsigned long long)pending,
					(unsigned long long)w->count);
		}
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(cb_errors, 0);
	free(x);
	free(w);
}

/* ---- a million timers ---- */

static struct timer *mt_base;
static uint8_t *mt_fired;
static uint64_t mt_total, mt_bad;

static void mt_fire(struct timer *t)
{
	size_t i = (size_t)(t - mt_base);
	mt_fired[i]++;
	mt_total++;
	if (t->expires > now_run || W->clk != t->expires || mt_fired[i] > 1) {
		if (mt_bad++ < 8)
			fprintf(stderr, "timer %zu for %llu fired at tick %llu in run(%llu), %u times\n",
				i, (unsigned long long)t->expires, (unsigned long long)W->clk,
				(unsigned long long)now_run, mt_fired[i]);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void million_timers(void)
{
	enum { N = 1000000 };
	uint64_t start = 1234567;
	struct timer_wheel *w = new_wheel(start);
	mt_base = malloc(N * sizeof(*mt_base));
	mt_fired = calloc(N, 1);
	uint8_t *cancelled = calloc(N, 1);
	uint64_t *live = malloc(N * sizeof(*live));
	mt_total = mt_bad = 0;
	struct prng r;
	prng_seed(&r, 1000000);
	uint64_t maxe = 0;
	for (size_t i = 0; i < N; i++) {
		unsigned c = prng_below(&r, 100);
		uint64_t span = c < 70 ? (1u << 16) : c < 95 ? (1u << 24) : (1ull << 36);
		uint64_t e = start + 1 + prng_next(&r) % span;
		timer_init(&mt_base[i], mt_fire);
		timer_mod(w, &mt_base[i], e);
		if (e > maxe)
			maxe = e;
	}
	CHECK_EQ(w->count, N);
	size_t nlive = 0;
	for (size_t i = 0; i < N; i++) {
		if (prng_below(&r, 2)) {
			timer_del(w, &mt_base[i]);
			cancelled[i] = 1;
		} else {
			live[nlive++] = mt_base[i].expires;
		}
	}
	CHECK_EQ(w->count, nlive);
	qsort(live, nlive, sizeof(*live), cmp_u64);

	/* Run in growing random steps, sometimes landing exactly on the next
	 * event; after each run, exactly the timers due by now have fired. */
	uint64_t now = start;
	size_t due = 0;
	unsigned runs = 0, mismatch = 0;
	while (now < maxe) {
		uint64_t off = now - start;
		uint64_t step = 1 + prng_next(&r) % (off / 64 + 300);
		uint64_t next = wheel_next(W);
		if (prng_below(&r, 3) == 0 && next > now && next != UINT64_MAX)
			now = next;
		else
			now += step;
		if (now > maxe)
			now = maxe;
		run(now);
		runs++;
		while (due < nlive && live[due] <= now)
			due++;
		if (mt_total != due && mismatch++ < 8)
			fprintf(stderr, "after run(%llu): %llu fired, %zu due\n", (unsigned long long)now,
				(unsigned long long)mt_total, due);
	}
	CHECK_EQ(mismatch, 0);
	CHECK_EQ(mt_bad, 0);
	CHECK_EQ(mt_total, nlive);
	size_t wrong = 0;
	for (size_t i = 0; i < N; i++)
		if (mt_fired[i] != (cancelled[i] ? 0 : 1))
			wrong++;
	CHECK_EQ(wrong, 0);
	CHECK_EQ(w->count, 0);
	CHECK_EQ(wheel_next(w), UINT64_MAX);
	CHECK(runs > 1000);
	free(live);
	free(cancelled);
	free(mt_fired);
	free(mt_base);
	free(w);
}

TEST_MAIN(T(arm_cancel_rearm), T(exact_fire_time), T(every_tick_stepped), T(callbacks),
	  T(next_never_late), T(million_timers))
