/* TCP arrives with its own issue; until then stream sockets are refused. */
#include <errno.h>

#include "../core/stack.h"

int tcp_create(struct us_stack *s, int type, int protocol, struct sock **out)
{
	(void)s;
	(void)type;
	(void)protocol;
	(void)out;
	return -EPROTONOSUPPORT;
}
