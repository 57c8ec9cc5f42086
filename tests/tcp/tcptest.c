#include "tcptest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stack.h"
#include "wire/checksum.h"
#include "wire/eth.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

const struct topts TOPTS_LINUX = { .mss = 1460, .wscale = 7, .sack_perm = true, .ts = true };
const struct topts TOPTS_NONE = { .mss = 0, .wscale = -1, .sack_perm = false, .ts = false };

const char *const tcp_state_names[] = {
	"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
	"CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
};

void tt_init(struct tt *t, uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	sim_init(&t->sim, 1, seed);
	t->s = t->sim.st[0];
	if (peer_attach(&t->p, t->s, t->sim.clk, "eth0", STACK_IP "/24", false) < 0)
		abort();
	t->sip = ip4(STACK_IP).s_addr;
	t->pip = ip4(PEER_IP).s_addr;
	t->pport = 40000;
	t->fd = t->lfd = -1;
	t->iss = 0x10000000u;
	t->win = 65535;
	t->ts_base = 0x50000000u;
	t->snd_ws = 0;
	t->rcv_ws = 0;
}

void tt_free(struct tt *t)
{
	sim_free(&t->sim); /* what the stack sends as it goes is collected... */
	peer_detach(&t->p); /* ...and freed here */
}

uint64_t tt_now(const struct tt *t)
{
	return us_clock_now(t->sim.clk);
}

uint32_t tt_tsval(const struct tt *t)
{
	return t->ts_base + (uint32_t)(tt_now(t) / 1000000u);
}

void tt_run(struct tt *t, uint64_t ns)
{
	uint64_t limit = tt_now(t) + ns;
	for (;;) {
		uint64_t next = us_stack_poll(t->s);
		uint64_t now = tt_now(t);
		if (now >= limit)
			break;
		if (next <= now)
			continue;
		us_clock_set(t->sim.clk, next < limit ? next : limit);
	}
	us_stack_poll(t->s);
}

struct tcp_state *tt_tcp(us_stack *s)
{
	return &s->tcp;
}

/* ---- building segments ---- */

static uint8_t put_syn_opts(uint8_t *p, const struct topts *o, bool ts, uint32_t tsval,
			    uint32_t tsecr)
{
	/* Linux's order: MSS, SACK-permitted + TS (or NOPs), NOP + WS. */
	uint8_t *s = p;
	if (o->mss) {
		p[0] = TCPOPT_MSS;
		p[1] = 4;
		put_be16(p + 2, (uint16_t)o->mss);
		p += 4;
	}
	if (ts) {
		if (o->sack_perm) {
			p[0] = TCPOPT_SACK_PERM;
			p[1] = 2;
		} else {
			p[0] = p[1] = TCPOPT_NOP;
		}
		p[2] = TCPOPT_TIMESTAMP;
		p[3] = 10;
		put_be32(p + 4, tsval);
		put_be32(p + 8, tsecr);
		p += 12;
	} else if (o->sack_perm) {
		p[0] = p[1] = TCPOPT_NOP;
		p[2] = TCPOPT_SACK_PERM;
		p[3] = 2;
		p += 4;
	}
	if (o->wscale >= 0) {
		p[0] = TCPOPT_NOP;
		p[1] = TCPOPT_WINDOW;
		p[2] = 3;
		p[3] = (uint8_t)o->wscale;
		p += 4;
	}
	return (uint8_t)(p - s);
}

