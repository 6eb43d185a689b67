/*
 * model.c - the public model API: parameters, open/close (mapped file or caller memory), the open
 * plan, model info, tokens, and the log-mel wrapper (see model.h for the open flow and the arena
 * layout).  With a caller buffer nothing here calls an allocator; with mem == NULL exactly one
 * est_port_alloc happens at open and one est_port_free at close.
 */
#include "model.h"

#include "mel.h"
#include "../models/parakeet_bin.h"

/* ==== parameters ========================================================================= */

int est_model_check_params(const edgestt_params *p, edgestt_params *out, edgestt_diag *diag) {
    edgestt_params d;
    edgestt_params_default(&d);
    if (!p) p = &d;
    if (p->n_threads < 1 || p->n_threads > EST_MAX_THREADS)
        return est_diag(diag, EDGESTT_E_INVALID_ARG, "n_threads %d is outside 1..%d", p->n_threads, EST_MAX_THREADS);
    if (p->beam_size < 1 || p->beam_size > EST_MAX_BEAMS)
        return est_diag(diag, EDGESTT_E_INVALID_ARG, "beam_size %d is outside 1..%d", p->beam_size, EST_MAX_BEAMS);
    if (p->max_audio_windows < 1 || p->max_audio_windows > EST_MAX_AUDIO_WINDOWS)
        return est_diag(diag, EDGESTT_E_INVALID_ARG, "max_audio_windows %d is outside 1..%d",
                        p->max_audio_windows, EST_MAX_AUDIO_WINDOWS);
    if (p->kv_type != EDGESTT_KV_F16 && p->kv_type != EDGESTT_KV_F32)
        return est_diag(diag, EDGESTT_E_INVALID_ARG, "kv_type %d is neither EDGESTT_KV_F16 (0) nor EDGESTT_KV_F32 (1)",
                        (int)p->kv_type);
    *out = *p;
    return EDGESTT_OK;
}

/* ==== the plan =========================================================================== */

/* One reservation, recorded as a step; zero-size blocks are skipped (no step). */
static int step(est_arena *a, est_model_plan *pl, int top, size_t count, size_t elem, void **out) {
    size_t n;
    *out = NULL;
    if (!est_mul(count, elem, &n)) return EDGESTT_E_LIMIT;
    if (!n) return EDGESTT_OK;
    int st = top ? est_arena_scratch(a, n, out) : est_arena_alloc(a, n, out);
    if (st) return st;
    if (pl->n_steps < EST_PLAN_MAX_STEPS) pl->marks[pl->n_steps] = a->lo + a->hi;
    pl->n_steps++;
    return EDGESTT_OK;
}

int est_model_plan_run(const est_whisper_probe *pr, const edgestt_params *p, est_arena *a, est_model_plan *pl) {
    const est_whisper_hparams *hp = &pr->hp;
    int st;
    void *q;
    memset(pl, 0, sizeof *pl);
    if (pr->n_file_kv > SIZE_MAX || pr->n_file_tensors > SIZE_MAX) return EDGESTT_E_LIMIT;
    pl->n_kv = (size_t)pr->n_file_kv;
    pl->n_tensors = (size_t)pr->n_file_tensors;
    pl->spec_size = pr->spec_bytes;
    pl->pool_size = est_pool_size(p->n_threads);
    pl->mel_scratch = est_log_mel_scratch_size(hp->n_mels, 2 * hp->n_audio_ctx);
    /* bottom: long-lived */
    if ((st = step(a, pl, 0, 1, sizeof(edgestt_model), &q)) != 0) return st;
    pl->handle = (edgestt_model *)q;
    if ((st = step(a, pl, 0, (size_t)hp->n_audio_layer, sizeof(est_whisper_enc_layer), &q)) != 0) return st;
    pl->enc = (est_whisper_enc_layer *)q;
    if ((st = step(a, pl, 0, (size_t)hp->n_text_layer, sizeof(est_whisper_dec_layer), &q)) != 0) return st;
    pl->dec = (est_whisper_dec_layer *)q;
    if ((st = step(a, pl, 0, (size_t)pr->n_text + 1, sizeof(uint32_t), &q)) != 0) return st;
    pl->text_off = (uint32_t *)q;
    if ((st = step(a, pl, 0, pr->text_bytes, 1, &q)) != 0) return st;
    pl->text_bytes = (uint8_t *)q;
    if ((st = step(a, pl, 0, (size_t)(hp->n_vocab - pr->n_text) + 1, sizeof(uint32_t), &q)) != 0) return st;
    pl->spec_off = (uint32_t *)q;
    if ((st = step(a, pl, 0, pl->spec_size, 1, &q)) != 0) return st;
    pl->spec_bytes = (uint8_t *)q;
    if ((st = step(a, pl, 0, pl->pool_size, 1, &q)) != 0) return st;
    pl->pool_mem = q;
    /* top: the file tables, used while open fills and binds, released before it returns */
    size_t mark = est_arena_mark(a);
    if ((st = step(a, pl, 1, pl->n_kv, sizeof(est_gguf_kv), &q)) != 0) return st;
    pl->kv = (est_gguf_kv *)q;
    if ((st = step(a, pl, 1, pl->n_tensors, sizeof(est_file_tensor), &q)) != 0) return st;
    pl->tensors = (est_file_tensor *)q;
    est_arena_release(a, mark);
    /* top: per-call scratch planned here so the block is big enough (edgestt_log_mel) */
    if ((st = step(a, pl, 1, pl->mel_scratch, 1, &q)) != 0) return st;
    est_arena_release(a, mark);
    pl->required = est_arena_required(a);
    return EDGESTT_OK;
}

