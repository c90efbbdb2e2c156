/* tests/modules/testmod.h: the little a freestanding test module needs. */
#ifndef TESTMOD_H
#define TESTMOD_H
typedef unsigned long u64;
typedef unsigned int u32;
#endif
