/*
 * The control plane's commands, shaped like the Linux tools a user would
 * reach for: `ip -s link`, `ip addr`, `ip route`, `ip neigh`, `ss`,
 * `nstat`, `sysctl`, plus capture (tcpdump's options), log and trace.
 * Every command answers in text or, asked with --json, in JSON whose keys
 * follow `ip -j` / `nstat --json` where those exist.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "ctl.h"
#include "../capture/capture.h"
#include "../core/stack.h"
#include "../core/sysctl.h"

static int fail(struct ctl_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct ctl_ctx *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->err, sizeof(x->err), fmt, ap);
	va_end(ap);
	return -1;
}

static void ok_json(struct ctl_ctx *x)
{
	if (x->json) {
		j_obj(x->out, NULL);
		j_bool(x->out, "ok", true);
		j_obj_end(x->out);
	}
}

static const char *mac_str(const uint8_t *m, char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *v)
{
	char *end;
	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	unsigned long r = strtoul(s, &end, 10);
	if (errno || *end || r > max)
		return false;
	*v = r;
	return true;
}

/* Columns aligned as the Linux tools do: each as wide as its widest cell. */
struct table {
	int ncol;
	const char *align;          /* 'l' or 'r' per column */
	char **cells;               /* row-major, owned */
	int nrow, caprow;
	bool oom;
};

static void table_init(struct table *t, int ncol, const char *align)
{
	memset(t, 0, sizeof(*t));
	t->ncol = ncol;
	t->align = align;
}

static void table_row(struct table *t, const char *const *vals)
{
	if (t->oom)
		return;
	if (t->nrow == t->caprow) {
		int nc = t->caprow ? t->caprow * 2 : 16;
		char **n = realloc(t->cells, (size_t)nc * (size_t)t->ncol * sizeof(char *));
		if (!n) {
			t->oom = true;
			return;
		}
		t->cells = n;
		t->caprow = nc;
	}
	for (int i = 0; i < t->ncol; i++) {
		char *c = strdup(vals[i] ? vals[i] : "");
		if (!c) {
			for (int k = 0; k < i; k++)
				free(t->cells[t->nrow * t->ncol + k]);
			t->oom = true;
			return;
		}
		t->cells[t->nrow * t->ncol + i] = c;
	}
	t->nrow++;
}

/* Prints the table; rows after the header may carry an extra line
 * (extra[row], NULL for none) printed under them. */