/* ==== open / close ======================================================================= */

static int plan_status(int st, edgestt_diag *diag) {
    if (st == EDGESTT_E_LIMIT) return est_diag(diag, st, "model: planned memory overflows size_t");
    return est_diag(diag, st, "model: arena too small while placing the plan");
}

/* Fill a placed handle: tables, tensors, tokenizer, kernels, pool. */
static int fill(edgestt_model *h, const est_whisper_probe *pr, const est_model_plan *pl, const est_shards *sh,
                edgestt_diag *diag) {
    int st;
    h->w.enc = pl->enc;
    h->w.dec = pl->dec;
    if (pr->format == EDGESTT_FORMAT_GGUF) {
        est_gguf g;
        st = est_gguf_fill(pr->data, pr->size, &pr->gguf, pl->kv, pl->tensors, &g, diag);
        /* further shards: their tensors follow in the one table (the KV table is reused) */
        size_t at = (size_t)pr->gguf.n_tensors;
        for (int i = 0; !st && sh && i < sh->n; i++) {
            st = est_gguf_fill(sh->map[i].data, sh->map[i].size, &sh->lay[i], pl->kv, pl->tensors + at, &g, diag);
            at += (size_t)sh->lay[i].n_tensors;
        }
    } else {
        est_ggml_bin b = pr->bin;
        st = est_ggml_bin_fill(&b, pl->tensors, diag);
    }
    if (st) return st;
    if ((st = est_whisper_bind(pr, pl->tensors, pl->n_tensors, &h->w, diag)) != 0) return st;
    est_tokenizer *t = &h->tok;
    t->n_vocab = pr->hp.n_vocab;
    t->st = pr->st;
    if (pr->format == EDGESTT_FORMAT_GGUF)
        st = est_tok_index_gpt2(t, pr->tokens, pr->data + pr->size, pr->n_text, pl->text_bytes, pr->text_bytes,
                                pl->text_off, diag);
    else
        st = est_tok_index_records(t, pr->bin.words, pr->bin.words_bytes, pr->n_text, pl->text_off, diag);
    if (st) return st;
    est_tok_build_special(t, pl->spec_bytes, pl->spec_off);
    return EDGESTT_OK;
}

/* Kernel table from params->kernels, or EDGESTT_KERNELS when params ask for "auto". */
static int pick_kernels(const edgestt_params *p, const est_kernels **out, edgestt_diag *diag) {
    const char *req = p->kernels;
    if (!req || !*req || !strcmp(req, "auto")) {
        const char *env = est_port_getenv("EDGESTT_KERNELS");
        if (env && *env) req = env;
    }
    int st = est_kernels_select(req, est_port_cpu_features(), out);
    if (st == EDGESTT_E_UNSUPPORTED)
        return est_diag(diag, st, "kernels '%s' cannot run on this CPU or build", req);
    if (st) return est_diag(diag, st, "kernels '%s' unknown (auto, ref, avx2, neon, neondot)", req ? req : "");
    return EDGESTT_OK;
}

