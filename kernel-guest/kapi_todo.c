/*
 * kernel-guest/kapi_todo.c: functions the legacy NIC drivers import
 * (shared/notes/driver-survey/imports-tier1.txt) that sluice does not
 * serve yet.  They resolve, so those drivers load and probe; calling one
 * stops the guest with a report naming it.  Whatever another kapi_*.c
 * file serves is skipped here: this list shrinks as the API grows.
 */
#include "kernel-guest/kernel_internal.h"

static const char *const kapi_todo_names[] = {
    "__SCT__cond_resched", "__SCT__preempt_schedule", "___pskb_trim", "__alloc_skb",
    "__const_udelay", "__dev_kfree_skb_any", "__dynamic_dev_dbg", "__dynamic_netdev_dbg",
    "__dynamic_pr_debug", "__fentry__", "__folio_put", "__kmalloc", "__local_bh_enable_ip",
    "__napi_alloc_skb", "__napi_schedule", "__netdev_alloc_frag_align",
    "__netdev_alloc_skb", "__pci_register_driver", "__pskb_pull_tail",
    "__put_devmap_managed_page_refs", "__release_region", "__request_region", "__skb_pad",
    "__stack_chk_fail", "__udelay", "__warn_printk", "__x86_indirect_thunk_r12",
    "__x86_indirect_thunk_r13", "__x86_indirect_thunk_r14", "__x86_indirect_thunk_r15",
    "__x86_indirect_thunk_r8", "__x86_indirect_thunk_r9", "__x86_indirect_thunk_rax",
    "__x86_indirect_thunk_rcx", "__x86_return_thunk", "_dev_err", "_dev_info", "_dev_warn",
    "_find_next_bit", "_printk", "_raw_spin_lock", "_raw_spin_lock_bh",
    "_raw_spin_lock_irq", "_raw_spin_lock_irqsave", "_raw_spin_unlock",
    "_raw_spin_unlock_bh", "_raw_spin_unlock_irq", "_raw_spin_unlock_irqrestore",
    "alloc_etherdev_mqs", "alloc_netdev_mqs", "alloc_pages", "cancel_delayed_work_sync",
    "cancel_work_sync", "cc_platform_has", "consume_skb", "crc32_le", "csum_ipv6_magic",
    "delayed_work_timer_fn", "dev_addr_mod", "dev_driver_string", "dev_trans_start",
    "device_set_wakeup_enable", "disable_hardirq", "disable_irq", "disable_irq_nosync",
    "dma_alloc_attrs", "dma_free_attrs", "dma_map_page_attrs", "dma_pool_alloc",
    "dma_pool_create", "dma_pool_destroy", "dma_pool_free", "dma_set_coherent_mask",
    "dma_set_mask", "dma_sync_single_for_cpu", "dma_sync_single_for_device",
    "dma_unmap_page_attrs", "dql_completed", "dql_reset", "enable_irq", "eth_mac_addr",
    "eth_type_trans", "eth_validate_addr", "ether_setup",
    "ethtool_convert_legacy_u32_to_link_mode", "ethtool_convert_link_mode_to_legacy_u32",
    "ethtool_op_get_ts_info", "fortify_panic", "free_irq", "free_netdev", "init_timer_key",
    "ioread16", "ioread16_rep", "ioread32", "ioread8", "ioremap", "iounmap", "iowrite16",
    "iowrite16_rep", "iowrite32", "iowrite8", "is_vmalloc_addr", "kfree",
    "kfree_skb_reason", "kmalloc_trace", "memcmp", "memcpy", "memcpy_fromio", "memset",
    "mod_timer", "msleep", "msleep_interruptible", "mutex_lock", "mutex_unlock",
    "napi_build_skb", "napi_complete_done", "napi_consume_skb", "napi_disable",
    "napi_enable", "napi_get_frags", "napi_gro_frags", "napi_gro_receive",
    "napi_schedule_prep", "net_ratelimit", "netdev_err", "netdev_info", "netdev_notice",
    "netdev_printk", "netdev_stats_to_stats64", "netdev_warn", "netif_carrier_off",
    "netif_carrier_on", "netif_device_attach", "netif_device_detach",
    "netif_napi_add_weight", "netif_receive_skb", "netif_rx", "netif_schedule_queue",
    "netif_tx_wake_queue", "page_frag_free", "pci_clear_mwi", "pci_disable_device",
    "pci_enable_device", "pci_enable_device_mem", "pci_enable_wake", "pci_iomap",
    "pci_ioremap_bar", "pci_iounmap", "pci_pme_active", "pci_prepare_to_sleep",
    "pci_read_config_word", "pci_release_regions", "pci_release_selected_regions",
    "pci_request_regions", "pci_request_selected_regions", "pci_save_state",
    "pci_select_bars", "pci_set_master", "pci_set_mwi", "pci_set_power_state",
    "pci_unregister_driver", "pci_wake_from_d3", "pci_write_config_word", "pcix_get_mmrbc",
    "pcix_set_mmrbc", "print_hex_dump", "probe_irq_off", "probe_irq_on",
    "pskb_expand_head", "queue_delayed_work_on", "queue_work_on", "register_netdev",
    "release_firmware", "request_firmware", "request_threaded_irq", "round_jiffies",
    "rtnl_lock", "rtnl_unlock", "skb_clone_tx_timestamp", "skb_copy_and_csum_dev",
    "skb_copy_bits", "skb_defer_rx_timestamp", "skb_put", "skb_trim", "skb_tstamp_tx",
    "snprintf", "strchr", "strncpy", "strnlen", "strscpy", "synchronize_irq",
    "synchronize_rcu", "timer_delete_sync", "unregister_netdev", "usleep_range_state",
    "vfree", "vzalloc",
};

int kapi_todo_register(Kernel *k, SlError *e)
{
    for (size_t i = 0; i < sizeof(kapi_todo_names) / sizeof(kapi_todo_names[0]); i++) {
        int err;

        if (ksyms_find(&k->syms, kapi_todo_names[i])) {
            continue;
        }
        err = kapi_todo(k, kapi_todo_names[i], e);
        if (err) {
            return err;
        }
    }
    return 0;
}
