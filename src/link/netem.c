/*
 * Impairment of a device's egress, a queue discipline in the manner of
 * Linux's netem (which this kernel lacks): loss (independent or
 * Gilbert-Elliott bursts), duplication, corruption, reordering, delay with
 * jitter, and a rate limit with a bounded queue. Seeded, so that a test
 * run gives the same packets every time.
 *
 * Frames wait in a queue ordered by their time to send; the flush of each
 * poll round sends those that are due, and the stack's next wake-up
 * includes the head's time.
 *
 * Reordering: a frame chosen with probability `reorder` is held back by an
 * extra max(delay, 1 ms), so that the frames sent after it overtake it.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/stack.h"
#include "netdev.h"

struct netem {
	struct qdisc q;
	struct us_impair imp;
	struct prng rng;
	bool ge_bad;               /* Gilbert-Elliott state */
	uint64_t last_departure;   /* ns, for the rate limit */
	struct skb_queue tfifo;    /* ordered by time to send */
};

struct netem_skb_cb {
	uint64_t time_to_send;
};
#define NETEM_CB(skb) ((struct netem_skb_cb *)(void *)(skb)->cb)

static bool netem_lose(struct netem *q)
{
	const struct us_impair *imp = &q->imp;
	if (!imp->ge)
		return prng_chance(&q->rng, imp->loss);
	/* Gilbert-Elliott: move between the good and bad states, then lose
	 * with the loss probability of the state we are in. */
	if (q->ge_bad) {
		if (prng_chance(&q->rng, imp->ge_r))
			q->ge_bad = false;
	} else if (prng_chance(&q->rng, imp->ge_p)) {
		q->ge_bad = true;
	}
	return prng_chance(&q->rng, q->ge_bad ? imp->ge_loss_bad : imp->ge_loss_good);
}

static void tfifo_insert(struct netem *q, struct skb *skb)
{
	uint64_t t = NETEM_CB(skb)->time_to_send;
	struct list_head *pos = q->tfifo.head.prev;
	/* Usually the latest: scan from the tail. */
	while (pos != &q->tfifo.head &&
	       NETEM_CB(list_entry(pos, struct skb, list))->time_to_send > t)
		pos = pos->prev;
	list_insert_(&skb->list, pos, pos->next);
	q->tfifo.qlen++;
	q->tfifo.bytes += skb->len;
}

static int netem_enqueue_one(struct netem *q, struct skb *skb)
{
	struct netdev *dev = q->q.dev;
	struct us_stack *s = dev->stack;
	const struct us_impair *imp = &q->imp;
	uint32_t limit = imp->limit ? imp->limit : 1000;

	if (q->tfifo.qlen >= limit) {
		dev->stats.tx_dropped++;
		skb_drop(s, skb, DROP_QDISC_DROP);
		return -ENOBUFS;
	}
	if (imp->corrupt > 0 && skb->len > 0 && prng_chance(&q->rng, imp->corrupt)) {
		if (skb_make_writable(skb, 0) == 0) {
			uint32_t at = prng_below(&q->rng, skb->len);
			skb->data[at] ^= (uint8_t)(1u << prng_below(&q->rng, 8));
		}
	}
	uint64_t now = stack_now_ns(s);
	int64_t delay = (int64_t)imp->delay_ns;
	if (imp->jitter_ns) {
		int64_t j = (int64_t)imp->jitter_ns;
		delay += (int64_t)(prng_below(&q->rng, (uint32_t)US_MIN(2 * j + 1, (int64_t)UINT32_MAX))) - j;
		if (delay < 0)
			delay = 0;
	}
	uint64_t t = now;
	if (imp->rate_bps) {
		uint64_t start = q->last_departure > now ? q->last_departure : now;
		uint64_t tx_ns = (uint64_t)skb->len * 8u * 1000000000u / imp->rate_bps;
		q->last_departure = start + tx_ns;
		t = q->last_departure;
	}
	t += (uint64_t)delay;
	if (imp->reorder > 0 && prng_chance(&q->rng, imp->reorder))
		t += imp->delay_ns > 1000000u ? imp->delay_ns : 1000000u;
	NETEM_CB(skb)->time_to_send = t;
	tfifo_insert(q, skb);
	return 0;
}

static int netem_enqueue(struct qdisc *qd, struct skb *skb)
{
	struct netem *q = container_of(qd, struct netem, q);
	struct us_stack *s = qd->dev->stack;
	int copies = 1;
	if (q->imp.duplicate > 0 && prng_chance(&q->rng, q->imp.duplicate))
		copies++;
	if (netem_lose(q))
		copies--;
	if (copies == 0) {
		skb_drop(s, skb, DROP_NETEM_LOSS);
		return 0; /* lost on the wire, not an error for the sender */
	}
	if (copies > 1) {
		struct skb *dup = skb_copy(skb, 0);
		if (dup)
			netem_enqueue_one(q, dup);
	}
	/* A queue-limit drop is reported (-ENOBUFS); a loss on purpose is not. */
	return netem_enqueue_one(q, skb);
}

static struct skb *netem_dequeue(struct qdisc *qd, uint64_t now_ns)
{
	struct netem *q = container_of(qd, struct netem, q);
	struct skb *skb = skb_peek(&q->tfifo);
	if (!skb || NETEM_CB(skb)->time_to_send > now_ns)
		return NULL;
	skb_unlink(&q->tfifo, skb);
	return skb;
}

static uint64_t netem_next_time(const struct qdisc *qd)
{
	const struct netem *q = container_of(qd, struct netem, q);
	struct skb *skb = skb_peek(&q->tfifo);
	return skb ? NETEM_CB(skb)->time_to_send : US_TIME_NEVER;
}

