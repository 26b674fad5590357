#ifndef CCOOPCRC32C_H
#define CCOOPCRC32C_H

#include <stddef.h>
#include <stdint.h>

/// CRC-32C with the processor's own instruction (SSE 4.2 `crc32` on x86-64; on AArch64 when compiled for its CRC
/// extension), for CoopSegments' `CRC32C`. Thread-safe: no state.

/// 1 when `coop_crc32c_hw_update` may be called on this processor, 0 otherwise (then it must not be).
int coop_crc32c_hw_available(void);

/// Continues the register `crc` (already inverted: the caller passes `~finished` and inverts the result) over
/// `count` bytes at `bytes`.
uint32_t coop_crc32c_hw_update(uint32_t crc, const void *bytes, size_t count);

#endif
