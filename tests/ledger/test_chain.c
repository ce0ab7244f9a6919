/* test_chain.c - the ledger file: create, append, reopen; a torn tail cut
 * at every byte offset of the last block; a damaged middle block (bytes
 * removed or flipped) refused with the block named; read-only opening; one
 * writer at a time; a failed write makes the handle refuse further appends. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "crypto/hash.h"
#include "ledger/chain.h"
#include "node/base/rng.h"
#include "tests/support/fedfx.h"
#include "tests/support/fixtures.h"

static const char *s_path(const char *name)
{
    static char buf[4][512];
    static int slot;
    slot = (slot + 1) % 4;
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", fixture_tmpdir(), name);
    return buf[slot];
}

static size_t s_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (size_t)st.st_size;
}

static void test_chain_usage(void **state)
{
    (void)state;
    fedfx_t *fx = fedfx_new(3, 0, NOISE_PAPER);
    const char *path = s_path("usage.fsl");
    fs_err_t err = {0, ""};
    // A founder creates the ledger from the genesis record...
    chain_t *c = chain_create(path, fx->recs[0], fx->lens[0], &err);
    assert_non_null(c);
    assert_null(chain_create(path, fx->recs[0], fx->lens[0], &err)); // never replaced
    // ...and each round's verified block is appended durably.
    for (int r = 0; r < 4; r++) {
        fedfx_round(fx, 0);
        assert_int_equal(chain_append(c, fx->recs[fx->n_recs - 1], fx->lens[fx->n_recs - 1], &err),
                         0);
    }
    assert_int_equal(chain_height(c), 5);
    // A block that does not follow is refused and nothing is written.
    size_t before = s_size(path);
    assert_int_equal(chain_append(c, fx->recs[2], fx->lens[2], &err), FS_EVERIFY);
    assert_int_equal(s_size(path), before);
    chain_destroy(&c);
    assert_null(c);
    // Reopening verifies everything again and serves the same records.
    chain_open_info_t info;
    c = chain_open(path, CHAIN_READ_ONLY, &info, &err);
    assert_non_null(c);
    assert_int_equal(info.blocks, 5);
    assert_int_equal(info.truncated_bytes, 0);
    const uint8_t *rec;
    size_t n;
    assert_int_equal(chain_record(c, 3, &rec, &n), 0);
    assert_int_equal(n, fx->lens[3]);
    assert_memory_equal(rec, fx->recs[3], n);
    assert_int_equal(chain_record(c, 5, &rec, &n), -1);
    assert_memory_equal(chain_state(c)->head_hash, fx->state->head_hash, HASH_BYTES);
    chain_destroy(&c);
    fedfx_destroy(&fx);
}

static uint8_t *s_read(const char *path, size_t *n)
{
    return fixture_read(path, n);
}

static void s_write(const char *path, const uint8_t *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, n, f), n);
    fclose(f);
}

// The fork rule's tool: the head block is replaced by a competing block
// for the same index, valid on the blocks before it; anything else is
// refused and leaves the file as it was.
static void test_chain_replace_head(void **state)
{
    (void)state;
    fedfx_t *fx = fedfx_new(3, 0, NOISE_PAPER);
    const char *path = s_path("fork.fsl");
    fs_err_t err = {0, ""};
    chain_t *c = chain_create(path, fx->recs[0], fx->lens[0], &err);
    assert_non_null(c);
    assert_int_equal(chain_replace_head(c, fx->recs[0], fx->lens[0], &err), FS_EINVAL);
    for (int r = 0; r < 2; r++) {
        fedfx_round(fx, 0);
        assert_int_equal(chain_append(c, fx->recs[fx->n_recs - 1], fx->lens[fx->n_recs - 1], &err),
                         0);
    }
    // A competing block 3 (only member 1 contributed: a deadline close),
    // then the block 3 everyone contributed to, which the chain takes.
    block_t *alt = malloc(sizeof *alt);
    fedfx_next(fx, 2, alt);
    bytes_writer_t w;
    bytes_writer_init(&w);
    fedfx_sign(fx, alt, NULL, &w);
    fedfx_round(fx, 0);
    assert_int_equal(chain_append(c, fx->recs[3], fx->lens[3], &err), 0);
    size_t before_n;
    uint8_t *before = s_read(path, &before_n);
    // Refused: a record for another index, a record signed by a stranger.
    assert_int_not_equal(chain_replace_head(c, fx->recs[2], fx->lens[2], &err), 0);
    bytes_writer_t bad;
    bytes_writer_init(&bad);
    fedfx_sign(fx, alt, fx->ids[2] == fedfx_identity(fx, alt->aggregator) ? fx->ids[0] : fx->ids[2],
               &bad);
    assert_int_equal(chain_replace_head(c, bad.data, bad.len, &err), FS_EVERIFY);
    size_t after_n;
    uint8_t *after = s_read(path, &after_n);
    assert_int_equal(after_n, before_n);
    assert_memory_equal(after, before, before_n);
    free(after);
    // Accepted: the competing block; the file holds it, reopens valid.
    assert_int_equal(chain_replace_head(c, w.data, w.len, &err), 0);
    assert_int_equal(chain_height(c), 4);
    const uint8_t *rec;
    size_t n;
    assert_int_equal(chain_record(c, 3, &rec, &n), 0);
    assert_int_equal(n, w.len);
    assert_memory_equal(rec, w.data, n);
    assert_int_equal(chain_state(c)->last.n_contrib, 1);
    chain_destroy(&c);
    c = chain_open(path, CHAIN_WRITE, NULL, &err); // verified again, writable
    assert_non_null(c);
    assert_int_equal(chain_height(c), 4);
    assert_int_equal(chain_state(c)->last.n_contrib, 1);
    chain_destroy(&c);
    bytes_writer_reset(&w);
    bytes_writer_reset(&bad);
    free(before);
    free(alt);
    fedfx_destroy(&fx);
}

// A crash while appending leaves any prefix of the last record: each one
// opens, with the last block cut off and a count of the bytes cut.
static void test_chain_torn_tail(void **state)
{
    (void)state;
    fedfx_t *fx = fedfx_new(3, 0, NOISE_LAPLACE_CLIPPED);
    for (int r = 0; r < 3; r++) {
        fedfx_round(fx, 0);
    }
    const char *good = s_path("good.fsl"), *torn = s_path("torn.fsl");
    fedfx_write_ledger(fx, good);
    size_t n;
    uint8_t *d = s_read(good, &n);
    size_t last = n - (fx->lens[3] + CHAIN_FRAME_BYTES); // start of the last frame
    for (size_t cut = last + 1; cut < n; cut++) {
        s_write(torn, d, cut);
        fs_err_t err = {0, ""};
        chain_open_info_t info;
        // Read-only: reported, not changed.
        chain_t *c = chain_open(torn, CHAIN_READ_ONLY, &info, &err);
        assert_non_null(c);
        assert_int_equal(info.truncated_bytes, cut - last);
        chain_destroy(&c);
        assert_int_equal(s_size(torn), cut);
        // For writing: cut back to the last whole block, which can be appended again.
        c = chain_open(torn, CHAIN_WRITE, &info, &err);
        if (!c) {
            fail_msg("cut at %zu: %s", cut, err.msg);
        }
        assert_int_equal(info.blocks, 3);
        assert_int_equal(s_size(torn), last);
        assert_int_equal(chain_append(c, fx->recs[3], fx->lens[3], &err), 0);
        chain_destroy(&c);
        assert_int_equal(s_size(torn), n);
    }
    // The last record whole but with garbage inside (pages not written): torn.
    d[n - 20] ^= 0xff;
    s_write(torn, d, n);
    chain_open_info_t info;
    chain_t *c = chain_open(torn, CHAIN_WRITE, &info, NULL);
    assert_non_null(c);
    assert_int_equal(info.blocks, 3);
    chain_destroy(&c);
    // A file cut inside the genesis or the header does not open.
    for (size_t cut = 0; cut < CHAIN_HEADER_BYTES + fx->lens[0] + CHAIN_FRAME_BYTES; cut += 7) {
        s_write(torn, d, cut);
        assert_null(chain_open(torn, CHAIN_READ_ONLY, NULL, NULL));
    }
    free(d);
    fedfx_destroy(&fx);
}

// What a power cut or a crash can leave after the last whole record, zeros
// (a file system that extended the file before writing its pages) or
// garbage, is a torn tail and is cut; but a length field damaged so that it
// points past the end of the file, with whole records after it, is damage:
// the node refuses to start rather than cut the good blocks that follow.
static void test_chain_tails_and_lengths(void **state)
{
    (void)state;
    fedfx_t *fx = fedfx_new(3, 0, NOISE_PAPER);
    for (int r = 0; r < 4; r++) {
        fedfx_round(fx, 0);
    }
    const char *good = s_path("tails.fsl"), *bad = s_path("tails-bad.fsl");
    fedfx_write_ledger(fx, good);
    size_t n;
    uint8_t *d = s_read(good, &n);
    uint8_t *m = calloc(1, n + 4096);
    memcpy(m, d, n);
    // 4,096 zeros after the last block: cut, and said to be zeros
    s_write(bad, m, n + 4096);
    chain_open_info_t info;
    fs_err_t err = {0, ""};
    chain_t *c = chain_open(bad, CHAIN_WRITE, &info, &err);
    assert_non_null(c);
    assert_int_equal(info.blocks, 5);
    assert_int_equal(info.truncated_bytes, 4096);
    assert_true(info.zero_tail);
    chain_destroy(&c);
    assert_int_equal(s_size(bad), n);
    // 300 bytes of garbage: cut too, not zeros
    rng_t rng;
    rng_seed(&rng, 5);
    for (size_t i = n; i < n + 300; i++) {
        m[i] = (uint8_t)rng_below(&rng, 256);
    }
    s_write(bad, m, n + 300);
    c = chain_open(bad, CHAIN_READ_ONLY, &info, &err);
    assert_non_null(c);
    assert_int_equal(info.truncated_bytes, 300);
    assert_false(info.zero_tail);
    chain_destroy(&c);
    // block 2's length made to reach past the end of the file (one bit of
    // rot in a real ledger): refused, naming block 2 and what to do; the
    // file is left as it was
    size_t start = CHAIN_HEADER_BYTES + fx->lens[0] + fx->lens[1] + 2 * CHAIN_FRAME_BYTES;
    memcpy(m, d, n);
    const uint32_t past = (uint32_t)(n - start); // longer than what is left after it
    memcpy(m + start, &past, 4);                 // little-endian, as the file is
    s_write(bad, m, n);
    assert_null(chain_open(bad, CHAIN_WRITE, &info, &err));
    assert_int_equal(err.code, FS_ECORRUPT);
    assert_non_null(strstr(err.msg, "block 2"));
    assert_non_null(strstr(err.msg, "whole records follow"));
    assert_non_null(strstr(err.msg, "fetches the chain from its peers"));
    assert_int_equal(s_size(bad), n);
    free(m);
    free(d);
    fedfx_destroy(&fx);
}

// Damage before the last record is an error that names the block; the
// file is left as it was.
static void test_chain_damaged_middle(void **state)
{
    (void)state;
    fedfx_t *fx = fedfx_new(3, 0, NOISE_PAPER);
    for (int r = 0; r < 5; r++) {
        fedfx_round(fx, 0);
    }
    const char *good = s_path("mid.fsl"), *bad = s_path("mid-bad.fsl");
    fedfx_write_ledger(fx, good);
    size_t n;
    uint8_t *d = s_read(good, &n);
    size_t start = CHAIN_HEADER_BYTES;
    for (int i = 0; i < 2; i++) {
        start += fx->lens[i] + CHAIN_FRAME_BYTES;
    }
    size_t len = fx->lens[2] + CHAIN_FRAME_BYTES; // block 2's frame
    uint8_t *m = malloc(n);
    for (size_t off = start; off < start + len; off++) {
        // one byte removed from block 2
        memcpy(m, d, off);
        memcpy(m + off, d + off + 1, n - off - 1);
        s_write(bad, m, n - 1);
        fs_err_t err = {0, ""};
        assert_null(chain_open(bad, CHAIN_WRITE, NULL, &err));
        if (err.code != FS_ECORRUPT || !strstr(err.msg, "block 2")) {
            fail_msg("byte %zu removed: %s", off - start, err.msg);
        }
        assert_int_equal(s_size(bad), n - 1);
        // one byte flipped in block 2
        memcpy(m, d, n);
        m[off] ^= 0x04;
        s_write(bad, m, n);
        assert_null(chain_open(bad, CHAIN_WRITE, NULL, &err));
        if (!strstr(err.msg, "block 2")) {
            fail_msg("byte %zu flipped: %s", off - start, err.msg);
        }
    }
    // A field is named when the block's own checks can find it.
    memcpy(m, d, n);
    m[start + 4 + 84 + 8] ^= 1; // first byte of prev_hash
    s_write(bad, m, n);
    fs_err_t err = {0, ""};
    assert_null(chain_open(bad, CHAIN_READ_ONLY, NULL, &err));
    assert_non_null(strstr(err.msg, "prev_hash"));
    // the header: another version is named as such, a damaged reserved word too
    memcpy(m, d, n);
    m[8] = 2;
    s_write(bad, m, n);
    assert_null(chain_open(bad, CHAIN_READ_ONLY, NULL, &err));
    assert_non_null(strstr(err.msg, "version 2, this fedsyn reads 1"));
    memcpy(m, d, n);
    m[12] = 1;
    s_write(bad, m, n);
    assert_null(chain_open(bad, CHAIN_READ_ONLY, NULL, &err));
    assert_non_null(strstr(err.msg, "reserved word is 1"));
    free(m);
    free(d);
    fedfx_destroy(&fx);
}

static void test_chain_one_writer_and_sticky_errors(void **state)
{
    (void)state;
    fedfx_t *fx = fedfx_new(2, 0, NOISE_NONE);
    const char *path = s_path("sticky.fsl");
    fs_err_t err = {0, ""};
    chain_t *c = chain_create(path, fx->recs[0], fx->lens[0], &err);
    assert_non_null(c);
    // A second writer is refused while the first holds the ledger.
    assert_null(chain_open(path, CHAIN_WRITE, NULL, &err));
    assert_non_null(strstr(err.msg, "in use"));
    chain_t *reader = chain_open(path, CHAIN_READ_ONLY, NULL, &err);
    assert_non_null(reader);
    assert_int_equal(chain_append(reader, fx->recs[0], fx->lens[0], &err), FS_EINVAL);
    chain_destroy(&reader);

    // A write that fails (file size limit: EFBIG) poisons the handle.
    fedfx_round(fx, 0);
    fedfx_round(fx, 0);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = s_size(path);
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &lim);
    assert_int_equal(chain_append(c, fx->recs[1], fx->lens[1], &err), FS_EIO);
    setrlimit(RLIMIT_FSIZE, &old);
    // The limit is gone, but the handle still refuses: the file's state is
    // unknown until it is reopened.
    assert_int_equal(chain_append(c, fx->recs[1], fx->lens[1], &err), FS_EIO);
    assert_non_null(strstr(err.msg, "reopen"));
    chain_destroy(&c);
    c = chain_open(path, CHAIN_WRITE, NULL, &err);
    assert_non_null(c);
    assert_int_equal(chain_height(c), 1);
    assert_int_equal(chain_append(c, fx->recs[1], fx->lens[1], &err), 0);
    assert_int_equal(chain_append(c, fx->recs[2], fx->lens[2], &err), 0);
    chain_destroy(&c);
    fedfx_destroy(&fx);
}

int main(void)
{
    hash_library_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_usage),
        cmocka_unit_test(test_chain_torn_tail),
        cmocka_unit_test(test_chain_damaged_middle),
        cmocka_unit_test(test_chain_tails_and_lengths),
        cmocka_unit_test(test_chain_one_writer_and_sticky_errors),
        cmocka_unit_test(test_chain_replace_head),
    };
    return cmocka_run_group_tests_name("chain", tests, NULL, fixture_teardown);
}
