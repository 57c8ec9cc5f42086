/* Shared pieces of the ustack command: device options (--tap, --tun,
 * --route, --forward, --mtu, --impair) and building a stack from them. */
#ifndef USTACK_CLI_H
#define USTACK_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#include "ustack/ustack.h"

#define CLI_MAX_DEVS 16
#define CLI_MAX_ROUTES 64

struct cli_dev {
	char name[16];
	bool tap;            /* else tun */
	struct in_addr addr;
	int prefix;
	int ifindex;
};

struct cli_route {
	struct in_addr dst, gw;
	int prefix;
};

struct cli_impair {
	char dev[16];
	struct us_impair imp;
};

struct cli_sysctl {
	char key[96];
	char value[64];
};
#define CLI_MAX_SYSCTLS 32

struct cli_net {
	struct cli_dev devs[CLI_MAX_DEVS];
	int ndevs;
	struct cli_route routes[CLI_MAX_ROUTES];
	int nroutes;
	struct cli_impair impairs[CLI_MAX_DEVS];
	int nimpairs;
	bool forward;
	unsigned mtu;        /* 0: default */
	struct cli_sysctl sysctls[CLI_MAX_SYSCTLS]; /* --sysctl KEY=VALUE */
	int nsysctls;
};

/* The device options in a getopt_long table: each returns CLI_NET_OPT, and
 * the table entry's name goes to cli_net_option(). */
#define CLI_NET_OPT 0x200
#define CLI_NET_LONGOPTS                                           \
	{ "tap", required_argument, 0, CLI_NET_OPT },              \
	{ "tun", required_argument, 0, CLI_NET_OPT },              \
	{ "route", required_argument, 0, CLI_NET_OPT },            \
	{ "mtu", required_argument, 0, CLI_NET_OPT },              \
	{ "impair", required_argument, 0, CLI_NET_OPT },           \
	{ "sysctl", required_argument, 0, CLI_NET_OPT }

/* Parses one device option (opt is the long name without dashes). Returns
 * 1 if the option was a device option, 0 if not, -1 on a bad value (with
 * a one-line message printed). */
int cli_net_option(struct cli_net *net, const char *opt, const char *val);
/* Creates the devices, addresses, routes and impairments on s and brings
 * the devices up. -1 with a one-line message printed on failure. */
int cli_net_setup(struct cli_net *net, us_stack *s);
/* Prints the device counters (like /proc/net/dev) and the stack counters. */
void cli_print_counters(us_stack *s, FILE *out);
/* Prints "ustack: " + message and returns 1 (the exit status). */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cmd_run(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_ping(int argc, char **argv);
int cmd_fetch(int argc, char **argv);

/* ---- capture and control socket (tools/ctl.c) ---- */
int cmd_ctl(int argc, char **argv);
/* The capture/control options of `ustack run`: --pcap FILE|-, --filter
 * EXPR, --pcap-dev DEV|any, --pcap-rotate SIZE, --pcap-files N,
 * --snaplen N, --pcapng, --ctl PATH. */
struct cli_ext {
	const char *pcap, *filter, *pcap_dev, *ctl;
	uint64_t rotate;
	unsigned rotate_files, snaplen;
	bool pcapng;
	int cap_id;
};
/* As cli_net_option: 1 taken, 0 not ours, -1 bad value (message printed). */
int cli_ext_option(struct cli_ext *e, const char *opt, const char *val);
/* Starts the capture (before cli_net_setup, so it sees the devices come
 * up) and the control socket. -1 with a message printed. */
int cli_ext_start(struct cli_ext *e, us_stack *s, const struct cli_net *net);
/* Stops both; the capture's counters go to stderr as tcpdump prints them. */
void cli_ext_stop(struct cli_ext *e, us_stack *s);

#endif
