#include "cli.h"
#include "ustack/sysctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

int cli_error(const char *fmt, ...)
{
	va_list ap;
	fputs("ustack: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int parse_dev(struct cli_net *net, const char *val, bool tap)
{
	const char *opt = tap ? "--tap" : "--tun";
	if (net->ndevs >= CLI_MAX_DEVS) {
		cli_error("%s: at most %d devices", opt, CLI_MAX_DEVS);
		return -1;
	}
	const char *eq = strchr(val, '=');
	struct cli_dev *d = &net->devs[net->ndevs];
	size_t nlen = eq ? (size_t)(eq - val) : 0;
	if (!eq || nlen == 0 || nlen >= sizeof(d->name)) {
		cli_error("%s '%s': expected NAME=ADDR/PREFIX (name of 1-15 characters)", opt, val);
		return -1;
	}
	memcpy(d->name, val, nlen);
	d->name[nlen] = 0;
	if (us_parse_prefix(eq + 1, &d->addr, &d->prefix) < 0 || !strchr(eq + 1, '/')) {
		cli_error("%s '%s': bad address or prefix (expected e.g. 10.0.0.2/24)", opt, val);
		return -1;
	}
	for (int i = 0; i < net->ndevs; i++)
		if (!strcmp(net->devs[i].name, d->name)) {
			cli_error("%s: device '%s' given twice", opt, d->name);
			return -1;
		}
	d->tap = tap;
	net->ndevs++;
	return 1;
}

static int parse_route(struct cli_net *net, const char *val)
{
	if (net->nroutes >= CLI_MAX_ROUTES) {
		cli_error("--route: at most %d routes", CLI_MAX_ROUTES);
		return -1;
	}
	struct cli_route *r = &net->routes[net->nroutes];
	const char *comma = strchr(val, ',');
	char pfx[64];
	if (!comma || (size_t)(comma - val) >= sizeof(pfx)) {
		cli_error("--route '%s': expected PREFIX,GATEWAY (PREFIX may be 'default')", val);
		return -1;
	}
	memcpy(pfx, val, (size_t)(comma - val));
	pfx[comma - val] = 0;
	if (!strcmp(pfx, "default")) {
		r->dst.s_addr = 0;
		r->prefix = 0;
	} else if (us_parse_prefix(pfx, &r->dst, &r->prefix) < 0) {
		cli_error("--route '%s': bad prefix '%s'", val, pfx);
		return -1;
	}
	if (inet_pton(AF_INET, comma + 1, &r->gw) != 1) {
		cli_error("--route '%s': bad gateway '%s'", val, comma + 1);
		return -1;
	}
	net->nroutes++;
	return 1;
}

static int parse_impair(struct cli_net *net, const char *val)
{
	const char *colon = strchr(val, ':');
	if (net->nimpairs >= CLI_MAX_DEVS) {
		cli_error("--impair: at most %d", CLI_MAX_DEVS);
		return -1;
	}
	struct cli_impair *ci = &net->impairs[net->nimpairs];
	if (!colon || colon == val || (size_t)(colon - val) >= sizeof(ci->dev)) {
		cli_error("--impair '%s': expected DEV:loss=1%%,delay=10ms,...", val);
		return -1;
	}
	memcpy(ci->dev, val, (size_t)(colon - val));
	ci->dev[colon - val] = 0;
	char err[160];
	if (us_impair_parse(colon + 1, &ci->imp, err, sizeof(err)) < 0) {
		cli_error("--impair '%s': %s", val, err);
		return -1;
	}
	net->nimpairs++;
	return 1;
}

static int parse_sysctl(struct cli_net *net, const char *val)
{
	const char *eq = strchr(val, '=');
	if (net->nsysctls >= CLI_MAX_SYSCTLS)
		return cli_error("--sysctl: at most %d", CLI_MAX_SYSCTLS), -1;
	struct cli_sysctl *c = &net->sysctls[net->nsysctls];
	if (!eq || eq == val || (size_t)(eq - val) >= sizeof(c->key) || strlen(eq + 1) >= sizeof(c->value))
		return cli_error("--sysctl '%s': expected KEY=VALUE (e.g. net.ipv4.tcp_sack=0)", val), -1;
	memcpy(c->key, val, (size_t)(eq - val));
	c->key[eq - val] = 0;
	strcpy(c->value, eq + 1);
	net->nsysctls++;
	return 1;
}

int cli_net_option(struct cli_net *net, const char *opt, const char *val)
{
	if (!strcmp(opt, "tap"))
		return parse_dev(net, val, true);
	if (!strcmp(opt, "tun"))
		return parse_dev(net, val, false);
	if (!strcmp(opt, "route"))
		return parse_route(net, val);
	if (!strcmp(opt, "impair"))
		return parse_impair(net, val);
	if (!strcmp(opt, "sysctl"))
		return parse_sysctl(net, val);
	if (!strcmp(opt, "forward")) {
		net->forward = true;
		return 1;
	}
	if (!strcmp(opt, "mtu")) {
		char *end;
		long v = strtol(val, &end, 10);
		if (end == val || *end || v < 68 || v > 65521) {
			cli_error("--mtu '%s': expected 68..65521", val);
			return -1;
		}
		net->mtu = (unsigned)v;
		return 1;
	}
	return 0;
}

int cli_net_setup(struct cli_net *net, us_stack *s)
{
	for (int i = 0; i < net->nsysctls; i++) {
		struct cli_sysctl *c = &net->sysctls[i];
		if (us_sysctl_set(s, c->key, c->value) < 0)
			return cli_error("--sysctl %s=%s: %s", c->key, c->value,
					 errno == ENOENT ? "no such knob" : strerror(errno)), -1;
	}
	for (int i = 0; i < net->ndevs; i++) {
		struct cli_dev *d = &net->devs[i];
		d->ifindex = d->tap ? us_dev_tap(s, d->name) : us_dev_tun(s, d->name);
		if (d->ifindex < 0) {
			int e = errno;
			if (e == EPERM || e == EACCES)
				return cli_error("cannot open %s '%s': needs root or CAP_NET_ADMIN",
						 d->tap ? "TAP" : "TUN", d->name), -1;
			if (e == ENOENT || e == ENODEV)
				return cli_error("cannot open %s '%s': /dev/net/tun is missing (no tun module?)",
						 d->tap ? "TAP" : "TUN", d->name), -1;
			if (e == EBUSY)
				return cli_error("cannot attach to '%s': another process holds it", d->name), -1;
			if (e == EINVAL)
				return cli_error("cannot attach to '%s': it exists and is not a %s device",
						 d->name, d->tap ? "TAP" : "TUN"), -1;
			return cli_error("cannot open '%s': %s", d->name, strerror(e)), -1;
		}
		if (net->mtu && us_dev_set_mtu(s, d->ifindex, net->mtu) < 0)
			return cli_error("--mtu %u: not valid for '%s'", net->mtu, d->name), -1;
		if (us_dev_set_up(s, d->ifindex, true) < 0)
			return cli_error("cannot bring '%s' up: %s", d->name, strerror(errno)), -1;
		if (us_addr_add(s, d->ifindex, d->addr, d->prefix) < 0)
			return cli_error("cannot add %s/%d to '%s': %s", inet_ntoa(d->addr), d->prefix,
					 d->name, strerror(errno)), -1;
	}
	for (int i = 0; i < net->nimpairs; i++) {
		struct cli_impair *ci = &net->impairs[i];
		int idx = us_dev_by_name(s, ci->dev);
		if (idx < 0)
			return cli_error("--impair: no device '%s'", ci->dev), -1;
		if (us_dev_set_impair(s, idx, &ci->imp) < 0)
			return cli_error("--impair '%s': %s", ci->dev, strerror(errno)), -1;
	}
	for (int i = 0; i < net->nroutes; i++) {
		struct cli_route *r = &net->routes[i];
		if (us_route_add(s, r->dst, r->prefix, r->gw, 0) < 0) {
			char gw[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &r->gw, gw, sizeof(gw));
			return cli_error("--route via %s: %s", gw,
					 errno == ENETUNREACH ? "gateway is not on a connected network"
					 : errno == EEXIST ? "route exists" : strerror(errno)), -1;
		}
	}
	us_set_forwarding(s, net->forward);
	return 0;
}

struct dev_print_ctx {
	us_stack *s;
	FILE *out;
};

static void print_dev(void *arg, int ifindex, const char *name)
{
	struct dev_print_ctx *c = arg;
	struct us_dev_stats st;
	us_dev_stats(c->s, ifindex, &st);
	fprintf(c->out, "%6s: %10llu %8llu %4llu %4llu %4llu %10llu %8llu %4llu %4llu %4llu\n", name,
		(unsigned long long)st.rx_bytes, (unsigned long long)st.rx_packets,
		(unsigned long long)st.rx_errors, (unsigned long long)st.rx_dropped,
		(unsigned long long)st.rx_overruns, (unsigned long long)st.tx_bytes,
		(unsigned long long)st.tx_packets, (unsigned long long)st.tx_errors,
		(unsigned long long)st.tx_dropped, (unsigned long long)st.tx_overruns);
}

void cli_print_counters(us_stack *s, FILE *out)
{
	fprintf(out, "Inter-|   Receive                               |  Transmit\n");
	fprintf(out, " face |      bytes  packets errs drop over |      bytes  packets errs drop over\n");
	struct dev_print_ctx c = { s, out };
	us_dev_foreach(s, print_dev, &c);
	us_stack_dump_counters(s, out);
}