static void table_print(struct table *t, struct ctl_out *o, char **extra)
{
	if (t->oom) {
		o->oom = true;
		goto out;
	}
	int w[16] = { 0 };
	for (int r = 0; r < t->nrow; r++)
		for (int c = 0; c < t->ncol; c++) {
			int l = (int)strlen(t->cells[r * t->ncol + c]);
			if (l > w[c])
				w[c] = l;
		}
	for (int r = 0; r < t->nrow; r++) {
		for (int c = 0; c < t->ncol; c++) {
			const char *cell = t->cells[r * t->ncol + c];
			bool last = c == t->ncol - 1;
			if (t->align[c] == 'r')
				out_printf(o, "%*s", w[c], cell);
			else if (last)
				out_puts(o, cell);
			else
				out_printf(o, "%-*s", w[c], cell);
			out_puts(o, last ? "\n" : " ");
		}
		if (extra && r > 0 && extra[r - 1])
			out_printf(o, "%s\n", extra[r - 1]);
	}
out:
	for (int i = 0; i < t->nrow * t->ncol; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
}

/* ------------------------------------------------------------------ link */

static int dev_flags(const struct netdev *d, const char **f)
{
	int n = 0;
	if (d->flags & NETDEV_LOOPBACK_F)
		f[n++] = "LOOPBACK";
	if (d->flags & NETDEV_BROADCAST)
		f[n++] = "BROADCAST";
	if (d->flags & NETDEV_POINTOPOINT)
		f[n++] = "POINTOPOINT";
	if (d->flags & NETDEV_MULTICAST)
		f[n++] = "MULTICAST";
	if (d->flags & NETDEV_NOARP)
		f[n++] = "NOARP";
	if (d->flags & NETDEV_PROMISC)
		f[n++] = "PROMISC";
	if (d->flags & NETDEV_UP) {
		f[n++] = "UP";
		f[n++] = "LOWER_UP";
	}
	return n;
}

static const char *dev_operstate(const struct netdev *d)
{
	if (!netdev_is_up(d))
		return "DOWN";
	return d->type == NETDEV_LOOPBACK ? "UNKNOWN" : "UP";
}

static const char *dev_link_type(const struct netdev *d)
{
	return d->type == NETDEV_ETHER ? "ether" : d->type == NETDEV_LOOPBACK ? "loopback" : "none";
}

static const char *dev_qdisc(const struct netdev *d)
{
	return d->qdisc ? d->qdisc->ops->name : "pfifo";
}

/* "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 ..." and the link/ line. */
static void link_head_text(struct ctl_out *o, const struct netdev *d)
{
	const char *f[10];
	int n = dev_flags(d, f);
	out_printf(o, "%d: %s: <", d->ifindex, d->name);
	for (int i = 0; i < n; i++)
		out_printf(o, "%s%s", i ? "," : "", f[i]);
	out_printf(o, "> mtu %u qdisc %s state %s qlen %u\n", d->mtu, dev_qdisc(d),
		   dev_operstate(d), NETDEV_TXQ_MAX);
	char mac[18];
	if (d->type == NETDEV_ETHER)
		out_printf(o, "    link/ether %s brd ff:ff:ff:ff:ff:ff\n", mac_str(d->addr, mac));
	else if (d->type == NETDEV_LOOPBACK)
		out_puts(o, "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n");
	else
		out_puts(o, "    link/none \n");
}

static void link_head_json(struct ctl_out *o, const struct netdev *d)
{
	const char *f[10];
	int n = dev_flags(d, f);
	char mac[18];
	j_u64(o, "ifindex", (uint64_t)d->ifindex);
	j_str(o, "ifname", d->name);
	j_arr(o, "flags");
	for (int i = 0; i < n; i++)
		j_str(o, NULL, f[i]);
	j_arr_end(o);
	j_u64(o, "mtu", d->mtu);
	j_str(o, "qdisc", dev_qdisc(d));
	j_str(o, "operstate", dev_operstate(d));
	j_u64(o, "txqlen", NETDEV_TXQ_MAX);
	j_str(o, "link_type", dev_link_type(d));
	if (d->type == NETDEV_ETHER) {
		j_str(o, "address", mac_str(d->addr, mac));
		j_str(o, "broadcast", "ff:ff:ff:ff:ff:ff");
	} else if (d->type == NETDEV_LOOPBACK) {
		j_str(o, "address", "00:00:00:00:00:00");
		j_str(o, "broadcast", "00:00:00:00:00:00");
	}
}

static void stats_line(struct ctl_out *o, const char *label, const char *const *hdr,
		       const uint64_t *v, int n)
{
	char cells[8][24];
	int w[8];
	for (int i = 0; i < n; i++) {
		snprintf(cells[i], sizeof(cells[i]), "%llu", (unsigned long long)v[i]);
		int a = (int)strlen(hdr[i]), b = (int)strlen(cells[i]);
		w[i] = a > b ? a : b;
	}
	out_printf(o, "    %s", label);
	for (int i = 0; i < n; i++)
		out_printf(o, " %*s", w[i], hdr[i]);
	out_puts(o, "\n        ");
	for (int i = 0; i < n; i++)
		out_printf(o, " %*s", w[i], cells[i]);
	out_puts(o, "\n");
}

static void link_show(struct ctl_ctx *x, const struct netdev *d)
{
	const struct us_dev_stats *st = &d->stats;
	if (x->json) {
		j_obj(x->out, NULL);
		link_head_json(x->out, d);
		j_obj(x->out, "stats64");
		j_obj(x->out, "rx");
		j_u64(x->out, "bytes", st->rx_bytes);
		j_u64(x->out, "packets", st->rx_packets);
		j_u64(x->out, "errors", st->rx_errors);
		j_u64(x->out, "dropped", st->rx_dropped);
		j_u64(x->out, "over_errors", st->rx_overruns);
		j_u64(x->out, "multicast", st->rx_multicast);
		j_u64(x->out, "nohandler", st->rx_nohandler);
		j_obj_end(x->out);
		j_obj(x->out, "tx");
		j_u64(x->out, "bytes", st->tx_bytes);
		j_u64(x->out, "packets", st->tx_packets);
		j_u64(x->out, "errors", st->tx_errors);
		j_u64(x->out, "dropped", st->tx_dropped);
		j_u64(x->out, "over_errors", st->tx_overruns);
		j_obj_end(x->out);
		j_obj_end(x->out);
		j_obj_end(x->out);
		return;
	}
	link_head_text(x->out, d);
	static const char *const rxh[] = { "bytes", "packets", "errors", "dropped", "overrun",
					   "mcast" };
	static const char *const txh[] = { "bytes", "packets", "errors", "dropped", "overrun" };
	uint64_t rx[] = { st->rx_bytes, st->rx_packets, st->rx_errors, st->rx_dropped,
			  st->rx_overruns, st->rx_multicast };
	uint64_t tx[] = { st->tx_bytes, st->tx_packets, st->tx_errors, st->tx_dropped,
			  st->tx_overruns };
	stats_line(x->out, "RX:", rxh, rx, 6);
	stats_line(x->out, "TX:", txh, tx, 5);
}

static struct netdev *dev_arg(struct ctl_ctx *x, const char *name)
{
	struct netdev *d = netdev_get_by_name(x->s, name);
	if (!d)
		fail(x, "Device \"%s\" does not exist.", name);
	return d;
}

static int link_set(struct ctl_ctx *x, int argc, char **argv)
{
	int i = 0;
	if (i < argc && !strcmp(argv[i], "dev"))
		i++;
	if (i >= argc)
		return fail(x, "usage: link set DEV {up|down|mtu N|promisc on|off}...");
	struct netdev *d = dev_arg(x, argv[i++]);
	if (!d)
		return -1;
	if (i >= argc)
		return fail(x, "link set %s: nothing to change (up, down, mtu N, promisc on|off)",
			    d->name);
	/* Check everything before changing anything. */
	for (int k = i; k < argc; k++) {
		if (!strcmp(argv[k], "up") || !strcmp(argv[k], "down"))
			continue;
		unsigned long v;
		if (!strcmp(argv[k], "mtu")) {
			if (k + 1 >= argc || !parse_uint(argv[k + 1], 1u << 20, &v))
				return fail(x, "link set %s: mtu needs a number", d->name);
			unsigned max = d->type == NETDEV_LOOPBACK ? 65536 : 65535 - d->hard_header_len;
			if (v < 68 || v > max)
				return fail(x, "link set %s: mtu %lu out of range (68..%u)", d->name, v,
					    max);
			k++;
			continue;
		}
		if (!strcmp(argv[k], "promisc")) {
			if (k + 1 >= argc || (strcmp(argv[k + 1], "on") && strcmp(argv[k + 1], "off")))
				return fail(x, "link set %s: promisc on|off", d->name);
			k++;
			continue;
		}
		return fail(x, "link set %s: unknown argument '%s' (up, down, mtu N, promisc on|off)",
			    d->name, argv[k]);
	}
	for (; i < argc; i++) {
		int err = 0;
		if (!strcmp(argv[i], "up") || !strcmp(argv[i], "down")) {
			err = netdev_set_up(d, !strcmp(argv[i], "up"));
		} else if (!strcmp(argv[i], "mtu")) {
			err = netdev_set_mtu(d, (unsigned)strtoul(argv[++i], NULL, 10));
		} else {
			if (!strcmp(argv[++i], "on"))
				d->flags |= NETDEV_PROMISC;
			else
				d->flags &= ~NETDEV_PROMISC;
		}
		if (err)
			return fail(x, "link set %s: %s", d->name, strerror(-err));
	}
	ok_json(x);
	return 0;
}

/* `CMD [show] [[dev] DEV]`: every device, or one, through show (as
 * `ip link` and `ip addr` list them). */
static int show_devs(struct ctl_ctx *x, int argc, char **argv,
		     void (*show)(struct ctl_ctx *x, const struct netdev *d), const char *usage)
{
	int i = 1;
	if (i < argc && !strcmp(argv[i], "show"))
		i++;
	if (i < argc && !strcmp(argv[i], "dev"))
		i++;
	struct netdev *only = NULL;
	if (i < argc && !(only = dev_arg(x, argv[i++])))
		return -1;
	if (i < argc)
		return fail(x, "%s", usage);
	if (x->json)
		j_arr(x->out, NULL);
	struct netdev *d;
	list_for_each_entry(d, &x->s->devs, list)
		if (!only || d == only)
			show(x, d);
	if (x->json)
		j_arr_end(x->out);
	return 0;
}

static int cmd_link(struct ctl_ctx *x, int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "set"))
		return link_set(x, argc - 2, argv + 2);
	return show_devs(x, argc, argv, link_show,
			 "usage: link [show [DEV]] | link set DEV {up|down|mtu N|promisc on|off}");
}

/* ------------------------------------------------------------------ addr */

static void addr_show(struct ctl_ctx *x, const struct netdev *d)
{
	char a[16], b[16];
	const struct in_ifaddr *ifa;
	if (x->json) {
		j_obj(x->out, NULL);
		link_head_json(x->out, d);
		j_arr(x->out, "addr_info");
		list_for_each_entry(ifa, &d->ifa_list, list) {
			j_obj(x->out, NULL);
			j_str(x->out, "family", "inet");
			j_str(x->out, "local", ip_str(ifa->local, a));
			j_u64(x->out, "prefixlen", ifa->prefixlen);
			if (d->type != NETDEV_LOOPBACK && ifa->prefixlen < 31)
				j_str(x->out, "broadcast", ip_str(ifa->broadcast, b));
			j_str(x->out, "scope", d->type == NETDEV_LOOPBACK ? "host" : "global");
			j_str(x->out, "label", d->name);
			j_obj_end(x->out);
		}
		j_arr_end(x->out);
		j_obj_end(x->out);
		return;
	}
	link_head_text(x->out, d);
	list_for_each_entry(ifa, &d->ifa_list, list) {
		out_printf(x->out, "    inet %s/%u", ip_str(ifa->local, a), ifa->prefixlen);
		if (d->type != NETDEV_LOOPBACK && ifa->prefixlen < 31)
			out_printf(x->out, " brd %s", ip_str(ifa->broadcast, b));
		out_printf(x->out, " scope %s %s\n", d->type == NETDEV_LOOPBACK ? "host" : "global",
			   d->name);
		out_puts(x->out, "       valid_lft forever preferred_lft forever\n");
	}
}

