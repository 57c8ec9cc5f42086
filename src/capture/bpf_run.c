/* Classic BPF, as libpcap's bpf_filter() runs it (see bpf_run.h). */
#include "bpf_run.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CODE(cls, a, b) ((uint16_t)((cls) | (a) | (b)))
#define unlikely_(x) __builtin_expect(!!(x), 0)

/* A decoded instruction: its handler, its operand, and where it goes. */
struct capbpf_op {
	const void *h;
	uint32_t k;
	uint64_t need;                 /* loads at a fixed offset: k + size */
	const struct capbpf_op *t, *f; /* jumps: the targets */
	const void *th, *fh;           /* ...and their handlers (no load chain) */
	const void *nh;                /* the next instruction's handler */
};

/* What capbpf_engine() fills when called without a program: the handler
 * of each opcode (the handlers are labels of that function), NULL for an
 * unknown one. */
struct capbpf_decode {
	const uint16_t *codes;
	const void **handlers;
	const void **fused;     /* a fused handler of insn i and i + 1, or NULL */
	unsigned n;
};

unsigned capbpf_engine(const struct capbpf *p, const uint8_t *pkt, unsigned wirelen,
		       unsigned buflen)
{
	static const void *const table[256] = {
		[CODE(BPF_LD, BPF_W, BPF_ABS)] = &&ld_w_abs,
		[CODE(BPF_LD, BPF_H, BPF_ABS)] = &&ld_h_abs,
		[CODE(BPF_LD, BPF_B, BPF_ABS)] = &&ld_b_abs,
		[CODE(BPF_LD, BPF_W, BPF_IND)] = &&ld_w_ind,
		[CODE(BPF_LD, BPF_H, BPF_IND)] = &&ld_h_ind,
		[CODE(BPF_LD, BPF_B, BPF_IND)] = &&ld_b_ind,
		[CODE(BPF_LD, BPF_W, BPF_LEN)] = &&ld_len,
		[CODE(BPF_LD, 0, BPF_IMM)] = &&ld_imm,
		[CODE(BPF_LD, 0, BPF_MEM)] = &&ld_mem,
		[CODE(BPF_LDX, BPF_W, BPF_IMM)] = &&ldx_imm,
		[CODE(BPF_LDX, BPF_W, BPF_MEM)] = &&ldx_mem,
		[CODE(BPF_LDX, BPF_W, BPF_LEN)] = &&ldx_len,
		[CODE(BPF_LDX, BPF_B, BPF_MSH)] = &&ldx_msh,
		[BPF_ST] = &&st,
		[BPF_STX] = &&stx,
		[CODE(BPF_JMP, BPF_JA, 0)] = &&ja,
		[CODE(BPF_JMP, BPF_JEQ, BPF_K)] = &&jeq_k,
		[CODE(BPF_JMP, BPF_JGT, BPF_K)] = &&jgt_k,
		[CODE(BPF_JMP, BPF_JGE, BPF_K)] = &&jge_k,
		[CODE(BPF_JMP, BPF_JSET, BPF_K)] = &&jset_k,
		[CODE(BPF_JMP, BPF_JEQ, BPF_X)] = &&jeq_x,
		[CODE(BPF_JMP, BPF_JGT, BPF_X)] = &&jgt_x,
		[CODE(BPF_JMP, BPF_JGE, BPF_X)] = &&jge_x,
		[CODE(BPF_JMP, BPF_JSET, BPF_X)] = &&jset_x,
		[CODE(BPF_ALU, BPF_ADD, BPF_K)] = &&add_k,
		[CODE(BPF_ALU, BPF_SUB, BPF_K)] = &&sub_k,
		[CODE(BPF_ALU, BPF_MUL, BPF_K)] = &&mul_k,
		[CODE(BPF_ALU, BPF_DIV, BPF_K)] = &&div_k,
		[CODE(BPF_ALU, BPF_MOD, BPF_K)] = &&mod_k,
		[CODE(BPF_ALU, BPF_AND, BPF_K)] = &&and_k,
		[CODE(BPF_ALU, BPF_OR, BPF_K)] = &&or_k,
		[CODE(BPF_ALU, BPF_XOR, BPF_K)] = &&xor_k,
		[CODE(BPF_ALU, BPF_LSH, BPF_K)] = &&lsh_k,
		[CODE(BPF_ALU, BPF_RSH, BPF_K)] = &&rsh_k,
		[CODE(BPF_ALU, BPF_ADD, BPF_X)] = &&add_x,
		[CODE(BPF_ALU, BPF_SUB, BPF_X)] = &&sub_x,
		[CODE(BPF_ALU, BPF_MUL, BPF_X)] = &&mul_x,
		[CODE(BPF_ALU, BPF_DIV, BPF_X)] = &&div_x,
		[CODE(BPF_ALU, BPF_MOD, BPF_X)] = &&mod_x,
		[CODE(BPF_ALU, BPF_AND, BPF_X)] = &&and_x,
		[CODE(BPF_ALU, BPF_OR, BPF_X)] = &&or_x,
		[CODE(BPF_ALU, BPF_XOR, BPF_X)] = &&xor_x,
		[CODE(BPF_ALU, BPF_LSH, BPF_X)] = &&lsh_x,
		[CODE(BPF_ALU, BPF_RSH, BPF_X)] = &&rsh_x,
		[CODE(BPF_ALU, BPF_NEG, 0)] = &&neg,
		[CODE(BPF_RET, BPF_K, 0)] = &&ret_k,
		[CODE(BPF_RET, BPF_A, 0)] = &&ret_a,
		[CODE(BPF_MISC, BPF_TAX, 0)] = &&tax,
		[CODE(BPF_MISC, BPF_TXA, 0)] = &&txa,
	};

	/* A load at a fixed offset followed by a comparison with a constant
	 * (most of what libpcap emits: "ldh [12]; jeq #0x800"), as one step:
	 * [size W, H, B][JEQ, JGT, JGE, JSET]. */
	static const void *const fused[3][4] = {
		{ &&ldw_jeq, &&ldw_jgt, &&ldw_jge, &&ldw_jset },
		{ &&ldh_jeq, &&ldh_jgt, &&ldh_jge, &&ldh_jset },
		{ &&ldb_jeq, &&ldb_jgt, &&ldb_jge, &&ldb_jset },
	};

	if (unlikely_(p == NULL)) {
		const struct capbpf_decode *d = (const void *)pkt;
		for (unsigned i = 0; i < d->n; i++) {
			uint16_t c = d->codes[i];
			d->handlers[i] = c <= 0xff ? table[c] : NULL;
			if (d->handlers[i] && BPF_CLASS(c) == BPF_LD && BPF_MODE(c) == BPF_ABS &&
			    i + 1 < d->n && BPF_CLASS(d->codes[i + 1]) == BPF_JMP &&
			    BPF_SRC(d->codes[i + 1]) == BPF_K && BPF_OP(d->codes[i + 1]) != BPF_JA &&
			    table[d->codes[i + 1]]) {
				int sz = BPF_SIZE(c) == BPF_W ? 0 : BPF_SIZE(c) == BPF_H ? 1 : 2;
				int op = BPF_OP(d->codes[i + 1]) >> 4; /* JEQ 1 .. JSET 4 */
				d->fused[i] = fused[sz][op - 1];
			}
		}
		return 0;
	}

	const struct capbpf_op *pc = p->ops;
	uint32_t A = 0, X = 0;
	uint32_t mem[BPF_MEMWORDS];
	if (p->uses_mem)
		memset(mem, 0, sizeof(mem));
#define NEXT() do { const void *h_ = pc->nh; pc++; goto *h_; } while (0)
#define JUMP(cond)                                                     \
	do {                                                           \
		bool c_ = (cond);                                      \
		const void *h_ = c_ ? pc->th : pc->fh;                 \
		pc = c_ ? pc->t : pc->f;                               \
		goto *h_;                                              \
	} while (0)
	goto *pc->h;

ret_k:
	return pc->k;
ret_a:
	return A;
ld_w_abs:
	if (pc->need > buflen)
		return 0;
	A = (uint32_t)pkt[pc->k] << 24 | (uint32_t)pkt[pc->k + 1] << 16 |
	    (uint32_t)pkt[pc->k + 2] << 8 | pkt[pc->k + 3];
	NEXT();
ld_h_abs:
	if (pc->need > buflen)
		return 0;
	A = (uint32_t)pkt[pc->k] << 8 | pkt[pc->k + 1];
	NEXT();
ld_b_abs:
	if (pc->need > buflen)
		return 0;
	A = pkt[pc->k];
	NEXT();
#define LDW() ((uint32_t)pkt[pc->k] << 24 | (uint32_t)pkt[pc->k + 1] << 16 | \
		(uint32_t)pkt[pc->k + 2] << 8 | pkt[pc->k + 3])
