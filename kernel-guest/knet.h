/*
 * kernel-guest/knet.h: the emulated kernel's bookkeeping for bringing a
 * network interface up and running it: the IRQ descriptor table
 * (kapi_irq.c), scheduled NAPI instances (kapi_napi.c), pending work items
 * and timers (kapi_work.c), and what kapi_netdev.c's dev_open/dev_close
 * share with them.  Not for other layers.
 *
 * Snapshot rule (BRIEF §4): every field is plain data -- IRQ numbers,
 * guest addresses, jiffies, module indices, sequence numbers -- so each
 * struct can be saved and restored as a flat blob.  No host pointers.
 */
#ifndef KERNEL_GUEST_KNET_H
#define KERNEL_GUEST_KNET_H

#include <stdbool.h>
#include <stdint.h>

/* IRQ descriptors the emulated kernel has: the 16 legacy lines and the
 * IOAPIC pins a PC routes PCI INTx to.  Linux's irq_to_desc() fails above
 * its nr_irqs; request_irq then returns -EINVAL. */
#define KIRQ_NR 64
#define KIRQ_MAX_ACTIONS 32
#define KNAPI_MAX_SCHEDULED 32
#define KWORK_MAX 64
#define KWORK_MAX_TIMERS 64

/* One request_threaded_irq(): Linux's struct irqaction, as plain data. */
typedef struct KIrqAction {
    bool used;
    uint32_t irq;
    uint32_t seq;                /* registration order: shared handlers run in it */
    int module;                  /* whose code handler/thread_fn are */
    uint64_t handler, thread_fn; /* guest code */
    uint64_t dev_id;             /* the cookie free_irq matches */
    uint64_t name;               /* guest string; free_irq returns it */
    uint64_t flags;              /* IRQF_* */
} KIrqAction;

typedef struct KIrqState {
    KIrqAction actions[KIRQ_MAX_ACTIONS];
    /* irq_desc.depth: 0 = enabled; a line without handlers is shut down
     * (depth 1), as Linux leaves it. */
    uint16_t depth[KIRQ_NR];
    uint32_t next_seq;
    unsigned requested_total, freed_total;
} KIrqState;

/* A NAPI instance __napi_schedule() put on the CPU's poll list; ksched.c
 * polls it (net_rx_action in softirq context). */
typedef struct KNapiSched {
    bool used;
    uint32_t seq;                /* poll-list order */
    uint64_t napi;               /* struct napi_struct */
} KNapiSched;

typedef struct KNapiState {
    KNapiSched sched[KNAPI_MAX_SCHEDULED];
    uint32_t next_seq;
    unsigned scheduled_total;
} KNapiState;

/* A queued work item: due at jiffy `due` (now, for queue_work_on). */
typedef struct KWork {
    bool used;
    uint32_t seq;                /* queueing order among items due together */
    int module;                  /* who queued it: its function runs as this module */
    uint64_t work;               /* struct work_struct */
    uint64_t dwork;              /* the struct delayed_work around it, or 0 */
    uint64_t wq;                 /* struct workqueue_struct */
    uint64_t due;
} KWork;

/* An armed timer_list (mod_timer): its expires field holds the same jiffy. */
typedef struct KTimer {
    bool used;
    uint32_t seq;
    int module;
    uint64_t timer;              /* struct timer_list */
    uint64_t expires;
} KTimer;

typedef struct KWorkState {
    KWork items[KWORK_MAX];
    KTimer timers[KWORK_MAX_TIMERS];
    uint32_t next_seq;
    uint64_t running;            /* the work_struct whose function runs now, or 0 */
    uint64_t timer_base;         /* a kernel-data word armed timers' entry.pprev
                                  * points at, so timer_pending() is true */
    unsigned queued_total, run_total, cancelled_total;
} KWorkState;

struct Kernel;

/* kapi_netdev.c: a WARN() raised by served kernel code (not by a ud2 in a
 * driver): the message, then Linux's "WARNING: ... at FILE FUNCTION" line
 * naming the driver instruction that called in; counted in warnings. */
void knet_warn(struct Kernel *k, const char *file, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* kapi_netdev.c: sets or clears bit `bit` of the 64-bit word at va and
 * returns its old value (test_and_set_bit / test_and_clear_bit). */
bool knet_assign_bit(struct Kernel *k, uint64_t va, int64_t bit, bool on);
/* kapi_netdev.c: "ENOMEM" for 12 (or "E?" when unknown). */
const char *knet_errname(int err);

/* kapi_napi.c: forgets scheduled instances of a net_device being freed. */
void knapi_forget_dev(struct Kernel *k, uint64_t dev);
/* kapi_napi.c: the poll list. */
void knapi_list_add(struct Kernel *k, uint64_t napi);
void knapi_list_del(struct Kernel *k, uint64_t napi);
/* The instance scheduled first (0 if none). */
uint64_t knapi_first(struct Kernel *k);
/* kapi_work.c: the jiffies counter now. */
uint64_t kwork_jiffies(struct Kernel *k);
/* kapi_work.c: runs the timers whose expires jiffy has come, earliest
 * first, in softirq context; returns how many ran. */
unsigned kwork_run_due_timers(struct Kernel *k);
/* kapi_work.c: the earliest jiffy a timer or work item is due, or
 * UINT64_MAX when none is pending. */
uint64_t kwork_next_due_jiffy(struct Kernel *k);
/* ksched.c: runs pending softirq work now (NAPI polls, held transmits). */
unsigned ksched_softirq(struct Kernel *k);
/* ksched.c: calls guest code in softirq context (timer functions, NAPI
 * polls): preempt_count carries SOFTIRQ_OFFSET meanwhile. */
int ksched_call_softirq(struct Kernel *k, int module, uint64_t fn, const uint64_t *args,
                        unsigned nargs, uint64_t *ret);
/* ksched.c: interrupts were enabled again (spin_unlock_irqrestore ...):
 * a line that went high meanwhile is delivered at the next chance. */
void ksched_irqs_enabled(struct Kernel *k);

/* The scheduler's own state: interrupt lines and the host's transmit
 * queue (frames the host side sends through a driver).  Plain data. */
#define KSCHED_TXQ 64
#define KSCHED_FRAME_MAX 1536
typedef struct KTxFrame {
    uint16_t len;
    uint8_t ifindex;
    uint8_t data[KSCHED_FRAME_MAX];
} KTxFrame;

typedef struct KSchedState {
    uint64_t level;              /* interrupt lines asserted, bit per IRQ */
    uint32_t unhandled[KIRQ_NR]; /* consecutive IRQ_NONE answers */
    bool in_hardirq, in_softirq;
    KTxFrame txq[KSCHED_TXQ];    /* ring */
    uint32_t tx_head, tx_count;
    uint64_t tx_sent, tx_busy, rx_delivered;
    uint64_t blocks_seen;        /* translated blocks already turned into time */
} KSchedState;

#endif
