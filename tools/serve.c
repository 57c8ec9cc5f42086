/* The built-in services, event-driven on us_epoll (level-triggered). */
#include "serve.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

enum { TAG_SERVICE = 1, TAG_CONN = 2 };

#define IN_MAX 8192          /* request headers at most */
#define CHUNK (64 * 1024)    /* bytes moved per call */

struct conn {
	int tag;
	struct conn *next, *prev;
	struct service *svc;
	int fd;
	uint64_t last_ms;
	uint8_t in[IN_MAX];
	size_t inlen;
	uint8_t *out;            /* pending bytes (echo data, HTTP headers) */
	size_t outlen, outoff, outcap;
	/* HTTP body being sent */
	int file_fd;
	uint64_t body_left, body_pos;
	bool body_pattern;
	uint64_t skip_in;        /* request body bytes to discard */
	bool close_after;        /* close once the output is sent */
	bool peer_closed;
	uint32_t events;         /* what is registered with epoll */
	uint64_t chargen_pos;
};

static const struct {
	const char *name;
	enum service_kind kind;
	uint16_t port;
	int type;
} kinds[] = {
	{ "echo", SVC_ECHO, 7, SOCK_STREAM },         /* RFC 862 */
	{ "discard", SVC_DISCARD, 9, SOCK_STREAM },   /* RFC 863 */
	{ "chargen", SVC_CHARGEN, 19, SOCK_STREAM },  /* RFC 864 */
	{ "http", SVC_HTTP, 80, SOCK_STREAM },
	{ "udp-echo", SVC_UDP_ECHO, 7, SOCK_DGRAM },
	{ "udp-discard", SVC_UDP_DISCARD, 9, SOCK_DGRAM },
};

/* The body of /bytes/N: byte i is i mod 251 (a prime, so the pattern does
 * not line up with buffer or segment sizes). */
uint8_t serve_pattern_byte(uint64_t i)
{
	return (uint8_t)(i % 251);
}

static int svc_type(enum service_kind k)
{
	return k == SVC_UDP_ECHO || k == SVC_UDP_DISCARD ? SOCK_DGRAM : SOCK_STREAM;
}

int serve_parse(struct serve_cfg *cfg, const char *spec)
{
	char buf[512];
	if (strlen(spec) >= sizeof(buf))
		return cli_error("--serve: too long"), -1;
	strcpy(buf, spec);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (cfg->n >= SERVE_MAX)
			return cli_error("--serve: at most %d services", SERVE_MAX), -1;
		char *colon = strchr(tok, ':');
		if (colon)
			*colon = 0;
		int k = -1;
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (!strcmp(tok, kinds[i].name))
				k = (int)i;
		if (k < 0)
			return cli_error("--serve: unknown service '%s' (echo, discard, chargen, http, "
					 "udp-echo, udp-discard)", tok), -1;
		struct service *sv = &cfg->svc[cfg->n];
		memset(sv, 0, sizeof(*sv));
		sv->tag = TAG_SERVICE;
		sv->kind = kinds[k].kind;
		sv->name = kinds[k].name;
		sv->port = kinds[k].port;
		if (colon) {
			char *end;
			long p = strtol(colon + 1, &end, 10);
			if (end == colon + 1 || *end || p < 1 || p > 65535)
				return cli_error("--serve: bad port '%s' for %s", colon + 1, tok), -1;
			sv->port = (uint16_t)p;
		}
		for (int i = 0; i < cfg->n; i++)
			if (cfg->svc[i].port == sv->port && svc_type(cfg->svc[i].kind) == svc_type(sv->kind))
				return cli_error("--serve: port %u given twice", sv->port), -1;
		sv->fd = -1;
		cfg->n++;
	}
	return 0;
}

