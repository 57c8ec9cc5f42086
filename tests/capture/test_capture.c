/*
 * Capture: files written by the stack are read back with libpcap
 * (pcap_open_offline) and compared with the frames that went in and out;
 * filters in tcpdump's language select exactly the frames they should;
 * snap length, rotation, pcapng, "any", FIFOs and slow readers.
 *
 * Every stack runs on a virtual clock, so the capture's timestamps are the
 * virtual time (checked), and nothing here depends on the machine's speed
 * except the "never blocks" bound of the slow-reader test.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture/bpf_run.h"
#include "nettest.h"
#include "test.h"
#include "ustack/capture.h"

#define A_STACK "10.1.0.2"
#define A_PEER "10.1.0.1"
#define A_OTHER "10.1.0.77"

static char tmpdir[256];

static void cleanup_tmp(void)
{
	if (!tmpdir[0])
		return;
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

static void make_tmpdir(void)
{
	if (tmpdir[0])
		return;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ustack-captest-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		exit(1);
	}
	atexit(cleanup_tmp);
}

static const char *tpath(const char *name, char *buf, size_t len)
{
	make_tmpdir();
	snprintf(buf, len, "%s/%s", tmpdir, name);
	return buf;
}

/* ---- reading captures back with libpcap ---- */

#define RD_MAX 8192
struct rec {
	uint8_t *data;
	uint32_t caplen, len;
	uint64_t ts_us;
};
struct rd {
	int linktype;
	int snaplen;
	int n;
	struct rec r[RD_MAX];
};

static int rd_pcap(pcap_t *p, struct rd *rd)
{
	rd->linktype = pcap_datalink(p);
	rd->snaplen = pcap_snapshot(p);
	rd->n = 0;
	struct pcap_pkthdr *h;
	const u_char *d;
	int r;
	while ((r = pcap_next_ex(p, &h, &d)) == 1 && rd->n < RD_MAX) {
		struct rec *x = &rd->r[rd->n++];
		x->data = malloc(h->caplen ? h->caplen : 1);
		memcpy(x->data, d, h->caplen);
		x->caplen = h->caplen;
		x->len = h->len;
		x->ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
	}
	int ok = r == PCAP_ERROR_BREAK ? 0 : -1;
	if (ok < 0)
		fprintf(stderr, "pcap read error: %s\n", pcap_geterr(p));
	pcap_close(p);
	return ok;
}

/* 0, or -1 with libpcap's reason printed. */
static int rd_file(const char *path, struct rd *rd)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, err);
	if (!p) {
		fprintf(stderr, "pcap_open_offline(%s): %s\n", path, err);
		return -1;
	}
	return rd_pcap(p, rd);
}

static int rd_mem(const void *buf, size_t len, struct rd *rd)
{
	FILE *f = fmemopen((void *)buf, len, "rb");
	if (!f)
		return -1;
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_fopen_offline(f, err);
	if (!p) {
		fprintf(stderr, "pcap_fopen_offline: %s\n", err);
		fclose(f);
		return -1;
	}
	return rd_pcap(p, rd);
}

static void rd_free(struct rd *rd)
{
	for (int i = 0; i < rd->n; i++)
		free(rd->r[i].data);
	rd->n = 0;
}

/* ---- a stack with a peer, and a record of every frame ---- */

struct bed {
	struct sim sim;
	struct peer p;
	uint32_t a_stack, a_peer;
	/* every frame in and out, in order */
	int n;
	uint8_t *f[RD_MAX];
	size_t len[RD_MAX];
	bool out[RD_MAX];
};

static void bed_init(struct bed *b)
{
	memset(b, 0, sizeof(*b));
	sim_init(&b->sim, 1, 42);
	if (peer_attach(&b->p, b->sim.st[0], b->sim.clk, "eth0", A_STACK "/24", false) < 0)
		abort();
	b->a_stack = ip4(A_STACK).s_addr;
	b->a_peer = ip4(A_PEER).s_addr;
	peer_set_neigh(&b->p, b->a_peer, NULL); /* no ARP noise */
}

static void bed_note(struct bed *b, const void *f, size_t len, bool out)
{
	if (b->n >= RD_MAX)
		return;
	b->f[b->n] = malloc(len);
	memcpy(b->f[b->n], f, len);
	b->len[b->n] = len;
	b->out[b->n] = out;
	b->n++;
}

/* Injects a frame and records it and whatever the stack sent back. */
static void bed_inject(struct bed *b, const void *f, size_t len)
{
	bed_note(b, f, len, false);
	peer_inject(&b->p, f, len);
	while (peer_pending(&b->p)) {
		const struct frame *o = peer_pop(&b->p, 0);
		bed_note(b, o->data, o->len, true);
	}
}

static void bed_free(struct bed *b)
{
	for (int i = 0; i < b->n; i++)
		free(b->f[i]);
	peer_detach(&b->p);
	sim_free(&b->sim);
}

static size_t echo_frame(struct bed *b, uint8_t *buf, uint32_t src, uint32_t dst, uint16_t seq,
			 size_t datalen)
{
	uint8_t icmp[1600];
	size_t ilen = build_icmp_echo(icmp, ICMP_ECHO, 0x77, seq, datalen);
	return build_ipv4(buf, false, b->p.stack_mac, b->p.mac, src, dst, IPPROTO_ICMP_,
			  (uint16_t)seq, 0, false, 64, icmp, ilen);
}

/* A TCP segment (no options, checksum left 0: the filter does not care). */
static size_t tcp_frame(struct bed *b, uint8_t *buf, uint32_t src, uint32_t dst, uint16_t sport,
			uint16_t dport, uint8_t flags)
{
	uint8_t t[20];
	memset(t, 0, sizeof(t));
	put_be16(t, sport);
	put_be16(t + 2, dport);
	put_be32(t + 4, 1000);
	put_be32(t + 8, (flags & 0x10) ? 5000 : 0);
	t[12] = 5 << 4;
	t[13] = flags;
	put_be16(t + 14, 65535);
	return build_ipv4(buf, false, b->p.stack_mac, b->p.mac, src, dst, 6, 0x1234, 0, false, 64, t,
			  sizeof(t));
}

static size_t udp_frame(struct bed *b, uint8_t *buf, uint32_t src, uint32_t dst, uint16_t sport,
			uint16_t dport, size_t plen)
{
	uint8_t u[1500];
	memset(u, 0xab, sizeof(u));
	put_be16(u, sport);
	put_be16(u + 2, dport);
	put_be16(u + 4, (uint16_t)(8 + plen));
	put_be16(u + 6, 0);
	return build_ipv4(buf, false, b->p.stack_mac, b->p.mac, src, dst, 17, 0x4321, 0, false, 64, u,
			  8 + plen);
}

