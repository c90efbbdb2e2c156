/*
 * devices/e1000_phy.c: the internal 10/100/1000BASE-T PHY of the Intel
 * 82540EM, an M88E1011 core (8254x SDM §8.22 "PHY Registers"; PHY
 * identifier 0x01410c2x, which e1000_detect_gig_phy() requires for an
 * 82540), reached through MDIC at PHY address 1.
 *
 * The cable is always plugged into a fixed link partner that advertises
 * every 10/100/1000 mode and symmetric plus asymmetric PAUSE.  With
 * autonegotiation enabled the link resolves at once (no 2-3 s negotiation:
 * nothing in the machine needs to wait for it) to the best mode both
 * advertise -- 1000 Mb/s full duplex with the driver's settings -- and the
 * status registers (BMSR, ANLPAR, ANER, 1000BASE-T status, the M88
 * specific status) report it.  With autonegotiation off the link comes up
 * at the forced speed and duplex.  Power-down and isolate take the link
 * down.  BMCR.RESET and RESTART_AN complete at once and self-clear; like
 * the M88 core, a software reset keeps the configuration registers.
 *
 * Not modelled: the M88 pages behind register 22/29, cable diagnostics,
 * downshift, MDI-X status, PHY interrupts (IER/ISR read as written/0),
 * receive error counting, loopback.
 */
#include "devices/e1000_phy.h"

#include <string.h>

/* Read-only values. */
#define E1000_PHY_BMSR_BASE 0x7949   /* 100FD/HD 10FD/HD, ext status, preamble
                                      * suppression, AN able, ext regs */
#define E1000_PHY_BMSR_LINK 0x0004
#define E1000_PHY_BMSR_AN_DONE 0x0020
#define E1000_PHY_PARTNER_ANLPAR 0x4de1  /* ACK, ASM_DIR, PAUSE, all 10/100 */
#define E1000_PHY_PARTNER_ANER 0x0001    /* partner negotiates */
#define E1000_PHY_PARTNER_GTSR 0x3c00    /* local/remote rx OK, 1000FD/HD */
#define E1000_PHY_EXT_STATUS_VALUE 0x3000 /* 1000BASE-T FD and HD */

/* M88 specific status: speed 15:14, duplex 13, resolved 11, link 10. */
#define E1000_PHY_PSSR_1000 0x8000
#define E1000_PHY_PSSR_100 0x4000
#define E1000_PHY_PSSR_FD 0x2000
#define E1000_PHY_PSSR_RESOLVED 0x0800
#define E1000_PHY_PSSR_LINK 0x0400

/* Advertisement bits. */
#define E1000_PHY_GTCR_1000FD 0x0200
#define E1000_PHY_GTCR_1000HD 0x0100
#define E1000_PHY_ANAR_100FD 0x0100
#define E1000_PHY_ANAR_100HD 0x0080
#define E1000_PHY_ANAR_10FD 0x0040
#define E1000_PHY_ANAR_10HD 0x0020
#define E1000_PHY_ANAR_SELECTOR 0x0001

/* Power-on values of the writable registers. */
#define E1000_PHY_BMCR_DEFAULT 0x1140    /* AN enabled, FD, 1000 */
#define E1000_PHY_ANAR_DEFAULT 0x0de1    /* all 10/100, PAUSE + ASM_DIR */
#define E1000_PHY_GTCR_DEFAULT 0x0300
#define E1000_PHY_NPTX_DEFAULT 0x2001
#define E1000_PHY_PSCR_DEFAULT 0x0068    /* auto crossover, CRS on transmit */
#define E1000_PHY_EPSCR_DEFAULT 0x0c60

typedef struct E1000PhyMode {
    unsigned speed;                  /* 0: no link */
    bool fd;
} E1000PhyMode;

void e1000_phy_reset(E1000Phy *p)
{
    memset(p, 0, sizeof(*p));
    p->reg[E1000_PHY_BMCR] = E1000_PHY_BMCR_DEFAULT;
    p->reg[E1000_PHY_ANAR] = E1000_PHY_ANAR_DEFAULT;
    p->reg[E1000_PHY_GTCR] = E1000_PHY_GTCR_DEFAULT;
    p->reg[E1000_PHY_NPTX] = E1000_PHY_NPTX_DEFAULT;
    p->reg[E1000_PHY_PSCR] = E1000_PHY_PSCR_DEFAULT;
    p->reg[E1000_PHY_EPSCR] = E1000_PHY_EPSCR_DEFAULT;
}

