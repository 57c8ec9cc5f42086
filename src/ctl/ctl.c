/*
 * The control socket: a Unix stream socket served from a stack timer,
 * entirely non-blocking, so that it works under any event loop that runs
 * the stack and no client can stall it: a request has a size limit and a
 * deadline, a reply that is not read is dropped with its connection, and
 * every socket call is non-blocking.
 *
 * Framing: a request is one line (a JSON array of strings, or words); the
 * reply is "ok LEN\n" or "error LEN\n" and LEN bytes of body (text, or one
 * JSON document when the request began with --json).
 */
#define _GNU_SOURCE
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../core/stack.h"
#include "../socket/mt.h"

#define CTL_EXT_NAME "ctl"
#define CTL_TICK_MS 25
#define CTL_MAX_CLIENTS 16
#define CTL_REQ_MAX 8192            /* bytes of one request line */
#define CTL_REQ_TIMEOUT_MS 5000     /* to complete a request once begun */
#define CTL_REPLY_TIMEOUT_MS 10000  /* for the client to take a reply */

struct ctl_client {
	int fd;
	char in[CTL_REQ_MAX + 1];
	size_t inlen;
	struct ctl_out out;
	size_t outoff;              /* bytes of out already sent */
	uint64_t since_ms;          /* start of the partial request or of the pending reply */
	int passed_fd;
	bool eof;                   /* the client shut its side */
	bool closing;               /* close once the reply is sent */
};

struct ctl_state {
	struct stack_ext ext;
	struct us_stack *s;
	int lfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	struct timer timer;
	struct ctl_client *clients[CTL_MAX_CLIENTS];
	uint64_t hist[MIB_MAX + DROP_MAX];
	bool hist_valid;
	ctl_trace_fn trace;
};

/* ---- state ---- */

static void client_close(struct ctl_state *st, int i)
{
	struct ctl_client *c = st->clients[i];
	if (!c)
		return;
	close(c->fd);
	if (c->passed_fd >= 0)
		close(c->passed_fd);
	out_free(&c->out);
	free(c);
	st->clients[i] = NULL;
}

static void server_close(struct ctl_state *st)
{
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		client_close(st, i);
	if (st->lfd >= 0) {
		close(st->lfd);
		st->lfd = -1;
		/* Remove the path only if it is still our socket. */
		struct stat sb;
		if (lstat(st->path, &sb) == 0 && sb.st_dev == st->dev && sb.st_ino == st->ino)
			unlink(st->path);
	}
	stack_timer_del(st->s, &st->timer);
}

static void ctl_cleanup(struct us_stack *s, struct stack_ext *e)
{
	(void)s;
	struct ctl_state *st = container_of(e, struct ctl_state, ext);
	server_close(st);
	free(st);
}

static void ctl_timer(struct timer *t);

struct ctl_state *ctl_state_get(struct us_stack *s)
{
	struct stack_ext *e = stack_ext_find(s, CTL_EXT_NAME);
	if (e)
		return container_of(e, struct ctl_state, ext);
	struct ctl_state *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->ext.name = CTL_EXT_NAME;
	st->ext.cleanup = ctl_cleanup;
	st->s = s;
	st->lfd = -1;
	timer_init(&st->timer, ctl_timer);
	stack_ext_add(s, &st->ext);
	return st;
}

uint64_t *ctl_nstat_history(struct ctl_state *st, bool *valid)
{
	*valid = st->hist_valid;
	return st->hist;
}

void ctl_nstat_history_set(struct ctl_state *st, bool valid)
{
	st->hist_valid = valid;
}

void ctl_set_trace_handler(struct us_stack *s, ctl_trace_fn fn)
{
	struct ctl_state *st = ctl_state_get(s);
	if (st)
		st->trace = fn;
}

ctl_trace_fn ctl_trace_handler(struct us_stack *s)
{
	struct stack_ext *e = stack_ext_find(s, CTL_EXT_NAME);
	return e ? container_of(e, struct ctl_state, ext)->trace : NULL;
}