static int start(us_stack *s, const char *path, const char *filter, struct us_capture_opts *extra)
{
	struct us_capture_opts o = { .fd = -1 };
	if (extra)
		o = *extra;
	o.path = path;
	o.filter = filter;
	if (!o.dev)
		o.dev = "eth0";
	char err[512];
	int id = us_capture_start(s, &o, err, sizeof(err));
	if (id < 0)
		fprintf(stderr, "capture start failed: %s\n", err);
	return id;
}

/* ---- tests ---- */

/* Every frame in and out, byte for byte, in order, with the virtual
 * time as timestamp; counters agree with the file. */
static void test_pcap_roundtrip(void)
{
	struct bed b;
	bed_init(&b);
	us_stack *s = b.sim.st[0];
	char path[300];
	tpath("rt.pcap", path, sizeof(path));
	int id = start(s, path, NULL, NULL);
	REQUIRE(id > 0);
	uint64_t t0 = sim_now(&b.sim);
	uint8_t f[1600];
	for (int i = 0; i < 20; i++) {
		size_t n = echo_frame(&b, f, b.a_peer, b.a_stack, (uint16_t)i, (size_t)(i * 50));
		bed_inject(&b, f, n);
		us_clock_advance(b.sim.clk, 1000000); /* 1 ms */
	}
	CHECK_EQ(b.n, 40);
	struct us_capture_stats st;
	REQUIRE(us_capture_stop(s, id, &st) == 0);
	CHECK_EQ(st.captured, 40);
	CHECK_EQ(st.seen, 40);
	CHECK_EQ(st.matched, 40);
	CHECK_EQ(st.dropped, 0);
	CHECK_EQ(st.files, 1);
	CHECK(!st.running);
	CHECK(us_capture_stats(s, id, &st) < 0 && errno == ENOENT);

	struct rd *rd = calloc(1, sizeof(*rd));
	REQUIRE(rd_file(path, rd) == 0);
	CHECK_EQ(rd->linktype, DLT_EN10MB);
	CHECK_EQ(rd->snaplen, 262144);
	CHECK_EQ(rd->n, b.n);
	for (int i = 0; i < rd->n && i < b.n; i++) {
		CHECK_EQ(rd->r[i].caplen, b.len[i]);
		CHECK_EQ(rd->r[i].len, b.len[i]);
		CHECK(rd->r[i].caplen == b.len[i] && !memcmp(rd->r[i].data, b.f[i], b.len[i]));
		/* request and reply in the same millisecond of virtual time */
		CHECK_EQ(rd->r[i].ts_us, t0 / 1000 + (uint64_t)(i / 2) * 1000);
	}
	struct stat sb;
	REQUIRE(stat(path, &sb) == 0);
	uint64_t expect = 24;
	for (int i = 0; i < b.n; i++)
		expect += 16 + b.len[i];
	CHECK_EQ((uint64_t)sb.st_size, expect);
	CHECK_EQ(st.bytes, expect);
	rd_free(rd);
	free(rd);
	bed_free(&b);
}

/* pcapng: an interface block named after the device, direction flags. */
static void test_pcapng(void)
{
	struct bed b;
	bed_init(&b);
	us_stack *s = b.sim.st[0];
	char path[300];
	tpath("rt.pcapng", path, sizeof(path));
	struct us_capture_opts o = { .fd = -1, .pcapng = true };
	int id = start(s, path, "icmp", &o);
	REQUIRE(id > 0);
	uint8_t f[1600];
	for (int i = 0; i < 5; i++) {
		size_t n = echo_frame(&b, f, b.a_peer, b.a_stack, (uint16_t)i, 100);
		bed_inject(&b, f, n);
	}
	REQUIRE(us_capture_stop(s, id, NULL) == 0);
	struct rd *rd = calloc(1, sizeof(*rd));
	REQUIRE(rd_file(path, rd) == 0);
	CHECK_EQ(rd->linktype, DLT_EN10MB);
	CHECK_EQ(rd->n, 10);
	for (int i = 0; i < rd->n && i < b.n; i++)
		CHECK(rd->r[i].caplen == b.len[i] && !memcmp(rd->r[i].data, b.f[i], b.len[i]));
	rd_free(rd);
	free(rd);

	/* Walk the blocks: SHB, IDB (if_name eth0), EPBs with flags. */
	FILE *fp = fopen(path, "rb");
	REQUIRE(fp);
	static uint8_t buf[1 << 16];
	size_t len = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	size_t off = 0;
	int idbs = 0, epbs = 0, in = 0, out = 0;
	bool named = false;
	while (off + 12 <= len) {
		uint32_t type, blen;
		memcpy(&type, buf + off, 4);
		memcpy(&blen, buf + off + 4, 4);
		REQUIRE(blen >= 12 && blen % 4 == 0 && off + blen <= len);
		uint32_t trail;
		memcpy(&trail, buf + off + blen - 4, 4);
		CHECK_EQ(trail, blen);
		if (off == 0)
			CHECK_EQ(type, 0x0A0D0D0Au);
		if (type == 1) {
			idbs++;
			/* options start at 16: if_name is code 2 */
			uint16_t code, olen;
			memcpy(&code, buf + off + 16, 2);
			memcpy(&olen, buf + off + 18, 2);
			named = code == 2 && olen == 4 && !memcmp(buf + off + 20, "eth0", 4);
		}
		if (type == 6) {
			epbs++;
			uint32_t caplen;
			memcpy(&caplen, buf + off + 20, 4);
			size_t opt = off + 28 + ((caplen + 3) & ~3u);
			uint16_t code;
			uint32_t flags;
			memcpy(&code, buf + opt, 2);
			memcpy(&flags, buf + opt + 4, 4);
			CHECK_EQ(code, 2);
			if ((flags & 3) == 1)
				in++;
			if ((flags & 3) == 2)
				out++;
		}
		off += blen;
	}
	CHECK_EQ(off, len);
	CHECK_EQ(idbs, 1);
	CHECK(named);
	CHECK_EQ(epbs, 10);
	CHECK_EQ(in, 5);
	CHECK_EQ(out, 5);
	bed_free(&b);
}

/* Filters select exactly the right frames: each frame below says which
 * filters must take it (bit i for filter i). Direction "in" keeps the
 * stack's own answers (RSTs, replies) out of the sets. */
