/* ustack fetch: an HTTP/1.1 GET from a fresh stack (an active open),
 * written on the blocking socket API.
 *
 *   ustack fetch [--tap NAME=ADDR/PREFIX ...] [--route ...] [--mtu N]
 *                [--impair DEV:SPEC] [-o FILE] [--timeout SECONDS] URL
 *
 * URL is http://IPv4[:PORT]/PATH. Prints the bytes, the time and the
 * throughput; exits 0 only if the whole body arrived with a 2xx status. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "ustack/socket.h"

static const char fetch_usage[] =
	"usage: ustack fetch [--tap NAME=ADDR/PREFIX ...] [--tun ...] [--route PREFIX,GW ...] "
	"[--mtu N] [--impair DEV:SPEC] [--sysctl KEY=VALUE] [-o FILE] [--timeout SECONDS] http://ADDR[:PORT]/PATH";

static us_stack *fetch_stack;

static void fetch_signal(int sig)
{
	(void)sig;
	if (fetch_stack)
		us_stack_stop(fetch_stack);
}

struct url {
	struct sockaddr_in addr;
	char host[64];
	char path[2048];
};

static int parse_url(const char *u, struct url *out)
{
	if (strncmp(u, "http://", 7))
		return -1;
	const char *h = u + 7;
	const char *slash = strchr(h, '/');
	size_t hl = slash ? (size_t)(slash - h) : strlen(h);
	if (hl == 0 || hl >= sizeof(out->host))
		return -1;
	memcpy(out->host, h, hl);
	out->host[hl] = 0;
	snprintf(out->path, sizeof(out->path), "%s", slash ? slash : "/");
	if (strlen(slash ? slash : "/") >= sizeof(out->path))
		return -1;
	char hostonly[64];
	strcpy(hostonly, out->host);
	long port = 80;
	char *colon = strchr(hostonly, ':');
	if (colon) {
		*colon = 0;
		char *end;
		port = strtol(colon + 1, &end, 10);
		if (end == colon + 1 || *end || port < 1 || port > 65535)
			return -1;
	}
	memset(&out->addr, 0, sizeof(out->addr));
	out->addr.sin_family = AF_INET;
	out->addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, hostonly, &out->addr.sin_addr) != 1)
		return -1;
	for (const char *p = out->path; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return -1;
	return 0;
}

/* Reads until the header block ends; what follows is returned in *rest. */
static int read_headers(us_stack *s, int fd, char *buf, size_t cap, size_t *len, size_t *hdr_end)
{
	*len = 0;
	for (;;) {
		char *e = NULL;
		for (size_t i = 3; i < *len; i++)
			if (!memcmp(buf + i - 3, "\r\n\r\n", 4)) {
				e = buf + i + 1;
				break;
			}
		if (e) {
			*hdr_end = (size_t)(e - buf);
			return 0;
		}
		if (*len == cap)
			return -1;
		ssize_t n = us_recv(s, fd, buf + *len, cap - *len, 0);
		if (n <= 0)
			return -1;
		*len += (size_t)n;
	}
}

static const char *find_header(const char *hdrs, size_t len, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	const char *end = hdrs + len;
	for (const char *p = hdrs; p < end;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			break;
		if ((size_t)(eol - p) > nl && !strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			const char *ve = eol;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
				ve--;
			*vlen = (size_t)(ve - v);
			return v;
		}
		p = eol + 1;
	}
	return NULL;
}

struct sink {
	FILE *f;
	uint64_t bytes;
	bool error;
};

static void sink_write(struct sink *k, const void *p, size_t n)
{
	k->bytes += n;
	if (k->f && n && fwrite(p, 1, n, k->f) != n)
		k->error = true;
}

