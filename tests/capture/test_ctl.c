/*
 * The control plane: every command in both outputs (text shaped like the
 * Linux tool, JSON parsed strictly and read back), counters that move as
 * the traffic says, configuration that takes effect; then the socket
 * (mode, stale and live paths, framing, malformed and oversize requests,
 * clients that vanish or stall, descriptor passing); then the `ustack ctl`
 * client program against an in-process server.
 *
 * The stack runs on a virtual clock; the server is driven by its timer
 * (sim_run_for) or by us_ctl_poll.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "json_check.h"
#include "nettest.h"
#include "test.h"
#include "ustack/capture.h"
#include "ustack/ctl.h"
#include "ustack/socket.h"
#include "ustack/sysctl.h"

extern char **environ;

#define A_STACK "10.1.0.2"
#define A_PEER "10.1.0.1"

static char tmpdir[256];

static void cleanup_tmp(void)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (tmpdir[0] && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

static const char *tpath(const char *name, char *buf, size_t len)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/ustack-ctltest-XXXXXX");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			exit(1);
		}
		atexit(cleanup_tmp);
	}
	snprintf(buf, len, "%s/%s", tmpdir, name);
	return buf;
}

struct bed {
	struct sim sim;
	struct peer p;
	us_stack *s;
	uint32_t a_stack, a_peer;
};

static void bed_init(struct bed *b)
{
	memset(b, 0, sizeof(*b));
	sim_init(&b->sim, 1, 11);
	b->s = b->sim.st[0];
	if (peer_attach(&b->p, b->s, b->sim.clk, "eth0", A_STACK "/24", false) < 0)
		abort();
	b->a_stack = ip4(A_STACK).s_addr;
	b->a_peer = ip4(A_PEER).s_addr;
}

static void bed_free(struct bed *b)
{
	peer_detach(&b->p);
	sim_free(&b->sim);
}

/* Runs a command given as one string of blank-separated words. */
static char *run(us_stack *s, bool json, int *rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static char *run(us_stack *s, bool json, int *rc, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	const char *argv[64];
	int argc = 0;
	for (char *t = strtok(line, " "); t && argc < 64; t = strtok(NULL, " "))
		argv[argc++] = t;
	char *reply = NULL;
	int r = us_ctl_exec(s, argc, argv, json, &reply);
	if (rc)
		*rc = r;
	return reply;
}

/* The JSON reply of a command that must succeed (NULL and a failure
 * recorded otherwise). */
static struct jv *jrun(us_stack *s, const char *cmd)
{
	int rc;
	char *r = run(s, true, &rc, "%s", cmd);
	char err[160];
	struct jv *v = json_parse(r, err, sizeof(err));
	if (rc != 0 || !v) {
		fprintf(stderr, "'%s': rc %d, %s, reply: %s\n", cmd, rc, v ? "" : err, r ? r : "(null)");
		test_failures++;
	}
	free(r);
	return v;
}

/* Text reply of a command that must succeed. */
static char *trun(us_stack *s, const char *cmd)
{
	int rc;
	char *r = run(s, false, &rc, "%s", cmd);
	if (rc != 0) {
		fprintf(stderr, "'%s' failed: %s\n", cmd, r ? r : "(null)");
		test_failures++;
	}
	return r;
}

/* A command that must fail, in both outputs, with msg in the message. */
static void expect_error(us_stack *s, const char *cmd, const char *msg)
{
	int rc;
	char *r = run(s, false, &rc, "%s", cmd);
	if (rc != -1 || !r || !strstr(r, msg)) {
		fprintf(stderr, "'%s': expected an error with '%s', got rc %d: %s\n", cmd, msg, rc,
			r ? r : "(null)");
		test_failures++;
	}
	free(r);
	r = run(s, true, &rc, "%s", cmd);
	struct jv *v = json_parse(r, NULL, 0);
	const char *e = json_str(v, "error");
	if (rc != -1 || !e || !strstr(e, msg)) {
		fprintf(stderr, "'%s' (json): expected {\"error\"} with '%s', got %s\n", cmd, msg,
			r ? r : "(null)");
		test_failures++;
	}
	json_free(v);
	free(r);
}

static bool contains(const char *hay, const char *needle)
{
	if (hay && strstr(hay, needle))
		return true;
	fprintf(stderr, "expected '%s' in:\n%s\n", needle, hay ? hay : "(null)");
	return false;
}

/* ------------------------------------------------------------- commands */

static void test_link(void)
{
	struct bed b;
	bed_init(&b);
	us_stack *s = b.s;
	CHECK(peer_ping(&b.p, b.a_peer, b.a_stack, 1, 1, 56));
	struct us_dev_stats st = dev_stats(s, b.p.ifindex);
	char mac[32], want[128];
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", b.p.stack_mac[0],
		 b.p.stack_mac[1], b.p.stack_mac[2], b.p.stack_mac[3], b.p.stack_mac[4],
		 b.p.stack_mac[5]);
	char *t = trun(s, "link");
	CHECK(contains(t, "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536"));
	CHECK(contains(t, "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500"));
	CHECK(contains(t, "state UP"));
	snprintf(want, sizeof(want), "link/ether %s brd ff:ff:ff:ff:ff:ff", mac);
	CHECK(contains(t, want));
	CHECK(contains(t, "RX: bytes packets errors dropped overrun mcast"));
	CHECK(contains(t, "TX: bytes packets errors dropped overrun"));
	free(t);
	struct jv *v = jrun(s, "link");
	CHECK(v && v->t == J_ARR && v->n == 2);
	CHECK(json_str(v, "[1].ifname") && !strcmp(json_str(v, "[1].ifname"), "eth0"));
	CHECK(json_str(v, "[1].address") && !strcmp(json_str(v, "[1].address"), mac));
	CHECK_EQ(json_num(v, "[1].mtu"), 1500);
	CHECK(json_str(v, "[1].operstate") && !strcmp(json_str(v, "[1].operstate"), "UP"));
	CHECK_EQ(json_num(v, "[1].stats64.rx.packets"), st.rx_packets);
	CHECK_EQ(json_num(v, "[1].stats64.rx.bytes"), st.rx_bytes);
	CHECK_EQ(json_num(v, "[1].stats64.tx.packets"), st.tx_packets);
	CHECK_EQ(json_num(v, "[1].stats64.tx.bytes"), st.tx_bytes);
	CHECK(json_path(v, "[1].stats64.rx.over_errors") != NULL);
	json_free(v);
	/* 10 more pings: 10 more packets each way, exactly */
	for (int i = 0; i < 10; i++)
		CHECK(peer_ping(&b.p, b.a_peer, b.a_stack, 1, (uint16_t)(2 + i), 56));
	v = jrun(s, "link show eth0");
	CHECK(v && v->n == 1);
	CHECK_EQ(json_num(v, "[0].stats64.rx.packets"), st.rx_packets + 10);
	CHECK_EQ(json_num(v, "[0].stats64.tx.packets"), st.tx_packets + 10);
	json_free(v);

	/* link set */
	free(trun(s, "link set eth0 mtu 1400"));
	CHECK_EQ(us_dev_get_mtu(s, b.p.ifindex), 1400);
	v = jrun(s, "link set dev eth0 down");
	CHECK(v && json_path(v, "ok") && json_path(v, "ok")->b);
	json_free(v);
	t = trun(s, "link show eth0");
	CHECK(contains(t, "<BROADCAST,MULTICAST> mtu 1400"));
	CHECK(contains(t, "state DOWN"));
	free(t);
	CHECK(!peer_ping(&b.p, b.a_peer, b.a_stack, 1, 50, 56));
	free(trun(s, "link set eth0 up promisc on"));
	t = trun(s, "link show eth0");
	CHECK(contains(t, "PROMISC,UP,LOWER_UP"));
	free(t);
	free(trun(s, "link set eth0 promisc off mtu 1500"));
	CHECK(peer_ping(&b.p, b.a_peer, b.a_stack, 1, 51, 56));
	expect_error(s, "link set eth0 mtu 10", "out of range");
	expect_error(s, "link set eth0 mtu", "mtu needs a number");
	expect_error(s, "link set nosuch up", "Device \"nosuch\" does not exist.");
	expect_error(s, "link show nosuch", "Device \"nosuch\" does not exist.");
	expect_error(s, "link set eth0", "nothing to change");
	/* nothing changes unless every argument is good */
	expect_error(s, "link set eth0 mtu 1300 bogus", "unknown argument 'bogus'");
	CHECK_EQ(us_dev_get_mtu(s, b.p.ifindex), 1500);
	bed_free(&b);
}