/* params->max_memory: the handle (arena_bytes) plus one state planned for the params' beams and
 * threads must fit.  Runs on a filled handle; the plans read headers only, never tensor data. */
static int check_max_memory(const edgestt_model *h, const edgestt_params *p, edgestt_diag *diag) {
    edgestt_full_params fp;
    edgestt_full_params_default(&fp);
    fp.n_threads = p->n_threads;
    fp.beam_size = fp.best_of = p->beam_size;
    size_t state_bytes = 0, need;
    int st = edgestt_state_mem_size(h, &fp, &state_bytes, diag);
    if (st) return st;
    if (!est_add(h->arena_bytes, state_bytes, &need) || need > p->max_memory)
        return est_diag(diag, EDGESTT_E_LIMIT,
                        "model: needs %zu bytes (handle %zu + state %zu for %d beams, %d threads), over max_memory %zu",
                        need, h->arena_bytes, state_bytes, p->beam_size, p->n_threads, p->max_memory);
    return EDGESTT_OK;
}

/* ==== parakeet (general.architecture "parakeet", models/parakeet.c) ======================= */

/* Scan visitor: sets *ctx when general.architecture is the string "parakeet". */
static int visit_arch(void *ctx, const est_gguf_kv *kv) {
    if (est_gguf_key_is(kv, "general.architecture") && kv->type == EST_GGUF_STRING && kv->end - kv->val == 16 &&
        memcmp(kv->val + 8, "parakeet", 8) == 0)
        *(int *)ctx = 1;
    return 0;
}

/* 1 if the image is a GGUF that names the parakeet architecture (its own open path reports the
 * errors of a broken one, so a failing scan after the key still counts). */
static int is_parakeet(const est_map *map) {
    int pk = 0;
    est_gguf_layout lay;
    if (map->size < 4 || est_rd_u32(map->data) != EST_GGUF_MAGIC) return 0;
    (void)est_gguf_scan(map->data, map->size, &lay, visit_arch, &pk, NULL);
    return pk;
}

/* Arena of a parakeet handle, bottom only: the handle, the est_pk_open block, the pool. */
static int plan_pk(est_arena *a, size_t pk_bytes, size_t pool_size, edgestt_model **h, void **pk_mem, void **pool_mem) {
    void *q;
    int st = est_arena_alloc(a, sizeof(edgestt_model), &q);
    *h = (edgestt_model *)q;
    if (!st) st = est_arena_alloc(a, pk_bytes, pk_mem);
    if (!st) st = est_arena_alloc(a, pool_size, pool_mem);
    return st;
}

