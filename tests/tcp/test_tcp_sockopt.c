/*
 * TCP socket options with Linux's defaults, ranges and errors
 * (TCP_NODELAY, TCP_CORK, TCP_MAXSEG, TCP_KEEPIDLE/KEEPINTVL/KEEPCNT,
 * TCP_USER_TIMEOUT, TCP_SYNCNT, TCP_LINGER2, TCP_QUICKACK,
 * TCP_CONGESTION), TCP_INFO's fields through a connection's life, and
 * the poll/epoll mask of a TCP socket in every state (tcp_poll).
 */
#include "tcptest.h"

static struct tt T;
static uint8_t buf[100000];

#define ALL_IN (EPOLLIN | EPOLLRDNORM | EPOLLRDHUP)
#define ALL_OUT (EPOLLOUT | EPOLLWRNORM)

static bool established(struct tt *t, uint64_t seed, const struct topts *o)
{
	tt_init(t, seed);
	if (tt_listen(t, 80, 16) < 0)
		return false;
	return tt_passive_open(t, o);
}

static void int_opt(us_stack *s, int fd, int name, int dflt, const int *ok, int nok,
		    const int *bad, int nbad)
{
	CHECK_EQ(get_int_opt(s, fd, IPPROTO_TCP, name), dflt);
	for (int i = 0; i < nok; i++) {
		CHECK_OK(set_int_opt(s, fd, IPPROTO_TCP, name, ok[i]));
		CHECK_EQ(get_int_opt(s, fd, IPPROTO_TCP, name), ok[i]);
	}
	for (int i = 0; i < nbad; i++)
		CHECK_ERR(set_int_opt(s, fd, IPPROTO_TCP, name, bad[i]), EINVAL);
}

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Defaults, accepted values and EINVAL bounds, as Linux 6.x. */
static void option_ranges(void)
{
	struct tt *t = &T;
	tt_init(t, 1);
	us_stack *s = t->s;
	int fd = us_socket(s, AF_INET, SOCK_STREAM, 0);
	static const int nodelay_ok[] = { 1, 0 };
	int_opt(s, fd, TCP_NODELAY, 0, nodelay_ok, 2, NULL, 0);
	int_opt(s, fd, TCP_CORK, 0, nodelay_ok, 2, NULL, 0);
	static const int mss_ok[] = { 88, 1000, 32767 }, mss_bad[] = { 87, 32768, 65535, -1 };
	CHECK_EQ(get_int_opt(s, fd, IPPROTO_TCP, TCP_MAXSEG), 536);
	int_opt(s, fd, TCP_MAXSEG, 536, mss_ok, N(mss_ok), mss_bad, N(mss_bad));
	static const int idle_ok[] = { 1, 128, 32767 }, idle_bad[] = { 0, -1, 32768 };
	int_opt(s, fd, TCP_KEEPIDLE, 7200, idle_ok, N(idle_ok), idle_bad, N(idle_bad));
	int_opt(s, fd, TCP_KEEPINTVL, 75, idle_ok, N(idle_ok), idle_bad, N(idle_bad));
	static const int cnt_ok[] = { 1, 127 }, cnt_bad[] = { 0, 128, -1 };
	int_opt(s, fd, TCP_KEEPCNT, 9, cnt_ok, N(cnt_ok), cnt_bad, N(cnt_bad));
	static const int ut_ok[] = { 5000, 0 }, ut_bad[] = { -1 };
	int_opt(s, fd, TCP_USER_TIMEOUT, 0, ut_ok, N(ut_ok), ut_bad, N(ut_bad));
	static const int syn_ok[] = { 1, 127 }, syn_bad[] = { 0, 128, 255, -1 };
	int_opt(s, fd, TCP_SYNCNT, 6, syn_ok, N(syn_ok), syn_bad, N(syn_bad));
	/* TCP_LINGER2: negative is -1, 0 is tcp_fin_timeout, capped 120. */
	CHECK_EQ(get_int_opt(s, fd, IPPROTO_TCP, TCP_LINGER2), 60);
	static const int l2_in[] = { -5, 0, 30, 200 }, l2_out[] = { -1, 60, 30, 120 };
	for (int i = 0; i < N(l2_in); i++) {
		CHECK_OK(set_int_opt(s, fd, IPPROTO_TCP, TCP_LINGER2, l2_in[i]));
		CHECK_EQ(get_int_opt(s, fd, IPPROTO_TCP, TCP_LINGER2), l2_out[i]);
	}
	CHECK_EQ(get_int_opt(s, fd, IPPROTO_TCP, TCP_QUICKACK), 1);
	char cc[16] = { 0 };
	socklen_t l = sizeof(cc);
	CHECK_OK(us_setsockopt(s, fd, IPPROTO_TCP, TCP_CONGESTION, "reno", 4));
	CHECK_OK(us_getsockopt(s, fd, IPPROTO_TCP, TCP_CONGESTION, cc, &l));
	CHECK(strcmp(cc, "reno") == 0);
	CHECK_ERR(us_setsockopt(s, fd, IPPROTO_TCP, TCP_CONGESTION, "nosuch", 6), ENOENT);
	CHECK_ERR(set_int_opt(s, fd, IPPROTO_TCP, 9999, 1), ENOPROTOOPT);
	int v;
	l = sizeof(v);
	CHECK_ERR(us_getsockopt(s, fd, IPPROTO_TCP, 9999, &v, &l), ENOPROTOOPT);
	/* SOL_SOCKET options TCP follows up on. */
	CHECK_OK(set_int_opt(s, fd, SOL_SOCKET, SO_KEEPALIVE, 1));
	CHECK_EQ(get_int_opt(s, fd, SOL_SOCKET, SO_KEEPALIVE), 1);
	CHECK_EQ(get_int_opt(s, fd, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
	CHECK_EQ(get_int_opt(s, fd, SOL_SOCKET, SO_PROTOCOL), IPPROTO_TCP);
	CHECK_EQ(get_int_opt(s, fd, SOL_SOCKET, SO_ACCEPTCONN), 0);
	tt_free(t);
}

/* TCP_MAXSEG reads the MSS in use once connected. */
static void maxseg_connected(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 2, &TOPTS_LINUX));
	CHECK_EQ(get_int_opt(t->s, t->fd, IPPROTO_TCP, TCP_MAXSEG), 1448);
	tt_free(t);
}

