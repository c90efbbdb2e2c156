/*
 * devices/e1000_phy.h: the 82540EM's internal copper PHY (an M88E1011
 * core) behind the MDIC register.  See e1000_phy.c.
 */
#ifndef DEVICES_E1000_PHY_H
#define DEVICES_E1000_PHY_H

#include <stdbool.h>
#include <stdint.h>

#define E1000_PHY_ADDR 1             /* the only address the MAC's PHY answers */
#define E1000_PHY_REGS 32

/* Register numbers (IEEE 802.3 clause 22, then Marvell-specific). */
enum {
    E1000_PHY_BMCR = 0,
    E1000_PHY_BMSR = 1,
    E1000_PHY_ID1 = 2,
    E1000_PHY_ID2 = 3,
    E1000_PHY_ANAR = 4,
    E1000_PHY_ANLPAR = 5,
    E1000_PHY_ANER = 6,
    E1000_PHY_NPTX = 7,
    E1000_PHY_LPNP = 8,
    E1000_PHY_GTCR = 9,              /* 1000BASE-T control */
    E1000_PHY_GTSR = 10,             /* 1000BASE-T status */
    E1000_PHY_EXT_STATUS = 15,
    E1000_PHY_PSCR = 16,             /* M88 specific control */
    E1000_PHY_PSSR = 17,             /* M88 specific status */
    E1000_PHY_IER = 18,
    E1000_PHY_ISR = 19,
    E1000_PHY_EPSCR = 20,
    E1000_PHY_RX_ERR = 21,
};

#define E1000_PHY_BMCR_RESET 0x8000
#define E1000_PHY_BMCR_SPEED_LSB 0x2000
#define E1000_PHY_BMCR_ANE 0x1000
#define E1000_PHY_BMCR_POWER_DOWN 0x0800
#define E1000_PHY_BMCR_ISOLATE 0x0400
#define E1000_PHY_BMCR_RESTART_AN 0x0200
#define E1000_PHY_BMCR_FD 0x0100
#define E1000_PHY_BMCR_SPEED_MSB 0x0040

#define E1000_PHY_ID1_M88 0x0141
#define E1000_PHY_ID2_M88E1011 0x0c20    /* model 0x02, revision 0 */

typedef struct E1000Phy {
    uint16_t reg[E1000_PHY_REGS];    /* the writable registers' contents */
} E1000Phy;

/* Power-on (and CTRL.PHY_RST) state. */
void e1000_phy_reset(E1000Phy *p);
/* MDIC read/write of register r (0-31).  Reads have no side effects. */
uint16_t e1000_phy_read(const E1000Phy *p, unsigned r);
void e1000_phy_write(E1000Phy *p, unsigned r, uint16_t v);
/* Whether the PHY has link with the (fixed) partner, and at what: speed in
 * Mb/s (10, 100, 1000) and duplex. */
bool e1000_phy_link(const E1000Phy *p);
unsigned e1000_phy_speed(const E1000Phy *p);
bool e1000_phy_full_duplex(const E1000Phy *p);

#endif
