/* parallel.c - a small fork-join pool for the engine's loops (see parallel.h). */
#include "node/nn/parallel.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "node/nn/blas.h"

// One job at a time (call_lock); workers live as long as the process and
// sleep on `start` between jobs.
static struct {
    pthread_mutex_t call_lock;
    pthread_mutex_t lock;
    pthread_cond_t start, done;
    int n_workers;    // started so far (they never exit)
    uint64_t gen;     // job number: a worker runs each job once
    uint64_t born[PARALLEL_MAX_THREADS]; // gen when worker i was started
    parallel_fn fn;
    void *ctx;
    size_t n;
    int parts;        // ranges of the current job (range 0 is the caller's)
    int pending;      // ranges not yet finished by workers
} P = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
       PTHREAD_COND_INITIALIZER, 0, 0, {0}, NULL, NULL, 0, 0, 0};

static size_t s_bound(size_t n, int parts, int i)
{
    return n / (size_t)parts * (size_t)i + (n % (size_t)parts < (size_t)i ? n % (size_t)parts
                                                                           : (size_t)i);
}

static void *s_worker(void *arg)
{
    const int me = (int)(intptr_t)arg; // ranges 1.. are the workers'
    pthread_mutex_lock(&P.lock);
    // not P.gen now: the job that started this worker may be posted already
    uint64_t seen = P.born[me];
    for (;;) {
        while (P.gen == seen) {
            pthread_cond_wait(&P.start, &P.lock);
        }
        seen = P.gen;
        if (me >= P.parts) {
            continue; // this job needs fewer threads
        }
        parallel_fn fn = P.fn;
        void *ctx = P.ctx;
        size_t b = s_bound(P.n, P.parts, me), e = s_bound(P.n, P.parts, me + 1);
        pthread_mutex_unlock(&P.lock);
        fn(ctx, b, e);
        pthread_mutex_lock(&P.lock);
        if (--P.pending == 0) {
            pthread_cond_signal(&P.done);
        }
    }
    return NULL;
}

static _Atomic int s_override; // parallel_set_threads; 0: follow BLAS

void parallel_set_threads(int threads)
{
    s_override = threads > 0 ? threads : 0;
}

int parallel_threads(void)
{
    int t = s_override ? s_override : blas_threads();
    return t < 1 ? 1 : t > PARALLEL_MAX_THREADS ? PARALLEL_MAX_THREADS : t;
}

void parallel_for(size_t n, size_t grain, parallel_fn fn, void *ctx)
{
    if (n == 0) {
        return;
    }
    size_t by_grain = grain ? n / grain : n;
    int parts = parallel_threads();
    if ((size_t)parts > by_grain) {
        parts = by_grain < 1 ? 1 : (int)by_grain;
    }
    if (parts == 1 || pthread_mutex_trylock(&P.call_lock) != 0) {
        fn(ctx, 0, n); // small, single-threaded, or a job already running
        return;
    }
    pthread_mutex_lock(&P.lock);
    while (P.n_workers < parts - 1) {
        pthread_t th;
        P.born[P.n_workers + 1] = P.gen;
        if (pthread_create(&th, NULL, s_worker, (void *)(intptr_t)(P.n_workers + 1)) != 0) {
            break; // fewer threads: the ranges are fewer too
        }
        pthread_detach(th);
        P.n_workers++;
    }
    if (parts > P.n_workers + 1) {
        parts = P.n_workers + 1;
    }
    P.fn = fn;
    P.ctx = ctx;
    P.n = n;
    P.parts = parts;
    P.pending = parts - 1;
    P.gen++;
    pthread_cond_broadcast(&P.start);
    pthread_mutex_unlock(&P.lock);

    fn(ctx, 0, s_bound(n, parts, 1));

    pthread_mutex_lock(&P.lock);
    while (P.pending > 0) {
        pthread_cond_wait(&P.done, &P.lock);
    }
    pthread_mutex_unlock(&P.lock);
    pthread_mutex_unlock(&P.call_lock);
}