/* TCP_INFO through a connection's life (values as Linux reports them;
 * bytes_acked counts our SYN on the active side, bytes_received the
 * peer's FIN). */
static void tcp_info_fields(void)
{
	struct tt *t = &T;
	tt_init(t, 3);
	REQUIRE(tt_active_open(t, &TOPTS_LINUX));
	struct tcp_info ti = tt_info(t, t->fd);
	CHECK_EQ(ti.tcpi_state, TCP_ESTABLISHED);
	CHECK_EQ(ti.tcpi_ca_state, TCP_CA_Open);
	CHECK_EQ(ti.tcpi_snd_mss, 1448);
	CHECK_EQ(ti.tcpi_rcv_mss, 536);
	CHECK_EQ(ti.tcpi_snd_cwnd, 10);
	CHECK_EQ(ti.tcpi_snd_ssthresh, TCP_INFINITE_SSTHRESH);
	CHECK_EQ(ti.tcpi_unacked, 0);
	CHECK_EQ(ti.tcpi_bytes_acked, 1);
	CHECK_EQ(ti.tcpi_bytes_received, 0);
	CHECK_EQ(ti.tcpi_options & (TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE),
		 TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE);
	CHECK_EQ(ti.tcpi_snd_wscale, 7);
	CHECK_EQ(ti.tcpi_rcv_wscale, 7);
	CHECK(ti.tcpi_rto >= 200000 && ti.tcpi_rto <= 202000);
	/* Three segments out, two acknowledged. */
	CHECK_EQ(us_send(t->s, t->fd, buf, 3000, 0), 3000);
	CHECK_EQ(tt_drain(t, 1 * MS), 3);
	CHECK_EQ(tt_info(t, t->fd).tcpi_unacked, 3);
	tt_seg(t, ACK, t->snd_nxt, t->rcv_nxt + 2896, NULL, 0);
	ti = tt_info(t, t->fd);
	CHECK_EQ(ti.tcpi_unacked, 1);
	CHECK_EQ(ti.tcpi_bytes_acked, 1 + 2896);
	/* A timeout: the last one resent. */
	EXPECT_TCP(t, E_SEQ(t->rcv_nxt + 2896), E_LEN(104), E_WITHIN(SEC));
	ti = tt_info(t, t->fd);
	CHECK_EQ(ti.tcpi_ca_state, TCP_CA_Loss);
	CHECK_EQ(ti.tcpi_retransmits, 1);
	CHECK_EQ(ti.tcpi_total_retrans, 1);
	CHECK_EQ(ti.tcpi_lost, 1);
	CHECK_EQ(ti.tcpi_retrans, 1);
	CHECK_EQ(ti.tcpi_snd_cwnd, 1);
	tt_seg(t, ACK, t->snd_nxt, t->rcv_nxt + 3000, NULL, 0);
	t->rcv_nxt += 3000;
	ti = tt_info(t, t->fd);
	CHECK_EQ(ti.tcpi_ca_state, TCP_CA_Open);
	CHECK_EQ(ti.tcpi_retransmits, 0);
	CHECK_EQ(ti.tcpi_total_retrans, 1);
	CHECK_EQ(ti.tcpi_unacked, 0);
	CHECK_EQ(ti.tcpi_lost, 0);
	CHECK_EQ(ti.tcpi_retrans, 0);
	CHECK_EQ(ti.tcpi_bytes_acked, 3001);
	/* Receiving: rcv_mss follows the peer's segments, ato is set. */
	tt_data(t, buf, 1448);
	tt_data(t, buf, 1448);
	tt_fin(t);
	tt_drain(t, 300 * MS);
	ti = tt_info(t, t->fd);
	CHECK_EQ(ti.tcpi_state, TCP_CLOSE_WAIT);
	CHECK_EQ(ti.tcpi_rcv_mss, 1448);
	CHECK_EQ(ti.tcpi_ato, 40000);
	CHECK_EQ(ti.tcpi_bytes_received, 2896 + 1);
	CHECK(ti.tcpi_rtt > 0);
	/* A short buffer gets the head of the structure. */
	uint8_t small[8];
	socklen_t l = sizeof(small);
	CHECK_OK(us_getsockopt(t->s, t->fd, IPPROTO_TCP, TCP_INFO, small, &l));
	CHECK_EQ(l, 8);
	CHECK_EQ(small[0], TCP_CLOSE_WAIT);
	tt_free(t);
}