/* ---- requests ---- */

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int read_u4(const char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval((unsigned char)p[i]);
		if (h < 0)
			return -1;
		*v = *v << 4 | (unsigned)h;
	}
	return 0;
}

static char *put_utf8(char *w, unsigned cp)
{
	if (cp < 0x80) {
		*w++ = (char)cp;
	} else if (cp < 0x800) {
		*w++ = (char)(0xc0 | cp >> 6);
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*w++ = (char)(0xe0 | cp >> 12);
		*w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*w++ = (char)(0xf0 | cp >> 18);
		*w++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	}
	return w;
}

/* A JSON string at *pp (after the opening quote), decoded in place. */
static char *json_string(char **pp, char *err, size_t errlen)
{
	char *r = *pp, *w = *pp, *start = *pp;
	for (;;) {
		unsigned char ch = (unsigned char)*r;
		if (ch == 0) {
			snprintf(err, errlen, "unterminated string in the JSON request");
			return NULL;
		}
		if (ch < 0x20) {
			snprintf(err, errlen, "control character in a JSON string");
			return NULL;
		}
		if (ch == '"') {
			*w = 0;
			*pp = r + 1;
			return start;
		}
		if (ch != '\\') {
			*w++ = *r++;
			continue;
		}
		r++;
		switch (*r) {
		case '"': *w++ = '"'; r++; break;
		case '\\': *w++ = '\\'; r++; break;
		case '/': *w++ = '/'; r++; break;
		case 'b': *w++ = '\b'; r++; break;
		case 'f': *w++ = '\f'; r++; break;
		case 'n': *w++ = '\n'; r++; break;
		case 'r': *w++ = '\r'; r++; break;
		case 't': *w++ = '\t'; r++; break;
		case 'u': {
			unsigned cp;
			if (read_u4(r + 1, &cp) < 0)
				goto bad;
			r += 5;
			if (cp >= 0xd800 && cp < 0xdc00) {
				unsigned lo;
				if (r[0] != '\\' || r[1] != 'u' || read_u4(r + 2, &lo) < 0 ||
				    lo < 0xdc00 || lo > 0xdfff)
					goto bad;
				r += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				goto bad;
			}
			if (cp == 0) {
				snprintf(err, errlen, "NUL character in a JSON string");
				return NULL;
			}
			w = put_utf8(w, cp);
			break;
		}
		default:
			goto bad;
		}
	}
bad:
	snprintf(err, errlen, "bad escape in a JSON string");
	return NULL;
}

