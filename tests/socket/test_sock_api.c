/*
 * The socket calls' error cases and options, each asserting what Linux
 * returns for the same sequence (checked against real Linux sockets on
 * loopback in a private network namespace, kernel 6.x). Single stacks (or
 * two joined by a pair) on a virtual clock.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/time.h>
#include <sys/uio.h>

#include "socktest.h"

static struct sim sim;

static us_stack *one_stack(void)
{
	sim_reset(&sim, 1, 7);
	return sim.st[0];
}

/* socket(): families, types and protocols. */
static void t_socket_errors(void)
{
	us_stack *s = one_stack();
	CHECK_ERR(us_socket(s, 1000, SOCK_DGRAM, 0), EAFNOSUPPORT);
	CHECK_ERR(us_socket(s, AF_APPLETALK, SOCK_DGRAM, 0), EAFNOSUPPORT);
	CHECK_ERR(us_socket(s, AF_INET, SOCK_DGRAM, IPPROTO_TCP), EPROTONOSUPPORT);
	CHECK_ERR(us_socket(s, AF_INET, SOCK_DGRAM, 99), EPROTONOSUPPORT);
	CHECK_ERR(us_socket(s, AF_INET, SOCK_RAW, 0), EPROTONOSUPPORT);
	CHECK_ERR(us_socket(s, AF_INET, SOCK_SEQPACKET, 0), ESOCKTNOSUPPORT);
	CHECK_ERR(us_socket(s, AF_PACKET, SOCK_STREAM, 0), ESOCKTNOSUPPORT);
	CHECK_ERR(us_socket(s, AF_PACKET, SOCK_SEQPACKET, 0), ESOCKTNOSUPPORT);
	/* __sock_create: a type outside 0..SOCK_MAX-1 is EINVAL before the
	 * family is asked; inet_create: a protocol outside 0..IPPROTO_MAX-1
	 * is EINVAL. */
	CHECK_ERR(us_socket(s, AF_INET, 77, 0), EINVAL);
	CHECK_ERR(us_socket(s, AF_PACKET, 77, 0), EINVAL);
	CHECK_ERR(us_socket(s, AF_INET, SOCK_RAW, -1), EINVAL);

	int u = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	int u2 = us_socket(s, AF_INET, SOCK_DGRAM, IPPROTO_UDP);
	int r = us_socket(s, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	int p = us_socket(s, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	int pd = us_socket(s, AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
	CHECK(u >= 0 && u2 >= 0 && r >= 0 && p >= 0 && pd >= 0);
	/* Handles are the lowest free numbers, as file descriptors. */
	CHECK_EQ(u2, u + 1);
	us_close(s, u);
	int u3 = us_socket(s, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CHECK_EQ(u3, u);
	CHECK_EQ(us_fcntl(s, u3, F_GETFL, 0), O_RDWR | O_NONBLOCK);
	CHECK_EQ(us_fcntl(s, u2, F_GETFL, 0), O_RDWR);
	/* No stack: EINVAL (the library's convention for a NULL stack). */
	CHECK_ERR(us_socket(NULL, AF_INET, SOCK_DGRAM, 0), EINVAL);
	sim_free(&sim);
}

/* Every call on a handle that is not open (EBADF) and on one that is not
 * a socket (an epoll instance: ENOTSOCK). */
static void t_bad_handles(void)
{
	us_stack *s = one_stack();
	struct sockaddr_in a = sin4("127.0.0.1", 5000);
	socklen_t al = sizeof(a);
	char buf[8];
	int v = 1;
	socklen_t vl = sizeof(v);
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	int ep = us_epoll_create(s);
	REQUIRE(ep >= 0);
	int closed = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	us_close(s, closed);
	int bad[] = { -1, 9999, closed };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = bad[i];
		CHECK_ERR(us_bind(s, fd, SA(&a), sizeof(a)), EBADF);
		CHECK_ERR(us_connect(s, fd, SA(&a), sizeof(a)), EBADF);
		CHECK_ERR(us_listen(s, fd, 1), EBADF);
		CHECK_ERR(us_accept(s, fd, NULL, NULL), EBADF);
		CHECK_ERR(us_send(s, fd, buf, 1, 0), EBADF);
		CHECK_ERR(us_sendto(s, fd, buf, 1, 0, SA(&a), sizeof(a)), EBADF);
		CHECK_ERR(us_recv(s, fd, buf, sizeof(buf), MSG_DONTWAIT), EBADF);
		CHECK_ERR(us_recvfrom(s, fd, buf, sizeof(buf), 0, SA(&a), &al), EBADF);
		CHECK_ERR(us_sendmsg(s, fd, &m, 0), EBADF);
		CHECK_ERR(us_recvmsg(s, fd, &m, 0), EBADF);
		CHECK_ERR(us_shutdown(s, fd, SHUT_RD), EBADF);
		CHECK_ERR(us_getsockname(s, fd, SA(&a), &al), EBADF);
		CHECK_ERR(us_getpeername(s, fd, SA(&a), &al), EBADF);
		CHECK_ERR(us_setsockopt(s, fd, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)), EBADF);
		CHECK_ERR(us_getsockopt(s, fd, SOL_SOCKET, SO_TYPE, &v, &vl), EBADF);
		CHECK_ERR(us_fcntl(s, fd, F_GETFL, 0), EBADF);
		CHECK_ERR(us_close(s, fd), EBADF);
	}
	CHECK_ERR(us_bind(s, ep, SA(&a), sizeof(a)), ENOTSOCK);
	CHECK_ERR(us_connect(s, ep, SA(&a), sizeof(a)), ENOTSOCK);
	CHECK_ERR(us_listen(s, ep, 1), ENOTSOCK);
	CHECK_ERR(us_accept(s, ep, NULL, NULL), ENOTSOCK);
	CHECK_ERR(us_send(s, ep, buf, 1, 0), ENOTSOCK);
	CHECK_ERR(us_sendto(s, ep, buf, 1, 0, SA(&a), sizeof(a)), ENOTSOCK);
	CHECK_ERR(us_recv(s, ep, buf, sizeof(buf), MSG_DONTWAIT), ENOTSOCK);
	CHECK_ERR(us_recvfrom(s, ep, buf, sizeof(buf), MSG_DONTWAIT, SA(&a), &al), ENOTSOCK);
	CHECK_ERR(us_sendmsg(s, ep, &m, 0), ENOTSOCK);
	CHECK_ERR(us_recvmsg(s, ep, &m, MSG_DONTWAIT), ENOTSOCK);
	CHECK_ERR(us_shutdown(s, ep, SHUT_RD), ENOTSOCK);
	CHECK_ERR(us_getsockname(s, ep, SA(&a), &al), ENOTSOCK);
	CHECK_ERR(us_getpeername(s, ep, SA(&a), &al), ENOTSOCK);
	CHECK_ERR(us_setsockopt(s, ep, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)), ENOTSOCK);
	CHECK_ERR(us_getsockopt(s, ep, SOL_SOCKET, SO_TYPE, &v, &vl), ENOTSOCK);
	CHECK_OK(us_close(s, ep));
	CHECK_ERR(us_close(s, ep), EBADF);
	sim_free(&sim);
}

/* NULL pointers: EFAULT, except where Linux never looks at the pointer. */
static void t_efault(void)
{
	us_stack *s = one_stack();
	int u = udp_bound(s, "127.0.0.1", 5000);
	int c = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	REQUIRE(u >= 0 && c >= 0);
	struct sockaddr_in a = sin4("127.0.0.1", 5000);
	socklen_t al = sizeof(a);
	int v = 1;
	socklen_t vl = sizeof(v);
	CHECK_ERR(us_bind(s, c, NULL, sizeof(a)), EFAULT);
	/* A zero length copies nothing: the address is too short. */
	CHECK_ERR(us_bind(s, c, NULL, 0), EINVAL);
	CHECK_ERR(us_connect(s, c, NULL, sizeof(a)), EFAULT);
	CHECK_ERR(us_sendto(s, c, NULL, 1, 0, SA(&a), sizeof(a)), EFAULT);
	CHECK_ERR(us_sendmsg(s, c, NULL, 0), EFAULT);
	CHECK_ERR(us_recvmsg(s, u, NULL, 0), EFAULT);
	CHECK_ERR(us_recv(s, u, NULL, 5, MSG_DONTWAIT), EFAULT);
	CHECK_ERR(us_getsockname(s, u, NULL, &al), EFAULT);
	CHECK_ERR(us_getsockname(s, u, SA(&a), NULL), EFAULT);
	/* getpeername asks the protocol first: ENOTCONN before the length
	 * is looked at. */
	CHECK_ERR(us_getpeername(s, u, SA(&a), NULL), ENOTCONN);
	CHECK_ERR(us_getsockopt(s, u, SOL_SOCKET, SO_TYPE, &v, NULL), EFAULT);
	CHECK_ERR(us_getsockopt(s, u, SOL_SOCKET, SO_TYPE, NULL, &vl), EFAULT);
	CHECK_ERR(us_setsockopt(s, u, SOL_SOCKET, SO_REUSEADDR, NULL, sizeof(int)), EFAULT);
	CHECK_ERR(us_setsockopt(s, u, IPPROTO_IP, IP_TTL, NULL, sizeof(int)), EFAULT);
	CHECK_ERR(us_setsockopt(s, u, SOL_SOCKET, SO_RCVTIMEO, NULL, sizeof(struct timeval)), EFAULT);
	struct msghdr m = { .msg_iov = NULL, .msg_iovlen = 1 };
	CHECK_ERR(us_sendmsg(s, c, &m, 0), EFAULT);
	/* A NULL buffer of length 0 is a valid empty datagram. */
	CHECK_EQ(us_sendto(s, c, NULL, 0, 0, SA(&a), sizeof(a)), 0);
	settle(s);
	char buf[8];
	CHECK_EQ(us_recvfrom(s, u, buf, sizeof(buf), MSG_DONTWAIT, NULL, NULL), 0);
	/* recvfrom with an address but no length for it. */
	CHECK_EQ(us_sendto(s, c, "ab", 2, 0, SA(&a), sizeof(a)), 2);
	settle(s);
	CHECK_ERR(us_recvfrom(s, u, buf, sizeof(buf), MSG_DONTWAIT, SA(&a), NULL), EFAULT);
	/* Connected: getpeername with no length is EFAULT. */
	CHECK_OK(us_connect(s, c, SA(&a), sizeof(a)));
	CHECK_ERR(us_getpeername(s, c, SA(&a), NULL), EFAULT);
	CHECK_ERR(us_getpeername(s, c, NULL, &al), EFAULT);
	sim_free(&sim);
}

/* Lengths: EINVAL for short or negative ones. */
static void t_einval_lengths(void)
{
	us_stack *s = one_stack();
	int u = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	REQUIRE(u >= 0);
	struct sockaddr_in a = sin4("127.0.0.1", 5000);
	CHECK_ERR(us_bind(s, u, SA(&a), sizeof(a) - 1), EINVAL);
	CHECK_ERR(us_bind(s, u, SA(&a), 0), EINVAL);
	CHECK_ERR(us_connect(s, u, SA(&a), 8), EINVAL);
	CHECK_ERR(us_sendto(s, u, "a", 1, 0, SA(&a), 8), EINVAL);
	int v = 1;
	CHECK_ERR(us_setsockopt(s, u, SOL_SOCKET, SO_REUSEADDR, &v, 2), EINVAL);
	CHECK_ERR(us_setsockopt(s, u, SOL_SOCKET, SO_REUSEADDR, &v, (socklen_t)-1), EINVAL);
	CHECK_ERR(us_setsockopt(s, u, IPPROTO_IP, IP_TTL, &v, 0), EINVAL);
	struct timeval tv = { 1, 0 };
	CHECK_ERR(us_setsockopt(s, u, SOL_SOCKET, SO_RCVTIMEO, &tv, 8), EINVAL);
	socklen_t l = (socklen_t)-1;
	CHECK_ERR(us_getsockopt(s, u, SOL_SOCKET, SO_TYPE, &v, &l), EINVAL);
	l = (socklen_t)-1;
	CHECK_ERR(us_getsockname(s, u, SA(&a), &l), EINVAL);
	/* A short getsockopt buffer gets the first bytes of the int. */
	int t = 0x7f7f7f7f;
	l = 2;
	CHECK_OK(us_getsockopt(s, u, SOL_SOCKET, SO_TYPE, &t, &l));
	CHECK_EQ(l, 2);
	CHECK_EQ(t, 0x7f7f0000 | SOCK_DGRAM);
	l = 0;
	CHECK_OK(us_getsockopt(s, u, SOL_SOCKET, SO_TYPE, &t, &l));
	CHECK_EQ(l, 0);
	long long ll = -1;
	l = sizeof(ll);
	CHECK_OK(us_getsockopt(s, u, SOL_SOCKET, SO_TYPE, &ll, &l));
	CHECK_EQ(l, sizeof(int));
	/* A short getsockname buffer: truncated, the real length returned. */
	struct sockaddr_in g;
	l = 4;
	CHECK_OK(us_getsockname(s, u, SA(&g), &l));
	CHECK_EQ(l, sizeof(struct sockaddr_in));
	/* More than UIO_MAXIOV iovecs. */
	static struct iovec many[1025];
	for (int i = 0; i < 1025; i++)
		many[i] = (struct iovec){ &v, 1 };
	struct msghdr m = { .msg_name = &a, .msg_namelen = sizeof(a), .msg_iov = many,
			    .msg_iovlen = 1025 };
	CHECK_ERR(us_sendmsg(s, u, &m, 0), EMSGSIZE);
	m.msg_iovlen = 1024;
	CHECK_EQ(us_sendmsg(s, u, &m, 0), 1024);
	CHECK_ERR(us_shutdown(s, u, 3), EINVAL);
	CHECK_ERR(us_shutdown(s, u, -1), EINVAL);
	sim_free(&sim);
}

/* Address families of the arguments. */
static void t_eafnosupport(void)
{
	us_stack *s = one_stack();
	int u = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	REQUIRE(u >= 0);
	struct sockaddr_in a = sin4("127.0.0.1", 5000);
	a.sin_family = AF_INET6;
	CHECK_ERR(us_bind(s, u, SA(&a), sizeof(a)), EAFNOSUPPORT);
	CHECK_ERR(us_connect(s, u, SA(&a), sizeof(a)), EAFNOSUPPORT);
	CHECK_ERR(us_sendto(s, u, "a", 1, 0, SA(&a), sizeof(a)), EAFNOSUPPORT);
	struct sockaddr_in6 s6;
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	CHECK_ERR(us_bind(s, u, SA(&s6), sizeof(s6)), EAFNOSUPPORT);
	/* inet_bind: AF_UNSPEC is accepted for INADDR_ANY only (old
	 * programs), EAFNOSUPPORT otherwise. */
	a = sin4("127.0.0.1", 5001);
	a.sin_family = AF_UNSPEC;
	CHECK_ERR(us_bind(s, u, SA(&a), sizeof(a)), EAFNOSUPPORT);
	a = sin4(NULL, 5001);
	a.sin_family = AF_UNSPEC;
	CHECK_OK(us_bind(s, u, SA(&a), sizeof(a)));
	CHECK_EQ(local_port(s, u), 5001);
	/* udp_sendmsg: AF_UNSPEC with a whole sockaddr_in is taken as an
	 * IPv4 destination. */
	int c = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	a = sin4("127.0.0.1", 5001);
	a.sin_family = AF_UNSPEC;
	CHECK_EQ(us_sendto(s, c, "hi", 2, 0, SA(&a), sizeof(a)), 2);
	settle(s);
	char buf[4];
	CHECK_EQ(us_recv(s, u, buf, sizeof(buf), MSG_DONTWAIT), 2);
	sim_free(&sim);
}

/* bind(): in use, bound twice, not ours, what may be bound. */
static void t_bind(void)
{
	int ia;
	net2(&sim, 3, &ia, NULL);
	us_stack *s = sim.st[0];
	int u = udp_bound(s, "127.0.0.1", 5000);
	REQUIRE(u >= 0);
	struct sockaddr_in a = sin4("127.0.0.1", 5000);
	CHECK_ERR(us_bind(s, u, SA(&a), sizeof(a)), EINVAL); /* bound already */
	int u2 = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	CHECK_ERR(us_bind(s, u2, SA(&a), sizeof(a)), EADDRINUSE);
	a = sin4(NULL, 5000);
	CHECK_ERR(us_bind(s, u2, SA(&a), sizeof(a)), EADDRINUSE);
	a = sin4("10.9.9.9", 5000);
	CHECK_ERR(us_bind(s, u2, SA(&a), sizeof(a)), EADDRNOTAVAIL);
	/* The same port on another local address is free. */
	a = sin4("10.0.0.1", 5000);
	CHECK_OK(us_bind(s, u2, SA(&a), sizeof(a)));
	/* Broadcast and multicast addresses may be bound (to receive). */
	int b1 = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	a = sin4("255.255.255.255", 6000);
	CHECK_OK(us_bind(s, b1, SA(&a), sizeof(a)));
	int b2 = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	a = sin4("224.0.0.1", 6000);
	CHECK_OK(us_bind(s, b2, SA(&a), sizeof(a)));
	int b3 = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	a = sin4("10.0.0.255", 6000);
	CHECK_OK(us_bind(s, b3, SA(&a), sizeof(a)));
	/* Port 0: an ephemeral port. */
	int e = udp_bound(s, NULL, 0);
	CHECK(local_port(s, e) >= 32768 && local_port(s, e) <= 60999);
	/* A closed socket frees its port. */
	us_close(s, u);
	int u3 = udp_bound(s, "127.0.0.1", 5000);
	CHECK(u3 >= 0);
	sim_free(&sim);
}

/* connect(): errors, EACCES for broadcast, reconnecting, AF_UNSPEC. */
static void t_connect(void)
{
	net2(&sim, 4, NULL, NULL);
	us_stack *s = sim.st[0];
	int u = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	REQUIRE(u >= 0);
	struct sockaddr_in a = sin4("10.0.0.255", 7);
	CHECK_ERR(us_connect(s, u, SA(&a), sizeof(a)), EACCES);
	a = sin4("10.1.2.3", 7); /* no route */
	CHECK_ERR(us_connect(s, u, SA(&a), sizeof(a)), ENETUNREACH);
	struct sockaddr_in p;
	socklen_t pl = sizeof(p);
	CHECK_ERR(us_getpeername(s, u, SA(&p), &pl), ENOTCONN);
	CHECK_OK(set_int_opt(s, u, SOL_SOCKET, SO_BROADCAST, 1));
	a = sin4("10.0.0.255", 7);
	CHECK_OK(us_connect(s, u, SA(&a), sizeof(a)));
	/* Connecting again re-targets (no EISCONN for datagram sockets). */
	a = sin4("10.0.0.2", 9);
	CHECK_OK(us_connect(s, u, SA(&a), sizeof(a)));
	pl = sizeof(p);
	CHECK_OK(us_getpeername(s, u, SA(&p), &pl));
	CHECK_EQ(pl, sizeof(p));
	CHECK_EQ(p.sin_addr.s_addr, ip4("10.0.0.2").s_addr);
	CHECK_EQ(ntohs(p.sin_port), 9);
	/* connect() bound the socket: an ephemeral port, the route's source. */
	struct sockaddr_in l;
	socklen_t ll = sizeof(l);
	CHECK_OK(us_getsockname(s, u, SA(&l), &ll));
	CHECK_EQ(l.sin_addr.s_addr, ip4("10.0.0.1").s_addr);
	CHECK(ntohs(l.sin_port) >= 32768 && ntohs(l.sin_port) <= 60999);
	/* AF_UNSPEC dissolves the association. */
	struct sockaddr un = { .sa_family = AF_UNSPEC };
	CHECK_OK(us_connect(s, u, &un, sizeof(sa_family_t)));
	pl = sizeof(p);
	CHECK_ERR(us_getpeername(s, u, SA(&p), &pl), ENOTCONN);
	CHECK_ERR(us_send(s, u, "x", 1, 0), EDESTADDRREQ);
	sim_free(&sim);
}

/* send(): destination, size, broadcast, shutdown, flags. */
static void t_send_errors(void)
{
	net2(&sim, 5, NULL, NULL);
	us_stack *s = sim.st[0];
	static char big[65508];
	memset(big, 'x', sizeof(big));
	int u = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	REQUIRE(u >= 0);
	struct sockaddr_in to = sin4("10.0.0.2", 9);
	CHECK_ERR(us_send(s, u, "a", 1, 0), EDESTADDRREQ);
	CHECK_ERR(us_sendto(s, u, "a", 1, 0, NULL, sizeof(to)), EDESTADDRREQ);
	CHECK_ERR(us_sendto(s, u, big, 65508, 0, SA(&to), sizeof(to)), EMSGSIZE);
	CHECK_EQ(us_sendto(s, u, big, 65507, 0, SA(&to), sizeof(to)), 65507);
	/* udp_sendmsg looks at the destination before the size (<= 64 KiB). */
	CHECK_ERR(us_send(s, u, big, 65508, 0), EDESTADDRREQ);
	struct sockaddr_in z = sin4("10.0.0.2", 0);
	CHECK_ERR(us_sendto(s, u, "a", 1, 0, SA(&z), sizeof(z)), EINVAL);
	struct sockaddr_in bc = sin4("10.0.0.255", 9);
	CHECK_ERR(us_sendto(s, u, "a", 1, 0, SA(&bc), sizeof(bc)), EACCES);
	struct sockaddr_in nr = sin4("10.1.2.3", 9);
	CHECK_ERR(us_sendto(s, u, "a", 1, 0, SA(&nr), sizeof(nr)), ENETUNREACH);
	CHECK_ERR(us_sendto(s, u, "a", 1, MSG_OOB, SA(&to), sizeof(to)), EOPNOTSUPP);
	/* shutdown(SHUT_WR): EPIPE (ENOTCONN from shutdown itself, since it
	 * is not connected, but the flag is set). */
	CHECK_ERR(us_shutdown(s, u, SHUT_WR), ENOTCONN);
	CHECK_ERR(us_sendto(s, u, "a", 1, 0, SA(&to), sizeof(to)), EPIPE);
	sim_free(&sim);
}

/* ENOTCONN, and what Linux does instead of EISCONN on datagram sockets. */
static void t_notconn_isconn(void)
{
	us_stack *s = one_stack();
	int r1 = udp_bound(s, "127.0.0.1", 5101);
	int r2 = udp_bound(s, "127.0.0.1", 5102);
	int c = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	REQUIRE(r1 >= 0 && r2 >= 0 && c >= 0);
	struct sockaddr_in p;
	socklen_t pl = sizeof(p);
	CHECK_ERR(us_getpeername(s, c, SA(&p), &pl), ENOTCONN);
	CHECK_ERR(us_shutdown(s, c, SHUT_RD), ENOTCONN);
	int c2 = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a2 = sin4("127.0.0.1", 5102);
	CHECK_OK(us_connect(s, c2, SA(&a2), sizeof(a2)));
	/* A connected datagram socket may still sendto another address
	 * (no EISCONN), and it goes there. */
	struct sockaddr_in a1 = sin4("127.0.0.1", 5101);
	CHECK_EQ(us_sendto(s, c2, "zz", 2, 0, SA(&a1), sizeof(a1)), 2);
	CHECK_EQ(us_send(s, c2, "yyy", 3, 0), 3);
	settle(s);
	char buf[8];
	CHECK_EQ(us_recv(s, r1, buf, sizeof(buf), MSG_DONTWAIT), 2);
	CHECK_EQ(us_recv(s, r2, buf, sizeof(buf), MSG_DONTWAIT), 3);
	CHECK_OK(us_shutdown(s, c2, SHUT_RDWR)); /* connected: 0 */
	sim_free(&sim);
}

/* listen/accept/connect on socket kinds that have no such operation. */
static void t_eopnotsupp(void)
{
	us_stack *s = one_stack();
	int u = udp_bound(s, NULL, 7000);
	int r = us_socket(s, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	int p = us_socket(s, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	REQUIRE(u >= 0 && r >= 0 && p >= 0);
	CHECK_ERR(us_listen(s, u, 5), EOPNOTSUPP);
	CHECK_ERR(us_accept(s, u, NULL, NULL), EOPNOTSUPP);
	CHECK_ERR(us_listen(s, r, 5), EOPNOTSUPP);
	CHECK_ERR(us_listen(s, p, 5), EOPNOTSUPP);
	struct sockaddr_in a = sin4("127.0.0.1", 7);
	CHECK_ERR(us_connect(s, p, SA(&a), sizeof(a)), EOPNOTSUPP);
	CHECK_ERR(us_shutdown(s, p, SHUT_RD), EOPNOTSUPP);
	struct sockaddr_ll ll;
	socklen_t l = sizeof(ll);
	CHECK_ERR(us_getpeername(s, p, SA(&ll), &l), EOPNOTSUPP);
	/* Packet sockets' own argument errors. */
	CHECK_ERR(us_bind(s, p, SA(&a), 8), EINVAL);
	CHECK_ERR(us_bind(s, p, SA(&a), sizeof(a)), EINVAL);
	struct sockaddr_ll nodev = { .sll_family = AF_PACKET, .sll_ifindex = 77 };
	CHECK_ERR(us_bind(s, p, SA(&nodev), sizeof(nodev)), ENODEV);
	char frame[20] = { 0 };
	CHECK_ERR(us_send(s, p, frame, sizeof(frame), 0), ENXIO);
	CHECK_ERR(us_send(s, r, frame, 8, 0), EDESTADDRREQ);
	sim_free(&sim);
}

/* Unknown options and levels. */
static void t_enoprotoopt(void)
{
	us_stack *s = one_stack();
	int u = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	REQUIRE(u >= 0);
	int v = 1;
	socklen_t l = sizeof(v);
	CHECK_ERR(us_setsockopt(s, u, SOL_SOCKET, 9999, &v, sizeof(v)), ENOPROTOOPT);
	CHECK_ERR(us_getsockopt(s, u, SOL_SOCKET, 9999, &v, &l), ENOPROTOOPT);
	CHECK_ERR(us_setsockopt(s, u, IPPROTO_IP, 9999, &v, sizeof(v)), ENOPROTOOPT);
	l = sizeof(v);
	CHECK_ERR(us_getsockopt(s, u, IPPROTO_IP, 9999, &v, &l), ENOPROTOOPT);
	CHECK_ERR(us_setsockopt(s, u, IPPROTO_UDP, 9999, &v, sizeof(v)), ENOPROTOOPT);
	CHECK_ERR(us_setsockopt(s, u, 12345, 1, &v, sizeof(v)), ENOPROTOOPT);
	/* ip_getsockopt answers an unknown level with EOPNOTSUPP. */
	l = sizeof(v);
	CHECK_ERR(us_getsockopt(s, u, 12345, 1, &v, &l), EOPNOTSUPP);
	/* Read-only options cannot be set. */
	CHECK_ERR(us_setsockopt(s, u, SOL_SOCKET, SO_TYPE, &v, sizeof(v)), ENOPROTOOPT);
	CHECK_ERR(us_setsockopt(s, u, SOL_SOCKET, SO_ERROR, &v, sizeof(v)), ENOPROTOOPT);
	CHECK_ERR(us_setsockopt(s, u, SOL_SOCKET, SO_PROTOCOL, &v, sizeof(v)), ENOPROTOOPT);
	/* ICMP_FILTER belongs to raw ICMP sockets. */
	int ru = us_socket(s, AF_INET, SOCK_RAW, IPPROTO_UDP);
	uint32_t f = 0;
	CHECK_ERR(us_setsockopt(s, ru, SOL_RAW, 1 /* ICMP_FILTER */, &f, sizeof(f)), EOPNOTSUPP);
	sim_free(&sim);
}

/* SO_RCVTIMEO/SO_SNDTIMEO: EDOM for a bad timeval, round trips, a
 * negative time means "do not wait". */
static void t_timeval(void)
{
	us_stack *s = one_stack();
	int u = udp_bound(s, "127.0.0.1", 5200);
	REQUIRE(u >= 0);
	struct timeval tv = { 1, 1000000 };
	CHECK_ERR(us_setsockopt(s, u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), EDOM);
	CHECK_ERR(us_setsockopt(s, u, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), EDOM);
	tv.tv_usec = -1;
	CHECK_ERR(us_setsockopt(s, u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), EDOM);
	struct timeval got;
	socklen_t l = sizeof(got);
	CHECK_OK(us_getsockopt(s, u, SOL_SOCKET, SO_RCVTIMEO, &got, &l));
	CHECK_EQ(got.tv_sec, 0); /* unchanged: none */
	CHECK_EQ(got.tv_usec, 0);
	tv = (struct timeval){ 1, 500000 };
	CHECK_OK(us_setsockopt(s, u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	tv = (struct timeval){ 2, 0 };
	CHECK_OK(us_setsockopt(s, u, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
	l = sizeof(got);
	CHECK_OK(us_getsockopt(s, u, SOL_SOCKET, SO_RCVTIMEO, &got, &l));
	CHECK_EQ(l, sizeof(struct timeval));
	CHECK_EQ(got.tv_sec, 1);
	CHECK_EQ(got.tv_usec, 500000);
	l = sizeof(got);
	CHECK_OK(us_getsockopt(s, u, SOL_SOCKET, SO_SNDTIMEO, &got, &l));
	CHECK_EQ(got.tv_sec, 2);
	CHECK_EQ(got.tv_usec, 0);
	/* Negative: stored as "no wait" (reads back 0), a blocking recv
	 * returns EAGAIN at once. */
	tv = (struct timeval){ -3, 0 };
	CHECK_OK(us_setsockopt(s, u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	l = sizeof(got);
	CHECK_OK(us_getsockopt(s, u, SOL_SOCKET, SO_RCVTIMEO, &got, &l));
	CHECK_EQ(got.tv_sec, 0);
	CHECK_EQ(got.tv_usec, 0);
	char buf[4];
	uint64_t t0 = sim_now(&sim);
	CHECK_ERR(us_recv(s, u, buf, sizeof(buf), 0), EAGAIN);
	CHECK(sim_now(&sim) - t0 < 1 * MS);
	/* Zero: wait forever again. */
	tv = (struct timeval){ 0, 0 };
	CHECK_OK(us_setsockopt(s, u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	l = sizeof(got);
	CHECK_OK(us_getsockopt(s, u, SOL_SOCKET, SO_RCVTIMEO, &got, &l));
	CHECK_EQ(got.tv_sec, 0);
	CHECK_EQ(got.tv_usec, 0);
	sim_free(&sim);
}

/* SO_RCVTIMEO: a blocking recv returns EAGAIN after exactly that much
 * (virtual) time, and returns data that arrives before it at once. */
static void t_rcvtimeo_expiry(void)
{
	us_stack *s = one_stack();
	int u = udp_bound(s, "127.0.0.1", 5300);
	REQUIRE(u >= 0);
	struct timeval tv = { 1, 500000 };
	CHECK_OK(us_setsockopt(s, u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	char buf[16];
	uint64_t t0 = sim_now(&sim);
	CHECK_ERR(us_recv(s, u, buf, sizeof(buf), 0), EAGAIN);
	CHECK_EQ(sim_now(&sim) - t0, 1500 * MS);
	/* recvmsg and recvfrom wait the same. */
	t0 = sim_now(&sim);
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	CHECK_ERR(us_recvmsg(s, u, &m, 0), EAGAIN);
	CHECK_EQ(sim_now(&sim) - t0, 1500 * MS);
	/* MSG_DONTWAIT: no wait at all. */
	t0 = sim_now(&sim);
	CHECK_ERR(us_recv(s, u, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	CHECK_EQ(sim_now(&sim) - t0, 0);
	/* A datagram delayed 40 ms on the loopback (netem) ends the wait
	 * when it arrives, not at the timeout. */
	struct us_impair imp = { .delay_ns = 40 * MS };
	REQUIRE(us_dev_set_impair(s, us_dev_by_name(s, "lo"), &imp) == 0);
	int c = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = sin4("127.0.0.1", 5300);
	t0 = sim_now(&sim);
	CHECK_EQ(us_sendto(s, c, "late", 4, 0, SA(&to), sizeof(to)), 4);
	CHECK_EQ(us_recv(s, u, buf, sizeof(buf), 0), 4);
	CHECK_EQ(sim_now(&sim) - t0, 40 * MS);
	CHECK(!memcmp(buf, "late", 4));
	sim_free(&sim);
}

/* SO_REUSEADDR / SO_REUSEPORT: round trips and what they let bind. */
static void t_opt_reuse(void)
{
	us_stack *s = one_stack();
	int a = us_socket(s, AF_INET, SOCK_DGRAM, 0), b = us_socket(s, AF_INET, SOCK_DGRAM, 0),
	    c = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	REQUIRE(a >= 0 && b >= 0 && c >= 0);
	CHECK_EQ(get_int_opt(s, a, SOL_SOCKET, SO_REUSEADDR), 0);
	CHECK_OK(set_int_opt(s, a, SOL_SOCKET, SO_REUSEADDR, 5));
	CHECK_EQ(get_int_opt(s, a, SOL_SOCKET, SO_REUSEADDR), 1);
	CHECK_OK(set_int_opt(s, a, SOL_SOCKET, SO_REUSEADDR, 0));
	CHECK_EQ(get_int_opt(s, a, SOL_SOCKET, SO_REUSEADDR), 0);
	CHECK_EQ(get_int_opt(s, a, SOL_SOCKET, SO_REUSEPORT), 0);
	CHECK_OK(set_int_opt(s, a, SOL_SOCKET, SO_REUSEPORT, 1));
	CHECK_EQ(get_int_opt(s, a, SOL_SOCKET, SO_REUSEPORT), 1);
	CHECK_OK(set_int_opt(s, a, SOL_SOCKET, SO_REUSEPORT, 0));

	struct sockaddr_in p = sin4(NULL, 4500);
	CHECK_OK(set_int_opt(s, a, SOL_SOCKET, SO_REUSEADDR, 1));
	CHECK_OK(us_bind(s, a, SA(&p), sizeof(p)));
	CHECK_ERR(us_bind(s, c, SA(&p), sizeof(p)), EADDRINUSE); /* c has no option */
	CHECK_OK(set_int_opt(s, b, SOL_SOCKET, SO_REUSEADDR, 1));
	CHECK_OK(us_bind(s, b, SA(&p), sizeof(p)));
	/* Unicast goes to the one bound last (as Linux). */
	int snd = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in d = sin4("127.0.0.1", 4500);
	CHECK_EQ(us_sendto(s, snd, "q", 1, 0, SA(&d), sizeof(d)), 1);
	settle(s);
	char buf[4];
	CHECK_ERR(us_recv(s, a, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	CHECK_EQ(us_recv(s, b, buf, sizeof(buf), MSG_DONTWAIT), 1);
	us_close(s, a);
	us_close(s, b);
	us_close(s, c);

	a = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	b = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	CHECK_OK(set_int_opt(s, a, SOL_SOCKET, SO_REUSEPORT, 1));
	CHECK_OK(us_bind(s, a, SA(&p), sizeof(p)));
	CHECK_ERR(us_bind(s, b, SA(&p), sizeof(p)), EADDRINUSE);
	CHECK_OK(set_int_opt(s, b, SOL_SOCKET, SO_REUSEPORT, 1));
	CHECK_OK(us_bind(s, b, SA(&p), sizeof(p)));
	sim_free(&sim);
}

/* SO_RCVBUF/SO_SNDBUF: doubled, minimums, capped by rmem_max/wmem_max
 * (212992, Linux's default) unless forced. */
static void t_opt_bufs(void)
{
	us_stack *s = one_stack();
	int u = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	REQUIRE(u >= 0);
	CHECK_EQ(get_int_opt(s, u, SOL_SOCKET, SO_RCVBUF), 212992);
	CHECK_EQ(get_int_opt(s, u, SOL_SOCKET, SO_SNDBUF), 212992);
	static const struct { int set, rcv, snd; } cases[] = {
		{ 0, 2304, 4608 },
		{ 1000, 2304, 4608 },
		{ 2000, 4000, 4608 },
		{ 4096, 8192, 8192 },
		{ 100000, 200000, 200000 },
		{ 212992, 425984, 425984 },
		{ 1 << 30, 425984, 425984 },
		/* The value is taken as unsigned against the cap. */
		{ -1, 425984, 425984 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_OK(set_int_opt(s, u, SOL_SOCKET, SO_RCVBUF, cases[i].set));
		CHECK_OK(set_int_opt(s, u, SOL_SOCKET, SO_SNDBUF, cases[i].set));
		int r = get_int_opt(s, u, SOL_SOCKET, SO_RCVBUF);
		int w = get_int_opt(s, u, SOL_SOCKET, SO_SNDBUF);
		if (r != cases[i].rcv || w != cases[i].snd) {
			fprintf(stderr, "  set %d: rcvbuf %d (want %d) sndbuf %d (want %d)\n",
				cases[i].set, r, cases[i].rcv, w, cases[i].snd);
			test_failures++;
		}
	}
	/* The FORCE variants ignore the cap (and clamp at INT_MAX/2). */
	CHECK_OK(set_int_opt(s, u, SOL_SOCKET, SO_RCVBUFFORCE, 1 << 30));
	CHECK_EQ(get_int_opt(s, u, SOL_SOCKET, SO_RCVBUF), 2147483646);
	CHECK_OK(set_int_opt(s, u, SOL_SOCKET, SO_RCVBUFFORCE, 1 << 20));
	CHECK_EQ(get_int_opt(s, u, SOL_SOCKET, SO_RCVBUF), 2 << 20);
	CHECK_OK(set_int_opt(s, u, SOL_SOCKET, SO_RCVBUFFORCE, -5));
	CHECK_EQ(get_int_opt(s, u, SOL_SOCKET, SO_RCVBUF), 2304);
	CHECK_OK(set_int_opt(s, u, SOL_SOCKET, SO_SNDBUFFORCE, 1 << 20));
	CHECK_EQ(get_int_opt(s, u, SOL_SOCKET, SO_SNDBUF), 2 << 20);
	sim_free(&sim);
}

/* SO_BROADCAST, SO_TYPE/SO_DOMAIN/SO_PROTOCOL of each kind, SO_ERROR. */
static void t_opt_misc(void)
{
	us_stack *s = one_stack();
	int u = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	int r = us_socket(s, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	int rr = us_socket(s, AF_INET, SOCK_RAW, IPPROTO_RAW);
	int p = us_socket(s, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	int pd = us_socket(s, AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
	REQUIRE(u >= 0 && r >= 0 && rr >= 0 && p >= 0 && pd >= 0);
	CHECK_EQ(get_int_opt(s, u, SOL_SOCKET, SO_BROADCAST), 0);
	CHECK_OK(set_int_opt(s, u, SOL_SOCKET, SO_BROADCAST, 7));
	CHECK_EQ(get_int_opt(s, u, SOL_SOCKET, SO_BROADCAST), 1);
	CHECK_OK(set_int_opt(s, u, SOL_SOCKET, SO_BROADCAST, 0));
	CHECK_EQ(get_int_opt(s, u, SOL_SOCKET, SO_BROADCAST), 0);

	CHECK_EQ(get_int_opt(s, u, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
	CHECK_EQ(get_int_opt(s, u, SOL_SOCKET, SO_DOMAIN), AF_INET);
	CHECK_EQ(get_int_opt(s, u, SOL_SOCKET, SO_PROTOCOL), IPPROTO_UDP);
	CHECK_EQ(get_int_opt(s, r, SOL_SOCKET, SO_TYPE), SOCK_RAW);
	CHECK_EQ(get_int_opt(s, r, SOL_SOCKET, SO_DOMAIN), AF_INET);
	CHECK_EQ(get_int_opt(s, r, SOL_SOCKET, SO_PROTOCOL), IPPROTO_ICMP);
	CHECK_EQ(get_int_opt(s, rr, SOL_SOCKET, SO_PROTOCOL), IPPROTO_RAW);
	CHECK_EQ(get_int_opt(s, p, SOL_SOCKET, SO_TYPE), SOCK_RAW);
	CHECK_EQ(get_int_opt(s, p, SOL_SOCKET, SO_DOMAIN), AF_PACKET);
	CHECK_EQ(get_int_opt(s, p, SOL_SOCKET, SO_PROTOCOL), 0);
	CHECK_EQ(get_int_opt(s, pd, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
	/* IP_HDRINCL: on for IPPROTO_RAW, off for others. */
	CHECK_EQ(get_int_opt(s, r, IPPROTO_IP, IP_HDRINCL), 0);
	CHECK_EQ(get_int_opt(s, rr, IPPROTO_IP, IP_HDRINCL), 1);
	CHECK_OK(set_int_opt(s, r, IPPROTO_IP, IP_HDRINCL, 1));
	CHECK_EQ(get_int_opt(s, r, IPPROTO_IP, IP_HDRINCL), 1);
	/* SO_ERROR: 0 on a fresh socket (its use is in test_udp/test_epoll). */
	CHECK_EQ(get_int_opt(s, u, SOL_SOCKET, SO_ERROR), 0);
	sim_free(&sim);
}

/* SO_BINDTODEVICE: round trip, clearing, unknown device, and its effect
 * on where datagrams may arrive. */
static void t_opt_bindtodevice(void)
{
	net2(&sim, 8, NULL, NULL);
	us_stack *s = sim.st[0];
	int u = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	REQUIRE(u >= 0);
	char d[IFNAMSIZ];
	socklen_t l = sizeof(d);
	CHECK_OK(us_getsockopt(s, u, SOL_SOCKET, SO_BINDTODEVICE, d, &l));
	CHECK_EQ(l, 0);
	CHECK_OK(us_setsockopt(s, u, SOL_SOCKET, SO_BINDTODEVICE, "eth0", 5));
	l = sizeof(d);
	memset(d, 0x55, sizeof(d));
	CHECK_OK(us_getsockopt(s, u, SOL_SOCKET, SO_BINDTODEVICE, d, &l));
	CHECK_EQ(l, 5);
	CHECK(!strcmp(d, "eth0"));
	l = 2;
	CHECK_ERR(us_getsockopt(s, u, SOL_SOCKET, SO_BINDTODEVICE, d, &l), EINVAL);
	CHECK_ERR(us_setsockopt(s, u, SOL_SOCKET, SO_BINDTODEVICE, "nosuch0", 8), ENODEV);
	/* A name without its NUL is fine. */
	CHECK_OK(us_setsockopt(s, u, SOL_SOCKET, SO_BINDTODEVICE, "lo", 2));
	l = sizeof(d);
	CHECK_OK(us_getsockopt(s, u, SOL_SOCKET, SO_BINDTODEVICE, d, &l));
	CHECK_EQ(l, 3);
	CHECK(!strcmp(d, "lo"));
	CHECK_OK(us_setsockopt(s, u, SOL_SOCKET, SO_BINDTODEVICE, "", 1));
	l = sizeof(d);
	CHECK_OK(us_getsockopt(s, u, SOL_SOCKET, SO_BINDTODEVICE, d, &l));
	CHECK_EQ(l, 0);
	CHECK_OK(us_setsockopt(s, u, SOL_SOCKET, SO_BINDTODEVICE, "lo", 2));
	CHECK_OK(us_setsockopt(s, u, SOL_SOCKET, SO_BINDTODEVICE, "lo", 0)); /* len 0 clears */
	l = sizeof(d);
	CHECK_OK(us_getsockopt(s, u, SOL_SOCKET, SO_BINDTODEVICE, d, &l));
	CHECK_EQ(l, 0);

	/* Bound to lo: a datagram arriving on eth0 finds no socket. */
	CHECK_OK(us_setsockopt(s, u, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3));
	struct sockaddr_in a = sin4(NULL, 6100);
	CHECK_OK(us_bind(s, u, SA(&a), sizeof(a)));
	int c = us_socket(sim.st[1], AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = sin4("10.0.0.1", 6100);
	uint64_t noports = ctr(s, "UdpNoPorts");
	CHECK_EQ(us_sendto(sim.st[1], c, "x", 1, 0, SA(&to), sizeof(to)), 1);
	sim_run_for(&sim, 50 * MS);
	char buf[4];
	CHECK_ERR(us_recv(s, u, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	CHECK_EQ(ctr(s, "UdpNoPorts"), noports + 1);
	/* Bound to eth0: it does. */
	CHECK_OK(us_setsockopt(s, u, SOL_SOCKET, SO_BINDTODEVICE, "eth0", 5));
	CHECK_EQ(us_sendto(sim.st[1], c, "y", 1, 0, SA(&to), sizeof(to)), 1);
	sim_run_for(&sim, 50 * MS);
	CHECK_EQ(us_recv(s, u, buf, sizeof(buf), MSG_DONTWAIT), 1);
	sim_free(&sim);
}

/* The IPv4 header of the next UDP datagram the stack sends to the peer
 * (answering its ARP first). */
static struct peer pr;

static const uint8_t *next_udp_ip(void)
{
	for (int i = 0; i < 8; i++) {
		const struct frame *f = peer_pop(&pr, 100 * MS);
		if (!f)
			return NULL;
		if (f->len >= 14 + 20 && f->data[12] == 0x08 && f->data[13] == 0x06) {
			peer_answer_arp(&pr, f);
			continue;
		}
		if (f->len >= 14 + 28 && f->data[12] == 0x08 && f->data[13] == 0x00 &&
		    f->data[14 + 9] == IPPROTO_UDP)
			return f->data + 14;
	}
	return NULL;
}

/* IP_TTL: default 64, -1 resets, 0 and 256 EINVAL, a one-byte value, and
 * the TTL on the wire. */
static void t_ip_ttl(void)
{
	us_stack *s = one_stack();
	REQUIRE(peer_attach(&pr, s, sim.clk, "eth0", "10.0.0.1/24", false) == 0);
	int u = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	REQUIRE(u >= 0);
	struct sockaddr_in to = sin4("10.0.0.2", 9);
	CHECK_EQ(get_int_opt(s, u, IPPROTO_IP, IP_TTL), 64);
	CHECK_ERR(set_int_opt(s, u, IPPROTO_IP, IP_TTL, 0), EINVAL);
	CHECK_ERR(set_int_opt(s, u, IPPROTO_IP, IP_TTL, 256), EINVAL);
	CHECK_ERR(set_int_opt(s, u, IPPROTO_IP, IP_TTL, -2), EINVAL);
	CHECK_EQ(get_int_opt(s, u, IPPROTO_IP, IP_TTL), 64);
	CHECK_EQ(us_sendto(s, u, "a", 1, 0, SA(&to), sizeof(to)), 1);
	const uint8_t *ip = next_udp_ip();
	REQUIRE(ip);
	CHECK_EQ(ip[8], 64);

	CHECK_OK(set_int_opt(s, u, IPPROTO_IP, IP_TTL, 7));
	CHECK_EQ(get_int_opt(s, u, IPPROTO_IP, IP_TTL), 7);
	CHECK_EQ(us_sendto(s, u, "b", 1, 0, SA(&to), sizeof(to)), 1);
	ip = next_udp_ip();
	REQUIRE(ip);
	CHECK_EQ(ip[8], 7);
	CHECK_OK(set_int_opt(s, u, IPPROTO_IP, IP_TTL, 255));
	CHECK_EQ(us_sendto(s, u, "c", 1, 0, SA(&to), sizeof(to)), 1);
	ip = next_udp_ip();
	REQUIRE(ip);
	CHECK_EQ(ip[8], 255);

	CHECK_OK(set_int_opt(s, u, IPPROTO_IP, IP_TTL, -1));
	CHECK_EQ(get_int_opt(s, u, IPPROTO_IP, IP_TTL), 64);
	CHECK_EQ(us_sendto(s, u, "d", 1, 0, SA(&to), sizeof(to)), 1);
	ip = next_udp_ip();
	REQUIRE(ip);
	CHECK_EQ(ip[8], 64);

	/* do_ip_setsockopt takes a one-byte value for the int options. */
	unsigned char c9 = 9;
	CHECK_OK(us_setsockopt(s, u, IPPROTO_IP, IP_TTL, &c9, 1));
	CHECK_EQ(get_int_opt(s, u, IPPROTO_IP, IP_TTL), 9);
	unsigned char got = 0;
	socklen_t l = 1;
	CHECK_OK(us_getsockopt(s, u, IPPROTO_IP, IP_TTL, &got, &l));
	CHECK_EQ(l, 1);
	CHECK_EQ(got, 9);
	peer_detach(&pr);
	sim_free(&sim);
}

/* IP_TOS: round trip (masked to 8 bits) and the TOS byte on the wire. */
static void t_ip_tos(void)
{
	us_stack *s = one_stack();
	REQUIRE(peer_attach(&pr, s, sim.clk, "eth0", "10.0.0.1/24", false) == 0);
	int u = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	REQUIRE(u >= 0);
	struct sockaddr_in to = sin4("10.0.0.2", 9);
	CHECK_EQ(get_int_opt(s, u, IPPROTO_IP, IP_TOS), 0);
	CHECK_EQ(us_sendto(s, u, "a", 1, 0, SA(&to), sizeof(to)), 1);
	const uint8_t *ip = next_udp_ip();
	REQUIRE(ip);
	CHECK_EQ(ip[1], 0);
	CHECK_OK(set_int_opt(s, u, IPPROTO_IP, IP_TOS, 0xb8));
	CHECK_EQ(get_int_opt(s, u, IPPROTO_IP, IP_TOS), 0xb8);
	CHECK_EQ(us_sendto(s, u, "b", 1, 0, SA(&to), sizeof(to)), 1);
	ip = next_udp_ip();
	REQUIRE(ip);
	CHECK_EQ(ip[1], 0xb8);
	CHECK_OK(set_int_opt(s, u, IPPROTO_IP, IP_TOS, 0x1ff));
	CHECK_EQ(get_int_opt(s, u, IPPROTO_IP, IP_TOS), 0xff);
	CHECK_OK(set_int_opt(s, u, IPPROTO_IP, IP_TOS, 0x28));
	CHECK_EQ(us_sendto(s, u, "c", 1, 0, SA(&to), sizeof(to)), 1);
	ip = next_udp_ip();
	REQUIRE(ip);
	CHECK_EQ(ip[1], 0x28);
	peer_detach(&pr);
	sim_free(&sim);
}

/* MSG_PEEK, MSG_TRUNC (both ways), empty datagrams, the source address. */
static void t_msg_flags(void)
{
	us_stack *s = one_stack();
	int r = udp_bound(s, "127.0.0.1", 5101);
	int c = udp_bound(s, "127.0.0.1", 5555);
	REQUIRE(r >= 0 && c >= 0);
	struct sockaddr_in to = sin4("127.0.0.1", 5101);
	CHECK_EQ(us_sendto(s, c, "0123456789", 10, 0, SA(&to), sizeof(to)), 10);
	settle(s);
	char buf[32];
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(us_recv(s, r, buf, 4, MSG_PEEK), 4);
	CHECK(!memcmp(buf, "0123", 4));
	CHECK_EQ(us_recv(s, r, buf, 4, MSG_PEEK | MSG_TRUNC), 10);
	CHECK_EQ(us_recv(s, r, NULL, 0, MSG_PEEK | MSG_TRUNC), 10);
	/* Peeking leaves it queued: the whole datagram is still there. */
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(us_recvfrom(s, r, buf, sizeof(buf), MSG_PEEK, SA(&from), &fl), 10);
	CHECK_EQ(fl, sizeof(from));
	CHECK_EQ(from.sin_addr.s_addr, ip4("127.0.0.1").s_addr);
	CHECK_EQ(ntohs(from.sin_port), 5555);
	/* A short buffer: the rest is discarded, MSG_TRUNC in msg_flags. */
	struct iovec iov = { buf, 4 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	CHECK_EQ(us_recvmsg(s, r, &m, 0), 4);
	CHECK_EQ(m.msg_flags & MSG_TRUNC, MSG_TRUNC);
	CHECK_ERR(us_recv(s, r, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	/* MSG_TRUNC in flags: the real length, and still the flag. */
	CHECK_EQ(us_sendto(s, c, "abcdefghij", 10, 0, SA(&to), sizeof(to)), 10);
	settle(s);
	m.msg_flags = 0;
	CHECK_EQ(us_recvmsg(s, r, &m, MSG_TRUNC), 10);
	CHECK_EQ(m.msg_flags & MSG_TRUNC, MSG_TRUNC);
	CHECK(!memcmp(buf, "abcd", 4));
	/* A fitting datagram clears msg_flags. */
	CHECK_EQ(us_sendto(s, c, "ab", 2, 0, SA(&to), sizeof(to)), 2);
	settle(s);
	m.msg_flags = MSG_TRUNC;
	CHECK_EQ(us_recvmsg(s, r, &m, 0), 2);
	CHECK_EQ(m.msg_flags, 0);
	/* An empty datagram is readable and reads as 0. */
	CHECK_EQ(us_sendto(s, c, "", 0, 0, SA(&to), sizeof(to)), 0);
	settle(s);
	CHECK_EQ(epoll_mask(s, r) & (EPOLLIN | EPOLLRDNORM), EPOLLIN | EPOLLRDNORM);
	CHECK_EQ(us_recv(s, r, buf, sizeof(buf), MSG_DONTWAIT), 0);
	CHECK_ERR(us_recv(s, r, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	/* A short address buffer: truncated, the full length reported. */
	CHECK_EQ(us_sendto(s, c, "ab", 2, 0, SA(&to), sizeof(to)), 2);
	settle(s);
	memset(&from, 0xee, sizeof(from));
	fl = 4;
	CHECK_EQ(us_recvfrom(s, r, buf, sizeof(buf), 0, SA(&from), &fl), 2);
	CHECK_EQ(fl, sizeof(struct sockaddr_in));
	CHECK_EQ(from.sin_family, AF_INET);
	CHECK_EQ(from.sin_port, htons(5555));
	CHECK_EQ(from.sin_addr.s_addr, 0xeeeeeeeeu); /* not written */
	sim_free(&sim);
}

/* MSG_DONTWAIT and O_NONBLOCK: EAGAIN without any (virtual) time passing;
 * us_fcntl F_GETFL/F_SETFL. */
static void t_nonblock(void)
{
	us_stack *s = one_stack();
	int u = udp_bound(s, "127.0.0.1", 5400);
	REQUIRE(u >= 0);
	char buf[8];
	uint64_t t0 = sim_now(&sim);
	CHECK_ERR(us_recv(s, u, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	CHECK_EQ(us_fcntl(s, u, F_GETFL, 0), O_RDWR);
	CHECK_OK(us_fcntl(s, u, F_SETFL, O_NONBLOCK));
	CHECK_EQ(us_fcntl(s, u, F_GETFL, 0), O_RDWR | O_NONBLOCK);
	CHECK_ERR(us_recv(s, u, buf, sizeof(buf), 0), EAGAIN);
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	CHECK_ERR(us_recvmsg(s, u, &m, 0), EAGAIN);
	CHECK_EQ(sim_now(&sim), t0);
	CHECK_OK(us_fcntl(s, u, F_SETFL, 0));
	CHECK_EQ(us_fcntl(s, u, F_GETFL, 0), O_RDWR);
	CHECK_ERR(us_fcntl(s, u, 9999, 0), EINVAL);
	/* Blocking again: the recv waits (SO_RCVTIMEO bounds it). */
	struct timeval tv = { 0, 100000 };
	CHECK_OK(us_setsockopt(s, u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	CHECK_ERR(us_recv(s, u, buf, sizeof(buf), 0), EAGAIN);
	CHECK_EQ(sim_now(&sim) - t0, 100 * MS);
	/* us_set_nonblocking is the same flag. */
	CHECK_OK(us_set_nonblocking(s, u, true));
	CHECK_EQ(us_fcntl(s, u, F_GETFL, 0), O_RDWR | O_NONBLOCK);
	sim_free(&sim);
}

/* sendmsg gathers several iovecs into one datagram; recvmsg scatters it. */
static void t_iovecs(void)
{
	us_stack *s = one_stack();
	int r = udp_bound(s, "127.0.0.1", 5600);
	int c = udp_bound(s, "127.0.0.1", 5601);
	REQUIRE(r >= 0 && c >= 0);
	struct sockaddr_in to = sin4("127.0.0.1", 5600);
	struct iovec out[4] = { { "Hello", 5 }, { NULL, 0 }, { ", ", 2 }, { "world!", 6 } };
	struct msghdr sm = { .msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = out,
			     .msg_iovlen = 4 };
	CHECK_EQ(us_sendmsg(s, c, &sm, 0), 13);
	settle(s);
	char a[3], b[4], d[20];
	memset(d, 0, sizeof(d));
	struct iovec in[3] = { { a, sizeof(a) }, { b, sizeof(b) }, { d, sizeof(d) } };
	struct sockaddr_in from;
	struct msghdr rm = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = in,
			     .msg_iovlen = 3 };
	CHECK_EQ(us_recvmsg(s, r, &rm, 0), 13);
	CHECK(!memcmp(a, "Hel", 3));
	CHECK(!memcmp(b, "lo, ", 4));
	CHECK(!strcmp(d, "world!"));
	CHECK_EQ(rm.msg_namelen, sizeof(from));
	CHECK_EQ(ntohs(from.sin_port), 5601);
	CHECK_EQ(rm.msg_flags, 0);
	/* Scattered into less room than the datagram: MSG_TRUNC. */
	CHECK_EQ(us_sendmsg(s, c, &sm, 0), 13);
	settle(s);
	struct iovec small[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	struct msghdr rm2 = { .msg_iov = small, .msg_iovlen = 2 };
	CHECK_EQ(us_recvmsg(s, r, &rm2, 0), 7);
	CHECK_EQ(rm2.msg_flags & MSG_TRUNC, MSG_TRUNC);
	CHECK(!memcmp(b, "lo, ", 4));
	/* Connected: sendmsg without a name, send with one iovec. */
	CHECK_OK(us_connect(s, c, SA(&to), sizeof(to)));
	sm.msg_name = NULL;
	sm.msg_namelen = 0;
	CHECK_EQ(us_sendmsg(s, c, &sm, 0), 13);
	settle(s);
	memset(d, 0, sizeof(d));
	CHECK_EQ(us_recv(s, r, d, sizeof(d), 0), 13);
	CHECK(!strcmp(d, "Hello, world!"));
	sim_free(&sim);
}

TEST_MAIN(T(t_socket_errors), T(t_bad_handles), T(t_efault), T(t_einval_lengths),
	  T(t_eafnosupport), T(t_bind), T(t_connect), T(t_send_errors), T(t_notconn_isconn),
	  T(t_eopnotsupp), T(t_enoprotoopt), T(t_timeval), T(t_rcvtimeo_expiry), T(t_opt_reuse),
	  T(t_opt_bufs), T(t_opt_misc), T(t_opt_bindtodevice), T(t_ip_ttl), T(t_ip_tos),
	  T(t_msg_flags), T(t_nonblock), T(t_iovecs))