void tt_send(struct tt *t, const struct tx *x)
{
	static uint8_t frame[ETH_HLEN + 60 + 60 + 65536];
	static uint8_t seg[60 + 65536];
	uint8_t *opts = seg + TCP_HLEN;
	uint8_t optlen = 0;
	bool ts = x->ts == 1 || (x->ts == 0 && (x->syn ? x->syn->ts : t->ts));
	uint32_t tsval = x->ts == 1 ? x->tsval : tt_tsval(t);
	uint32_t tsecr = x->ts == 1 ? x->tsecr : ((x->flags & ACK) ? t->ts_recent : 0);
	if (x->rawopts) {
		memcpy(opts, x->rawopts, x->rawoptlen);
		optlen = x->rawoptlen;
	} else if (x->syn) {
		optlen = put_syn_opts(opts, x->syn, ts, tsval, tsecr);
	} else if (ts) {
		opts[0] = opts[1] = TCPOPT_NOP;
		opts[2] = TCPOPT_TIMESTAMP;
		opts[3] = 10;
		put_be32(opts + 4, tsval);
		put_be32(opts + 8, tsecr);
		optlen = 12;
	}
	while (optlen % 4)
		opts[optlen++] = TCPOPT_EOL;
	struct tcp_repr r = {
		.sport = x->sport ? x->sport : t->pport,
		.dport = x->dport ? x->dport : t->sport,
		.seq = x->seq,
		.ack = x->ack,
		.doff = (uint8_t)(TCP_HLEN + optlen),
		.flags = x->flags,
		.window = x->win_set ? x->win : t->win,
		.urg_ptr = x->urg,
	};
	tcp_emit(seg, &r);
	if (x->len)
		memcpy(seg + TCP_HLEN + optlen, x->data, x->len);
	size_t tlen = TCP_HLEN + optlen + x->len;
	uint32_t saddr = x->saddr ? x->saddr : t->pip;
	tcp_set_checksum(seg, tlen, saddr, t->sip);
	if (x->bad_csum)
		seg[16] ^= 0x5a;
	size_t n = build_ipv4(frame, false, t->p.stack_mac, t->p.mac, saddr, t->sip, IPPROTO_TCP_,
			      0, 0, false, 64, seg, tlen);
	peer_inject(&t->p, frame, n);
}

void tt_seg(struct tt *t, uint8_t flags, uint32_t seq, uint32_t ack, const void *data, size_t len)
{
	TT_SEND(t, .flags = flags, .seq = seq, .ack = ack, .data = data, .len = len);
}

void tt_data(struct tt *t, const void *data, size_t len)
{
	tt_seg(t, PSH | ACK, t->snd_nxt, t->rcv_nxt, data, len);
	t->snd_nxt += (uint32_t)len;
}

void tt_ack(struct tt *t)
{
	tt_seg(t, ACK, t->snd_nxt, t->rcv_nxt, NULL, 0);
}

void tt_ackw(struct tt *t, uint16_t win)
{
	TT_SEND(t, .flags = ACK, .seq = t->snd_nxt, .ack = t->rcv_nxt, .win = win, .win_set = true);
}

void tt_fin(struct tt *t)
{
	tt_seg(t, FIN | ACK, t->snd_nxt, t->rcv_nxt, NULL, 0);
	t->snd_nxt++;
}

void tt_send_icmp(struct tt *t, uint8_t type, uint8_t code, uint32_t rest, const struct tseg *g,
		  uint32_t from)
{
	uint8_t icmp[8 + sizeof(g->quote)];
	memcpy(icmp + 8, g->quote, g->quote_len);
	struct icmp_repr r = { .type = type, .code = code, .rest = rest };
	icmp_emit(icmp, 8 + g->quote_len, &r);
	uint8_t frame[ETH_HLEN + 20 + sizeof(icmp)];
	size_t n = build_ipv4(frame, false, t->p.stack_mac, t->p.mac, from ? from : t->pip, t->sip,
			      IPPROTO_ICMP_, 0, 0, false, 64, icmp, 8 + g->quote_len);
	peer_inject(&t->p, frame, n);
}

/* ---- popping ---- */