static char *skip_ws(char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

int ctl_split(char *line, char **argv, int max, char *err, size_t errlen)
{
	int n = 0;
	char *p = skip_ws(line);
	if (*p == '[') {
		p = skip_ws(p + 1);
		if (*p == ']') {
			p = skip_ws(p + 1);
			goto end;
		}
		for (;;) {
			if (*p != '"') {
				snprintf(err, errlen, "a JSON request is an array of strings");
				return -1;
			}
			p++;
			char *s = json_string(&p, err, errlen);
			if (!s)
				return -1;
			if (n >= max) {
				snprintf(err, errlen, "more than %d words in the request", max);
				return -1;
			}
			argv[n++] = s;
			p = skip_ws(p);
			if (*p == ',') {
				p = skip_ws(p + 1);
				continue;
			}
			if (*p == ']') {
				p = skip_ws(p + 1);
				break;
			}
			snprintf(err, errlen, "malformed JSON array (expected , or ])");
			return -1;
		}
end:
		if (*p) {
			snprintf(err, errlen, "trailing characters after the JSON array");
			return -1;
		}
		return n;
	}
	/* Words, with '...' and "..." quoting (\" and \\ inside "..."). */
	while (*p) {
		if (n >= max) {
			snprintf(err, errlen, "more than %d words in the request", max);
			return -1;
		}
		char *w = p, *start = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
			if (*p == '\'' || *p == '"') {
				char q = *p++;
				while (*p && *p != q) {
					if (q == '"' && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
						p++;
					*w++ = *p++;
				}
				if (!*p) {
					snprintf(err, errlen, "unterminated quote in the request");
					return -1;
				}
				p++;
			} else {
				*w++ = *p++;
			}
		}
		bool more = *p != 0;
		*w = 0;
		argv[n++] = start;
		if (more)
			p++;
		p = skip_ws(p);
	}
	return n;
}

/* Runs one request line into c->out (framed). */
static void client_request(struct ctl_state *st, struct ctl_client *c, char *line)
{
	static const char json_words[][8] = { "--json", "-j" };
	struct ctl_out body;
	out_init(&body);
	struct ctl_ctx x = { .s = st->s, .st = st, .out = &body, .passed_fd = c->passed_fd };
	char *argv[CTL_MAX_ARGS];
	int argc = ctl_split(line, argv, CTL_MAX_ARGS, x.err, sizeof(x.err));
	int r = -1;
	char **av = argv;
	if (argc >= 0) {
		while (argc > 0 && (!strcmp(av[0], json_words[0]) || !strcmp(av[0], json_words[1]))) {
			x.json = true;
			av++;
			argc--;
		}
		r = ctl_run(&x, argc, av);
	} else {
		/* A request that does not parse still gets the reply style
		 * it asked for when that much is readable. */
		x.json = strstr(line, "--json") != NULL;
	}
	if (r < 0) {
		out_reset(&body);
		if (x.json) {
			j_obj(&body, NULL);
			j_str(&body, "error", x.err);
			j_obj_end(&body);
		} else {
			out_printf(&body, "%s\n", x.err);
		}
	}
	if (body.oom) {
		out_reset(&body);
		r = -1;
		out_puts(&body, "reply too large or out of memory\n");
	}
	out_printf(&c->out, "%s %zu\n", r < 0 ? "error" : "ok", body.len);
	out_write(&c->out, body.buf ? body.buf : "", body.len);
	out_free(&body);
	if (c->out.oom) {
		out_reset(&c->out);
		out_puts(&c->out, "error 14\nout of memory\n");
		c->closing = true;
	}
	/* A descriptor sent with a request is for that request only. */
	if (c->passed_fd >= 0) {
		close(c->passed_fd);
		c->passed_fd = -1;
	}
}

static void client_error(struct ctl_client *c, const char *msg)
{
	out_reset(&c->out);
	out_printf(&c->out, "error %zu\n%s\n", strlen(msg) + 1, msg);
	c->outoff = 0;
	c->closing = true;
}

/* Reads what the client sent (and any descriptor with it). */
static int client_read(struct ctl_client *c)
{
	if (c->eof || c->inlen >= CTL_REQ_MAX)
		return 0;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 8)];
	} cm;
	struct iovec iov = { c->in + c->inlen, CTL_REQ_MAX - c->inlen };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nfd = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
			if (c->passed_fd < 0)
				c->passed_fd = fd;
			else
				close(fd);
		}
	}
	if (n == 0) {
		c->eof = true;
		return 0;
	}
	c->inlen += (size_t)n;
	c->in[c->inlen] = 0;
	return 0;
}