/* open_image for a parakeet GGUF or .bin: plan from est_pk(bin)_open_size, refuse max_memory before binding. */
static int open_parakeet(const est_map *map, const edgestt_params *p, void *mem, size_t mem_size,
                         edgestt_model **out, size_t *bytes, edgestt_diag *diag) {
    size_t pk_bytes = 0, pool_size = est_pool_size(p->n_threads), samples;
    const est_kernels *kern = NULL;
    edgestt_model *h;
    void *pk_mem, *pool_mem;
    est_arena a;
    const int bin = est_pkbin_detect(map->data, map->size); /* whisper.cpp's Parakeet .bin */
    int st = bin ? est_pkbin_open_size(map->data, map->size, &pk_bytes, diag)
                 : est_pk_open_size(map->data, map->size, &pk_bytes, diag);
    if (st) return st;
    est_arena_init_measure(&a);
    if ((st = plan_pk(&a, pk_bytes, pool_size, &h, &pk_mem, &pool_mem)) != 0) return plan_status(st, diag);
    const size_t required = est_arena_required(&a);
    if (bytes) {
        *bytes = required;
        return EDGESTT_OK;
    }
    if ((st = pick_kernels(p, &kern, diag)) != 0) return st;
    if (p->max_memory && required > p->max_memory)
        return est_diag(diag, EDGESTT_E_LIMIT, "model: needs more than %zu bytes (handle %zu + state), over max_memory %zu",
                        required, required, p->max_memory);
    if (!est_mul((size_t)p->max_audio_windows, (size_t)30 * 16000, &samples))
        return est_diag(diag, EDGESTT_E_LIMIT, "model: max_audio_windows %d overflows", p->max_audio_windows);
    void *owned = NULL;
    if (mem) {
        if (mem_size < required)
            return est_diag(diag, EDGESTT_E_NOMEM, "model: buffer of %zu bytes, the plan needs %zu", mem_size, required);
    } else {
        owned = est_port_alloc(required);
        if (!owned) return est_diag(diag, EDGESTT_E_NOMEM, "model: cannot allocate %zu bytes", required);
        mem = owned;
        mem_size = required;
    }
    est_arena_init(&a, mem, mem_size);
    st = plan_pk(&a, pk_bytes, pool_size, &h, &pk_mem, &pool_mem);
    if (st) st = plan_status(st == EDGESTT_E_NOMEM ? EDGESTT_E_INTERNAL : st, diag);
    if (!st) memset(h, 0, sizeof *h);
    if (!st) st = bin ? est_pkbin_open(map->data, map->size, kern, pk_mem, pk_bytes, &h->pk, diag)
                      : est_pk_open(map->data, map->size, kern, pk_mem, pk_bytes, &h->pk, diag);
    if (!st && (st = est_pool_init(&h->pool, pool_mem, pool_size, p->n_threads)) != 0)
        st = est_diag(diag, st, "model: cannot start %d threads", p->n_threads);
    if (st) {
        est_port_free(owned);
        return st;
    }
    h->owned = owned;
    h->map = *map;
    h->format = bin ? EDGESTT_FORMAT_GGML_BIN : EDGESTT_FORMAT_GGUF;
    h->kernels = kern;
    h->n_threads = p->n_threads;
    h->kv_type = p->kv_type;
    h->arena_bytes = required;
    h->pk_max_samples = samples;
    h->arena = a;
    if (p->max_memory && (st = check_max_memory(h, p, diag)) != 0) {
        est_pool_destroy(h->pool);
        memset(h, 0, sizeof *h);
        est_port_free(owned);
        return st;
    }
    *out = h;
    return EDGESTT_OK;
}