static bool parse_tcp_frame(struct tt *t, const struct frame *f, struct tseg *g)
{
	size_t iplen;
	const uint8_t *ipb = frame_ip(&t->p, f, &iplen);
	if (!ipb || get_be16(f->data + 12) != ETH_P_IP)
		return false;
	struct ip_repr ip;
	if (ipv4_parse(ipb, iplen, &ip) != IPV4_OK || ip.protocol != IPPROTO_TCP_)
		return false;
	const uint8_t *th = ipb + ip.ihl;
	size_t tlen = ip.tot_len - ip.ihl;
	struct tcp_repr r;
	int err = tcp_parse(th, tlen, ip.saddr, ip.daddr, &r);
	if (err != TCP_OK) {
		fprintf(stderr, "%s: the stack sent a bad TCP segment (error %d)\n", test_current, err);
		test_failures++;
		return false;
	}
	memset(&g->opt, 0, sizeof(g->opt));
	g->time = f->time;
	g->saddr = ip.saddr;
	g->daddr = ip.daddr;
	g->ttl = ip.ttl;
	g->tos = ip.tos;
	g->df = ip.df;
	g->sport = r.sport;
	g->dport = r.dport;
	g->seq = r.seq;
	g->ack = r.ack;
	g->flags = r.flags;
	g->doff = r.doff;
	g->win = r.window;
	g->urg = r.urg_ptr;
	g->check = r.check;
	g->optlen = (uint8_t)(r.doff - TCP_HLEN);
	memcpy(g->optbytes, th + TCP_HLEN, g->optlen);
	tcp_parse_options(th, r.doff, true, &g->opt);
	g->len = tlen - r.doff;
	memcpy(g->data, th + r.doff, g->len);
	g->quote_len = ip.ihl + 8u;
	memcpy(g->quote, ipb, g->quote_len);
	return true;
}

bool tt_pop(struct tt *t, uint64_t max_ns)
{
	uint64_t limit = tt_now(t) + max_ns;
	for (;;) {
		uint64_t now = tt_now(t);
		const struct frame *f = peer_pop(&t->p, limit > now ? limit - now : 0);
		if (!f)
			return false;
		if (f->len >= ETH_HLEN && get_be16(f->data + 12) == ETH_P_ARP) {
			t->other++;
			struct frame copy = *f;
			peer_answer_arp(&t->p, &copy);
			continue;
		}
		if (parse_tcp_frame(t, f, &t->seg)) {
			t->popped++;
			if (t->seg.opt.ts_ok)
				t->ts_recent = t->seg.opt.tsval;
			return true;
		}
		t->other++;
	}
}

int tt_drain(struct tt *t, uint64_t ns)
{
	uint64_t limit = tt_now(t) + ns;
	int n = 0;
	while (tt_now(t) < limit && tt_pop(t, limit - tt_now(t)))
		n++;
	return n;
}

static void flags_str(uint8_t f, char *b)
{
	static const char names[] = "FSRPAUEC";
	int k = 0;
	for (int i = 0; i < 8; i++)
		if (f & (1 << i))
			b[k++] = names[i];
	if (!k)
		b[k++] = '.';
	b[k] = 0;
}

const char *tt_str(const struct tseg *g, char *buf, size_t len)
{
	char fl[9];
	flags_str(g->flags, fl);
	int n = snprintf(buf, len, "[%s] %u:%u seq %u ack %u win %u len %zu urg %u", fl, g->sport,
			 g->dport, g->seq, g->ack, g->win, g->len, g->urg);
	const struct tcp_opts *o = &g->opt;
	if (o->mss_ok && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " mss %u", o->mss);
	if (o->sack_ok && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " sackOK");
	if (o->ts_ok && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " TS %u/%u", o->tsval, o->tsecr);
	if (o->wscale_ok && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " ws %u", o->wscale);
	for (int i = 0; i < o->num_sacks && n > 0 && (size_t)n < len; i++)
		n += snprintf(buf + n, len - (size_t)n, " sack %u-%u", o->sacks[i].start,
			      o->sacks[i].end);
	if (n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " @%.3fs", (double)g->time / 1e9);
	return buf;
}