static int client_write(struct ctl_client *c)
{
	while (c->outoff < c->out.len) {
		ssize_t n = send(c->fd, c->out.buf + c->outoff, c->out.len - c->outoff,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			c->outoff += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return -1;
	}
	out_reset(&c->out);
	c->outoff = 0;
	return 0;
}

/* One client: send what is pending, then take the next request. */
enum serve_result { SERVE_CLOSE, SERVE_IDLE, SERVE_AGAIN };

static enum serve_result client_serve(struct ctl_state *st, struct ctl_client *c, uint64_t now)
{
	if (c->out.len) {
		if (client_write(c) < 0)
			return SERVE_CLOSE;
		if (c->out.len)
			return now - c->since_ms < CTL_REPLY_TIMEOUT_MS ? SERVE_IDLE : SERVE_CLOSE;
		if (c->closing)
			return SERVE_CLOSE;
		c->since_ms = now;
	}
	if (client_read(c) < 0)
		return SERVE_CLOSE;
	char *nl = memchr(c->in, '\n', c->inlen);
	size_t llen, consumed;
	if (nl) {
		llen = (size_t)(nl - c->in);
		consumed = llen + 1;
	} else if (c->eof && c->inlen) {
		/* The last request may end with the stream. */
		llen = consumed = c->inlen;
	} else {
		if (c->eof)
			return SERVE_CLOSE;
		if (c->inlen >= CTL_REQ_MAX) {
			client_error(c, "request too long (at most 8192 bytes, one line)");
			return client_write(c) == 0 && c->out.len ? SERVE_IDLE : SERVE_CLOSE;
		}
		if (c->inlen && now - c->since_ms >= CTL_REQ_TIMEOUT_MS) {
			client_error(c, "request incomplete after 5 s (a request ends with a newline)");
			return client_write(c) == 0 && c->out.len ? SERVE_IDLE : SERVE_CLOSE;
		}
		if (!c->inlen)
			c->since_ms = now;
		return SERVE_IDLE;
	}
	char line[CTL_REQ_MAX + 1];
	memcpy(line, c->in, llen);
	line[llen] = 0;
	memmove(c->in, c->in + consumed, c->inlen - consumed);
	c->inlen -= consumed;
	c->in[c->inlen] = 0;
	if (llen && line[llen - 1] == '\r')
		line[--llen] = 0;
	if (memchr(line, 0, llen))
		client_error(c, "NUL byte in the request");
	else if (llen)
		client_request(st, c, line); /* (blank lines are ignored) */
	c->outoff = 0;
	c->since_ms = now;
	if (client_write(c) < 0)
		return SERVE_CLOSE;
	if (c->out.len)
		return SERVE_IDLE;
	return c->closing ? SERVE_CLOSE : SERVE_AGAIN;
}

static bool peer_allowed(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	return cr.uid == geteuid() || cr.uid == 0;
}

/* An error reply to a connection we do not keep, and the close. */
static void refuse(int fd, const char *msg)
{
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "error %zu\n%s\n", strlen(msg) + 1, msg);
	ssize_t w = send(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)w;
	close(fd);
}

static void ctl_accept(struct ctl_state *st, uint64_t now)
{
	for (int round = 0; round < 64; round++) {
		int fd = accept4(st->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (!peer_allowed(fd)) {
			refuse(fd, "permission denied");
			continue;
		}
		int slot = -1;
		for (int i = 0; i < CTL_MAX_CLIENTS; i++)
			if (!st->clients[i]) {
				slot = i;
				break;
			}
		struct ctl_client *c = slot >= 0 ? calloc(1, sizeof(*c)) : NULL;
		if (!c) {
			refuse(fd, "too many control connections");
			continue;
		}
		c->fd = fd;
		c->passed_fd = -1;
		c->since_ms = now;
		out_init(&c->out);
		st->clients[slot] = c;
	}
}

static void serve_clients(struct ctl_state *st, uint64_t now)
{
	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *c = st->clients[i];
		if (!c)
			continue;
		/* Several requests may be waiting on one connection. */
		enum serve_result r = SERVE_AGAIN;
		for (int k = 0; k < 8 && r == SERVE_AGAIN; k++)
			r = client_serve(st, c, now);
		if (r == SERVE_CLOSE)
			client_close(st, i);
	}
}

static void ctl_serve(struct ctl_state *st)
{
	if (st->lfd < 0)
		return;
	uint64_t now = st->s->now_ms;
	/* Connections that went away free their slots before new ones
	 * are taken; new ones are served in the same round. */
	serve_clients(st, now);
	ctl_accept(st, now);
	serve_clients(st, now);
}

static void ctl_timer(struct timer *t)
{
	struct ctl_state *st = container_of(t, struct ctl_state, timer);
	ctl_serve(st);
	if (st->lfd >= 0)
		stack_timer_mod(st->s, &st->timer, st->s->now_ms + CTL_TICK_MS);
}

/* ---- listening ---- */

/* Whether a socket file at path has a live server behind it. */
static bool socket_live(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return true; /* cannot tell: do not remove it */
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	int r = connect(fd, (struct sockaddr *)&a, sizeof(a));
	int e = errno;
	close(fd);
	return r == 0 || e != ECONNREFUSED;
}