static void netem_destroy(struct qdisc *qd)
{
	struct netem *q = container_of(qd, struct netem, q);
	skb_queue_purge(&q->tfifo);
	free(q);
}

static const struct qdisc_ops netem_ops = {
	.name = "netem",
	.enqueue = netem_enqueue,
	.dequeue = netem_dequeue,
	.next_time = netem_next_time,
	.destroy = netem_destroy,
};

struct qdisc *netem_create(struct netdev *dev, const struct us_impair *imp, uint64_t seed)
{
	struct netem *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->q.ops = &netem_ops;
	q->q.dev = dev;
	q->imp = *imp;
	prng_seed(&q->rng, imp->seed ? imp->seed : seed);
	skb_queue_init(&q->tfifo);
	return &q->q;
}

/* ---- "loss=1%,delay=10ms,..." ---- */

static int parse_percent(const char *v, double *out)
{
	char *end;
	double d = strtod(v, &end);
	if (end == v || !isfinite(d))
		return -1;
	if (*end == '%') {
		d /= 100.0;
		end++;
	}
	if (*end || d < 0 || d > 1)
		return -1;
	*out = d;
	return 0;
}

static int parse_time_ns(const char *v, uint64_t *out)
{
	char *end;
	double d = strtod(v, &end);
	if (end == v || !isfinite(d) || d < 0)
		return -1;
	double mul;
	if (!strcmp(end, "ns"))
		mul = 1;
	else if (!strcmp(end, "us"))
		mul = 1e3;
	else if (!strcmp(end, "ms") || !*end)
		mul = 1e6;
	else if (!strcmp(end, "s"))
		mul = 1e9;
	else
		return -1;
	if (d * mul > 3600e9)
		return -1;
	*out = (uint64_t)(d * mul);
	return 0;
}

static int parse_rate(const char *v, uint64_t *out)
{
	char *end;
	double d = strtod(v, &end);
	if (end == v || !isfinite(d) || d <= 0)
		return -1;
	double mul;
	if (!strcasecmp(end, "bit") || !*end)
		mul = 1;
	else if (!strcasecmp(end, "kbit"))
		mul = 1e3;
	else if (!strcasecmp(end, "mbit"))
		mul = 1e6;
	else if (!strcasecmp(end, "gbit"))
		mul = 1e9;
	else
		return -1;
	if (d * mul < 1 || d * mul > 1e12)
		return -1;
	*out = (uint64_t)(d * mul);
	return 0;
}

int us_impair_parse(const char *spec, struct us_impair *imp, char *err, size_t errlen)
{
	char buf[512];
	memset(imp, 0, sizeof(*imp));
	if (!spec || strlen(spec) >= sizeof(buf)) {
		snprintf(err, errlen, "impairment spec missing or too long");
		errno = EINVAL;
		return -1;
	}
	strcpy(buf, spec);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq) {
			snprintf(err, errlen, "impairment '%s': expected key=value", tok);
			errno = EINVAL;
			return -1;
		}
		*eq = 0;
		const char *k = tok, *v = eq + 1;
		int bad = 0;
		if (!strcmp(k, "loss"))
			bad = parse_percent(v, &imp->loss);
		else if (!strcmp(k, "dup") || !strcmp(k, "duplicate"))
			bad = parse_percent(v, &imp->duplicate);
		else if (!strcmp(k, "reorder"))
			bad = parse_percent(v, &imp->reorder);
		else if (!strcmp(k, "corrupt"))
			bad = parse_percent(v, &imp->corrupt);
		else if (!strcmp(k, "delay"))
			bad = parse_time_ns(v, &imp->delay_ns);
		else if (!strcmp(k, "jitter"))
			bad = parse_time_ns(v, &imp->jitter_ns);
		else if (!strcmp(k, "rate"))
			bad = parse_rate(v, &imp->rate_bps);
		else if (!strcmp(k, "limit") || !strcmp(k, "seed")) {
			char *end;
			unsigned long long n = strtoull(v, &end, 10);
			bad = end == v || *end || (k[0] == 'l' && (n == 0 || n > 1000000));
			if (k[0] == 'l')
				imp->limit = (uint32_t)n;
			else
				imp->seed = n;
		} else if (!strcmp(k, "burst")) {
			/* P/R[/LOSSBAD[/LOSSGOOD]], netem's "loss gemodel". */
			char b2[128];
			snprintf(b2, sizeof(b2), "%s", v);
			char *parts[4] = { 0 };
			int n = 0;
			char *s2 = NULL;
			bool extra = false;
			for (char *p = strtok_r(b2, "/", &s2); p; p = strtok_r(NULL, "/", &s2)) {
				if (n == 4) {
					extra = true;
					break;
				}
				parts[n++] = p;
			}
			imp->ge = true;
			imp->ge_loss_bad = 1.0;
			imp->ge_loss_good = 0.0;
			bad = extra || n < 2 || parse_percent(parts[0], &imp->ge_p) ||
			      parse_percent(parts[1], &imp->ge_r) ||
			      (n > 2 && parse_percent(parts[2], &imp->ge_loss_bad)) ||
			      (n > 3 && parse_percent(parts[3], &imp->ge_loss_good));
		} else {
			snprintf(err, errlen, "impairment: unknown key '%s' (loss, delay, jitter, dup, "
				 "reorder, corrupt, rate, limit, burst, seed)", k);
			errno = EINVAL;
			return -1;
		}
		if (bad) {
			snprintf(err, errlen, "impairment: bad value '%s' for %s", v, k);
			errno = EINVAL;
			return -1;
		}
	}
	return 0;
}