static void test_addr(void)
{
	struct bed b;
	bed_init(&b);
	us_stack *s = b.s;
	char *t = trun(s, "addr");
	CHECK(contains(t, "inet 127.0.0.1/8 scope host lo"));
	CHECK(contains(t, "inet 10.1.0.2/24 brd 10.1.0.255 scope global eth0"));
	free(t);
	free(trun(s, "addr add eth0 10.1.0.3/24"));
	free(trun(s, "addr add 10.1.0.4/32 dev eth0"));
	struct jv *v = jrun(s, "addr show eth0");
	CHECK(v && v->n == 1);
	CHECK_EQ(json_path(v, "[0].addr_info") ? json_path(v, "[0].addr_info")->n : -1, 3);
	CHECK(json_str(v, "[0].addr_info[1].local") &&
	      !strcmp(json_str(v, "[0].addr_info[1].local"), "10.1.0.3"));
	CHECK_EQ(json_num(v, "[0].addr_info[1].prefixlen"), 24);
	CHECK(json_str(v, "[0].addr_info[1].broadcast") &&
	      !strcmp(json_str(v, "[0].addr_info[1].broadcast"), "10.1.0.255"));
	CHECK_EQ(json_num(v, "[0].addr_info[2].prefixlen"), 32);
	CHECK(json_path(v, "[0].addr_info[2].broadcast") == NULL);
	json_free(v);
	/* the new address answers */
	CHECK(peer_ping(&b.p, b.a_peer, ip4("10.1.0.3").s_addr, 2, 1, 20));
	v = jrun(s, "addr del eth0 10.1.0.3/24");
	CHECK(v && json_path(v, "ok"));
	json_free(v);
	CHECK(!peer_ping(&b.p, b.a_peer, ip4("10.1.0.3").s_addr, 2, 2, 20));
	expect_error(s, "addr add eth0 10.1.0.4/32", "already on eth0");
	expect_error(s, "addr del eth0 10.1.0.99/24", "is not on eth0");
	expect_error(s, "addr add eth0", "usage");
	expect_error(s, "addr add nosuch 10.1.0.5/24", "does not exist");
	expect_error(s, "addr add eth0 224.0.0.1/24", "not a valid address");
	expect_error(s, "addr add eth0 10.1.0.5/24 extra", "unexpected 'extra'");
	bed_free(&b);
}

static void test_route(void)
{
	struct bed b;
	bed_init(&b);
	us_stack *s = b.s;
	char *t = trun(s, "route");
	CHECK(contains(t, "10.1.0.0/24 dev eth0 proto kernel scope link src 10.1.0.2\n"));
	free(t);
	free(trun(s, "route add default via 10.1.0.1"));
	free(trun(s, "route add 10.9.0.0/16 dev eth0"));
	free(trun(s, "route add 10.8.0.0/16 via 10.1.0.1 dev eth0"));
	t = trun(s, "route show");
	CHECK(contains(t, "default via 10.1.0.1 dev eth0\n"));
	CHECK(contains(t, "10.9.0.0/16 dev eth0 scope link\n"));
	CHECK(contains(t, "10.8.0.0/16 via 10.1.0.1 dev eth0\n"));
	/* default first, as ip route */
	CHECK(t && !strncmp(t, "default", 7));
	free(t);
	struct jv *v = jrun(s, "route");
	CHECK(v && v->n == 4);
	CHECK(json_str(v, "[0].dst") && !strcmp(json_str(v, "[0].dst"), "default"));
	CHECK(json_str(v, "[0].gateway") && !strcmp(json_str(v, "[0].gateway"), "10.1.0.1"));
	CHECK(json_str(v, "[0].protocol") && !strcmp(json_str(v, "[0].protocol"), "static"));
	json_free(v);
	t = trun(s, "route get 8.8.8.8");
	CHECK(contains(t, "8.8.8.8 via 10.1.0.1 dev eth0 src 10.1.0.2"));
	free(t);
	v = jrun(s, "route get 10.1.0.1");
	CHECK(json_str(v, "[0].dev") && !strcmp(json_str(v, "[0].dev"), "eth0"));
	CHECK(json_path(v, "[0].gateway") == NULL);
	json_free(v);
	expect_error(s, "route del 10.9.0.0/16 via 10.1.0.7", "no such route");
	free(trun(s, "route del 10.9.0.0/16"));
	free(trun(s, "route del default via 10.1.0.1 dev eth0"));
	expect_error(s, "route get 8.8.8.8", "unreachable");
	expect_error(s, "route add default via 10.5.5.5", "not on a connected network");
	expect_error(s, "route add 10.8.0.0/16 via 10.1.0.1", "exists");
	expect_error(s, "route add 10.7.0.1/16 dev eth0", "invalid prefix");
	expect_error(s, "route add 10.7.0.0/33 dev eth0", "bad prefix");
	expect_error(s, "route add 10.7.0.0/16", "give a gateway");
	expect_error(s, "route add 10.7.0.0/16 via x", "bad gateway");
	expect_error(s, "route add 10.7.0.0/16 dev nosuch", "does not exist");
	expect_error(s, "route del 10.99.0.0/16", "no such route");
	bed_free(&b);
}

