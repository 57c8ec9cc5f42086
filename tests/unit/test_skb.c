/* Socket buffers: geometry, sharing, copies, queues, the pool and its
 * limit, and that a stack torn down mid-traffic returns every buffer. */
#undef NDEBUG /* the bounds asserts of skb.h are part of what is tested */
#include <assert.h>
#include <signal.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "sim.h"

#include "core/skb.h"
#include "core/stack.h"
#include "wire/eth.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "ustack/socket.h"

static void pool_in_use(struct skb_pool *p, struct us_pool_stats *st)
{
	skb_pool_stats(p, st);
}

static void geometry(void)
{
	struct skb_pool *p = skb_pool_new(0);
	struct skb *skb = skb_alloc(p, 1000);
	REQUIRE(skb);
	uint32_t room = skb_tailroom(skb);
	CHECK(room >= 1000);
	CHECK_EQ(skb_headroom(skb), 0);
	CHECK_EQ(skb->len, 0);
	CHECK(skb->data == skb->head && skb->tail == skb->data);
	CHECK_EQ(skb->users, 1);
	CHECK(!skb_cloned(skb));
	CHECK_EQ(skb->mac_header, SKB_NO_OFFSET);
	CHECK_EQ(skb->network_header, SKB_NO_OFFSET);
	CHECK_EQ(skb->transport_header, SKB_NO_OFFSET);

	skb_reserve(skb, 100);
	CHECK_EQ(skb_headroom(skb), 100);
	CHECK_EQ(skb_tailroom(skb), room - 100);
	CHECK_EQ(skb->len, 0);

	uint8_t *d = skb_put(skb, 50);
	CHECK(d == skb->head + 100);
	CHECK_EQ(skb->len, 50);
	CHECK(skb->tail == skb->data + 50);
	for (int i = 0; i < 50; i++)
		d[i] = (uint8_t)i;
	uint8_t *d2 = skb_put(skb, 10);
	CHECK(d2 == d + 50);
	CHECK_EQ(skb->len, 60);
	CHECK_EQ(skb_tailroom(skb), room - 160);

	uint8_t *h = skb_push(skb, 20);
	CHECK(h == skb->head + 80);
	CHECK(skb->data == h);
	CHECK_EQ(skb->len, 80);
	CHECK_EQ(skb_headroom(skb), 80);
	skb_reset_network_header(skb);
	CHECK(skb_network_header(skb) == h);

	uint8_t *after = skb_pull(skb, 20);
	CHECK(after == d);
	CHECK_EQ(skb->len, 60);
	CHECK_EQ(after[7], 7);
	skb_reset_transport_header(skb);
	CHECK_EQ(skb->transport_header - skb->network_header, 20);

	/* Pulling more than is there fails and changes nothing. */
	CHECK(skb_pull(skb, 61) == NULL);
	CHECK_EQ(skb->len, 60);
	CHECK(skb->data == d);
	/* Pulling all of it is fine. */
	CHECK(skb_pull(skb, 60) == d + 60);
	CHECK_EQ(skb->len, 0);
	CHECK(skb->data == skb->tail);
	skb_push(skb, 60);

	/* Trim cuts the tail; trimming to more than len does nothing. */
	skb_trim(skb, 100);
	CHECK_EQ(skb->len, 60);
	CHECK(skb->tail == skb->data + 60);
	skb_trim(skb, 25);
	CHECK_EQ(skb->len, 25);
	CHECK(skb->tail == skb->data + 25);
	CHECK_EQ(skb_tailroom(skb), room - 100 - 25);
	skb_trim(skb, 0);
	CHECK_EQ(skb->len, 0);
	CHECK(skb->tail == skb->data);

	/* The whole buffer can be filled exactly. */
	skb_put(skb, skb_tailroom(skb));
	CHECK_EQ(skb_tailroom(skb), 0);
	skb_push(skb, skb_headroom(skb));
	CHECK_EQ(skb_headroom(skb), 0);
	CHECK_EQ(skb->len, room);
	skb_free(skb);

	/* skb_alloc_tx reserves the standard headroom. */
	skb = skb_alloc_tx(p, 1400);
	REQUIRE(skb);
	CHECK_EQ(skb_headroom(skb), SKB_HEADROOM);
	CHECK(skb_tailroom(skb) >= 1400);
	CHECK_EQ(skb->len, 0);
	skb_free(skb);
	skb_pool_free(p);
}

