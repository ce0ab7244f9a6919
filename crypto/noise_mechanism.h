/* noise_mechanism.h - how a member noises its update: the one list of
 * mechanisms, their numbers on the wire and their keywords.
 *
 * The number is what envelopes, the genesis and blocks record (one byte,
 * docs/ledger.md); the keyword is what `ledger init --noise`, `fedsyn
 * privacy --noise` and a node's configuration (`mechanism = ...`) write; the
 * name is what people read (ledger show, logs, errors).  It lives in crypto,
 * the lowest layer that needs it (an envelope refuses an unknown number).
 * Usage: see tests/crypto/test_envelope.c (test_noise_mechanism_keywords)
 */
#ifndef FS_CRYPTO_NOISE_MECHANISM_H
#define FS_CRYPTO_NOISE_MECHANISM_H

typedef enum {
    NOISE_NONE = 0,             // no noise
    NOISE_PAPER = 1,            // FedSyn: Laplace(b) on the weights, no clip:
                                // no formal guarantee
    NOISE_LAPLACE_CLIPPED = 2,  // update clipped to L1 norm C, then Laplace(b)
    NOISE_GAUSSIAN_CLIPPED = 3, // update clipped to L2 norm C, then N(0, sigma^2)
    NOISE_MECHANISM_COUNT
} noise_mechanism_t;

// The keywords, in the order of the numbers, for messages that list them.
#define NOISE_MECHANISM_KEYWORDS "none, paper, laplace-clipped or gaussian-clipped"

// "none", "paper", "laplace-clipped", "gaussian-clipped"; "unknown" for a
// number outside the list.
const char *noise_mechanism_keyword(int mechanism);
// The mechanism a keyword names, or -1 for anything else (NULL included).
int noise_mechanism_parse(const char *keyword);
// The name people read: the keyword, except "paper-laplace (no formal
// guarantee)" for NOISE_PAPER; "unknown" outside the list.
const char *noise_mechanism_name(int mechanism);

#endif