static void test_neigh(void)
{
	struct bed b;
	bed_init(&b);
	us_stack *s = b.s;
	CHECK(peer_ping(&b.p, b.a_peer, b.a_stack, 1, 1, 20)); /* the stack ARPs for the peer */
	peer_set_neigh(&b.p, ip4("10.1.0.50").s_addr, (const uint8_t *)"\x02\x00\x00\x00\x00\x50");
	char *t = trun(s, "neigh");
	CHECK(contains(t, "10.1.0.1 dev eth0 lladdr 02:00:00:00:00:fe REACHABLE\n"));
	CHECK(contains(t, "10.1.0.50 dev eth0 lladdr 02:00:00:00:00:50 PERMANENT\n"));
	free(t);
	struct jv *v = jrun(s, "neigh show dev eth0");
	CHECK(v && v->n == 2);
	bool found = false;
	for (int i = 0; v && i < v->n; i++) {
		const struct jv *e = json_at(v, i);
		const char *dst = json_str(e, "dst");
		if (dst && !strcmp(dst, "10.1.0.1")) {
			found = true;
			CHECK(json_str(e, "lladdr") && !strcmp(json_str(e, "lladdr"), "02:00:00:00:00:fe"));
			CHECK(json_str(e, "state[0]") && !strcmp(json_str(e, "state[0]"), "REACHABLE"));
		}
	}
	CHECK(found);
	json_free(v);
	/* after the reachable time, STALE */
	sim_run_for(&b.sim, 60ull * 1000000000);
	t = trun(s, "neigh");
	CHECK(contains(t, "10.1.0.1 dev eth0 lladdr 02:00:00:00:00:fe STALE"));
	free(t);
	/* flush keeps the permanent entry, as ip neigh flush */
	v = jrun(s, "neigh flush all");
	CHECK_EQ(json_num(v, "flushed"), 1);
	json_free(v);
	t = trun(s, "neigh");
	CHECK(t && !strstr(t, "10.1.0.1 "));
	CHECK(contains(t, "10.1.0.50"));
	free(t);
	/* an unanswered resolution: INCOMPLETE, then FAILED */
	stack_send_echo(s, 0, ip4("10.1.0.60").s_addr, 1, 1, 8, 64, false);
	t = trun(s, "neigh");
	CHECK(contains(t, "10.1.0.60 dev eth0 INCOMPLETE\n"));
	free(t);
	sim_run_for(&b.sim, 5ull * 1000000000);
	v = jrun(s, "neigh");
	bool failed = false;
	for (int i = 0; v && i < v->n; i++)
		if (json_str(json_at(v, i), "dst") && !strcmp(json_str(json_at(v, i), "dst"), "10.1.0.60"))
			failed = json_str(json_at(v, i), "state[0]") &&
				 !strcmp(json_str(json_at(v, i), "state[0]"), "FAILED") &&
				 !json_path(json_at(v, i), "lladdr");
	CHECK(failed);
	json_free(v);
	free(trun(s, "neigh flush dev eth0"));
	expect_error(s, "neigh flush dev nosuch", "does not exist");
	expect_error(s, "neigh bogus", "usage");
	bed_free(&b);
}

/* A socket whose protocol reports TCP_INFO, to check the -i rendering
 * whatever the TCP code does. */
static void fake_release(struct sock *sk)
{
	sock_put(sk);
}
static void fake_diag(struct sock *sk, struct sock_diag *d)
{
	(void)sk;
	d->state = TCP_ESTABLISHED;
	d->laddr = ip4("10.1.0.2").s_addr;
	d->lport = 80;
	d->raddr = ip4("10.1.0.1").s_addr;
	d->rport = 40000;
	d->recv_q = 5;
	d->send_q = 7;
	d->has_tcp_info = true;
	d->tcp.rto_us = 204000;
	d->tcp.ato_us = 40000;
	d->tcp.rtt_us = 1500;
	d->tcp.rttvar_us = 750;
	d->tcp.snd_mss = 1448;
	d->tcp.rcv_mss = 536;
	d->tcp.snd_cwnd = 10;
	d->tcp.snd_ssthresh = 0x7fffffff;
	d->tcp.bytes_acked = 12345;
	d->tcp.bytes_received = 678;
	d->tcp.unacked = 2;
	d->tcp.retransmits = 1;
	d->tcp.total_retrans = 3;
	d->tcp.snd_wnd = 64000;
	d->tcp.rcv_wnd = 65535;
}
static const struct proto_ops fake_tcp_ops = {
	.family = AF_INET,
	.release = fake_release,
	.diag = fake_diag,
};

