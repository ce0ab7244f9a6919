/* bytes.h - bounded little-endian readers and writers over byte buffers.
 *
 * Every on-disk and on-wire format of fedsyn (sigmsg, envelope, block, ledger
 * file) is written with bytes_writer_t and read with bytes_reader_t, so that
 * byte order and bounds are handled in one place.  A writer grows its own
 * buffer; a reader never reads past its end: a short read sets `short_read`,
 * returns zeros, and every later read fails too, so a decoder can read a
 * whole structure and check once (a "sticky" error, like stdio's ferror).
 *
 * Usage: see tests/base/test_bytes.c
 */
#ifndef FS_BASE_BYTES_H
#define FS_BASE_BYTES_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *data; // owned buffer (free with bytes_writer_reset or take it)
    size_t len;    // bytes written
    size_t cap;    // bytes allocated
} bytes_writer_t;

typedef struct {
    const uint8_t *data; // borrowed
    size_t len;          // bytes available
    size_t off;          // next byte to read
    int short_read;      // set once a read wanted more than remained
} bytes_reader_t;

void bytes_writer_init(bytes_writer_t *w);
// Frees the buffer and empties the writer.
void bytes_writer_reset(bytes_writer_t *w);
// Hands the buffer to the caller (who frees it) and empties the writer.
uint8_t *bytes_writer_take(bytes_writer_t *w, size_t *len);
void bytes_put(bytes_writer_t *w, const void *src, size_t n);
// Appends n bytes of space and returns a pointer to fill them (valid until
// the next write).
uint8_t *bytes_put_space(bytes_writer_t *w, size_t n);
void bytes_put_u8(bytes_writer_t *w, uint8_t v);
void bytes_put_u16(bytes_writer_t *w, uint16_t v);
void bytes_put_u32(bytes_writer_t *w, uint32_t v);
void bytes_put_u64(bytes_writer_t *w, uint64_t v);
// IEEE-754 binary64, little-endian.
void bytes_put_f64(bytes_writer_t *w, double v);
// Patches a u32 already written at offset off (for length prefixes).
void bytes_patch_u32(bytes_writer_t *w, size_t off, uint32_t v);

void bytes_reader_init(bytes_reader_t *r, const void *data, size_t len);
// Copies n bytes to dst (zeros on a short read).
void bytes_get(bytes_reader_t *r, void *dst, size_t n);
// Returns a pointer to the next n bytes and skips them (NULL on a short read).
const uint8_t *bytes_view(bytes_reader_t *r, size_t n);
uint8_t bytes_get_u8(bytes_reader_t *r);
uint16_t bytes_get_u16(bytes_reader_t *r);
uint32_t bytes_get_u32(bytes_reader_t *r);
uint64_t bytes_get_u64(bytes_reader_t *r);
double bytes_get_f64(bytes_reader_t *r);
size_t bytes_remaining(const bytes_reader_t *r);

// Raw little-endian loads and stores on memory the caller has bounded.
uint32_t bytes_load_u32(const uint8_t *p);
void bytes_store_u32(uint8_t *p, uint32_t v);

// Lower-case hex of n bytes into out (2n+1 bytes with the NUL).
void bytes_to_hex(const uint8_t *src, size_t n, char *out);
// Parses exactly 2n hex digits into dst; returns 0, or -1 when s is not that.
int bytes_from_hex(const char *s, uint8_t *dst, size_t n);

#endif
