/* The routing table: longest-prefix match against brute force, insert,
 * delete and pruning, flush by device; the public route calls. */
#include <errno.h>
#include <arpa/inet.h>

#include "test.h"
#include "sim.h"

#include "core/rand.h"
#include "core/stack.h"
#include "net/route.h"

static struct netdev fake_dev[4]; /* only their addresses are used */

struct ref_route {
	uint32_t host; /* host order, masked */
	uint8_t plen;
	uint32_t gw;
	struct netdev *dev;
	bool live;
};

static uint32_t hmask(unsigned plen)
{
	return plen ? ~0u << (32 - plen) : 0;
}

/* The reference: an exact-match hash of (prefix, length); a lookup tries
 * every length from 32 down, as a brute force over lengths. */
#define REF_HASH (1u << 14)
static int ref_hash[REF_HASH]; /* index + 1, 0: empty */

static unsigned ref_slot(uint32_t host, unsigned plen)
{
	uint64_t k = ((uint64_t)host << 6 | plen) * 0x9e3779b97f4a7c15ull;
	return (unsigned)(k >> 50) & (REF_HASH - 1);
}

static int ref_find(const struct ref_route *r, uint32_t host, unsigned plen)
{
	for (unsigned i = ref_slot(host, plen);; i = (i + 1) & (REF_HASH - 1)) {
		int x = ref_hash[i];
		if (!x)
			return -1;
		if (r[x - 1].host == host && r[x - 1].plen == plen)
			return x - 1;
	}
}

static void ref_add(const struct ref_route *r, int idx)
{
	unsigned i = ref_slot(r[idx].host, r[idx].plen);
	while (ref_hash[i])
		i = (i + 1) & (REF_HASH - 1);
	ref_hash[i] = idx + 1;
}

/* Longest matching live route; -1 if none. */
static int ref_lookup(const struct ref_route *r, int n, uint32_t host)
{
	(void)n;
	for (int plen = 32; plen >= 0; plen--) {
		int i = ref_find(r, host & hmask((unsigned)plen), (unsigned)plen);
		if (i >= 0 && r[i].live)
			return i;
	}
	return -1;
}

/* The slow one, to check the reference itself on a sample. */
static int brute_lookup(const struct ref_route *r, int n, uint32_t host)
{
	int best = -1;
	for (int i = 0; i < n; i++)
		if (r[i].live && (host & hmask(r[i].plen)) == r[i].host &&
		    (best < 0 || r[i].plen > r[best].plen))
			best = i;
	return best;
}

static bool same(const struct fib_route *got, const struct ref_route *want)
{
	if (!want)
		return got == NULL;
	return got && ntohl(got->dst) == want->host && got->prefixlen == want->plen &&
	       got->gw == want->gw && got->dev == want->dev;
}

/* A random prefix, clustered so that many routes nest. */
static void random_prefix(struct prng *r, uint32_t *host, uint8_t *plen)
{
	static const uint32_t bases[] = { 0x0a000000, 0x0a010000, 0xc0a80000, 0xac100000, 0x00000000,
					  0xffffff00 };
	uint32_t b = bases[prng_below(r, 6)];
	uint32_t noise = (uint32_t)prng_next(r);
	unsigned c = prng_below(r, 10);
	uint32_t h = c < 7 ? (b ^ (noise & 0x0000ffff)) : (uint32_t)prng_next(r);
	*plen = (uint8_t)prng_below(r, 33);
	*host = h & hmask(*plen);
}

