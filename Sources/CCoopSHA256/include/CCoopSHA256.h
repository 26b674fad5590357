#ifndef CCOOPSHA256_H
#define CCOOPSHA256_H

#include <stddef.h>
#include <stdint.h>

/// SHA-256 with the processor's SHA extensions (x86-64 SHA-NI), for CoopLedger's entry ids and the log's local chain:
/// one call per message, with no allocation (swift-crypto's `SHA256` allocates a context per digest, which cost as
/// much as the hashing on a replay's short messages). Thread-safe: no state.

/// 1 when `coop_sha256_hw` may be called on this processor, 0 otherwise (then it must not be).
int coop_sha256_hw_available(void);

/// Writes the SHA-256 digest of the `count` bytes at `bytes` to `digest` (32 bytes).
void coop_sha256_hw(const void *bytes, size_t count, uint8_t digest[32]);

#endif
