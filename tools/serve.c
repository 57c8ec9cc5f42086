#include "serve.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "cli.h"

static const struct {
	const char *kind;
	uint16_t port;
	int type;
} kinds[] = {
	{ "udp-echo", 7, SOCK_DGRAM },    /* RFC 862 */
	{ "udp-discard", 9, SOCK_DGRAM }, /* RFC 863 */
};

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
			if (!strcmp(tok, kinds[i].kind))
				k = (int)i;
		if (k < 0)
			return cli_error("--serve: unknown service '%s' (udp-echo, udp-discard)", tok), -1;
		struct service *sv = &cfg->svc[cfg->n];
		sv->kind = kinds[k].kind;
		sv->port = kinds[k].port;
		if (colon) {
			char *end;
			long p = strtol(colon + 1, &end, 10);
			if (end == colon + 1 || *end || p < 1 || p > 65535)
				return cli_error("--serve: bad port '%s' for %s", colon + 1, tok), -1;
			sv->port = (uint16_t)p;
		}
		sv->fd = -1;
		cfg->n++;
	}
	return 0;
}

int serve_open(us_stack *s, struct serve_cfg *cfg, int epfd)
{
	for (int i = 0; i < cfg->n; i++) {
		struct service *sv = &cfg->svc[i];
		sv->fd = us_socket(s, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (sv->fd < 0)
			return cli_error("%s: socket: %s", sv->kind, strerror(errno)), -1;
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(sv->port) };
		if (us_bind(s, sv->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
			return cli_error("%s: bind port %u: %s", sv->kind, sv->port, strerror(errno)), -1;
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		if (us_epoll_ctl(s, epfd, EPOLL_CTL_ADD, sv->fd, &ev) < 0)
			return cli_error("%s: epoll: %s", sv->kind, strerror(errno)), -1;
	}
	return 0;
}

void serve_event(us_stack *s, struct serve_cfg *cfg, const struct epoll_event *ev)
{
	if (ev->data.u32 >= (uint32_t)cfg->n)
		return;
	struct service *sv = &cfg->svc[ev->data.u32];
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
		if (!strcmp(sv->kind, "udp-echo"))
			us_sendto(s, sv->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
}

void serve_close(us_stack *s, struct serve_cfg *cfg)
{
	for (int i = 0; i < cfg->n; i++)
		if (cfg->svc[i].fd >= 0)
			us_close(s, cfg->svc[i].fd);
}