#define LDH() ((uint32_t)pkt[pc->k] << 8 | pkt[pc->k + 1])
#define LDB() ((uint32_t)pkt[pc->k])
#define FUSED(load, cond) \
	do { \
		if (pc->need > buflen) \
			return 0; \
		A = load(); \
		pc++; \
		JUMP(cond); \
	} while (0)
ldw_jeq: FUSED(LDW, A == pc->k);
ldw_jgt: FUSED(LDW, A > pc->k);
ldw_jge: FUSED(LDW, A >= pc->k);
ldw_jset: FUSED(LDW, A & pc->k);
ldh_jeq: FUSED(LDH, A == pc->k);
ldh_jgt: FUSED(LDH, A > pc->k);
ldh_jge: FUSED(LDH, A >= pc->k);
ldh_jset: FUSED(LDH, A & pc->k);
ldb_jeq: FUSED(LDB, A == pc->k);
ldb_jgt: FUSED(LDB, A > pc->k);
ldb_jge: FUSED(LDB, A >= pc->k);
ldb_jset: FUSED(LDB, A & pc->k);
#undef FUSED
#undef LDW
#undef LDH
#undef LDB
ld_w_ind: {
	uint64_t o = (uint64_t)X + pc->k;
	if (o + 4 > buflen)
		return 0;
	A = (uint32_t)pkt[o] << 24 | (uint32_t)pkt[o + 1] << 16 | (uint32_t)pkt[o + 2] << 8 | pkt[o + 3];
	NEXT();
}
ld_h_ind: {
	uint64_t o = (uint64_t)X + pc->k;
	if (o + 2 > buflen)
		return 0;
	A = (uint32_t)pkt[o] << 8 | pkt[o + 1];
	NEXT();
}
ld_b_ind: {
	uint64_t o = (uint64_t)X + pc->k;
	if (o >= buflen)
		return 0;
	A = pkt[o];
	NEXT();
}
ld_len:
	A = wirelen;
	NEXT();