/* Going beyond the buffer is a programming error that asserts. */
static bool dies(void (*fn)(struct skb_pool *p))
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		/* Quiet child: the assert message is expected. */
		if (!freopen("/dev/null", "w", stderr))
			_exit(3);
		struct skb_pool *p = skb_pool_new(0);
		fn(p);
		_exit(0);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return false;
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static void put_too_much(struct skb_pool *p)
{
	struct skb *skb = skb_alloc(p, 100);
	skb_put(skb, skb_tailroom(skb) + 1);
}
static void push_too_much(struct skb_pool *p)
{
	struct skb *skb = skb_alloc_tx(p, 100);
	skb_push(skb, SKB_HEADROOM + 1);
}
static void reserve_nonempty(struct skb_pool *p)
{
	struct skb *skb = skb_alloc(p, 100);
	skb_put(skb, 1);
	skb_reserve(skb, 10);
}
static void reserve_too_much(struct skb_pool *p)
{
	struct skb *skb = skb_alloc(p, 100);
	skb_reserve(skb, skb_tailroom(skb) + 1);
}
static void put_exact(struct skb_pool *p)
{
	struct skb *skb = skb_alloc_tx(p, 100);
	skb_put(skb, skb_tailroom(skb));
	skb_push(skb, SKB_HEADROOM);
	skb_free(skb);
}

static void bounds_assert(void)
{
	CHECK(dies(put_too_much));
	CHECK(dies(push_too_much));
	CHECK(dies(reserve_nonempty));
	CHECK(dies(reserve_too_much));
	CHECK(!dies(put_exact));
}

