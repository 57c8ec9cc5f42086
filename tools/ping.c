/* ustack ping: iputils-style ping from a fresh stack, built on a raw ICMP
 * socket of the public API.
 *
 *   ustack ping [--tap NAME=ADDR/PREFIX ...] [--route ...] [--impair ...]
 *               [-c COUNT] [-s SIZE] [-i INTERVAL] [-W TIMEOUT] DEST
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ustack/socket.h"

static const char ping_usage[] =
	"usage: ustack ping [--tap NAME=ADDR/PREFIX ...] [--tun ...] [--route PREFIX,GW ...] "
	"[--mtu N] [--impair DEV:SPEC] [--sysctl KEY=VALUE] [-c COUNT] [-s SIZE] [-i INTERVAL] [-W TIMEOUT] DEST";

static us_stack *ping_stack;
static volatile sig_atomic_t ping_quit;

static void ping_signal(int sig)
{
	(void)sig;
	ping_quit = 1;
	if (ping_stack)
		us_stack_stop(ping_stack);
}

static uint16_t icmp_cksum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static const char *unreach_text(int type, int code)
{
	if (type == ICMP_TIME_EXCEEDED)
		return "Time to live exceeded";
	if (type != ICMP_DEST_UNREACH)
		return "Unknown ICMP error";
	switch (code) {
	case ICMP_NET_UNREACH: return "Destination Net Unreachable";
	case ICMP_HOST_UNREACH: return "Destination Host Unreachable";
	case ICMP_PROT_UNREACH: return "Destination Protocol Unreachable";
	case ICMP_PORT_UNREACH: return "Destination Port Unreachable";
	case ICMP_FRAG_NEEDED: return "Frag needed";
	default: return "Destination Unreachable";
	}
}

static double parse_seconds(const char *v, bool *ok)
{
	char *end;
	double d = strtod(v, &end);
	*ok = end != v && !*end && isfinite(d) && d >= 0 && d <= 3600;
	return d;
}

int cmd_ping(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_NET_LONGOPTS,
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct cli_net net;
	memset(&net, 0, sizeof(net));
	long count = -1, size = 56;
	double interval = 1.0, linger = 10.0;
	optind = 1;
	opterr = 0;
	int c, li = 0;
	bool ok;
	while ((c = getopt_long(argc, argv, "c:s:i:W:h", opts, &li)) != -1) {
		char *end;
		switch (c) {
		case 'c':
			count = strtol(optarg, &end, 10);
			if (end == optarg || *end || count < 1)
				return cli_error("bad count '%s'", optarg), 2;
			break;
		case 's':
			size = strtol(optarg, &end, 10);
			if (end == optarg || *end || size < 0 || size > 65507)
				return cli_error("bad size '%s' (0..65507)", optarg), 2;
			break;
		case 'i':
			interval = parse_seconds(optarg, &ok);
			if (!ok || interval < 0.001)
				return cli_error("bad interval '%s'", optarg), 2;
			break;
		case 'W':
			linger = parse_seconds(optarg, &ok);
			if (!ok)
				return cli_error("bad timeout '%s'", optarg), 2;
			break;
		case 'h':
			printf("%s\n", ping_usage);
			return 0;
		case CLI_NET_OPT:
			if (cli_net_option(&net, opts[li].name, optarg) < 0)
				return 2;
			break;
		default:
			fprintf(stderr, "%s\n", ping_usage);
			return 2;
		}
	}
	if (optind != argc - 1 || net.ndevs == 0) {
		fprintf(stderr, "%s\n", ping_usage);
		return 2;
	}
	struct sockaddr_in dst = { .sin_family = AF_INET };
	if (inet_pton(AF_INET, argv[optind], &dst.sin_addr) != 1)
		return cli_error("bad destination '%s' (an IPv4 address)", argv[optind]), 2;

	us_stack *s = us_stack_new(NULL);
	if (!s)
		return cli_error("cannot create a stack"), 2;
	if (cli_net_setup(&net, s) < 0) {
		us_stack_free(s);
		return 2;
	}
	int fd = us_socket(s, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (fd < 0) {
		us_stack_free(s);
		return cli_error("socket: %s", strerror(errno)), 2;
	}
	ping_stack = s;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ping_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	uint16_t ident = (uint16_t)(us_stack_now(s) ^ (uint64_t)getpid());
	size_t plen = 8 + (size_t)size;
	uint8_t *pkt = malloc(plen), *rbuf = malloc(65536);
	uint64_t *sent_at = calloc(65536, sizeof(uint64_t));
	uint8_t *seen = calloc(65536, 1);
	if (!pkt || !rbuf || !sent_at || !seen)
		return cli_error("out of memory"), 2;
	for (size_t i = 8; i < plen; i++)
		pkt[i] = (uint8_t)(i - 8);
	printf("PING %s (%s) %ld(%ld) bytes of data.\n", argv[optind], argv[optind], size, size + 28);
	fflush(stdout);

	long sent = 0, received = 0, errors = 0;
	double tmin = 1e18, tmax = 0, tsum = 0, tsum2 = 0;
	uint64_t start = us_stack_now(s), next_send = start;
	uint64_t end_wait = UINT64_MAX;
	while (!ping_quit) {
		uint64_t now = us_stack_now(s);
		if ((count < 0 || sent < count) && now >= next_send) {
			uint16_t seq = (uint16_t)(sent + 1);
			pkt[0] = ICMP_ECHO;
			pkt[1] = 0;
			pkt[2] = pkt[3] = 0;
			pkt[4] = (uint8_t)(ident >> 8);
			pkt[5] = (uint8_t)ident;
			pkt[6] = (uint8_t)(seq >> 8);
			pkt[7] = (uint8_t)seq;
			uint16_t ck = icmp_cksum(pkt, plen);
			pkt[2] = (uint8_t)(ck >> 8);
			pkt[3] = (uint8_t)ck;
			sent_at[seq] = now;
			seen[seq] = 0;
			if (us_sendto(s, fd, pkt, plen, 0, (struct sockaddr *)&dst, sizeof(dst)) < 0)
				printf("ping: sendmsg: %s\n", strerror(errno));
			sent++;
			next_send = now + (uint64_t)(interval * 1e9);
			if (count >= 0 && sent == count)
				end_wait = now + (uint64_t)(linger * 1e9);
		}
		if (count >= 0 && sent == count && (received + errors >= count || now >= end_wait))
			break;
		uint64_t wake = (count < 0 || sent < count) ? next_send : end_wait;
		int timeout = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (us_poll(s, &pfd, 1, timeout) <= 0)
			continue;
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = us_recvfrom(s, fd, rbuf, 65536, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < 20)
			continue;
		size_t ihl = (size_t)(rbuf[0] & 0x0f) * 4;
		if ((size_t)n < ihl + 8)
			continue;
		const uint8_t *ic = rbuf + ihl;
		size_t ilen = (size_t)n - ihl;
		char fromstr[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &from.sin_addr, fromstr, sizeof(fromstr));
		if (ic[0] == ICMP_ECHOREPLY) {
			uint16_t id = (uint16_t)(ic[4] << 8 | ic[5]), seq = (uint16_t)(ic[6] << 8 | ic[7]);
			if (id != ident || from.sin_addr.s_addr != dst.sin_addr.s_addr)
				continue;
			double ms = (double)(us_stack_now(s) - sent_at[seq]) / 1e6;
			bool dup = seen[seq];
			seen[seq] = 1;
			if (!dup) {
				received++;
				tmin = ms < tmin ? ms : tmin;
				tmax = ms > tmax ? ms : tmax;
				tsum += ms;
				tsum2 += ms * ms;
			}
			bool wrong = ilen != plen || memcmp(ic + 8, pkt + 8, plen - 8) != 0;
			printf("%zu bytes from %s: icmp_seq=%u ttl=%u time=%.3f ms%s%s\n", ilen, fromstr, seq,
			       rbuf[8], ms, dup ? " (DUP!)" : "", wrong ? " (wrong data)" : "");
		} else if ((ic[0] == ICMP_DEST_UNREACH || ic[0] == ICMP_TIME_EXCEEDED) &&
			   ilen >= 8 + 20 + 8) {
			const uint8_t *inner = ic + 8;
			size_t iihl = (size_t)(inner[0] & 0x0f) * 4;
			if (ilen < 8 + iihl + 8 || inner[9] != IPPROTO_ICMP)
				continue;
			const uint8_t *iic = inner + iihl;
			if ((uint16_t)(iic[4] << 8 | iic[5]) != ident)
				continue;
			errors++;
			printf("From %s icmp_seq=%u %s\n", fromstr, (unsigned)(iic[6] << 8 | iic[7]),
			       unreach_text(ic[0], ic[1]));
		}
		fflush(stdout);
	}
	double total_ms = (double)(us_stack_now(s) - start) / 1e6;
	printf("\n--- %s ping statistics ---\n", argv[optind]);
	printf("%ld packets transmitted, %ld received", sent, received);
	if (errors)
		printf(", +%ld errors", errors);
	printf(", %ld%% packet loss, time %.0fms\n", sent ? (sent - received) * 100 / sent : 0, total_ms);
	if (received) {
		double avg = tsum / (double)received;
		double mdev = sqrt(fmax(0, tsum2 / (double)received - avg * avg));
		printf("rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", tmin, avg, tmax, mdev);
	}
	fflush(stdout);
	ping_stack = NULL;
	free(pkt);
	free(rbuf);
	free(sent_at);
	free(seen);
	us_close(s, fd);
	us_stack_free(s);
	return received ? 0 : 1;
}