/* The common path of open, open_memory and the two mem_size calls (bytes != NULL: measure only). */
static int open_image(const est_map *map, const est_shards *sh, const edgestt_params *params, void *mem,
                      size_t mem_size, edgestt_model **out, size_t *bytes, edgestt_diag *diag) {
    edgestt_params p;
    est_whisper_probe pr;
    est_model_plan pl;
    est_arena a;
    const est_kernels *kern = NULL;
    int st = est_model_check_params(params, &p, diag);
    if (st) return st;
    if (is_parakeet(map) || est_pkbin_detect(map->data, map->size)) {
        if (sh && sh->n) return est_diag(diag, EDGESTT_E_UNSUPPORTED, "model: parakeet shard sets are not supported");
        return open_parakeet(map, &p, mem, mem_size, out, bytes, diag);
    }
    if ((st = est_whisper_probe_image(map->data, map->size, &pr, diag)) != 0) return st;
    for (int i = 0; sh && i < sh->n; i++) {
        pr.n_file_tensors += sh->lay[i].n_tensors;
        if (sh->lay[i].n_kv > pr.n_file_kv) pr.n_file_kv = sh->lay[i].n_kv;
    }
    est_arena_init_measure(&a);
    if ((st = est_model_plan_run(&pr, &p, &a, &pl)) != 0) return plan_status(st, diag);
    if (bytes) {
        *bytes = pl.required;
        return EDGESTT_OK;
    }
    if ((st = pick_kernels(&p, &kern, diag)) != 0) return st;
    if (p.max_memory && pl.required > p.max_memory) /* refused before anything is allocated */
        return est_diag(diag, EDGESTT_E_LIMIT, "model: needs more than %zu bytes (handle %zu + state), over max_memory %zu",
                        pl.required, pl.required, p.max_memory);
    void *owned = NULL;
    if (mem) {
        if (mem_size < pl.required)
            return est_diag(diag, EDGESTT_E_NOMEM, "model: buffer of %zu bytes, the plan needs %zu", mem_size,
                            pl.required);
    } else {
        owned = est_port_alloc(pl.required);
        if (!owned) return est_diag(diag, EDGESTT_E_NOMEM, "model: cannot allocate %zu bytes", pl.required);
        mem = owned;
        mem_size = pl.required;
    }
    size_t required = pl.required;
    est_arena_init(&a, mem, mem_size);
    st = est_model_plan_run(&pr, &p, &a, &pl);
    if (st) st = plan_status(st == EDGESTT_E_NOMEM ? EDGESTT_E_INTERNAL : st, diag);
    edgestt_model *h = pl.handle;
    if (!st) st = fill(h, &pr, &pl, sh, diag);
    if (!st && (st = est_pool_init(&h->pool, pl.pool_mem, pl.pool_size, p.n_threads)) != 0)
        st = est_diag(diag, st, "model: cannot start %d threads", p.n_threads);
    if (st) {
        est_port_free(owned);
        return st;
    }
    h->owned = owned;
    h->map = *map;
    if (sh) h->shards = *sh;
    h->format = pr.format;
    h->hp = pr.hp;
    h->kernels = kern;
    h->n_threads = p.n_threads;
    h->kv_type = p.kv_type;
    h->arena_bytes = required;
    h->mel_scratch_bytes = pl.mel_scratch;
    h->arena = a; /* the scratch tables are released: top is free again */
    if (p.max_memory && (st = check_max_memory(h, &p, diag)) != 0) {
        est_pool_destroy(h->pool);
        memset(h, 0, sizeof *h);
        est_port_free(owned);
        return st;
    }
    *out = h;
    return EDGESTT_OK;
}

/* ==== shard sets ========================================================================== */

typedef struct split_keys {
    uint32_t no, count;
} split_keys;

static int visit_split(void *ctx, const est_gguf_kv *kv) {
    split_keys *s = (split_keys *)ctx;
    if (est_gguf_key_is(kv, "split.no") && kv->type == EST_GGUF_U32) s->no = est_rd_u32(kv->val);
    if (est_gguf_key_is(kv, "split.count") && kv->type == EST_GGUF_U32) s->count = est_rd_u32(kv->val);
    return 0;
}

static void unmap_shards(est_shards *sh) {
    for (int i = 0; i < sh->n; i++) est_port_unmap(&sh->map[i]);
    sh->n = 0;
}

/* If the GGUF at path is shard 1 of a set (split.count > 1), map shards 2..N (named
 * NAME-0000k-of-0000N.gguf beside it) and scan each; sh->n = 0 for a single file. */
static int open_shards(const char *path, const est_map *first, est_shards *sh, edgestt_diag *diag) {
    split_keys k = {0, 1};
    sh->n = 0;
    if (first->size < 4 || est_rd_u32(first->data) != EST_GGUF_MAGIC) return EDGESTT_OK;
    est_gguf_layout lay;
    if (est_gguf_scan(first->data, first->size, &lay, visit_split, &k, NULL) || k.count <= 1) return EDGESTT_OK;
    if (k.no != 0) return est_diag(diag, EDGESTT_E_INVALID_ARG, "%s: shard %u of a set; open the first", path, k.no + 1);
    if (k.count > EST_MAX_SHARDS) return est_diag(diag, EDGESTT_E_LIMIT, "%s: %u shards (at most %d)", path, k.count, EST_MAX_SHARDS);
    size_t n = strlen(path);
    if (n < 20 || strcmp(path + n - 5, ".gguf") || memcmp(path + n - 14, "-of-", 4))
        return est_diag(diag, EDGESTT_E_FORMAT, "%s: shard 1 of %u is not named NAME-00001-of-0000N.gguf", path, k.count);
    char sp[4096];
    for (uint32_t i = 1; i < k.count; i++) {
        char base[4096];
        est_fmt(base, sizeof base, "%.*s.gguf", (int)(n - 20), path);
        int st = edgestt_shard_name(base, (int)i + 1, (int)k.count, sp, sizeof sp);
        if (!st) st = est_port_map_file(sp, &sh->map[sh->n], diag);
        if (st) {
            unmap_shards(sh);
            return st;
        }
        sh->n++;
        split_keys k2 = {0, 1};
        st = est_gguf_scan(sh->map[sh->n - 1].data, sh->map[sh->n - 1].size, &sh->lay[sh->n - 1], visit_split, &k2, diag);
        if (!st && (k2.no != i || k2.count != k.count))
            st = est_diag(diag, EDGESTT_E_FORMAT, "%s: says shard %u of %u", sp, k2.no + 1, k2.count);
        if (st) {
            unmap_shards(sh);
            return st;
        }
    }
    return EDGESTT_OK;
}