static int addr_change(struct ctl_ctx *x, bool add, int argc, char **argv)
{
	const char *verb = add ? "addr add" : "addr del";
	struct netdev *d = NULL;
	struct in_addr addr = { 0 };
	int plen = -1;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "dev")) {
			if (++i >= argc)
				return fail(x, "%s: dev needs a name", verb);
			if (d)
				return fail(x, "%s: two devices given", verb);
			if (!(d = dev_arg(x, argv[i])))
				return -1;
			continue;
		}
		struct in_addr a;
		int p;
		if (plen < 0 && strchr(argv[i], '.') && us_parse_prefix(argv[i], &a, &p) == 0) {
			addr = a;
			plen = p;
			continue;
		}
		if (!d) {
			if (!(d = dev_arg(x, argv[i])))
				return -1;
			continue;
		}
		return fail(x, "%s: unexpected '%s' (usage: %s DEV ADDR/PREFIX)", verb, argv[i], verb);
	}
	if (!d || plen < 0)
		return fail(x, "usage: %s DEV ADDR/PREFIX (or ADDR/PREFIX dev DEV)", verb);
	char a[16];
	int r = add ? us_addr_add(x->s, d->ifindex, addr, plen)
		    : us_addr_del(x->s, d->ifindex, addr, plen);
	if (r < 0) {
		int e = errno;
		if (e == EEXIST)
			return fail(x, "%s: %s is already on %s", verb, ip_str(addr.s_addr, a), d->name);
		if (e == EADDRNOTAVAIL)
			return fail(x, "%s: %s/%d is not on %s", verb, ip_str(addr.s_addr, a), plen,
				    d->name);
		if (e == EINVAL)
			return fail(x, "%s: %s/%d is not a valid address for %s", verb,
				    ip_str(addr.s_addr, a), plen, d->name);
		return fail(x, "%s: %s", verb, strerror(e));
	}
	ok_json(x);
	return 0;
}

static int cmd_addr(struct ctl_ctx *x, int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "add"))
		return addr_change(x, true, argc - 2, argv + 2);
	if (argc >= 2 && (!strcmp(argv[1], "del") || !strcmp(argv[1], "delete")))
		return addr_change(x, false, argc - 2, argv + 2);
	return show_devs(x, argc, argv, addr_show,
			 "usage: addr [show [DEV]] | addr {add|del} DEV ADDR/PREFIX");
}

/* ----------------------------------------------------------------- route */

struct route_list {
	struct fib_route *r;
	unsigned n, cap;
	bool oom;
};

static void route_collect(void *arg, const struct fib_route *r)
{
	struct route_list *l = arg;
	if (l->n == l->cap) {
		unsigned nc = l->cap ? l->cap * 2 : 32;
		struct fib_route *n = realloc(l->r, nc * sizeof(*n));
		if (!n) {
			l->oom = true;
			return;
		}
		l->r = n;
		l->cap = nc;
	}
	l->r[l->n++] = *r;
}

static void route_dst(const struct fib_route *r, char *buf, size_t len)
{
	char a[16];
	if (r->prefixlen == 0)
		snprintf(buf, len, "default");
	else if (r->prefixlen == 32)
		snprintf(buf, len, "%s", ip_str(r->dst, a));
	else
		snprintf(buf, len, "%s/%u", ip_str(r->dst, a), r->prefixlen);
}

static int route_show(struct ctl_ctx *x)
{
	struct route_list l = { 0 };
	fib_walk(&x->s->fib, route_collect, &l);
	if (l.oom) {
		free(l.r);
		return fail(x, "route: out of memory");
	}
	char dst[24], a[16];
	if (x->json)
		j_arr(x->out, NULL);
	for (unsigned i = 0; i < l.n; i++) {
		const struct fib_route *r = &l.r[i];
		route_dst(r, dst, sizeof(dst));
		bool kernel = r->proto == RTPROT_KERNEL;
		bool down = r->dev && !netdev_is_up(r->dev);
		if (x->json) {
			j_obj(x->out, NULL);
			j_str(x->out, "dst", dst);
			if (r->gw)
				j_str(x->out, "gateway", ip_str(r->gw, a));
			j_str(x->out, "dev", r->dev ? r->dev->name : "");
			j_str(x->out, "protocol", kernel ? "kernel" : "static");
			j_str(x->out, "scope", r->gw ? "global" : "link");
			if (r->prefsrc)
				j_str(x->out, "prefsrc", ip_str(r->prefsrc, a));
			j_arr(x->out, "flags");
			if (down)
				j_str(x->out, NULL, "linkdown");
			j_arr_end(x->out);
			j_obj_end(x->out);
			continue;
		}
		out_puts(x->out, dst);
		if (r->gw)
			out_printf(x->out, " via %s", ip_str(r->gw, a));
		out_printf(x->out, " dev %s", r->dev ? r->dev->name : "?");
		if (kernel)
			out_puts(x->out, " proto kernel");
		if (!r->gw)
			out_puts(x->out, " scope link");
		if (r->prefsrc)
			out_printf(x->out, " src %s", ip_str(r->prefsrc, a));
		if (down)
			out_puts(x->out, " linkdown");
		out_puts(x->out, "\n");
	}
	if (x->json)
		j_arr_end(x->out);
	free(l.r);
	return 0;
}

static int parse_dst(struct ctl_ctx *x, const char *verb, const char *s, struct in_addr *dst,
		     int *plen)
{
	if (!strcmp(s, "default") || !strcmp(s, "0/0")) {
		dst->s_addr = 0;
		*plen = 0;
		return 0;
	}
	if (us_parse_prefix(s, dst, plen) < 0)
		return fail(x, "%s: bad prefix '%s' (expected e.g. 10.1.0.0/16 or default)", verb, s);
	if (dst->s_addr & ~inet_make_mask((unsigned)*plen))
		return fail(x, "%s: invalid prefix for the prefix length: %s", verb, s);
	return 0;
}

struct route_find {
	uint32_t dst;
	uint8_t plen;
	bool found;
	struct fib_route r;
};

static void route_match(void *arg, const struct fib_route *r)
{
	struct route_find *f = arg;
	if (r->dst == f->dst && r->prefixlen == f->plen) {
		f->found = true;
		f->r = *r;
	}
}

static int route_change(struct ctl_ctx *x, bool add, int argc, char **argv)
{
	const char *verb = add ? "route add" : "route del";
	if (argc < 1)
		return fail(x, "usage: %s PREFIX [via GW] [dev DEV]", verb);
	struct in_addr dst, gw = { 0 };
	int plen;
	if (parse_dst(x, verb, argv[0], &dst, &plen) < 0)
		return -1;
	struct netdev *d = NULL;
	bool have_gw = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "via") && i + 1 < argc) {
			if (inet_pton(AF_INET, argv[++i], &gw) != 1)
				return fail(x, "%s: bad gateway '%s'", verb, argv[i]);
			have_gw = true;
		} else if (!strcmp(argv[i], "dev") && i + 1 < argc) {
			if (!(d = dev_arg(x, argv[++i])))
				return -1;
		} else {
			return fail(x, "%s: unexpected '%s' (usage: %s PREFIX [via GW] [dev DEV])", verb,
				    argv[i], verb);
		}
	}
	char a[16];
	if (add) {
		if (!have_gw && !d)
			return fail(x, "route add: give a gateway (via GW) or a device (dev DEV)");
		if (us_route_add(x->s, dst, plen, gw, d ? d->ifindex : 0) < 0) {
			int e = errno;
			if (e == EEXIST)
				return fail(x, "route add: %s: a route for this prefix exists", argv[0]);
			if (e == ENETUNREACH)
				return fail(x, "route add: gateway %s is not on a connected network",
					    ip_str(gw.s_addr, a));
			return fail(x, "route add: %s", strerror(e));
		}
	} else {
		struct route_find f = { .dst = dst.s_addr, .plen = (uint8_t)plen };
		fib_walk(&x->s->fib, route_match, &f);
		if (!f.found || (have_gw && f.r.gw != gw.s_addr) || (d && f.r.dev != d))
			return fail(x, "route del: no such route: %s", argv[0]);
		if (us_route_del(x->s, dst, plen) < 0)
			return fail(x, "route del: %s", strerror(errno));
	}
	ok_json(x);
	return 0;
}

