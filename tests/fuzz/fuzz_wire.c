/* fuzz_wire.c - libFuzzer harness for the wire decoders (node/fed/wire.h):
 * the input's first byte picks HELLO, BLOCK, SYNCREP, PROPOSE, VOTE,
 * PROMISE or MOTION, the rest is the payload.  Nothing may crash or leak, and any but
 * a HELLO that decodes must encode back to exactly its bytes (no field
 * read twice or skipped).
 * Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "node/fed/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        hash_library_init();
        ready = 1;
    }
    if (size < 1) {
        return 0;
    }
    const uint8_t kind = data[0] % 7, *buf = data + 1;
    const size_t n = size - 1;
    fs_err_t err = {0, ""};
    bytes_writer_t w;
    bytes_writer_init(&w);
    if (kind == 0) {
        static const uint8_t fed[32] = {1};
        static wire_hello_t h;
        (void)wire_hello_decode(buf, n, fed, &h, &err);
    } else if (kind == 1) {
        const uint8_t *rec, *model;
        size_t rec_len, count;
        if (wire_block_decode(buf, n, &rec, &rec_len, &model, &count, &err) == 0) {
            float *m = count ? malloc(count * sizeof(float)) : NULL;
            if (count) {
                memcpy(m, model, count * sizeof(float));
            }
            wire_block_encode(&w, rec, rec_len, m, count);
            free(m);
            if (w.len != n || memcmp(w.data, buf, n) != 0) {
                __builtin_trap();
            }
        }
    } else if (kind == 2) {
        static wire_sync_t s;
        if (wire_sync_decode(buf, n, &s, &err) == 0) {
            size_t at;
            wire_sync_begin(&w, &at);
            for (uint32_t i = 0; i < s.k; i++) {
                wire_sync_add(&w, at, s.rec[i], s.len[i]);
            }
            float *m = s.count ? malloc(s.count * sizeof(float)) : NULL;
            if (s.count) {
                memcpy(m, s.model, s.count * sizeof(float));
            }
            wire_sync_end(&w, m, s.count);
            free(m);
            if (s.has_cert) {
                wire_sync_cert(&w, &s.cert);
            }
            if (w.len != n || memcmp(w.data, buf, n) != 0) {
                __builtin_trap();
            }
        }
    } else if (kind == 6) {
        static const uint8_t fed[32] = {1};
        static motion_t m;
        (void)wire_motion_decode(buf, n, fed, &m, &err); // signatures rarely verify
        bytes_reader_t r;
        bytes_reader_init(&r, buf, n);
        if (motion_decode(&r, &m, &err) == 0) {
            motion_encode(&w, &m);
            if (w.len != n - bytes_remaining(&r) || memcmp(w.data, buf, w.len) != 0) {
                __builtin_trap();
            }
        }
    } else {
        wire_witness_t m;
        int rc = kind == 3 ? wire_propose_decode(buf, n, &m, &err)
                 : kind == 4 ? wire_vote_decode(buf, n, &m, &err)
                             : wire_promise_decode(buf, n, &m, &err);
        if (rc == 0) {
            float *model = m.count ? malloc(m.count * sizeof(float)) : NULL;
            if (m.count) {
                memcpy(model, m.model, m.count * sizeof(float));
            }
            if (kind == 3) {
                wire_propose_encode(&w, m.ballot, m.sig, m.rec, m.rec_len, model, m.count);
            } else if (kind == 4) {
                wire_vote_encode(&w, &m);
            } else {
                wire_promise_encode(&w, &m, model);
            }
            free(model);
            if (w.len != n || memcmp(w.data, buf, n) != 0) {
                __builtin_trap();
            }
        }
    }
    bytes_writer_reset(&w);
    return 0;
}