static void lpm_vs_brute_force(void)
{
	enum { N = 4000 };
	static struct ref_route ref[N];
	memset(ref_hash, 0, sizeof(ref_hash));
	struct fib f;
	fib_init(&f);
	struct prng r;
	prng_seed(&r, 2024);
	int n = 0, dups = 0;
	while (n < N) {
		uint32_t host;
		uint8_t plen;
		random_prefix(&r, &host, &plen);
		/* dst given unmasked: the table masks it. */
		uint32_t dst_unmasked = htonl(host | ((uint32_t)prng_next(&r) & ~hmask(plen)));
		struct fib_route fr = { .dst = dst_unmasked, .prefixlen = plen,
					.gw = (uint32_t)prng_next(&r), .dev = &fake_dev[prng_below(&r, 4)] };
		bool exists = ref_find(ref, host, plen) >= 0;
		int err = fib_insert(&f, &fr);
		if (exists) {
			CHECK_EQ(err, -EEXIST);
			dups++;
			continue;
		}
		CHECK_EQ(err, 0);
		ref[n] = (struct ref_route){ host, plen, fr.gw, fr.dev, true };
		ref_add(ref, n++);
	}
	CHECK(dups > 10); /* the duplicate path was exercised */
	CHECK_EQ(f.count, N);

	/* Lookups: random addresses, and addresses inside and just outside
	 * each prefix. */
	unsigned bad = 0;
	for (int i = 0; i < 200000; i++) {
		uint32_t a;
		unsigned c = prng_below(&r, 4);
		const struct ref_route *rr = &ref[prng_below(&r, N)];
		if (c == 0)
			a = (uint32_t)prng_next(&r);
		else if (c == 1)
			a = rr->host | ((uint32_t)prng_next(&r) & ~hmask(rr->plen));
		else if (c == 2)
			a = rr->host - 1;
		else
			a = rr->host + (rr->plen ? (uint32_t)(1ull << (32 - rr->plen)) : 0);
		int want = ref_lookup(ref, N, a);
		if (i % 100 == 0)
			CHECK_EQ(want, brute_lookup(ref, N, a));
		const struct fib_route *got = fib_lookup(&f, htonl(a));
		if (!same(got, want >= 0 ? &ref[want] : NULL) && bad++ < 5)
			fprintf(stderr, "lookup %08x: got /%d want /%d\n", a, got ? got->prefixlen : -1,
				want >= 0 ? ref[want].plen : -1);
	}
	CHECK_EQ(bad, 0);

	/* Delete a random half, check again, then delete the rest: the trie
	 * is pruned to nothing. */
	for (int i = 0; i < N; i++) {
		if (prng_below(&r, 2))
			continue;
		CHECK_EQ(fib_delete(&f, htonl(ref[i].host), ref[i].plen), 0);
		ref[i].live = false;
		CHECK_EQ(fib_delete(&f, htonl(ref[i].host), ref[i].plen), -ESRCH);
	}
	bad = 0;
	for (int i = 0; i < 100000; i++) {
		const struct ref_route *rr = &ref[prng_below(&r, N)];
		uint32_t a = i & 1 ? (uint32_t)prng_next(&r)
				   : rr->host | ((uint32_t)prng_next(&r) & ~hmask(rr->plen));
		int want = ref_lookup(ref, N, a);
		const struct fib_route *got = fib_lookup(&f, htonl(a));
		if (!same(got, want >= 0 ? &ref[want] : NULL) && bad++ < 5)
			fprintf(stderr, "after delete, lookup %08x: got /%d want /%d\n", a,
				got ? got->prefixlen : -1, want >= 0 ? ref[want].plen : -1);
	}
	CHECK_EQ(bad, 0);
	for (int i = 0; i < N; i++)
		if (ref[i].live) {
			CHECK_EQ(fib_delete(&f, htonl(ref[i].host), ref[i].plen), 0);
			ref[i].live = false;
		}
	CHECK_EQ(f.count, 0);
	CHECK(f.root == NULL);
	CHECK(fib_lookup(&f, htonl(0x0a000001)) == NULL);
	fib_free(&f);
}

