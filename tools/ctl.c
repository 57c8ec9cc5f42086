/* ustack ctl: the client of a running stack's control socket, and the
 * capture/control options of `ustack run` (--pcap, --filter, --ctl...).
 *
 *   ustack ctl [--json] PATH COMMAND [ARGS...]
 *
 * The words are sent as one JSON array (so that a filter expression or a
 * sysctl value keeps its blanks); the reply body goes to stdout ("ok") or
 * stderr ("error", exit status 1). `capture start -w -` (or without -w)
 * passes this program's standard output to the stack, which writes the
 * pcap stream there: `ustack ctl PATH capture start icmp | tshark -i -`. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ustack/capture.h"
#include "ustack/ctl.h"

#define CTL_TIMEOUT_MS 10000

static const char ctl_usage[] =
	"usage: ustack ctl [--json] PATH COMMAND [ARGS...]\n"
	"commands: link, addr, route, neigh, ss, nstat, sysctl, capture, log, trace, help\n"
	"(`ustack ctl PATH help` lists their arguments; PATH is the socket of `ustack run --ctl PATH`)";

/* ---- the request ---- */

struct buf {
	char *p;
	size_t len, cap;
};

static int buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 1024;
		while (nc < b->len + n + 1)
			nc *= 2;
		char *np = realloc(b->p, nc);
		if (!np)
			return -1;
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
	return 0;
}

static int buf_json_str(struct buf *b, const char *s)
{
	int r = buf_add(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p && r == 0; p++) {
		char esc[8];
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			r = buf_add(b, esc, 2);
		} else if (*p < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			r = buf_add(b, esc, 6);
		} else {
			r = buf_add(b, (const char *)p, 1);
		}
	}
	return r ? r : buf_add(b, "\"", 1);
}

/* Whether the request wants our stdout as the capture output. */
static bool wants_stdout(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[0], "capture") || strcmp(argv[1], "start"))
		return false;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "-w"))
			return i + 1 < argc && !strcmp(argv[i + 1], "-");
		if (argv[i][0] != '-')
			break; /* the filter expression */
		if (strcmp(argv[i], "--pcapng"))
			i++;   /* an option with a value */
	}
	return true;
}

static int send_request(int fd, const struct buf *req, int pass_fd)
{
	size_t off = 0;
	while (off < req->len) {
		struct iovec iov = { req->p + off, req->len - off };
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} cm;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		if (off == 0 && pass_fd >= 0) {
			memset(&cm, 0, sizeof(cm));
			mh.msg_control = cm.buf;
			mh.msg_controllen = sizeof(cm.buf);
			struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
			h->cmsg_level = SOL_SOCKET;
			h->cmsg_type = SCM_RIGHTS;
			h->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(h), &pass_fd, sizeof(int));
		}
		ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Reads until n bytes are in b or the peer closes. -1 on timeout/error. */
static int read_some(int fd, struct buf *b, const struct timespec *t0)
{
	char tmp[65536];
	for (;;) {
		long left = CTL_TIMEOUT_MS - ms_since(t0);
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			errno = pr == 0 ? ETIMEDOUT : errno;
			return -1;
		}
		ssize_t n = read(fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (buf_add(b, tmp, (size_t)n) < 0) {
			errno = ENOMEM;
			return -1;
		}
		return 1;
	}
}