static void test_filters(void)
{
	static const char *const filters[] = {
		"icmp",
		"tcp port 80",
		"host " A_OTHER " and not arp",
		"tcp[tcpflags] & tcp-syn != 0",
		"udp and dst port 53",
		"arp",
		"ether src 02:00:00:00:00:fe and ip[8] < 64",
	};
	enum { NF = sizeof(filters) / sizeof(filters[0]) };
	struct bed b;
	bed_init(&b);
	us_stack *s = b.sim.st[0];
	uint32_t other = ip4(A_OTHER).s_addr;
	peer_set_neigh(&b.p, other, NULL);
	int ids[NF];
	char paths[NF][300];
	for (int i = 0; i < NF; i++) {
		char name[32];
		snprintf(name, sizeof(name), "filter%d.pcap", i);
		tpath(name, paths[i], sizeof(paths[i]));
		struct us_capture_opts o = { .fd = -1, .direction = US_CAPTURE_IN };
		ids[i] = start(s, paths[i], filters[i], &o);
		REQUIRE(ids[i] > 0);
	}
	struct {
		uint8_t f[1600];
		size_t len;
		unsigned want;
	} fr[16];
	int n = 0;
	/* 0: ping from the peer */
	fr[n].len = echo_frame(&b, fr[n].f, b.a_peer, b.a_stack, 1, 32);
	fr[n++].want = 1u << 0;
	/* 1: ping from OTHER */
	fr[n].len = echo_frame(&b, fr[n].f, other, b.a_stack, 2, 32);
	fr[n++].want = 1u << 0 | 1u << 2;
	/* 2: SYN to port 80 from the peer */
	fr[n].len = tcp_frame(&b, fr[n].f, b.a_peer, b.a_stack, 40000, 80, 0x02);
	fr[n++].want = 1u << 1 | 1u << 3;
	/* 3: ACK (no SYN) to port 80 from OTHER */
	fr[n].len = tcp_frame(&b, fr[n].f, other, b.a_stack, 40001, 80, 0x10);
	fr[n++].want = 1u << 1 | 1u << 2;
	/* 4: SYN to port 22 from OTHER */
	fr[n].len = tcp_frame(&b, fr[n].f, other, b.a_stack, 40002, 22, 0x02);
	fr[n++].want = 1u << 2 | 1u << 3;
	/* 5: SYN|ACK from source port 80 (port 80 either way) */
	fr[n].len = tcp_frame(&b, fr[n].f, b.a_peer, b.a_stack, 80, 40003, 0x12);
	fr[n++].want = 1u << 1 | 1u << 3;
	/* 6: FIN to port 8080 (not port 80) */
	fr[n].len = tcp_frame(&b, fr[n].f, b.a_peer, b.a_stack, 40004, 8080, 0x11);
	fr[n++].want = 0;
	/* 7: UDP to 53 from OTHER */
	fr[n].len = udp_frame(&b, fr[n].f, other, b.a_stack, 5353, 53, 20);
	fr[n++].want = 1u << 2 | 1u << 4;
	/* 8: UDP from port 53 (not dst 53) */
	fr[n].len = udp_frame(&b, fr[n].f, b.a_peer, b.a_stack, 53, 5353, 20);
	fr[n++].want = 0;
	/* 9: ARP request from OTHER ("host X and not arp" must skip it) */
	fr[n].len = build_arp(fr[n].f, (const uint8_t *)"\xff\xff\xff\xff\xff\xff", b.p.mac, 1,
			      b.p.mac, other, NULL, b.a_stack);
	fr[n++].want = 1u << 5;
	/* 10: a ping with TTL 10 from OTHER through a foreign source MAC */
	{
		uint8_t icmp[64];
		size_t il = build_icmp_echo(icmp, ICMP_ECHO, 9, 9, 8);
		static const uint8_t mac2[6] = { 0x02, 0, 0, 0, 0, 0x99 };
		fr[n].len = build_ipv4(fr[n].f, false, b.p.stack_mac, mac2, other, b.a_stack,
				       IPPROTO_ICMP_, 77, 0, false, 10, icmp, il);
		fr[n++].want = 1u << 0 | 1u << 2;
	}
	/* 11: the same from the peer's MAC: filter 6 */
	{
		uint8_t icmp[64];
		size_t il = build_icmp_echo(icmp, ICMP_ECHO, 9, 10, 8);
		fr[n].len = build_ipv4(fr[n].f, false, b.p.stack_mac, b.p.mac, b.a_peer, b.a_stack,
				       IPPROTO_ICMP_, 78, 0, false, 10, icmp, il);
		fr[n++].want = 1u << 0 | 1u << 6;
	}
	for (int i = 0; i < n; i++)
		bed_inject(&b, fr[i].f, fr[i].len);
	for (int k = 0; k < NF; k++) {
		struct us_capture_stats st;
		REQUIRE(us_capture_stop(s, ids[k], &st) == 0);
		struct rd *rd = calloc(1, sizeof(*rd));
		REQUIRE(rd_file(paths[k], rd) == 0);
		int expect = 0, j = 0;
		for (int i = 0; i < n; i++) {
			if (!(fr[i].want & 1u << k))
				continue;
			expect++;
			if (j < rd->n && rd->r[j].caplen == fr[i].len &&
			    !memcmp(rd->r[j].data, fr[i].f, fr[i].len))
				j++;
			else
				fprintf(stderr, "filter '%s': frame %d missing\n", filters[k], i);
		}
		if (rd->n != expect)
			fprintf(stderr, "filter '%s': %d frames, expected %d\n", filters[k], rd->n,
				expect);
		CHECK_EQ(rd->n, expect);
		CHECK_EQ(j, expect);
		CHECK_EQ(st.captured, (uint64_t)expect);
		CHECK_EQ(st.matched, (uint64_t)expect);
		CHECK_EQ(st.seen, (uint64_t)n);
		rd_free(rd);
		free(rd);
	}
	bed_free(&b);
}

/* A filter that does not compile is refused with libpcap's message, and
 * nothing is created. */