ldx_len:
	X = wirelen;
	NEXT();
ld_imm:
	A = pc->k;
	NEXT();
ldx_imm:
	X = pc->k;
	NEXT();
ld_mem:
	A = mem[pc->k];
	NEXT();
ldx_mem:
	X = mem[pc->k];
	NEXT();
ldx_msh:
	if (pc->k >= buflen)
		return 0;
	X = (uint32_t)(pkt[pc->k] & 0xf) << 2;
	NEXT();
st:
	mem[pc->k] = A;
	NEXT();
stx:
	mem[pc->k] = X;
	NEXT();
ja: {
	const void *h_ = pc->th;
	pc = pc->t;
	goto *h_;
}
jeq_k:
	JUMP(A == pc->k);
jgt_k:
	JUMP(A > pc->k);
jge_k:
	JUMP(A >= pc->k);
jset_k:
	JUMP(A & pc->k);
jeq_x:
	JUMP(A == X);
jgt_x:
	JUMP(A > X);
jge_x:
	JUMP(A >= X);
jset_x:
	JUMP(A & X);
add_k: A += pc->k; NEXT();
sub_k: A -= pc->k; NEXT();
mul_k: A *= pc->k; NEXT();
div_k:
	if (!pc->k)
		return 0;
	A /= pc->k;
	NEXT();
mod_k:
	if (!pc->k)
		return 0;
	A %= pc->k;
	NEXT();
and_k: A &= pc->k; NEXT();
or_k: A |= pc->k; NEXT();
xor_k: A ^= pc->k; NEXT();
lsh_k: A = pc->k < 32 ? A << pc->k : 0; NEXT();
rsh_k: A = pc->k < 32 ? A >> pc->k : 0; NEXT();
add_x: A += X; NEXT();
sub_x: A -= X; NEXT();
mul_x: A *= X; NEXT();
div_x:
	if (!X)
		return 0;
	A /= X;
	NEXT();
mod_x:
	if (!X)
		return 0;
	A %= X;
	NEXT();
