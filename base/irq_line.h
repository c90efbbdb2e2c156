/*
 * base/irq_line.h: an interrupt line from a device model to whoever wires it.
 *
 * A device raises or lowers its line; it never knows what is on the other end
 * (the machine routes it to the emulated kernel's IRQ layer).  Level
 * semantics, like PCI INTx.
 */
#ifndef BASE_IRQ_LINE_H
#define BASE_IRQ_LINE_H

typedef struct IrqLine {
    void (*set_level)(void *opaque, int line, int level);
    void *opaque;
    int line;
} IrqLine;

static inline void irq_line_set(const IrqLine *irq, int level)
{
    if (irq && irq->set_level) {
        irq->set_level(irq->opaque, irq->line, level);
    }
}

#endif