static void default_and_host_routes(void)
{
	struct fib f;
	fib_init(&f);
	CHECK(fib_lookup(&f, htonl(0x01020304)) == NULL);
	struct fib_route def = { .dst = 0, .prefixlen = 0, .gw = htonl(0x0a000001), .dev = &fake_dev[0] };
	CHECK_EQ(fib_insert(&f, &def), 0);
	/* /0 matches everything, including 0.0.0.0 and 255.255.255.255. */
	static const uint32_t any[] = { 0, 1, 0x7fffffff, 0x80000000, 0xc0a80101, 0xffffffff };
	for (unsigned i = 0; i < 6; i++) {
		const struct fib_route *g = fib_lookup(&f, htonl(any[i]));
		CHECK(g && g->prefixlen == 0);
	}
	/* The default with host bits in dst is the same prefix. */
	struct fib_route def2 = { .dst = htonl(0x01020304), .prefixlen = 0, .dev = &fake_dev[1] };
	CHECK_EQ(fib_insert(&f, &def2), -EEXIST);
	/* Host routes at both ends of the address space and in the middle. */
	static const uint32_t hosts[] = { 0, 0xffffffff, 0xc0a80101, 0xc0a80100 };
	for (unsigned i = 0; i < 4; i++) {
		struct fib_route h = { .dst = htonl(hosts[i]), .prefixlen = 32, .dev = &fake_dev[2] };
		CHECK_EQ(fib_insert(&f, &h), 0);
		CHECK_EQ(fib_insert(&f, &h), -EEXIST);
	}
	struct fib_route net = { .dst = htonl(0xc0a80100), .prefixlen = 24, .dev = &fake_dev[3] };
	CHECK_EQ(fib_insert(&f, &net), 0);
	for (unsigned i = 0; i < 4; i++) {
		const struct fib_route *g = fib_lookup(&f, htonl(hosts[i]));
		CHECK(g && g->prefixlen == 32 && g->dev == &fake_dev[2] && g->dst == htonl(hosts[i]));
	}
	const struct fib_route *g = fib_lookup(&f, htonl(0xc0a80102));
	CHECK(g && g->prefixlen == 24);
	g = fib_lookup(&f, htonl(0xfffffffe));
	CHECK(g && g->prefixlen == 0);
	/* Bad prefix lengths. */
	struct fib_route bad = { .dst = 0, .prefixlen = 33, .dev = &fake_dev[0] };
	CHECK_EQ(fib_insert(&f, &bad), -EINVAL);
	CHECK_EQ(fib_delete(&f, 0, 33), -EINVAL);
	/* Deleting a prefix that is only an inner node of the trie. */
	CHECK_EQ(fib_delete(&f, htonl(0xc0a80000), 16), -ESRCH);
	CHECK_EQ(fib_delete(&f, htonl(0xc0a80100), 25), -ESRCH);
	g = fib_lookup(&f, htonl(0xc0a80101));
	CHECK(g && g->prefixlen == 32);
	/* Delete with host bits set names the same prefix. */
	CHECK_EQ(fib_delete(&f, htonl(0xc0a801ff), 24), 0);
	g = fib_lookup(&f, htonl(0xc0a80102));
	CHECK(g && g->prefixlen == 0);
	CHECK_EQ(fib_delete(&f, 0, 0), 0);
	CHECK(fib_lookup(&f, htonl(0xc0a80102)) == NULL);
	CHECK(fib_lookup(&f, htonl(0xc0a80101)) != NULL);
	CHECK_EQ(f.count, 4);
	fib_free(&f);
	CHECK(f.root == NULL);
	CHECK_EQ(f.count, 0);
}

struct walk_ctx {
	unsigned n;
	unsigned per_dev[4];
};
static void walk_count(void *arg, const struct fib_route *r)
{
	struct walk_ctx *c = arg;
	c->n++;
	c->per_dev[r->dev - fake_dev]++;
}