static void test_ss(void)
{
	struct bed b;
	bed_init(&b);
	us_stack *s = b.s;
	int u = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(7) };
	REQUIRE(u >= 0 && us_bind(s, u, (struct sockaddr *)&a, sizeof(a)) == 0);
	int c = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in pa = { .sin_family = AF_INET, .sin_port = htons(53),
				  .sin_addr.s_addr = b.a_peer };
	REQUIRE(c >= 0 && us_connect(s, c, (struct sockaddr *)&pa, sizeof(pa)) == 0);
	int r = us_socket(s, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	REQUIRE(r >= 0);
	int l = us_socket(s, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in la = { .sin_family = AF_INET, .sin_port = htons(8080) };
	REQUIRE(l >= 0 && us_bind(s, l, (struct sockaddr *)&la, sizeof(la)) == 0 &&
		us_listen(s, l, 5) == 0);
	struct sock *fk = sk_alloc(s, sizeof(struct sock), AF_INET, SOCK_STREAM, 6, &fake_tcp_ops);
	REQUIRE(fk);
	int ffd = sock_install(s, fk);
	REQUIRE(ffd >= 0);
	/* a datagram waiting in the bound socket's queue: Recv-Q */
	uint8_t f[200], udp[40];
	memset(udp, 0, sizeof(udp));
	put_be16(udp, 5000);
	put_be16(udp + 2, 7);
	put_be16(udp + 4, 8 + 12);
	size_t n = build_ipv4(f, false, b.p.stack_mac, b.p.mac, b.a_peer, b.a_stack, 17, 1, 0, false,
			      64, udp, 8 + 12);
	peer_inject(&b.p, f, n);

	char *t = trun(s, "ss");
	CHECK(contains(t, "Netid State"));
	CHECK(contains(t, "Recv-Q Send-Q Local Address:Port"));
	CHECK(contains(t, "Peer Address:Port"));
	CHECK(contains(t, "0.0.0.0:7"));
	CHECK(contains(t, "10.1.0.1:53"));
	CHECK(contains(t, "LISTEN"));
	CHECK(contains(t, "0.0.0.0:8080"));
	CHECK(contains(t, "ESTAB"));
	CHECK(contains(t, "10.1.0.2:80"));
	CHECK(contains(t, "raw"));
	CHECK(t && !strstr(t, "rto:"));
	free(t);
	t = trun(s, "ss -ti");
	CHECK(contains(t, "\t rto:204 rtt:1.5/0.75 ato:40 mss:1448 rcvmss:536 cwnd:10 "
			  "bytes_acked:12345 bytes_received:678 unacked:2 retrans:1/3"));
	CHECK(t && !strstr(t, "udp"));
	free(t);
	t = trun(s, "ss -u -l");
	CHECK(contains(t, "0.0.0.0:7"));
	CHECK(t && !strstr(t, "10.1.0.1:53")); /* connected: not listening */
	CHECK(t && !strstr(t, "8080"));
	free(t);
	t = trun(s, "ss -e --udp");
	char fdw[16];
	snprintf(fdw, sizeof(fdw), "fd:%d", u);
	CHECK(contains(t, fdw));
	free(t);

	struct jv *v = jrun(s, "ss -a -i");
	REQUIRE(v && v->t == J_ARR);
	CHECK_EQ(v->n, 5);
	int seen = 0;
	for (int i = 0; i < v->n; i++) {
		const struct jv *e = json_at(v, i);
		const char *netid = json_str(e, "netid"), *state = json_str(e, "state");
		REQUIRE(netid && state);
		if (!strcmp(netid, "udp") && json_num(e, "lport") == 7) {
			seen |= 1;
			CHECK(!strcmp(state, "UNCONN"));
			CHECK(json_num(e, "recv_q") > 0);
			CHECK_EQ(json_num(e, "fd"), u);
		} else if (!strcmp(netid, "udp")) {
			seen |= 2;
			CHECK(!strcmp(state, "ESTAB"));
			CHECK(!strcmp(json_str(e, "peer"), A_PEER));
			CHECK_EQ(json_num(e, "pport"), 53);
		} else if (!strcmp(netid, "raw")) {
			seen |= 4;
			CHECK_EQ(json_num(e, "lport"), IPPROTO_ICMP);
		} else if (!strcmp(netid, "tcp") && !strcmp(state, "LISTEN")) {
			seen |= 8;
			CHECK_EQ(json_num(e, "lport"), 8080);
			CHECK_EQ(json_num(e, "send_q"), 5);
		} else if (!strcmp(netid, "tcp") && !strcmp(state, "ESTAB")) {
			seen |= 16;
			CHECK_EQ(json_num(e, "tcp_info.rto"), 204);
			CHECK_EQ(json_num(e, "tcp_info.cwnd"), 10);
			CHECK_EQ(json_num(e, "tcp_info.bytes_acked"), 12345);
			CHECK_EQ(json_num(e, "recv_q"), 5);
			CHECK_EQ(json_num(e, "send_q"), 7);
		}
	}
	CHECK_EQ(seen, 31);
	json_free(v);
	v = jrun(s, "ss -t");
	CHECK(v && v->n == 2);
	json_free(v);
	expect_error(s, "ss -q", "unknown option '-q'");
	expect_error(s, "ss --bogus", "unknown option '--bogus'");
	expect_error(s, "ss foo", "unexpected 'foo'");
	us_close(s, u);
	us_close(s, c);
	us_close(s, r);
	us_close(s, l);
	us_close(s, ffd);
	v = jrun(s, "ss");
	CHECK(v && v->n == 0);
	json_free(v);
	bed_free(&b);
}

/* 100 pings: IcmpInEchos and IcmpOutEchoReps grow by exactly 100. */
static void test_nstat(void)
{
	struct bed b;
	bed_init(&b);
	us_stack *s = b.s;
	peer_set_neigh(&b.p, b.a_peer, NULL);
	struct jv *v = jrun(s, "nstat"); /* first run: absolute, sets the history */
	json_free(v);
	for (int i = 0; i < 100; i++)
		CHECK(peer_ping(&b.p, b.a_peer, b.a_stack, 9, (uint16_t)i, 32));
	v = jrun(s, "nstat");
	CHECK_EQ(json_num(v, "kernel.IcmpInEchos"), 100);
	CHECK_EQ(json_num(v, "kernel.IcmpOutEchoReps"), 100);
	CHECK_EQ(json_num(v, "kernel.IcmpInMsgs"), 100);
	CHECK_EQ(json_num(v, "kernel.IpInReceives"), 100);
	CHECK_EQ(json_num(v, "kernel.IpOutRequests"), 100);
	CHECK(json_path(v, "kernel.TcpActiveOpens") == NULL); /* zeros left out */
	json_free(v);
	/* nothing happened since: empty */
	v = jrun(s, "nstat");
	CHECK(v && json_path(v, "kernel") && json_path(v, "kernel")->n == 0);
	json_free(v);
	for (int i = 0; i < 7; i++)
		CHECK(peer_ping(&b.p, b.a_peer, b.a_stack, 9, (uint16_t)(200 + i), 32));
	char *t = trun(s, "nstat -s"); /* -s: shown, history kept */
	CHECK(contains(t, "#kernel\n"));
	CHECK(contains(t, "IcmpInEchos                     7                  0.0\n"));
	free(t);
	t = trun(s, "nstat Icmp*Echo*");
	CHECK(contains(t, "IcmpInEchos                     7 "));
	CHECK(contains(t, "IcmpOutEchoReps                 7 "));
	CHECK(t && !strstr(t, "IpInReceives"));
	free(t);
	v = jrun(s, "nstat -a");
	CHECK_EQ(json_num(v, "kernel.IcmpInEchos"), 107);
	json_free(v);
	v = jrun(s, "nstat -r -a IcmpInEchos");
	CHECK_EQ(json_num(v, "kernel.IcmpInEchos"), 107);
	CHECK(json_path(v, "kernel") && json_path(v, "kernel")->n == 1);
	json_free(v);
	/* -z: zeros too, every counter, in the order of /proc/net/snmp then
	 * /proc/net/netstat, then ARP and the drop reasons */
	t = trun(s, "nstat -az");
	const char *order[] = { "IpInReceives ", "IcmpInMsgs ", "TcpActiveOpens ",
				"UdpInDatagrams ", "IpExtInOctets ", "ArpInRequests ",
				"Drop:IP_CSUM " };
	const char *prev = t;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const char *at = t ? strstr(t, order[i]) : NULL;
		CHECK(at != NULL);
		if (at) {
			CHECK(at > prev || i == 0);
			prev = at;
		}
	}
	/* every counter of the stack is in it */
	uint64_t val;
	CHECK(us_stack_counter(s, "TcpInSegs", &val) == 0 && strstr(t, "TcpInSegs"));
	for (int i = 0; i < MIB_MAX; i++)
		CHECK(strstr(t, mib_names[i]) != NULL);
	free(t);
	v = jrun(s, "nstat -az");
	CHECK(v && json_path(v, "kernel") && json_path(v, "kernel")->n == MIB_MAX + DROP_MAX);
	json_free(v);
	expect_error(s, "nstat -x", "unknown option '-x'");
	expect_error(s, "nstat --bogus", "unknown option");
	bed_free(&b);
}

