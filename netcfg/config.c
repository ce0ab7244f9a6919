/* config.c - the node configuration schema (see config.h, docs/netcfg.md). */
#include "netcfg/config.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/noise_mechanism.h"
#include "netcfg/zpl.h"
#include "node/base/bytes.h"
#include "node/base/fsio.h"

typedef enum { K_STR, K_PATH, K_LONG, K_DOUBLE, K_ID, K_EXPECT_NUM, K_EXPECT_TEXT } kind_t;

typedef struct {
    const char *section;
    const char *key;
    kind_t kind;
    size_t offset;   // into node_config_t (K_STR, K_PATH, K_LONG)
    size_t size;     // buffer size for strings
    double lo, hi;   // range for numbers
    int expect;      // config_expect_key_t for K_EXPECT_*
    int required;
} field_t;

#define STR(sec, key, member, req) \
    {sec, key, K_STR, offsetof(node_config_t, member), sizeof(((node_config_t *)0)->member), \
     0, 0, 0, req}
#define PATH(sec, key, member, req) \
    {sec, key, K_PATH, offsetof(node_config_t, member), CONFIG_PATH_MAX, 0, 0, 0, req}
#define LONG(sec, key, member, lo, hi) \
    {sec, key, K_LONG, offsetof(node_config_t, member), 0, lo, hi, 0, 0}
#define DOUBLE(sec, key, member, lo, hi) \
    {sec, key, K_DOUBLE, offsetof(node_config_t, member), 0, lo, hi, 0, 0}
#define EXPNUM(key, e, lo, hi) {"federation", key, K_EXPECT_NUM, 0, 0, lo, hi, e, 0}
#define EXPTXT(key, e) {"federation", key, K_EXPECT_TEXT, 0, 0, 0, 0, e, 0}

static const field_t s_fields[] = {
    STR("node", "name", name, 1),
    PATH("node", "keys", keys, 1),
    PATH("node", "dir", dir, 1),
    STR("node", "listen", listen, 1),
    STR("node", "advertise", advertise, 0),
    {"federation", "id", K_ID, 0, 0, 0, 0, 0, 0},
    PATH("federation", "genesis", genesis, 0),
    PATH("federation", "initial", initial, 0),
    EXPTXT("model", EXPECT_MODEL),
    EXPTXT("dataset", EXPECT_DATASET),
    EXPNUM("rounds", EXPECT_ROUNDS, 0, 4294967295.0),
    EXPNUM("local-iters", EXPECT_LOCAL_ITERS, 0, 4294967295.0),
    EXPTXT("mechanism", EXPECT_MECHANISM),
    EXPNUM("scale", EXPECT_SCALE, 0, 1e9),
    EXPNUM("agg-scale", EXPECT_AGG_SCALE, 0, 1e9),
    EXPNUM("clip", EXPECT_CLIP, 0, 1e12),
    EXPNUM("timeout-ms", EXPECT_TIMEOUT_MS, 1, 4294967295.0),
    EXPNUM("attempt-extra-ms", EXPECT_ATTEMPT_EXTRA_MS, 0, 4294967295.0),
    EXPNUM("quorum", EXPECT_QUORUM, 1, LEDGER_MAX_MEMBERS),
    EXPTXT("admission", EXPECT_ADMISSION),
    STR("data", "set", dataset, 0),
    PATH("data", "dir", data_dir, 0),
    STR("data", "labels", labels, 0),
    LONG("data", "limit", limit, 0, 100000000),
    LONG("data", "seed", data_seed, 0, 2147483647),
    STR("data", "partition", partition, 0),
    LONG("data", "clients", clients, 1, CONFIG_MAX_CLIENTS),
    LONG("data", "client", client, 0, CONFIG_MAX_CLIENTS - 1),
    DOUBLE("data", "alpha", alpha, 1e-6, 1e6),
    LONG("train", "batch", batch, 2, 4096),
    LONG("train", "threads", threads, 1, 256),
    LONG("train", "log-every", log_every, 0, 1000000),
    LONG("train", "dp-rounds", dp_rounds, 0, 1000000),
    LONG("quality", "score-every", score_every, 0, 1000000),
    PATH("quality", "evaluator", evaluator, 0),
    LONG("quality", "score-samples", score_samples, 10, 1000000),
    PATH("quality", "test-dir", test_dir, 0),
    STR("node", "keep-models", keep_models_text, 0), // last: seen[] indices above stay
    PATH("node", "log-json", log_json, 0),
};
#define N_FIELDS (sizeof s_fields / sizeof s_fields[0])