int serve_open(us_stack *s, struct serve_cfg *cfg, int epfd)
{
	/* The pattern repeats every 251 bytes: any window of CHUNK bytes is
	 * this buffer at offset (position % 251). */
	cfg->pattern = malloc(251 + CHUNK);
	if (!cfg->pattern)
		return cli_error("out of memory"), -1;
	for (size_t i = 0; i < 251 + CHUNK; i++)
		cfg->pattern[i] = serve_pattern_byte(i);
	if (!cfg->max_conns)
		cfg->max_conns = 20000;
	if (!cfg->idle_ms)
		cfg->idle_ms = 120000;
	for (int i = 0; i < cfg->n; i++) {
		struct service *sv = &cfg->svc[i];
		int type = svc_type(sv->kind);
		sv->fd = us_socket(s, AF_INET, type | SOCK_NONBLOCK, 0);
		if (sv->fd < 0)
			return cli_error("%s: socket: %s", sv->name, strerror(errno)), -1;
		int one = 1;
		us_setsockopt(s, sv->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(sv->port) };
		if (us_bind(s, sv->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
			return cli_error("%s: bind port %u: %s", sv->name, sv->port, strerror(errno)), -1;
		if (type == SOCK_STREAM && us_listen(s, sv->fd, 4096) < 0)
			return cli_error("%s: listen: %s", sv->name, strerror(errno)), -1;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = sv };
		if (us_epoll_ctl(s, epfd, EPOLL_CTL_ADD, sv->fd, &ev) < 0)
			return cli_error("%s: epoll: %s", sv->name, strerror(errno)), -1;
	}
	return 0;
}

/* ---- connections ---- */

static void conn_set_events(us_stack *s, int epfd, struct conn *c, uint32_t events)
{
	if (c->events == events)
		return;
	struct epoll_event ev = { .events = events, .data.ptr = c };
	us_epoll_ctl(s, epfd, EPOLL_CTL_MOD, c->fd, &ev);
	c->events = events;
}

static void conn_close(us_stack *s, struct serve_cfg *cfg, struct conn *c)
{
	us_close(s, c->fd); /* also leaves the epoll set */
	if (c->file_fd >= 0)
		close(c->file_fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		cfg->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	cfg->nconns--;
	free(c->out);
	free(c);
}

static void conn_accept(us_stack *s, struct serve_cfg *cfg, int epfd, struct service *sv)
{
	for (int i = 0; i < 64; i++) {
		int fd = us_accept4(s, sv->fd, NULL, NULL, SOCK_NONBLOCK);
		if (fd < 0)
			return;
		sv->conns++;
		struct conn *c = cfg->nconns < cfg->max_conns ? calloc(1, sizeof(*c)) : NULL;
		if (!c) {
			us_close(s, fd);
			continue;
		}
		c->tag = TAG_CONN;
		c->svc = sv;
		c->fd = fd;
		c->file_fd = -1;
		c->last_ms = us_stack_now(s) / 1000000u;
		c->events = sv->kind == SVC_CHARGEN ? EPOLLIN | EPOLLOUT : EPOLLIN;
		struct epoll_event ev = { .events = c->events, .data.ptr = c };
		if (us_epoll_ctl(s, epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			us_close(s, fd);
			free(c);
			continue;
		}
		c->next = cfg->conns;
		if (cfg->conns)
			cfg->conns->prev = c;
		cfg->conns = c;
		cfg->nconns++;
	}
}

static bool out_append(struct conn *c, const void *p, size_t n)
{
	if (c->outlen + n > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 4096;
		while (cap < c->outlen + n)
			cap *= 2;
		uint8_t *nb = realloc(c->out, cap);
		if (!nb)
			return false;
		c->out = nb;
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, p, n);
	c->outlen += n;
	return true;
}

/* Sends pending bytes, then the body. Returns -1 when the connection
 * failed, 1 when everything is sent, 0 when the socket is full. */
static int conn_flush(us_stack *s, struct serve_cfg *cfg, struct conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = us_send(s, c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		c->outoff += (size_t)n;
		c->svc->bytes += (uint64_t)n;
	}
	c->outoff = c->outlen = 0;
	static_assert(CHUNK <= 1 << 20, "chunk fits the stack frame");
	uint8_t buf[CHUNK];
	while (c->body_left) {
		size_t want = c->body_left < CHUNK ? (size_t)c->body_left : CHUNK;
		size_t have;
		const uint8_t *src = buf;
		if (c->body_pattern) {
			src = cfg->pattern + c->body_pos % 251;
			have = want;
		} else {
			ssize_t r = pread(c->file_fd, buf, want, (off_t)c->body_pos);
			if (r <= 0)
				return -1; /* the file shrank under us */
			have = (size_t)r;
		}
		ssize_t n = us_send(s, c->fd, src, have, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		c->body_pos += (uint64_t)n;
		c->body_left -= (uint64_t)n;
		c->svc->bytes += (uint64_t)n;
		if ((size_t)n < have)
			return 0;
	}
	if (c->file_fd >= 0) {
		close(c->file_fd);
		c->file_fd = -1;
	}
	return 1;
}

/* ---- HTTP/1.1 (RFC 9112) ---- */

static void http_respond(struct conn *c, int code, const char *reason, uint64_t length,
			 const char *type, bool head)
{
	char hdr[512];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %d %s\r\nServer: ustack\r\nContent-Length: %" PRIu64 "\r\n"
			 "Content-Type: %s\r\nConnection: %s\r\n\r\n",
			 code, reason, length, type, c->close_after ? "close" : "keep-alive");
	out_append(c, hdr, (size_t)n);
	if (head || code != 200) {
		c->body_left = 0;
		if (c->file_fd >= 0) {
			close(c->file_fd);
			c->file_fd = -1;
		}
	}
}

static void http_error(struct conn *c, int code, const char *reason)
{
	char body[128];
	int n = snprintf(body, sizeof(body), "%d %s\n", code, reason);
	c->close_after = c->close_after || code == 400 || code == 431 || code == 505;
	http_respond(c, code, reason, (uint64_t)n, "text/plain", false);
	out_append(c, body, (size_t)n);
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Percent-decodes the path of the target; false if it is malformed or
 * could leave the document root. */
static bool http_decode_path(const char *target, size_t len, char *out, size_t outsz)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = target[i];
		if (ch == '?' || ch == '#')
			break;
		if (ch == '%') {
			if (i + 2 >= len + 0 && i + 2 > len - 1)
				return false;
			int h = hexval((unsigned char)target[i + 1]), l = hexval((unsigned char)target[i + 2]);
			if (h < 0 || l < 0)
				return false;
			ch = (char)(h * 16 + l);
			i += 2;
		}
		if (ch == 0 || o + 1 >= outsz)
			return false;
		out[o++] = ch;
	}
	out[o] = 0;
	if (out[0] != '/')
		return false;
	/* No ".." segment may climb out of the root. */
	for (const char *p = out; (p = strstr(p, "..")) != NULL; p += 2)
		if ((p == out || p[-1] == '/') && (p[2] == 0 || p[2] == '/'))
			return false;
	return true;
}

static const char *header_value(const char *hdrs, const char *end, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	for (const char *p = hdrs; p < end;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > nl && !strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			const char *ve = eol;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			*vlen = (size_t)(ve - v);
			return v;
		}
		p = eol + 1;
	}
	return NULL;
}

/* Handles one complete request of len bytes (through the blank line). */
static void http_request(struct serve_cfg *cfg, struct conn *c, const char *req, size_t len)
{
	const char *end = req + len;
	const char *eol = memchr(req, '\n', len);
	if (!eol || eol == req || eol[-1] != '\r') {
		http_error(c, 400, "Bad Request");
		return;
	}
	/* METHOD SP TARGET SP VERSION */
	const char *sp1 = memchr(req, ' ', (size_t)(eol - req));
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (!sp1 || !sp2 || sp1 == req || sp2 == sp1 + 1) {
		http_error(c, 400, "Bad Request");
		return;
	}
	size_t vlen = (size_t)(eol - 1 - (sp2 + 1));
	const char *ver = sp2 + 1;
	bool http11;
	if (vlen == 8 && !memcmp(ver, "HTTP/1.1", 8)) {
		http11 = true;
	} else if (vlen == 8 && !memcmp(ver, "HTTP/1.0", 8)) {
		http11 = false;
	} else if (vlen == 8 && !memcmp(ver, "HTTP/", 5)) {
		http_error(c, 505, "HTTP Version Not Supported");
		return;
	} else {
		http_error(c, 400, "Bad Request");
		return;
	}
	const char *hdrs = eol + 1;
	size_t hl;
	const char *conn_hdr = header_value(hdrs, end, "Connection", &hl);
	bool close_req = conn_hdr && hl == 5 && !strncasecmp(conn_hdr, "close", 5);
	bool keep_req = conn_hdr && hl == 10 && !strncasecmp(conn_hdr, "keep-alive", 10);
	c->close_after = http11 ? close_req : !keep_req;
	/* RFC 9112 3.2: an HTTP/1.1 request without Host is a 400. */
	if (http11 && !header_value(hdrs, end, "Host", &hl)) {
		http_error(c, 400, "Bad Request");
		return;
	}
	const char *te = header_value(hdrs, end, "Transfer-Encoding", &hl);
	if (te) {
		/* RFC 9112 6.1: a body we cannot frame; answer and close. */
		c->close_after = true;
		http_error(c, 501, "Not Implemented");
		return;
	}
	const char *cl = header_value(hdrs, end, "Content-Length", &hl);
	if (cl) {
		char num[24];
		if (hl == 0 || hl >= sizeof(num)) {
			http_error(c, 400, "Bad Request");
			return;
		}
		memcpy(num, cl, hl);
		num[hl] = 0;
		char *e;
		unsigned long long v = strtoull(num, &e, 10);
		if (*e || !isdigit((unsigned char)num[0])) {
			http_error(c, 400, "Bad Request");
			return;
		}
		c->skip_in = v; /* a request body we do not use */
	}
	size_t mlen = (size_t)(sp1 - req);
	bool head = mlen == 4 && !memcmp(req, "HEAD", 4);
	bool get = mlen == 3 && !memcmp(req, "GET", 3);
	if (!get && !head) {
		http_error(c, 501, "Not Implemented");
		return;
	}
	char path[PATH_MAX];
	if (!http_decode_path(sp1 + 1, (size_t)(sp2 - sp1 - 1), path, sizeof(path))) {
		http_error(c, 400, "Bad Request");
		return;
	}
	if (!strncmp(path, "/bytes/", 7)) {
		char *e;
		errno = 0;
		unsigned long long n = strtoull(path + 7, &e, 10);
		if (*e || path[7] == 0 || !isdigit((unsigned char)path[7]) || errno || n > (1ull << 40)) {
			http_error(c, 404, "Not Found");
			return;
		}
		c->body_pattern = true;
		c->body_pos = 0;
		c->body_left = n;
		http_respond(c, 200, "OK", n, "application/octet-stream", head);
		return;
	}
	if (!cfg->root) {
		http_error(c, 404, "Not Found");
		return;
	}
	char full[PATH_MAX * 2];
	snprintf(full, sizeof(full), "%s%s", cfg->root, path);
	struct stat st;
	if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
		size_t fl = strlen(full);
		snprintf(full + fl, sizeof(full) - fl, "%sindex.html", full[fl - 1] == '/' ? "" : "/");
	}
	int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		http_error(c, 404, "Not Found");
		return;
	}
	c->file_fd = fd;
	c->body_pattern = false;
	c->body_pos = 0;
	c->body_left = (uint64_t)st.st_size;
	http_respond(c, 200, "OK", (uint64_t)st.st_size, "application/octet-stream", head);
}

