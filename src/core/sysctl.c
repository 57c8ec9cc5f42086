/*
 * sysctl: the stack's knobs under Linux's names (Documentation/networking/
 * ip-sysctl.rst), over fields of struct us_stack.
 *
 * Adding a knob: one line in the table below, kept in name order.
 *  - a plain number in a field: SC_FIELD(name, type, field, min, max),
 *    type one of SC_BOOL (bool), SC_U8, SC_U32, SC_INT, SC_U64; field is
 *    the member path inside struct us_stack (e.g. ip.default_ttl);
 *  - a field kept in other units than shown (Linux shows seconds, the
 *    stack keeps ms): SC_SCALED(name, SC_U32, field, min, max, 1000);
 *  - anything else (several numbers, a name, side effects): SC_CUSTOM
 *    with get/set functions (see ip_local_port_range).
 * tcp_rmem/tcp_wmem are three numbers and tcp_congestion_control a name:
 * SC_CUSTOM, like ip_local_port_range.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack.h"
#include "sysctl.h"
#include "../socket/mt.h"
#include "ustack/sysctl.h"

#define SF(field) offsetof(struct us_stack, field)

#define SC_FIELD(n, t, f, lo, hi) { n, t, SF(f), lo, hi, 1, NULL, NULL }
#define SC_SCALED(n, t, f, lo, hi, scale) { n, t, SF(f), lo, hi, scale, NULL, NULL }
#define SC_CUSTOM(n, get, set) { n, SC_CUSTOM, 0, 0, 0, 1, get, set }

/* net.ipv4.ip_local_port_range: "LOW\tHIGH", 1 <= LOW <= HIGH <= 65535. */
static int port_range_get(struct us_stack *s, char *buf, size_t len)
{
	return snprintf(buf, len, "%d\t%d", s->socks.ephemeral_lo, s->socks.ephemeral_hi);
}

static int port_range_set(struct us_stack *s, const char *val, bool check_only, char *err,
			  size_t errlen)
{
	char *end;
	long lo = strtol(val, &end, 10);
	if (end == val)
		goto bad;
	const char *p = end;
	long hi = strtol(p, &end, 10);
	if (end == p)
		goto bad;
	while (*end == ' ' || *end == '\t' || *end == '\n')
		end++;
	if (*end || lo < 1 || hi > 65535 || lo > hi)
		goto bad;
	if (check_only)
		return 0;
	s->socks.ephemeral_lo = (int)lo;
	s->socks.ephemeral_hi = (int)hi;
	return 0;
bad:
	snprintf(err, errlen, "expected two ports LOW HIGH with 1 <= LOW <= HIGH <= 65535");
	return -EINVAL;
}

/* net.ipv4.tcp_rmem / tcp_wmem: "MIN\tDEFAULT\tMAX" bytes. */
static int mem3_get(const int *v, char *buf, size_t len)
{
	return snprintf(buf, len, "%d\t%d\t%d", v[0], v[1], v[2]);
}

static int mem3_set(int *v, const char *val, bool check_only, char *err, size_t errlen)
{
	long n[3];
	const char *p = val;
	for (int i = 0; i < 3; i++) {
		char *end;
		n[i] = strtol(p, &end, 10);
		if (end == p)
			goto bad;
		p = end;
	}
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (*p || n[0] < 1 || n[0] > n[1] || n[1] > n[2] || n[2] > INT32_MAX / 2)
		goto bad;
	if (!check_only)
		for (int i = 0; i < 3; i++)
			v[i] = (int)n[i];
	return 0;
bad:
	snprintf(err, errlen, "expected three sizes MIN DEFAULT MAX with 1 <= MIN <= DEFAULT <= MAX");
	return -EINVAL;
}

static int tcp_rmem_get(struct us_stack *s, char *buf, size_t len)
{
	return mem3_get(s->tcp.rmem, buf, len);
}

static int tcp_rmem_set(struct us_stack *s, const char *val, bool check_only, char *err, size_t errlen)
{
	return mem3_set(s->tcp.rmem, val, check_only, err, errlen);
}

static int tcp_wmem_get(struct us_stack *s, char *buf, size_t len)
{
	return mem3_get(s->tcp.wmem, buf, len);
}

static int tcp_wmem_set(struct us_stack *s, const char *val, bool check_only, char *err, size_t errlen)
{
	return mem3_set(s->tcp.wmem, val, check_only, err, errlen);
}