static const char *s_sections[] = {"node", "federation", "peers", "data", "train", "quality"};
#define N_SECTIONS (sizeof s_sections / sizeof s_sections[0])

const char *config_expect_name(int key)
{
    for (size_t i = 0; i < N_FIELDS; i++) {
        if ((s_fields[i].kind == K_EXPECT_NUM || s_fields[i].kind == K_EXPECT_TEXT) &&
            s_fields[i].expect == key) {
            return s_fields[i].key;
        }
    }
    return "?";
}

static void s_defaults(node_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->dataset, sizeof cfg->dataset, "mnist");
    cfg->batch = 64;
    cfg->threads = 1;
    cfg->log_every = 10;
    cfg->score_samples = 1000;
}

// Joins base and a relative path into out.
static int s_path(const char *base, const char *value, char *out, const char *file, int line,
                  fs_err_t *err)
{
    int n;
    if (value[0] == '/' || !base || !base[0]) {
        n = snprintf(out, CONFIG_PATH_MAX, "%s", value);
    } else {
        n = snprintf(out, CONFIG_PATH_MAX, "%s/%s", base, value);
    }
    if (n < 0 || n >= CONFIG_PATH_MAX) {
        return fs_err_set(err, FS_EINVAL, "%s:%d: path longer than %d bytes", file, line,
                          CONFIG_PATH_MAX - 1);
    }
    return 0;
}

static int s_number(const char *s, double *out)
{
    if (!*s) {
        return -1;
    }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v)) {
        return -1;
    }
    *out = v;
    return 0;
}

// A peer's identity: the one-line public form, or a path to identity.pub.
static int s_peer_id(const char *value, const char *base, config_peer_t *p, const char *file,
                     int line, fs_err_t *err)
{
    fs_err_t e = {0};
    if (strncmp(value, "fedsyn-id1 ", 11) == 0) {
        if (identity_pub_parse(value, &p->id, &e) < 0) {
            return fs_err_set(err, FS_EINVAL, "%s:%d: peer key: %s", file, line, e.msg);
        }
    } else {
        char path[CONFIG_PATH_MAX];
        if (s_path(base, value, path, file, line, err) < 0) {
            return FS_EINVAL;
        }
        uint8_t *buf = NULL;
        size_t n = 0;
        if (fsio_read_all(path, IDENTITY_LINE_MAX, &buf, &n, &e) < 0) {
            return fs_err_set(err, FS_EINVAL,
                              "%s:%d: peer identity: %s (expected the one-line public identity "
                              "\"fedsyn-id1 ...\" or the path of an identity.pub)",
                              file, line, e.msg);
        }
        char text[IDENTITY_LINE_MAX + 1];
        memcpy(text, buf, n);
        text[n] = 0;
        free(buf);
        if (identity_pub_parse(text, &p->id, &e) < 0) {
            return fs_err_set(err, FS_EINVAL, "%s:%d: peer identity %s: %s", file, line, path,
                              e.msg);
        }
    }
    p->has_id = 1;
    return 0;
}

static int s_endpoint_check(const char *ep, const char *file, int line, fs_err_t *err)
{
    if (strncmp(ep, "tcp://", 6) != 0 && strncmp(ep, "ipc://", 6) != 0) {
        return fs_err_set(err, FS_EINVAL,
                          "%s:%d: endpoint '%s': expected tcp://HOST:PORT or ipc://PATH", file,
                          line, ep);
    }
    if (strlen(ep) >= CONFIG_ENDPOINT_MAX) {
        return fs_err_set(err, FS_EINVAL, "%s:%d: endpoint longer than %d bytes", file, line,
                          CONFIG_ENDPOINT_MAX - 1);
    }
    return 0;
}

// "0,1,2" or "3-6": digits, ranges and commas (data/dataset.c parses it).
static int s_labels_check(const char *spec, const char *file, fs_err_t *err)
{
    const char *p = spec;
    for (;;) {
        if (*p < '0' || *p > '9') {
            break;
        }
        p++;
        if (*p == '-') {
            p++;
            if (*p < '0' || *p > '9' || p[-2] > *p) {
                break;
            }
            p++;
        }
        if (*p == 0) {
            return 0;
        }
        if (*p++ != ',') {
            break;
        }
    }
    return fs_err_set(err, FS_EINVAL, "%s: data/labels = '%s': expected digits and ranges "
                      "separated by commas, e.g. 0,1,2 or 3-6", file, spec);
}