static void test_filter_errors(void)
{
	struct bed b;
	bed_init(&b);
	us_stack *s = b.sim.st[0];
	char path[300];
	tpath("never.pcap", path, sizeof(path));
	unlink(path);
	static const char *const bad[] = { "tcp prot 80", "host", "port 99999", "tcp[tcpflags] &",
					   "(icmp", "ether host 1:2:3" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct us_capture_opts o = { .fd = -1, .path = path, .dev = "eth0", .filter = bad[i] };
		char err[512] = "";
		errno = 0;
		CHECK_EQ(us_capture_start(s, &o, err, sizeof(err)), -1);
		CHECK_EQ(errno, EINVAL);
		CHECK(strstr(err, "bad filter") != NULL);
		CHECK(strstr(err, bad[i]) != NULL);
		if (i == 0)
			CHECK(strstr(err, "syntax error") != NULL);
		CHECK(access(path, F_OK) != 0);
		char err2[512] = "";
		CHECK_EQ(us_capture_check_filter(bad[i], US_CAPTURE_LINK_ETHER, err2, sizeof(err2)), -1);
		CHECK(strstr(err2, "bad filter") != NULL);
	}
	CHECK_EQ(us_capture_check_filter("tcp port 80 and not arp", US_CAPTURE_LINK_ETHER, NULL, 0), 0);
	CHECK_EQ(us_capture_check_filter("ip and udp", US_CAPTURE_LINK_RAW, NULL, 0), 0);

	/* Other bad options. */
	char err[512];
	struct us_capture_opts o = { .fd = -1, .path = path, .dev = "nosuch" };
	CHECK_EQ(us_capture_start(s, &o, err, sizeof(err)), -1);
	CHECK_EQ(errno, ENODEV);
	CHECK(strstr(err, "nosuch") != NULL);
	o.dev = "eth0";
	o.snaplen = 300000;
	CHECK_EQ(us_capture_start(s, &o, err, sizeof(err)), -1);
	CHECK_EQ(errno, EINVAL);
	o.snaplen = 0;
	o.rotate_files = 3;
	CHECK_EQ(us_capture_start(s, &o, err, sizeof(err)), -1);
	CHECK_EQ(errno, EINVAL);
	o.rotate_files = 0;
	o.link = US_CAPTURE_LINK_RAW;
	CHECK_EQ(us_capture_start(s, &o, err, sizeof(err)), -1);
	CHECK(strstr(err, "EN10MB") != NULL);
	o.link = US_CAPTURE_LINK_AUTO;
	o.path = "/nonexistent-dir/x.pcap";
	CHECK_EQ(us_capture_start(s, &o, err, sizeof(err)), -1);
	CHECK_EQ(errno, ENOENT);
	CHECK(strstr(err, "/nonexistent-dir/x.pcap") != NULL);
	o.path = NULL;
	o.fd = -1;
	CHECK_EQ(us_capture_start(s, &o, err, sizeof(err)), -1);
	CHECK_EQ(errno, EINVAL);
	o.fd = 9999; /* not open */
	CHECK_EQ(us_capture_start(s, &o, err, sizeof(err)), -1);
	CHECK_EQ(errno, EBADF);
	o.fd = -1;
	o.path = tmpdir; /* a directory */
	CHECK_EQ(us_capture_start(s, &o, err, sizeof(err)), -1);
	CHECK_EQ(errno, EINVAL);
	CHECK(us_capture_stop(s, 12345, NULL) < 0 && errno == ENOENT);

	uint64_t v;
	CHECK(us_capture_parse_size("10", &v) == 0 && v == 10000000);
	CHECK(us_capture_parse_size("512k", &v) == 0 && v == 512 * 1024);
	CHECK(us_capture_parse_size("2M", &v) == 0 && v == 2 * 1048576);
	CHECK(us_capture_parse_size("1g", &v) == 0 && v == 1073741824);
	CHECK(us_capture_parse_size("0.5", &v) == 0 && v == 500000);
	CHECK(us_capture_parse_size("0", &v) < 0);
	CHECK(us_capture_parse_size("-1", &v) < 0);
	CHECK(us_capture_parse_size("10x", &v) < 0);
	CHECK(us_capture_parse_size("", &v) < 0);
	CHECK(us_capture_parse_size("k", &v) < 0);
	bed_free(&b);
}

/* The snap length cuts frames; the original length is kept. */
static void test_snaplen(void)
{
	struct bed b;
	bed_init(&b);
	us_stack *s = b.sim.st[0];
	char path[300];
	tpath("snap.pcap", path, sizeof(path));
	struct us_capture_opts o = { .fd = -1, .snaplen = 64 };
	int id = start(s, path, NULL, &o);
	REQUIRE(id > 0);
	uint8_t f[1600];
	size_t n = echo_frame(&b, f, b.a_peer, b.a_stack, 1, 1000);
	bed_inject(&b, f, n);
	n = echo_frame(&b, f, b.a_peer, b.a_stack, 2, 4); /* 46 bytes: shorter than 64 */
	bed_inject(&b, f, n);
	REQUIRE(us_capture_stop(s, id, NULL) == 0);
	struct rd *rd = calloc(1, sizeof(*rd));
	REQUIRE(rd_file(path, rd) == 0);
	CHECK_EQ(rd->snaplen, 64);
	REQUIRE(rd->n == 4);
	CHECK_EQ(rd->r[0].caplen, 64);
	CHECK_EQ(rd->r[0].len, 14 + 20 + 8 + 1000);
	CHECK(!memcmp(rd->r[0].data, b.f[0], 64));
	CHECK_EQ(rd->r[1].caplen, 64);
	CHECK_EQ(rd->r[1].len, 14 + 20 + 8 + 1000);
	CHECK_EQ(rd->r[2].caplen, b.len[2]);
	CHECK_EQ(rd->r[2].len, b.len[2]);
	/* the reply was padded to the Ethernet minimum of 60 */
	CHECK_EQ(rd->r[3].len, 60);
	rd_free(rd);
	free(rd);
	bed_free(&b);
}

/* Rotation as tcpdump -C: FILE, FILE1, FILE2...; each file a valid pcap
 * that ends once it is over the size; with -W a ring of N names. */
static void test_rotation(void)
{
	for (int ring = 0; ring < 2; ring++) {
		struct bed b;
		bed_init(&b);
		us_stack *s = b.sim.st[0];
		char base[300];
		tpath(ring ? "ring.pcap" : "rot.pcap", base, sizeof(base));
		struct us_capture_opts o = { .fd = -1, .rotate_bytes = 3000,
					     .rotate_files = ring ? 3u : 0u };
		int id = start(s, base, NULL, &o);
		REQUIRE(id > 0);
		uint8_t f[1600];
		for (int i = 0; i < 30; i++) {
			size_t n = echo_frame(&b, f, b.a_peer, b.a_stack, (uint16_t)i, 458); /* 500-byte frames */
			bed_inject(&b, f, n);
		}
		struct us_capture_stats st;
		REQUIRE(us_capture_stop(s, id, &st) == 0);
		CHECK_EQ(st.captured, 60);
		/* 60 records of 516 bytes: a new file once one is over 3000
		 * bytes, i.e. every 6 records: 10 files. */
		CHECK_EQ(st.files, 10);
		int total = 0, files = 0;
		for (unsigned k = 0; k < 12; k++) {
			char name[340];
			if (ring)
				snprintf(name, sizeof(name), "%s%u", base, k);
			else if (k == 0)
				snprintf(name, sizeof(name), "%s", base);
			else
				snprintf(name, sizeof(name), "%s%u", base, k);
			struct stat sb;
			if (stat(name, &sb) < 0)
				continue;
			files++;
			struct rd *rd = calloc(1, sizeof(*rd));
			REQUIRE(rd_file(name, rd) == 0);
			CHECK_EQ(rd->n, 6);
			CHECK_EQ((uint64_t)sb.st_size, 24u + 6 * 516);
			CHECK(sb.st_size - 516 <= 3000);
			total += rd->n;
			/* the ring keeps the newest: files hold frames 42..59 */
			if (ring && rd->n) {
				int first = -1;
				for (int i = 0; i < b.n; i++)
					if (b.len[i] == rd->r[0].caplen &&
					    !memcmp(b.f[i], rd->r[0].data, b.len[i]))
						first = i;
				CHECK(first >= 42);
			}
			rd_free(rd);
			free(rd);
			unlink(name);
		}
		CHECK_EQ(files, ring ? 3 : 10);
		CHECK_EQ(total, ring ? 18 : 60);
		bed_free(&b);
	}
}

