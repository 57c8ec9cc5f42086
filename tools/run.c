/* ustack run: a host (or router) on TAP/TUN devices until SIGINT/SIGTERM.
 *
 *   ustack run --tap NAME=ADDR/PREFIX [--tap ...] [--tun NAME=ADDR/PREFIX]
 *              [--route PREFIX,GATEWAY ...] [--forward] [--mtu N]
 *              [--impair DEV:loss=1%,delay=10ms,...] [--serve echo:7,http:80,...]
 *              [--root DIR]
 *
 * Prints one line starting with "ready" once every device is up, serves,
 * and on a signal prints its counters and exits 0. */
#include <getopt.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "cli.h"
#include "serve.h"

static const char run_usage[] =
	"usage: ustack run --tap NAME=ADDR/PREFIX [--tap ...] [--tun NAME=ADDR/PREFIX] "
	"[--route PREFIX,GATEWAY ...] [--forward] [--mtu N] [--impair DEV:SPEC ...] [--sysctl KEY=VALUE ...] "
	"[--serve echo:7,discard:9,chargen:19,http:80,udp-echo:7,udp-discard:9] [--root DIR] "
	/* capture and control socket (tools/ctl.c) */
	"[--pcap FILE|- [--filter EXPR] [--pcap-dev DEV|any] [--pcap-rotate SIZE [--pcap-files N]] "
	"[--snaplen N] [--pcapng]] [--ctl PATH]";

/* The signal handler's way to the stack (the tool's, not the library's). */
static us_stack *run_stack;
static volatile sig_atomic_t run_quit;

static void on_signal(int sig)
{
	(void)sig;
	run_quit = 1;
	if (run_stack)
		us_stack_stop(run_stack);
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_NET_LONGOPTS,
		{ "forward", no_argument, 0, CLI_NET_OPT },
		{ "serve", required_argument, 0, 's' },
		{ "root", required_argument, 0, 'R' },
		{ "help", no_argument, 0, 'h' },
		/* capture and control socket: cli_ext_option (tools/ctl.c) */
		{ "pcap", required_argument, 0, 0x100 },
		{ "filter", required_argument, 0, 0x101 },
		{ "pcap-dev", required_argument, 0, 0x102 },
		{ "pcap-rotate", required_argument, 0, 0x103 },
		{ "pcap-files", required_argument, 0, 0x104 },
		{ "snaplen", required_argument, 0, 0x105 },
		{ "pcapng", no_argument, 0, 0x106 },
		{ "ctl", required_argument, 0, 0x107 },
		{ 0, 0, 0, 0 },
	};
	struct cli_net net;
	memset(&net, 0, sizeof(net));
	struct serve_cfg serve;
	memset(&serve, 0, sizeof(serve));
	struct cli_ext ext;
	memset(&ext, 0, sizeof(ext));
	optind = 1;
	opterr = 0;
	int c, li = 0;
	while ((c = getopt_long(argc, argv, "", opts, &li)) != -1) {
		if (c == 'h') {
			printf("%s\n", run_usage);
			return 0;
		}
		if (c == '?' || c == ':') {
			fprintf(stderr, "%s\n", run_usage);
			return 2;
		}
		if (c == 's') {
			if (serve_parse(&serve, optarg) < 0)
				return 2;
			continue;
		}
		if (c == 'R') {
			struct stat st;
			if (stat(optarg, &st) < 0 || !S_ISDIR(st.st_mode))
				return cli_error("--root '%s': not a directory", optarg), 2;
			serve.root = optarg;
			continue;
		}
		/* Device options, then capture/control options, by name. */
		const char *name = opts[li].name;
		int r = cli_net_option(&net, name, optarg ? optarg : "");
		if (r == 0)
			r = cli_ext_option(&ext, name, optarg ? optarg : "");
		if (r < 0)
			return 2;
	}
	if (optind < argc || net.ndevs == 0) {
		fprintf(stderr, "%s\n", run_usage);
		return 2;
	}

	us_stack *s = us_stack_new(NULL);
	if (!s)
		return cli_error("cannot create a stack: out of memory");
	if (cli_ext_start(&ext, s, &net) < 0 || cli_net_setup(&net, s) < 0) {
		us_stack_free(s);
		return 1;
	}
	int epfd = us_epoll_create(s);
	if (epfd < 0 || serve_open(s, &serve, epfd) < 0) {
		us_stack_free(s);
		return 1;
	}
	run_stack = s;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	printf("ready");
	for (int i = 0; i < net.ndevs; i++) {
		uint8_t mac[6] = { 0 };
		us_dev_get_mac(s, net.devs[i].ifindex, mac);
		printf(" %s=%s/%d", net.devs[i].name, inet_ntoa(net.devs[i].addr), net.devs[i].prefix);
		if (net.devs[i].tap)
			printf(",%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
			       mac[5]);
	}
	printf("%s\n", net.forward ? " forwarding" : "");
	fflush(stdout);

	/* The services' loop: us_epoll_wait runs the stack while it waits. */
	struct epoll_event evs[64];
	while (!run_quit) {
		int n = us_epoll_wait(s, epfd, evs, 64, serve.nconns ? 1000 : -1);
		for (int i = 0; i < n; i++)
			serve_event(s, &serve, epfd, &evs[i]);
		serve_sweep(s, &serve, epfd);
	}

	run_stack = NULL;
	cli_ext_stop(&ext, s);
	serve_close(s, &serve);
	us_close(s, epfd);
	cli_print_counters(s, stdout);
	fflush(stdout);
	us_stack_free(s);
	return 0;
}