static void test_sysctl(void)
{
	struct bed b;
	bed_init(&b);
	us_stack *s = b.s;
	char *t = trun(s, "sysctl -a");
	CHECK(contains(t, "net.ipv4.ip_forward = 0\n"));
	CHECK(contains(t, "net.ipv4.ip_default_ttl = 64\n"));
	CHECK(contains(t, "net.ipv4.ip_local_port_range = 32768\t60999\n"));
	CHECK(contains(t, "net.core.rmem_max = 212992\n"));
	CHECK(contains(t, "net.ipv4.neigh.default.gc_thresh3 = 1024\n"));
	CHECK(contains(t, "net.ipv4.ipfrag_time = 30\n"));
	/* the list is in name order (the table must stay sorted) */
	char prevname[128] = "";
	int lines = 0;
	for (char *line = t; line && *line;) {
		char *nl = strchr(line, '\n');
		char name[128];
		size_t k = strcspn(line, " ");
		if (k < sizeof(name)) {
			memcpy(name, line, k);
			name[k] = 0;
			CHECK(strcmp(prevname, name) < 0);
			strcpy(prevname, name);
		}
		lines++;
		line = nl ? nl + 1 : NULL;
	}
	CHECK(lines >= 20);
	free(t);
	struct jv *v = jrun(s, "sysctl");
	CHECK(v && v->t == J_OBJ && v->n == lines);
	CHECK(json_get(v, "net.ipv4.ip_forward") && json_get(v, "net.ipv4.ip_forward")->num == 0);
	CHECK(json_get(v, "net.ipv4.ip_local_port_range") &&
	      !strcmp(json_get(v, "net.ipv4.ip_local_port_range")->str, "32768\t60999"));
	json_free(v);

	t = trun(s, "sysctl net.ipv4.ip_forward=1");
	CHECK(t && !strcmp(t, "net.ipv4.ip_forward = 1\n"));
	free(t);
	char buf[64];
	CHECK(us_sysctl_get(s, "net.ipv4.ip_forward", buf, sizeof(buf)) == 0 && !strcmp(buf, "1"));
	t = trun(s, "sysctl -n net/ipv4/ip_default_ttl");
	CHECK(t && !strcmp(t, "64\n"));
	free(t);
	v = jrun(s, "sysctl net.ipv4.ip_default_ttl=32 net.ipv4.ipfrag_time=10");
	CHECK(json_get(v, "net.ipv4.ip_default_ttl") && json_get(v, "net.ipv4.ip_default_ttl")->num == 32);
	json_free(v);
	CHECK(us_sysctl_get(s, "net.ipv4.ipfrag_time", buf, sizeof(buf)) == 0 && !strcmp(buf, "10"));
	/* the TTL of what the stack sends */
	CHECK(peer_ping(&b.p, b.a_peer, b.a_stack, 1, 1, 8));
	{
		int rc;
		char *r = run(s, false, &rc, "sysctl net.ipv4.icmp_echo_ignore_all=1");
		free(r);
		CHECK(!peer_ping(&b.p, b.a_peer, b.a_stack, 1, 2, 8));
		r = run(s, false, &rc, "sysctl net.ipv4.icmp_echo_ignore_all=0");
		free(r);
		CHECK(peer_ping(&b.p, b.a_peer, b.a_stack, 1, 3, 8));
	}
	/* several values in one: any blank separates */
	{
		const char *argv[] = { "sysctl", "net.ipv4.ip_local_port_range=1024 2048" };
		char *reply;
		CHECK(us_ctl_exec(s, 2, argv, false, &reply) == 0);
		CHECK(reply && !strcmp(reply, "net.ipv4.ip_local_port_range = 1024\t2048\n"));
		free(reply);
	}
	expect_error(s, "sysctl net.ipv4.ip_default_ttl=0", "expected an integer in 1..255");
	expect_error(s, "sysctl net.ipv4.ip_forward=2", "expected 0 or 1");
	expect_error(s, "sysctl net.ipv4.ip_forward=yes", "Invalid argument");
	expect_error(s, "sysctl net.ipv4.ip_local_port_range=9", "LOW HIGH");
	expect_error(s, "sysctl net.ipv4.nosuch", "unknown key 'net.ipv4.nosuch'");
	expect_error(s, "sysctl -x", "unknown option");
	/* all or nothing */
	expect_error(s, "sysctl net.ipv4.ip_forward=0 net.ipv4.ip_default_ttl=999", "1..255");
	CHECK(us_sysctl_get(s, "net.ipv4.ip_forward", buf, sizeof(buf)) == 0 && !strcmp(buf, "1"));
	/* the public API */
	CHECK(us_sysctl_set(s, "net.core.rmem_default", "65536") == 0);
	int fd = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	int rcv = 0;
	socklen_t rl = sizeof(rcv);
	CHECK(us_getsockopt(s, fd, SOL_SOCKET, SO_RCVBUF, &rcv, &rl) == 0);
	CHECK_EQ(rcv, 65536);
	us_close(s, fd);
	CHECK(us_sysctl_set(s, "net.core.rmem_default", "1") < 0 && errno == EINVAL);
	CHECK(us_sysctl_set(s, "nosuch", "1") < 0 && errno == ENOENT);
	CHECK(us_sysctl_get(s, "nosuch", buf, sizeof(buf)) < 0 && errno == ENOENT);
	CHECK(us_sysctl_get(s, "net.core.rmem_default", buf, 3) < 0 && errno == ENOSPC);
	bed_free(&b);
}

static void test_capture_cmd(void)
{
	struct bed b;
	bed_init(&b);
	us_stack *s = b.s;
	char path[300], cmd[512];
	tpath("ctl.pcap", path, sizeof(path));
	snprintf(cmd, sizeof(cmd), "capture start -i eth0 -w %s -s 128 icmp and host 10.1.0.1", path);
	char *t = trun(s, cmd);
	char want[700];
	snprintf(want, sizeof(want), "capture 1: listening on eth0, link-type EN10MB (Ethernet), "
				     "snapshot length 128 bytes, writing pcap to %s\n", path);
	CHECK(t && !strcmp(t, want));
	free(t);
	for (int i = 0; i < 3; i++)
		CHECK(peer_ping(&b.p, b.a_peer, b.a_stack, 4, (uint16_t)i, 400));
	t = trun(s, "capture");
	CHECK(contains(t, "ID DEV  FORMAT LINK   SNAPLEN CAPTURED DROPPED STATE   OUTPUT"));
	CHECK(contains(t, "icmp and host 10.1.0.1"));
	CHECK(contains(t, "running"));
	free(t);
	struct jv *v = jrun(s, "capture list");
	CHECK(v && v->n == 1);
	CHECK_EQ(json_num(v, "[0].captured"), 6);
	CHECK_EQ(json_num(v, "[0].snaplen"), 128);
	CHECK(json_str(v, "[0].filter") && !strcmp(json_str(v, "[0].filter"), "icmp and host 10.1.0.1"));
	json_free(v);
	t = trun(s, "capture stop 1");
	CHECK(contains(t, "capture 1 stopped\n6 packets captured\n"));
	CHECK(contains(t, "0 packets dropped by buffer\n"));
	free(t);
	struct stat sb;
	CHECK(stat(path, &sb) == 0 && sb.st_size == 24 + 6 * (16 + 128));
	/* JSON, pcapng, stop all */
	snprintf(cmd, sizeof(cmd), "capture start -w %s --pcapng -Q in", path);
	v = jrun(s, cmd);
	CHECK(json_str(v, "format") && !strcmp(json_str(v, "format"), "pcapng"));
	CHECK(json_str(v, "dev") && !strcmp(json_str(v, "dev"), "eth0"));
	int id = (int)json_num(v, "id");
	CHECK(id == 2);
	json_free(v);
	CHECK(peer_ping(&b.p, b.a_peer, b.a_stack, 4, 9, 10));
	v = jrun(s, "capture stop");
	CHECK(v && v->n == 1);
	CHECK_EQ(json_num(v, "[0].captured"), 1);
	CHECK_EQ(json_num(v, "[0].id"), 2);
	json_free(v);
	t = trun(s, "capture stop");
	CHECK(t && !strcmp(t, "no capture running\n"));
	free(t);
	snprintf(cmd, sizeof(cmd), "capture start -w %s tcp prot 80", path);
	expect_error(s, cmd, "syntax error");
	expect_error(s, "capture start icmp", "give -w FILE");
	expect_error(s, "capture start -w /nonexistent/x.pcap", "cannot open '/nonexistent/x.pcap'");
	expect_error(s, "capture start -w x -s 999999", "expected 0..262144");
	expect_error(s, "capture start -w x -Q sideways", "expected in, out or inout");
	expect_error(s, "capture start -w x -C 0", "millions of bytes");
	expect_error(s, "capture start -w x -i nosuch", "no device 'nosuch'");
	expect_error(s, "capture start -w x --frobnicate", "unknown option '--frobnicate'");
	expect_error(s, "capture stop 77", "no capture 77");
	expect_error(s, "capture stop x", "usage");
	expect_error(s, "capture bogus", "usage");
	unlink(path);
	bed_free(&b);
}

