/* test_block.c - the ledger's records as golden vectors (tests/vectors).
 *
 * A three-member federation of fixed-seed identities (tests/support/fedfx.h)
 * writes its genesis, a block every member contributed to, and a block
 * that admits the allow-listed fourth identity by its join request and
 * records the third member's leave by its request; then the real chain
 * code writes them as a ledger file.  Each object is compared byte for
 * byte with its file under tests/vectors, and each file decodes back to
 * the inputs.  The independent verifier checks the same files
 * (tests/integration/verify_ledger.py --vectors, t0002).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/hash.h"
#include "ledger/chain.h"
#include "node/base/fsio.h"
#include "tests/support/fedfx.h"
#include "tests/support/fixtures.h"
#include "tests/support/vectors.h"

// The federation every vector comes from, made once.
typedef struct {
    fedfx_t *fx;
    bytes_writer_t join, leave; // the requests block 2 embeds
} world_t;

static void s_hex_line(char *out, size_t cap, const char *key, const uint8_t *b, size_t n)
{
    char hex[2 * 64 + 1];
    bytes_to_hex(b, n, hex);
    snprintf(out, cap, "%s: %s\n", key, hex);
}

static world_t *s_world(void)
{
    world_t *x = calloc(1, sizeof *x);
    x->fx = fedfx_new(3, 1, NOISE_GAUSSIAN_CLIPPED);
    fedfx_round(x->fx, 0); // block 1: every member contributes
    const uint8_t *fed = x->fx->state->fed_id;
    bytes_writer_init(&x->join);
    bytes_writer_init(&x->leave);
    block_join_request(&x->join, fed, 2, x->fx->ids[3]);
    block_leave_request(&x->leave, fed, 2, x->fx->ids[2]);
    // block 2: members 0 and 1 contribute, 3 joins, 2 leaves by request
    uint8_t active[LEDGER_MAX_MEMBERS][IDENTITY_KEY_BYTES];
    size_t n = ledger_state_active(x->fx->state, active);
    assemble_contrib_t c[2];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        for (int who = 0; who < 2; who++) {
            if (memcmp(active[i], identity_public(x->fx->ids[who])->sign_pk,
                       IDENTITY_KEY_BYTES) == 0) {
                memcpy(c[k].key, active[i], IDENTITY_KEY_BYTES);
                memset(c[k].envelope, 0xe0 + who, HASH_BYTES);
                c[k].samples = 100 * (uint64_t)(who + 1);
                k++;
            }
        }
    }
    const uint8_t *jr[1] = {x->join.data}, *lr[1] = {x->leave.data};
    size_t jl[1] = {x->join.len}, ll[1] = {x->leave.len};
    uint8_t lk[1][IDENTITY_KEY_BYTES];
    memcpy(lk[0], identity_public(x->fx->ids[2])->sign_pk, IDENTITY_KEY_BYTES);
    uint8_t model[HASH_BYTES];
    memset(model, 0x22, sizeof model);
    block_t *b = calloc(1, sizeof *b);
    fs_err_t err = {0, ""};
    assert_int_equal(assemble_block(x->fx->state, 0, x->fx->state->head_time_ms + 1000, c, k, jr,
                                    jl, 1, (const uint8_t(*)[IDENTITY_KEY_BYTES])lk, lr, ll, 1,
                                    model, b, &err),
                     0);
    bytes_writer_t w;
    bytes_writer_init(&w);
    fedfx_sign(x->fx, b, NULL, &w);
    assert_int_equal(fedfx_push(x->fx, w.data, w.len, &err), 0);
    bytes_writer_reset(&w);
    free(b);
    return x;
}

static void s_free(world_t *x)
{
    bytes_writer_reset(&x->join);
    bytes_writer_reset(&x->leave);
    fedfx_destroy(&x->fx);
    free(x);
}

// The genesis: its bytes, and the fields and federation id it decodes to.
static void test_genesis_vector(void **state)
{
    (void)state;
    world_t *x = s_world();
    char note[1024], line[256];
    snprintf(note, sizeof note, "fedsyn golden vector: the genesis record (docs/ledger.md 5)\n"
             "made by: tests/ledger/test_block.c from tests/support/fedfx.c fedfx_new(3, 1, "
             "gaussian-clipped)\nkind: genesis\nmembers: 3\nallowed: 1\n");
    s_hex_line(line, sizeof line, "fed_id", x->fx->state->fed_id, HASH_BYTES);
    strcat(note, line);
    assert_int_equal(vector_check("genesis", note, x->fx->recs[0], x->fx->lens[0]), 0);

    vector_t v;
    assert_int_equal(vector_load("genesis", &v), 0);
    genesis_t *g = calloc(1, sizeof *g);
    uint8_t fed[HASH_BYTES];
    sigmsg_t m;
    fs_err_t err = {0, ""};
    assert_int_equal(genesis_decode(v.bytes, v.n, g, fed, &m, &err), 0);
    assert_memory_equal(fed, x->fx->state->fed_id, HASH_BYTES);
    assert_string_equal(g->name, "testfed");
    assert_int_equal(g->time_ms, 1700000000000ull);
    assert_int_equal(g->n_members, 3);
    assert_int_equal(g->n_allowed, 1);
    assert_memory_equal(g->allowed[0], identity_public(x->fx->ids[3])->sign_pk, IDENTITY_KEY_BYTES);
    assert_string_equal(g->model, "dcgan:16");
    assert_int_equal(g->mechanism, NOISE_GAUSSIAN_CLIPPED);
    assert_true(g->clip == 1.0 && g->member_scale == 0.5 && g->agg_scale == 0.25);
    assert_true(genesis_server_lr(g) == 1.0);
    char want[80];
    assert_int_equal(vector_field(&v, "fed_id", want, sizeof want), 0);
    char have[2 * HASH_BYTES + 1];
    bytes_to_hex(fed, HASH_BYTES, have);
    assert_string_equal(want, have);
    free(g);
    vector_free(&v);
    s_free(x);
}

// The two round blocks and the two requests.
static void test_block_vectors(void **state)
{
    (void)state;
    world_t *x = s_world();
    char note[1024], line[256];
    uint8_t id[HASH_BYTES];
    block_hash(x->fx->recs[1], x->fx->lens[1], id);
    snprintf(note, sizeof note, "fedsyn golden vector: block 1 (docs/ledger.md 6), every "
             "founder contributing\nmade by: tests/ledger/test_block.c\nkind: block\nindex: 1\n"
             "contributors: 3\n");
    s_hex_line(line, sizeof line, "block_id", id, HASH_BYTES);
    strcat(note, line);
    assert_int_equal(vector_check("block-1", note, x->fx->recs[1], x->fx->lens[1]), 0);
    block_hash(x->fx->recs[2], x->fx->lens[2], id);
    snprintf(note, sizeof note, "fedsyn golden vector: block 2: members 0 and 1 contribute, the "
             "allow-listed identity 3 joins, member 2 leaves by request (close reason 3, "
             "all-staying)\nmade by: "
             "tests/ledger/test_block.c\nkind: block\nindex: 2\ncontributors: 2\njoined: 1\n"
             "left: 1\n");
    s_hex_line(line, sizeof line, "block_id", id, HASH_BYTES);
    strcat(note, line);
    assert_int_equal(vector_check("block-2", note, x->fx->recs[2], x->fx->lens[2]), 0);
    assert_int_equal(vector_check("join-request", "fedsyn golden vector: identity 3's request "
                                  "to join, for round 2 (sigmsg type 4)\nkind: join\nround: 2\n",
                                  x->join.data, x->join.len), 0);
    assert_int_equal(vector_check("leave-request", "fedsyn golden vector: member 2's notice "
                                  "that it leaves, for round 2 (sigmsg type 5)\nkind: leave\n"
                                  "round: 2\n", x->leave.data, x->leave.len), 0);

    // block 2 read back from its file
    vector_t v;
    assert_int_equal(vector_load("block-2", &v), 0);
    sigmsg_t m;
    fs_err_t err = {0, ""};
    assert_int_equal(sigmsg_decode(v.bytes, v.n, v.n, &m, &err), 0);
    assert_int_equal(sigmsg_verify(&m, &err), 0);
    block_t *b = calloc(1, sizeof *b);
    assert_int_equal(block_decode(&m, b, &err), 0);
    assert_int_equal(b->index, 2);
    assert_int_equal(b->n_expected, 3);
    assert_int_equal(b->n_contrib, 2);
    assert_true(b->contrib[0].weight + b->contrib[1].weight == 1.0);
    assert_int_equal(b->n_joined, 1);
    // the block carries the requests as signed (the state decodes them)
    assert_int_equal(b->joined[0].request_len, x->join.len);
    assert_memory_equal(b->joined[0].request, x->join.data, x->join.len);
    assert_int_equal(b->n_left, 1);
    assert_memory_equal(b->left[0].key, identity_public(x->fx->ids[2])->sign_pk,
                        IDENTITY_KEY_BYTES);
    assert_int_equal(b->left[0].request_len, x->leave.len);
    assert_memory_equal(b->left[0].request, x->leave.data, x->leave.len);
    free(b);
    vector_free(&v);
    s_free(x);
}

// The ledger file the chain code writes for the three records; replayed
// from the vector, it ends with members 0, 1 and 3.
static void test_ledger_file_vector(void **state)
{
    (void)state;
    world_t *x = s_world();
    char path[512];
    snprintf(path, sizeof path, "%s/vec.fsl", fixture_tmpdir());
    fs_err_t err = {0, ""};
    chain_t *c = chain_create(path, x->fx->recs[0], x->fx->lens[0], &err);
    assert_non_null(c);
    for (size_t i = 1; i < x->fx->n_recs; i++) {
        assert_int_equal(chain_append(c, x->fx->recs[i], x->fx->lens[i], &err), 0);
    }
    chain_destroy(&c);
    size_t n;
    uint8_t *file = fixture_read(path, &n);
    assert_int_equal(vector_check("ledger", "fedsyn golden vector: the ledger file (docs/ledger.md"
                                  " 8) holding genesis, block-1 and block-2\nmade by: "
                                  "tests/ledger/test_block.c (ledger/chain.c writes it)\n"
                                  "kind: ledger\nblocks: 3\n", file, n), 0);
    free(file);

    vector_t v;
    assert_int_equal(vector_load("ledger", &v), 0);
    assert_int_equal(fsio_write_atomic(path, v.bytes, v.n, 0644, &err), 0);
    chain_open_info_t info;
    c = chain_open(path, CHAIN_READ_ONLY, &info, &err);
    assert_non_null(c);
    assert_int_equal(chain_height(c), 3);
    uint8_t active[LEDGER_MAX_MEMBERS][IDENTITY_KEY_BYTES];
    assert_int_equal(ledger_state_active(chain_state(c), active), 3);
    int seen = 0;
    for (int i = 0; i < 3; i++) {
        for (int who = 0; who < 4; who++) {
            const uint8_t *pk = identity_public(x->fx->ids[who])->sign_pk;
            seen |= memcmp(active[i], pk, IDENTITY_KEY_BYTES) == 0 ? 1 << who : 0;
        }
    }
    assert_int_equal(seen, 1 | 2 | 8);
    chain_destroy(&c);
    vector_free(&v);
    s_free(x);
}

// Block 2 of a fresh world's kind (members 0 and 1 contribute), with
// member 2's requested leave or without it, its close reason set to
// `reason` (0: assemble_block's); returns what applying it gives.
static int s_block2(int with_leave, int reason, uint8_t *assembled, fs_err_t *err)
{
    fedfx_t *fx = fedfx_new(3, 0, NOISE_NONE);
    fedfx_round(fx, 0);
    bytes_writer_t leave;
    bytes_writer_init(&leave);
    block_leave_request(&leave, fx->state->fed_id, 2, fx->ids[2]);
    assemble_contrib_t c[2];
    for (int who = 0; who < 2; who++) {
        memcpy(c[who].key, identity_public(fx->ids[who])->sign_pk, IDENTITY_KEY_BYTES);
        memset(c[who].envelope, 0xe0 + who, HASH_BYTES);
        c[who].samples = 100;
    }
    if (memcmp(c[0].key, c[1].key, IDENTITY_KEY_BYTES) > 0) { // ascending by key
        assemble_contrib_t t = c[0];
        c[0] = c[1];
        c[1] = t;
    }
    const uint8_t *lr[1] = {leave.data};
    size_t ll[1] = {leave.len};
    uint8_t lk[1][IDENTITY_KEY_BYTES], model[HASH_BYTES];
    memcpy(lk[0], identity_public(fx->ids[2])->sign_pk, IDENTITY_KEY_BYTES);
    memset(model, 0x33, sizeof model);
    block_t *b = calloc(1, sizeof *b);
    assert_int_equal(assemble_block(fx->state, 0, fx->state->head_time_ms + 1000, c, 2, NULL,
                                    NULL, 0, (const uint8_t(*)[IDENTITY_KEY_BYTES])lk, lr, ll,
                                    with_leave ? 1 : 0, model, b, err),
                     0);
    *assembled = b->close_reason;
    if (reason) {
        b->close_reason = (uint8_t)reason;
    }
    bytes_writer_t w;
    bytes_writer_init(&w);
    fedfx_sign(fx, b, NULL, &w);
    int rc = fedfx_push(fx, w.data, w.len, err);
    bytes_writer_reset(&w);
    bytes_writer_reset(&leave);
    free(b);
    fedfx_destroy(&fx);
    return rc;
}

// The close reason is what the block's contents call for: all-staying when
// every missing member leaves by request in the block (the aggregator did
// not wait for them), deadline otherwise; deadline in the all-staying case
// is still accepted (ledgers of fedsyn before the reason existed).
static void test_close_reason_all_staying(void **state)
{
    (void)state;
    fs_err_t err = {0, ""};
    uint8_t got;
    assert_int_equal(s_block2(1, 0, &got, &err), 0);
    assert_int_equal(got, CLOSE_ALL_STAYING);
    assert_string_equal(close_reason_name(got), "all-staying");
    assert_int_equal(s_block2(1, CLOSE_DEADLINE, &got, &err), 0);
    assert_int_equal(s_block2(0, 0, &got, &err), 0);
    assert_int_equal(got, CLOSE_DEADLINE);
    assert_int_not_equal(s_block2(0, CLOSE_ALL_STAYING, &got, &err), 0);
    assert_non_null(strstr(err.msg, "close_reason: all-staying with 2 of 3 members"));
    assert_int_not_equal(s_block2(1, CLOSE_ALL_ARRIVED, &got, &err), 0);
}

// A federation whose last member left by request: the ledger stays valid,
// nobody is elected (no assertion), and no block can follow.
static void test_every_member_left(void **state)
{
    (void)state;
    fedfx_t *fx = fedfx_new(1, 0, NOISE_NONE);
    fedfx_round(fx, 0);
    bytes_writer_t leave;
    bytes_writer_init(&leave);
    block_leave_request(&leave, fx->state->fed_id, 2, fx->ids[0]);
    assemble_contrib_t c = {.samples = 100};
    memcpy(c.key, identity_public(fx->ids[0])->sign_pk, IDENTITY_KEY_BYTES);
    memset(c.envelope, 0xe0, HASH_BYTES);
    const uint8_t *lr[1] = {leave.data};
    size_t ll[1] = {leave.len};
    uint8_t lk[1][IDENTITY_KEY_BYTES], model[HASH_BYTES];
    memcpy(lk[0], c.key, IDENTITY_KEY_BYTES);
    memset(model, 0x44, sizeof model);
    block_t *b = calloc(1, sizeof *b);
    fs_err_t err = {0, ""};
    assert_int_equal(assemble_block(fx->state, 0, fx->state->head_time_ms + 1000, &c, 1, NULL,
                                    NULL, 0, (const uint8_t(*)[IDENTITY_KEY_BYTES])lk, lr, ll, 1,
                                    model, b, &err),
                     0);
    bytes_writer_t w;
    bytes_writer_init(&w);
    fedfx_sign(fx, b, NULL, &w);
    assert_int_equal(fedfx_push(fx, w.data, w.len, &err), 0);
    uint8_t active[LEDGER_MAX_MEMBERS][IDENTITY_KEY_BYTES], agg[IDENTITY_KEY_BYTES];
    assert_int_equal(ledger_state_active(fx->state, active), 0);
    assert_int_equal(assemble_aggregator(fx->state, 0, agg), -1);
    assert_int_not_equal(assemble_block(fx->state, 0, fx->state->head_time_ms + 1000, &c, 1,
                                        NULL, NULL, 0, NULL, NULL, NULL, 0, model, b, &err),
                         0);
    assert_non_null(strstr(err.msg, "no active member"));
    bytes_writer_reset(&w);
    bytes_writer_reset(&leave);
    free(b);
    fedfx_destroy(&fx);
}

int main(void)
{
    hash_library_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_genesis_vector),
        cmocka_unit_test(test_block_vectors),
        cmocka_unit_test(test_ledger_file_vector),
        cmocka_unit_test(test_close_reason_all_staying),
        cmocka_unit_test(test_every_member_left),
    };
    return cmocka_run_group_tests_name("block", tests, NULL, fixture_teardown);
}