static void clone_and_unshare(void)
{
	struct skb_pool *p = skb_pool_new(0);
	struct us_pool_stats st;
	struct skb *a = skb_alloc_tx(p, 200);
	REQUIRE(a);
	uint8_t *d = skb_put(a, 200);
	for (int i = 0; i < 200; i++)
		d[i] = (uint8_t)i;
	skb_push(a, 14);
	skb_reset_mac_header(a);
	skb_pull(a, 14);
	skb_reset_network_header(a);
	a->protocol = 0x0800;
	a->mark = 77;
	memcpy(a->cb, "control", 8);

	struct skb *c = skb_clone(a);
	REQUIRE(c);
	pool_in_use(p, &st);
	CHECK_EQ(st.in_use, 2);
	uint64_t bytes_one = st.bytes_in_use; /* the data is not copied */
	CHECK(skb_cloned(a));
	CHECK(skb_cloned(c));
	CHECK(c->data == a->data);
	CHECK(c->buf == a->buf);
	CHECK_EQ(c->len, 200);
	CHECK_EQ(c->protocol, 0x0800);
	CHECK_EQ(c->mark, 77);
	CHECK_EQ(c->network_header, a->network_header);
	CHECK_EQ(c->users, 1);
	CHECK(memcmp(c->cb, "control", 8) == 0);

	/* A clone has its own geometry. */
	skb_pull(c, 10);
	CHECK_EQ(a->len, 200);
	CHECK_EQ(c->len, 190);
	skb_push(c, 10);

	/* Writing through a: make it writable first; the clone keeps the
	 * old bytes. */
	CHECK_EQ(skb_make_writable(a, 0), 0);
	CHECK(!skb_cloned(a));
	CHECK(!skb_cloned(c));
	CHECK(a->buf != c->buf);
	CHECK(a->data != c->data);
	CHECK_EQ(a->len, 200);
	CHECK(memcmp(a->data, c->data, 200) == 0);
	/* The header offsets still name the same bytes. */
	CHECK(skb_network_header(a) == a->data);
	CHECK(memcmp(skb_mac_header(a), skb_mac_header(c), 14 + 200) == 0);
	memset(a->data, 0xee, 200);
	for (int i = 0; i < 200; i++)
		if (c->data[i] != (uint8_t)i) {
			CHECK(c->data[i] == (uint8_t)i);
			break;
		}
	pool_in_use(p, &st);
	CHECK(st.bytes_in_use > bytes_one);

	/* A private buffer with enough room is left alone. */
	struct skb_buf *b = a->buf;
	CHECK_EQ(skb_make_writable(a, 10), 0);
	CHECK(a->buf == b);

	/* Freeing one of two sharers keeps the bytes for the other. */
	struct skb *c2 = skb_clone(c);
	REQUIRE(c2);
	CHECK(skb_cloned(c));
	skb_free(c);
	CHECK(!skb_cloned(c2));
	CHECK_EQ(c2->data[199], 199);

	/* skb_expand_head on a clone unshares it and grows it. */
	struct skb *c3 = skb_clone(c2);
	REQUIRE(c3);
	uint32_t hr = skb_headroom(c3), tr = skb_tailroom(c3);
	CHECK_EQ(skb_expand_head(c3, hr + 300, tr + 5000), 0);
	CHECK(skb_headroom(c3) >= hr + 300);
	CHECK(skb_tailroom(c3) >= tr + 5000);
	CHECK(!skb_cloned(c3));
	CHECK(!skb_cloned(c2));
	CHECK_EQ(c3->len, 200);
	CHECK(memcmp(c3->data, c2->data, 200) == 0);
	CHECK(memcmp(skb_mac_header(c3), skb_mac_header(c2), 14) == 0);
	CHECK(skb_network_header(c3) == c3->data);
	c3->data[0] = 0x55;
	CHECK_EQ(c2->data[0], 0);

	/* skb_get: one more user of the same head. */
	skb_get(a);
	skb_free(a);
	pool_in_use(p, &st);
	CHECK_EQ(st.in_use, 3);
	CHECK_EQ(a->len, 200); /* still alive */
	skb_free(a);
	skb_free(c2);
	skb_free(c3);
	pool_in_use(p, &st);
	CHECK_EQ(st.in_use, 0);
	CHECK_EQ(st.bytes_in_use, 0);
	skb_pool_free(p);
}

static void expand_head_private(void)
{
	struct skb_pool *p = skb_pool_new(0);
	struct skb *a = skb_alloc(p, 100);
	REQUIRE(a);
	skb_reserve(a, 4);
	uint8_t *d = skb_put(a, 60);
	for (int i = 0; i < 60; i++)
		d[i] = (uint8_t)(i * 3);
	skb_reset_mac_header(a);
	skb_pull(a, 14);
	skb_reset_network_header(a);
	skb_pull(a, 20);
	skb_reset_transport_header(a);
	uint32_t tr = skb_tailroom(a);
	CHECK_EQ(skb_expand_head(a, 200, tr + 3000), 0);
	CHECK(skb_headroom(a) >= 200);
	CHECK(skb_tailroom(a) >= tr + 3000);
	CHECK_EQ(a->len, 26);
	/* Headers already pulled stay readable at their offsets. */
	uint8_t *m = skb_mac_header(a);
	for (int i = 0; i < 60; i++)
		if (m[i] != (uint8_t)(i * 3)) {
			CHECK(m[i] == (uint8_t)(i * 3));
			break;
		}
	CHECK(skb_network_header(a) == m + 14);
	CHECK(skb_transport_header(a) == a->data);
	skb_free(a);
	skb_pool_free(p);
}