int cmd_fetch(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_NET_LONGOPTS,
		{ "timeout", required_argument, 0, 'T' },
		{ "output", required_argument, 0, 'o' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct cli_net net;
	memset(&net, 0, sizeof(net));
	const char *outpath = NULL;
	double timeout = 30;
	optind = 1;
	opterr = 0;
	int c, li = 0;
	while ((c = getopt_long(argc, argv, "o:h", opts, &li)) != -1) {
		switch (c) {
		case 'o':
			outpath = optarg;
			break;
		case 'T': {
			char *end;
			timeout = strtod(optarg, &end);
			if (end == optarg || *end || !isfinite(timeout) || timeout <= 0 || timeout > 86400)
				return cli_error("bad timeout '%s'", optarg), 2;
			break;
		}
		case 'h':
			printf("%s\n", fetch_usage);
			return 0;
		case CLI_NET_OPT:
			if (cli_net_option(&net, opts[li].name, optarg) < 0)
				return 2;
			break;
		default:
			fprintf(stderr, "%s\n", fetch_usage);
			return 2;
		}
	}
	if (optind != argc - 1 || net.ndevs == 0) {
		fprintf(stderr, "%s\n", fetch_usage);
		return 2;
	}
	struct url url;
	if (parse_url(argv[optind], &url) < 0)
		return cli_error("bad URL '%s' (expected http://IPv4[:PORT]/PATH)", argv[optind]), 2;
	struct sink sink = { 0 };
	if (outpath) {
		sink.f = strcmp(outpath, "-") ? fopen(outpath, "wb") : stdout;
		if (!sink.f)
			return cli_error("cannot write '%s': %s", outpath, strerror(errno)), 2;
	}

	us_stack *s = us_stack_new(NULL);
	if (!s)
		return cli_error("cannot create a stack"), 2;
	if (cli_net_setup(&net, s) < 0) {
		us_stack_free(s);
		return 2;
	}
	fetch_stack = s;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fetch_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	int rc = 1;
	uint64_t t0 = us_stack_now(s);
	int fd = us_socket(s, AF_INET, SOCK_STREAM, 0);
	struct timeval tv = { .tv_sec = (time_t)timeout,
			      .tv_usec = (suseconds_t)((timeout - floor(timeout)) * 1e6) };
	us_setsockopt(s, fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	us_setsockopt(s, fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	char *buf = malloc(1 << 20);
	if (fd < 0 || !buf) {
		cli_error("socket: %s", strerror(errno));
		goto out;
	}
	if (us_connect(s, fd, (struct sockaddr *)&url.addr, sizeof(url.addr)) < 0) {
		cli_error("connect to %s: %s", url.host,
			  errno == EINPROGRESS ? "timed out" : strerror(errno));
		goto out;
	}
	char req[2300];
	int rl = snprintf(req, sizeof(req),
			  "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ustack-fetch\r\nAccept: */*\r\n"
			  "Connection: close\r\n\r\n",
			  url.path, url.host);
	if (us_send(s, fd, req, (size_t)rl, 0) != rl) {
		cli_error("send: %s", strerror(errno));
		goto out;
	}
	size_t len, hend;
	if (read_headers(s, fd, buf, 65536, &len, &hend) < 0) {
		cli_error("no HTTP response from %s", url.host);
		goto out;
	}
	int status = 0;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
		cli_error("malformed HTTP response from %s", url.host);
		goto out;
	}
	size_t vl;
	const char *cl = find_header(buf, hend, "Content-Length", &vl);
	const char *te = find_header(buf, hend, "Transfer-Encoding", &vl);
	bool chunked = te && vl >= 7 && !strncasecmp(te, "chunked", 7);
	int64_t want = cl && !chunked ? (int64_t)strtoll(cl, NULL, 10) : -1;
	bool complete = false;
	size_t have = len - hend;
	memmove(buf, buf + hend, have);
	if (!chunked) {
		uint64_t need = want >= 0 ? (uint64_t)want : UINT64_MAX;
		size_t take = have < need ? have : (size_t)need;
		sink_write(&sink, buf, take);
		while (sink.bytes < need) {
			size_t room = 1 << 20;
			if (need - sink.bytes < room)
				room = (size_t)(need - sink.bytes);
			ssize_t n = us_recv(s, fd, buf, room, 0);
			if (n == 0) {
				complete = want < 0; /* read to the end */
				break;
			}
			if (n < 0) {
				cli_error("receive: %s after %" PRIu64 " bytes", strerror(errno), sink.bytes);
				break;
			}
			sink_write(&sink, buf, (size_t)n);
		}
		if (want >= 0 && sink.bytes == (uint64_t)want)
			complete = true;
	} else {
		/* RFC 9112 7.1: size line, data, CRLF; a zero size ends it. */
		size_t pos = 0;
		for (;;) {
			char *nl;
			while (!(nl = memchr(buf + pos, '\n', have - pos))) {
				if (have == (size_t)(1 << 20))
					goto chunk_fail;
				ssize_t n = us_recv(s, fd, buf + have, (size_t)(1 << 20) - have, 0);
				if (n <= 0)
					goto chunk_fail;
				have += (size_t)n;
			}
			uint64_t csize = strtoull(buf + pos, NULL, 16);
			pos = (size_t)(nl - buf) + 1;
			if (csize == 0) {
				complete = true;
				break;
			}
			uint64_t left = csize + 2;
			while (left) {
				if (pos == have) {
					pos = have = 0;
					ssize_t n = us_recv(s, fd, buf, 1 << 20, 0);
					if (n <= 0)
						goto chunk_fail;
					have = (size_t)n;
				}
				size_t take = have - pos < left ? have - pos : (size_t)left;
				size_t data = left > 2 ? (take < left - 2 ? take : (size_t)(left - 2)) : 0;
				sink_write(&sink, buf + pos, data);
				pos += take;
				left -= take;
			}
			memmove(buf, buf + pos, have - pos);
			have -= pos;
			pos = 0;
		}
chunk_fail:;
	}
	double secs = (double)(us_stack_now(s) - t0) / 1e9;
	printf("fetched %" PRIu64 " bytes in %.3f s (%.2f Mbit/s), HTTP status %d%s\n", sink.bytes,
	       secs, secs > 0 ? (double)sink.bytes * 8 / secs / 1e6 : 0.0, status,
	       complete ? "" : ", INCOMPLETE");
	if (sink.error)
		cli_error("writing '%s' failed", outpath);
	rc = complete && !sink.error && status >= 200 && status < 300 ? 0 : 1;
out:
	fetch_stack = NULL;
	free(buf);
	if (sink.f && sink.f != stdout)
		fclose(sink.f);
	if (fd >= 0) {
		/* Finish the close before the stack goes: our FIN, the
		 * server's FIN read and acknowledged (1 s at most), as the
		 * kernel would do after the process exits. */
		struct timeval lt = { .tv_sec = 1 };
		char drain[4096];
		us_setsockopt(s, fd, SOL_SOCKET, SO_RCVTIMEO, &lt, sizeof(lt));
		if (us_shutdown(s, fd, SHUT_WR) == 0)
			while (us_recv(s, fd, drain, sizeof(drain), 0) > 0) {
			}
		us_close(s, fd);
	}
	us_stack_free(s);
	return rc;
}