static void fail_field(const char *file, int line, const char *field, long long got, long long want,
		       bool *ok)
{
	fprintf(stderr, "%s:%d: %s: segment field %s: got %lld, want %lld\n", file, line, test_current,
		field, got, want);
	*ok = false;
}

bool tt_check(struct tt *t, const char *file, int line, const struct texp *e)
{
	const struct tseg *g = &t->seg;
	bool ok = true;
	if (e->has_flags && (g->flags & ~e->flags_ignore) != (e->flags & ~e->flags_ignore)) {
		char a[9], b[9];
		flags_str(g->flags, a);
		flags_str(e->flags, b);
		fprintf(stderr, "%s:%d: %s: segment field flags: got [%s], want [%s]\n", file, line,
			test_current, a, b);
		ok = false;
	}
	if (e->has_seq && g->seq != e->seq)
		fail_field(file, line, "seq", g->seq, e->seq, &ok);
	if (e->has_ack && g->ack != e->ack)
		fail_field(file, line, "ack", g->ack, e->ack, &ok);
	if (e->has_win && g->win != e->win)
		fail_field(file, line, "window", g->win, e->win, &ok);
	if (e->has_len && g->len != e->len)
		fail_field(file, line, "payload length", (long long)g->len, (long long)e->len, &ok);
	if (e->has_mss) {
		int got = g->opt.mss_ok ? g->opt.mss : -1;
		if (got != e->mss)
			fail_field(file, line, "MSS option (-1: none)", got, e->mss, &ok);
	}
	if (e->has_ws) {
		int got = g->opt.wscale_ok ? g->opt.wscale : -1;
		if (got != e->ws)
			fail_field(file, line, "window scale option (-1: none)", got, e->ws, &ok);
	}
	if (e->has_sackok && g->opt.sack_ok != e->sackok)
		fail_field(file, line, "SACK-permitted option", g->opt.sack_ok, e->sackok, &ok);
	if (e->has_ts && g->opt.ts_ok != e->ts)
		fail_field(file, line, "timestamp option present", g->opt.ts_ok, e->ts, &ok);
	if (e->has_tsecr && (!g->opt.ts_ok || g->opt.tsecr != e->tsecr))
		fail_field(file, line, "TSecr", g->opt.ts_ok ? (long long)g->opt.tsecr : -1, e->tsecr,
			   &ok);
	if (e->has_urg && g->urg != e->urg)
		fail_field(file, line, "urgent pointer", g->urg, e->urg, &ok);
	if (e->has_sport && g->sport != e->sport)
		fail_field(file, line, "source port", g->sport, e->sport, &ok);
	if (e->has_dport && g->dport != e->dport)
		fail_field(file, line, "destination port", g->dport, e->dport, &ok);
	if (e->has_nsacks && g->opt.num_sacks != e->nsacks)
		fail_field(file, line, "SACK blocks", g->opt.num_sacks, e->nsacks, &ok);
	if (e->has_sack0) {
		if (!g->opt.num_sacks)
			fail_field(file, line, "SACK blocks", 0, 1, &ok);
		else {
			if (g->opt.sacks[0].start != e->sack0_start)
				fail_field(file, line, "SACK block 0 start", g->opt.sacks[0].start,
					   e->sack0_start, &ok);
			if (g->opt.sacks[0].end != e->sack0_end)
				fail_field(file, line, "SACK block 0 end", g->opt.sacks[0].end,
					   e->sack0_end, &ok);
		}
	}
	if (e->has_doff && g->doff != e->doff)
		fail_field(file, line, "header length", g->doff, e->doff, &ok);
	if (!ok) {
		char b[256];
		fprintf(stderr, "    segment: %s\n", tt_str(g, b, sizeof(b)));
		test_failures++;
	}
	return ok;
}

bool tt_expect(struct tt *t, const char *file, int line, const struct texp *e)
{
	uint64_t within = e->within ? e->within : SEC;
	if (!tt_pop(t, within)) {
		fprintf(stderr, "%s:%d: %s: no segment within %.3f s\n", file, line, test_current,
			(double)within / 1e9);
		test_failures++;
		memset(&t->seg.opt, 0, sizeof(t->seg.opt));
		t->seg.flags = 0;
		t->seg.len = 0;
		return false;
	}
	return tt_check(t, file, line, e);
}