static int fake_trace(struct us_stack *s, const char *conn, bool json, struct ctl_out *out,
		      char *err, size_t errlen)
{
	(void)s;
	if (strcmp(conn, "good")) {
		snprintf(err, errlen, "trace: no connection %s", conn);
		return -1;
	}
	if (json) {
		j_obj(out, NULL);
		j_str(out, "conn", conn);
		j_obj_end(out);
	} else {
		out_printf(out, "trace of %s\n", conn);
	}
	return 0;
}

static void test_misc_cmds(void)
{
	struct bed b;
	bed_init(&b);
	us_stack *s = b.s;
	char *t = trun(s, "log");
	CHECK(t && !strcmp(t, "log level warning\n"));
	free(t);
	struct jv *v = jrun(s, "log debug");
	CHECK(json_str(v, "level") && !strcmp(json_str(v, "level"), "debug"));
	json_free(v);
	free(trun(s, "log warn"));
	expect_error(s, "log loud", "unknown level 'loud'");
	/* trace: not there until the TCP code registers a handler */
	expect_error(s, "trace 10.1.0.2:80-10.1.0.1:4000", "not available");
	expect_error(s, "trace", "usage");
	ctl_set_trace_handler(s, fake_trace);
	t = trun(s, "trace good");
	CHECK(t && !strcmp(t, "trace of good\n"));
	free(t);
	v = jrun(s, "trace good");
	CHECK(json_str(v, "conn") && !strcmp(json_str(v, "conn"), "good"));
	json_free(v);
	expect_error(s, "trace bad", "no connection bad");
	t = trun(s, "help");
	static const char *const names[] = { "link", "addr", "route", "neigh", "ss", "nstat",
					     "sysctl", "capture", "log", "trace" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char w[32];
		snprintf(w, sizeof(w), "\n%s ", names[i]);
		CHECK(t && (strstr(t, w) || !strncmp(t, names[i], strlen(names[i]))));
	}
	free(t);
	v = jrun(s, "help");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		CHECK(json_get(v, names[i]) != NULL);
	json_free(v);
	/* aliases of the Linux tools */
	free(trun(s, "address"));
	free(trun(s, "neighbour show"));
	expect_error(s, "", "empty request");
	expect_error(s, "frobnicate", "unknown command 'frobnicate'");
	bed_free(&b);
}

/* --------------------------------------------------------------- socket */