static int ctl_listen(struct us_stack *s, const char *path)
{
	struct ctl_state *st = ctl_state_get(s);
	if (!st)
		return -ENOMEM;
	if (st->lfd >= 0)
		return -EBUSY;
	size_t plen = strlen(path);
	if (!plen)
		return -EINVAL;
	if (plen >= sizeof(st->path))
		return -ENAMETOOLONG;
	struct stat sb;
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode))
			return -EEXIST;
		if (socket_live(path))
			return -EADDRINUSE;
		unlink(path); /* stale: its server is gone */
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* Bound under a temporary name, made owner-only, then renamed into
	 * place: the path never exists with looser permissions. */
	char tmp[sizeof(st->path)];
	int n = snprintf(tmp, sizeof(tmp), "%s.%08x", path, (unsigned)prng_next(&s->rng));
	bool use_tmp = n > 0 && (size_t)n < sizeof(tmp);
	const char *bind_path = use_tmp ? tmp : path;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", bind_path);
	int err = 0;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	if (chmod(bind_path, 0600) < 0 || listen(fd, 16) < 0 ||
	    (use_tmp && rename(tmp, path) < 0)) {
		err = -errno;
		unlink(bind_path);
		close(fd);
		return err;
	}
	if (lstat(path, &sb) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	st->dev = sb.st_dev;
	st->ino = sb.st_ino;
	snprintf(st->path, sizeof(st->path), "%s", path);
	st->lfd = fd;
	stack_update_time(s);
	stack_timer_mod(s, &st->timer, s->now_ms + CTL_TICK_MS);
	us_log(s, US_LOG_INFO, "control socket at %s", path);
	return 0;
}

int us_ctl_listen(us_stack *s, const char *path)
{
	if (!s || !path) {
		errno = EINVAL;
		return -1;
	}
	mt_lock(s);
	int r = ctl_listen(s, path);
	mt_unlock(s);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return 0;
}

void us_ctl_close(us_stack *s)
{
	if (!s)
		return;
	mt_lock(s);
	struct stack_ext *e = stack_ext_find(s, CTL_EXT_NAME);
	if (e)
		server_close(container_of(e, struct ctl_state, ext));
	mt_unlock(s);
}

void us_ctl_poll(us_stack *s)
{
	if (!s)
		return;
	mt_lock(s);
	struct stack_ext *e = stack_ext_find(s, CTL_EXT_NAME);
	if (e) {
		stack_update_time(s);
		ctl_serve(container_of(e, struct ctl_state, ext));
	}
	mt_unlock(s);
}

int us_ctl_exec(us_stack *s, int argc, const char *const *argv, bool json, char **reply)
{
	if (!s || argc < 0 || (argc && !argv) || !reply || argc > CTL_MAX_ARGS) {
		errno = EINVAL;
		return -1;
	}
	*reply = NULL;
	mt_lock(s);
	struct ctl_state *st = ctl_state_get(s);
	if (!st) {
		mt_unlock(s);
		errno = ENOMEM;
		return -1;
	}
	struct ctl_out body;
	out_init(&body);
	struct ctl_ctx x = { .s = s, .st = st, .out = &body, .json = json, .passed_fd = -1 };
	char *av[CTL_MAX_ARGS + 1];
	for (int i = 0; i < argc; i++)
		av[i] = (char *)argv[i];
	av[argc] = NULL;
	stack_update_time(s);
	int r = ctl_run(&x, argc, av);
	mt_unlock(s);
	if (r < 0 || body.oom) {
		out_reset(&body);
		if (json) {
			j_obj(&body, NULL);
			j_str(&body, "error", x.err[0] ? x.err : "reply too large");
			j_obj_end(&body);
		} else {
			out_printf(&body, "%s\n", x.err[0] ? x.err : "reply too large");
		}
		r = -1;
	}
	if (!body.buf) {
		body.buf = calloc(1, 1);
		if (!body.buf) {
			errno = ENOMEM;
			return -1;
		}
	}
	*reply = body.buf;
	if (r < 0)
		errno = EINVAL;
	return r;
}
