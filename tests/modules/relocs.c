/*
 * tests/modules/relocs.c: one reference of each relocation type a 6.1
 * module uses, each at a named place the test can read after loading:
 *
 *   rel_64      .quad target_var + 8        R_X86_64_64
 *   rel_64_fn   .quad target_fn             R_X86_64_64 (into .text)
 *   rel_pc32    .long target_var - .        R_X86_64_PC32
 *   rel_pc64    .quad target_var - .        R_X86_64_PC64
 *   rel_32      .long cpu_number + 4        R_X86_64_32 (a per-CPU offset:
 *                                           the one 32-bit absolute that fits)
 *   rel_32s     movq $target_var+16, %rax   R_X86_64_32S (imm32 at +3)
 *   rel_plt32   call _printk                R_X86_64_PLT32 (rel32 at +1)
 *
 * init_module also follows each reference at run time and returns a bit
 * per reference that led to target_var (RELOCS_ALL when all did).
 */
#include "testmod.h"

#define RELOCS_MAGIC 0x1122334455667788ul

u64 target_var = RELOCS_MAGIC;
extern char rel_64[], rel_64_fn[], rel_pc32[], rel_pc64[], rel_32[];
extern char rel_32s[], rel_plt32[];
u64 rel_32s_code(void);

/* In its own section, so calls to it need a relocation. */
__attribute__((section(".text.relocs_other"))) noinline int target_fn(int x)
{
    return x * 3 + 1;
}

__asm__(".pushsection .data.relocs, \"aw\"\n"
        ".balign 8\n"
        ".globl rel_64\n"
        "rel_64: .quad target_var + 8\n"
        ".globl rel_64_fn\n"
        "rel_64_fn: .quad target_fn\n"
        ".globl rel_pc64\n"
        "rel_pc64: .quad target_var - .\n"
        ".globl rel_pc32\n"
        "rel_pc32: .long target_var - .\n"
        ".globl rel_32\n"
        "rel_32: .long cpu_number + 4\n"
        ".popsection\n"
        ".pushsection .text.relocs_asm, \"ax\"\n"
        ".globl rel_32s_code\n"
        "rel_32s_code:\n"
        ".globl rel_32s\n"
        "rel_32s: movq $target_var + 16, %rax\n"
        "ret\n"
        ".popsection\n");

static noinline int relocs_print(int v)
{
    int ret;

    /* The call itself is the PLT32 reference; rel_plt32 labels it. */
    __asm__ __volatile__("xor %%eax, %%eax\n"
                         ".globl rel_plt32\n"
                         "rel_plt32: call _printk\n"
                         : "=a"(ret)
                         : "D"(KERN_INFO "relocs: target_fn(2)=%d\n"), "S"(v)
                         : "rcx", "rdx", "r8", "r9", "r10", "r11", "memory");
    return ret;
}

int init_module(void)
{
    int ok = 0;

    if (*(u64 *)(*(u64 *)rel_64 - 8) == RELOCS_MAGIC) {
        ok |= 1;
    }
    if (*(u64 *)(rel_pc32 + *(int *)rel_pc32) == RELOCS_MAGIC) {
        ok |= 2;
    }
    if (*(u64 *)(rel_pc64 + *(long *)rel_pc64) == RELOCS_MAGIC) {
        ok |= 4;
    }
    if (*(u64 *)(rel_32s_code() - 16) == RELOCS_MAGIC) {
        ok |= 8;
    }
    if (((int (*)(int))*(u64 *)rel_64_fn)(2) == 7 && target_fn(2) == 7) {
        ok |= 16;
    }
    if (relocs_print(target_fn(2)) > 0) {
        ok |= 32;                /* _printk returned the length printed */
    }
    return ok;
}