/* Map a file (and the rest of its shard set), run open_image, keep the mappings on success. */
static int open_path(const char *path, const edgestt_params *params, void *mem, size_t mem_size,
                     edgestt_model **out, size_t *bytes, edgestt_diag *diag) {
    est_map m;
    est_shards sh;
    int st = est_port_map_file(path, &m, diag);
    if (st) return st;
    if ((st = open_shards(path, &m, &sh, diag)) != 0) {
        est_port_unmap(&m);
        return st;
    }
    st = open_image(&m, &sh, params, mem, mem_size, out, bytes, diag);
    if (st || bytes) {
        unmap_shards(&sh);
        est_port_unmap(&m);
    }
    return st;
}

edgestt_status edgestt_mem_size(const char *path, const edgestt_params *params, size_t *bytes, edgestt_diag *diag) {
    if (!path || !bytes) return (edgestt_status)est_diag(diag, EDGESTT_E_INVALID_ARG, "NULL path or bytes");
    return (edgestt_status)open_path(path, params, NULL, 0, NULL, bytes, diag);
}

edgestt_status edgestt_open(const char *path, const edgestt_params *params, void *mem, size_t mem_size,
                            edgestt_model **out, edgestt_diag *diag) {
    if (!out) return (edgestt_status)est_diag(diag, EDGESTT_E_INVALID_ARG, "NULL out");
    *out = NULL;
    if (!path) return (edgestt_status)est_diag(diag, EDGESTT_E_INVALID_ARG, "NULL path");
    return (edgestt_status)open_path(path, params, mem, mem_size, out, NULL, diag);
}

edgestt_status edgestt_mem_size_memory(const void *data, size_t size, const edgestt_params *params, size_t *bytes,
                                       edgestt_diag *diag) {
    if ((!data && size) || !bytes) return (edgestt_status)est_diag(diag, EDGESTT_E_INVALID_ARG, "NULL data or bytes");
    est_map m = {(const uint8_t *)data, size, 0};
    return (edgestt_status)open_image(&m, NULL, params, NULL, 0, NULL, bytes, diag);
}

edgestt_status edgestt_open_memory(const void *data, size_t size, const edgestt_params *params, void *mem,
                                   size_t mem_size, edgestt_model **out, edgestt_diag *diag) {
    if (!out) return (edgestt_status)est_diag(diag, EDGESTT_E_INVALID_ARG, "NULL out");
    *out = NULL;
    if (!data && size) return (edgestt_status)est_diag(diag, EDGESTT_E_INVALID_ARG, "NULL data");
    est_map m = {(const uint8_t *)data, size, 0};
    return (edgestt_status)open_image(&m, NULL, params, mem, mem_size, out, NULL, diag);
}

void edgestt_close(edgestt_model *model) {
    if (!model) return;
    est_map m = model->map;
    est_shards sh = model->shards;
    void *owned = model->owned;
    if (model->pool) est_pool_destroy(model->pool);
    memset(model, 0, sizeof *model); /* a stale handle fails loudly rather than half-works */
    est_port_unmap(&m);
    unmap_shards(&sh);
    est_port_free(owned);
}

/* ==== info and tokens ==================================================================== */

/* Count one weight matrix of a parakeet model into info. */
static void pk_count(edgestt_model_info *info, int type, int64_t n, int64_t k, size_t stride) {
    if (type < 0 || type >= 16) return;
    info->n_by_type[type]++;
    info->n_tensors++;
    info->n_params += n * k;
    info->weight_bytes += (size_t)n * stride;
}