static int route_get(struct ctl_ctx *x, int argc, char **argv)
{
	struct in_addr dst, gw, src;
	int ifindex;
	if (argc != 1 || inet_pton(AF_INET, argv[0], &dst) != 1)
		return fail(x, "usage: route get ADDR");
	if (us_route_get(x->s, dst, &ifindex, &gw, &src) < 0)
		return fail(x, "route get %s: network is unreachable", argv[0]);
	struct netdev *d = netdev_get_by_index(x->s, ifindex);
	char a[16], b[16];
	if (x->json) {
		j_arr(x->out, NULL);
		j_obj(x->out, NULL);
		j_str(x->out, "dst", argv[0]);
		if (gw.s_addr)
			j_str(x->out, "gateway", ip_str(gw.s_addr, a));
		j_str(x->out, "dev", d ? d->name : "");
		j_str(x->out, "prefsrc", ip_str(src.s_addr, b));
		j_obj_end(x->out);
		j_arr_end(x->out);
		return 0;
	}
	out_puts(x->out, argv[0]);
	if (gw.s_addr)
		out_printf(x->out, " via %s", ip_str(gw.s_addr, a));
	out_printf(x->out, " dev %s src %s\n", d ? d->name : "?", ip_str(src.s_addr, b));
	return 0;
}

static int cmd_route(struct ctl_ctx *x, int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "add"))
		return route_change(x, true, argc - 2, argv + 2);
	if (argc >= 2 && (!strcmp(argv[1], "del") || !strcmp(argv[1], "delete")))
		return route_change(x, false, argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "get"))
		return route_get(x, argc - 2, argv + 2);
	if (argc > 2 || (argc == 2 && strcmp(argv[1], "show") && strcmp(argv[1], "list")))
		return fail(x, "usage: route [show] | route {add|del} PREFIX [via GW] [dev DEV] | "
			       "route get ADDR");
	return route_show(x);
}

/* ----------------------------------------------------------------- neigh */

static int cmd_neigh(struct ctl_ctx *x, int argc, char **argv)
{
	struct us_stack *s = x->s;
	bool flush = argc >= 2 && !strcmp(argv[1], "flush");
	int i = 1 + (argc >= 2 && (flush || !strcmp(argv[1], "show")));
	struct netdev *only = NULL;
	if (i < argc && !strcmp(argv[i], "all") && flush)
		i++;
	else if (i + 1 < argc && !strcmp(argv[i], "dev")) {
		if (!(only = dev_arg(x, argv[i + 1])))
			return -1;
		i += 2;
	}
	if (i < argc)
		return fail(x, "usage: neigh [show] [dev DEV] | neigh flush [all | dev DEV]");
	struct neighbour *n, *nn;
	if (flush) {
		/* As `ip neigh flush`: permanent and noarp entries stay. */
		unsigned count = 0;
		list_for_each_entry_safe(n, nn, &s->arp_tbl.lru, lru) {
			if (only && n->dev != only)
				continue;
			if (n->nud_state & (NUD_PERMANENT | NUD_NOARP))
				continue;
			if (neigh_set(s, n->dev, n->ip, NULL, NUD_NONE) == 0)
				count++;
		}
		if (x->json) {
			j_obj(x->out, NULL);
			j_u64(x->out, "flushed", count);
			j_obj_end(x->out);
		}
		return 0;
	}
	char a[16], mac[18];
	if (x->json)
		j_arr(x->out, NULL);
	list_for_each_entry(n, &s->arp_tbl.lru, lru) {
		if (only && n->dev != only)
			continue;
		bool has_ll = n->nud_state & NUD_VALID;
		const char *state = neigh_state_name(n->nud_state);
		if (x->json) {
			j_obj(x->out, NULL);
			j_str(x->out, "dst", ip_str(n->ip, a));
			j_str(x->out, "dev", n->dev->name);
			if (has_ll)
				j_str(x->out, "lladdr", mac_str(n->ha, mac));
			j_arr(x->out, "state");
			j_str(x->out, NULL, state);
			j_arr_end(x->out);
			j_obj_end(x->out);
			continue;
		}
		out_printf(x->out, "%s dev %s", ip_str(n->ip, a), n->dev->name);
		if (has_ll)
			out_printf(x->out, " lladdr %s", mac_str(n->ha, mac));
		out_printf(x->out, " %s\n", state);
	}
	if (x->json)
		j_arr_end(x->out);
	return 0;
}

/* -------------------------------------------------------------------- ss */

#define SS_TCP 1
#define SS_UDP 2
#define SS_RAW 4
#define SS_PACKET 8

static const char *ss_state(int state)
{
	static const char *const names[] = {
		"UNKNOWN", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
		"TIME-WAIT", "UNCONN", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING",
	};
	return state >= 0 && state < (int)(sizeof(names) / sizeof(names[0])) ? names[state]
									  : "UNKNOWN";
}

static int ss_kind(const struct sock_diag *d)
{
	if (d->family == AF_PACKET)
		return SS_PACKET;
	if (d->type == SOCK_STREAM)
		return SS_TCP;
	if (d->type == SOCK_RAW)
		return SS_RAW;
	return SS_UDP;
}

static const char *ss_netid(const struct sock_diag *d)
{
	switch (ss_kind(d)) {
	case SS_TCP: return "tcp";
	case SS_RAW: return "raw";
	case SS_PACKET: return d->type == SOCK_DGRAM ? "p_dgr" : "p_raw";
	default: return d->protocol == IPPROTO_ICMP ? "icmp" : "udp";
	}
}

struct ss_ctx {
	struct ctl_ctx *x;
	int kinds;
	bool listening;          /* -l: LISTEN and UNCONN only */
	bool info, ext;
	struct table t;
	char **extra;            /* -i lines, per row */
	int nextra, capextra;
	bool oom;
	int pass;                /* the kind being listed */
};

static void ss_endpoint(const struct sock_diag *d, bool local, char *buf, size_t len,
			struct us_stack *s)
{
	char a[16];
	if (d->family == AF_PACKET) {
		char dev[16] = "*";
		if (local && d->ifindex)
			us_dev_name(s, d->ifindex, dev, sizeof(dev));
		snprintf(buf, len, "*:%s", local ? dev : "*");
		return;
	}
	uint32_t addr = local ? d->laddr : d->raddr;
	uint16_t port = local ? d->lport : d->rport;
	if (d->type == SOCK_RAW) {
		if (local)
			snprintf(buf, len, "%s:%d", ip_str(addr, a), d->protocol);
		else
			snprintf(buf, len, "%s:*", ip_str(addr, a));
		return;
	}
	if (port)
		snprintf(buf, len, "%s:%u", ip_str(addr, a), port);
	else
		snprintf(buf, len, "%s:*", ip_str(addr, a));
}