int cmd_ctl(int argc, char **argv)
{
	bool json = false;
	int i = 1;
	const char *path = NULL;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j")) {
			json = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("%s\n", ctl_usage);
			return 0;
		} else if (!path) {
			path = argv[i];
		} else {
			break;
		}
	}
	if (!path || i >= argc) {
		fprintf(stderr, "%s\n", ctl_usage);
		return 2;
	}
	int cargc = argc - i;
	char **cargv = argv + i;
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return cli_error("ctl: socket path too long: %s", path);

	int pass_fd = -1;
	if (wants_stdout(cargc, cargv)) {
		if (isatty(STDOUT_FILENO))
			return cli_error("ctl: capture start without -w FILE writes pcap to standard "
					 "output; pipe it (| tcpdump -r -) or give -w FILE");
		pass_fd = STDOUT_FILENO;
	}

	struct buf req = { 0 };
	int r = buf_add(&req, "[", 1);
	if (json)
		r |= buf_add(&req, "\"--json\",", 9);
	for (int k = 0; k < cargc && r == 0; k++) {
		if (k)
			r |= buf_add(&req, ",", 1);
		r |= buf_json_str(&req, cargv[k]);
	}
	r |= buf_add(&req, "]\n", 2);
	if (r) {
		free(req.p);
		return cli_error("ctl: out of memory");
	}
	if (req.len > 8192) {
		free(req.p);
		return cli_error("ctl: request too long (at most 8192 bytes)");
	}

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		free(req.p);
		return cli_error("ctl: socket: %s", strerror(errno));
	}
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		close(fd);
		free(req.p);
		if (e == ENOENT)
			return cli_error("ctl: no control socket at %s (is `ustack run --ctl %s` running?)",
					 path, path);
		if (e == ECONNREFUSED)
			return cli_error("ctl: nothing listens on %s (a stale socket?)", path);
		return cli_error("ctl: cannot connect to %s: %s", path, strerror(e));
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (send_request(fd, &req, pass_fd) < 0) {
		int e = errno;
		close(fd);
		free(req.p);
		return cli_error("ctl: sending the request: %s", strerror(e));
	}
	free(req.p);
	shutdown(fd, SHUT_WR);

	/* "ok LEN\n" or "error LEN\n", then LEN bytes. */
	struct buf rep = { 0 };
	char *nl = NULL;
	while (!(nl = rep.p ? memchr(rep.p, '\n', rep.len) : NULL)) {
		int got = read_some(fd, &rep, &t0);
		if (got <= 0) {
			int e = errno;
			close(fd);
			free(rep.p);
			return cli_error("ctl: %s", got == 0 ? "the stack closed the connection without a reply"
						  : e == ETIMEDOUT ? "no reply within 10 s" : strerror(e));
		}
		if (rep.len > 64 && !memchr(rep.p, '\n', 64)) {
			close(fd);
			free(rep.p);
			return cli_error("ctl: malformed reply");
		}
	}
	*nl = 0;
	bool ok;
	unsigned long long blen;
	char status[8];
	if (sscanf(rep.p, "%7s %llu", status, &blen) != 2 ||
	    (strcmp(status, "ok") && strcmp(status, "error"))) {
		close(fd);
		free(rep.p);
		return cli_error("ctl: malformed reply");
	}
	ok = !strcmp(status, "ok");
	size_t hdr = (size_t)(nl - rep.p) + 1;
	while (rep.len - hdr < blen) {
		int got = read_some(fd, &rep, &t0);
		if (got <= 0) {
			close(fd);
			free(rep.p);
			return cli_error("ctl: reply cut short");
		}
	}
	close(fd);
	/* When stdout carries the capture, the reply goes to stderr. */
	FILE *out = ok && pass_fd < 0 ? stdout : stderr;
	if (!ok && !json)
		fputs("ustack ctl: ", stderr);
	fwrite(rep.p + hdr, 1, (size_t)blen, out);
	fflush(out);
	free(rep.p);
	return ok ? 0 : 1;
}

/* ---- `ustack run` options ---- */