/* Model info of a parakeet handle: encoder dims as the audio fields, predictor as the text
 * fields; tensor counts, parameters and types over the weight matrices (linear layers and the
 * predictor embedding; norms, biases and convolutions, all F32, are not counted). */
static void pk_info(const edgestt_model *m, edgestt_model_info *info) {
    const est_pk_model *pk = m->pk;
    const est_pk_hparams *hp = &pk->hp;
    info->arch = "parakeet";
    info->n_vocab = hp->n_vocab + 1; /* pieces + blank */
    info->n_audio_state = hp->d_model;
    info->n_audio_head = hp->n_heads;
    info->n_audio_layer = hp->n_layers;
    info->n_text_state = hp->pred_hidden;
    info->n_text_layer = hp->pred_layers;
    info->n_mels = hp->n_mels;
    info->multilingual = 0;
    for (int l = 0; l < hp->n_layers; l++) {
        const est_pk_linear *ls[] = {&pk->layers[l].ff1_1, &pk->layers[l].ff1_2, &pk->layers[l].ff2_1,
                                     &pk->layers[l].ff2_2, &pk->layers[l].q,     &pk->layers[l].k,
                                     &pk->layers[l].v,     &pk->layers[l].o,     &pk->layers[l].pos,
                                     &pk->layers[l].pw1,   &pk->layers[l].pw2};
        for (size_t i = 0; i < sizeof ls / sizeof ls[0]; i++)
            if (ls[i]->w) pk_count(info, ls[i]->type, ls[i]->n, ls[i]->k, ls[i]->stride);
    }
    const est_pk_linear *g[] = {&pk->sub3, &pk->sub6, &pk->sub_out, &pk->joint_enc, &pk->joint_pred, &pk->joint_out};
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++)
        if (g[i]->w) pk_count(info, g[i]->type, g[i]->n, g[i]->k, g[i]->stride);
    for (int l = 0; l < hp->pred_layers && l < EST_PK_MAX_LSTM; l++) {
        if (pk->lstm_ih[l].w) pk_count(info, pk->lstm_ih[l].type, pk->lstm_ih[l].n, pk->lstm_ih[l].k, pk->lstm_ih[l].stride);
        if (pk->lstm_hh[l].w) pk_count(info, pk->lstm_hh[l].type, pk->lstm_hh[l].n, pk->lstm_hh[l].k, pk->lstm_hh[l].stride);
    }
    if (pk->embed) pk_count(info, pk->embed_type, (int64_t)hp->n_vocab + 1, hp->pred_hidden, pk->embed_stride);
    info->arena_bytes = m->arena_bytes;
    info->kernels = m->kernels ? m->kernels->name : "?";
    info->mapped = m->map.mapped;
    info->kv_type = m->kv_type;
}

edgestt_status edgestt_model_get_info(const edgestt_model *m, edgestt_model_info *info) {
    if (!m || !info) return EDGESTT_E_INVALID_ARG;
    memset(info, 0, sizeof *info);
    info->format = m->format;
    if (m->pk) {
        pk_info(m, info);
        return EDGESTT_OK;
    }
    info->arch = "whisper";
    info->n_vocab = m->hp.n_vocab;
    info->n_audio_ctx = m->hp.n_audio_ctx;
    info->n_audio_state = m->hp.n_audio_state;
    info->n_audio_head = m->hp.n_audio_head;
    info->n_audio_layer = m->hp.n_audio_layer;
    info->n_text_ctx = m->hp.n_text_ctx;
    info->n_text_state = m->hp.n_text_state;
    info->n_text_head = m->hp.n_text_head;
    info->n_text_layer = m->hp.n_text_layer;
    info->n_mels = m->hp.n_mels;
    info->multilingual = est_tok_multilingual(m->hp.n_vocab, m->tok.st.n_languages);
    info->n_languages = m->tok.st.n_languages;
    info->n_tensors = m->w.n_tensors;
    info->n_params = m->w.n_params;
    info->weight_bytes = m->w.weight_bytes;
    memcpy(info->n_by_type, m->w.n_by_type, sizeof info->n_by_type);
    info->arena_bytes = m->arena_bytes;
    info->kernels = m->kernels ? m->kernels->name : "?";
    info->mapped = m->map.mapped;
    info->kv_type = m->kv_type;
    return EDGESTT_OK;
}