static void ss_tcp_info_text(const struct sock_diag *d, char *buf, size_t len)
{
	int n = snprintf(buf, len,
			 "\t rto:%g rtt:%g/%g ato:%g mss:%u rcvmss:%u cwnd:%u", d->tcp.rto_us / 1000.0,
			 d->tcp.rtt_us / 1000.0, d->tcp.rttvar_us / 1000.0, d->tcp.ato_us / 1000.0,
			 d->tcp.snd_mss, d->tcp.rcv_mss, d->tcp.snd_cwnd);
	if (n < 0 || (size_t)n >= len)
		return;
	if (d->tcp.snd_ssthresh && d->tcp.snd_ssthresh < 0x7fffffffu)
		n += snprintf(buf + n, len - (size_t)n, " ssthresh:%u", d->tcp.snd_ssthresh);
	if ((size_t)n >= len)
		return;
	n += snprintf(buf + n, len - (size_t)n,
		      " bytes_acked:%llu bytes_received:%llu unacked:%u retrans:%u/%u lost:%u"
		      " snd_wnd:%u rcv_wnd:%u",
		      (unsigned long long)d->tcp.bytes_acked,
		      (unsigned long long)d->tcp.bytes_received, d->tcp.unacked,
		      d->tcp.retransmits, d->tcp.total_retrans, d->tcp.lost, d->tcp.snd_wnd,
		      d->tcp.rcv_wnd);
	if (d->tcp.backoff && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " backoff:%u", d->tcp.backoff);
}

static void ss_visit(void *arg, struct sock *sk)
{
	struct ss_ctx *c = arg;
	struct ctl_ctx *x = c->x;
	struct sock_diag d;
	sock_diag_fill(sk, &d);
	int kind = ss_kind(&d);
	if (kind != c->pass || !(c->kinds & kind))
		return;
	/* Datagram and raw sockets are ESTAB when connected, else UNCONN. */
	const char *state = kind == SS_TCP ? ss_state(d.state)
			    : d.state == TCP_ESTABLISHED && d.family != AF_PACKET ? "ESTAB" : "UNCONN";
	bool listening = !strcmp(state, "LISTEN") || !strcmp(state, "UNCONN");
	if (c->listening && !listening)
		return;
	char local[64], peer[64];
	ss_endpoint(&d, true, local, sizeof(local), x->s);
	ss_endpoint(&d, false, peer, sizeof(peer), x->s);
	if (x->json) {
		char a[16];
		j_obj(x->out, NULL);
		j_str(x->out, "netid", ss_netid(&d));
		j_str(x->out, "state", state);
		j_u64(x->out, "recv_q", d.recv_q);
		j_u64(x->out, "send_q", d.send_q);
		if (d.family == AF_PACKET) {
			j_str(x->out, "local", local);
			j_str(x->out, "peer", peer);
			j_u64(x->out, "ifindex", (uint64_t)d.ifindex);
		} else {
			j_str(x->out, "local", ip_str(d.laddr, a));
			j_u64(x->out, "lport", d.type == SOCK_RAW ? (uint64_t)d.protocol : d.lport);
			j_str(x->out, "peer", ip_str(d.raddr, a));
			j_u64(x->out, "pport", d.rport);
		}
		j_i64(x->out, "fd", d.fd);
		if (c->info && d.has_tcp_info) {
			j_obj(x->out, "tcp_info");
			j_dbl(x->out, "rto", d.tcp.rto_us / 1000.0);
			j_dbl(x->out, "rtt", d.tcp.rtt_us / 1000.0);
			j_dbl(x->out, "rttvar", d.tcp.rttvar_us / 1000.0);
			j_dbl(x->out, "ato", d.tcp.ato_us / 1000.0);
			j_u64(x->out, "mss", d.tcp.snd_mss);
			j_u64(x->out, "rcvmss", d.tcp.rcv_mss);
			j_u64(x->out, "cwnd", d.tcp.snd_cwnd);
			j_u64(x->out, "ssthresh", d.tcp.snd_ssthresh);
			j_u64(x->out, "bytes_acked", d.tcp.bytes_acked);
			j_u64(x->out, "bytes_received", d.tcp.bytes_received);
			j_u64(x->out, "unacked", d.tcp.unacked);
			j_u64(x->out, "retransmits", d.tcp.retransmits);
			j_u64(x->out, "total_retrans", d.tcp.total_retrans);
			j_u64(x->out, "lost", d.tcp.lost);
			j_u64(x->out, "backoff", d.tcp.backoff);
			j_u64(x->out, "snd_wnd", d.tcp.snd_wnd);
			j_u64(x->out, "rcv_wnd", d.tcp.rcv_wnd);
			j_obj_end(x->out);
		}
		j_obj_end(x->out);
		return;
	}
	char rq[16], sq[16], fd[24];
	snprintf(rq, sizeof(rq), "%u", d.recv_q);
	snprintf(sq, sizeof(sq), "%u", d.send_q);
	if (d.fd >= 0)
		snprintf(fd, sizeof(fd), "fd:%d", d.fd);
	else
		snprintf(fd, sizeof(fd), "fd:-");
	const char *row[7] = { ss_netid(&d), state, rq, sq, local, peer, fd };
	table_row(&c->t, row);
	/* the -i line of this row */
	if (c->nextra == c->capextra) {
		int nc = c->capextra ? c->capextra * 2 : 16;
		char **n = realloc(c->extra, (size_t)nc * sizeof(char *));
		if (!n) {
			c->oom = true;
			return;
		}
		c->extra = n;
		c->capextra = nc;
	}
	char *line = NULL;
	if (c->info && d.has_tcp_info) {
		char buf[512];
		ss_tcp_info_text(&d, buf, sizeof(buf));
		line = strdup(buf);
		if (!line)
			c->oom = true;
	}
	c->extra[c->nextra++] = line;
}

static int cmd_ss(struct ctl_ctx *x, int argc, char **argv)
{
	struct ss_ctx c = { .x = x };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || !a[1])
			return fail(x, "ss: unexpected '%s' (options: -t -u -w -0 -a -l -n -i -e)", a);
		if (a[1] == '-') {
			static const struct { const char *name; char letter; } longs[] = {
				{ "tcp", 't' }, { "udp", 'u' }, { "raw", 'w' }, { "packet", '0' },
				{ "all", 'a' }, { "listening", 'l' }, { "numeric", 'n' },
				{ "info", 'i' }, { "extended", 'e' },
			};
			char letter = 0;
			for (size_t k = 0; k < sizeof(longs) / sizeof(longs[0]); k++)
				if (!strcmp(a + 2, longs[k].name))
					letter = longs[k].letter;
			if (!letter)
				return fail(x, "ss: unknown option '%s'", a);
			switch (letter) {
			case 't': c.kinds |= SS_TCP; break;
			case 'u': c.kinds |= SS_UDP; break;
			case 'w': c.kinds |= SS_RAW; break;
			case '0': c.kinds |= SS_PACKET; break;
			case 'l': c.listening = true; break;
			case 'i': c.info = true; break;
			case 'e': c.ext = true; break;
			default: break;
			}
			continue;
		}
		for (const char *p = a + 1; *p; p++) {
			switch (*p) {
			case 't': c.kinds |= SS_TCP; break;
			case 'u': c.kinds |= SS_UDP; break;
			case 'w': c.kinds |= SS_RAW; break;
			case '0': c.kinds |= SS_PACKET; break;
			case 'l': c.listening = true; break;
			case 'i': c.info = true; break;
			case 'e': c.ext = true; break;
			case 'a': case 'n': case '4': break;
			default:
				return fail(x, "ss: unknown option '-%c' (options: -t -u -w -0 -a -l -n -i -e)",
					    *p);
			}
		}
	}
	if (!c.kinds)
		c.kinds = SS_TCP | SS_UDP | SS_RAW | SS_PACKET;
	if (x->json) {
		j_arr(x->out, NULL);
	} else {
		table_init(&c.t, c.ext ? 7 : 6, c.ext ? "llllrrl" : "llllrr");
		const char *hdr[7] = { "Netid", "State", "Recv-Q", "Send-Q", "Local Address:Port",
				       "Peer Address:Port", "" };
		table_row(&c.t, hdr);
	}
	static const int order[] = { SS_TCP, SS_UDP, SS_RAW, SS_PACKET };
	for (size_t k = 0; k < 4; k++) {
		c.pass = order[k];
		sock_foreach(x->s, ss_visit, &c);
	}
	int r = 0;
	if (x->json) {
		j_arr_end(x->out);
	} else {
		if (c.oom)
			c.t.oom = true;
		table_print(&c.t, x->out, c.extra);
	}
	for (int i = 0; i < c.nextra; i++)
		free(c.extra[i]);
	free(c.extra);
	if (c.oom)
		r = fail(x, "ss: out of memory");
	return r;
}