int cli_ext_option(struct cli_ext *e, const char *opt, const char *val)
{
	unsigned long v;
	char *end;
	if (!strcmp(opt, "pcap")) {
		e->pcap = val;
	} else if (!strcmp(opt, "filter")) {
		e->filter = val;
	} else if (!strcmp(opt, "pcap-dev")) {
		e->pcap_dev = val;
	} else if (!strcmp(opt, "pcapng")) {
		e->pcapng = true;
	} else if (!strcmp(opt, "pcap-rotate")) {
		if (us_capture_parse_size(val, &e->rotate) < 0)
			return cli_error("--pcap-rotate '%s': a size in millions of bytes (as tcpdump -C), "
					 "or with k, m, g for KiB, MiB, GiB", val), -1;
	} else if (!strcmp(opt, "pcap-files")) {
		v = strtoul(val, &end, 10);
		if (end == val || *end || v < 1 || v > 100000)
			return cli_error("--pcap-files '%s': expected 1..100000", val), -1;
		e->rotate_files = (unsigned)v;
	} else if (!strcmp(opt, "snaplen")) {
		v = strtoul(val, &end, 10);
		if (end == val || *end || v > 262144)
			return cli_error("--snaplen '%s': expected 0..262144 (0: 262144)", val), -1;
		e->snaplen = (unsigned)v;
	} else if (!strcmp(opt, "ctl")) {
		e->ctl = val;
	} else {
		return 0;
	}
	return 1;
}

int cli_ext_start(struct cli_ext *e, us_stack *s, const struct cli_net *net)
{
	e->cap_id = -1;
	if ((e->filter || e->rotate || e->rotate_files || e->pcap_dev || e->pcapng || e->snaplen) &&
	    !e->pcap)
		return cli_error("--filter, --pcap-dev, --pcap-rotate, --pcap-files, --snaplen and "
				 "--pcapng go with --pcap FILE"), -1;
	if (e->pcap) {
		/* Started before the devices come up, so that it sees their
		 * first frames (the gratuitous ARP) too. */
		struct us_capture_opts o = {
			.path = e->pcap,
			.fd = -1,
			.filter = e->filter,
			.snaplen = e->snaplen,
			.pcapng = e->pcapng,
			.rotate_bytes = e->rotate,
			.rotate_files = e->rotate_files,
		};
		const char *dev = e->pcap_dev ? e->pcap_dev : net->devs[0].name;
		if (strcmp(dev, "any")) {
			int k;
			for (k = 0; k < net->ndevs; k++)
				if (!strcmp(net->devs[k].name, dev))
					break;
			if (k == net->ndevs && strcmp(dev, "lo"))
				return cli_error("--pcap-dev %s: not one of the --tap/--tun devices", dev), -1;
			if (k < net->ndevs)
				o.link = net->devs[k].tap ? US_CAPTURE_LINK_ETHER : US_CAPTURE_LINK_RAW;
		}
		o.dev = dev;
		int pfd = -1;
		if (!strcmp(e->pcap, "-")) {
			/* The stream takes stdout; our messages go to stderr. */
			fflush(stdout);
			pfd = dup(STDOUT_FILENO);
			if (pfd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
				return cli_error("--pcap -: %s", strerror(errno)), -1;
			o.path = NULL;
			o.fd = pfd;
		}
		char err[512];
		e->cap_id = us_capture_start(s, &o, err, sizeof(err));
		if (pfd >= 0)
			close(pfd);
		if (e->cap_id < 0)
			return cli_error("--pcap: %s", err), -1;
	}
	if (e->ctl && us_ctl_listen(s, e->ctl) < 0) {
		int err = errno;
		return cli_error("--ctl %s: %s", e->ctl,
				 err == EADDRINUSE ? "another stack is serving that socket"
				 : err == EEXIST ? "a file that is not a socket is in the way"
				 : strerror(err)), -1;
	}
	return 0;
}

void cli_ext_stop(struct cli_ext *e, us_stack *s)
{
	if (e->ctl)
		us_ctl_close(s);
	if (e->cap_id > 0) {
		struct us_capture_stats st;
		if (us_capture_stop(s, e->cap_id, &st) == 0) {
			fprintf(stderr, "%llu packets captured\n%llu packets received by filter\n"
					"%llu packets dropped by buffer\n",
				(unsigned long long)st.captured, (unsigned long long)st.seen,
				(unsigned long long)st.dropped);
			if (st.error)
				fprintf(stderr, "ustack: capture output: %s\n", strerror(st.error));
		}
		e->cap_id = -1;
	}
}