// The line of section/key in the file (0 when absent), from parse's seen[].
static int s_line(const int *seen, const char *section, const char *key)
{
    for (size_t i = 0; i < N_FIELDS; i++) {
        if (strcmp(s_fields[i].section, section) == 0 && strcmp(s_fields[i].key, key) == 0) {
            return seen[i];
        }
    }
    return 0;
}

// node/keep-models: "all" (the default) or a whole number of blocks.
static int s_keep_models_check(node_config_t *cfg, const int *seen, fs_err_t *err)
{
    const char *t = cfg->keep_models_text;
    cfg->keep_models = CONFIG_KEEP_ALL;
    if (!t[0] || strcmp(t, "all") == 0) {
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(t, &end, 10);
    if (end == t || *end || errno || v < 0 || v > 1000000000L || t[0] == '-' || t[0] == '+') {
        return fs_err_set(err, FS_EINVAL, "%s:%d: node/keep-models = '%s': expected all or a "
                          "whole number of rounds from 0 (the head's only) to 1000000000", cfg->file,
                          s_line(seen, "node", "keep-models"), t);
    }
    cfg->keep_models = v;
    return 0;
}

// Quality scores need an evaluator file that is there and a test set.
static int s_quality_check(node_config_t *cfg, const int *seen, fs_err_t *err)
{
    if (!cfg->test_dir[0]) {
        memcpy(cfg->test_dir, cfg->data_dir, sizeof cfg->test_dir);
    }
    if (cfg->score_every == 0) {
        return 0;
    }
    int every_line = s_line(seen, "quality", "score-every");
    if (!cfg->evaluator[0]) {
        return fs_err_set(err, FS_EINVAL, "%s:%d: quality/score-every = %ld needs quality/"
                          "evaluator = PATH, an evaluator file (train one with 'fedsyn "
                          "evaluator train --dataset %s --out PATH')", cfg->file, every_line,
                          cfg->score_every, cfg->dataset);
    }
    if (access(cfg->evaluator, R_OK) != 0) {
        return fs_err_set(err, FS_EINVAL, "%s:%d: quality/evaluator %s: %s (train one with "
                          "'fedsyn evaluator train --dataset %s --out %s')", cfg->file,
                          s_line(seen, "quality", "evaluator"), cfg->evaluator, strerror(errno),
                          cfg->dataset, cfg->evaluator);
    }
    if (!cfg->test_dir[0]) {
        return fs_err_set(err, FS_EINVAL, "%s:%d: quality/score-every needs a test set: "
                          "quality/test-dir or data/dir (the directory of "
                          "t10k-images-idx3-ubyte)", cfg->file, every_line);
    }
    return 0;
}

static int s_field(const field_t *f, const zpl_entry_t *e, const char *base, node_config_t *cfg,
                   fs_err_t *err)
{
    const char *file = cfg->file;
    char *dst = (char *)cfg + f->offset;
    double v;
    if (!e->has_value) {
        return fs_err_set(err, FS_EINVAL, "%s:%d: %s/%s needs a value ('%s = ...')", file, e->line,
                          f->section, f->key, f->key);
    }
    switch (f->kind) {
    case K_STR:
        if (strlen(e->value) >= f->size || !e->value[0]) {
            return fs_err_set(err, FS_EINVAL, "%s:%d: %s/%s: expected 1 to %zu characters",
                              file, e->line, f->section, f->key, f->size - 1);
        }
        memcpy(dst, e->value, strlen(e->value) + 1);
        return 0;
    case K_PATH:
        if (!e->value[0]) {
            return fs_err_set(err, FS_EINVAL, "%s:%d: %s/%s: empty path", file, e->line,
                              f->section, f->key);
        }
        return s_path(base, e->value, dst, file, e->line, err);
    case K_LONG:
        if (s_number(e->value, &v) < 0 || v != floor(v) || v < f->lo || v > f->hi) {
            return fs_err_set(err, FS_EINVAL, "%s:%d: %s/%s = '%s': expected a whole number "
                              "from %.0f to %.0f", file, e->line, f->section, f->key, e->value,
                              f->lo, f->hi);
        }
        *(long *)(void *)dst = (long)v;
        return 0;
    case K_DOUBLE:
        if (s_number(e->value, &v) < 0 || v < f->lo || v > f->hi) {
            return fs_err_set(err, FS_EINVAL, "%s:%d: %s/%s = '%s': expected a number from %g "
                              "to %g", file, e->line, f->section, f->key, e->value, f->lo, f->hi);
        }
        *(double *)(void *)dst = v;
        return 0;
    case K_ID:
        if (strlen(e->value) != 2 * HASH_BYTES ||
            bytes_from_hex(e->value, cfg->fed_id, HASH_BYTES) < 0) {
            return fs_err_set(err, FS_EINVAL, "%s:%d: federation/id: expected 64 hex digits "
                              "(fedsyn ledger show prints the federation id)", file, e->line);
        }
        cfg->has_fed_id = 1;
        return 0;
    case K_EXPECT_NUM:
        if (s_number(e->value, &v) < 0 || v < f->lo || v > f->hi) {
            return fs_err_set(err, FS_EINVAL, "%s:%d: federation/%s = '%s': expected a number "
                              "from %g to %g", file, e->line, f->key, e->value, f->lo, f->hi);
        }
        cfg->expect[f->expect].num = v;
        break;
    case K_EXPECT_TEXT:
        if (strlen(e->value) > GENESIS_TEXT_MAX || !e->value[0]) {
            return fs_err_set(err, FS_EINVAL, "%s:%d: federation/%s: expected 1 to %d characters",
                              file, e->line, f->key, GENESIS_TEXT_MAX);
        }
        memcpy(cfg->expect[f->expect].text, e->value, strlen(e->value) + 1); // length checked above
        break;
    }
    cfg->expect[f->expect].set = 1;
    cfg->expect[f->expect].line = e->line;
    return 0;
}

static int s_unknown_key(const char *file, const zpl_entry_t *e, const char *section,
                         fs_err_t *err)
{
    char keys[400] = "";
    size_t used = 0;
    for (size_t i = 0; i < N_FIELDS; i++) {
        if (strcmp(s_fields[i].section, section) == 0 && used < sizeof keys - 40) {
            used += (size_t)snprintf(keys + used, sizeof keys - used, "%s%s", used ? ", " : "",
                                     s_fields[i].key);
        }
    }
    return fs_err_set(err, FS_EINVAL, "%s:%d: unknown key '%s' in section '%s' (expected one "
                      "of: %s)", file, e->line, e->name, section, keys);
}

static int s_peer(const zpl_doc_t *doc, size_t *i, const char *base, node_config_t *cfg,
                  fs_err_t *err)
{
    const zpl_entry_t *head = &doc->entry[*i];
    if (strcmp(head->name, "peer") != 0 || head->has_value) {
        return fs_err_set(err, FS_EINVAL, "%s:%d: expected 'peer' (a sub-section with endpoint "
                          "and key) in section 'peers', found '%s'", cfg->file, head->line,
                          head->name);
    }
    if (cfg->n_peers == CONFIG_MAX_PEERS) {
        return fs_err_set(err, FS_EINVAL, "%s:%d: more than %d peers", cfg->file, head->line,
                          CONFIG_MAX_PEERS);
    }
    config_peer_t *p = &cfg->peers[cfg->n_peers];
    memset(p, 0, sizeof *p);
    p->line = head->line;
    int seen_ep = 0, seen_key = 0;
    while (*i + 1 < doc->n && doc->entry[*i + 1].depth == 2) {
        const zpl_entry_t *e = &doc->entry[++*i];
        if (!e->has_value) {
            return fs_err_set(err, FS_EINVAL, "%s:%d: peer/%s needs a value", cfg->file, e->line,
                              e->name);
        }
        if (strcmp(e->name, "endpoint") == 0) {
            if (seen_ep++) {
                return fs_err_set(err, FS_EINVAL, "%s:%d: peer/endpoint repeated", cfg->file,
                                  e->line);
            }
            if (s_endpoint_check(e->value, cfg->file, e->line, err) < 0) {
                return FS_EINVAL;
            }
            memcpy(p->endpoint, e->value, strlen(e->value) + 1); // length checked above
        } else if (strcmp(e->name, "key") == 0 || strcmp(e->name, "identity") == 0) {
            if (seen_key++) {
                return fs_err_set(err, FS_EINVAL, "%s:%d: peer has two keys", cfg->file,
                                  e->line);
            }
            if (s_peer_id(e->value, base, p, cfg->file, e->line, err) < 0) {
                return FS_EINVAL;
            }
        } else {
            return fs_err_set(err, FS_EINVAL, "%s:%d: unknown key '%s' in a peer (expected "
                              "endpoint, key or identity)", cfg->file, e->line, e->name);
        }
    }
    if (!seen_key) {
        return fs_err_set(err, FS_EINVAL, "%s:%d: peer without 'key' (its one-line public "
                          "identity, or 'identity = path/to/identity.pub')", cfg->file,
                          head->line);
    }
    cfg->n_peers++;
    return 0;
}

// In a checking parse (sink set) a mistake is reported and the parse goes
// on, so that `netcfg check` names them all; otherwise the first one ends
// it.  Returns what the caller's rc becomes; *failed keeps the first code.
static int s_go_on(const config_sink_t *sink, int rc, const fs_err_t *err, int *failed)
{
    if (rc == 0 || !sink) {
        return rc;
    }
    sink->found(sink->ctx, err && err->msg[0] ? err->msg : fs_strerror(rc));
    if (!*failed) {
        *failed = rc;
    }
    return 0;
}

typedef struct {
    const char *file, *base;
    node_config_t *cfg;
    int seen[N_FIELDS];
    int seen_section[N_SECTIONS];
    const char *section; // NULL after an unknown section: its keys are skipped
    int peer_failed;     // the last peer had a mistake: skip its sub-entries
} s_parse_t;

// One entry of the document (a peer takes its sub-entries: *i moves).
static int s_entry(s_parse_t *p, const zpl_doc_t *doc, size_t *i, fs_err_t *err)
{
    const zpl_entry_t *e = &doc->entry[*i];
    const char *file = p->file;
    if (e->depth == 0) {
        p->section = NULL;
        for (size_t s = 0; s < N_SECTIONS; s++) {
            if (strcmp(e->name, s_sections[s]) == 0) {
                p->section = s_sections[s];
                if (p->seen_section[s]++) {
                    p->section = NULL; // its keys are not reported again as repeated
                    return fs_err_set(err, FS_EINVAL, "%s:%d: section '%s' appears twice",
                                      file, e->line, s_sections[s]);
                }
            }
        }
        if (!p->section) {
            return fs_err_set(err, FS_EINVAL, "%s:%d: unknown section '%s' (expected node, "
                              "federation, peers, data, train or quality)", file, e->line,
                              e->name);
        }
        if (e->has_value) {
            return fs_err_set(err, FS_EINVAL, "%s:%d: section '%s' takes no value; its keys "
                              "go on the lines below, indented 4 spaces", file, e->line,
                              e->name);
        }
        return 0;
    }
    if (!p->section) {
        return 0; // under an unknown section, reported already
    }
    if (strcmp(p->section, "peers") == 0) {
        if (e->depth == 2 && p->peer_failed) {
            return 0; // the rest of a peer whose mistake was reported
        }
        if (e->depth != 1) {
            return fs_err_set(err, FS_EINVAL, "%s:%d: too deeply indented", file, e->line);
        }
        int rc = s_peer(doc, i, p->base, p->cfg, err);
        p->peer_failed = rc != 0;
        return rc;
    }
    if (e->depth != 1) {
        return fs_err_set(err, FS_EINVAL, "%s:%d: '%s' is indented below a key; only peers "
                          "have sub-sections", file, e->line, e->name);
    }
    size_t f = 0;
    while (f < N_FIELDS &&
           (strcmp(s_fields[f].section, p->section) || strcmp(s_fields[f].key, e->name))) {
        f++;
    }
    if (f == N_FIELDS) {
        return s_unknown_key(file, e, p->section, err);
    }
    if (p->seen[f]) {
        return fs_err_set(err, FS_EINVAL, "%s:%d: %s/%s repeated (first on line %d)", file,
                          e->line, p->section, e->name, p->seen[f]);
    }
    p->seen[f] = e->line;
    return s_field(&s_fields[f], e, p->base, p->cfg, err);
}

// data/partition's companions.
static int s_partition_check(const node_config_t *cfg, const char *file, fs_err_t *err)
{
    int dir = strcmp(cfg->partition, "dirichlet") == 0;
    int iid = strcmp(cfg->partition, "iid") == 0;
    if (!dir && !iid) {
        return fs_err_set(err, FS_EINVAL, "%s: data/partition = '%s': expected dirichlet or iid",
                          file, cfg->partition);
    }
    if (cfg->clients < 1 || cfg->client >= cfg->clients) {
        return fs_err_set(err, FS_EINVAL, "%s: data/partition %s needs data/clients N and "
                          "data/client K with 0 <= K < N (this node's share)", file,
                          cfg->partition);
    }
    if (dir && !(cfg->alpha > 0)) {
        return fs_err_set(err, FS_EINVAL, "%s: data/partition dirichlet needs data/alpha "
                          "(e.g. 0.1; larger is closer to IID)", file);
    }
    if (cfg->labels[0]) {
        return fs_err_set(err, FS_EINVAL, "%s: data/labels and data/partition exclude each "
                          "other: give one", file);
    }
    return 0;
}

static int s_parse(const char *text, size_t n, const char *file, const char *base,
                   node_config_t *cfg, const config_sink_t *sink, fs_err_t *err)
{
    s_defaults(cfg);
    snprintf(cfg->file, sizeof cfg->file, "%s", file);
    zpl_doc_t *doc = zpl_parse(text, n, file, err);
    if (!doc) {
        int failed = 0;
        s_go_on(sink, FS_EINVAL, err, &failed);
        return FS_EINVAL;
    }
    s_parse_t p = {.file = file, .base = base, .cfg = cfg};
    int rc = 0, failed = 0;
    for (size_t i = 0; i < doc->n && rc == 0; i++) {
        rc = s_go_on(sink, s_entry(&p, doc, &i, err), err, &failed);
    }
    zpl_destroy(&doc);
    for (size_t f = 0; f < N_FIELDS && rc == 0; f++) {
        if (s_fields[f].required && !p.seen[f]) {
            rc = fs_err_set(err, FS_EINVAL, "%s: %s/%s is required (see fedsyn netcfg check "
                            "--help)", file, s_fields[f].section, s_fields[f].key);
            rc = s_go_on(sink, rc, err, &failed);
        }
    }
    const int *seen = p.seen;
    fs_err_t e2 = {0};
    if (rc == 0 && cfg->name[0] && identity_name_check(cfg->name, &e2) < 0) {
        rc = fs_err_set(err, FS_EINVAL, "%s:%d: node/name: %s", file, seen[0], e2.msg);
        rc = s_go_on(sink, rc, err, &failed);
    }
    if (rc == 0 && cfg->listen[0]) {
        rc = s_go_on(sink, s_endpoint_check(cfg->listen, file, seen[3], err), err, &failed);
    }
    if (rc == 0 && cfg->advertise[0]) {
        rc = s_go_on(sink, s_endpoint_check(cfg->advertise, file, seen[4], err), err, &failed);
    }
    if (rc == 0 && strcmp(cfg->dataset, "mnist") && strcmp(cfg->dataset, "fashion")) {
        rc = fs_err_set(err, FS_EINVAL, "%s: data/set = '%s': expected mnist or fashion",
                        file, cfg->dataset);
        rc = s_go_on(sink, rc, err, &failed);
    }
    if (rc == 0 && !cfg->advertise[0]) {
        memcpy(cfg->advertise, cfg->listen, sizeof cfg->listen);
    }
    if (rc == 0 && cfg->labels[0]) {
        rc = s_go_on(sink, s_labels_check(cfg->labels, file, err), err, &failed);
    }
    if (rc == 0 && cfg->partition[0]) {
        rc = s_go_on(sink, s_partition_check(cfg, file, err), err, &failed);
    }
    if (rc == 0) {
        rc = s_go_on(sink, s_quality_check(cfg, seen, err), err, &failed);
    }
    if (rc == 0) {
        rc = s_go_on(sink, s_keep_models_check(cfg, seen, err), err, &failed);
    }
    return rc ? rc : failed;
}

int config_parse(const char *text, size_t n, const char *file, const char *base,
                 node_config_t *cfg, fs_err_t *err)
{
    return s_parse(text, n, file, base, cfg, NULL, err);
}

// The directory of a configuration file, for its relative paths.
static void s_base(const char *path, char base[CONFIG_PATH_MAX])
{
    snprintf(base, CONFIG_PATH_MAX, "%s", path);
    char *slash = strrchr(base, '/');
    if (slash) {
        *slash = 0;
    } else {
        base[0] = 0;
    }
}

int config_check_file(const char *path, node_config_t *cfg, const config_sink_t *sink)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    fs_err_t err = {0};
    if (fsio_read_all(path, ZPL_MAX_BYTES, &buf, &n, &err) < 0) {
        int failed = 0;
        fs_err_prefix(&err, FS_EINVAL, "configuration: ");
        s_go_on(sink, FS_EINVAL, &err, &failed);
        return FS_EINVAL;
    }
    char base[CONFIG_PATH_MAX];
    s_base(path, base);
    int rc = s_parse((const char *)buf, n, path, base, cfg, sink, &err);
    free(buf);
    return rc;
}