static double wall_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static size_t drain(int fd, uint8_t **buf, size_t *len, size_t *cap)
{
	size_t got = 0;
	for (;;) {
		if (*cap - *len < 65536) {
			*cap = *cap ? *cap * 2 : 1 << 20;
			*buf = realloc(*buf, *cap);
		}
		ssize_t r = read(fd, *buf + *len, *cap - *len);
		if (r <= 0)
			return got;
		*len += (size_t)r;
		got += (size_t)r;
	}
}

struct logs {
	int n, suppressed;
};
static void count_log(void *arg, enum us_log_level lvl, const char *msg)
{
	struct logs *l = arg;
	(void)lvl;
	l->n++;
	l->suppressed += strstr(msg, "suppressed") != NULL;
}

/* A reader that does not keep up: frames are dropped and counted, the
 * stack never waits; once the reader drains, the stream is whole. The
 * per-frame warning is rate limited. */
static void test_slow_pipe(void)
{
	struct bed b;
	bed_init(&b);
	us_stack *s = b.sim.st[0];
	struct logs logs = { 0 };
	us_set_log(s, US_LOG_WARN, count_log, &logs);
	int pfd[2];
	REQUIRE(pipe(pfd) == 0);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	struct us_capture_opts o = { .fd = pfd[1], .dev = "eth0", .buffer_bytes = 64 << 10 };
	char err[256];
	int id = us_capture_start(s, &o, err, sizeof(err));
	REQUIRE(id > 0);
	close(pfd[1]); /* the capture holds its own */
	uint8_t f[1600];
	double t0 = wall_s();
	for (int i = 0; i < 2000; i++) {
		size_t n = echo_frame(&b, f, b.a_peer, b.a_stack, (uint16_t)i, 1000);
		peer_inject(&b.p, f, n);
		peer_clear(&b.p);
	}
	double dt = wall_s() - t0;
	CHECK(dt < 5.0); /* 4000 frames: it never blocked */
	struct us_capture_stats st;
	REQUIRE(us_capture_stats(s, id, &st) == 0);
	CHECK_EQ(st.seen, 4000);
	CHECK_EQ(st.matched, 4000);
	CHECK(st.dropped > 3000);
	CHECK(st.captured > 50);
	CHECK_EQ(st.captured + st.dropped, 4000);
	CHECK(st.running);
	/* thousands of drops within one second: ten warnings */
	CHECK_EQ(logs.n, 10);
	/* A stack counter shows it too? No: capture drops are the
	 * capture's own (as tcpdump's "dropped by kernel"). Drain now:
	 * the flush timer writes the rest as room appears. */
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	for (int k = 0; k < 200; k++) {
		drain(pfd[0], &buf, &len, &cap);
		sim_run_for(&b.sim, 100000000); /* 100 ms: the flush timer */
	}
	drain(pfd[0], &buf, &len, &cap);
	/* a later warning first summarizes what was suppressed */
	CHECK(logs.suppressed == 0);
	us_log_rl(s, US_LOG_WARN, "later");
	CHECK_EQ(logs.suppressed, 1);
	struct us_capture_stats fin;
	REQUIRE(us_capture_stop(s, id, &fin) == 0);
	drain(pfd[0], &buf, &len, &cap);
	struct rd *rd = calloc(1, sizeof(*rd));
	REQUIRE(rd_mem(buf, len, rd) == 0);
	CHECK_EQ((uint64_t)rd->n, fin.captured);
	CHECK_EQ(fin.captured, st.captured);
	CHECK_EQ(len, fin.bytes);
	rd_free(rd);
	free(rd);
	free(buf);
	close(pfd[0]);
	bed_free(&b);
}

static int sigpipes;
static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

/* A FIFO: the capture starts before any reader (without blocking), the
 * header and frames reach the reader once it comes; when the reader goes
 * away, the capture ends with EPIPE and the process gets no SIGPIPE. */
static void test_fifo(void)
{
	struct bed b;
	bed_init(&b);
	us_stack *s = b.sim.st[0];
	char path[300];
	tpath("fifo", path, sizeof(path));
	unlink(path);
	REQUIRE(mkfifo(path, 0600) == 0);
	struct sigaction sa = { .sa_handler = on_sigpipe }, old;
	sigaction(SIGPIPE, &sa, &old);
	int id = start(s, path, "icmp", NULL);
	REQUIRE(id > 0);
	uint8_t f[1600];
	for (int i = 0; i < 5; i++) {
		size_t n = echo_frame(&b, f, b.a_peer, b.a_stack, (uint16_t)i, 64);
		bed_inject(&b, f, n);
	}
	int rfd = open(path, O_RDONLY | O_NONBLOCK);
	REQUIRE(rfd >= 0);
	sim_run_for(&b.sim, 300000000);
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	drain(rfd, &buf, &len, &cap);
	struct rd *rd = calloc(1, sizeof(*rd));
	REQUIRE(rd_mem(buf, len, rd) == 0);
	CHECK_EQ(rd->n, 10);
	for (int i = 0; i < rd->n && i < b.n; i++)
		CHECK(rd->r[i].caplen == b.len[i] && !memcmp(rd->r[i].data, b.f[i], b.len[i]));
	rd_free(rd);
	free(rd);
	free(buf);
	/* The reader leaves. */
	close(rfd);
	for (int i = 0; i < 5; i++) {
		size_t n = echo_frame(&b, f, b.a_peer, b.a_stack, (uint16_t)(10 + i), 64);
		bed_inject(&b, f, n);
	}
	sim_run_for(&b.sim, 300000000);
	struct us_capture_stats st;
	REQUIRE(us_capture_stats(s, id, &st) == 0);
	CHECK(!st.running);
	CHECK_EQ(st.error, EPIPE);
	CHECK_EQ(sigpipes, 0);
	/* after the end, frames are not even looked at */
	uint64_t seen = st.seen;
	size_t n = echo_frame(&b, f, b.a_peer, b.a_stack, 99, 64);
	bed_inject(&b, f, n);
	REQUIRE(us_capture_stats(s, id, &st) == 0);
	CHECK_EQ(st.seen, seen);
	REQUIRE(us_capture_stop(s, id, &st) == 0);
	CHECK_EQ(st.error, EPIPE);
	sigaction(SIGPIPE, &old, NULL);
	unlink(path);
	bed_free(&b);
}