static void copy_keeps_offsets(void)
{
	struct skb_pool *p = skb_pool_new(0);
	struct skb *a = skb_alloc_tx(p, 100);
	REQUIRE(a);
	uint8_t *d = skb_put(a, 100);
	for (int i = 0; i < 100; i++)
		d[i] = (uint8_t)(255 - i);
	skb_reset_transport_header(a);
	skb_push(a, 20);
	skb_reset_network_header(a);
	memset(a->data, 0x45, 20);
	skb_push(a, 14);
	skb_reset_mac_header(a);
	memset(a->data, 0xaa, 14);
	skb_pull(a, 14);
	a->protocol = 0x0800;
	a->pkt_type = PACKET_BROADCAST;
	a->mark = 9;
	a->tstamp = 123456789;
	memcpy(a->cb, "abcdefgh", 8);
	for (uint32_t extra = 0; extra <= 64; extra += 64) {
		struct skb *c = skb_copy(a, extra);
		REQUIRE(c);
		CHECK(c->buf != a->buf);
		CHECK(!skb_cloned(a));
		CHECK_EQ(c->len, a->len);
		CHECK_EQ(skb_headroom(c), skb_headroom(a) + extra);
		CHECK(memcmp(c->data, a->data, a->len) == 0);
		CHECK_EQ(skb_network_header(c) - c->data, skb_network_header(a) - a->data);
		CHECK_EQ(skb_transport_header(c) - c->data, skb_transport_header(a) - a->data);
		CHECK_EQ(skb_mac_header(c) - c->data, skb_mac_header(a) - a->data);
		CHECK(memcmp(skb_mac_header(c), skb_mac_header(a), 14) == 0);
		CHECK_EQ(c->protocol, 0x0800);
		CHECK_EQ(c->pkt_type, PACKET_BROADCAST);
		CHECK_EQ(c->mark, 9);
		CHECK_EQ(c->tstamp, 123456789);
		CHECK(memcmp(c->cb, "abcdefgh", 8) == 0);
		CHECK_EQ(c->users, 1);
		/* Independent bytes. */
		c->data[0] ^= 0xff;
		CHECK(c->data[0] != a->data[0]);
		skb_free(c);
	}
	/* Unset offsets stay unset. */
	struct skb *b = skb_alloc_tx(p, 10);
	skb_put(b, 10);
	struct skb *bc = skb_copy(b, 32);
	REQUIRE(bc);
	CHECK_EQ(bc->mac_header, SKB_NO_OFFSET);
	CHECK_EQ(bc->network_header, SKB_NO_OFFSET);
	CHECK_EQ(bc->transport_header, SKB_NO_OFFSET);
	skb_free(bc);
	skb_free(b);
	skb_free(a);
	struct us_pool_stats st;
	skb_pool_stats(p, &st);
	CHECK_EQ(st.in_use, 0);
	skb_pool_free(p);
}

static void queues(void)
{
	struct skb_pool *p = skb_pool_new(0);
	struct skb_queue q;
	skb_queue_init(&q);
	CHECK_EQ(q.qlen, 0);
	CHECK(skb_peek(&q) == NULL);
	CHECK(skb_dequeue(&q) == NULL);
	struct skb *s[5];
	uint64_t total = 0;
	for (int i = 0; i < 5; i++) {
		s[i] = skb_alloc(p, 100);
		REQUIRE(s[i]);
		skb_put(s[i], (uint32_t)(10 * (i + 1)));
		skb_queue_tail(&q, s[i]);
		total += 10u * (uint32_t)(i + 1);
	}
	CHECK_EQ(q.qlen, 5);
	CHECK_EQ(q.bytes, total);
	CHECK(skb_peek(&q) == s[0]);
	skb_unlink(&q, s[2]);
	CHECK_EQ(q.qlen, 4);
	CHECK_EQ(q.bytes, total - 30);
	CHECK(skb_dequeue(&q) == s[0]);
	CHECK(skb_dequeue(&q) == s[1]);
	CHECK(skb_dequeue(&q) == s[3]);
	CHECK_EQ(q.qlen, 1);
	CHECK_EQ(q.bytes, 50);
	skb_queue_tail(&q, s[0]);
	skb_queue_tail(&q, s[2]);
	CHECK(skb_peek(&q) == s[4]);
	struct us_pool_stats st;
	skb_pool_stats(p, &st);
	CHECK_EQ(st.in_use, 5);
	skb_free(s[1]);
	skb_free(s[3]);
	skb_queue_purge(&q);
	CHECK_EQ(q.qlen, 0);
	CHECK_EQ(q.bytes, 0);
	CHECK(skb_peek(&q) == NULL);
	skb_pool_stats(p, &st);
	CHECK_EQ(st.in_use, 0);
	skb_pool_free(p);
}

