/*
 * tests/test_kernel_banks.c: guest RAM as the placed part of the persistent
 * store, as a module sees it -- one space bank per module (kmem.h,
 * kernel_store.c, kernel_module.c, kdma_map in kapi_dma.c).
 *
 * Every page a module uses -- its image, its kmalloc arenas, its DMA
 * buffers -- is the page object KMEM_RAM_OID + pfn of the module's bank, a
 * child of the prime bank with the quotas of KernelConfig (bank_pages,
 * bank_map_entries; 0 = unlimited).  kmalloc fails at the page quota, a DMA
 * map at the mapping-entry quota (with a log line); module exit destroys the
 * bank, and every frame it held is free and zero again -- a frame the IOMMU
 * pins only at its last unpin, since an IOMMU pin is a store pin.
 *
 * The kernel has the fake PCI function of tests/kernel_test_pci.h (1234:d3a0
 * at devfn 0x10, no BARs); tests/modules/bankt.c binds to it, and the test
 * calls the module's bankt_* functions as the module's code.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel-guest/kernel_internal.h"
#include "kernel-guest/pk_bank.h"
#include "kernel-guest/pk_cache.h"
#include "kernel-guest/pk_store.h"
#include "tests/kernel_test_pci.h"
#include "tests/support.h"

#define TEST_DEVICE KERNEL_TEST_DEVICE
#define TEST_PAGE KMEM_PAGE_SIZE
#define TEST_ARENA_PAGES (KMEM_ARENA_BYTES / KMEM_PAGE_SIZE)
#define TEST_MAPPING_ERROR UINT64_MAX
#define TEST_GFP_KERNEL 0xcc0u
#define TEST_REFUSED "4 sluice: " TEST_DEVICE ": DMA mapping of %s refused: the space bank " \
                     "of bankt is at its quota of IOMMU mapping entries"

enum { TEST_BIDIRECTIONAL = 0, TEST_TO_DEVICE = 1, TEST_FROM_DEVICE = 2 };

typedef struct TestFx {
    Kernel *k;
    Iommu *mmu;
    int mod;                     /* bankt */
    KernelTestHost host;         /* the fake function, the log */
} TestFx;

/* A kernel with the fake function on an IOMMU in imode, each module's bank
 * with the given quotas (0 = unlimited); nothing loaded. */
static void test_boot(TestFx *f, IommuMode imode, uint64_t bank_pages, uint64_t bank_maps)
{
    KernelConfig cfg = {.btf_path = test_kimage()->vmlinux, .bank_pages = bank_pages,
                        .bank_map_entries = bank_maps};
    KernelHostOps ops = kernel_test_host_ops(&f->host);

    kernel_test_boot(&cfg, &ops, imode, 0, &f->k, &f->mmu);
    f->mod = -1;
}

/* Loads bankt.ko (not initialised): the module index or the error. */
static int test_load(TestFx *f, SlError *e)
{
    char p_off[48];
    const char *params[1] = {p_off};

    kernel_test_devoff_param(f->k, p_off, sizeof(p_off));
    return kernel_load_module(f->k, test_module_path("bankt"), params, 1, e);
}

static uint64_t test_u64(TestFx *f, int mod, const char *sym)
{
    uint64_t va = ko_symbol_va(f->k->modules[mod], sym), v = 0;

    if (!va) {
        fail_msg("%s.ko has no symbol %s", kernel_module_name(f->k, mod), sym);
    }
    assert_int_equal(vcpu_read(kernel_vcpu(f->k), va, &v, 8), 0);
    return v;
}

/* Loads bankt.ko and runs its init: the driver is bound to the function. */
static void test_load_init(TestFx *f)
{
    SlError e = {{0}};

    f->mod = test_load(f, &e);
    if (f->mod < 0) {
        fail_msg("load bankt: %s", e.msg);
    }
    assert_int_equal(kernel_init_module(f->k, f->mod), 0);
    assert_int_equal(f->k->pci_devices[0].driver, 0);
    assert_int_equal((uint32_t)test_u64(f, f->mod, "probed"), 1);
}

static void test_start(TestFx *f, IommuMode imode, uint64_t bank_pages, uint64_t bank_maps)
{
    test_boot(f, imode, bank_pages, bank_maps);
    test_load_init(f);
}

static void test_finish(TestFx *f)
{
    kernel_free(f->k);
    iommu_free(f->mmu);
    f->k = NULL;
    f->mmu = NULL;
    f->host.nlog = 0;
}

/* Calls fn (guest code at fn) on behalf of module mod (-1: the kernel
 * itself) with up to 3 arguments; returns RAX. */
static uint64_t test_call_va(TestFx *f, int mod, uint64_t fn, unsigned n, va_list ap)
{
    uint64_t args[3] = {0}, ret = 0;

    assert_true(fn != 0 && n <= 3);
    for (unsigned i = 0; i < n; i++) {
        args[i] = va_arg(ap, uint64_t);
    }
    if (kernel_call(f->k, mod, KERNEL_PHASE_RUN, fn, args, n, &ret) != 0) {
        kernel_report_print(f->k, stderr);
        fail_msg("guest stopped in a call at 0x%llx", (unsigned long long)fn);
    }
    return ret;
}

/* bankt's function name, run as bankt's code. */
static uint64_t test_mod_call(TestFx *f, const char *name, unsigned n, ...)
{
    va_list ap;
    uint64_t ret;

    va_start(ap, n);
    ret = test_call_va(f, f->mod, ko_symbol_va(f->k->modules[f->mod], name), n, ap);
    va_end(ap);
    return ret;
}

/* The served kernel function name, called on behalf of module mod (or the
 * kernel itself for -1) as guest code would call it. */
