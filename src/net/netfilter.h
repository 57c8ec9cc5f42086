/* Netfilter hook points (the five of Linux's IPv4 path). Hooks are empty
 * until conntrack/NAT or a user registers one; an empty hook costs one
 * branch. */
#ifndef US_NETFILTER_H
#define US_NETFILTER_H

#include "../core/list.h"

struct us_stack;
struct skb;
struct netdev;

enum nf_inet_hooks {
	NF_INET_PRE_ROUTING,
	NF_INET_LOCAL_IN,
	NF_INET_FORWARD,
	NF_INET_LOCAL_OUT,
	NF_INET_POST_ROUTING,
	NF_INET_NUMHOOKS
};

enum nf_verdict { NF_DROP, NF_ACCEPT, NF_STOLEN };

struct nf_hook_state {
	int hook;
	struct netdev *in, *out;
};

struct nf_hook_ops {
	struct list_head list;
	int hooknum;
	int priority;  /* lower runs first */
	enum nf_verdict (*hook)(void *priv, struct skb *skb, const struct nf_hook_state *st);
	void *priv;
};

struct nf_state {
	struct list_head hooks[NF_INET_NUMHOOKS];
};

void nf_init(struct us_stack *s);
int nf_register_hook(struct us_stack *s, struct nf_hook_ops *ops);
void nf_unregister_hook(struct us_stack *s, struct nf_hook_ops *ops);
/* Runs the hooks: 1 when the packet goes on, 0 when a hook took or dropped
 * it (a drop is freed and counted). */
int nf_hook_slow(struct us_stack *s, int hook, struct skb *skb, struct netdev *in,
		 struct netdev *out);

#endif
