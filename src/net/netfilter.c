/* Netfilter hook lists: registered functions run in priority order at the
 * five points of the IPv4 path. */
#include "netfilter.h"

#include <errno.h>

#include "../core/stack.h"

void nf_init(struct us_stack *s)
{
	for (int i = 0; i < NF_INET_NUMHOOKS; i++)
		list_init(&s->nf.hooks[i]);
}

int nf_register_hook(struct us_stack *s, struct nf_hook_ops *ops)
{
	if (ops->hooknum < 0 || ops->hooknum >= NF_INET_NUMHOOKS || !ops->hook)
		return -EINVAL;
	struct list_head *head = &s->nf.hooks[ops->hooknum];
	struct nf_hook_ops *o;
	list_for_each_entry(o, head, list) {
		if (o->priority > ops->priority) {
			list_insert_(&ops->list, o->list.prev, &o->list);
			return 0;
		}
	}
	list_add_tail(&ops->list, head);
	return 0;
}

void nf_unregister_hook(struct us_stack *s, struct nf_hook_ops *ops)
{
	(void)s;
	list_del(&ops->list);
}

int nf_hook_slow(struct us_stack *s, int hook, struct skb *skb, struct netdev *in,
		 struct netdev *out)
{
	struct nf_hook_state st = { .hook = hook, .in = in, .out = out };
	struct nf_hook_ops *o, *n;
	list_for_each_entry_safe(o, n, &s->nf.hooks[hook], list) {
		switch (o->hook(o->priv, skb, &st)) {
		case NF_ACCEPT:
			continue;
		case NF_STOLEN:
			return 0;
		case NF_DROP:
		default:
			skb_drop(s, skb, DROP_NETFILTER_DROP);
			return 0;
		}
	}
	return 1;
}