/* net.ipv4.tcp_congestion_control: the default for new sockets. */
static int tcp_cc_get(struct us_stack *s, char *buf, size_t len)
{
	return snprintf(buf, len, "%s", s->tcp.cong_default);
}

static int tcp_cc_set(struct us_stack *s, const char *val, bool check_only, char *err, size_t errlen)
{
	char name[sizeof(s->tcp.cong_default)];
	size_t n = strcspn(val, " \t\n");
	if (n == 0 || n >= sizeof(name) || val[n + strspn(val + n, " \t\n")]) {
		snprintf(err, errlen, "expected the name of a congestion control algorithm");
		return -EINVAL;
	}
	memcpy(name, val, n);
	name[n] = 0;
	if (!tcp_cong_find(name)) {
		snprintf(err, errlen, "no congestion control algorithm '%s'", name);
		return -ENOENT;
	}
	if (!check_only)
		strcpy(s->tcp.cong_default, name);
	return 0;
}

static int tcp_cc_avail_get(struct us_stack *s, char *buf, size_t len)
{
	(void)s;
	return tcp_cong_list_names(buf, len);
}

static const struct sysctl_entry sysctl_table[] = {
	SC_FIELD("net.core.rmem_default", SC_INT, socks.default_rcvbuf, SOCK_MIN_RCVBUF / 2, INT32_MAX),
	SC_FIELD("net.core.rmem_max", SC_INT, socks.max_rcvbuf, SOCK_MIN_RCVBUF / 2, INT32_MAX),
	SC_FIELD("net.core.somaxconn", SC_U32, tcp.somaxconn, 0, 65535),
	SC_FIELD("net.core.wmem_default", SC_INT, socks.default_sndbuf, SOCK_MIN_SNDBUF / 2, INT32_MAX),
	SC_FIELD("net.core.wmem_max", SC_INT, socks.max_sndbuf, SOCK_MIN_SNDBUF / 2, INT32_MAX),
	SC_FIELD("net.ipv4.conf.all.accept_source_route", SC_BOOL, ip.accept_source_route, 0, 1),
	SC_FIELD("net.ipv4.conf.all.forwarding", SC_BOOL, ip.forwarding, 0, 1),
	SC_FIELD("net.ipv4.icmp_echo_ignore_all", SC_BOOL, icmp.echo_ignore_all, 0, 1),
	SC_FIELD("net.ipv4.icmp_echo_ignore_broadcasts", SC_BOOL, icmp.echo_ignore_broadcasts, 0, 1),
	SC_FIELD("net.ipv4.icmp_msgs_burst", SC_U32, icmp.msgs_burst, 0, INT32_MAX),
	SC_FIELD("net.ipv4.icmp_msgs_per_sec", SC_U32, icmp.msgs_per_sec, 0, INT32_MAX),
	SC_FIELD("net.ipv4.icmp_ratelimit", SC_U32, icmp.ratelimit_ms, 0, INT32_MAX),
	SC_FIELD("net.ipv4.icmp_ratemask", SC_U32, icmp.ratemask, 0, INT32_MAX),
	SC_FIELD("net.ipv4.ip_default_ttl", SC_U8, ip.default_ttl, 1, 255),
	SC_FIELD("net.ipv4.ip_forward", SC_BOOL, ip.forwarding, 0, 1),
	SC_CUSTOM("net.ipv4.ip_local_port_range", port_range_get, port_range_set),
	SC_FIELD("net.ipv4.ipfrag_high_thresh", SC_U64, ip.frag.high_thresh, 0, INT32_MAX),
	SC_FIELD("net.ipv4.ipfrag_max_frags", SC_U32, ip.frag.max_frags, 1, 65535),
	SC_SCALED("net.ipv4.ipfrag_time", SC_U32, ip.frag.timeout_ms, 1, 3600, 1000),
	SC_FIELD("net.ipv4.neigh.default.base_reachable_time_ms", SC_U32, arp_tbl.p.base_reachable_ms, 1, INT32_MAX),
	SC_SCALED("net.ipv4.neigh.default.delay_first_probe_time", SC_U32, arp_tbl.p.delay_probe_ms, 0, 2147483, 1000),
	SC_SCALED("net.ipv4.neigh.default.gc_stale_time", SC_U32, arp_tbl.p.gc_stale_ms, 0, 2147483, 1000),
	SC_FIELD("net.ipv4.neigh.default.gc_thresh1", SC_U32, arp_tbl.p.gc_thresh1, 0, INT32_MAX),
	SC_FIELD("net.ipv4.neigh.default.gc_thresh3", SC_U32, arp_tbl.p.gc_thresh3, 1, INT32_MAX),
	SC_FIELD("net.ipv4.neigh.default.mcast_solicit", SC_U8, arp_tbl.p.mcast_probes, 0, 255),
	SC_FIELD("net.ipv4.neigh.default.retrans_time_ms", SC_U32, arp_tbl.p.retrans_ms, 1, INT32_MAX),
	SC_FIELD("net.ipv4.neigh.default.ucast_solicit", SC_U8, arp_tbl.p.ucast_probes, 0, 255),
	SC_FIELD("net.ipv4.neigh.default.unres_qlen_bytes", SC_U32, arp_tbl.p.unres_qlen_bytes, 0, INT32_MAX),
	/* ustack's own: one ACK per poll round (see tcp_ack_snd_check). */
	SC_FIELD("net.ipv4.tcp_ack_coalesce", SC_BOOL, tcp.ack_coalesce, 0, 1),
	SC_CUSTOM("net.ipv4.tcp_available_congestion_control", tcp_cc_avail_get, NULL),
	SC_FIELD("net.ipv4.tcp_challenge_ack_limit", SC_U32, tcp.challenge_ack_limit, 0, INT32_MAX),
	SC_CUSTOM("net.ipv4.tcp_congestion_control", tcp_cc_get, tcp_cc_set),
	SC_SCALED("net.ipv4.tcp_fin_timeout", SC_U32, tcp.fin_timeout_ms, 1, 2147483, 1000),
	SC_FIELD("net.ipv4.tcp_invalid_ratelimit", SC_U32, tcp.invalid_ratelimit_ms, 0, INT32_MAX),
	SC_FIELD("net.ipv4.tcp_keepalive_intvl", SC_INT, tcp.keepalive_intvl_s, 1, 32767),
	SC_FIELD("net.ipv4.tcp_keepalive_probes", SC_INT, tcp.keepalive_probes, 1, 127),
	SC_FIELD("net.ipv4.tcp_keepalive_time", SC_INT, tcp.keepalive_time_s, 1, 32767),
	SC_FIELD("net.ipv4.tcp_max_orphans", SC_U32, tcp.max_orphans, 0, INT32_MAX),
	SC_FIELD("net.ipv4.tcp_max_syn_backlog", SC_U32, tcp.max_syn_backlog, 1, INT32_MAX),
	SC_FIELD("net.ipv4.tcp_max_tw_buckets", SC_U32, tcp.max_tw_buckets, 0, INT32_MAX),
	SC_FIELD("net.ipv4.tcp_orphan_retries", SC_INT, tcp.orphan_retries, 0, 255),
	SC_FIELD("net.ipv4.tcp_retries1", SC_INT, tcp.retries1, 0, 255),
	SC_FIELD("net.ipv4.tcp_retries2", SC_INT, tcp.retries2, 0, 255),
	SC_FIELD("net.ipv4.tcp_rfc1337", SC_BOOL, tcp.rfc1337, 0, 1),
	SC_CUSTOM("net.ipv4.tcp_rmem", tcp_rmem_get, tcp_rmem_set),
	SC_FIELD("net.ipv4.tcp_sack", SC_BOOL, tcp.sack, 0, 1),
	SC_FIELD("net.ipv4.tcp_syn_retries", SC_INT, tcp.syn_retries, 1, 127),
	SC_FIELD("net.ipv4.tcp_synack_retries", SC_INT, tcp.synack_retries, 1, 255),
	SC_FIELD("net.ipv4.tcp_syncookies", SC_BOOL, tcp.syncookies, 0, 1),
	SC_FIELD("net.ipv4.tcp_timestamps", SC_BOOL, tcp.timestamps, 0, 1),
	SC_FIELD("net.ipv4.tcp_window_scaling", SC_BOOL, tcp.window_scaling, 0, 1),
	SC_CUSTOM("net.ipv4.tcp_wmem", tcp_wmem_get, tcp_wmem_set),
};