/* What the link resolves to; the partner can do every mode. */
static E1000PhyMode e1000_phy_mode(const E1000Phy *p)
{
    uint16_t bmcr = p->reg[E1000_PHY_BMCR];
    uint16_t anar = p->reg[E1000_PHY_ANAR], gtcr = p->reg[E1000_PHY_GTCR];

    if (bmcr & (E1000_PHY_BMCR_POWER_DOWN | E1000_PHY_BMCR_ISOLATE)) {
        return (E1000PhyMode){ 0, false };
    }
    if (!(bmcr & E1000_PHY_BMCR_ANE)) {
        unsigned speed = (bmcr & E1000_PHY_BMCR_SPEED_MSB) ? 1000
                       : (bmcr & E1000_PHY_BMCR_SPEED_LSB) ? 100 : 10;

        return (E1000PhyMode){ speed, (bmcr & E1000_PHY_BMCR_FD) != 0 };
    }
    /* IEEE 802.3 annex 28B priority resolution. */
    if (gtcr & E1000_PHY_GTCR_1000FD) return (E1000PhyMode){ 1000, true };
    if (gtcr & E1000_PHY_GTCR_1000HD) return (E1000PhyMode){ 1000, false };
    if (anar & E1000_PHY_ANAR_100FD) return (E1000PhyMode){ 100, true };
    if (anar & E1000_PHY_ANAR_100HD) return (E1000PhyMode){ 100, false };
    if (anar & E1000_PHY_ANAR_10FD) return (E1000PhyMode){ 10, true };
    if (anar & E1000_PHY_ANAR_10HD) return (E1000PhyMode){ 10, false };
    return (E1000PhyMode){ 0, false };   /* nothing in common */
}

bool e1000_phy_link(const E1000Phy *p)
{
    return e1000_phy_mode(p).speed != 0;
}

unsigned e1000_phy_speed(const E1000Phy *p)
{
    return e1000_phy_mode(p).speed;
}

bool e1000_phy_full_duplex(const E1000Phy *p)
{
    return e1000_phy_mode(p).fd;
}

static uint16_t e1000_phy_pssr(E1000PhyMode m)
{
    uint16_t v;

    if (!m.speed) {
        return 0;
    }
    v = E1000_PHY_PSSR_RESOLVED | E1000_PHY_PSSR_LINK;
    v |= m.speed == 1000 ? E1000_PHY_PSSR_1000 : m.speed == 100 ? E1000_PHY_PSSR_100 : 0;
    v |= m.fd ? E1000_PHY_PSSR_FD : 0;
    return v;
}

uint16_t e1000_phy_read(const E1000Phy *p, unsigned r)
{
    E1000PhyMode m = e1000_phy_mode(p);
    bool negotiated = m.speed && (p->reg[E1000_PHY_BMCR] & E1000_PHY_BMCR_ANE);

    switch (r) {
    case E1000_PHY_BMSR:
        return E1000_PHY_BMSR_BASE | (m.speed ? E1000_PHY_BMSR_LINK : 0) |
               (negotiated ? E1000_PHY_BMSR_AN_DONE : 0);
    case E1000_PHY_ID1:       return E1000_PHY_ID1_M88;
    case E1000_PHY_ID2:       return E1000_PHY_ID2_M88E1011;
    case E1000_PHY_ANLPAR:    return negotiated ? E1000_PHY_PARTNER_ANLPAR : 0;
    case E1000_PHY_ANER:      return negotiated ? E1000_PHY_PARTNER_ANER : 0;
    case E1000_PHY_LPNP:      return 0;
    case E1000_PHY_GTSR:      return negotiated ? E1000_PHY_PARTNER_GTSR : 0;
    case E1000_PHY_EXT_STATUS: return E1000_PHY_EXT_STATUS_VALUE;
    case E1000_PHY_PSSR:      return e1000_phy_pssr(m);
    case E1000_PHY_ISR:       return 0;
    case E1000_PHY_RX_ERR:    return 0;
    default:
        return r < E1000_PHY_REGS ? p->reg[r] : 0xffff;
    }
}

void e1000_phy_write(E1000Phy *p, unsigned r, uint16_t v)
{
    switch (r) {
    case E1000_PHY_BMCR:
        /* Reset and restart-autonegotiation finish at once. */
        p->reg[r] = v & (uint16_t)~(E1000_PHY_BMCR_RESET | E1000_PHY_BMCR_RESTART_AN);
        break;
    case E1000_PHY_ANAR:
        p->reg[r] = (uint16_t)(v | E1000_PHY_ANAR_SELECTOR);
        break;
    case E1000_PHY_BMSR: case E1000_PHY_ID1: case E1000_PHY_ID2:
    case E1000_PHY_ANLPAR: case E1000_PHY_ANER: case E1000_PHY_LPNP:
    case E1000_PHY_GTSR: case E1000_PHY_EXT_STATUS: case E1000_PHY_PSSR:
    case E1000_PHY_ISR: case E1000_PHY_RX_ERR:
        break;                       /* read-only */
    default:
        if (r < E1000_PHY_REGS) {
            p->reg[r] = v;           /* M88 controls: kept, no effect */
        }
        break;
    }
}