/* ----------------------------------------------------------------- nstat */

/* Counter groups in the order of /proc/net/snmp, then /proc/net/netstat,
 * then ustack's own (ARP, drop reasons). */
static int group_rank(const char *name)
{
	static const char *const groups[] = { "IpExt", "IcmpMsg", "Icmp", "Ip", "TcpExt", "Tcp",
					      "UdpLite", "Udp", "Arp", "Drop:" };
	static const int rank[] = { 7, 2, 1, 0, 6, 3, 5, 4, 8, 10 };
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		size_t l = strlen(groups[i]);
		/* "Ip" must not take "IpExtInOctets"; a group name is followed
		 * by an upper-case letter (or is "Drop:"). */
		if (!strncmp(name, groups[i], l) &&
		    (groups[i][l - 1] == ':' || (name[l] >= 'A' && name[l] <= 'Z')))
			return rank[i];
	}
	return 9; /* a prefix added later: after the known ones */
}

static int cmd_nstat(struct ctl_ctx *x, int argc, char **argv)
{
	bool absolute = false, zeros = false, reset = false, nosave = false, quiet = false;
	const char *pats[32];
	int npat = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--absolute"))
			absolute = true;
		else if (!strcmp(a, "--zeros"))
			zeros = true;
		else if (!strcmp(a, "--reset"))
			reset = true;
		else if (!strcmp(a, "--ignore"))
			nosave = true;
		else if (!strcmp(a, "--nooutput"))
			quiet = true;
		else if (a[0] == '-' && a[1] && a[1] != '-') {
			for (const char *p = a + 1; *p; p++) {
				switch (*p) {
				case 'a': absolute = true; break;
				case 'z': zeros = true; break;
				case 'r': reset = true; break;
				case 's': nosave = true; break;
				case 'n': quiet = true; break;
				default:
					return fail(x, "nstat: unknown option '-%c' (-a absolute, -z zeros, "
						       "-r reset history, -s keep history, -n no output)",
						    *p);
				}
			}
		} else if (a[0] == '-') {
			return fail(x, "nstat: unknown option '%s'", a);
		} else if (npat < 32) {
			pats[npat++] = a;
		} else {
			return fail(x, "nstat: too many patterns");
		}
	}
	if (!x->st)
		return fail(x, "nstat: out of memory");
	bool valid;
	uint64_t *hist = ctl_nstat_history(x->st, &valid);
	if (reset)
		valid = false;
	const struct us_stack *s = x->s;
	const int n = MIB_MAX + DROP_MAX;
	/* Visit in group order, stable within a group. */
	if (x->json) {
		j_obj(x->out, NULL);
		j_obj(x->out, "kernel");
	} else if (!quiet) {
		out_puts(x->out, "#kernel\n");
	}
	for (int g = 0; g <= 10 && !quiet; g++) {
		for (int i = 0; i < n; i++) {
			const char *name = i < MIB_MAX ? mib_names[i] : drop_names[i - MIB_MAX];
			if (group_rank(name) != g)
				continue;
			uint64_t v = i < MIB_MAX ? s->mib[i] : s->drops[i - MIB_MAX];
			uint64_t shown = absolute || !valid ? v : v - hist[i];
			if (!shown && !zeros)
				continue;
			if (npat) {
				bool m = false;
				for (int p = 0; p < npat && !m; p++)
					m = fnmatch(pats[p], name, 0) == 0;
				if (!m)
					continue;
			}
			if (x->json)
				j_u64(x->out, name, shown);
			else
				out_printf(x->out, "%-32s%-16llu%6.1f\n", name, (unsigned long long)shown,
					   0.0);
		}
	}
	if (x->json) {
		j_obj_end(x->out);
		j_obj_end(x->out);
	}
	/* As nstat: the history is what the next run subtracts. */
	if (!nosave) {
		for (int i = 0; i < n; i++)
			hist[i] = i < (int)MIB_MAX ? s->mib[i] : s->drops[(unsigned)(i - MIB_MAX) % DROP_MAX];
		ctl_nstat_history_set(x->st, true);
	}
	return 0;
}

/* ---------------------------------------------------------------- sysctl */

static void sysctl_show(struct ctl_ctx *x, const struct sysctl_entry *e, bool values_only)
{
	char buf[256];
	if (sysctl_get(x->s, e, buf, sizeof(buf)) < 0)
		return;
	if (x->json) {
		char *end;
		long long v = strtoll(buf, &end, 10);
		if (end != buf && !*end)
			j_i64(x->out, e->name, v);
		else
			j_str(x->out, e->name, buf);
	} else if (values_only) {
		out_printf(x->out, "%s\n", buf);
	} else {
		out_printf(x->out, "%s = %s\n", e->name, buf);
	}
}

static int cmd_sysctl(struct ctl_ctx *x, int argc, char **argv)
{
	bool values_only = false, all = false;
	int first = 1;
	for (; first < argc && argv[first][0] == '-'; first++) {
		for (const char *p = argv[first] + 1; *p; p++) {
			switch (*p) {
			case 'n': values_only = true; break;
			case 'a': case 'A': case 'X': all = true; break;
			case 'w': case 'q': case 'e': break;
			default:
				return fail(x, "sysctl: unknown option '-%c' (-a all, -n values only, "
					       "-w write)", *p);
			}
		}
	}
	if (x->json)
		j_obj(x->out, NULL);
	if (first >= argc || all) {
		for (size_t i = 0; sysctl_entry_at(i); i++)
			sysctl_show(x, sysctl_entry_at(i), values_only);
		if (x->json)
			j_obj_end(x->out);
		return 0;
	}
	/* Check every argument first: nothing changes unless all are good. */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = first; i < argc; i++) {
			char key[128];
			const char *eq = strchr(argv[i], '=');
			size_t kl = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
			while (kl && argv[i][kl - 1] == ' ')
				kl--;
			if (kl >= sizeof(key) || !kl) {
				out_reset(x->out);
				return fail(x, "sysctl: bad key '%s'", argv[i]);
			}
			memcpy(key, argv[i], kl);
			key[kl] = 0;
			for (char *p = key; *p; p++)
				if (*p == '/')
					*p = '.';
			const struct sysctl_entry *e = sysctl_lookup(key);
			if (!e) {
				out_reset(x->out);
				return fail(x, "sysctl: unknown key '%s'", key);
			}
			if (!eq) {
				if (pass == 1)
					sysctl_show(x, e, values_only);
				continue;
			}
			const char *val = eq + 1;
			while (*val == ' ')
				val++;
			if (pass == 0) {
				char why[160];
				if (sysctl_set(x->s, e, val, true, why, sizeof(why)) < 0) {
					out_reset(x->out);
					return fail(x, "sysctl: setting key \"%s\" to \"%s\": Invalid argument (%s)",
						    key, val, why);
				}
				continue;
			}
			char why[160];
			sysctl_set(x->s, e, val, false, why, sizeof(why));
			sysctl_show(x, e, values_only);
		}
	}
	if (x->json)
		j_obj_end(x->out);
	return 0;
}