static void pool_counters(void)
{
	struct skb_pool *p = skb_pool_new(0);
	struct us_pool_stats st;
	skb_pool_stats(p, &st);
	CHECK_EQ(st.in_use, 0);
	CHECK_EQ(st.cached, 0);
	CHECK_EQ(st.high_water, 0);
	CHECK_EQ(st.bytes_in_use, 0);
	CHECK_EQ(st.alloc_fail, 0);
	struct skb *s[100];
	for (int i = 0; i < 100; i++) {
		s[i] = skb_alloc(p, 1500);
		REQUIRE(s[i]);
		skb_pool_stats(p, &st);
		if (st.high_water != (uint64_t)i + 1 || st.in_use != (uint64_t)i + 1) {
			CHECK_EQ(st.high_water, i + 1);
			CHECK_EQ(st.in_use, i + 1);
			break;
		}
	}
	skb_pool_stats(p, &st);
	CHECK_EQ(st.in_use, 100);
	CHECK_EQ(st.high_water, 100);
	CHECK(st.bytes_in_use >= 100 * 1500);
	uint64_t per = st.bytes_in_use / 100;
	for (int i = 0; i < 60; i++)
		skb_free(s[i]);
	skb_pool_stats(p, &st);
	CHECK_EQ(st.in_use, 40);
	CHECK_EQ(st.high_water, 100);
	CHECK_EQ(st.cached, 60);
	CHECK_EQ(st.bytes_in_use, 40 * per);
	/* Reuse comes from the cache. */
	for (int i = 0; i < 30; i++)
		s[i] = skb_alloc(p, 1000);
	skb_pool_stats(p, &st);
	CHECK_EQ(st.in_use, 70);
	CHECK_EQ(st.cached, 30);
	CHECK_EQ(st.high_water, 100);
	for (int i = 0; i < 30; i++)
		skb_free(s[i]);
	for (int i = 60; i < 100; i++)
		skb_free(s[i]);
	skb_pool_stats(p, &st);
	CHECK_EQ(st.in_use, 0);
	CHECK_EQ(st.bytes_in_use, 0);
	CHECK_EQ(st.cached, 100);
	CHECK_EQ(st.high_water, 100);
	/* Sizes beyond every class are malloc'ed and counted too. */
	struct skb *big = skb_alloc(p, 200000);
	REQUIRE(big);
	CHECK(skb_tailroom(big) >= 200000);
	skb_pool_stats(p, &st);
	CHECK(st.bytes_in_use >= 200000);
	skb_free(big);
	skb_pool_stats(p, &st);
	CHECK_EQ(st.bytes_in_use, 0);
	CHECK_EQ(st.in_use, 0);
	skb_pool_free(p);
}

