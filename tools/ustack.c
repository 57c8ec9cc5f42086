/* The ustack command. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"usage: ustack {run|ping|fetch|ctl|demo} [options] (ustack COMMAND --help for details)";

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "%s\n", usage);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "ping"))
		return cmd_ping(argc - 1, argv + 1);
	if (!strcmp(cmd, "fetch"))
		return cmd_fetch(argc - 1, argv + 1);
	if (!strcmp(cmd, "demo"))
		return cmd_demo(argc - 1, argv + 1);
	if (!strcmp(cmd, "ctl"))
		return cmd_ctl(argc - 1, argv + 1);
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		printf("%s\n", usage);
		return 0;
	}
	fprintf(stderr, "%s\n", usage);
	return 2;
}