static uint64_t test_kernel_call(TestFx *f, int mod, const char *name, unsigned n, ...)
{
    const KSym *s = ksyms_find(&f->k->syms, name);
    va_list ap;
    uint64_t ret;

    if (!s) {
        fail_msg("no served symbol %s", name);
    }
    va_start(ap, n);
    ret = test_call_va(f, mod, s->addr, n, ap);
    va_end(ap);
    return ret;
}

static KernelBankUsage test_usage(const TestFx *f, int mod)
{
    KernelBankUsage u;

    assert_int_equal(kernel_bank_usage(f->k, mod, &u), 0);
    return u;
}

static uint64_t test_image_pages(const TestFx *f, int mod)
{
    return f->k->modules[mod]->size / TEST_PAGE;
}

static PkStore *test_store(const TestFx *f)
{
    return f->k->mem.store;
}

static uint64_t test_pfn(uint64_t va)
{
    return (va - KMEM_PAGE_OFFSET) / TEST_PAGE;
}

/* The bank of the page object in frame pfn -- which must be the frame's
 * own placed OID, KMEM_RAM_OID + pfn -- or -1 for a free frame. */
static int32_t test_frame_bank(const TestFx *f, uint64_t pfn)
{
    const PkStore *s = test_store(f);
    int32_t idx = s->frame_owner[pfn];

    if (idx == PK_FRAME_FREE) {
        return -1;
    }
    assert_true(idx >= 0);
    assert_int_equal(s->obj[idx].oid, KMEM_RAM_OID + pfn);
    assert_int_equal(s->obj[idx].type, PK_OBJ_PAGE);
    return s->obj[idx].bank;
}