int config_load(const char *path, node_config_t *cfg, fs_err_t *err)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    if (fsio_read_all(path, ZPL_MAX_BYTES, &buf, &n, err) < 0) {
        return fs_err_prefix(err, FS_EINVAL, "configuration: ");
    }
    char base[CONFIG_PATH_MAX];
    s_base(path, base);
    int rc = config_parse((const char *)buf, n, path, base, cfg, err);
    free(buf);
    return rc;
}

static int s_mismatch_num(const node_config_t *cfg, int key, double have, fs_err_t *err)
{
    const config_expect_t *x = &cfg->expect[key];
    if (!x->set || x->num == have || fabs(x->num - have) <= 1e-12 * fabs(have)) {
        return 0;
    }
    return fs_err_set(err, FS_EINVAL, "%s:%d: federation/%s = %g, but the ledger's genesis says "
                      "%g (remove the line or fix it)", cfg->file, x->line,
                      config_expect_name(key), x->num, have);
}

static int s_mismatch_text(const node_config_t *cfg, int key, const char *have, fs_err_t *err)
{
    const config_expect_t *x = &cfg->expect[key];
    if (!x->set || strcmp(x->text, have) == 0) {
        return 0;
    }
    return fs_err_set(err, FS_EINVAL, "%s:%d: federation/%s = %s, but the ledger's genesis says "
                      "%s (remove the line or fix it)", cfg->file, x->line,
                      config_expect_name(key), x->text, have);
}