/* Takes the complete requests out of the input buffer, one at a time:
 * the next is parsed only when the previous response is sent. */
static void http_process(struct serve_cfg *cfg, struct conn *c)
{
	while (c->inlen && !c->body_left && c->outlen == 0 && !c->close_after) {
		if (c->skip_in) {
			size_t n = c->skip_in < c->inlen ? (size_t)c->skip_in : c->inlen;
			memmove(c->in, c->in + n, c->inlen - n);
			c->inlen -= n;
			c->skip_in -= n;
			continue;
		}
		/* Tolerate empty lines before a request (RFC 9112 2.2). */
		if (c->in[0] == '\r' || c->in[0] == '\n') {
			memmove(c->in, c->in + 1, --c->inlen);
			continue;
		}
		uint8_t *e = NULL;
		for (size_t i = 3; i < c->inlen; i++)
			if (c->in[i] == '\n' && c->in[i - 1] == '\r' && c->in[i - 2] == '\n' &&
			    c->in[i - 3] == '\r') {
				e = c->in + i + 1;
				break;
			}
		if (!e) {
			if (c->inlen >= IN_MAX)
				http_error(c, 431, "Request Header Fields Too Large");
			return;
		}
		size_t len = (size_t)(e - c->in);
		http_request(cfg, c, (const char *)c->in, len);
		memmove(c->in, e, c->inlen - len);
		c->inlen -= len;
	}
}