static bool test_frame_zero(const TestFx *f, uint64_t pfn)
{
    const uint8_t *p = f->k->mem.ram + pfn * TEST_PAGE;

    for (uint64_t i = 0; i < TEST_PAGE; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

/* Frames [pfn, pfn+n) hold no object and are all zero. */
static void test_expect_free_zero(const TestFx *f, uint64_t pfn, uint64_t n)
{
    for (uint64_t i = pfn; i < pfn + n; i++) {
        if (test_store(f)->frame_owner[i] != PK_FRAME_FREE || !test_frame_zero(f, i)) {
            fail_msg("frame 0x%llx: owner %d, %s; want free and zero", (unsigned long long)i,
                     test_store(f)->frame_owner[i], test_frame_zero(f, i) ? "zero" : "not zero");
        }
    }
}

/* Fills guest memory at va with byte b (a host write: marked dirty). */
static void test_fill(TestFx *f, uint64_t va, uint64_t len, int b)
{
    void *p = kmem_host(&f->k->mem, va, len);

    assert_non_null(p);
    memset(p, b, len);
}

static unsigned test_count_log(const TestFx *f, const char *line)
{
    unsigned n = 0;

    for (unsigned i = 0; i < f->host.nlog; i++) {
        n += strcmp(f->host.log[i], line) == 0;
    }
    return n;
}

static void test_expect_refused(const TestFx *f, const char *what, unsigned times)
{
    char want[512];

    snprintf(want, sizeof(want), TEST_REFUSED, what);
    if (test_count_log(f, want) != times) {
        kernel_test_dump_log(&f->host);
        fail_msg("want %u x \"%s\"", times, want);
    }
}

/* Lines saying bankt's allocation was refused at its page quota of quota
 * pages, all of them in use. */
static unsigned test_count_quota_lines(const TestFx *f, uint64_t quota)
{
    char tail[160];
    unsigned n = 0;

    snprintf(tail, sizeof(tail), " bytes refused: its space bank is at its quota of %llu pages "
             "(%llu in use)", (unsigned long long)quota, (unsigned long long)quota);
    for (unsigned i = 0; i < f->host.nlog; i++) {
        const char *l = f->host.log[i];

        n += strncmp(l, "4 sluice: bankt: allocation of ", 31) == 0 &&
             strlen(l) > strlen(tail) && strcmp(l + strlen(l) - strlen(tail), tail) == 0;
    }
    return n;
}

/* The kmalloc arena holding va. */
static const KMemArena *test_arena_of(const TestFx *f, uint64_t va)
{
    for (unsigned i = 0; i < f->k->mem.narenas; i++) {
        const KMemArena *a = &f->k->mem.arenas[i];

        if (va - KMEM_PAGE_OFFSET - a->pa < a->len) {
            return a;
        }
    }
    fail_msg("0x%llx is in no kmalloc arena", (unsigned long long)va);
    return NULL;
}

/* bankt's image size in pages, from a kernel of its own. */
static uint64_t test_bankt_pages(TestFx *f)
{
    uint64_t pages;

    test_start(f, IOMMU_MODE_STRICT, 0, 0);
    pages = test_image_pages(f, f->mod);
    test_finish(f);
    return pages;
}

/* 1. The image --------------------------------------------------------- */

static void test_banks__module_image__is_page_objects_of_its_own_bank(void **state)
{
    TestFx *f = *state;
    SlError e = {{0}};
    uint64_t prime_before, pages, first;
    KernelBankUsage u;
    int32_t bank;
    int mod2;

    test_boot(f, IOMMU_MODE_STRICT, 0, 0);
    prime_before = pk_bank_used(test_store(f), PK_BANK_PRIME, PK_RES_OBJECTS);
    f->mod = test_load(f, &e);
    if (f->mod < 0) {
        fail_msg("load bankt: %s", e.msg);
    }
    pages = test_image_pages(f, f->mod);
    assert_true(pages >= 2);                 /* text, data */
    bank = f->k->module_bank[f->mod];
    assert_true(bank > KMEM_BANK_KERNEL);
    assert_int_equal(test_store(f)->bank[bank].parent, PK_BANK_PRIME);
    u = test_usage(f, f->mod);
    assert_int_equal(u.pages, pages);
    assert_int_equal(u.map_entries, 0);
    assert_int_equal(u.quota_pages, UINT64_MAX);
    assert_int_equal(u.quota_map_entries, UINT64_MAX);
    /* The prime bank counts its child's pages. */
    assert_int_equal(pk_bank_used(test_store(f), PK_BANK_PRIME, PK_RES_OBJECTS),
                     prime_before + pages);
    first = f->k->modules[f->mod]->pa / TEST_PAGE;
    for (uint64_t pfn = first; pfn < first + pages; pfn++) {
        assert_int_equal(test_frame_bank(f, pfn), bank);
    }
    /* Probe allocates nothing: the image is all the bank holds. */
    assert_int_equal(kernel_init_module(f->k, f->mod), 0);
    assert_int_equal((uint32_t)test_u64(f, f->mod, "probed"), 1);
    assert_int_equal(test_usage(f, f->mod).pages, pages);
    /* Another module: a bank of its own, charged its own image. */
    mod2 = kernel_load_module(f->k, test_module_path("params"), NULL, 0, &e);
    if (mod2 < 0) {
        fail_msg("load params: %s", e.msg);
    }
    assert_int_not_equal(f->k->module_bank[mod2], bank);
    assert_int_equal(test_usage(f, mod2).pages, test_image_pages(f, mod2));
    assert_int_equal(test_usage(f, f->mod).pages, pages);
    first = f->k->modules[mod2]->pa / TEST_PAGE;
    for (uint64_t pfn = first; pfn < first + test_image_pages(f, mod2); pfn++) {
        assert_int_equal(test_frame_bank(f, pfn), f->k->module_bank[mod2]);
    }
    assert_int_equal(kernel_bank_usage(f->k, mod2 + 1, &u), -ENOENT);
    test_finish(f);
}

/* 2. kmalloc ----------------------------------------------------------- */

static void test_banks__kmalloc__module_code_to_its_bank_kernel_to_prime(void **state)
{
    TestFx *f = *state;
    uint64_t pages, va, va2, kva, prime_before;
    const KMemArena *a;
    int32_t bank;

    test_start(f, IOMMU_MODE_STRICT, 0, 0);
    pages = test_image_pages(f, f->mod);
    bank = f->k->module_bank[f->mod];
    /* The module's first kmalloc makes its first arena. */
    va = test_mod_call(f, "bankt_kmalloc", 1, (uint64_t)100);
    assert_int_not_equal(va, 0);
    assert_int_equal(test_usage(f, f->mod).pages, pages + TEST_ARENA_PAGES);
    assert_int_equal(test_frame_bank(f, test_pfn(va)), bank);
    a = test_arena_of(f, va);
    assert_int_equal(a->bank, bank);
    assert_int_equal(a->len, KMEM_ARENA_BYTES);
    assert_int_equal(KMEM_PAGE_OFFSET + a->pa, va);          /* first fit: its start */
    for (uint64_t pfn = a->pa / TEST_PAGE; pfn < (a->pa + a->len) / TEST_PAGE; pfn++) {
        assert_int_equal(test_frame_bank(f, pfn), bank);
    }
    /* The next fits in it: nothing more charged. */
    va2 = test_mod_call(f, "bankt_kmalloc", 1, (uint64_t)200);
    assert_true(va2 > va && va2 < va + KMEM_ARENA_BYTES);
    assert_int_equal(test_usage(f, f->mod).pages, pages + TEST_ARENA_PAGES);
    /* The kernel's own kmalloc (no module code running) is the prime
     * bank's: 100 KiB takes an arena of its own, 26 pages. */
    prime_before = pk_bank_used(test_store(f), PK_BANK_PRIME, PK_RES_OBJECTS);
    kva = test_kernel_call(f, -1, "__kmalloc", 2, (uint64_t)(100 << 10),
                           (uint64_t)TEST_GFP_KERNEL);
    assert_int_not_equal(kva, 0);
    assert_int_equal(test_arena_of(f, kva)->bank, KMEM_BANK_KERNEL);
    assert_int_equal(test_frame_bank(f, test_pfn(kva)), KMEM_BANK_KERNEL);
    assert_int_equal(pk_bank_used(test_store(f), PK_BANK_PRIME, PK_RES_OBJECTS),
                     prime_before + 26);
    assert_int_equal(test_usage(f, f->mod).pages, pages + TEST_ARENA_PAGES);
    /* Freeing it gives the prime bank its pages back. */
    test_kernel_call(f, -1, "kfree", 1, kva);
    assert_int_equal(pk_bank_used(test_store(f), PK_BANK_PRIME, PK_RES_OBJECTS), prime_before);
    /* The module's kfree keeps its arena (it is the bank's first). */
    test_mod_call(f, "bankt_kfree", 1, va);
    test_mod_call(f, "bankt_kfree", 1, va2);
    assert_int_equal(test_usage(f, f->mod).pages, pages + TEST_ARENA_PAGES);
    test_finish(f);
}

/* 3. The page quota ------------------------------------------------------- */

static void test_banks__page_quota__kmalloc_null_at_quota_others_unaffected(void **state)
{
    TestFx *f = *state;
    uint64_t pages = test_bankt_pages(f), quota = pages + TEST_ARENA_PAGES;
    uint64_t va[4], v, kva, pages2;
    SlError e = {{0}};
    KernelStats s;
    int mod2;

    test_start(f, IOMMU_MODE_STRICT, quota, 0);
    assert_int_equal(test_usage(f, f->mod).quota_pages, quota);
    assert_int_equal(test_usage(f, f->mod).pages, pages);
    /* One arena fits: four 16 KiB allocations fill it exactly. */
    for (unsigned i = 0; i < 4; i++) {
        va[i] = test_mod_call(f, "bankt_kmalloc", 1, (uint64_t)(16 << 10));
        assert_int_not_equal(va[i], 0);
        assert_int_equal(test_usage(f, f->mod).pages, quota);
    }
    /* A second arena's worth does not. */
    v = test_mod_call(f, "bankt_kmalloc", 1, (uint64_t)(16 << 10));
    assert_int_equal(v, 0);
    assert_int_equal(f->k->mem.last_error, -EDQUOT);
    v = test_mod_call(f, "bankt_kmalloc", 1, (uint64_t)16);
    assert_int_equal(v, 0);
    v = test_mod_call(f, "bankt_kmalloc", 1, (uint64_t)KMEM_ARENA_BYTES);
    assert_int_equal(v, 0);
    assert_int_equal(test_usage(f, f->mod).pages, quota);
    /* Nor does a coherent DMA buffer: NULL, nothing mapped. */
    v = test_mod_call(f, "bankt_alloc_coherent", 1, (uint64_t)TEST_PAGE);
    assert_int_equal(v, 0);
    assert_int_equal(test_usage(f, f->mod).pages, quota);
    assert_int_equal(test_usage(f, f->mod).map_entries, 0);
    assert_int_equal(iommu_pins(f->mmu), 0);
    kernel_stats(f->k, &s);
    assert_int_equal(s.coherent_live, 0);
    /* Each refusal is one line on the log. */
    assert_int_equal(test_count_quota_lines(f, quota), 4);
    assert_int_equal(f->host.nlog, 4);
    /* Room freed inside the arena is room again. */
    test_mod_call(f, "bankt_kfree", 1, va[1]);
    v = test_mod_call(f, "bankt_kmalloc", 1, (uint64_t)(16 << 10));
    assert_int_equal(v, va[1]);
    assert_int_equal(test_usage(f, f->mod).pages, quota);
    /* The kernel is not bounded by a module's quota... */
    kva = test_kernel_call(f, -1, "__kmalloc", 2, (uint64_t)(100 << 10),
                           (uint64_t)TEST_GFP_KERNEL);
    assert_int_not_equal(kva, 0);
    assert_int_equal(test_arena_of(f, kva)->bank, KMEM_BANK_KERNEL);
    /* ...and another module has a bank of its own with the same quota. */
    mod2 = kernel_load_module(f->k, test_module_path("params"), NULL, 0, &e);
    if (mod2 < 0) {
        fail_msg("load params: %s", e.msg);
    }
    pages2 = test_image_pages(f, mod2);
    assert_true(pages2 <= pages);
    assert_int_equal(test_usage(f, mod2).pages, pages2);
    assert_int_equal(test_usage(f, mod2).quota_pages, quota);
    kva = test_kernel_call(f, mod2, "__kmalloc", 2, (uint64_t)(16 << 10),
                           (uint64_t)TEST_GFP_KERNEL);
    assert_int_not_equal(kva, 0);
    assert_int_equal(test_arena_of(f, kva)->bank, f->k->module_bank[mod2]);
    assert_int_equal(test_usage(f, mod2).pages, pages2 + TEST_ARENA_PAGES);
    assert_int_equal(test_usage(f, f->mod).pages, quota);
    test_finish(f);
}

static void test_banks__quota_below_image__load_fails_naming_the_file(void **state)
{
    TestFx *f = *state;
    uint64_t pages = test_bankt_pages(f), free_before = 0, free_after = 0;
    uint64_t prime_before;
    SlError e = {{0}};
    char want[sizeof(e.msg)];
    int err;

    test_boot(f, IOMMU_MODE_STRICT, pages - 1, 0);
    for (uint64_t pfn = 0; pfn < f->k->mem.npages; pfn++) {
        free_before += test_store(f)->frame_owner[pfn] == PK_FRAME_FREE;
    }
    prime_before = pk_bank_used(test_store(f), PK_BANK_PRIME, PK_RES_OBJECTS);
    err = test_load(f, &e);
    /* One line naming the file, the image and the quota. */
    snprintf(want, sizeof(want), "%s: the %llu-page module image does not fit its space bank's "
             "quota of %llu pages (--mem-limit)", test_module_path("bankt"),
             (unsigned long long)pages, (unsigned long long)(pages - 1));
    if (strcmp(e.msg, want) != 0) {
        fail_msg("want \"%s\", got \"%s\"", want, e.msg);
    }
    assert_true(err == -ENOMEM || err == -EDQUOT);
    assert_int_equal(f->host.nlog, 0);        /* the loader's error says it, not the log */
    /* Nothing is left behind: no module, no bank, no frame. */
    for (int i = 0; i < KERNEL_MAX_MODULES; i++) {
        assert_null(f->k->modules[i]);
    }
    for (uint32_t b = 1; b < test_store(f)->cfg.max_banks; b++) {
        assert_int_equal(test_store(f)->bank[b].live, 0);
    }
    for (uint64_t pfn = 0; pfn < f->k->mem.npages; pfn++) {
        free_after += test_store(f)->frame_owner[pfn] == PK_FRAME_FREE;
    }
    assert_int_equal(free_after, free_before);
    assert_int_equal(pk_bank_used(test_store(f), PK_BANK_PRIME, PK_RES_OBJECTS), prime_before);
    test_finish(f);
    /* A quota of exactly the image loads; then the first kmalloc is over. */
    test_start(f, IOMMU_MODE_STRICT, pages, 0);
    assert_int_equal(test_usage(f, f->mod).pages, pages);
    assert_int_equal(test_mod_call(f, "bankt_kmalloc", 1, (uint64_t)16), 0);
    test_finish(f);
}

/* 4. Exit destroys the bank ------------------------------------------------ */

static void test_banks__module_exit__frames_free_zero_leaks_counted_caps_void(void **state)
{
    TestFx *f = *state;
    uint64_t prime_before, image, pages, leak, coh, arena_pfn;
    SlError e = {{0}};
    KernelStats s;
    int32_t bank, b;
    PkCap cap, cap2;

    test_boot(f, IOMMU_MODE_STRICT, 0, 0);
    prime_before = pk_bank_used(test_store(f), PK_BANK_PRIME, PK_RES_OBJECTS);
    kernel_stats(f->k, &s);
    assert_int_equal(s.heap_live_objects, 0);
    test_load_init(f);
    bank = f->k->module_bank[f->mod];
    cap = pk_bank_cap(test_store(f), bank);
    assert_int_equal(pk_bank_decode(test_store(f), &cap, 0, &b), 0);
    assert_int_equal(b, bank);
    image = f->k->modules[f->mod]->pa / TEST_PAGE;
    pages = test_image_pages(f, f->mod);
    /* A kmalloc and a coherent buffer the module never frees. */
    leak = test_mod_call(f, "bankt_kmalloc", 1, (uint64_t)100);
    assert_int_not_equal(leak, 0);
    test_fill(f, leak, 100, 0xa5);
    arena_pfn = test_arena_of(f, leak)->pa / TEST_PAGE;
    coh = test_mod_call(f, "bankt_alloc_coherent", 1, (uint64_t)TEST_PAGE);
    assert_int_not_equal(coh, 0);
    test_fill(f, coh, TEST_PAGE, 0x5a);
    assert_int_equal(test_frame_bank(f, test_pfn(coh)), bank);
    assert_int_equal(test_usage(f, f->mod).pages, pages + TEST_ARENA_PAGES + 1);
    assert_int_equal(test_usage(f, f->mod).map_entries, 1);
    kernel_stats(f->k, &s);
    assert_int_equal(s.heap_live_objects, 1);
    assert_int_equal(s.heap_live_bytes, 100);
    assert_int_equal(s.coherent_live, 1);

    assert_int_equal(kernel_exit_module(f->k, f->mod), 0);
    assert_false(kernel_dead(f->k));
    test_expect_free_zero(f, image, pages);
    test_expect_free_zero(f, arena_pfn, TEST_ARENA_PAGES);
    test_expect_free_zero(f, test_pfn(coh), 1);
    assert_int_equal(kernel_bank_usage(f->k, f->mod, &(KernelBankUsage){0}), -ENOENT);
    assert_int_equal(test_store(f)->bank[bank].live, 0);
    assert_int_equal(pk_bank_used(test_store(f), PK_BANK_PRIME, PK_RES_OBJECTS), prime_before);
    assert_int_equal(pk_bank_used(test_store(f), PK_BANK_PRIME, PK_RES_MAP_ENTRIES), 0);
    assert_int_equal(iommu_pins(f->mmu), 0);
    /* The leak report keeps what the bank reclaimed. */
    kernel_stats(f->k, &s);
    assert_int_equal(s.heap_live_objects, 1);
    assert_int_equal(s.heap_live_bytes, 100);
    assert_int_equal(s.coherent_live, 0);
    /* Capabilities to the old bank are void. */
    assert_int_equal(pk_bank_decode(test_store(f), &cap, 0, &b), -ESTALE);

    /* Loaded again: a fresh bank (the index may be reused, the count not). */
    f->host.nlog = 0;
    f->mod = test_load(f, &e);
    if (f->mod < 0) {
        fail_msg("reload bankt: %s", e.msg);
    }
    cap2 = pk_bank_cap(test_store(f), f->k->module_bank[f->mod]);
    assert_false(cap2.oid == cap.oid && cap2.count == cap.count);
    assert_int_equal(pk_bank_decode(test_store(f), &cap, 0, &b), -ESTALE);
    assert_int_equal(pk_bank_decode(test_store(f), &cap2, 0, &b), 0);
    assert_int_equal(b, f->k->module_bank[f->mod]);
    assert_int_equal(test_usage(f, f->mod).pages, pages);
    assert_int_equal(test_usage(f, f->mod).map_entries, 0);
    test_finish(f);
}

/* Lazy IOMMU: the leaked coherent buffer is still pinned by the deferred
 * invalidation when the bank goes: its frame is freed at the last unpin. */
static void test_banks__module_exit_lazy__pinned_frames_freed_at_last_unpin(void **state)
{
    TestFx *f = *state;
    uint64_t prime_before, coh, pfn;
    const PkStore *s;

    test_boot(f, IOMMU_MODE_LAZY, 0, 0);
    s = test_store(f);
    prime_before = pk_bank_used(s, PK_BANK_PRIME, PK_RES_OBJECTS);
    test_load_init(f);
    coh = test_mod_call(f, "bankt_alloc_coherent", 1, (uint64_t)(2 * TEST_PAGE));
    assert_int_not_equal(coh, 0);
    pfn = test_pfn(coh);
    test_fill(f, coh, 2 * TEST_PAGE, 0x5a);
    assert_int_equal(kernel_exit_module(f->k, f->mod), 0);
    /* Gone from the bank's books at once (quota and map entries back)... */
    assert_int_equal(pk_bank_used(s, PK_BANK_PRIME, PK_RES_OBJECTS), prime_before);
    assert_int_equal(pk_bank_used(s, PK_BANK_PRIME, PK_RES_MAP_ENTRIES), 0);
    /* ...but the frames stay held, unzeroed, while the device may reach them. */
    for (uint64_t i = pfn; i < pfn + 2; i++) {
        assert_int_not_equal(s->frame_owner[i], PK_FRAME_FREE);
        assert_int_equal(s->obj[s->frame_owner[i]].type, PK_OBJ_NONE);
        assert_int_equal(pk_cache_pins(s, KMEM_RAM_OID + i), 1);
        assert_false(test_frame_zero(f, i));
    }
    assert_int_equal(iommu_flush_pending(f->mmu), 2);
    iommu_flush(f->mmu);
    test_expect_free_zero(f, pfn, 2);
    assert_int_equal(pk_cache_pins(s, KMEM_RAM_OID + pfn), 0);
    kdma_reap(f->k);
    assert_int_equal(f->k->dma.nmaps, 0);
    assert_int_equal(pk_bank_used(s, PK_BANK_PRIME, PK_RES_MAP_ENTRIES), 0);
    test_finish(f);
}

/* 5. The mapping-entry quota -------------------------------------------- */

static void test_banks__map_entry_quota_strict__third_page_refused_with_a_line(void **state)
{
    TestFx *f = *state;
    uint64_t buf, h, h2;

    test_start(f, IOMMU_MODE_STRICT, 0, 2);
    assert_int_equal(test_usage(f, f->mod).quota_map_entries, 2);
    buf = test_mod_call(f, "bankt_kmalloc", 1, (uint64_t)(4 * TEST_PAGE));
    assert_int_not_equal(buf, 0);
    assert_int_equal(buf % TEST_PAGE, 0);
    /* Three pages: refused, the driver sees the mapping error. */
    h = test_mod_call(f, "bankt_map", 3, buf, (uint64_t)(3 * TEST_PAGE),
                      (uint64_t)TEST_TO_DEVICE);
    assert_int_equal(h, TEST_MAPPING_ERROR);
    assert_int_equal(test_u64(f, f->mod, "map_errors"), 1);
    test_expect_refused(f, "3 pages", 1);
    assert_int_equal(test_usage(f, f->mod).map_entries, 0);
    assert_int_equal(iommu_pins(f->mmu), 0);
    assert_int_equal(f->k->dma.nmaps, 0);
    /* Two pages' bytes at an offset span three pages: refused too. */
    h = test_mod_call(f, "bankt_map", 3, buf + 100, (uint64_t)(2 * TEST_PAGE),
                      (uint64_t)TEST_TO_DEVICE);
    assert_int_equal(h, TEST_MAPPING_ERROR);
    test_expect_refused(f, "3 pages", 2);
    /* Two pages fit. */
    h = test_mod_call(f, "bankt_map", 3, buf, (uint64_t)(2 * TEST_PAGE),
                      (uint64_t)TEST_TO_DEVICE);
    assert_int_not_equal(h, TEST_MAPPING_ERROR);
    assert_int_equal(test_usage(f, f->mod).map_entries, 2);
    assert_int_equal(pk_bank_used(test_store(f), PK_BANK_PRIME, PK_RES_MAP_ENTRIES), 2);
    assert_int_equal(iommu_pins(f->mmu), 2);
    /* One more is over. */
    h2 = test_mod_call(f, "bankt_map", 3, buf + 3 * TEST_PAGE, (uint64_t)16,
                       (uint64_t)TEST_FROM_DEVICE);
    assert_int_equal(h2, TEST_MAPPING_ERROR);
    test_expect_refused(f, "1 page", 1);
    assert_int_equal(test_usage(f, f->mod).map_entries, 2);
    assert_int_equal(test_u64(f, f->mod, "map_errors"), 3);
    /* Unmapped (strict): the entries are back at once. */
    test_mod_call(f, "bankt_unmap", 3, h, (uint64_t)(2 * TEST_PAGE), (uint64_t)TEST_TO_DEVICE);
    assert_int_equal(test_usage(f, f->mod).map_entries, 0);
    assert_int_equal(pk_bank_used(test_store(f), PK_BANK_PRIME, PK_RES_MAP_ENTRIES), 0);
    assert_int_equal(iommu_pins(f->mmu), 0);
    h2 = test_mod_call(f, "bankt_map", 3, buf + 3 * TEST_PAGE, (uint64_t)16,
                       (uint64_t)TEST_FROM_DEVICE);
    assert_int_not_equal(h2, TEST_MAPPING_ERROR);
    assert_int_equal(test_usage(f, f->mod).map_entries, 1);
    test_finish(f);
}

/* Lazy IOMMU: an unmapped range keeps its entries charged until it is
 * reaped (the flush queue drained, then kdma_reap); a map that finds the
 * bank at its quota drains the queue, reaps and tries again (as Linux
 * flushes when IOVA space runs short), and is refused only if that does not
 * make room. */
static void test_banks__map_entry_quota_lazy__charged_until_reaped(void **state)
{
    TestFx *f = *state;
    uint64_t buf, h, h2;

    test_start(f, IOMMU_MODE_LAZY, 0, 2);
    buf = test_mod_call(f, "bankt_kmalloc", 1, (uint64_t)(4 * TEST_PAGE));
    assert_int_equal(buf % TEST_PAGE, 0);
    h = test_mod_call(f, "bankt_map", 3, buf, (uint64_t)(2 * TEST_PAGE),
                      (uint64_t)TEST_BIDIRECTIONAL);
    assert_int_not_equal(h, TEST_MAPPING_ERROR);
    assert_int_equal(test_usage(f, f->mod).map_entries, 2);
    test_mod_call(f, "bankt_unmap", 3, h, (uint64_t)(2 * TEST_PAGE),
                  (uint64_t)TEST_BIDIRECTIONAL);
    assert_int_equal(test_usage(f, f->mod).map_entries, 2);
    assert_int_equal(iommu_flush_pending(f->mmu), 2);
    /* The drain alone does not give them back; the reap does. */
    iommu_flush(f->mmu);
    assert_int_equal(test_usage(f, f->mod).map_entries, 2);
    kdma_reap(f->k);
    assert_int_equal(test_usage(f, f->mod).map_entries, 0);
    assert_int_equal(f->k->dma.nmaps, 0);
    /* At the quota with an unmapped range waiting for the flush: the map
     * drains the queue, reaps, and succeeds. */
    h = test_mod_call(f, "bankt_map", 3, buf, (uint64_t)(2 * TEST_PAGE),
                      (uint64_t)TEST_BIDIRECTIONAL);
    assert_int_not_equal(h, TEST_MAPPING_ERROR);
    test_mod_call(f, "bankt_unmap", 3, h, (uint64_t)(2 * TEST_PAGE),
                  (uint64_t)TEST_BIDIRECTIONAL);
    assert_int_equal(iommu_flush_pending(f->mmu), 2);
    h = test_mod_call(f, "bankt_map", 3, buf + 2 * TEST_PAGE, (uint64_t)TEST_PAGE,
                      (uint64_t)TEST_TO_DEVICE);
    assert_int_not_equal(h, TEST_MAPPING_ERROR);
    assert_int_equal(iommu_flush_pending(f->mmu), 0);
    assert_int_equal(test_usage(f, f->mod).map_entries, 1);
    test_expect_refused(f, "1 page", 0);
    /* Live mappings are not drained away: 1 + 2 > 2 is refused. */
    h2 = test_mod_call(f, "bankt_map", 3, buf, (uint64_t)(2 * TEST_PAGE),
                       (uint64_t)TEST_TO_DEVICE);
    assert_int_equal(h2, TEST_MAPPING_ERROR);
    test_expect_refused(f, "2 pages", 1);
    assert_int_equal(test_usage(f, f->mod).map_entries, 1);
    test_mod_call(f, "bankt_unmap", 3, h, (uint64_t)TEST_PAGE, (uint64_t)TEST_TO_DEVICE);
    test_finish(f);
}

/* 6. An IOMMU pin is a store pin ------------------------------------------ */

/* A kmalloc'd buffer freed while its frame is still pinned by a lazily
 * unmapped range: the page object is destroyed at once (its quota back),
 * its frame freed and zeroed by the drain. */
static void test_banks__dma_pin_lazy__kfree_while_pinned_frees_at_the_drain(void **state)
{
    TestFx *f = *state;
    uint64_t pages, big, pfn, h, h2;
    const PkStore *s;

    test_start(f, IOMMU_MODE_LAZY, 0, 0);
    s = test_store(f);
    pages = test_image_pages(f, f->mod);
    /* 80 KiB: an arena of its own, 21 pages, freed with it. */
    big = test_mod_call(f, "bankt_kmalloc", 1, (uint64_t)(80 << 10));
    assert_int_not_equal(big, 0);
    assert_int_equal(big % TEST_PAGE, 0);
    assert_int_equal(test_usage(f, f->mod).pages, pages + 21);
    pfn = test_pfn(big);
    test_fill(f, big, 2 * TEST_PAGE, 0x77);
    assert_int_equal(pk_cache_pins(s, KMEM_RAM_OID + pfn), 0);
    h = test_mod_call(f, "bankt_map", 3, big, (uint64_t)100, (uint64_t)TEST_TO_DEVICE);
    assert_int_not_equal(h, TEST_MAPPING_ERROR);
    assert_int_equal(pk_cache_pins(s, KMEM_RAM_OID + pfn), 1);
    assert_int_equal(pk_cache_pins(s, KMEM_RAM_OID + pfn + 1), 0);
    /* Mapped twice: two IOMMU pins, still one store pin (0 -> 1). */
    h2 = test_mod_call(f, "bankt_map", 3, big + 8, (uint64_t)8, (uint64_t)TEST_FROM_DEVICE);
    assert_int_not_equal(h2, TEST_MAPPING_ERROR);
    assert_int_equal(iommu_frame_pin_count(f->mmu, pfn * TEST_PAGE), 2);
    assert_int_equal(pk_cache_pins(s, KMEM_RAM_OID + pfn), 1);
    test_mod_call(f, "bankt_unmap", 3, h, (uint64_t)100, (uint64_t)TEST_TO_DEVICE);
    test_mod_call(f, "bankt_unmap", 3, h2, (uint64_t)8, (uint64_t)TEST_FROM_DEVICE);
    /* Lazily unmapped: the deferred invalidation still pins it. */
    assert_int_equal(pk_cache_pins(s, KMEM_RAM_OID + pfn), 1);
    test_mod_call(f, "bankt_kfree", 1, big);
    assert_int_equal(test_usage(f, f->mod).pages, pages);
    assert_int_not_equal(s->frame_owner[pfn], PK_FRAME_FREE);
    assert_int_equal(s->obj[s->frame_owner[pfn]].type, PK_OBJ_NONE);
    assert_false(test_frame_zero(f, pfn));
    test_expect_free_zero(f, pfn + 1, 20);
    iommu_flush(f->mmu);
    test_expect_free_zero(f, pfn, 1);
    assert_int_equal(pk_cache_pins(s, KMEM_RAM_OID + pfn), 0);
    kdma_reap(f->k);
    assert_int_equal(f->k->dma.nmaps, 0);
    assert_int_equal(test_usage(f, f->mod).map_entries, 0);
    test_finish(f);
}

/* dma_free_coherent in lazy mode: the buffer's pages stay the bank's page
 * objects until the range is reaped, pinned until the drain. */
static void test_banks__dma_pin_lazy__freed_coherent_held_until_flush_and_reap(void **state)
{
    TestFx *f = *state;
    uint64_t pages, coh, h, pfn;
    const PkStore *s;
    int32_t bank;

    test_start(f, IOMMU_MODE_LAZY, 0, 0);
    s = test_store(f);
    bank = f->k->module_bank[f->mod];
    pages = test_image_pages(f, f->mod);
    coh = test_mod_call(f, "bankt_alloc_coherent", 1, (uint64_t)(2 * TEST_PAGE));
    assert_int_not_equal(coh, 0);
    h = test_u64(f, f->mod, "coh_handle");
    pfn = test_pfn(coh);
    test_fill(f, coh, 2 * TEST_PAGE, 0x33);
    for (uint64_t i = pfn; i < pfn + 2; i++) {
        assert_int_equal(test_frame_bank(f, i), bank);
        assert_int_equal(pk_cache_pins(s, KMEM_RAM_OID + i), 1);
    }
    assert_int_equal(test_usage(f, f->mod).pages, pages + 2);
    assert_int_equal(test_usage(f, f->mod).map_entries, 2);
    test_mod_call(f, "bankt_free_coherent", 3, (uint64_t)(2 * TEST_PAGE), coh, h);
    for (uint64_t i = pfn; i < pfn + 2; i++) {
        assert_int_equal(test_frame_bank(f, i), bank);
        assert_int_equal(pk_cache_pins(s, KMEM_RAM_OID + i), 1);
        assert_false(test_frame_zero(f, i));
    }
    iommu_flush(f->mmu);
    for (uint64_t i = pfn; i < pfn + 2; i++) {
        assert_int_equal(test_frame_bank(f, i), bank);       /* until the reap */
        assert_int_equal(pk_cache_pins(s, KMEM_RAM_OID + i), 0);
    }
    assert_int_equal(test_usage(f, f->mod).pages, pages + 2);
    kdma_reap(f->k);
    test_expect_free_zero(f, pfn, 2);
    assert_int_equal(test_usage(f, f->mod).pages, pages);
    assert_int_equal(test_usage(f, f->mod).map_entries, 0);
    test_finish(f);
}

/* Strict IOMMU: the pin goes with the unmap, and a freed frame is free. */
static void test_banks__dma_pin_strict__unpinned_at_unmap(void **state)
{
    TestFx *f = *state;
    uint64_t coh, h, pfn;
    const PkStore *s;

    test_start(f, IOMMU_MODE_STRICT, 0, 0);
    s = test_store(f);
    coh = test_mod_call(f, "bankt_alloc_coherent", 1, (uint64_t)TEST_PAGE);
    assert_int_not_equal(coh, 0);
    h = test_u64(f, f->mod, "coh_handle");
    pfn = test_pfn(coh);
    test_fill(f, coh, TEST_PAGE, 0x33);
    assert_int_equal(pk_cache_pins(s, KMEM_RAM_OID + pfn), 1);
    test_mod_call(f, "bankt_free_coherent", 3, (uint64_t)TEST_PAGE, coh, h);
    assert_int_equal(pk_cache_pins(s, KMEM_RAM_OID + pfn), 0);
    test_expect_free_zero(f, pfn, 1);
    assert_int_equal(test_usage(f, f->mod).map_entries, 0);
    test_finish(f);
}

/*
 * Lazy IOMMU: a module frees a coherent buffer (or leaves it to the unbind
 * at exit) and exits before the flush queue drains.  The quarantined range
 * still names the module's bank by index and owns the buffer's frames; the
 * bank is destroyed at exit and its frames go free at the drain.  The next
 * module gets the same bank index and, first fit, the same frames.  Reaping
 * the old range must then neither give its entries back to the new bank
 * nor free the new module's pages.
 * (kdma_bank_gone: at the bank's destruction the range stops naming it.)
 */
static void test_banks__lazy_range_of_a_dead_bank__reap_spares_the_next_module(void **state)
{
    TestFx *f = *state;
    uint64_t coh, h;
    int32_t bank;

    test_start(f, IOMMU_MODE_LAZY, 0, 0);
    bank = f->k->module_bank[f->mod];
    coh = test_mod_call(f, "bankt_alloc_coherent", 1, (uint64_t)TEST_PAGE);
    assert_int_not_equal(coh, 0);
    h = test_u64(f, f->mod, "coh_handle");
    test_mod_call(f, "bankt_free_coherent", 3, (uint64_t)TEST_PAGE, coh, h);
    assert_int_equal(kernel_exit_module(f->k, f->mod), 0);
    iommu_flush(f->mmu);                 /* the flush window passed: no reap yet */
    test_expect_free_zero(f, test_pfn(coh), 1);
    test_load_init(f);
    assert_int_equal(f->k->module_bank[f->mod], bank);
    /* The new buffer lands in the old one's frame, and its map reaps. */
    h = test_mod_call(f, "bankt_alloc_coherent", 1, (uint64_t)TEST_PAGE);
    assert_int_equal(h, coh);
    assert_int_equal(test_frame_bank(f, test_pfn(h)), bank);
    assert_int_equal(test_usage(f, f->mod).map_entries, 1);
    assert_int_equal(pk_bank_used(test_store(f), PK_BANK_PRIME, PK_RES_MAP_ENTRIES), 1);
    assert_int_equal(pk_cache_pins(test_store(f), KMEM_RAM_OID + test_pfn(h)), 1);
    test_finish(f);
}

static int setup(void **state)
{
    TestFx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    TestFx *f = *state;

    if (f->k) {
        test_finish(f);
    }
    free(f);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_banks__module_image__is_page_objects_of_its_own_bank,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_banks__kmalloc__module_code_to_its_bank_kernel_to_prime, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_banks__page_quota__kmalloc_null_at_quota_others_unaffected, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_banks__quota_below_image__load_fails_naming_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_banks__module_exit__frames_free_zero_leaks_counted_caps_void, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_banks__module_exit_lazy__pinned_frames_freed_at_last_unpin, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_banks__map_entry_quota_strict__third_page_refused_with_a_line, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_banks__map_entry_quota_lazy__charged_until_reaped, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_banks__dma_pin_lazy__kfree_while_pinned_frees_at_the_drain, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_banks__dma_pin_lazy__freed_coherent_held_until_flush_and_reap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_banks__dma_pin_strict__unpinned_at_unmap, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_banks__lazy_range_of_a_dead_bank__reap_spares_the_next_module, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
