/*
 * bench_tcp_peer: the Linux side of the TCP benchmarks over TAP and veth
 * (bench/tcp/tcp_tap.sh). Plain kernel sockets, one thread.
 *
 *   bench_tcp_peer serve [--http PORT] [--echo PORT] [--discard PORT] [--bind ADDR]
 *       A single-threaded epoll server, the Linux counterpart of `ustack run
 *       --serve`: HTTP/1.x GET /bytes/N (body byte i = i % 251, as ustack's
 *       server; keep-alive unless the client is HTTP/1.0 or says close),
 *       echo (RFC 862) and discard (RFC 863). Runs until killed.
 *   bench_tcp_peer blast HOST PORT SECONDS [WRITE_SIZE]
 *       Sends for SECONDS in writes of WRITE_SIZE (default 128 KiB) to a
 *       discard server, half-closes and waits for the server's EOF (it has
 *       read everything); prints "blast BYTES SECONDS GBITS" with the time up
 *       to that EOF.
 *   bench_tcp_peer rr HOST PORT COUNT [SIZE]
 *       Request/response on an echo server: SIZE bytes (default 64) out,
 *       the same back, COUNT times on one connection (TCP_NODELAY, after
 *       1000 warm-up rounds); prints "rr COUNT SIZE p50_us p90_us p99_us
 *       mean_us".
 *   bench_tcp_peer conns HOST PORT COUNT
 *       Opens COUNT connections and keeps them idle until killed (for
 *       memory per connection); prints "conns COUNT" once all are
 *       established.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BENCH_NAME "bench_tcp_peer"
#include "../bench_util.h"

static struct sockaddr_in addr_of(const char *host, int port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "bench_tcp_peer: bad address '%s'\n", host);
		exit(2);
	}
	return a;
}

static int connect_to(const char *host, int port)
{
	struct sockaddr_in a = addr_of(host, port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	return fd;
}

/* ---- serve ---- */

enum kind { K_HTTP = 1, K_ECHO, K_DISCARD };

#define PAT_WINDOW (251 * 1024) /* the pattern repeats every 251 bytes */
#define IN_MAX 8192

struct conn {
	enum kind kind;
	int fd;
	char in[IN_MAX];
	size_t inlen;
	char hdr[256];
	size_t hdrlen, hdroff;
	uint64_t body_left, body_pos;
	bool close_after;
	char *echo;          /* echo: bytes read, not yet written back */
	size_t echolen, echooff;
	uint32_t events;
};

struct listener {
	enum kind kind;
	int fd;
};

static uint8_t pattern[PAT_WINDOW + 65536];

static int listen_on(const char *bind_addr, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		die("socket");
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = addr_of(bind_addr, port);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind");
	if (listen(fd, 4096) < 0)
		die("listen");
	return fd;
}

static void set_events(int ep, struct conn *c, uint32_t ev)
{
	if (c->events == ev)
		return;
	struct epoll_event e = { .events = ev, .data.ptr = c };
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
	c->events = ev;
}

static void conn_free(struct conn *c)
{
	close(c->fd);
	free(c->echo);
	free(c);
}

/* Parses complete requests; queues one response at a time. */
static void http_next(struct conn *c)
{
	while (!c->hdrlen && !c->body_left && c->inlen) {
		char *end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
		if (!end)
			return;
		size_t len = (size_t)(end + 4 - c->in);
		unsigned long long n = 0;
		bool ok = sscanf(c->in, "GET /bytes/%llu ", &n) == 1 ||
			  sscanf(c->in, "HEAD /bytes/%llu ", &n) == 1;
		bool head = !strncmp(c->in, "HEAD ", 5);
		bool http10 = memmem(c->in, len, " HTTP/1.0\r\n", 11) != NULL;
		bool ka = memmem(c->in, len, "\nConnection: keep-alive", 23) ||
			  memmem(c->in, len, "\nConnection: Keep-Alive", 23);
		bool cl = memmem(c->in, len, "\nConnection: close", 18) != NULL;
		c->close_after = http10 ? !ka : cl;
		if (!ok) {
			c->hdrlen = (size_t)snprintf(c->hdr, sizeof(c->hdr),
						     "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
						     "Connection: %s\r\n\r\n",
						     c->close_after ? "close" : "keep-alive");
		} else {
			c->hdrlen = (size_t)snprintf(c->hdr, sizeof(c->hdr),
						     "HTTP/1.1 200 OK\r\nServer: bench\r\nContent-Length: %llu\r\n"
						     "Content-Type: application/octet-stream\r\nConnection: %s\r\n\r\n",
						     n, c->close_after ? "close" : "keep-alive");
			c->body_left = head ? 0 : n;
			c->body_pos = 0;
		}
		c->hdroff = 0;
		memmove(c->in, c->in + len, c->inlen - len);
		c->inlen -= len;
	}
}

