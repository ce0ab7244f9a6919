/* sigmsg.c - signed, typed, versioned messages (layout in sigmsg.h). */
#include "crypto/sigmsg.h"

#include <assert.h>
#include <string.h>

static const char *const s_type_names[SIGMSG_TYPE_COUNT] = {
    "none", "genesis", "block", "update", "join", "leave", "hello",
};
static_assert(sizeof s_type_names / sizeof s_type_names[0] == SIGMSG_TYPE_COUNT,
              "one name per message type");

const char *sigmsg_type_name(int type)
{
    return type > 0 && type < SIGMSG_TYPE_COUNT ? s_type_names[type] : "unknown";
}

size_t sigmsg_begin(bytes_writer_t *w, int type, const uint8_t fed_id[HASH_BYTES], uint64_t round,
                    const identity_t *signer)
{
    size_t start = w->len;
    bytes_put(w, SIGMSG_MAGIC, 4);
    bytes_put_u8(w, SIGMSG_VERSION);
    bytes_put_u8(w, (uint8_t)type);
    bytes_put_u16(w, 0);
    bytes_put(w, fed_id, HASH_BYTES);
    bytes_put_u64(w, round);
    bytes_put(w, identity_public(signer)->sign_pk, IDENTITY_KEY_BYTES);
    bytes_put_u32(w, 0); // body length, patched by sigmsg_finish
    return start;
}

void sigmsg_finish(bytes_writer_t *w, size_t start, const identity_t *signer)
{
    size_t body_len = w->len - start - SIGMSG_HEADER_BYTES;
    assert(body_len <= UINT32_MAX);
    bytes_patch_u32(w, start + SIGMSG_HEADER_BYTES - 4, (uint32_t)body_len);
    uint8_t digest[HASH_BYTES], sig[SIGMSG_SIG_BYTES];
    hash_digest(HASH_TAG_SIGMSG, w->data + start, w->len - start, digest);
    identity_sign(signer, digest, sig);
    bytes_put(w, sig, sizeof sig);
}

int sigmsg_parse(const uint8_t *buf, size_t n, size_t max_bytes, sigmsg_t *out, fs_err_t *err)
{
    memset(out, 0, sizeof *out);
    if (n > max_bytes) {
        return fs_err_set(err, FS_ETOOBIG, "message of %zu bytes exceeds the limit of %zu", n,
                          max_bytes);
    }
    if (n < SIGMSG_OVERHEAD) {
        return fs_err_set(err, FS_ECORRUPT, "message of %zu bytes is shorter than %d (truncated)",
                          n, SIGMSG_OVERHEAD);
    }
    if (memcmp(buf, SIGMSG_MAGIC, 4) != 0) {
        return fs_err_set(err, FS_ECORRUPT, "message: bad magic (not a fedsyn message)");
    }
    bytes_reader_t r;
    bytes_reader_init(&r, buf + 4, n - 4);
    out->version = bytes_get_u8(&r);
    out->type = bytes_get_u8(&r);
    uint16_t reserved = bytes_get_u16(&r);
    bytes_get(&r, out->fed_id, HASH_BYTES);
    out->round = bytes_get_u64(&r);
    bytes_get(&r, out->signer, IDENTITY_KEY_BYTES);
    uint32_t body_len = bytes_get_u32(&r);
    if (reserved != 0) {
        return fs_err_set(err, FS_ECORRUPT, "message: reserved field is %u, expected 0",
                          reserved);
    }
    if ((size_t)body_len + SIGMSG_OVERHEAD > max_bytes) {
        return fs_err_set(err, FS_ETOOBIG, "message: body of %u bytes exceeds the limit of %zu",
                          body_len, max_bytes - SIGMSG_OVERHEAD);
    }
    if ((size_t)body_len + SIGMSG_OVERHEAD != n) {
        return fs_err_set(err, FS_ECORRUPT,
                          "message: body length %u does not match the %zu bytes received "
                          "(expected %zu)",
                          body_len, n, n - SIGMSG_OVERHEAD);
    }
    out->body = buf + SIGMSG_HEADER_BYTES;
    out->body_len = body_len;
    out->signed_len = SIGMSG_HEADER_BYTES + (size_t)body_len;
    out->signature = buf + out->signed_len;
    out->total_len = n;
    return 0;
}

void sigmsg_compute_digest(const uint8_t *buf, sigmsg_t *m)
{
    hash_digest(HASH_TAG_SIGMSG, buf, m->signed_len, m->digest);
}

int sigmsg_decode(const uint8_t *buf, size_t n, size_t max_bytes, sigmsg_t *out, fs_err_t *err)
{
    int rc = sigmsg_parse(buf, n, max_bytes, out, err);
    if (rc == 0) {
        sigmsg_compute_digest(buf, out);
    }
    return rc;
}

int sigmsg_check_version(const sigmsg_t *m, fs_err_t *err)
{
    if (m->version != SIGMSG_VERSION) {
        return fs_err_set(err, FS_ECORRUPT,
                          "message: format version %u, this fedsyn reads version %d", m->version,
                          SIGMSG_VERSION);
    }
    if (m->type == 0 || m->type >= SIGMSG_TYPE_COUNT) {
        return fs_err_set(err, FS_ECORRUPT, "message: unknown type %u", m->type);
    }
    return 0;
}

int sigmsg_verify(const sigmsg_t *m, fs_err_t *err)
{
    if (identity_verify(m->signer, m->digest, m->signature) < 0) {
        char who[9];
        hash_short(m->signer, who);
        return fs_err_set(err, FS_EVERIFY, "%s message: signature does not verify with key %s",
                          sigmsg_type_name(m->type), who);
    }
    return 0;
}