static void flush_by_device(void)
{
	struct fib f;
	fib_init(&f);
	struct prng r;
	prng_seed(&r, 5);
	unsigned want[4] = { 0 };
	/* More than one batch of the flush (it collects 64 at a time). */
	for (int i = 0; i < 1000; i++) {
		struct fib_route x = { .dst = htonl((uint32_t)prng_next(&r)),
				       .prefixlen = (uint8_t)(8 + prng_below(&r, 25)),
				       .dev = &fake_dev[i % 4 == 0 ? 0 : 1 + prng_below(&r, 3)] };
		if (fib_insert(&f, &x) == 0)
			want[x.dev - fake_dev]++;
	}
	struct fib_route d = { .dst = 0, .prefixlen = 0, .dev = &fake_dev[0] };
	CHECK_EQ(fib_insert(&f, &d), 0);
	want[0]++;
	CHECK(want[0] > 200);
	struct walk_ctx c = { 0 };
	fib_walk(&f, walk_count, &c);
	CHECK_EQ(c.n, f.count);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(c.per_dev[i], want[i]);
	fib_flush_dev(&f, &fake_dev[0]);
	memset(&c, 0, sizeof(c));
	fib_walk(&f, walk_count, &c);
	CHECK_EQ(c.per_dev[0], 0);
	for (int i = 1; i < 4; i++)
		CHECK_EQ(c.per_dev[i], want[i]);
	CHECK_EQ(f.count, want[1] + want[2] + want[3]);
	for (int i = 0; i < 10000; i++) {
		const struct fib_route *g = fib_lookup(&f, htonl((uint32_t)prng_next(&r)));
		CHECK(!g || g->dev != &fake_dev[0]);
	}
	/* A device with no routes: nothing changes. */
	fib_flush_dev(&f, &fake_dev[0]);
	CHECK_EQ(f.count, want[1] + want[2] + want[3]);
	for (int i = 1; i < 4; i++)
		fib_flush_dev(&f, &fake_dev[i]);
	CHECK_EQ(f.count, 0);
	CHECK(f.root == NULL);
	fib_free(&f);
}

/* ---- the public API ---- */

static int route_add(us_stack *s, const char *pfx, const char *gw, int ifindex)
{
	struct in_addr a;
	int plen;
	if (us_parse_prefix(pfx, &a, &plen) < 0)
		return -2;
	return us_route_add(s, a, plen, ip4(gw ? gw : "0.0.0.0"), ifindex);
}

/* An add that must fail with err; if it wrongly succeeds, the route is
 * taken out again so that the later checks stay independent. */
static void add_fails(us_stack *s, const char *pfx, const char *gw, int ifindex, int err, int line)
{
	errno = 0;
	int r = route_add(s, pfx, gw, ifindex);
	if (r != -1 || errno != err) {
		fprintf(stderr, "%s:%d: %s: route add %s via %s dev %d: got %d errno %d, want -1 errno %d\n",
			__FILE__, line, test_current, pfx, gw ? gw : "-", ifindex, r, errno, err);
		test_failures++;
	}
	if (r == 0) {
		struct in_addr a;
		int plen;
		us_parse_prefix(pfx, &a, &plen);
		us_route_del(s, a, plen);
	}
}
#define ADD_FAILS(s, pfx, gw, ifindex, err) add_fails(s, pfx, gw, ifindex, err, __LINE__)