/* The passive side: nothing of the SYN counts in bytes_acked. */
static void tcp_info_passive(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 4, &TOPTS_LINUX));
	struct tcp_info ti = tt_info(t, t->fd);
	CHECK_EQ(ti.tcpi_bytes_acked, 0);
	CHECK_EQ(ti.tcpi_snd_mss, 1448);
	CHECK_EQ(ti.tcpi_rcv_mss, 536);
	CHECK_EQ(ti.tcpi_snd_cwnd, 10);
	tt_free(t);
}

/* tcp_poll in each state, as Linux reports it. */
static void poll_masks(void)
{
	struct tt *t = &T;
	tt_init(t, 5);
	us_stack *s = t->s;
	int fresh = us_socket(s, AF_INET, SOCK_STREAM, 0);
	CHECK_EQ(epoll_mask(s, fresh), ALL_OUT | EPOLLHUP);
	CHECK_ERR(us_shutdown(s, fresh, SHUT_WR), ENOTCONN);
	CHECK_EQ(epoll_mask(s, fresh), ALL_OUT | EPOLLHUP);
	struct pollfd pf = { .fd = fresh, .events = POLLIN | POLLOUT };
	CHECK_EQ(us_poll(s, &pf, 1, 0), 1);
	CHECK_EQ(pf.revents, POLLOUT | POLLHUP);
	REQUIRE(tt_listen(t, 80, 4) >= 0);
	CHECK_EQ(epoll_mask(s, t->lfd), 0);
	REQUIRE(tt_connect_syn(t)); /* SYN_SENT */
	CHECK_EQ(epoll_mask(s, t->fd), 0);
	tt_free(t);

	REQUIRE(established(t, 6, &TOPTS_LINUX));
	s = t->s;
	CHECK_EQ(epoll_mask(s, t->fd), ALL_OUT);
	tt_data(t, "abc", 3);
	CHECK_EQ(epoll_mask(s, t->fd), ALL_OUT | EPOLLIN | EPOLLRDNORM);
	char b[8];
	tt_read(t, t->fd, b, sizeof(b));
	CHECK_EQ(epoll_mask(s, t->fd), ALL_OUT);
	/* A full send buffer (zero window): not writable. */
	tt_ackw(t, 0);
	while (us_send(s, t->fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	CHECK_EQ(epoll_mask(s, t->fd), 0);
	tt_free(t);

	/* CLOSE_WAIT, then LAST_ACK, then CLOSED. */
	REQUIRE(established(t, 7, &TOPTS_LINUX));
	s = t->s;
	tt_fin(t);
	CHECK_EQ(epoll_mask(s, t->fd), ALL_IN | ALL_OUT);
	CHECK_OK(us_shutdown(s, t->fd, SHUT_WR));
	CHECK_EQ(tt_state(t, t->fd), TCP_LAST_ACK);
	CHECK_EQ(epoll_mask(s, t->fd), ALL_IN | ALL_OUT | EPOLLHUP);
	tt_drain(t, 300 * MS);
	tt_seg(t, ACK, t->snd_nxt, t->rcv_nxt + 1, NULL, 0);
	CHECK_EQ(tt_state(t, t->fd), TCP_CLOSE);
	CHECK_EQ(epoll_mask(s, t->fd), ALL_IN | ALL_OUT | EPOLLHUP);
	tt_free(t);

	/* FIN_WAIT_1/2 after SHUT_WR; CLOSING; TIME_WAIT (the handle sees
	 * CLOSE). */
	REQUIRE(established(t, 8, &TOPTS_LINUX));
	s = t->s;
	CHECK_OK(us_shutdown(s, t->fd, SHUT_WR));
	CHECK_EQ(epoll_mask(s, t->fd), ALL_OUT);
	tt_fin(t);
	CHECK_EQ(tt_state(t, t->fd), TCP_CLOSING);
	CHECK_EQ(epoll_mask(s, t->fd), ALL_IN | ALL_OUT | EPOLLHUP);
	tt_drain(t, 300 * MS);
	tt_seg(t, ACK, t->snd_nxt, t->rcv_nxt + 1, NULL, 0);
	CHECK_EQ(tt_find_state(s, 80, 40000), TCP_TIME_WAIT);
	CHECK_EQ(epoll_mask(s, t->fd), ALL_IN | ALL_OUT | EPOLLHUP);
	tt_free(t);

	/* SHUT_RD alone; then SHUT_RDWR. */
	REQUIRE(established(t, 9, &TOPTS_LINUX));
	s = t->s;
	CHECK_OK(us_shutdown(s, t->fd, SHUT_RD));
	CHECK_EQ(epoll_mask(s, t->fd), ALL_IN | ALL_OUT);
	CHECK_OK(us_shutdown(s, t->fd, SHUT_RDWR));
	CHECK_EQ(epoll_mask(s, t->fd), ALL_IN | ALL_OUT | EPOLLHUP);
	tt_free(t);

	/* Reset: EPOLLERR until the error is read. */
	REQUIRE(established(t, 10, &TOPTS_LINUX));
	s = t->s;
	tt_seg(t, RST, t->snd_nxt, 0, NULL, 0);
	CHECK_EQ(epoll_mask(s, t->fd), ALL_IN | ALL_OUT | EPOLLHUP | EPOLLERR);
	pf = (struct pollfd){ .fd = t->fd, .events = 0 };
	CHECK_EQ(us_poll(s, &pf, 1, 0), 1);
	CHECK_EQ(pf.revents, POLLERR | POLLHUP);
	CHECK_EQ(get_int_opt(s, t->fd, SOL_SOCKET, SO_ERROR), ECONNRESET);
	CHECK_EQ(epoll_mask(s, t->fd), ALL_IN | ALL_OUT | EPOLLHUP);
	tt_free(t);
}

/* Edge-triggered epoll reports the peer's FIN once, as EPOLLIN |
 * EPOLLRDHUP. */
static void epoll_edge_fin(void)
{
	struct tt *t = &T;
	REQUIRE(established(t, 11, &TOPTS_LINUX));
	us_stack *s = t->s;
	int ep = us_epoll_create(s);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.fd = t->fd };
	CHECK_OK(us_epoll_ctl(s, ep, EPOLL_CTL_ADD, t->fd, &ev));
	struct epoll_event out[2];
	CHECK_EQ(us_epoll_wait(s, ep, out, 2, 0), 0);
	tt_fin(t);
	CHECK_EQ(us_epoll_wait(s, ep, out, 2, 0), 1);
	CHECK_EQ(out[0].events, EPOLLIN | EPOLLRDHUP);
	CHECK_EQ(us_epoll_wait(s, ep, out, 2, 0), 0);
	us_close(s, ep);
	tt_free(t);
}

TEST_MAIN(T(option_ranges), T(maxseg_connected), T(tcp_info_fields), T(tcp_info_passive),
	  T(poll_masks), T(epoll_edge_fin))
