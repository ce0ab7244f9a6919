/* opener.c - envelope_open on worker threads (see opener.h). */
#include "node/fed/opener.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keyring.h"
#include "node/base/mem.h"

struct opener {
    zactor_t *worker[OPENER_THREADS];
    int next;       // round-robin
    int in_flight;
};

void opener_run(const identity_t *me, open_job_t *job)
{
    // a keyring of the one claimed sender: the job does not share the
    // node's, which the main thread replaces every round
    keyring_t *members = keyring_new();
    if (job->sender_known) {
        keyring_add(members, &job->sender);
    }
    envelope_expect_t ex = {job->fed_id, job->round, me, members, job->expected_count,
                            ENVELOPE_MAX_BYTES};
    job->rc = envelope_open(job->buf, job->n, &ex, NULL, &job->hdr, &job->w, &job->err);
    keyring_destroy(&members);
}

static void s_worker(zsock_t *pipe, void *arg)
{
    const identity_t *me = arg;
    zsock_signal(pipe, 0);
    for (;;) {
        zmsg_t *msg = zmsg_recv(pipe);
        if (!msg) {
            break;
        }
        zframe_t *f = zmsg_first(msg);
        if (zframe_streq(f, "$TERM")) {
            zmsg_destroy(&msg);
            break;
        }
        open_job_t *job = NULL;
        if (zframe_size(f) == sizeof job) {
            memcpy(&job, zframe_data(f), sizeof job);
            opener_run(me, job);
            zsock_send(pipe, "p", job);
        }
        zmsg_destroy(&msg);
    }
}

opener_t *opener_new(const identity_t *me)
{
    opener_t *self = xcalloc(1, sizeof *self);
    for (int i = 0; i < OPENER_THREADS; i++) {
        self->worker[i] = zactor_new(s_worker, (void *)me);
    }
    return self;
}

void opener_destroy(opener_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    opener_t *self = *self_p;
    // Every job handed out comes back on its worker's pipe, in order:
    // collect them all (a worker finishes its current open first).
    zpoller_t *p = zpoller_new(NULL);
    for (int i = 0; i < OPENER_THREADS; i++) {
        zpoller_add(p, self->worker[i]);
    }
    while (self->in_flight > 0) {
        void *which = zpoller_wait(p, -1);
        if (!which) {
            break; // interrupted: what is left is the process's exit to reclaim
        }
        open_job_t *job = opener_collect(self, which);
        opener_job_free(&job);
    }
    zpoller_destroy(&p);
    for (int i = 0; i < OPENER_THREADS; i++) {
        zactor_destroy(&self->worker[i]);
    }
    free(self);
    *self_p = NULL;
}

int opener_submit(opener_t *self, open_job_t *job)
{
    if (self->in_flight >= OPENER_MAX_JOBS) {
        return -1;
    }
    zactor_t *w = self->worker[self->next];
    self->next = (self->next + 1) % OPENER_THREADS;
    if (zsock_send(w, "p", job) < 0) {
        return -1;
    }
    self->in_flight++;
    return 0;
}

void *opener_pipe(opener_t *self, int i)
{
    return self->worker[i];
}

open_job_t *opener_collect(opener_t *self, void *pipe)
{
    open_job_t *job = NULL;
    if (zsock_recv(pipe, "p", &job) < 0 || !job) {
        return NULL;
    }
    self->in_flight--;
    return job;
}

int opener_in_flight(const opener_t *self)
{
    return self->in_flight;
}

void opener_job_free(open_job_t **job_p)
{
    if (job_p && *job_p) {
        free((*job_p)->buf);
        free((*job_p)->w);
        free(*job_p);
        *job_p = NULL;
    }
}