/* "any": every device, cooked headers in pcap (as tcpdump -i any), one
 * interface block per device in pcapng; the loopback seen once. */
static void test_any(void)
{
	for (int ng = 0; ng < 2; ng++) {
		struct bed b;
		bed_init(&b);
		us_stack *s = b.sim.st[0];
		char path[300];
		tpath(ng ? "any.pcapng" : "any.pcap", path, sizeof(path));
		struct us_capture_opts o = { .fd = -1, .dev = "any", .pcapng = ng };
		int id = start(s, path, "icmp", &o);
		REQUIRE(id > 0);
		uint8_t f[1600];
		size_t n = echo_frame(&b, f, b.a_peer, b.a_stack, 1, 64);
		bed_inject(&b, f, n);
		/* the stack pings itself: through the loopback */
		REQUIRE(stack_send_echo(s, 0, b.a_stack, 5, 5, 32, 64, false) == 0);
		for (int k = 0; k < 5; k++)
			us_stack_poll(s);
		struct us_capture_stats st;
		REQUIRE(us_capture_stop(s, id, &st) == 0);
		struct rd *rd = calloc(1, sizeof(*rd));
		REQUIRE(rd_file(path, rd) == 0);
		/* eth0: request, reply; lo: request, reply (once each) */
		CHECK_EQ(rd->n, 4);
		CHECK_EQ(st.captured, 4);
		CHECK_EQ(rd->linktype, DLT_LINUX_SLL);
		{
			if (rd->n == 4) {
				/* packet type (0 host, 4 outgoing), hatype, protocol */
				CHECK_EQ(get_be16(rd->r[0].data), 0);
				CHECK_EQ(get_be16(rd->r[0].data + 2), 1);     /* ARPHRD_ETHER */
				CHECK_EQ(get_be16(rd->r[0].data + 4), 6);
				CHECK(!memcmp(rd->r[0].data + 6, b.p.mac, 6));
				CHECK_EQ(get_be16(rd->r[0].data + 14), ETH_P_IP);
				CHECK_EQ(rd->r[0].caplen, 16 + b.len[0] - 14);
				CHECK(!memcmp(rd->r[0].data + 16, b.f[0] + 14, b.len[0] - 14));
				CHECK_EQ(get_be16(rd->r[1].data), 4);
				CHECK_EQ(get_be16(rd->r[2].data + 2), 772);   /* ARPHRD_LOOPBACK */
				CHECK_EQ(get_be16(rd->r[2].data + 14), ETH_P_IP);
			}
		}
		rd_free(rd);
		free(rd);
		bed_free(&b);
	}
}

static int count_blocks(const char *path, uint32_t type)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return -1;
	static uint8_t buf[1 << 16];
	size_t len = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	int n = 0;
	for (size_t off = 0; off + 8 <= len;) {
		uint32_t t, bl;
		memcpy(&t, buf + off, 4);
		memcpy(&bl, buf + off + 4, 4);
		if (bl < 12 || off + bl > len)
			return -1;
		n += t == type;
		off += bl;
	}
	return n;
}

/* A device named before it exists is captured once it appears (so a
 * capture can see a device's very first frames); in pcapng, the interface
 * block written for it at the start is the one its frames use. */
static void test_later_device(void)
{
	for (int ng = 0; ng < 2; ng++) {
		struct sim sim;
		sim_init(&sim, 1, 7);
		us_stack *s = sim.st[0];
		char path[300];
		tpath(ng ? "later.pcapng" : "later.pcap", path, sizeof(path));
		struct us_capture_opts o = { .fd = -1, .path = path, .dev = "eth0",
					     .link = US_CAPTURE_LINK_ETHER, .pcapng = ng };
		char err[256];
		int id = us_capture_start(s, &o, err, sizeof(err));
		REQUIRE(id > 0);
		struct peer p;
		REQUIRE(peer_attach(&p, s, sim.clk, "eth0", A_STACK "/24", false) == 0);
		struct us_capture_stats st;
		REQUIRE(us_capture_stop(s, id, &st) == 0);
		struct rd *rd = calloc(1, sizeof(*rd));
		REQUIRE(rd_file(path, rd) == 0);
		/* the gratuitous ARP of the address coming up */
		CHECK(rd->n >= 1);
		CHECK(rd->n >= 1 && rd->r[0].caplen >= 14 && get_be16(rd->r[0].data + 12) == ETH_P_ARP);
		if (ng)
			CHECK_EQ(count_blocks(path, 1), 1);
		rd_free(rd);
		free(rd);
		peer_detach(&p);
		sim_free(&sim);
	}
}

/* A character device (here /dev/null, by path and by descriptor) is
 * written without blocking. */
static void test_chardev(void)
{
	struct bed b;
	bed_init(&b);
	us_stack *s = b.sim.st[0];
	int id = start(s, "/dev/null", NULL, NULL);
	REQUIRE(id > 0);
	int fd = open("/dev/null", O_WRONLY);
	struct us_capture_opts o = { .fd = fd, .dev = "eth0" };
	char err[256];
	int id2 = us_capture_start(s, &o, err, sizeof(err));
	REQUIRE(id2 > 0);
	close(fd);
	uint8_t f[1600];
	for (int i = 0; i < 300; i++) {
		size_t n = echo_frame(&b, f, b.a_peer, b.a_stack, (uint16_t)i, 1000);
		peer_inject(&b.p, f, n);
		peer_clear(&b.p);
	}
	struct us_capture_stats st, st2;
	REQUIRE(us_capture_stop(s, id, &st) == 0);
	REQUIRE(us_capture_stop(s, id2, &st2) == 0);
	CHECK_EQ(st.captured, 600);
	CHECK_EQ(st.dropped, 0);
	CHECK_EQ(st.error, 0);
	CHECK_EQ(st2.captured, 600);
	CHECK_EQ(st2.error, 0);
	/* rotation needs a regular file */
	struct us_capture_opts r = { .fd = -1, .path = "/dev/null", .dev = "eth0", .rotate_bytes = 1000 };
	CHECK_EQ(us_capture_start(s, &r, err, sizeof(err)), -1);
	CHECK(strstr(err, "rotation needs regular files") != NULL);
	bed_free(&b);
}