/* --------------------------------------------------------------- capture */

struct cap_list {
	struct ctl_ctx *x;
	struct table t;
	int want;                /* an id, or 0 for all */
	bool found;
	struct us_capture_info info;
	char out[256], filter[512], dev[16], link[16], format[8];
};

static void cap_info_json(struct ctl_out *o, const struct us_capture_info *ci)
{
	j_obj(o, NULL);
	j_u64(o, "id", (uint64_t)ci->id);
	j_str(o, "dev", ci->dev);
	j_str(o, "output", ci->output);
	j_str(o, "filter", ci->filter);
	j_str(o, "link", ci->link);
	j_str(o, "format", ci->format);
	j_u64(o, "snaplen", ci->snaplen);
	j_u64(o, "seen", ci->stats.seen);
	j_u64(o, "matched", ci->stats.matched);
	j_u64(o, "captured", ci->stats.captured);
	j_u64(o, "dropped", ci->stats.dropped);
	j_u64(o, "bytes", ci->stats.bytes);
	j_u64(o, "files", ci->stats.files);
	j_bool(o, "running", ci->stats.running);
	j_str(o, "error", ci->stats.error ? strerror(ci->stats.error) : "");
	j_obj_end(o);
}

static void cap_list_visit(void *arg, const struct us_capture_info *ci)
{
	struct cap_list *l = arg;
	if (l->want) {
		if (ci->id != l->want)
			return;
		l->found = true;
		l->info = *ci;
		snprintf(l->out, sizeof(l->out), "%s", ci->output);
		snprintf(l->filter, sizeof(l->filter), "%s", ci->filter);
		snprintf(l->dev, sizeof(l->dev), "%s", ci->dev);
		snprintf(l->link, sizeof(l->link), "%s", ci->link);
		snprintf(l->format, sizeof(l->format), "%s", ci->format);
		l->info.output = l->out;
		l->info.filter = l->filter;
		l->info.dev = l->dev;
		l->info.link = l->link;
		l->info.format = l->format;
		return;
	}
	if (l->x->json) {
		cap_info_json(l->x->out, ci);
		return;
	}
	char id[16], snap[16], cap[24], drop[24], state[64];
	snprintf(id, sizeof(id), "%d", ci->id);
	snprintf(snap, sizeof(snap), "%u", ci->snaplen);
	snprintf(cap, sizeof(cap), "%llu", (unsigned long long)ci->stats.captured);
	snprintf(drop, sizeof(drop), "%llu", (unsigned long long)ci->stats.dropped);
	if (ci->stats.running)
		snprintf(state, sizeof(state), "running");
	else
		snprintf(state, sizeof(state), "failed(%s)",
			 ci->stats.error == EPIPE ? "reader gone" : strerror(ci->stats.error));
	const char *row[10] = { id, ci->dev, ci->format, ci->link, snap, cap, drop, state,
				ci->output, ci->filter };
	table_row(&l->t, row);
}

static const char *link_desc(const char *link)
{
	return !strcmp(link, "EN10MB") ? "EN10MB (Ethernet)"
	       : !strcmp(link, "RAW") ? "RAW (Raw IP)"
	       : !strcmp(link, "LINUX_SLL") ? "LINUX_SLL (Linux cooked v1)" : link;
}

static int capture_start_cmd(struct ctl_ctx *x, int argc, char **argv)
{
	struct us_capture_opts o = { .fd = -1 };
	const char *out = NULL;
	char expr[4096] = "";
	size_t elen = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		bool has_val = i + 1 < argc;
		unsigned long v;
		if (!strcmp(a, "-i") && has_val) {
			o.dev = argv[++i];
		} else if (!strcmp(a, "-w") && has_val) {
			out = argv[++i];
		} else if (!strcmp(a, "-s") && has_val) {
			if (!parse_uint(argv[++i], 262144, &v))
				return fail(x, "capture start: -s %s: expected 0..262144", argv[i]);
			o.snaplen = (unsigned)v;
		} else if (!strcmp(a, "-C") && has_val) {
			if (us_capture_parse_size(argv[++i], &o.rotate_bytes) < 0)
				return fail(x, "capture start: -C %s: expected a size in millions of bytes, "
					       "or with k, m, g (KiB, MiB, GiB)", argv[i]);
		} else if (!strcmp(a, "-W") && has_val) {
			if (!parse_uint(argv[++i], 100000, &v) || !v)
				return fail(x, "capture start: -W %s: expected a file count", argv[i]);
			o.rotate_files = (unsigned)v;
		} else if (!strcmp(a, "-B") && has_val) {
			if (!parse_uint(argv[++i], 1u << 20, &v) || !v)
				return fail(x, "capture start: -B %s: expected a buffer size in KiB", argv[i]);
			o.buffer_bytes = (size_t)v * 1024;
		} else if (!strcmp(a, "-Q") && has_val) {
			const char *d = argv[++i];
			if (!strcmp(d, "in"))
				o.direction = US_CAPTURE_IN;
			else if (!strcmp(d, "out"))
				o.direction = US_CAPTURE_OUT;
			else if (!strcmp(d, "inout"))
				o.direction = US_CAPTURE_INOUT;
			else
				return fail(x, "capture start: -Q %s: expected in, out or inout", d);
		} else if (!strcmp(a, "--pcapng")) {
			o.pcapng = true;
		} else if (!strcmp(a, "--link") && has_val) {
			const char *l = argv[++i];
			if (!strcmp(l, "ether"))
				o.link = US_CAPTURE_LINK_ETHER;
			else if (!strcmp(l, "raw"))
				o.link = US_CAPTURE_LINK_RAW;
			else
				return fail(x, "capture start: --link %s: expected ether or raw", l);
		} else if (a[0] == '-' && a[1] && !elen) {
			return fail(x, "capture start: unknown option '%s' (-i DEV, -w FILE, -s SNAPLEN, "
				       "-C SIZE, -W N, -B KiB, -Q in|out|inout, --pcapng)", a);
		} else {
			/* The rest is the filter expression, words joined. */
			for (; i < argc; i++) {
				size_t l = strlen(argv[i]);
				if (elen + l + 2 > sizeof(expr))
					return fail(x, "capture start: filter expression too long");
				if (elen)
					expr[elen++] = ' ';
				memcpy(expr + elen, argv[i], l);
				elen += l;
				expr[elen] = 0;
			}
		}
	}
	if (!out || !strcmp(out, "-")) {
		if (x->passed_fd < 0)
			return fail(x, "capture start: give -w FILE (or -w - from `ustack ctl`, which "
				       "passes its standard output)");
		o.fd = x->passed_fd;
	} else {
		o.path = out;
	}
	o.filter = expr;
	char err[512];
	int id = capture_start(x->s, &o, err, sizeof(err));
	if (id < 0)
		return fail(x, "capture start: %s", err);
	struct cap_list l = { .x = x, .want = id };
	capture_foreach(x->s, cap_list_visit, &l);
	const struct us_capture_info *ci = &l.info;
	if (x->json) {
		cap_info_json(x->out, ci);
		return 0;
	}
	out_printf(x->out, "capture %d: listening on %s, link-type %s, snapshot length %u bytes, "
			   "writing %s to %s\n",
		   id, ci->dev, link_desc(ci->link), ci->snaplen, ci->format, ci->output);
	return 0;
}

