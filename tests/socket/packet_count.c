/*
 * sock_packet_count: a helper of interop_packet.sh (not a test by itself).
 * Attaches a stack to a TAP, opens an AF_PACKET SOCK_RAW ETH_P_ALL socket
 * bound to it (before the device comes up, so that it sees every frame),
 * gives the device an address, prints "ready MAC", and counts the frames
 * the socket sees until SIGINT/SIGTERM (or a time limit), then prints
 *
 *   frames N in I out O arp A echo_req Q echo_rep R other X
 *
 * where "out" are the frames with sll_pkttype PACKET_OUTGOING.
 *
 *   sock_packet_count TAP ADDR/PREFIX [SECONDS]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ustack/socket.h"

static us_stack *stack;
static volatile sig_atomic_t quit;

static void on_signal(int sig)
{
	(void)sig;
	quit = 1;
	if (stack)
		us_stack_stop(stack);
}

struct counts {
	unsigned long frames, in, out, arp, echo_req, echo_rep, other;
};

static void classify(struct counts *c, const uint8_t *f, ssize_t n, const struct sockaddr_ll *ll)
{
	c->frames++;
	if (ll->sll_pkttype == PACKET_OUTGOING)
		c->out++;
	else
		c->in++;
	uint16_t type = n >= 14 ? (uint16_t)(f[12] << 8 | f[13]) : 0;
	if (type == ETH_P_ARP) {
		c->arp++;
	} else if (type == ETH_P_IP && n >= 14 + 20 + 8 && f[14 + 9] == IPPROTO_ICMP &&
		   ((f[14 + 6] & 0x1f) | f[14 + 7]) == 0) { /* offset 0 */
		size_t ihl = (size_t)(f[14] & 0x0f) * 4;
		uint8_t t = n >= (ssize_t)(14 + ihl + 1) ? f[14 + ihl] : 0xff;
		if (t == 8)
			c->echo_req++;
		else if (t == 0)
			c->echo_rep++;
		else
			c->other++;
	} else {
		c->other++;
	}
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s TAP ADDR/PREFIX [SECONDS]\n", argv[0]);
		return 2;
	}
	double limit_s = argc == 4 ? atof(argv[3]) : 30.0;
	struct in_addr addr;
	int plen;
	if (us_parse_prefix(argv[2], &addr, &plen) < 0) {
		fprintf(stderr, "bad address %s\n", argv[2]);
		return 2;
	}
	stack = us_stack_new(NULL);
	if (!stack)
		return 1;
	int ifindex = us_dev_tap(stack, argv[1]);
	if (ifindex < 0) {
		fprintf(stderr, "us_dev_tap %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	int p = us_socket(stack, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = ifindex };
	if (p < 0 || us_bind(stack, p, (struct sockaddr *)&ll, sizeof(ll)) < 0) {
		fprintf(stderr, "packet socket: %s\n", strerror(errno));
		return 1;
	}
	if (us_dev_set_up(stack, ifindex, true) < 0 || us_addr_add(stack, ifindex, addr, plen) < 0) {
		fprintf(stderr, "device setup: %s\n", strerror(errno));
		return 1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	uint8_t mac[6];
	us_dev_get_mac(stack, ifindex, mac);
	printf("ready %02x:%02x:%02x:%02x:%02x:%02x\n", mac[0], mac[1], mac[2], mac[3], mac[4],
	       mac[5]);
	fflush(stdout);

	int ep = us_epoll_create(stack);
	struct epoll_event ev = { .events = EPOLLIN };
	us_epoll_ctl(stack, ep, EPOLL_CTL_ADD, p, &ev);
	struct counts c = { 0 };
	static uint8_t buf[65536];
	uint64_t end = us_stack_now(stack) + (uint64_t)(limit_s * 1e9);
	for (;;) {
		struct epoll_event out;
		/* The wait runs the stack (answers ARP and pings) meanwhile. */
		int n = us_epoll_wait(stack, ep, &out, 1, 100);
		for (;;) {
			struct sockaddr_ll from;
			socklen_t fl = sizeof(from);
			ssize_t r = us_recvfrom(stack, p, buf, sizeof(buf), MSG_DONTWAIT,
						(struct sockaddr *)&from, &fl);
			if (r < 0)
				break;
			classify(&c, buf, r, &from);
		}
		if (quit || us_stack_now(stack) >= end)
			break;
		(void)n;
	}
	printf("frames %lu in %lu out %lu arp %lu echo_req %lu echo_rep %lu other %lu\n", c.frames,
	       c.in, c.out, c.arp, c.echo_req, c.echo_rep, c.other);
	fflush(stdout);
	us_close(stack, ep);
	us_close(stack, p);
	us_stack_free(stack);
	return 0;
}