/* A TUN (raw IP) device is captured as DLT_RAW. */
static void test_raw_device(void)
{
	struct sim sim;
	sim_init(&sim, 1, 9);
	us_stack *s = sim.st[0];
	struct peer p;
	REQUIRE(peer_attach(&p, s, sim.clk, "tun0", A_STACK "/24", true) == 0);
	char path[300];
	tpath("raw.pcap", path, sizeof(path));
	struct us_capture_opts o = { .fd = -1, .path = path, .dev = "tun0", .filter = "icmp[icmptype] = icmp-echoreply" };
	char err[256];
	int id = us_capture_start(s, &o, err, sizeof(err));
	REQUIRE(id > 0);
	CHECK(peer_ping(&p, ip4(A_PEER).s_addr, ip4(A_STACK).s_addr, 3, 3, 40));
	REQUIRE(us_capture_stop(s, id, NULL) == 0);
	struct rd *rd = calloc(1, sizeof(*rd));
	REQUIRE(rd_file(path, rd) == 0);
	CHECK_EQ(rd->linktype, DLT_RAW);
	CHECK_EQ(rd->n, 1);
	CHECK(rd->n == 1 && (rd->r[0].data[0] >> 4) == 4 && rd->r[0].len == 20 + 8 + 40);
	rd_free(rd);
	free(rd);
	peer_detach(&p);
	sim_free(&sim);
}

/* A stack freed with captures running closes them (ASan: no leak). */
static void test_free_running(void)
{
	struct bed b;
	bed_init(&b);
	us_stack *s = b.sim.st[0];
	char p1[300], p2[300];
	tpath("free1.pcap", p1, sizeof(p1));
	tpath("free2.pcapng", p2, sizeof(p2));
	struct us_capture_opts o = { .fd = -1, .pcapng = true, .dev = "any" };
	CHECK(start(s, p1, "udp", NULL) > 0);
	CHECK(start(s, p2, NULL, &o) > 0);
	uint8_t f[1600];
	size_t n = udp_frame(&b, f, b.a_peer, b.a_stack, 1, 9, 100);
	bed_inject(&b, f, n);
	bed_free(&b); /* frees the stack with both running */
	struct rd *rd = calloc(1, sizeof(*rd));
	REQUIRE(rd_file(p1, rd) == 0);
	CHECK_EQ(rd->n, 1); /* the datagram (the port unreachable is ICMP) */
	rd_free(rd);
	REQUIRE(rd_file(p2, rd) == 0);
	CHECK_EQ(rd->n, 2);
	rd_free(rd);
	free(rd);
}

/* The tap's BPF interpreter against libpcap's bpf_filter(): the same
 * verdict for every filter on every frame, including truncated frames,
 * options, fragments, VLAN tags, IPv6, ARP and garbage. */