/* Returns -1 on error, 1 when all is sent, 0 when the socket is full. */
static int http_flush(struct conn *c)
{
	for (;;) {
		if (c->hdroff < c->hdrlen) {
			ssize_t n = send(c->fd, c->hdr + c->hdroff, c->hdrlen - c->hdroff,
					 MSG_NOSIGNAL | (c->body_left ? MSG_MORE : 0));
			if (n < 0)
				return errno == EAGAIN ? 0 : -1;
			c->hdroff += (size_t)n;
			continue;
		}
		if (c->body_left) {
			size_t off = (size_t)(c->body_pos % 251);
			size_t want = c->body_left < PAT_WINDOW ? (size_t)c->body_left : PAT_WINDOW;
			ssize_t n = send(c->fd, pattern + off, want, MSG_NOSIGNAL);
			if (n < 0)
				return errno == EAGAIN ? 0 : -1;
			c->body_pos += (uint64_t)n;
			c->body_left -= (uint64_t)n;
			continue;
		}
		c->hdrlen = c->hdroff = 0;
		if (c->close_after)
			return -1; /* done: close */
		http_next(c);
		if (!c->hdrlen)
			return 1;
	}
}

static int cmd_serve(int argc, char **argv)
{
	const char *bind_addr = "0.0.0.0";
	int ports[4] = { 0 };
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--http"))
			ports[K_HTTP] = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--echo"))
			ports[K_ECHO] = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--discard"))
			ports[K_DISCARD] = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--bind"))
			bind_addr = argv[i + 1];
		else
			return fprintf(stderr, "bench_tcp_peer serve: unknown option %s\n", argv[i]), 2;
	}
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i % 251);
	signal(SIGPIPE, SIG_IGN);
	int ep = epoll_create1(0);
	static struct listener ls[4];
	for (int k = 1; k < 4; k++) {
		if (!ports[k])
			continue;
		ls[k].kind = (enum kind)k;
		ls[k].fd = listen_on(bind_addr, ports[k]);
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = &ls[k] };
		epoll_ctl(ep, EPOLL_CTL_ADD, ls[k].fd, &e);
	}
	printf("serving\n");
	fflush(stdout);
	static char buf[256 * 1024];
	struct epoll_event evs[256];
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p >= (void *)&ls[0] && p < (void *)&ls[4]) {
				struct listener *l = p;
				for (;;) {
					int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK);
					if (fd < 0)
						break;
					struct conn *c = calloc(1, sizeof(*c));
					c->kind = l->kind;
					c->fd = fd;
					c->events = EPOLLIN;
					struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
				}
				continue;
			}
			struct conn *c = p;
			bool eof = false;
			if (c->kind == K_DISCARD) {
				for (;;) {
					ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
					if (r > 0)
						continue;
					eof = r == 0 || errno != EAGAIN;
					break;
				}
				if (eof)
					conn_free(c);
				continue;
			}
			if (c->kind == K_ECHO) {
				if (c->echooff == c->echolen) {
					ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
					if (r == 0 || (r < 0 && errno != EAGAIN)) {
						conn_free(c);
						continue;
					}
					if (r > 0) {
						c->echo = realloc(c->echo, (size_t)r);
						memcpy(c->echo, buf, (size_t)r);
						c->echolen = (size_t)r;
						c->echooff = 0;
					}
				}
				while (c->echooff < c->echolen) {
					ssize_t w = send(c->fd, c->echo + c->echooff, c->echolen - c->echooff,
							 MSG_NOSIGNAL);
					if (w < 0)
						break;
					c->echooff += (size_t)w;
				}
				set_events(ep, c, c->echooff < c->echolen ? EPOLLOUT : EPOLLIN);
				continue;
			}
			/* HTTP */
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
				ssize_t r = recv(c->fd, c->in + c->inlen, IN_MAX - c->inlen, 0);
				if (r == 0 || (r < 0 && errno != EAGAIN)) {
					conn_free(c);
					continue;
				}
				if (r > 0)
					c->inlen += (size_t)r;
				if (c->inlen == IN_MAX && !memmem(c->in, c->inlen, "\r\n\r\n", 4)) {
					conn_free(c);
					continue;
				}
			}
			http_next(c);
			int f = http_flush(c);
			if (f < 0) {
				conn_free(c);
				continue;
			}
			set_events(ep, c, f == 0 ? EPOLLOUT : EPOLLIN);
		}
	}
}