static void public_api(void)
{
	us_clock *clk = us_clock_new_virtual(1000000000ull);
	struct us_stack_config cfg = { .clock = clk, .seed = 3 };
	us_stack *s = us_stack_new(&cfg);
	REQUIRE(s);
	struct peer p0, p1;
	REQUIRE(peer_attach(&p0, s, clk, "eth0", "10.0.0.1/24", false) == 0);
	REQUIRE(peer_attach(&p1, s, clk, "eth1", "192.168.1.10/24", false) == 0);
	int lo = us_dev_by_name(s, "lo");
	int ifindex;
	struct in_addr gw, src;

	/* Connected routes of the addresses. */
	CHECK_EQ(us_route_get(s, ip4("10.0.0.7"), &ifindex, &gw, &src), 0);
	CHECK_EQ(ifindex, p0.ifindex);
	CHECK_EQ(gw.s_addr, 0);
	CHECK_EQ(src.s_addr, ip4("10.0.0.1").s_addr);
	CHECK_EQ(us_route_get(s, ip4("192.168.1.200"), &ifindex, &gw, &src), 0);
	CHECK_EQ(ifindex, p1.ifindex);
	CHECK_EQ(src.s_addr, ip4("192.168.1.10").s_addr);
	/* Our own addresses and 127/8 go through loopback. */
	CHECK_EQ(us_route_get(s, ip4("10.0.0.1"), &ifindex, &gw, &src), 0);
	CHECK_EQ(ifindex, lo);
	CHECK_EQ(us_route_get(s, ip4("127.0.0.5"), &ifindex, NULL, NULL), 0);
	CHECK_EQ(ifindex, lo);
	/* Nothing else yet. */
	errno = 0;
	CHECK_EQ(us_route_get(s, ip4("8.8.8.8"), &ifindex, &gw, &src), -1);
	CHECK_EQ(errno, ENETUNREACH);

	/* A route through a gateway on a connected network; the device is
	 * found from the gateway. */
	CHECK_EQ(route_add(s, "172.16.0.0/12", "10.0.0.254", 0), 0);
	CHECK_EQ(us_route_get(s, ip4("172.20.1.1"), &ifindex, &gw, &src), 0);
	CHECK_EQ(ifindex, p0.ifindex);
	CHECK_EQ(gw.s_addr, ip4("10.0.0.254").s_addr);
	CHECK_EQ(src.s_addr, ip4("10.0.0.1").s_addr);
	/* The same prefix again. */
	ADD_FAILS(s, "172.16.0.0/12", "192.168.1.1", 0, EEXIST);
	/* A default route, and a more specific host route that wins. */
	CHECK_EQ(route_add(s, "0.0.0.0/0", "192.168.1.1", 0), 0);
	CHECK_EQ(us_route_get(s, ip4("8.8.8.8"), &ifindex, &gw, &src), 0);
	CHECK_EQ(ifindex, p1.ifindex);
	CHECK_EQ(gw.s_addr, ip4("192.168.1.1").s_addr);
	CHECK_EQ(src.s_addr, ip4("192.168.1.10").s_addr);
	CHECK_EQ(route_add(s, "8.8.8.8/32", "10.0.0.254", 0), 0);
	CHECK_EQ(us_route_get(s, ip4("8.8.8.8"), &ifindex, &gw, NULL), 0);
	CHECK_EQ(ifindex, p0.ifindex);
	CHECK_EQ(gw.s_addr, ip4("10.0.0.254").s_addr);
	CHECK_EQ(us_route_get(s, ip4("8.8.8.9"), &ifindex, NULL, NULL), 0);
	CHECK_EQ(ifindex, p1.ifindex);
	/* A direct route on a device (no gateway). */
	CHECK_EQ(route_add(s, "100.64.0.0/10", NULL, p1.ifindex), 0);
	CHECK_EQ(us_route_get(s, ip4("100.64.3.4"), &ifindex, &gw, &src), 0);
	CHECK_EQ(ifindex, p1.ifindex);
	CHECK_EQ(gw.s_addr, 0);

	/* Bad prefixes. */
	static const int bad_plen[] = { -1, 33, 64, 1000 };
	for (unsigned i = 0; i < 4; i++) {
		errno = 0;
		CHECK_EQ(us_route_add(s, ip4("10.9.0.0"), bad_plen[i], ip4("10.0.0.254"), 0), -1);
		CHECK_EQ(errno, EINVAL);
		errno = 0;
		CHECK_EQ(us_route_del(s, ip4("10.9.0.0"), bad_plen[i]), -1);
		CHECK_EQ(errno, EINVAL);
	}
	/* Host bits beyond the prefix length: Linux refuses ("Invalid
	 * prefix for given prefix length", EINVAL) rather than guess. */
	ADD_FAILS(s, "10.9.0.1/16", "10.0.0.254", 0, EINVAL);
	/* A gateway that is not on a connected network. */
	ADD_FAILS(s, "10.9.0.0/16", "10.5.5.5", 0, ENETUNREACH);
	/* ... even reachable through another gateway (no recursion). */
	ADD_FAILS(s, "10.9.0.0/16", "172.16.5.5", 0, ENETUNREACH);
	/* ... or with the device named (Linux: fib_check_nh finds no
	 * connected route to the gateway on that device). */
	ADD_FAILS(s, "10.9.0.0/16", "10.5.5.5", p0.ifindex, ENETUNREACH);
	ADD_FAILS(s, "10.9.0.0/16", "192.168.1.1", p0.ifindex, ENETUNREACH);
	/* Gateways that cannot be hosts. */
	static const char *const bad_gw[] = { "224.0.0.1", "255.255.255.255", "0.1.2.3" };
	for (unsigned i = 0; i < 3; i++) {
		ADD_FAILS(s, "10.9.0.0/16", bad_gw[i], 0, EINVAL);
	}
	/* No gateway and no device. */
	ADD_FAILS(s, "10.9.0.0/16", NULL, 0, EINVAL);
	/* No such device. */
	ADD_FAILS(s, "10.9.0.0/16", NULL, 999, ENODEV);
	/* None of the failures left a route behind. */
	CHECK_EQ(us_route_get(s, ip4("10.9.1.1"), &ifindex, &gw, NULL), 0);
	CHECK_EQ(gw.s_addr, ip4("192.168.1.1").s_addr); /* the default */
	/* With the device named and the gateway on it: fine. */
	CHECK_EQ(route_add(s, "10.9.0.0/16", "10.0.0.254", p0.ifindex), 0);
	CHECK_EQ(us_route_get(s, ip4("10.9.1.1"), &ifindex, &gw, &src), 0);
	CHECK_EQ(ifindex, p0.ifindex);
	CHECK_EQ(gw.s_addr, ip4("10.0.0.254").s_addr);
	CHECK_EQ(src.s_addr, ip4("10.0.0.1").s_addr);
	CHECK_EQ(us_route_del(s, ip4("10.9.0.0"), 16), 0);

	/* Deleting. */
	CHECK_EQ(us_route_del(s, ip4("8.8.8.8"), 32), 0);
	CHECK_EQ(us_route_get(s, ip4("8.8.8.8"), &ifindex, NULL, NULL), 0);
	CHECK_EQ(ifindex, p1.ifindex);
	errno = 0;
	CHECK_EQ(us_route_del(s, ip4("8.8.8.8"), 32), -1);
	CHECK_EQ(errno, ESRCH);
	errno = 0;
	CHECK_EQ(us_route_del(s, ip4("172.16.0.0"), 16), -1); /* not that length */
	CHECK_EQ(errno, ESRCH);
	CHECK_EQ(us_route_del(s, ip4("0.0.0.0"), 0), 0);
	errno = 0;
	CHECK_EQ(us_route_get(s, ip4("8.8.8.8"), &ifindex, NULL, NULL), -1);
	CHECK_EQ(errno, ENETUNREACH);

	/* A device going down takes its routes with it, connected and
	 * static, as Linux's fib_disable_ip: the less specific route through
	 * the other device carries the traffic; routes cannot be added
	 * through a device that is down (ENETDOWN, or no connected route to
	 * the gateway). Up brings the connected route back, not the static
	 * one. */
	CHECK_EQ(route_add(s, "10.0.0.0/8", "10.0.0.254", p0.ifindex), 0);
	CHECK_EQ(route_add(s, "100.64.5.0/24", "192.168.1.1", 0), 0);
	CHECK_EQ(us_dev_set_up(s, p1.ifindex, false), 0);
	errno = 0;
	CHECK_EQ(us_route_get(s, ip4("100.64.3.4"), &ifindex, NULL, NULL), -1);
	CHECK_EQ(errno, ENETUNREACH);
	errno = 0;
	CHECK_EQ(us_route_get(s, ip4("192.168.1.200"), &ifindex, NULL, NULL), -1);
	CHECK_EQ(errno, ENETUNREACH);
	CHECK_EQ(us_route_get(s, ip4("10.200.0.1"), &ifindex, &gw, NULL), 0);
	CHECK_EQ(ifindex, p0.ifindex);
	CHECK_EQ(us_route_del(s, ip4("100.64.5.0"), 24), -1); /* gone already */
	ADD_FAILS(s, "100.64.0.0/10", NULL, p1.ifindex, ENETDOWN);
	ADD_FAILS(s, "100.64.5.0/24", "192.168.1.1", 0, ENETUNREACH);
	CHECK_EQ(us_dev_set_up(s, p1.ifindex, true), 0);
	CHECK_EQ(us_route_get(s, ip4("192.168.1.200"), &ifindex, NULL, &src), 0);
	CHECK_EQ(ifindex, p1.ifindex);
	CHECK_EQ(src.s_addr, ip4("192.168.1.10").s_addr);
	errno = 0;
	CHECK_EQ(us_route_get(s, ip4("100.64.3.4"), &ifindex, NULL, NULL), -1);
	CHECK_EQ(errno, ENETUNREACH);
	CHECK_EQ(route_add(s, "100.64.0.0/10", NULL, p1.ifindex), 0);
	CHECK_EQ(us_route_get(s, ip4("100.64.3.4"), &ifindex, NULL, NULL), 0);
	CHECK_EQ(ifindex, p1.ifindex);
	CHECK_EQ(us_route_del(s, ip4("10.0.0.0"), 8), 0);
	/* Two devices with addresses in one prefix: the first holds the
	 * connected route; while it is down, the other carries it; deleting
	 * the holder's address hands the route over too. */
	CHECK_EQ(us_addr_add(s, p1.ifindex, ip4("10.0.0.77"), 24), 0);
	CHECK_EQ(us_route_get(s, ip4("10.0.0.5"), &ifindex, NULL, NULL), 0);
	CHECK_EQ(ifindex, p0.ifindex);
	CHECK_EQ(us_dev_set_up(s, p0.ifindex, false), 0);
	CHECK_EQ(us_route_get(s, ip4("10.0.0.5"), &ifindex, NULL, &src), 0);
	CHECK_EQ(ifindex, p1.ifindex);
	CHECK_EQ(src.s_addr, ip4("10.0.0.77").s_addr);
	CHECK_EQ(us_dev_set_up(s, p0.ifindex, true), 0);
	CHECK_EQ(us_addr_del(s, p1.ifindex, ip4("10.0.0.77"), 24), 0);
	CHECK_EQ(route_add(s, "172.16.0.0/12", "10.0.0.254", 0), 0); /* went with p0 */
	CHECK_EQ(us_route_get(s, ip4("10.0.0.5"), &ifindex, NULL, &src), 0);
	CHECK_EQ(ifindex, p0.ifindex);
	CHECK_EQ(src.s_addr, ip4("10.0.0.1").s_addr);

	/* Removing the address removes its connected route; routes through
	 * a removed device go with it. */
	CHECK_EQ(us_addr_del(s, p1.ifindex, ip4("192.168.1.10"), 24), 0);
	errno = 0;
	CHECK_EQ(us_route_get(s, ip4("192.168.1.200"), &ifindex, NULL, NULL), -1);
	CHECK_EQ(errno, ENETUNREACH);
	CHECK_EQ(us_route_get(s, ip4("100.64.3.4"), &ifindex, NULL, NULL), 0);
	netdev_unregister(netdev_get_by_index(s, p1.ifindex));
	errno = 0;
	CHECK_EQ(us_route_get(s, ip4("100.64.3.4"), &ifindex, NULL, NULL), -1);
	CHECK_EQ(errno, ENETUNREACH);
	CHECK_EQ(us_route_get(s, ip4("172.20.1.1"), &ifindex, NULL, NULL), 0);
	CHECK_EQ(ifindex, p0.ifindex);
	peer_detach(&p0);
	peer_detach(&p1);
	us_stack_free(s);
	us_clock_free(clk);
}

TEST_MAIN(T(lpm_vs_brute_force), T(default_and_host_routes), T(flush_by_device), T(public_api))