static size_t gen_frame(uint8_t *f, uint64_t *rng, bool raw)
{
	static const uint8_t macs[][6] = { { 2, 0, 0, 0, 0, 1 }, { 2, 0, 0, 0, 0, 0xfe },
					   { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
					   { 1, 0, 0x5e, 0, 0, 1 } };
	static const char *const addrs[] = { "10.1.0.1", "10.1.0.2", "10.1.0.77", "192.168.1.5",
					     "224.0.0.1", "10.200.3.4" };
	static const uint16_t ports[] = { 22, 53, 80, 443, 1000, 1500, 2000, 8080, 67 };
	uint64_t r = test_rand(rng);
	int kind = (int)(r % 16);
	size_t off = 0;
	if (!raw) {
		memcpy(f, macs[(r >> 8) % 4], 6);
		memcpy(f + 6, macs[(r >> 10) % 2], 6);
		off = 12;
		if (kind == 13) { /* VLAN */
			put_be16(f + 12, 0x8100);
			put_be16(f + 14, (uint16_t)(r >> 16) & 0xfff);
			off = 16;
		}
	}
	if (kind == 14 && !raw) { /* ARP */
		put_be16(f + off, ETH_P_ARP);
		uint8_t *a = f + off + 2;
		put_be16(a, 1);
		put_be16(a + 2, 0x0800);
		a[4] = 6;
		a[5] = 4;
		put_be16(a + 6, (uint16_t)(1 + (r >> 20) % 2));
		memcpy(a + 8, macs[1], 6);
		uint32_t ip = ip4(addrs[(r >> 24) % 6]).s_addr;
		memcpy(a + 14, &ip, 4);
		memset(a + 18, 0, 6);
		ip = ip4(addrs[(r >> 28) % 6]).s_addr;
		memcpy(a + 24, &ip, 4);
		return off + 2 + 28;
	}
	if (kind == 15) { /* garbage */
		size_t n = (size_t)((r >> 8) % 120);
		for (size_t i = 0; i < n; i++)
			f[i] = (uint8_t)test_rand(rng);
		return n;
	}
	if (kind == 12) { /* IPv6 + TCP/UDP */
		if (!raw) {
			put_be16(f + off, ETH_P_IPV6);
			off += 2;
		}
		uint8_t *ip = f + off;
		memset(ip, 0, 40);
		ip[0] = 0x60;
		put_be16(ip + 4, 20);
		ip[6] = (r >> 12) & 1 ? 6 : 17;
		ip[7] = 64;
		ip[23] = 1;
		ip[39] = 2;
		put_be16(ip + 40, ports[(r >> 16) % 9]);
		put_be16(ip + 42, ports[(r >> 20) % 9]);
		memset(ip + 44, 0, 16);
		ip[53] = (uint8_t)(r >> 24);
		return off + 60;
	}
	if (!raw) {
		put_be16(f + off, ETH_P_IP);
		off += 2;
	}
	uint8_t *ip = f + off;
	unsigned ihl = (r >> 32) % 4 == 0 ? 5 + (unsigned)((r >> 34) % 11) : 5;
	static const uint8_t protos[] = { 1, 6, 17, 6, 17, 1, 47, 2 };
	uint8_t proto = protos[(r >> 38) % 8];
	size_t plen = (size_t)((r >> 41) % 200);
	memset(ip, 0, ihl * 4 + 20 + plen);
	ip[0] = (uint8_t)(0x40 | ihl);
	put_be16(ip + 2, (uint16_t)(ihl * 4 + 20 + plen));
	if ((r >> 49) % 6 == 0)
		put_be16(ip + 6, (uint16_t)((r >> 51) % 2 ? 0x2000 : 0) | (uint16_t)((r >> 52) % 100));
	ip[8] = (uint8_t)(1 + (r >> 56) % 128);
	ip[9] = proto;
	uint32_t sa = ip4(addrs[test_rand(rng) % 6]).s_addr, da = ip4(addrs[test_rand(rng) % 6]).s_addr;
	memcpy(ip + 12, &sa, 4);
	memcpy(ip + 16, &da, 4);
	uint8_t *l4 = ip + ihl * 4;
	uint64_t r2 = test_rand(rng);
	put_be16(l4, ports[r2 % 9]);
	put_be16(l4 + 2, ports[(r2 >> 8) % 9]);
	if (proto == 1) {
		l4[0] = (uint8_t)((r2 >> 16) % 3 == 0 ? 8 : (r2 >> 16) % 3 == 1 ? 0 : 3);
		l4[1] = 0;
	}
	if (proto == 6) {
		l4[12] = (uint8_t)((5 + (r2 >> 20) % 11) << 4);
		l4[13] = (uint8_t)(r2 >> 24);
		if (plen > 4)
			memcpy(l4 + 20, (r2 >> 40) % 2 ? "GET " : "POST", 4);
	}
	size_t len = off + ihl * 4 + 20 + plen;
	if ((r2 >> 32) % 5 == 0)
		len = (size_t)((r2 >> 35) % (len + 1)); /* truncated */
	return len;
}

static void test_bpf_differential(void)
{
	static const char *const filters[] = {
		"icmp", "tcp port 80", "host 10.1.0.77 and not arp", "tcp[tcpflags] & tcp-syn != 0",
		"udp and dst port 53", "arp", "ether src 02:00:00:00:00:fe and ip[8] < 64",
		"net 10.0.0.0/8", "src net 10.200.0.0/16 or dst host 192.168.1.5", "ip multicast",
		"ether broadcast", "ether multicast", "portrange 1000-2000", "tcp dst portrange 20-100",
		"less 64", "greater 200", "len > 100 and len < 150", "ip[6:2] & 0x1fff != 0",
		"ip[6] & 0x20 != 0", "icmp[icmptype] == icmp-echo", "icmp[icmptype] != icmp-echoreply",
		"tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420",
		"(((ip[2:2] - ((ip[0]&0xf)<<2)) - ((tcp[12]&0xf0)>>2)) != 0) and tcp",
		"ip proto 47", "ip6", "ip6 and tcp port 443", "vlan", "vlan and udp", "not ip",
		"tcp[13] & 18 = 18", "ip[0] & 0xf > 5", "udp[4:2] > 30", "ip[8] * 2 > 100",
		"ip[8] / 3 = 10", "ip[8] % 7 = 1", "ip[8] << (ip[9] & 7) > 300", "ip[8] >> 2 = 5",
		"ip[1] ^ ip[8] = 64", "ip[8] | 1 = 65", "-ip[8] & 0xff = 192", "ip[9] - 1 = 5",
		"arp[6:2] = 1", "ether proto 0x86dd", "dst port 67 or src port 22",
		"ip host 10.1.0.1 and (tcp or udp) and not port 22",
		"ip[100:4] = 0", "ip[ip[0] & 0xf] > 0", "ip[2:2] > 1500",
	};
	uint64_t rng = 12345;
	static uint8_t frames[3000][400];
	static size_t lens[3000];
	for (int raw = 0; raw < 2; raw++) {
		for (int i = 0; i < 3000; i++)
			lens[i] = gen_frame(frames[i], &rng, raw);
		long compared = 0, matched = 0, native = 0;
		for (size_t fi = 0; fi < sizeof(filters) / sizeof(filters[0]); fi++) {
			pcap_t *p = pcap_open_dead(raw ? DLT_RAW : DLT_EN10MB, 262144);
			struct bpf_program prog;
			if (pcap_compile(p, &prog, filters[fi], 1, PCAP_NETMASK_UNKNOWN) < 0) {
				pcap_close(p);
				if (raw)
					continue; /* (Ethernet-only filters) */
				fprintf(stderr, "cannot compile '%s'\n", filters[fi]);
				test_failures++;
				continue;
			}
			pcap_close(p);
			struct capbpf run;
			REQUIRE(capbpf_init(&run, prog.bf_insns, prog.bf_len) == 0);
			native += capbpf_native(&run);
			CHECK(capbpf_native(&run));
			int m = 0, bad = 0;
			for (int i = 0; i < 3000; i++) {
				unsigned wire = (unsigned)lens[i];
				for (unsigned cap = wire; ; cap = cap / 2) {
					unsigned want = bpf_filter(prog.bf_insns, frames[i], wire, cap);
					unsigned got = capbpf_exec(&run, frames[i], wire, cap);
					compared++;
					if (want != got && bad++ < 3)
						fprintf(stderr, "'%s' frame %d (%u/%u bytes): libpcap %u, "
							"interpreted %u\n",
							filters[fi], i, cap, wire, want, got);
					m += want != 0 && cap == wire;
					if (cap == 0)
						break;
					if (cap == wire && i % 4)
						break; /* shorter captures on a quarter of them */
				}
			}
			CHECK_EQ(bad, 0);
			matched += m;
			capbpf_free(&run);
			pcap_freecode(&prog);
		}
		printf("  %s: %ld comparisons, %ld matches, %ld programs interpreted\n",
		       raw ? "DLT_RAW" : "DLT_EN10MB", compared, matched, native);
		CHECK(matched > 10000);
	}
	/* A program with an opcode it does not know runs through libpcap. */
	struct bpf_insn odd[] = { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0xfffff004), /* an extension */
				  BPF_STMT(BPF_RET | BPF_A, 0) };
	struct capbpf run;
	REQUIRE(capbpf_init(&run, odd, 2) == 0);
	CHECK(capbpf_native(&run)); /* a plain load, out of range: rejects */
	CHECK_EQ(capbpf_exec(&run, frames[0], 60, 60), 0);
	CHECK_EQ(capbpf_run(&run, frames[0], 60, 60), 0);
	capbpf_free(&run);
	struct bpf_insn unk[] = { { 0xff, 0, 0, 0 }, BPF_STMT(BPF_RET | BPF_K, 1) };
	REQUIRE(capbpf_init(&run, unk, 2) == 0);
	CHECK(!capbpf_native(&run));
	capbpf_free(&run);
	struct bpf_insn back[] = { BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 5, 0),
				   BPF_STMT(BPF_RET | BPF_K, 1) };
	REQUIRE(capbpf_init(&run, back, 2) == 0);
	CHECK(!capbpf_native(&run)); /* a jump past the end */
	capbpf_free(&run);
	struct bpf_insn noret[] = { BPF_STMT(BPF_LD | BPF_IMM, 1) };
	REQUIRE(capbpf_init(&run, noret, 1) == 0);
	CHECK(!capbpf_native(&run)); /* no return at the end */
	capbpf_free(&run);
	struct bpf_insn mem[] = { BPF_STMT(BPF_LD | BPF_MEM, 16), BPF_STMT(BPF_RET | BPF_A, 0) };
	REQUIRE(capbpf_init(&run, mem, 2) == 0);
	CHECK(!capbpf_native(&run)); /* scratch memory out of range */
	capbpf_free(&run);
	/* no program: everything passes */
	REQUIRE(capbpf_init(&run, NULL, 0) == 0);
	CHECK(capbpf_run(&run, frames[0], 60, 60) != 0);
}

TEST_MAIN(T(test_pcap_roundtrip), T(test_pcapng), T(test_filters), T(test_filter_errors),
	  T(test_snaplen), T(test_rotation), T(test_slow_pipe), T(test_fifo), T(test_any),
	  T(test_later_device), T(test_chardev), T(test_raw_device), T(test_free_running), T(test_bpf_differential))