/* ---- clients ---- */

static int cmd_blast(int argc, char **argv)
{
	if (argc < 5)
		return 2;
	double secs = atof(argv[4]);
	size_t wsize = argc > 5 ? (size_t)atol(argv[5]) : 128 * 1024;
	char *buf = calloc(1, wsize);
	for (size_t i = 0; i < wsize; i++)
		buf[i] = (char)(i * 7);
	int fd = connect_to(argv[2], atoi(argv[3]));
	uint64_t bytes = 0;
	double t0 = now_s(), end = t0 + secs;
	while (now_s() < end) {
		ssize_t n = send(fd, buf, wsize, MSG_NOSIGNAL);
		if (n < 0)
			die("send");
		bytes += (uint64_t)n;
	}
	shutdown(fd, SHUT_WR);
	char tmp[4096];
	while (recv(fd, tmp, sizeof(tmp), 0) > 0) {
	}
	double dt = now_s() - t0;
	close(fd);
	printf("blast %llu %.3f %.3f\n", (unsigned long long)bytes, dt, (double)bytes * 8 / dt / 1e9);
	return 0;
}

static int cmd_rr(int argc, char **argv)
{
	if (argc < 5)
		return 2;
	int count = atoi(argv[4]);
	size_t size = argc > 5 ? (size_t)atol(argv[5]) : 64;
	int fd = connect_to(argv[2], atoi(argv[3]));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	char *out = calloc(1, size), *in = calloc(1, size);
	double *lat = calloc((size_t)count, sizeof(double));
	for (int i = -1000; i < count; i++) {
		memset(out, 'a' + (i & 15), size);
		double t0 = now_s();
		if (send(fd, out, size, 0) != (ssize_t)size)
			die("send");
		size_t got = 0;
		while (got < size) {
			ssize_t n = recv(fd, in + got, size - got, 0);
			if (n <= 0)
				die("recv");
			got += (size_t)n;
		}
		double dt = now_s() - t0;
		if (memcmp(in, out, size)) {
			fprintf(stderr, "bench_tcp_peer rr: echo differs\n");
			return 1;
		}
		if (i >= 0)
			lat[i] = dt * 1e6;
	}
	close(fd);
	double sum = 0;
	for (int i = 0; i < count; i++)
		sum += lat[i];
	qsort(lat, (size_t)count, sizeof(double), cmp_double);
	printf("rr %d %zu %.1f %.1f %.1f %.1f\n", count, size, lat[count / 2], lat[count * 9 / 10],
	       lat[count * 99 / 100], sum / count);
	return 0;
}

static int cmd_conns(int argc, char **argv)
{
	if (argc < 5)
		return 2;
	int count = atoi(argv[4]);
	for (int i = 0; i < count; i++)
		connect_to(argv[2], atoi(argv[3]));
	printf("conns %d\n", count);
	fflush(stdout);
	pause();
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_tcp_peer serve|blast|rr|conns ... (see the source)\n");
		return 2;
	}
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc, argv);
	if (!strcmp(argv[1], "blast"))
		return cmd_blast(argc, argv);
	if (!strcmp(argv[1], "rr"))
		return cmd_rr(argc, argv);
	if (!strcmp(argv[1], "conns"))
		return cmd_conns(argc, argv);
	fprintf(stderr, "bench_tcp_peer: unknown command %s\n", argv[1]);
	return 2;
}