static void memory_limit(void)
{
	/* Room for four 2 KiB buffers, not five. */
	struct skb_pool *p = skb_pool_new(4 * 2048 + 100);
	struct us_pool_stats st;
	struct skb *s[4];
	for (int i = 0; i < 4; i++) {
		s[i] = skb_alloc(p, 1000);
		REQUIRE(s[i]);
	}
	CHECK(skb_alloc(p, 1000) == NULL);
	CHECK(skb_alloc_tx(p, 10) == NULL);
	skb_pool_stats(p, &st);
	CHECK_EQ(st.alloc_fail, 2);
	CHECK_EQ(st.in_use, 4);
	/* A clone takes no data bytes: allowed. A copy or unshare is not. */
	struct skb *c = skb_clone(s[0]);
	REQUIRE(c);
	CHECK(skb_copy(s[1], 0) == NULL);
	CHECK_EQ(skb_make_writable(c, 0), -12);
	CHECK(skb_cloned(c)); /* unchanged by the failure */
	skb_pool_stats(p, &st);
	CHECK_EQ(st.alloc_fail, 4);
	skb_free(c);
	/* Freeing makes room again. */
	skb_free(s[3]);
	s[3] = skb_alloc(p, 1000);
	CHECK(s[3] != NULL);
	/* A large request fails even with room for small ones. */
	skb_free(s[2]);
	CHECK(skb_alloc(p, 10000) == NULL);
	skb_pool_stats(p, &st);
	CHECK_EQ(st.alloc_fail, 5);
	for (int i = 0; i < 4; i++)
		if (i != 2)
			skb_free(s[i]);
	skb_pool_stats(p, &st);
	CHECK_EQ(st.in_use, 0);
	CHECK_EQ(st.bytes_in_use, 0);
	skb_pool_free(p);

	/* Through the public API: a stack with a small mem_limit refuses
	 * input beyond it and counts it. */
	us_clock *clk = us_clock_new_virtual(1000000000ull);
	struct us_stack_config cfg = { .clock = clk, .seed = 1, .mem_limit = 16 * 2048 };
	us_stack *s2 = us_stack_new(&cfg);
	REQUIRE(s2);
	struct peer pe;
	REQUIRE(peer_attach(&pe, s2, clk, "cb0", NULL, false) == 0);
	uint8_t frame[100] = { 0 };
	int ok = 0, refused = 0;
	for (int i = 0; i < 40; i++) {
		if (us_dev_input(s2, pe.ifindex, frame, sizeof(frame)) == 0)
			ok++;
		else
			refused++;
	}
	CHECK(ok > 0 && ok <= 16);
	CHECK(refused >= 24);
	us_stack_pool_stats(s2, &st);
	CHECK(st.alloc_fail >= (uint64_t)refused);
	uint64_t nomem = 0;
	us_stack_counter(s2, "Drop:NOMEM", &nomem);
	CHECK_EQ(nomem, refused);
	us_stack_poll(s2);
	peer_detach(&pe);
	us_stack_free(s2);
	us_clock_free(clk);
}

/* ---- teardown returns every buffer ---- */

static void send_echo(us_stack *s, uint32_t src, uint32_t dst, uint16_t seq, size_t len)
{
	struct skb *skb = skb_alloc_tx(s->pool, (uint32_t)(ICMP_HLEN + len));
	if (!skb)
		return;
	build_icmp_echo(skb_put(skb, (uint32_t)(ICMP_HLEN + len)), ICMP_ECHO, 7, seq, len);
	struct ip_tx tx = { .saddr = src, .daddr = dst, .protocol = 1 };
	ip_send_skb(s, skb, &tx);
}

static uint64_t held_by_qdiscs(us_stack *s)
{
	uint64_t n = 0;
	struct netdev *dev;
	list_for_each_entry(dev, &s->devs, list)
		if (dev->qdisc && dev->qdisc->ops->next_time(dev->qdisc) != US_TIME_NEVER)
			n++;
	return n;
}

static uint64_t held_in_backlogs(us_stack *s)
{
	uint64_t n = 0;
	struct netdev *dev;
	list_for_each_entry(dev, &s->devs, list)
		n += dev->backlog.qlen + dev->txq.qlen;
	return n;
}

/* What us_stack_free does before it frees the pool: after it, nothing may
 * hold a buffer. */