bool tt_wait_ack(struct tt *t, const char *file, int line, uint32_t ack, uint64_t ns)
{
	uint64_t limit = tt_now(t) + ns;
	while (tt_now(t) <= limit && tt_pop(t, limit - tt_now(t))) {
		char b[256];
		if ((t->seg.flags & ACK) && t->seg.ack == ack)
			return true;
		if (t->seg.flags == ACK && t->seg.len == 0 && before(t->seg.ack, ack))
			continue;
		fprintf(stderr, "%s:%d: %s: waiting for ACK %u: unexpected %s\n", file, line,
			test_current, ack, tt_str(&t->seg, b, sizeof(b)));
		test_failures++;
		return false;
	}
	fprintf(stderr, "%s:%d: %s: no ACK of %u within %.3f s\n", file, line, test_current, ack,
		(double)ns / 1e9);
	test_failures++;
	return false;
}

bool tt_expect_none(struct tt *t, const char *file, int line, uint64_t ns)
{
	if (tt_pop(t, ns)) {
		char b[256];
		fprintf(stderr, "%s:%d: %s: unexpected segment %s\n", file, line, test_current,
			tt_str(&t->seg, b, sizeof(b)));
		test_failures++;
		return false;
	}
	return true;
}

/* ---- handshakes ---- */

