#ifndef CCOOPPREFETCH_H
#define CCOOPPREFETCH_H

/// Asks the processor to bring the cache line holding `address` closer (a hint: never faults, changes no
/// memory, may be ignored). For CoopLedger's `EntryIDSet`, whose table a large replay reads at random: Swift has no
/// prefetch of its own. Thread-safe.
static inline void coop_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

#endif
