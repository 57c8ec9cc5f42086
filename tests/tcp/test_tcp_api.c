/*
 * The socket calls' errors on TCP sockets, as Linux returns them:
 * connect (EINPROGRESS, EALREADY, EISCONN, the second connect() that
 * reports completion, ECONNREFUSED, ECONNABORTED, ENETUNREACH,
 * EHOSTUNREACH after ARP fails, EAFNOSUPPORT, EADDRNOTAVAIL when the
 * ephemeral ports run out), bind (EINVAL, EADDRINUSE with and without
 * SO_REUSEADDR, including over TIME_WAIT, EADDRNOTAVAIL, EAFNOSUPPORT),
 * listen/accept (EINVAL), send/recv/shutdown/getpeername on unconnected
 * sockets (EPIPE, ENOTCONN), MSG_OOB reads (EINVAL), AF_UNSPEC
 * disconnect, blocking calls under virtual time over loopback.
 */
#include <arpa/inet.h>

#include "ustack/sysctl.h"
#include "tcptest.h"
#include "wire/icmp.h"

static struct tt T;

static int sock_nb(us_stack *s)
{
	return us_socket(s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
}

/* connect(): EINPROGRESS, EALREADY while in progress; once established
 * the next connect() reports success (0) and only then EISCONN
 * (inet_stream_connect with sock->state SS_CONNECTING). */
static void connect_in_progress(void)
{
	struct tt *t = &T;
	tt_init(t, 1);
	REQUIRE(tt_connect_syn(t));
	struct sockaddr_in a = sin4(PEER_IP, t->pport);
	CHECK_ERR(us_connect(t->s, t->fd, SA(&a), sizeof(a)), EALREADY);
	CHECK_ERR(us_connect(t->s, t->fd, SA(&a), sizeof(a)), EALREADY);
	char b[4];
	CHECK_ERR(us_send(t->s, t->fd, "x", 1, 0), EAGAIN);
	CHECK_ERR(us_recv(t->s, t->fd, b, sizeof(b), 0), EAGAIN);
	struct sockaddr_in p;
	socklen_t pl = sizeof(p);
	CHECK_ERR(us_getpeername(t->s, t->fd, SA(&p), &pl), ENOTCONN);
	uint32_t iss = t->seg.seq;
	TT_SEND(t, .flags = SYN | ACK, .seq = t->iss, .ack = iss + 1, .syn = &TOPTS_NONE);
	EXPECT_TCP(t, E_FLAGS(ACK));
	CHECK_OK(us_connect(t->s, t->fd, SA(&a), sizeof(a)));
	CHECK_ERR(us_connect(t->s, t->fd, SA(&a), sizeof(a)), EISCONN);
	CHECK_ERR(us_connect(t->s, t->fd, SA(&a), sizeof(a)), EISCONN);
	tt_free(t);
}

/* A refused non-blocking connect: the next connect() reports
 * ECONNREFUSED; once the error is read (SO_ERROR), connect() says
 * ECONNABORTED; a blocking-style retry then starts over. */
static void connect_refused(void)
{
	struct tt *t = &T;
	tt_init(t, 2);
	REQUIRE(tt_connect_syn(t));
	struct sockaddr_in a = sin4(PEER_IP, t->pport);
	tt_seg(t, RST | ACK, 0, t->seg.seq + 1, NULL, 0);
	CHECK_ERR(us_connect(t->s, t->fd, SA(&a), sizeof(a)), ECONNREFUSED);
	CHECK_ERR(us_connect(t->s, t->fd, SA(&a), sizeof(a)), EINPROGRESS);
	EXPECT_TCP(t, E_FLAGS(SYN));
	tt_seg(t, RST | ACK, 0, t->seg.seq + 1, NULL, 0);
	CHECK_EQ(get_int_opt(t->s, t->fd, SOL_SOCKET, SO_ERROR), ECONNREFUSED);
	CHECK_ERR(us_connect(t->s, t->fd, SA(&a), sizeof(a)), ECONNABORTED);
	tt_free(t);
}

/* connect() on a listener is EISCONN (inet_stream_connect: sk_state is
 * not CLOSE); on a reset connection EISCONN too. */
static void connect_on_listener_or_dead(void)
{
	struct tt *t = &T;
	tt_init(t, 3);
	REQUIRE(tt_listen(t, 80, 4) >= 0);
	struct sockaddr_in a = sin4(PEER_IP, 40000);
	CHECK_ERR(us_connect(t->s, t->lfd, SA(&a), sizeof(a)), EISCONN);
	REQUIRE(tt_passive_open(t, &TOPTS_NONE));
	tt_seg(t, RST, t->snd_nxt, 0, NULL, 0);
	CHECK_ERR(us_connect(t->s, t->fd, SA(&a), sizeof(a)), EISCONN);
	tt_free(t);
}

/* Calls on a socket that never connected. */
static void unconnected_calls(void)
{
	struct tt *t = &T;
	tt_init(t, 4);
	us_stack *s = t->s;
	int fd = us_socket(s, AF_INET, SOCK_STREAM, 0);
	char b[4];
	CHECK_ERR(us_send(s, fd, "x", 1, MSG_NOSIGNAL), EPIPE);
	CHECK_ERR(us_recv(s, fd, b, sizeof(b), 0), ENOTCONN);
	CHECK_ERR(us_shutdown(s, fd, SHUT_RDWR), ENOTCONN);
	CHECK_ERR(us_shutdown(s, fd, 7), EINVAL);
	struct sockaddr_in p;
	socklen_t pl = sizeof(p);
	CHECK_ERR(us_getpeername(s, fd, SA(&p), &pl), ENOTCONN);
	pl = sizeof(p);
	CHECK_OK(us_getsockname(s, fd, SA(&p), &pl));
	CHECK_EQ(p.sin_port, 0);
	CHECK_EQ(p.sin_addr.s_addr, 0);
	CHECK_ERR(us_accept(s, fd, NULL, NULL), EINVAL);
	CHECK_ERR(us_accept4(s, fd, NULL, NULL, 0x4242), EINVAL);
	/* A listener. */
	REQUIRE(tt_listen(t, 80, 4) >= 0);
	CHECK_ERR(us_send(s, t->lfd, "x", 1, MSG_NOSIGNAL), EPIPE);
	CHECK_ERR(us_recv(s, t->lfd, b, sizeof(b), 0), ENOTCONN);
	pl = sizeof(p);
	CHECK_ERR(us_getpeername(s, t->lfd, SA(&p), &pl), ENOTCONN);
	CHECK_ERR(us_accept(s, t->lfd, NULL, NULL), EAGAIN);
	CHECK_OK(us_close(s, fd));
	CHECK_ERR(us_close(s, fd), EBADF);
	CHECK_ERR(us_send(s, fd, "x", 1, 0), EBADF);
	tt_free(t);
}

/* On a connected socket: listen() and bind() are EINVAL, MSG_OOB reads
 * EINVAL (urgent data stays inline), writes after SHUT_WR EPIPE. */
static void connected_calls(void)
{
	struct tt *t = &T;
	tt_init(t, 5);
	REQUIRE(tt_listen(t, 80, 4) >= 0);
	REQUIRE(tt_passive_open(t, &TOPTS_NONE));
	us_stack *s = t->s;
	CHECK_ERR(us_listen(s, t->fd, 4), EINVAL);
	struct sockaddr_in a = sin4(STACK_IP, 0);
	CHECK_ERR(us_bind(s, t->fd, SA(&a), sizeof(a)), EINVAL);
	char b[4];
	CHECK_ERR(us_recv(s, t->fd, b, sizeof(b), MSG_OOB), EINVAL);
	CHECK_OK(us_shutdown(s, t->fd, SHUT_WR));
	CHECK_ERR(us_send(s, t->fd, "x", 1, MSG_NOSIGNAL), EPIPE);
	struct sockaddr_in p;
	socklen_t pl = sizeof(p);
	CHECK_OK(us_getpeername(s, t->fd, SA(&p), &pl));
	CHECK_EQ(ntohs(p.sin_port), 40000);
	tt_free(t);
}

/* Addresses: bind twice, a foreign address, a wrong family or length. */
static void bind_errors(void)
{
	struct tt *t = &T;
	tt_init(t, 6);
	us_stack *s = t->s;
	int fd = us_socket(s, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = sin4(STACK_IP, 0);
	CHECK_OK(us_bind(s, fd, SA(&a), sizeof(a)));
	CHECK(local_port(s, fd) >= 32768);
	CHECK_ERR(us_bind(s, fd, SA(&a), sizeof(a)), EINVAL);
	int f2 = us_socket(s, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in far = sin4("10.9.9.9", 80);
	CHECK_ERR(us_bind(s, f2, SA(&far), sizeof(far)), EADDRNOTAVAIL);
	CHECK_ERR(us_bind(s, f2, SA(&a), 8), EINVAL);
	struct sockaddr_in bad = a;
	bad.sin_family = AF_INET6;
	CHECK_ERR(us_bind(s, f2, SA(&bad), sizeof(bad)), EAFNOSUPPORT);
	CHECK_ERR(us_connect(s, f2, SA(&bad), sizeof(bad)), EAFNOSUPPORT);
	tt_free(t);
}

/* EADDRINUSE (inet_csk_bind_conflict): without SO_REUSEADDR on both, or
 * against a listener even with it (Linux checks the other socket's
 * state: two SO_REUSEADDR sockets bound alike, the first listen() wins); TIME_WAIT holds its port the same way
 * (its socket's SO_REUSEADDR counts). */
static void addr_in_use(void)
{
	struct tt *t = &T;
	tt_init(t, 7);
	us_stack *s = t->s;
	struct sockaddr_in a = sin4(STACK_IP, 5000);
	int f1 = us_socket(s, AF_INET, SOCK_STREAM, 0), f2 = us_socket(s, AF_INET, SOCK_STREAM, 0);
	CHECK_OK(us_bind(s, f1, SA(&a), sizeof(a)));
	CHECK_ERR(us_bind(s, f2, SA(&a), sizeof(a)), EADDRINUSE);
	struct sockaddr_in any = sin4(NULL, 5000);
	CHECK_ERR(us_bind(s, f2, SA(&any), sizeof(any)), EADDRINUSE);
	/* Both with SO_REUSEADDR: fine while neither listens. */
	int r1 = us_socket(s, AF_INET, SOCK_STREAM, 0), r2 = us_socket(s, AF_INET, SOCK_STREAM, 0);
	set_int_opt(s, r1, SOL_SOCKET, SO_REUSEADDR, 1);
	set_int_opt(s, r2, SOL_SOCKET, SO_REUSEADDR, 1);
	struct sockaddr_in b = sin4(STACK_IP, 5001);
	CHECK_OK(us_bind(s, r1, SA(&b), sizeof(b)));
	CHECK_OK(us_bind(s, r2, SA(&b), sizeof(b)));
	/* The first to listen wins, the other cannot listen then. */
	CHECK_OK(us_listen(s, r1, 4));
	CHECK_ERR(us_listen(s, r2, 4), EADDRINUSE);
	int r3 = us_socket(s, AF_INET, SOCK_STREAM, 0);
	set_int_opt(s, r3, SOL_SOCKET, SO_REUSEADDR, 1);
	CHECK_ERR(us_bind(s, r3, SA(&b), sizeof(b)), EADDRINUSE);
	tt_free(t);
}

/* TIME_WAIT after an active close holds the port (server side). */
static int time_wait_on_80(struct tt *t, uint64_t seed, bool reuse)
{
	tt_init(t, seed);
	int l = us_socket(t->s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (reuse)
		set_int_opt(t->s, l, SOL_SOCKET, SO_REUSEADDR, 1);
	struct sockaddr_in a = sin4(STACK_IP, 80);
	if (us_bind(t->s, l, SA(&a), sizeof(a)) < 0 || us_listen(t->s, l, 4) < 0)
		return -1;
	t->lfd = l;
	t->sport = 80;
	if (!tt_passive_open(t, &TOPTS_NONE))
		return -1;
	us_close(t->s, t->fd);
	us_close(t->s, t->lfd);
	tt_drain(t, 1 * MS);
	t->rcv_nxt++;
	tt_fin(t);
	tt_drain(t, 1 * MS);
	return tt_find_state(t->s, 80, 40000) == TCP_TIME_WAIT ? 0 : -1;
}

static void addr_in_use_time_wait(void)
{
	struct tt *t = &T;
	struct sockaddr_in a = sin4(STACK_IP, 80);
	static const bool cases[4][3] = {
		/* old reuse, new reuse, bind ok */
		{ false, false, false },
		{ false, true, false },
		{ true, false, false },
		{ true, true, true },
	};
	for (int i = 0; i < 4; i++) {
		REQUIRE(time_wait_on_80(t, 8 + (uint64_t)i, cases[i][0]) == 0);
		int n = us_socket(t->s, AF_INET, SOCK_STREAM, 0);
		if (cases[i][1])
			set_int_opt(t->s, n, SOL_SOCKET, SO_REUSEADDR, 1);
		if (cases[i][2]) {
			CHECK_OK(us_bind(t->s, n, SA(&a), sizeof(a)));
			CHECK_OK(us_listen(t->s, n, 4));
		} else {
			CHECK_ERR(us_bind(t->s, n, SA(&a), sizeof(a)), EADDRINUSE);
		}
		tt_free(t);
	}
	/* Once TIME_WAIT is over, the port is free. */
	REQUIRE(time_wait_on_80(t, 12, false) == 0);
	tt_run(t, 61 * SEC);
	int n = us_socket(t->s, AF_INET, SOCK_STREAM, 0);
	CHECK_OK(us_bind(t->s, n, SA(&a), sizeof(a)));
	tt_free(t);
}

/* Ephemeral ports run out: EADDRNOTAVAIL (ip_local_port_range). */
static void ephemeral_exhaustion(void)
{
	struct tt *t = &T;
	tt_init(t, 13);
	CHECK_OK(us_sysctl_set(t->s, "net.ipv4.ip_local_port_range", "40000 40001"));
	struct sockaddr_in a = sin4(PEER_IP, 80);
	for (int i = 0; i < 2; i++) {
		int fd = sock_nb(t->s);
		CHECK_ERR(us_connect(t->s, fd, SA(&a), sizeof(a)), EINPROGRESS);
		uint16_t p = local_port(t->s, fd);
		CHECK(p == 40000 || p == 40001);
	}
	int fd = sock_nb(t->s);
	CHECK_ERR(us_connect(t->s, fd, SA(&a), sizeof(a)), EADDRNOTAVAIL);
	/* Another destination may reuse them. */
	struct sockaddr_in b = sin4(PEER_IP, 81);
	CHECK_ERR(us_connect(t->s, fd, SA(&b), sizeof(b)), EINPROGRESS);
	tt_free(t);
}

/* Unreachable destinations: broadcast and no route are ENETUNREACH; a
 * neighbour that never answers ARP fails the connection with
 * EHOSTUNREACH when resolution gives up (about 3 s, as Linux). */
static void unreachable(void)
{
	struct tt *t = &T;
	tt_init(t, 14);
	us_stack *s = t->s;
	int fd = sock_nb(s);
	struct sockaddr_in bc = sin4("10.0.0.255", 80);
	CHECK_ERR(us_connect(s, fd, SA(&bc), sizeof(bc)), ENETUNREACH);
	struct sockaddr_in far = sin4("192.0.2.1", 80);
	CHECK_ERR(us_connect(s, fd, SA(&far), sizeof(far)), ENETUNREACH);
	struct sockaddr_in silent = sin4("10.0.0.9", 80);
	uint64_t t0 = tt_now(t);
	CHECK_ERR(us_connect(s, fd, SA(&silent), sizeof(silent)), EINPROGRESS);
	int err = 0;
	while (!err && tt_now(t) - t0 < 10 * SEC) {
		tt_run(t, 100 * MS); /* nothing answers: the ARP requests pile up */
		err = get_int_opt(s, fd, SOL_SOCKET, SO_ERROR);
	}
	CHECK_EQ(err, EHOSTUNREACH);
	CHECK(tt_now(t) - t0 <= 4 * SEC);
	tt_free(t);
}

/* connect(AF_UNSPEC) on an established connection resets it (Linux's
 * tcp_disconnect) and leaves a socket that can connect again. */
static void disconnect_af_unspec(void)
{
	struct tt *t = &T;
	tt_init(t, 15);
	REQUIRE(tt_active_open(t, &TOPTS_NONE));
	struct sockaddr u = { .sa_family = AF_UNSPEC };
	CHECK_OK(us_connect(t->s, t->fd, &u, sizeof(u)));
	EXPECT_TCP(t, E_FLAGS(RST | ACK), E_SEQ(t->rcv_nxt), E_ACK(t->snd_nxt));
	CHECK_EQ(tt_state(t, t->fd), TCP_CLOSE);
	struct sockaddr_in a = sin4(PEER_IP, 40001);
	CHECK_ERR(us_connect(t->s, t->fd, SA(&a), sizeof(a)), EINPROGRESS);
	EXPECT_TCP(t, E_FLAGS(SYN), E_DPORT(40001));
	tt_free(t);
}

/* Blocking calls over loopback under virtual time: connect/accept/send/
 * recv complete; a refused connect is ECONNREFUSED; a receive timeout
 * (SO_RCVTIMEO) is EAGAIN after that much virtual time. */
static void blocking_loopback(void)
{
	struct tt *t = &T;
	tt_init(t, 16);
	us_stack *s = t->s;
	int c, a1;
	REQUIRE(tt_loopback_conn(t, 7000, &c, &a1));
	static uint8_t big[300000], got[300000];
	pat_fill(big, sizeof(big), 9, 0);
	CHECK_EQ(us_send(s, c, big, sizeof(big), 0), (long)sizeof(big));
	size_t n = 0;
	while (n < sizeof(got)) {
		ssize_t r = us_recv(s, a1, got + n, sizeof(got) - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	CHECK_EQ(n, sizeof(got));
	CHECK(memcmp(big, got, sizeof(got)) == 0);
	struct timeval tv = { .tv_sec = 2 };
	CHECK_OK(us_setsockopt(s, a1, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	uint64_t t0 = tt_now(t);
	CHECK_ERR(us_recv(s, a1, got, 10, 0), EAGAIN);
	CHECK(tt_now(t) - t0 >= 2 * SEC && tt_now(t) - t0 < 2100 * MS);
	int c2 = us_socket(s, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in closed = sin4("127.0.0.1", 7001);
	CHECK_ERR(us_connect(s, c2, SA(&closed), sizeof(closed)), ECONNREFUSED);
	tt_free(t);
}

/* ICMP errors (tcp_v4_err). Port unreachable for our SYN refuses the
 * connection at once (a hard error in SYN_SENT). */
static void icmp_port_unreachable_in_syn_sent(void)
{
	struct tt *t = &T;
	tt_init(t, 17);
	uint64_t fails = ctr(t->s, "TcpAttemptFails");
	REQUIRE(tt_connect_syn(t));
	tt_send_icmp(t, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, &t->seg, 0);
	CHECK_EQ(tt_state(t, t->fd), TCP_CLOSE);
	CHECK_EQ(get_int_opt(t->s, t->fd, SOL_SOCKET, SO_ERROR), ECONNREFUSED);
	CHECK_EQ(ctr(t->s, "TcpAttemptFails"), fails + 1);
	EXPECT_NONE(t, 3 * SEC);
	tt_free(t);
}

/* RFC 5927 4.1: an ICMP error whose quoted sequence number is not in
 * flight (between SND.UNA and SND.NXT, in SYN_SENT too) is ignored
 * (OutOfWindowIcmps): blind errors cannot kill a connection attempt. */
static void icmp_out_of_window_ignored(void)
{
	struct tt *t = &T;
	tt_init(t, 18);
	REQUIRE(tt_connect_syn(t));
	struct tseg forged = t->seg;
	uint8_t *seq = forged.quote + (forged.quote[0] & 15) * 4 + 4;
	uint32_t v = ((uint32_t)seq[0] << 24 | (uint32_t)seq[1] << 16 | (uint32_t)seq[2] << 8 | seq[3]) + 12345;
	seq[0] = (uint8_t)(v >> 24), seq[1] = (uint8_t)(v >> 16), seq[2] = (uint8_t)(v >> 8), seq[3] = (uint8_t)v;
	uint64_t oow = ctr(t->s, "TcpExtOutOfWindowIcmps");
	tt_send_icmp(t, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, &forged, 0);
	CHECK_EQ(tt_state(t, t->fd), TCP_SYN_SENT);
	CHECK_EQ(ctr(t->s, "TcpExtOutOfWindowIcmps"), oow + 1);
	tt_free(t);
}

/* An unreachable error on an established connection is soft: it is
 * remembered and reported instead of ETIMEDOUT if the connection times
 * out (tcp_write_err: sk_err_soft ?: ETIMEDOUT). */
static void icmp_soft_error_on_timeout(void)
{
	struct tt *t = &T;
	tt_init(t, 19);
	tt_tcp(t->s)->retries2 = 3;
	REQUIRE(tt_active_open(t, &TOPTS_NONE));
	CHECK_EQ(us_send(t->s, t->fd, "data", 4, 0), 4);
	REQUIRE(EXPECT_TCP(t, E_LEN(4)));
	tt_send_icmp(t, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0, &t->seg, ip4("10.0.0.254").s_addr);
	CHECK_EQ(tt_state(t, t->fd), TCP_ESTABLISHED);
	CHECK_EQ(get_int_opt(t->s, t->fd, SOL_SOCKET, SO_ERROR), 0);
	tt_drain(t, 60 * SEC);
	CHECK_EQ(tt_state(t, t->fd), TCP_CLOSE);
	CHECK_EQ(get_int_opt(t->s, t->fd, SOL_SOCKET, SO_ERROR), EHOSTUNREACH);
	tt_free(t);
}

/* Fragmentation needed (RFC 1191): the path MTU drops to 1000, the MSS
 * to 1000 - 40 - 12 = 948, and what no longer fits is resent at once in
 * smaller segments. */
static void icmp_frag_needed(void)
{
	struct tt *t = &T;
	tt_init(t, 20);
	REQUIRE(tt_active_open(t, &TOPTS_LINUX));
	static uint8_t data[3000];
	pat_fill(data, sizeof(data), 3, 0);
	CHECK_EQ(us_send(t->s, t->fd, data, sizeof(data), 0), 3000);
	REQUIRE(EXPECT_TCP(t, E_LEN(1448)));
	struct tseg first = t->seg;
	tt_drain(t, 1 * MS);
	tt_send_icmp(t, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 1000, &first, ip4("10.0.0.254").s_addr);
	struct tcp_info ti = tt_info(t, t->fd);
	CHECK_EQ(ti.tcpi_pmtu, 1000);
	CHECK_EQ(ti.tcpi_snd_mss, 948);
	uint32_t covered = t->rcv_nxt;
	while (tt_pop(t, 10 * MS)) {
		CHECK(t->seg.len <= 948);
		if (t->seg.seq == covered) {
			CHECK(memcmp(t->seg.data, data + (covered - t->rcv_nxt), t->seg.len) == 0);
			covered += (uint32_t)t->seg.len;
		}
	}
	CHECK_EQ(covered - t->rcv_nxt, 2 * 1448); /* both full segments, not the last 104 */
	tt_free(t);
}

TEST_MAIN(T(connect_in_progress), T(connect_refused), T(connect_on_listener_or_dead),
	  T(unconnected_calls), T(connected_calls), T(bind_errors), T(addr_in_use),
	  T(addr_in_use_time_wait), T(ephemeral_exhaustion), T(unreachable),
	  T(disconnect_af_unspec), T(blocking_loopback), T(icmp_port_unreachable_in_syn_sent),
	  T(icmp_out_of_window_ignored), T(icmp_soft_error_on_timeout), T(icmp_frag_needed))