#define SYSCTL_N (sizeof(sysctl_table) / sizeof(sysctl_table[0]))

const struct sysctl_entry *sysctl_lookup(const char *name)
{
	for (size_t i = 0; i < SYSCTL_N; i++)
		if (!strcmp(sysctl_table[i].name, name))
			return &sysctl_table[i];
	return NULL;
}

const struct sysctl_entry *sysctl_entry_at(size_t i)
{
	return i < SYSCTL_N ? &sysctl_table[i] : NULL;
}

static uint64_t field_get(struct us_stack *s, const struct sysctl_entry *e)
{
	const char *p = (const char *)s + e->off;
	switch (e->type) {
	case SC_BOOL: {
		bool v;
		memcpy(&v, p, sizeof(v));
		return v;
	}
	case SC_U8: {
		uint8_t v;
		memcpy(&v, p, sizeof(v));
		return v;
	}
	case SC_U32: {
		uint32_t v;
		memcpy(&v, p, sizeof(v));
		return v;
	}
	case SC_INT: {
		int v;
		memcpy(&v, p, sizeof(v));
		return (uint64_t)(int64_t)v;
	}
	case SC_U64: {
		uint64_t v;
		memcpy(&v, p, sizeof(v));
		return v;
	}
	default:
		return 0;
	}
}