edgestt_status edgestt_special_tokens_get(const edgestt_model *m, edgestt_special_tokens *st) {
    if (!m || !st) return EDGESTT_E_INVALID_ARG;
    if (m->pk) { /* no Whisper special tokens: every id -1 */
        memset(st, 0xff, sizeof *st);
        st->n_languages = 0;
        return EDGESTT_OK;
    }
    *st = m->tok.st;
    return EDGESTT_OK;
}

edgestt_status edgestt_token_bytes(const edgestt_model *m, int id, const char **bytes, size_t *len) {
    if (!m || !bytes || !len) return EDGESTT_E_INVALID_ARG;
    if (m->pk) { /* the SentencePiece piece; an id without one (the blank, out of range): NOT_FOUND as Whisper's */
        const int st = est_pk_piece(m->pk, id, bytes, len);
        return (edgestt_status)(st == EDGESTT_E_INVALID_ARG ? EDGESTT_E_NOT_FOUND : st);
    }
    const uint8_t *b;
    int st = est_tok_bytes(&m->tok, id, &b, len);
    if (st) return (edgestt_status)st;
    *bytes = (const char *)b;
    return EDGESTT_OK;
}

edgestt_status edgestt_detokenize(const edgestt_model *m, const int *ids, int n_ids, char *out, size_t cap,
                                  size_t *written) {
    if (!m || (!ids && n_ids) || n_ids < 0 || (!out && cap)) return EDGESTT_E_INVALID_ARG;
    if (m->pk) {
        size_t len = 0;
        int st = est_pk_detokenize(m->pk, (const int32_t *)ids, n_ids, out, cap, &len);
        if (written) *written = len < cap ? len : (cap ? cap - 1 : 0);
        return (edgestt_status)(st == EDGESTT_OK && !cap ? EDGESTT_E_NOMEM : st);
    }
    size_t at = 0;
    int st = EDGESTT_OK;
    if (written) *written = 0;
    for (int i = 0; i < n_ids; i++) {
        if (ids[i] < 0 || ids[i] >= m->tok.n_vocab) {
            st = EDGESTT_E_INVALID_ARG;
            break;
        }
        if (ids[i] >= m->tok.st.eot) continue; /* special, language and timestamp tokens */
        const uint8_t *b;
        size_t len;
        est_tok_bytes(&m->tok, ids[i], &b, &len);
        if (cap == 0 || len > cap - 1 - at) {
            size_t fit = cap ? cap - 1 - at : 0;
            if (fit) memcpy(out + at, b, fit);
            at += fit;
            st = EDGESTT_E_NOMEM;
            break;
        }
        memcpy(out + at, b, len);
        at += len;
    }
    if (cap) out[at] = 0;
    else if (st == EDGESTT_OK) st = EDGESTT_E_NOMEM; /* no room for the NUL */
    if (written) *written = at;
    return (edgestt_status)st;
}

/* ==== log-mel ============================================================================ */

edgestt_status edgestt_log_mel(edgestt_model *m, const float *samples, size_t n_samples, float *out,
                               size_t out_floats) {
    if (!m || (!samples && n_samples) || !out) return EDGESTT_E_INVALID_ARG;
    if (m->pk) return EDGESTT_E_UNSUPPORTED; /* Whisper's log-mel only */
    const int n_frames = 2 * m->hp.n_audio_ctx;
    if (out_floats < (size_t)m->hp.n_mels * (size_t)n_frames) return EDGESTT_E_INVALID_ARG;
    size_t mark = est_arena_mark(&m->arena);
    void *scratch;
    int st = est_arena_scratch(&m->arena, m->mel_scratch_bytes, &scratch);
    if (!st)
        st = est_log_mel(samples, n_samples, m->w.mel_filters, m->hp.n_mels, n_frames, out, scratch,
                         m->mel_scratch_bytes);
    est_arena_release(&m->arena, mark);
    return (edgestt_status)st;
}