static void conn_event(us_stack *s, struct serve_cfg *cfg, int epfd, struct conn *c, uint32_t events)
{
	c->last_ms = us_stack_now(s) / 1000000u;
	enum service_kind k = c->svc->kind;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		for (int i = 0; i < 16; i++) {
			uint8_t tmp[CHUNK];
			size_t room;
			uint8_t *dst;
			if (k == SVC_HTTP) {
				room = IN_MAX - c->inlen;
				dst = c->in + c->inlen;
			} else if (k == SVC_ECHO) {
				/* Backpressure: read no more than we can hold. */
				room = c->outlen - c->outoff < CHUNK ? CHUNK : 0;
				dst = tmp;
			} else {
				room = sizeof(tmp);
				dst = tmp;
			}
			if (room == 0)
				break;
			ssize_t n = us_recv(s, c->fd, dst, room, 0);
			if (n == 0) {
				c->peer_closed = true;
				break;
			}
			if (n < 0) {
				if (errno != EAGAIN) {
					conn_close(s, cfg, c);
					return;
				}
				break;
			}
			c->svc->bytes += (uint64_t)n;
			if (k == SVC_HTTP)
				c->inlen += (size_t)n;
			else if (k == SVC_ECHO && !out_append(c, tmp, (size_t)n)) {
				conn_close(s, cfg, c);
				return;
			}
		}
	}
	if (k == SVC_HTTP)
		http_process(cfg, c);
	if (k == SVC_CHARGEN && c->outlen == 0) {
		/* RFC 864: lines of 72 printable characters, rotating. */
		char line[74];
		for (int l = 0; l < 512; l++) {
			for (int i = 0; i < 72; i++)
				line[i] = (char)(' ' + (c->chargen_pos + (uint64_t)i) % 95);
			line[72] = '\r';
			line[73] = '\n';
			c->chargen_pos++;
			out_append(c, line, sizeof(line));
		}
	}
	int f;
	for (;;) {
		f = conn_flush(s, cfg, c);
		if (f < 0) {
			conn_close(s, cfg, c);
			return;
		}
		if (f != 1 || k != SVC_HTTP)
			break;
		if (c->close_after) {
			conn_close(s, cfg, c);
			return;
		}
		/* The response is out: answer the next pipelined request, if
		 * a whole one is waiting. */
		http_process(cfg, c);
		if (!c->outlen && !c->body_left)
			break;
	}
	bool pending = c->outlen || c->body_left || k == SVC_CHARGEN;
	if (c->peer_closed && (!pending || k == SVC_CHARGEN)) {
		conn_close(s, cfg, c);
		return;
	}
	uint32_t want = pending ? EPOLLOUT : 0;
	bool can_read = !c->peer_closed && (k != SVC_ECHO || c->outlen - c->outoff < CHUNK) &&
			(k != SVC_HTTP || c->inlen < IN_MAX);
	if (can_read)
		want |= EPOLLIN;
	conn_set_events(s, epfd, c, want);
}