static void field_set(struct us_stack *s, const struct sysctl_entry *e, int64_t v)
{
	char *p = (char *)s + e->off;
	switch (e->type) {
	case SC_BOOL: {
		bool b = v != 0;
		memcpy(p, &b, sizeof(b));
		break;
	}
	case SC_U8: {
		uint8_t b = (uint8_t)v;
		memcpy(p, &b, sizeof(b));
		break;
	}
	case SC_U32: {
		uint32_t b = (uint32_t)v;
		memcpy(p, &b, sizeof(b));
		break;
	}
	case SC_INT: {
		int b = (int)v;
		memcpy(p, &b, sizeof(b));
		break;
	}
	case SC_U64: {
		uint64_t b = (uint64_t)v;
		memcpy(p, &b, sizeof(b));
		break;
	}
	default:
		break;
	}
}

int sysctl_get(struct us_stack *s, const struct sysctl_entry *e, char *buf, size_t len)
{
	int n;
	if (e->type == SC_CUSTOM) {
		n = e->get(s, buf, len);
	} else {
		uint64_t v = field_get(s, e);
		if (e->type == SC_INT)
			n = snprintf(buf, len, "%" PRId64, (int64_t)v / e->scale);
		else
			n = snprintf(buf, len, "%" PRIu64, v / e->scale);
	}
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

int sysctl_set(struct us_stack *s, const struct sysctl_entry *e, const char *val, bool check_only,
	       char *err, size_t errlen)
{
	if (e->type == SC_CUSTOM) {
		if (!e->set) {
			snprintf(err, errlen, "%s is read-only", e->name);
			return -EPERM;
		}
		return e->set(s, val, check_only, err, errlen);
	}
	while (*val == ' ' || *val == '\t')
		val++;
	char *end;
	errno = 0;
	long long v = strtoll(val, &end, 10);
	bool bad = end == val || errno;
	while (*end == ' ' || *end == '\t' || *end == '\n')
		end++;
	if (bad || *end || v < e->min || v > e->max) {
		if (e->type == SC_BOOL)
			snprintf(err, errlen, "expected 0 or 1");
		else
			snprintf(err, errlen, "expected an integer in %lld..%lld", (long long)e->min,
				 (long long)e->max);
		return -EINVAL;
	}
	if (!check_only)
		field_set(s, e, (int64_t)v * e->scale);
	return 0;
}

int us_sysctl_get(us_stack *s, const char *name, char *buf, size_t len)
{
	if (!s || !name || !buf) {
		errno = EINVAL;
		return -1;
	}
	const struct sysctl_entry *e = sysctl_lookup(name);
	if (!e) {
		errno = ENOENT;
		return -1;
	}
	mt_lock(s);
	int r = sysctl_get(s, e, buf, len);
	mt_unlock(s);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return 0;
}

int us_sysctl_set(us_stack *s, const char *name, const char *value)
{
	if (!s || !name || !value) {
		errno = EINVAL;
		return -1;
	}
	const struct sysctl_entry *e = sysctl_lookup(name);
	if (!e) {
		errno = ENOENT;
		return -1;
	}
	char err[128];
	mt_lock(s);
	int r = sysctl_set(s, e, value, false, err, sizeof(err));
	mt_unlock(s);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return 0;
}

void us_sysctl_foreach(us_stack *s, us_sysctl_fn fn, void *arg)
{
	if (!s || !fn)
		return;
	char buf[256];
	for (size_t i = 0; i < SYSCTL_N; i++) {
		mt_lock(s);
		int r = sysctl_get(s, &sysctl_table[i], buf, sizeof(buf));
		mt_unlock(s);
		if (r == 0)
			fn(arg, sysctl_table[i].name, buf);
	}
}
