#include "CCoopSHA256.h"

#include <string.h>

#if defined(__x86_64__)

#include <immintrin.h>

int coop_sha256_hw_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1") && __builtin_cpu_supports("ssse3");
}

/// The round constants (FIPS 180-4, 4.2.2), four per group of rounds.
static const uint32_t K[64] __attribute__((aligned(16))) = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/// Runs the compression function over `blocks` 64-byte blocks at `p`. The state is kept as the instructions want it:
/// `abef` holds a, b, e, f and `cdgh` holds c, d, g, h (from the highest lane down).
__attribute__((target("sha,sse4.1,ssse3")))
static void compress(__m128i *abef, __m128i *cdgh, const uint8_t *p, size_t blocks) {
    // Each 32-bit word of the message is big-endian.
    const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i s0 = *abef, s1 = *cdgh;
    for (; blocks > 0; blocks--, p += 64) {
        const __m128i save0 = s0, save1 = s1;
        // w[g % 4] holds the message words 4g ... 4g + 3 of the group of four rounds g.
        __m128i w[4];
        for (int i = 0; i < 4; i++) {
            w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), swap);
        }
        for (int g = 0; g < 16; g++) {
            if (g >= 4) {
                // W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16], for t = 4g ... 4g + 3: msg1 adds σ0 to
                // W[t-16], alignr supplies W[t-7], msg2 adds σ1 (of words it computes itself for t + 2, t + 3).
                __m128i x = _mm_sha256msg1_epu32(w[g % 4], w[(g + 1) % 4]);
                x = _mm_add_epi32(x, _mm_alignr_epi8(w[(g + 3) % 4], w[(g + 2) % 4], 4));
                w[g % 4] = _mm_sha256msg2_epu32(x, w[(g + 3) % 4]);
            }
            __m128i m = _mm_add_epi32(w[g % 4], _mm_load_si128((const __m128i *)(K + 4 * g)));
            s1 = _mm_sha256rnds2_epu32(s1, s0, m);
            s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(m, 0x0E));
        }
        s0 = _mm_add_epi32(s0, save0);
        s1 = _mm_add_epi32(s1, save1);
    }
    *abef = s0;
    *cdgh = s1;
}

__attribute__((target("sha,sse4.1,ssse3")))
void coop_sha256_hw(const void *bytes, size_t count, uint8_t digest[32]) {
    // The initial hash value (FIPS 180-4, 5.3.3), rearranged into a, b, e, f and c, d, g, h.
    const uint32_t h[8] = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    };
    // abef, from the highest lane down: a b e f, i.e. lanes (low to high) f e b a; cdgh likewise: h g d c.
    __m128i abef = _mm_set_epi32((int)h[0], (int)h[1], (int)h[4], (int)h[5]);
    __m128i cdgh = _mm_set_epi32((int)h[2], (int)h[3], (int)h[6], (int)h[7]);

    const uint8_t *p = bytes;
    size_t full = count / 64;
    size_t rest = count - full * 64;
    if (full > 0) {
        compress(&abef, &cdgh, p, full);
    }

    // The last bytes, the 0x80 byte, zeros and the length in bits (big-endian) in one or two blocks. (`bytes` may be
    // NULL when `count` is 0: it is then not touched.)
    uint8_t tail[128];
    if (rest > 0) {
        memcpy(tail, p + full * 64, rest);
    }
    tail[rest] = 0x80;
    size_t tailBlocks = rest + 1 + 8 <= 64 ? 1 : 2;
    memset(tail + rest + 1, 0, tailBlocks * 64 - rest - 1 - 8);
    uint64_t bits = (uint64_t)count * 8;
    for (int i = 0; i < 8; i++) {
        tail[tailBlocks * 64 - 1 - i] = (uint8_t)(bits >> (8 * i));
    }
    compress(&abef, &cdgh, tail, tailBlocks);

    uint32_t out[8];
    out[0] = (uint32_t)_mm_extract_epi32(abef, 3);
    out[1] = (uint32_t)_mm_extract_epi32(abef, 2);
    out[2] = (uint32_t)_mm_extract_epi32(cdgh, 3);
    out[3] = (uint32_t)_mm_extract_epi32(cdgh, 2);
    out[4] = (uint32_t)_mm_extract_epi32(abef, 1);
    out[5] = (uint32_t)_mm_extract_epi32(abef, 0);
    out[6] = (uint32_t)_mm_extract_epi32(cdgh, 1);
    out[7] = (uint32_t)_mm_extract_epi32(cdgh, 0);
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t)(out[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(out[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(out[i] >> 8);
        digest[4 * i + 3] = (uint8_t)out[i];
    }
}

#else

int coop_sha256_hw_available(void) { return 0; }

void coop_sha256_hw(const void *bytes, size_t count, uint8_t digest[32]) {
    (void)bytes;
    (void)count;
    memset(digest, 0, 32);
}

#endif