static void teardown_and_check(us_stack *s, const char *who)
{
	if (s->socks.kinds)
		sock_table_cleanup(s);
	while (!list_empty(&s->devs))
		netdev_unregister(list_first_entry(&s->devs, struct netdev, list));
	neigh_cleanup(s);
	ip_cleanup(s);
	struct us_pool_stats st;
	us_stack_pool_stats(s, &st);
	if (st.in_use || st.bytes_in_use)
		fprintf(stderr, "%s: %llu buffers (%llu bytes) not returned\n", who,
			(unsigned long long)st.in_use, (unsigned long long)st.bytes_in_use);
	CHECK_EQ(st.in_use, 0);
	CHECK_EQ(st.bytes_in_use, 0);
	CHECK(st.high_water > 0);
}

static void teardown_returns_everything(void)
{
	struct sim sim;
	sim_init(&sim, 2, 99);
	int ia, ib;
	REQUIRE(sim_link(&sim, 0, "veth0", "10.0.0.1/24", 1, "veth1", "10.0.0.2/24", &ia, &ib) == 0);
	/* A scripted peer too, whose queues also hold buffers. */
	struct peer pe;
	REQUIRE(peer_attach(&pe, sim.st[0], sim.clk, "cb0", "192.168.7.1/24", false) == 0);
	uint32_t a = ip4("10.0.0.1").s_addr, b = ip4("10.0.0.2").s_addr;
	/* Resolve ARP on a clean link first (a lost reply would stall the
	 * traffic below for a second), then impair it. */
	send_echo(sim.st[0], a, b, 999, 10);
	send_echo(sim.st[1], b, a, 999, 10);
	sim_run_for(&sim, 50000000);
	uint64_t reps = 0;
	us_stack_counter(sim.st[0], "IcmpOutEchoReps", &reps);
	REQUIRE(reps == 1);
	struct us_impair imp;
	char err[128];
	REQUIRE(us_impair_parse("loss=15%,reorder=10%,dup=5%,delay=3ms,jitter=1ms", &imp, err,
				sizeof(err)) == 0);
	us_dev_set_impair(sim.st[0], ia, &imp);
	us_dev_set_impair(sim.st[1], ib, &imp);
	/* Sockets that hold what they receive and nobody reads: UDP (with
	 * datagrams large enough to come in fragments), raw ICMP, and a
	 * packet socket seeing every frame. */
	int u1 = us_socket(sim.st[1], AF_INET, SOCK_DGRAM, 0);
	int u0 = us_socket(sim.st[0], AF_INET, SOCK_DGRAM, 0);
	int r1 = us_socket(sim.st[1], AF_INET, SOCK_RAW, IPPROTO_ICMP);
	int k0 = us_socket(sim.st[0], AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	REQUIRE(u0 >= 0 && u1 >= 0 && r1 >= 0 && k0 >= 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9000), .sin_addr = { b } };
	REQUIRE(us_bind(sim.st[1], u1, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	static uint8_t msg[3000];
	for (int i = 0; i < 20; i++)
		us_sendto(sim.st[0], u0, msg, i % 2 ? 3000 : 100, 0, (struct sockaddr *)&sa, sizeof(sa));
	sim_run_for(&sim, 10000000);
	/* Large echoes both ways: fragmented, some fragments lost, so some
	 * reassembly queues stay pending. */
	for (uint16_t seq = 0; seq < 60; seq++) {
		send_echo(sim.st[0], a, b, seq, seq % 3 ? 3000 : 100);
		send_echo(sim.st[1], b, a, seq, 4000);
		sim_run_for(&sim, 2000000);
	}
	/* Packets to a host that does not answer ARP wait in the neighbour
	 * queue, on both the pair and the peer device. */
	for (uint16_t seq = 0; seq < 5; seq++) {
		send_echo(sim.st[0], a, ip4("10.0.0.77").s_addr, seq, 2000);
		send_echo(sim.st[0], 0, ip4("192.168.7.9").s_addr, seq, 500);
	}
	/* A first fragment from the peer that is never completed. */
	uint8_t pl[64] = { 0 }, fr[200];
	size_t fl = build_ipv4(fr, false, pe.stack_mac, pe.mac, ip4("192.168.7.2").s_addr,
			       ip4("192.168.7.1").s_addr, 17, 4242, 0, true, 64, pl, sizeof(pl));
	peer_inject(&pe, fr, fl);
	/* Frames in flight: in netem queues and in the receivers' backlogs. */
	for (uint16_t seq = 0; seq < 10; seq++) {
		send_echo(sim.st[0], a, b, (uint16_t)(100 + seq), 3000);
		send_echo(sim.st[1], b, a, (uint16_t)(100 + seq), 3000);
	}
	us_stack_poll(sim.st[0]);
	us_clock_advance(sim.clk, 3500000);
	us_stack_poll(sim.st[1]);  /* its frames land in st[0]'s backlog */
	us_dev_input(sim.st[0], pe.ifindex, fr, fl); /* and one in the peer's */

	/* The states the teardown has to clean up are really there. */
	CHECK(sim.st[0]->ip.frag.nqueues > 0);
	CHECK(sim.st[1]->ip.frag.nqueues > 0);
	CHECK(sim.st[0]->arp_tbl.queued_bytes > 0);
	CHECK(held_by_qdiscs(sim.st[0]) + held_by_qdiscs(sim.st[1]) > 0);
	CHECK(held_in_backlogs(sim.st[0]) > 0);
	uint64_t oks = 0;
	us_stack_counter(sim.st[1], "IpReasmOKs", &oks);
	CHECK(oks > 0); /* traffic did flow */
	struct us_pool_stats st;
	us_stack_pool_stats(sim.st[0], &st);
	CHECK(st.in_use > 0);
	/* UDP datagrams delivered (UdpInDatagrams counts reads, as in Linux):
	 * held in the socket, unread. */
	uint64_t delivered = 0, icmp_in = 0;
	us_stack_counter(sim.st[1], "IpInDelivers", &delivered);
	us_stack_counter(sim.st[1], "IcmpInMsgs", &icmp_in);
	CHECK(delivered > icmp_in + 5);

	peer_detach(&pe);
	teardown_and_check(sim.st[0], "s0");
	teardown_and_check(sim.st[1], "s1");
	sim_free(&sim);
}

/* A quiet stack after a full drain also holds nothing: buffers are not
 * leaked on the normal paths either (replies delivered, ARP resolved). */
static void drained_stack_holds_nothing(void)
{
	struct sim sim;
	sim_init(&sim, 2, 5);
	REQUIRE(sim_link(&sim, 0, "veth0", "10.0.0.1/24", 1, "veth1", "10.0.0.2/24", NULL, NULL) == 0);
	uint32_t a = ip4("10.0.0.1").s_addr, b = ip4("10.0.0.2").s_addr;
	for (uint16_t seq = 0; seq < 20; seq++) {
		send_echo(sim.st[0], a, b, seq, (size_t)(seq * 700));
		sim_run_for(&sim, 1000000);
	}
	sim_run_for(&sim, 5000000000ull);
	uint64_t reps = 0;
	us_stack_counter(sim.st[1], "IcmpOutEchoReps", &reps);
	CHECK_EQ(reps, 20);
	for (int i = 0; i < 2; i++) {
		struct us_pool_stats st;
		us_stack_pool_stats(sim.st[i], &st);
		CHECK_EQ(st.in_use, 0);
		CHECK_EQ(st.bytes_in_use, 0);
	}
	sim_free(&sim);
}

TEST_MAIN(T(geometry), T(bounds_assert), T(clone_and_unshare), T(expand_head_private),
	  T(copy_keeps_offsets), T(queues), T(pool_counters), T(memory_limit),
	  T(teardown_returns_everything), T(drained_stack_holds_nothing))