static int client(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%.*s", (int)sizeof(a.sun_path) - 1, path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static void send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

/* Reads one framed reply (and nothing after it), running the stack's
 * timer meanwhile. Returns the body (malloc'ed) and sets *ok; NULL if the
 * connection closed or nothing came within max_ms of virtual time. */
static char *reply(struct sim *sim, int fd, bool *ok, int max_ms)
{
	char hdr[64];
	size_t hl = 0;
	char *body = NULL;
	size_t blen = 0, got = 0;
	bool have_hdr = false;
	for (int waited = 0; waited <= max_ms; waited += 25) {
		for (;;) {
			ssize_t n;
			if (!have_hdr) {
				n = read(fd, hdr + hl, 1);
				if (n == 1 && hdr[hl] == '\n') {
					hdr[hl] = 0;
					char st[8];
					unsigned long bl;
					if (sscanf(hdr, "%7s %lu", st, &bl) != 2)
						return NULL;
					*ok = !strcmp(st, "ok");
					blen = bl;
					body = malloc(blen + 1);
					have_hdr = true;
					continue;
				}
				if (n == 1 && ++hl >= sizeof(hdr))
					return NULL;
			} else if (got < blen) {
				n = read(fd, body + got, blen - got);
				if (n > 0)
					got += (size_t)n;
			} else {
				body[blen] = 0;
				return body;
			}
			if (n == 0) {
				free(body);
				return NULL; /* closed */
			}
			if (n < 0)
				break;
		}
		sim_run_for(sim, 25000000);
	}
	free(body);
	return NULL;
}

static bool closed_by_server(struct sim *sim, int fd)
{
	char c;
	for (int i = 0; i < 40; i++) {
		ssize_t n = read(fd, &c, 1);
		if (n == 0)
			return true;
		sim_run_for(sim, 25000000);
	}
	return false;
}

static void test_socket(void)
{
	struct bed b;
	bed_init(&b);
	us_stack *s = b.s;
	char path[300];
	tpath("ctl.sock", path, sizeof(path));
	REQUIRE(us_ctl_listen(s, path) == 0);
	struct stat sb;
	REQUIRE(lstat(path, &sb) == 0);
	CHECK(S_ISSOCK(sb.st_mode));
	CHECK_EQ(sb.st_mode & 0777, 0600);
	CHECK(us_ctl_listen(s, path) < 0 && errno == EBUSY);
	/* another stack: the path is taken by a live server */
	us_stack *s2 = us_stack_new(NULL);
	CHECK(us_ctl_listen(s2, path) < 0 && errno == EADDRINUSE);

	/* words */
	int fd = client(path);
	REQUIRE(fd >= 0);
	send_all(fd, "link show eth0\n", 15);
	bool ok = false;
	char *body = reply(&b.sim, fd, &ok, 200);
	CHECK(ok && body && strstr(body, "2: eth0: <BROADCAST"));
	free(body);
	/* several requests at once, JSON array, --json */
	const char *two = "[\"--json\",\"addr\",\"show\",\"eth0\"]\n--json 'nstat' \"-a\"\n";
	send_all(fd, two, strlen(two));
	body = reply(&b.sim, fd, &ok, 200);
	struct jv *v = json_parse(body, NULL, 0);
	CHECK(ok && v && json_str(v, "[0].addr_info[0].local") &&
	      !strcmp(json_str(v, "[0].addr_info[0].local"), A_STACK));
	json_free(v);
	free(body);
	body = reply(&b.sim, fd, &ok, 200);
	v = json_parse(body, NULL, 0);
	CHECK(ok && v && json_path(v, "kernel"));
	json_free(v);
	free(body);
	/* malformed: an error reply, and the connection stays usable */
	static const char *const bad[] = { "[\"link\"\n", "[link]\n", "[\"a\",]\n", "[\"\\x\"]\n",
					   "[\"a\"] x\n", "\"unterminated\n", "[\"\\u0000\"]\n",
					   "[1,2]\n", "frobnicate\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		send_all(fd, bad[i], strlen(bad[i]));
		body = reply(&b.sim, fd, &ok, 200);
		CHECK(body && !ok);
		if (!body || ok)
			fprintf(stderr, "request %s: %s\n", bad[i], body ? body : "no reply");
		free(body);
	}
	send_all(fd, "--json [\n", 9);
	body = reply(&b.sim, fd, &ok, 200);
	v = json_parse(body, NULL, 0);
	CHECK(!ok && json_str(v, "error"));
	json_free(v);
	free(body);
	send_all(fd, "\n\r\nlog\r\n", 8); /* blank lines ignored, CRLF accepted */
	body = reply(&b.sim, fd, &ok, 200);
	CHECK(ok && body && !strcmp(body, "log level warning\n"));
	free(body);
	/* NUL in a request: error and the connection is closed */
	send_all(fd, "li\0nk\n", 6);
	body = reply(&b.sim, fd, &ok, 200);
	CHECK(body && !ok && strstr(body, "NUL"));
	free(body);
	CHECK(closed_by_server(&b.sim, fd));
	close(fd);

	/* too long */
	fd = client(path);
	char big[9000];
	memset(big, 'a', sizeof(big));
	send_all(fd, big, sizeof(big));
	body = reply(&b.sim, fd, &ok, 500);
	CHECK(body && !ok && strstr(body, "too long"));
	free(body);
	CHECK(closed_by_server(&b.sim, fd));
	close(fd);

	/* a partial request, then silence: an error after 5 s */
	fd = client(path);
	send_all(fd, "lin", 3);
	body = reply(&b.sim, fd, &ok, 4000);
	CHECK(body == NULL);
	body = reply(&b.sim, fd, &ok, 2000);
	CHECK(body && !ok && strstr(body, "incomplete"));
	free(body);
	CHECK(closed_by_server(&b.sim, fd));
	close(fd);

	/* a client that disconnects mid-request cannot hang anything */
	for (int i = 0; i < 20; i++) {
		fd = client(path);
		send_all(fd, "[\"nstat\",", 9);
		close(fd);
		us_ctl_poll(s); /* (the listen backlog is 16) */
	}
	sim_run_for(&b.sim, 100000000);
	CHECK(peer_ping(&b.p, b.a_peer, b.a_stack, 1, 1, 8));
	/* a request ending with the stream (no newline) is still served */
	fd = client(path);
	send_all(fd, "log", 3);
	shutdown(fd, SHUT_WR);
	body = reply(&b.sim, fd, &ok, 200);
	CHECK(ok && body && !strcmp(body, "log level warning\n"));
	free(body);
	close(fd);

	/* a client that never reads a large reply is dropped after 10 s */
	fd = client(path);
	int sz = 4096;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	for (int i = 0; i < 200; i++)
		send_all(fd, "nstat -az\n", 10);
	sim_run_for(&b.sim, 12ull * 1000000000);
	int fd2 = client(path); /* the server still serves others */
	send_all(fd2, "log\n", 4);
	body = reply(&b.sim, fd2, &ok, 200);
	CHECK(ok && body);
	free(body);
	close(fd2);
	/* drain what fd got: it ends with the close */
	char tmp[65536];
	ssize_t n;
	size_t total = 0;
	bool eof = false;
	for (int i = 0; i < 100 && !eof; i++) {
		while ((n = read(fd, tmp, sizeof(tmp))) > 0)
			total += (size_t)n;
		if (n == 0)
			eof = true;
		sim_run_for(&b.sim, 25000000);
	}
	CHECK(eof);
	CHECK(total > 0);
	close(fd);

	/* more clients than slots: the extra ones are told */
	sim_run_for(&b.sim, 50000000);
	int many[20];
	for (int i = 0; i < 20; i++) {
		many[i] = client(path);
		us_ctl_poll(s);
	}
	sim_run_for(&b.sim, 50000000);
	int told = 0;
	for (int i = 0; i < 20; i++) {
		char m[128];
		ssize_t k = read(many[i], m, sizeof(m) - 1);
		if (k > 0) {
			m[k] = 0;
			/* a well-framed reply: the length is what follows */
			char *nl = strchr(m, '\n');
			unsigned long bl = 0;
			if (strstr(m, "too many") && nl && sscanf(m, "error %lu", &bl) == 1 &&
			    (size_t)(k - (nl + 1 - m)) == bl)
				told++;
		}
		close(many[i]);
	}
	CHECK_EQ(told, 4);

	/* a descriptor passed with the request: the capture's output */
	int pfd[2];
	REQUIRE(pipe(pfd) == 0);
	fd = client(path);
	const char *req = "[\"capture\",\"start\",\"-w\",\"-\",\"icmp\"]\n";
	struct iovec iov = { (void *)req, strlen(req) };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	memset(&cm, 0, sizeof(cm));
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &pfd[1], sizeof(int));
	CHECK(sendmsg(fd, &mh, 0) == (ssize_t)strlen(req));
	close(pfd[1]);
	body = reply(&b.sim, fd, &ok, 200);
	CHECK(ok && body && strstr(body, "writing pcap to fd"));
	free(body);
	close(fd);
	CHECK(peer_ping(&b.p, b.a_peer, b.a_stack, 1, 2, 8));
	sim_run_for(&b.sim, 200000000);
	fd = client(path);
	send_all(fd, "capture stop\n", 13);
	body = reply(&b.sim, fd, &ok, 200);
	CHECK(ok && body && strstr(body, "2 packets captured"));
	free(body);
	close(fd);
	uint8_t pc[4096];
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	ssize_t got = read(pfd[0], pc, sizeof(pc));
	/* header + the request (50 bytes) and the reply (padded to 60), then
	 * EOF: the capture closed its descriptor */
	CHECK_EQ(got, 24 + (16 + 50) + (16 + 60));
	uint32_t magic;
	memcpy(&magic, pc, 4);
	CHECK_EQ(magic, 0xa1b2c3d4u);
	CHECK_EQ(read(pfd[0], pc, sizeof(pc)), 0);
	close(pfd[0]);

	/* close: the path goes */
	us_ctl_close(s);
	CHECK(lstat(path, &sb) < 0 && errno == ENOENT);
	CHECK(client(path) < 0);
	/* a stale socket left behind is replaced; a regular file is not */
	int st = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.*s", (int)sizeof(sa.sun_path) - 1, path);
	REQUIRE(bind(st, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	close(st);
	CHECK(us_ctl_listen(s2, path) == 0);
	us_ctl_close(s2);
	int rf = open(path, O_CREAT | O_WRONLY, 0600);
	close(rf);
	CHECK(us_ctl_listen(s2, path) < 0 && errno == EEXIST);
	CHECK(lstat(path, &sb) == 0 && S_ISREG(sb.st_mode));
	unlink(path);
	char longp[200];
	memset(longp, 'x', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = 0;
	CHECK(us_ctl_listen(s2, longp) < 0 && errno == ENAMETOOLONG);
	CHECK(us_ctl_listen(s2, "/nonexistent-dir/ctl.sock") < 0 && errno == ENOENT);
	/* freed while listening with clients: everything closed, path gone */
	REQUIRE(us_ctl_listen(s2, path) == 0);
	fd = client(path);
	send_all(fd, "lin", 3);
	us_ctl_poll(s2);
	us_stack_free(s2);
	CHECK(lstat(path, &sb) < 0);
	CHECK(read(fd, tmp, 1) == 0);
	close(fd);
	bed_free(&b);
}

/* ------------------------------------------------- the `ustack ctl` tool */

struct tool {
	int rc;
	char out[1 << 16];
	size_t outlen;
	char err[4096];
	size_t errlen;
};

/* Runs `ustack ctl ARGS...` while serving the stack; stdout_fd, if not
 * -1, becomes the child's stdout instead of a pipe we read. */
static bool run_tool(struct sim *sim, us_stack *s, struct tool *t, int stdout_fd, const char *const *args)
{
	const char *bin = getenv("USTACK_BIN");
	if (!bin)
		return false;
	memset(t, 0, sizeof(*t));
	char *argv[32];
	int n = 0;
	argv[n++] = (char *)bin;
	argv[n++] = (char *)"ctl";
	for (int i = 0; args[i] && n < 31; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	int po[2], pe[2];
	if (pipe(po) < 0 || pipe(pe) < 0)
		return false;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, stdout_fd >= 0 ? stdout_fd : po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	pid_t pid;
	if (posix_spawn(&pid, bin, &fa, NULL, argv, environ) != 0)
		return false;
	posix_spawn_file_actions_destroy(&fa);
	close(po[1]);
	close(pe[1]);
	fcntl(po[0], F_SETFL, O_NONBLOCK);
	fcntl(pe[0], F_SETFL, O_NONBLOCK);
	bool done = false;
	int status = 0;
	for (int i = 0; i < 4000 && !done; i++) {
		struct pollfd pf[2] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 } };
		poll(pf, 2, 2);
		ssize_t k;
		while ((k = read(po[0], t->out + t->outlen, sizeof(t->out) - 1 - t->outlen)) > 0)
			t->outlen += (size_t)k;
		while ((k = read(pe[0], t->err + t->errlen, sizeof(t->err) - 1 - t->errlen)) > 0)
			t->errlen += (size_t)k;
		us_ctl_poll(s);
		(void)sim;
		if (waitpid(pid, &status, WNOHANG) == pid)
			done = true;
	}
	if (!done) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	ssize_t k;
	while ((k = read(po[0], t->out + t->outlen, sizeof(t->out) - 1 - t->outlen)) > 0)
		t->outlen += (size_t)k;
	while ((k = read(pe[0], t->err + t->errlen, sizeof(t->err) - 1 - t->errlen)) > 0)
		t->errlen += (size_t)k;
	t->out[t->outlen] = 0;
	t->err[t->errlen] = 0;
	close(po[0]);
	close(pe[0]);
	t->rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return done;
}

static void test_tool(void)
{
	if (!getenv("USTACK_BIN")) {
		fprintf(stderr, "USTACK_BIN is not set: run through ctest (the tool test cannot run)\n");
		test_failures++;
		return;
	}
	struct bed b;
	bed_init(&b);
	us_stack *s = b.s;
	peer_set_neigh(&b.p, b.a_peer, NULL);
	char path[300];
	tpath("tool.sock", path, sizeof(path));
	REQUIRE(us_ctl_listen(s, path) == 0);
	struct tool *t = calloc(1, sizeof(*t));
	/* every command, both outputs: text shaped like the tool, JSON parsed */
	static const char *const cmds[][4] = {
		{ "link" }, { "addr" }, { "route" }, { "neigh" }, { "ss" }, { "nstat", "-a" },
		{ "sysctl", "net.ipv4.ip_forward" }, { "capture" }, { "log" }, { "help" },
	};
	static const char *const text_want[] = {
		"2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500",
		"inet 10.1.0.2/24 brd 10.1.0.255 scope global eth0",
		"10.1.0.0/24 dev eth0 proto kernel scope link src 10.1.0.2",
		"10.1.0.1 dev eth0 lladdr 02:00:00:00:00:fe PERMANENT",
		"Netid State",
		"#kernel\n",
		"net.ipv4.ip_forward = 0\n",
		"ID DEV",
		"log level warning\n",
		"capture [list]",
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const char *args[8] = { path };
		int k = 1;
		for (int j = 0; j < 4 && cmds[i][j]; j++)
			args[k++] = cmds[i][j];
		REQUIRE(run_tool(&b.sim, s, t, -1, args));
		CHECK_EQ(t->rc, 0);
		CHECK(contains(t->out, text_want[i]));
		const char *jargs[8] = { "--json", path };
		k = 2;
		for (int j = 0; j < 4 && cmds[i][j]; j++)
			jargs[k++] = cmds[i][j];
		REQUIRE(run_tool(&b.sim, s, t, -1, jargs));
		CHECK_EQ(t->rc, 0);
		char err[160];
		struct jv *v = json_parse(t->out, err, sizeof(err));
		if (!v)
			fprintf(stderr, "%s: not JSON (%s): %s\n", cmds[i][0], err, t->out);
		CHECK(v != NULL);
		json_free(v);
	}
	/* counters through the tool: 100 pings */
	const char *base[] = { path, "nstat", NULL };
	REQUIRE(run_tool(&b.sim, s, t, -1, base));
	for (int i = 0; i < 100; i++)
		CHECK(peer_ping(&b.p, b.a_peer, b.a_stack, 5, (uint16_t)i, 16));
	const char *jn[] = { path, "--json", "nstat", NULL };
	REQUIRE(run_tool(&b.sim, s, t, -1, jn));
	struct jv *v = json_parse(t->out, NULL, 0);
	CHECK_EQ(json_num(v, "kernel.IcmpInEchos"), 100);
	CHECK_EQ(json_num(v, "kernel.IcmpOutEchoReps"), 100);
	json_free(v);
	/* a value with blanks survives the trip */
	const char *pr[] = { path, "sysctl", "net.ipv4.ip_local_port_range=2000 3000", NULL };
	REQUIRE(run_tool(&b.sim, s, t, -1, pr));
	CHECK(t->rc == 0 && !strcmp(t->out, "net.ipv4.ip_local_port_range = 2000\t3000\n"));
	/* errors: status 1, message on stderr */
	const char *bad[] = { path, "frobnicate", NULL };
	REQUIRE(run_tool(&b.sim, s, t, -1, bad));
	CHECK_EQ(t->rc, 1);
	CHECK(contains(t->err, "ustack ctl: unknown command 'frobnicate'"));
	CHECK_EQ(t->outlen, 0);
	const char *badj[] = { "--json", path, "sysctl", "nosuch", NULL };
	REQUIRE(run_tool(&b.sim, s, t, -1, badj));
	CHECK_EQ(t->rc, 1);
	v = json_parse(t->err, NULL, 0);
	CHECK(json_str(v, "error") && strstr(json_str(v, "error"), "unknown key"));
	json_free(v);
	const char *none[] = { "/nonexistent/sock", "link", NULL };
	REQUIRE(run_tool(&b.sim, s, t, -1, none));
	CHECK_EQ(t->rc, 1);
	CHECK(contains(t->err, "no control socket at /nonexistent/sock"));
	const char *usage[] = { path, NULL };
	REQUIRE(run_tool(&b.sim, s, t, -1, usage));
	CHECK_EQ(t->rc, 2);
	CHECK(contains(t->err, "usage: ustack ctl"));
	/* capture to the tool's stdout: the stack keeps writing after the
	 * tool is gone; the stream ends when the capture stops */
	int pfd[2];
	REQUIRE(pipe(pfd) == 0);
	const char *cs[] = { path, "capture", "start", "icmp", NULL };
	REQUIRE(run_tool(&b.sim, s, t, pfd[1], cs));
	close(pfd[1]);
	CHECK_EQ(t->rc, 0);
	for (int i = 0; i < 3; i++)
		CHECK(peer_ping(&b.p, b.a_peer, b.a_stack, 6, (uint16_t)i, 16));
	const char *stop[] = { path, "capture", "stop", NULL };
	REQUIRE(run_tool(&b.sim, s, t, -1, stop));
	CHECK(contains(t->out, "6 packets captured"));
	uint8_t pc[4096];
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	ssize_t got = read(pfd[0], pc, sizeof(pc));
	CHECK_EQ(got, 24 + 3 * (16 + 58) + 3 * (16 + 60));
	CHECK_EQ(read(pfd[0], pc, sizeof(pc)), 0);
	close(pfd[0]);
	free(t);
	us_ctl_close(s);
	bed_free(&b);
}

TEST_MAIN(T(test_link), T(test_addr), T(test_route), T(test_neigh), T(test_ss), T(test_nstat),
	  T(test_sysctl), T(test_capture_cmd), T(test_misc_cmds), T(test_socket), T(test_tool))