int tt_listen(struct tt *t, uint16_t port, int backlog)
{
	int fd = us_socket(t->s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = sin4(STACK_IP, port);
	if (us_bind(t->s, fd, SA(&a), sizeof(a)) < 0 || us_listen(t->s, fd, backlog) < 0) {
		us_close(t->s, fd);
		return -1;
	}
	t->lfd = fd;
	t->sport = port;
	return fd;
}

bool tt_loopback_conn(struct tt *t, uint16_t port, int *client, int *server)
{
	us_stack *s = t->s;
	int l = us_socket(s, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = sin4("127.0.0.1", port);
	if (l < 0 || us_bind(s, l, SA(&a), sizeof(a)) < 0 || us_listen(s, l, 4) < 0)
		return false;
	t->lfd = l;
	*client = us_socket(s, AF_INET, SOCK_STREAM, 0);
	if (*client < 0 || us_connect(s, *client, SA(&a), sizeof(a)) < 0)
		return false;
	*server = us_accept(s, l, NULL, NULL);
	return *server >= 0;
}

static void record_syn_opts(struct tt *t, const struct topts *o)
{
	t->synopts = *o;
	t->ts = o->ts && t->seg.opt.ts_ok;
	bool ws = o->wscale >= 0 && t->seg.opt.wscale_ok;
	t->snd_ws = ws ? o->wscale : 0;
	t->rcv_ws = ws ? t->seg.opt.wscale : 0;
	t->mss = t->seg.opt.mss_ok ? t->seg.opt.mss : 0;
	t->irs = t->seg.seq;
	t->rcv_nxt = t->seg.seq + 1;
}

bool tt_passive_open(struct tt *t, const struct topts *o)
{
	t->snd_nxt = t->iss;
	TT_SEND(t, .flags = SYN, .seq = t->iss, .syn = o, .win = 65535, .win_set = true);
	t->snd_nxt = t->iss + 1;
	if (!EXPECT_TCP(t, E_FLAGS(SYN | ACK), E_ACK(t->iss + 1)))
		return false;
	record_syn_opts(t, o);
	tt_ack(t);
	t->fd = us_accept4(t->s, t->lfd, NULL, NULL, SOCK_NONBLOCK);
	if (t->fd < 0) {
		fprintf(stderr, "%s: accept after the handshake: %s\n", test_current, errname(errno));
		test_failures++;
		return false;
	}
	return true;
}

bool tt_connect_syn(struct tt *t)
{
	t->fd = us_socket(t->s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = sin4(PEER_IP, t->pport);
	errno = 0;
	if (us_connect(t->s, t->fd, SA(&a), sizeof(a)) != -1 || errno != EINPROGRESS) {
		fprintf(stderr, "%s: connect: want EINPROGRESS, got %s\n", test_current, errname(errno));
		test_failures++;
		return false;
	}
	if (!EXPECT_TCP(t, E_FLAGS(SYN), E_ACK(0), E_DPORT(t->pport)))
		return false;
	t->sport = t->seg.sport;
	t->irs = t->seg.seq;
	t->rcv_nxt = t->seg.seq + 1;
	return true;
}

bool tt_active_open(struct tt *t, const struct topts *o)
{
	if (!tt_connect_syn(t))
		return false;
	struct tseg syn = t->seg;
	t->snd_nxt = t->iss;
	uint32_t tsecr = syn.opt.ts_ok ? syn.opt.tsval : 0;
	TT_SEND(t, .flags = SYN | ACK, .seq = t->iss, .ack = t->rcv_nxt, .syn = o, .win = 65535,
		.win_set = true, .ts = o->ts ? 1 : -1, .tsval = tt_tsval(t), .tsecr = tsecr);
	t->snd_nxt = t->iss + 1;
	t->synopts = *o;
	t->ts = o->ts && syn.opt.ts_ok;
	bool ws = o->wscale >= 0 && syn.opt.wscale_ok;
	t->snd_ws = ws ? o->wscale : 0;
	t->rcv_ws = ws ? syn.opt.wscale : 0;
	t->mss = syn.opt.mss_ok ? syn.opt.mss : 0;
	return EXPECT_TCP(t, E_FLAGS(ACK), E_SEQ(t->irs + 1), E_ACK(t->iss + 1), E_LEN(0));
}

int tt_sock_state(us_stack *s, int fd)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);
	if (us_getsockopt(s, fd, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0)
		return -1;
	return ti.tcpi_state;
}

int tt_state(struct tt *t, int fd)
{
	return tt_sock_state(t->s, fd);
}

struct tcp_info tt_info(struct tt *t, int fd)
{
	struct tcp_info ti;
	memset(&ti, 0, sizeof(ti));
	socklen_t l = sizeof(ti);
	us_getsockopt(t->s, fd, IPPROTO_TCP, TCP_INFO, &ti, &l);
	return ti;
}

struct find_arg {
	uint16_t lport, rport;
	int state;
	int want_state;
	int count;
};

static void find_fn(void *arg, struct sock *sk)
{
	struct find_arg *a = arg;
	if (sk->type != SOCK_STREAM)
		return;
	if (a->want_state >= 0) {
		if (sk->state == a->want_state)
			a->count++;
		return;
	}
	if (sk->num == a->lport && sk->dport == a->rport)
		a->state = sk->state;
}

int tt_find_state(us_stack *s, uint16_t lport, uint16_t rport)
{
	struct find_arg a = { .lport = lport, .rport = rport, .state = -1, .want_state = -1 };
	sock_foreach(s, find_fn, &a);
	return a.state;
}

int tt_count_state(us_stack *s, int state)
{
	struct find_arg a = { .state = -1, .want_state = state };
	sock_foreach(s, find_fn, &a);
	return a.count;
}

long tt_read(struct tt *t, int fd, void *buf, size_t len)
{
	size_t got = 0;
	for (;;) {
		ssize_t n = us_recv(t->s, fd, (uint8_t *)buf + got, len - got, MSG_DONTWAIT);
		if (n > 0) {
			got += (size_t)n;
			if (got == len)
				return (long)got;
			continue;
		}
		if (n == 0 || got)
			return (long)got;
		return -errno;
	}
}

void pat_fill(uint8_t *buf, size_t len, uint64_t seed, uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pat(seed, off + i);
}