and_x: A &= X; NEXT();
or_x: A |= X; NEXT();
xor_x: A ^= X; NEXT();
lsh_x: A = X < 32 ? A << X : 0; NEXT();
rsh_x: A = X < 32 ? A >> X : 0; NEXT();
neg: A = 0u - A; NEXT();
tax: X = A; NEXT();
txa: A = X; NEXT();
#undef NEXT
#undef JUMP
}

/* Decodes insns into ops: only what is checked. Known opcodes, scratch
 * memory in range, jumps forward inside the program (every run ends), a
 * return at the end. */
static bool decode(const struct bpf_insn *in, unsigned n, struct capbpf_op *ops)
{
	if (!n || BPF_CLASS(in[n - 1].code) != BPF_RET)
		return false;
	uint16_t *codes = malloc(n * sizeof(*codes));
	const void **h = malloc(n * sizeof(*h));
	const void **fz = calloc(n, sizeof(*fz));
	bool ok = codes && h && fz;
	for (unsigned i = 0; ok && i < n; i++)
		codes[i] = in[i].code;
	if (ok) {
		struct capbpf_decode d = { codes, h, fz, n };
		capbpf_engine(NULL, (const uint8_t *)&d, 0, 0);
	}
	for (unsigned i = 0; ok && i < n; i++) {
		uint16_t c = in[i].code;
		struct capbpf_op *o = &ops[i];
		if (!h[i]) {
			ok = false;
			break;
		}
		o->h = h[i];
		o->k = in[i].k;
		unsigned cls = BPF_CLASS(c);
		if ((cls == BPF_LD || cls == BPF_LDX) && BPF_MODE(c) == BPF_MEM && in[i].k >= BPF_MEMWORDS)
			ok = false;
		if ((cls == BPF_ST || cls == BPF_STX) && in[i].k >= BPF_MEMWORDS)
			ok = false;
		if (cls == BPF_LD && BPF_MODE(c) == BPF_ABS)
			o->need = (uint64_t)in[i].k + (BPF_SIZE(c) == BPF_W ? 4 : BPF_SIZE(c) == BPF_H ? 2 : 1);
		if (cls == BPF_JMP) {
			uint64_t left = n - i - 1;
			if (BPF_OP(c) == BPF_JA) {
				if (in[i].k >= left)
					ok = false;
				else
					o->t = o->f = &ops[i + 1 + in[i].k];
			} else if (in[i].jt >= left || in[i].jf >= left) {
				ok = false;
			} else {
				o->t = &ops[i + 1 + in[i].jt];
				o->f = &ops[i + 1 + in[i].jf];
			}
		}
	}
	/* The fused steps, once the jumps they borrow are checked. The
	 * second instruction keeps its own handler for jumps landing on it. */
	for (unsigned i = 0; ok && i < n; i++)
		if (fz[i])
			ops[i].h = fz[i];
	/* Each instruction knows the handlers it goes to: the next one and
	 * its jump targets (a fused step jumps with its second half's). */
	for (unsigned i = 0; ok && i < n; i++) {
		ops[i].nh = i + 1 < n ? ops[i + 1].h : NULL;
		if (ops[i].t) {
			ops[i].th = ops[i].t->h;
			ops[i].fh = ops[i].f->h;
		}
	}
	free(codes);
	free(h);
	free(fz);
	return ok;
}

int capbpf_init(struct capbpf *p, const struct bpf_insn *insns, unsigned len)
{
	memset(p, 0, sizeof(*p));
	p->insns = insns;
	p->len = len;
	if (!insns || !len)
		return 0;
	struct capbpf_op *ops = calloc(len, sizeof(*ops));
	if (!ops)
		return -ENOMEM;
	if (!decode(insns, len, ops)) {
		free(ops); /* libpcap's bpf_filter runs it */
		return 0;
	}
	for (unsigned i = 0; i < len; i++)
		if ((BPF_CLASS(insns[i].code) == BPF_LD || BPF_CLASS(insns[i].code) == BPF_LDX) &&
		    BPF_MODE(insns[i].code) == BPF_MEM)
			p->uses_mem = true;
	p->ops = ops;
	return 0;
}

void capbpf_free(struct capbpf *p)
{
	free(p->ops);
	p->ops = NULL;
}
