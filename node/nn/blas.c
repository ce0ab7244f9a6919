/* blas.c - row-major sgemm over cblas (see blas.h).
 *
 * OpenBLAS runs single-threaded; the engine splits each large product
 * itself over its own pool (parallel.h), by rows of C or by columns, so
 * that one set of threads serves both the products and the loops between
 * them.  With OpenBLAS's threads, its workers spun (sched_yield) through
 * every im2col and activation pass and took the core the engine's loops
 * needed.  A large product is always cut into the same blocks of
 * BLAS_SPLIT_BLOCK rows or columns, whatever the thread count (one thread
 * runs them in turn), so the kernel calls and every bit of the result are
 * the same on any number of threads (tests/nn/test_parallel.c).
 */
#include "node/nn/blas.h"

#include <cblas.h>
#include <pthread.h>

#include "node/nn/parallel.h"

// below this many multiply-adds a product is not worth splitting
#define BLAS_SPLIT_MIN_MACS (1u << 21)
#define BLAS_SPLIT_BLOCK 256 // rows or columns per kernel call

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static _Atomic int s_threads = 1;

// OpenBLAS's own count (OPENBLAS_NUM_THREADS or the cores) becomes ours,
// and OpenBLAS itself goes down to one thread.
static void s_init(void)
{
    int t = openblas_get_num_threads();
    s_threads = t > 0 ? t : 1;
    openblas_set_num_threads(1);
}

typedef struct {
    bool trans_a, trans_b, by_rows;
    int m, n, k, lda, ldb, ldc, blocks;
    float alpha, beta;
    const float *a, *b;
    float *c;
} s_gemm_t;

// One block: rows (or columns) lo..hi of C.
static void s_gemm_block(const s_gemm_t *g, int lo, int hi)
{
    const CBLAS_TRANSPOSE ta = g->trans_a ? CblasTrans : CblasNoTrans;
    const CBLAS_TRANSPOSE tb = g->trans_b ? CblasTrans : CblasNoTrans;
    if (g->by_rows) {
        // rows lo..hi of C need rows lo..hi of op(A)
        const float *a = g->trans_a ? g->a + lo : g->a + (size_t)lo * g->lda;
        cblas_sgemm(CblasRowMajor, ta, tb, hi - lo, g->n, g->k, g->alpha, a, g->lda, g->b,
                    g->ldb, g->beta, g->c + (size_t)lo * g->ldc, g->ldc);
    } else {
        // columns lo..hi of C need columns lo..hi of op(B)
        const float *b = g->trans_b ? g->b + (size_t)lo * g->ldb : g->b + lo;
        cblas_sgemm(CblasRowMajor, ta, tb, g->m, hi - lo, g->k, g->alpha, g->a, g->lda, b,
                    g->ldb, g->beta, g->c + lo, g->ldc);
    }
}

static void s_gemm_range(void *arg, size_t begin, size_t end)
{
    const s_gemm_t *g = arg;
    const int total = g->by_rows ? g->m : g->n;
    for (size_t blk = begin; blk < end; blk++) {
        int lo = (int)blk * BLAS_SPLIT_BLOCK, hi = lo + BLAS_SPLIT_BLOCK;
        s_gemm_block(g, lo, hi < total ? hi : total);
    }
}

void blas_gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
               const float *a, int lda, const float *b, int ldb, float beta,
               float *c, int ldc)
{
    if (m == 0 || n == 0) {
        return;
    }
    pthread_once(&s_once, s_init);
    const double macs = (double)m * n * (k > 0 ? k : 1);
    const int total = m >= n ? m : n;
    if (macs < BLAS_SPLIT_MIN_MACS || total <= BLAS_SPLIT_BLOCK) {
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                    trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb,
                    beta, c, ldc);
        return;
    }
    s_gemm_t g = {trans_a, trans_b, m >= n, m, n, k, lda, ldb, ldc, 0, alpha, beta, a, b, c};
    g.blocks = (total + BLAS_SPLIT_BLOCK - 1) / BLAS_SPLIT_BLOCK;
    parallel_for((size_t)g.blocks, 1, s_gemm_range, &g);
}

void blas_set_threads(int threads)
{
    pthread_once(&s_once, s_init);
    if (threads > 0) {
        s_threads = threads;
    }
}

int blas_threads(void)
{
    pthread_once(&s_once, s_init);
    return s_threads;
}
