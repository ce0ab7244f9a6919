/* seeded_random.h - libsodium's random source replaced by a seeded one, so
 * that what draws randomness (envelope nonces, identity_new) is the same
 * bytes in every run: golden vectors and the simulator's seeds.  Tests
 * only: a node never calls this. */
#ifndef FS_TESTS_SEEDED_RANDOM_H
#define FS_TESTS_SEEDED_RANDOM_H

#include <stdint.h>

// Installs the seeded source (seed 1).  Call before libsodium is
// initialised (hash_library_init), once per process.
void seeded_random_install(void);
// Restarts the installed source from seed.
void seeded_random_reseed(uint64_t seed);

#endif