static int s_check_genesis(const node_config_t *cfg, const genesis_t *g,
                           const config_sink_t *sink, fs_err_t *err)
{
    int rc = 0, failed = 0;
#define GO(x) rc = rc ? rc : s_go_on(sink, (x), err, &failed)
    GO(s_mismatch_text(cfg, EXPECT_MODEL, g->model, err));
    GO(s_mismatch_text(cfg, EXPECT_DATASET, g->dataset, err));
    GO(s_mismatch_num(cfg, EXPECT_ROUNDS, g->rounds, err));
    GO(s_mismatch_num(cfg, EXPECT_LOCAL_ITERS, g->local_iters, err));
    GO(s_mismatch_text(cfg, EXPECT_MECHANISM, noise_mechanism_keyword(g->mechanism), err));
    GO(s_mismatch_num(cfg, EXPECT_SCALE, g->member_scale, err));
    GO(s_mismatch_num(cfg, EXPECT_AGG_SCALE, g->agg_scale, err));
    GO(s_mismatch_num(cfg, EXPECT_CLIP, g->clip, err));
    GO(s_mismatch_num(cfg, EXPECT_TIMEOUT_MS, g->round_timeout_ms, err));
    GO(s_mismatch_num(cfg, EXPECT_ATTEMPT_EXTRA_MS, g->attempt_extra_ms, err));
    GO(s_mismatch_num(cfg, EXPECT_QUORUM, g->quorum, err));
    GO(s_mismatch_text(cfg, EXPECT_ADMISSION, g->admission == ADMIT_OPEN   ? "open"
                                                 : g->admission == ADMIT_VOTE ? "vote"
                                                                              : "allowlist",
                       err));
#undef GO
    return rc ? rc : failed;
}

int config_check_genesis(const node_config_t *cfg, const genesis_t *g, fs_err_t *err)
{
    return s_check_genesis(cfg, g, NULL, err);
}

int config_check_genesis_all(const node_config_t *cfg, const genesis_t *g,
                             const config_sink_t *sink)
{
    fs_err_t err = {0};
    return s_check_genesis(cfg, g, sink, &err);
}