static void udp_event(us_stack *s, struct service *sv)
{
	static_assert(65536 <= 1 << 16, "buffer holds any datagram");
	uint8_t buf[65536];
	/* A bounded batch per event: the level-triggered epoll brings us
	 * back for the rest. */
	for (int i = 0; i < 64; i++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = us_recvfrom(s, sv->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			break;
		sv->datagrams++;
		sv->bytes += (uint64_t)n;
		if (sv->kind == SVC_UDP_ECHO)
			us_sendto(s, sv->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
}

void serve_event(us_stack *s, struct serve_cfg *cfg, int epfd, const struct epoll_event *ev)
{
	int tag = *(int *)ev->data.ptr;
	if (tag == TAG_CONN) {
		conn_event(s, cfg, epfd, ev->data.ptr, ev->events);
		return;
	}
	struct service *sv = ev->data.ptr;
	if (svc_type(sv->kind) == SOCK_DGRAM)
		udp_event(s, sv);
	else
		conn_accept(s, cfg, epfd, sv);
}

void serve_sweep(us_stack *s, struct serve_cfg *cfg, int epfd)
{
	(void)epfd;
	uint64_t now = us_stack_now(s) / 1000000u;
	if (now < cfg->last_sweep_ms + 1000)
		return;
	cfg->last_sweep_ms = now;
	/* Clients that vanish mid-request (or never speak) are let go. */
	for (struct conn *c = cfg->conns, *n; c; c = n) {
		n = c->next;
		if (now - c->last_ms > cfg->idle_ms)
			conn_close(s, cfg, c);
	}
}

void serve_close(us_stack *s, struct serve_cfg *cfg)
{
	while (cfg->conns)
		conn_close(s, cfg, cfg->conns);
	for (int i = 0; i < cfg->n; i++)
		if (cfg->svc[i].fd >= 0)
			us_close(s, cfg->svc[i].fd);
	free(cfg->pattern);
	cfg->pattern = NULL;
}