static void cap_stopped(struct ctl_ctx *x, int id, const struct us_capture_stats *st)
{
	if (x->json) {
		j_obj(x->out, NULL);
		j_u64(x->out, "id", (uint64_t)id);
		j_u64(x->out, "captured", st->captured);
		j_u64(x->out, "seen", st->seen);
		j_u64(x->out, "matched", st->matched);
		j_u64(x->out, "dropped", st->dropped);
		j_u64(x->out, "bytes", st->bytes);
		j_u64(x->out, "files", st->files);
		j_str(x->out, "error", st->error ? strerror(st->error) : "");
		j_obj_end(x->out);
		return;
	}
	out_printf(x->out, "capture %d stopped\n%llu packets captured\n%llu packets received by filter\n"
			   "%llu packets dropped by buffer\n",
		   id, (unsigned long long)st->captured, (unsigned long long)st->seen,
		   (unsigned long long)st->dropped);
	if (st->error)
		out_printf(x->out, "output error: %s\n", strerror(st->error));
}

static int cmd_capture(struct ctl_ctx *x, int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "start"))
		return capture_start_cmd(x, argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "stop")) {
		int ids[64];
		int n;
		if (argc == 2 || (argc == 3 && !strcmp(argv[2], "all"))) {
			n = capture_ids(x->s, ids, 64);
		} else {
			unsigned long v;
			if (argc != 3 || !parse_uint(argv[2], 1u << 30, &v))
				return fail(x, "usage: capture stop [ID|all]");
			ids[0] = (int)v;
			n = 1;
			struct us_capture_stats tmp;
			if (capture_stats(x->s, ids[0], &tmp) < 0)
				return fail(x, "capture stop: no capture %lu", v);
		}
		if (x->json)
			j_arr(x->out, NULL);
		for (int i = 0; i < n; i++) {
			struct us_capture_stats st;
			if (capture_stop(x->s, ids[i], &st) == 0)
				cap_stopped(x, ids[i], &st);
		}
		if (x->json)
			j_arr_end(x->out);
		else if (n == 0)
			out_puts(x->out, "no capture running\n");
		return 0;
	}
	if (argc > 2 || (argc == 2 && strcmp(argv[1], "list") && strcmp(argv[1], "show")))
		return fail(x, "usage: capture [list] | capture start [-i DEV] [-w FILE] [-s SNAPLEN] "
			       "[-C SIZE] [-W N] [-Q in|out|inout] [--pcapng] [EXPRESSION] | "
			       "capture stop [ID|all]");
	struct cap_list l = { .x = x };
	if (x->json) {
		j_arr(x->out, NULL);
		capture_foreach(x->s, cap_list_visit, &l);
		j_arr_end(x->out);
		return 0;
	}
	table_init(&l.t, 10, "llllrrrlll");
	const char *hdr[10] = { "ID", "DEV", "FORMAT", "LINK", "SNAPLEN", "CAPTURED", "DROPPED",
				"STATE", "OUTPUT", "FILTER" };
	table_row(&l.t, hdr);
	capture_foreach(x->s, cap_list_visit, &l);
	table_print(&l.t, x->out, NULL);
	return 0;
}

/* ------------------------------------------------------------ log, trace */

static const char *const level_names[] = { "err", "warning", "info", "debug" };

static int cmd_log(struct ctl_ctx *x, int argc, char **argv)
{
	if (argc > 2)
		return fail(x, "usage: log [err|warning|info|debug]");
	if (argc == 2) {
		static const struct { const char *name; enum us_log_level l; } lv[] = {
			{ "err", US_LOG_ERR }, { "error", US_LOG_ERR }, { "warn", US_LOG_WARN },
			{ "warning", US_LOG_WARN }, { "info", US_LOG_INFO }, { "debug", US_LOG_DEBUG },
		};
		size_t k;
		for (k = 0; k < sizeof(lv) / sizeof(lv[0]); k++)
			if (!strcmp(argv[1], lv[k].name))
				break;
		if (k == sizeof(lv) / sizeof(lv[0]))
			return fail(x, "log: unknown level '%s' (err, warning, info, debug)", argv[1]);
		x->s->log_level = lv[k].l;
	}
	if (x->json) {
		j_obj(x->out, NULL);
		j_str(x->out, "level", level_names[x->s->log_level]);
		j_obj_end(x->out);
	} else {
		out_printf(x->out, "log level %s\n", level_names[x->s->log_level]);
	}
	return 0;
}

static int cmd_trace(struct ctl_ctx *x, int argc, char **argv)
{
	if (argc != 2)
		return fail(x, "usage: trace CONN (LOCAL:PORT-PEER:PORT)");
	ctl_trace_fn fn = ctl_trace_handler(x->s);
	if (!fn)
		return fail(x, "trace: not available (TCP connection tracing is not in this build yet)");
	return fn(x->s, argv[1], x->json, x->out, x->err, sizeof(x->err));
}

static int cmd_help(struct ctl_ctx *x, int argc, char **argv);

struct ctl_cmd {
	const char *name;
	int (*fn)(struct ctl_ctx *x, int argc, char **argv);
	const char *usage;
};

static const struct ctl_cmd cmds[] = {
	{ "link", cmd_link, "link [show [DEV]] | link set DEV {up|down|mtu N|promisc on|off}..." },
	{ "addr", cmd_addr, "addr [show [DEV]] | addr {add|del} DEV ADDR/PREFIX" },
	{ "route", cmd_route, "route [show] | route {add|del} PREFIX [via GW] [dev DEV] | route get ADDR" },
	{ "neigh", cmd_neigh, "neigh [show] [dev DEV] | neigh flush [all | dev DEV]" },
	{ "ss", cmd_ss, "ss [-t] [-u] [-w] [-0] [-l] [-i] [-e]" },
	{ "nstat", cmd_nstat, "nstat [-a] [-z] [-r] [-s] [-n] [PATTERN...]" },
	{ "sysctl", cmd_sysctl, "sysctl [-a] [-n] [KEY[=VALUE]...]" },
	{ "capture", cmd_capture, "capture [list] | capture start [-i DEV|any] [-w FILE|-] [-s SNAPLEN] "
				  "[-C SIZE] [-W N] [-B KiB] [-Q in|out|inout] [--pcapng] [EXPRESSION] | "
				  "capture stop [ID|all]" },
	{ "log", cmd_log, "log [err|warning|info|debug]" },
	{ "trace", cmd_trace, "trace CONN" },
	{ "help", cmd_help, "help" },
};

static int cmd_help(struct ctl_ctx *x, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (x->json)
		j_obj(x->out, NULL);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (x->json)
			j_str(x->out, cmds[i].name, cmds[i].usage);
		else
			out_printf(x->out, "%s\n", cmds[i].usage);
	}
	if (x->json)
		j_obj_end(x->out);
	else
		out_puts(x->out, "(--json before the command: JSON output)\n");
	return 0;
}

int ctl_run(struct ctl_ctx *x, int argc, char **argv)
{
	if (argc < 1)
		return fail(x, "empty request (try: help)");
	const char *name = argv[0];
	/* The names the Linux tools accept too. */
	if (!strcmp(name, "address") || !strcmp(name, "a"))
		name = "addr";
	else if (!strcmp(name, "neighbour") || !strcmp(name, "neighbor"))
		name = "neigh";
	else if (!strcmp(name, "r"))
		name = "route";
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, name)) {
			int r = cmds[i].fn(x, argc, argv);
			if (r < 0)
				out_reset(x->out);
			return r;
		}
	return fail(x, "unknown command '%.64s' (try: help)", argv[0]);
}
