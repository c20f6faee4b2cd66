/*
 * queue_redis.c: the Redis backend (redis://HOST:PORT/DB), on Redis Streams.
 *
 * Each queue is a stream, floe:queue:NAME, with one consumer group, "floe".
 * An enqueue is an XADD; a lease is an XREADGROUP (BLOCK while waiting),
 * which leaves the entry in the group's pending entries list (PEL) until an
 * XACK. A worker that dies leaves its entry pending: the next lease takes it
 * over with XAUTOCLAIM once it has been idle longer than the visibility
 * timeout. This is what the seed's LPUSH/BLPOP could not do: a popped job
 * was gone from Redis, and a worker that died with it lost it.
 *
 * Tries are the entry's delivery count (which XAUTOCLAIM raises) plus the
 * tries of earlier entries of the same job: a nack acks the entry and adds
 * a new one, straight away or through the sorted set floe:queue:NAME:delayed
 * when the retry has a delay. A release (a worker shutting down mid-job)
 * does the same at once with base one lower, giving the try back. A heartbeat resets the entry's idle time
 * (XCLAIM to the same consumer, JUSTID, which does not count a delivery).
 * The lease token is (entry id, worker, delivery count); ack, nack and
 * heartbeat check it against the PEL inside one Lua script, so a worker
 * whose lease was taken over cannot ack another worker's try.
 *
 * Status lives in a hash per job, floe:job:ID, that expires status_ttl_s
 * after its last change (7 days by default), as the seed's status keys did.
 * The payload lives in the stream entry, so an expired status never loses a
 * job. Dead letters go to the stream floe:queue:NAME.dead with the job's
 * payload, last error and history.
 *
 * Durability is Redis's: with appendonly yes and appendfsync always an
 * acknowledged XADD survives a crash of the server; with the defaults
 * (everysec, or RDB snapshots only) the last second, or more, may be lost.
 */
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "base/time.h"
#include "queue/queue_int.h"

#define POOL_MAX 16
#define BLOCK_SLICE_MS 250 /* how often a waiting lease looks for expired leases and due retries */

typedef struct rd_queue {
    char host[256];
    int port;
    int db;
    char user[128], password[256];
    int64_t ttl_s;
    pthread_mutex_t mu;
    redisContext *pool[POOL_MAX];
    int npool;
} rd_queue;

/* ------------------------------------------------------------ Lua scripts */

#define LUA_COMMON                                                                                                     \
    "local function now_ms() local t = redis.call('TIME')"                                                             \
    " return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end\n"                                          \
    "local function hist(key, ev) local h = redis.call('HGET', key, 'history')"                                        \
    " local a = {} if h then a = cjson.decode(h) end table.insert(a, ev)"                                              \
    " redis.call('HSET', key, 'history', cjson.encode(a)) end\n"                                                       \
    "local function fields(f) local t = {} for i = 1, #f, 2 do t[f[i]] = f[i + 1] end return t end\n"                  \
    "local function delivered(stream, id) local p = redis.call('XPENDING', stream, 'floe', id, id, 1)"                 \
    " if #p == 0 then return nil end return p[1] end\n"

/* Marks the job of a just-delivered entry leased; dead-letters it instead
 * when this delivery would be a try past max_tries. Returns the lease. */
#define LUA_MARK                                                                                                       \
    "local function mark(stream, dead, id, f, worker, vt, ttl, prefix, qname, now)\n"                                  \
    "  local p = delivered(stream, id) if not p then return nil end\n"                                                 \
    "  local tries = tonumber(f.base) + tonumber(p[4])\n"                                                              \
    "  local key = prefix .. f.job\n"                                                                                  \
    "  local prev = redis.call('HMGET', key, 'state', 'worker', 'tries')\n"                                            \
    "  if prev[1] == 'leased' then hist(key, {try = tonumber(prev[3]), worker = prev[2], event = 'expired', at = "     \
    "now}) end\n"                                                                                                      \
    "  if tries > tonumber(f.max) then\n"                                                                              \
    "    local err = 'the lease of try ' .. (tries - 1) .. ' ran out (no ack, nack or heartbeat in time) and the "     \
    "job had max_tries=' .. f.max .. ' tries'\n"                                                                       \
    "    redis.call('HSET', key, 'state', 'dead', 'queue', qname .. '.dead', 'error', err, 'updated', now)\n"          \
    "    redis.call('XADD', dead, '*', 'job', f.job, 'payload', f.payload, 'error', err, 'history',"                   \
    " redis.call('HGET', key, 'history') or '[]')\n"                                                                   \
    "    redis.call('XACK', stream, 'floe', id) redis.call('XDEL', stream, id) redis.call('EXPIRE', key, ttl)\n"       \
    "    return nil\n"                                                                                                 \
    "  end\n"                                                                                                          \
    "  redis.call('HSET', key, 'queue', qname, 'state', 'leased', 'worker', worker, 'tries', tries, 'max_tries',"      \
    " f.max, 'deadline', now + vt, 'updated', now)\n"                                                                  \
    "  hist(key, {try = tries, worker = worker, event = 'leased', at = now})\n"                                        \
    "  redis.call('EXPIRE', key, ttl)\n"                                                                               \
    "  return {id, f.job, f.payload, tostring(tries), f.max, tostring(p[4]), tostring(now + vt)}\n"                    \
    "end\n"

/* KEYS: stream, job hash, dedupe key or "", delayed set.
 * ARGV: id, payload, max_tries, delay_ms, ttl_s, queue name. */
static const char lua_enqueue[] =
    LUA_COMMON "local now = now_ms()\n"
               "pcall(redis.call, 'XGROUP', 'CREATE', KEYS[1], 'floe', '0', 'MKSTREAM')\n"
               "if KEYS[3] ~= '' then\n"
               "  local old = redis.call('GET', KEYS[3]) if old then return old end\n"
               "  redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[5])\n"
               "end\n"
               "redis.call('HSET', KEYS[2], 'queue', ARGV[6], 'state', 'queued', 'tries', 0, 'max_tries', ARGV[3],"
               " 'created', now, 'updated', now, 'history', cjson.encode({{try = 0, event = 'queued', at = now}}))\n"
               "redis.call('EXPIRE', KEYS[2], ARGV[5])\n"
               "if tonumber(ARGV[4]) > 0 then\n"
               "  redis.call('ZADD', KEYS[4], now + tonumber(ARGV[4]),"
               " cjson.encode({job = ARGV[1], payload = ARGV[2], max = ARGV[3], base = '0'}))\n"
               "else\n"
               "  redis.call('XADD', KEYS[1], '*', 'job', ARGV[1], 'payload', ARGV[2], 'max', ARGV[3], 'base', '0')\n"
               "end\n"
               "return ARGV[1]\n";

/* Moves due retries into the stream, then takes over one entry idle longer
 * than the visibility timeout (XAUTOCLAIM), resuming the PEL scan where the
 * last lease left it. KEYS: stream, delayed set, dead stream, scan cursor.
 * ARGV: worker, visibility ms, ttl_s, job key prefix, queue name. */
static const char lua_reclaim[] = LUA_COMMON LUA_MARK
    "local now = now_ms()\n"
    "pcall(redis.call, 'XGROUP', 'CREATE', KEYS[1], 'floe', '0', 'MKSTREAM')\n"
    "for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)) do\n"
    "  local e = cjson.decode(m)\n"
    "  redis.call('XADD', KEYS[1], '*', 'job', e.job, 'payload', e.payload, 'max', e.max, 'base', e.base)\n"
    "  redis.call('ZREM', KEYS[2], m)\n"
    "end\n"
    "local start = redis.call('GET', KEYS[4]) or '0-0'\n"
    "for _ = 1, 50 do\n"
    "  local r = redis.call('XAUTOCLAIM', KEYS[1], 'floe', ARGV[1], ARGV[2], start, 'COUNT', 1)\n"
    "  start = r[1]\n"
    "  local e = r[2][1]\n"
    "  if e and e[2] then\n"
    "    local got = mark(KEYS[1], KEYS[3], e[1], fields(e[2]), ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4],"
    " ARGV[5], now)\n"
    "    if got then redis.call('SET', KEYS[4], start) return got end\n"
    "  end\n"
    "  if start == '0-0' then break end\n"
    "end\n"
    "redis.call('SET', KEYS[4], start)\n"
    "return nil\n";

/* After XREADGROUP delivered entry ARGV[1]. KEYS: stream, dead stream.
 * ARGV: entry id, worker, visibility ms, ttl_s, job key prefix, queue name. */
static const char lua_mark[] = LUA_COMMON LUA_MARK
    "local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])[1]\n"
    "if not e then return nil end\n"
    "return mark(KEYS[1], KEYS[2], ARGV[1], fields(e[2]), ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6],"
    " now_ms())\n";

/* The lease check every call of a worker starts with: 0 when the entry is
 * no longer pending for this worker with this delivery count. */
#define LUA_OWNED                                                                                                      \
    "local p = delivered(KEYS[1], ARGV[1])\n"                                                                          \
    "if not p or p[2] ~= ARGV[2] or tonumber(p[4]) ~= tonumber(ARGV[3]) then return 0 end\n"                           \
    "local now = now_ms()\n"

/* KEYS: stream, job hash. ARGV: entry, worker, count, extend ms, ttl_s. */
static const char lua_heartbeat[] =
    LUA_COMMON LUA_OWNED "redis.call('XCLAIM', KEYS[1], 'floe', ARGV[2], 0, ARGV[1], 'JUSTID')\n"
                         "redis.call('HSET', KEYS[2], 'deadline', now + tonumber(ARGV[4]), 'updated', now)\n"
                         "redis.call('EXPIRE', KEYS[2], ARGV[5])\n"
                         "return 1\n";

/* KEYS: stream, job hash. ARGV: entry, worker, count, result, ttl_s, tries. */
static const char lua_ack[] =
    LUA_COMMON LUA_OWNED "redis.call('XACK', KEYS[1], 'floe', ARGV[1]) redis.call('XDEL', KEYS[1], ARGV[1])\n"
                         "redis.call('HSET', KEYS[2], 'state', 'done', 'result', ARGV[4], 'updated', now)\n"
                         "redis.call('HDEL', KEYS[2], 'deadline')\n"
                         "hist(KEYS[2], {try = tonumber(ARGV[6]), worker = ARGV[2], event = 'done', at = now})\n"
                         "redis.call('EXPIRE', KEYS[2], ARGV[5])\n"
                         "return 1\n";

/* KEYS: stream, job hash, delayed set, dead stream.
 * ARGV: entry, worker, count, error, delay ms, ttl_s, tries, queue name. */
static const char lua_nack[] = LUA_COMMON LUA_OWNED
    "local f = fields(redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])[1][2])\n"
    "local tries = tonumber(ARGV[7])\n"
    "hist(KEYS[2], {try = tries, worker = ARGV[2], event = 'nacked', error = ARGV[4], at = now})\n"
    "redis.call('XACK', KEYS[1], 'floe', ARGV[1]) redis.call('XDEL', KEYS[1], ARGV[1])\n"
    "redis.call('HDEL', KEYS[2], 'deadline')\n"
    "if tries >= tonumber(f.max) then\n"
    "  redis.call('HSET', KEYS[2], 'state', 'dead', 'queue', ARGV[8] .. '.dead', 'error', ARGV[4], 'updated', now)\n"
    "  redis.call('XADD', KEYS[4], '*', 'job', f.job, 'payload', f.payload, 'error', ARGV[4], 'history',"
    " redis.call('HGET', KEYS[2], 'history'))\n"
    "elseif tonumber(ARGV[5]) > 0 then\n"
    "  redis.call('HSET', KEYS[2], 'state', 'failed', 'error', ARGV[4], 'updated', now)\n"
    "  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[5]),"
    " cjson.encode({job = f.job, payload = f.payload, max = f.max, base = tostring(tries)}))\n"
    "else\n"
    "  redis.call('HSET', KEYS[2], 'state', 'failed', 'error', ARGV[4], 'updated', now)\n"
    "  redis.call('XADD', KEYS[1], '*', 'job', f.job, 'payload', f.payload, 'max', f.max, 'base', tostring(tries))\n"
    "end\n"
    "redis.call('EXPIRE', KEYS[2], ARGV[6])\n"
    "return 1\n";

/* A release: the entry goes away and a new one takes its place at once
 * with base = tries - 1, so the next delivery is this try again.
 * KEYS: stream, job hash. ARGV: entry, worker, count, ttl_s, tries, queue name. */
static const char lua_release[] = LUA_COMMON LUA_OWNED
    "local f = fields(redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])[1][2])\n"
    "local tries = tonumber(ARGV[5])\n"
    "hist(KEYS[2], {try = tries, worker = ARGV[2], event = 'released', at = now})\n"
    "redis.call('XACK', KEYS[1], 'floe', ARGV[1]) redis.call('XDEL', KEYS[1], ARGV[1])\n"
    "redis.call('HDEL', KEYS[2], 'deadline')\n"
    "redis.call('HSET', KEYS[2], 'state', 'queued', 'tries', tries - 1, 'updated', now)\n"
    "redis.call('XADD', KEYS[1], '*', 'job', f.job, 'payload', f.payload, 'max', f.max, 'base', tostring(tries - 1))\n"
    "redis.call('EXPIRE', KEYS[2], ARGV[4])\n"
    "return 1\n";

/* ------------------------------------------------------------ connections */

static bool parse_url(rd_queue *r, const char *url, floe_err *err) {
    const char *p = url + strlen("redis://");
    const char *at = strrchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        size_t ulen = colon ? (size_t)(colon - p) : 0;
        const char *pw = colon ? colon + 1 : p;
        if (ulen >= sizeof r->user || (size_t)(at - pw) >= sizeof r->password)
            return floe_err_set(err, FLOE_EINVAL, "queue URL: the user or password is too long");
        memcpy(r->user, p, ulen);
        memcpy(r->password, pw, (size_t)(at - pw));
        p = at + 1;
    }
    size_t hlen = strcspn(p, ":/");
    if (hlen == 0 || hlen >= sizeof r->host) goto bad;
    memcpy(r->host, p, hlen);
    p += hlen;
    r->port = 6379;
    if (*p == ':') {
        size_t n = strcspn(++p, "/");
        int64_t port;
        char tmp[16];
        if (n == 0 || n >= sizeof tmp) goto bad;
        memcpy(tmp, p, n);
        tmp[n] = 0;
        if (!str_to_i64_range(tmp, 1, 65535, &port)) goto bad;
        r->port = (int)port;
        p += n;
    }
    if (*p == '/' && p[1]) {
        int64_t db;
        if (!str_to_i64_range(p + 1, 0, 100000, &db)) goto bad;
        r->db = (int)db;
    } else if (*p && !(*p == '/' && !p[1])) {
        goto bad;
    }
    return true;
bad:
    /* The URL may hold a password: name the form, not the URL. */
    return floe_err_set(err, FLOE_EINVAL,
                        "queue URL for %s is not understood; expected redis://[:PASSWORD@]HOST[:PORT][/DB], say "
                        "redis://127.0.0.1:6379/0",
                        r->host[0] ? r->host : "redis");
}

static redisReply *cmd_argv(redisContext *c, int argc, const char **argv, const size_t *lens) {
    return redisCommandArgv(c, argc, argv, lens);
}

static redisContext *conn_open(rd_queue *r, floe_err *err) {
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout(r->host, r->port, tv);
    if (!c || c->err) {
        floe_err_set(err, FLOE_EIO,
                     "queue: cannot connect to Redis at %s:%d: %s; check that redis-server runs there and the URL's "
                     "host and port",
                     r->host, r->port, c ? c->errstr : "out of memory");
        if (c) redisFree(c);
        return NULL;
    }
    tv.tv_sec = 30;
    redisSetTimeout(c, tv);
    redisReply *rep = NULL;
    if (r->password[0]) {
        rep =
            r->user[0] ? redisCommand(c, "AUTH %s %s", r->user, r->password) : redisCommand(c, "AUTH %s", r->password);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
            floe_err_set(err, FLOE_EAUTH, "queue: Redis at %s:%d refused the URL's password: %s", r->host, r->port,
                         rep ? rep->str : c->errstr);
            goto fail;
        }
        freeReplyObject(rep);
    }
    rep = redisCommand(c, "SELECT %d", r->db);
    if (!rep || rep->type == REDIS_REPLY_ERROR) {
        floe_err_set(err, FLOE_EINVAL, "queue: Redis at %s:%d refused database %d: %s", r->host, r->port, r->db,
                     rep ? rep->str : c->errstr);
        goto fail;
    }
    freeReplyObject(rep);
    return c;
fail:
    if (rep) freeReplyObject(rep);
    redisFree(c);
    return NULL;
}

static redisContext *conn_get(rd_queue *r, floe_err *err) {
    pthread_mutex_lock(&r->mu);
    redisContext *c = r->npool ? r->pool[--r->npool] : NULL;
    pthread_mutex_unlock(&r->mu);
    return c ? c : conn_open(r, err);
}

/* Returns a connection to the pool, or drops it when it broke. */
static void conn_put(rd_queue *r, redisContext *c) {
    if (!c) return;
    if (!c->err) {
        pthread_mutex_lock(&r->mu);
        if (r->npool < POOL_MAX) {
            r->pool[r->npool++] = c;
            c = NULL;
        }
        pthread_mutex_unlock(&r->mu);
    }
    if (c) redisFree(c);
}

void *queue_redis_open(const char *url, const queue_opts *o, floe_err *err) {
    rd_queue *r = calloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->ttl_s = o->status_ttl_s > 0 ? o->status_ttl_s : QUEUE_DEFAULT_TTL_S;
    if (!parse_url(r, url, err)) goto fail;
    redisContext *c = conn_open(r, err);
    if (!c) goto fail;
    redisReply *rep = redisCommand(c, "INFO server");
    bool streams = rep && rep->type == REDIS_REPLY_STRING && !strstr(rep->str, "redis_version:5.") &&
                   !strstr(rep->str, "redis_version:6.0") && !strstr(rep->str, "redis_version:4.");
    if (rep) freeReplyObject(rep);
    if (!streams) {
        floe_err_set(err, FLOE_EPRECOND, "queue: Redis at %s:%d is older than 6.2, which added XAUTOCLAIM; upgrade it",
                     r->host, r->port);
        redisFree(c);
        goto fail;
    }
    conn_put(r, c);
    return r;
fail:
    pthread_mutex_destroy(&r->mu);
    free(r);
    return NULL;
}

static void rd_close(queue_t *q) {
    rd_queue *r = q->impl;
    for (int i = 0; i < r->npool; i++) redisFree(r->pool[i]);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* ------------------------------------------------------------ calls */

typedef struct rd_args {
    const char *v[24];
    size_t len[24];
    int n;
    char nums[8][24];
    int nnums;
} rd_args;

static void arg(rd_args *a, const char *s) {
    a->v[a->n] = s;
    a->len[a->n++] = strlen(s);
}

static void arg_i64(rd_args *a, int64_t x) {
    char *s = a->nums[a->nnums++];
    snprintf(s, 24, "%lld", (long long)x);
    arg(a, s);
}

/* Runs EVAL script with the keys and args in a (after "EVAL script nkeys").
 * NULL (err set) on a connection or script error. */
static redisReply *eval(rd_queue *r, redisContext *c, const char *script, int nkeys, rd_args *a, floe_err *err) {
    rd_args full = {0};
    arg(&full, "EVAL");
    arg(&full, script);
    char nk[8];
    snprintf(nk, sizeof nk, "%d", nkeys);
    arg(&full, nk);
    for (int i = 0; i < a->n; i++) {
        full.v[full.n] = a->v[i];
        full.len[full.n++] = a->len[i];
    }
    redisReply *rep = cmd_argv(c, full.n, full.v, full.len);
    if (!rep) {
        floe_err_set(err, FLOE_EIO, "queue: Redis at %s:%d: %s", r->host, r->port, c->errstr);
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        floe_err_set(err, FLOE_EIO, "queue: Redis at %s:%d: %s", r->host, r->port, rep->str);
        freeReplyObject(rep);
        return NULL;
    }
    return rep;
}

typedef struct rd_keys {
    char stream[160], delayed[180], dead[180], cursor[180];
} rd_keys;

static void keys_of(const char *name, rd_keys *k) {
    snprintf(k->stream, sizeof k->stream, "floe:queue:%s", name);
    snprintf(k->delayed, sizeof k->delayed, "floe:queue:%s:delayed", name);
    snprintf(k->dead, sizeof k->dead, "floe:queue:%s.dead", name);
    snprintf(k->cursor, sizeof k->cursor, "floe:queue:%s:claim-cursor", name);
}

#define JOB_PREFIX "floe:job:"

static bool rd_enqueue(queue_t *q, const char *name, const char *payload, const queue_enqueue_opts *o,
                       char id_out[QUEUE_ID_MAX], floe_err *err) {
    rd_queue *r = q->impl;
    redisContext *c = conn_get(r, err);
    if (!c) return false;
    rd_keys k;
    keys_of(name, &k);
    char id[37], hkey[64], dkey[420] = "";
    str_uuid4(id);
    snprintf(hkey, sizeof hkey, JOB_PREFIX "%s", id);
    if (o->dedupe_key) snprintf(dkey, sizeof dkey, "floe:queue:%s:dedupe:%s", name, o->dedupe_key);
    rd_args a = {0};
    arg(&a, k.stream);
    arg(&a, hkey);
    arg(&a, dkey);
    arg(&a, k.delayed);
    arg(&a, id);
    arg(&a, payload);
    arg_i64(&a, o->max_tries);
    arg_i64(&a, o->delay_ms);
    arg_i64(&a, r->ttl_s);
    arg(&a, name);
    redisReply *rep = eval(r, c, lua_enqueue, 4, &a, err);
    bool ok = rep && rep->type == REDIS_REPLY_STRING;
    if (ok) snprintf(id_out, QUEUE_ID_MAX, "%s", rep->str);
    if (rep) freeReplyObject(rep);
    if (!ok) floe_err_wrap(err, "enqueue to '%s'", name);
    conn_put(r, c);
    return ok;
}

/* Fills job from the lease a script returned: {entry, job, payload,
 * tries, max, delivery count, deadline}. */
static bool take_lease(redisReply *rep, const char *name, const char *worker, arena_t *a, queue_job *job) {
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 7) return false;
    for (size_t i = 0; i < 7; i++)
        if (rep->element[i]->type != REDIS_REPLY_STRING) return false;
    snprintf(job->entry_id, sizeof job->entry_id, "%s", rep->element[0]->str);
    snprintf(job->id, sizeof job->id, "%s", rep->element[1]->str);
    job->payload = arena_strndup(a, rep->element[2]->str, rep->element[2]->len);
    job->tries = atoi(rep->element[3]->str);
    job->max_tries = atoi(rep->element[4]->str);
    job->lease_seq = atoll(rep->element[5]->str);
    job->lease_deadline_ms = atoll(rep->element[6]->str);
    job->queue = arena_strdup(a, name);
    job->worker = arena_strdup(a, worker);
    return true;
}

/* One XREADGROUP for a new entry, blocking up to block_ms (0: no block).
 * Returns the entry id in id (empty when none). */
static bool read_new(rd_queue *r, redisContext *c, const rd_keys *k, const char *worker, int64_t block_ms, char id[48],
                     floe_err *err) {
    rd_args a = {0};
    arg(&a, "XREADGROUP");
    arg(&a, "GROUP");
    arg(&a, "floe");
    arg(&a, worker);
    arg(&a, "COUNT");
    arg(&a, "1");
    if (block_ms > 0) {
        arg(&a, "BLOCK");
        arg_i64(&a, block_ms);
    }
    arg(&a, "STREAMS");
    arg(&a, k->stream);
    arg(&a, ">");
    id[0] = 0;
    redisReply *rep = cmd_argv(c, a.n, a.v, a.len);
    if (!rep) return floe_err_set(err, FLOE_EIO, "queue: Redis at %s:%d: %s", r->host, r->port, c->errstr);
    bool ok = rep->type != REDIS_REPLY_ERROR;
    if (!ok) floe_err_set(err, FLOE_EIO, "queue: Redis at %s:%d: %s", r->host, r->port, rep->str);
    /* [[stream, [[id, [fields]]]]] */
    if (ok && rep->type == REDIS_REPLY_ARRAY && rep->elements == 1) {
        redisReply *s = rep->element[0];
        if (s->type == REDIS_REPLY_ARRAY && s->elements == 2 && s->element[1]->type == REDIS_REPLY_ARRAY &&
            s->element[1]->elements == 1) {
            redisReply *e = s->element[1]->element[0];
            if (e->type == REDIS_REPLY_ARRAY && e->elements >= 1 && e->element[0]->type == REDIS_REPLY_STRING)
                snprintf(id, 48, "%s", e->element[0]->str);
        }
    }
    freeReplyObject(rep);
    return ok;
}

static int lease_once(rd_queue *r, redisContext *c, const char *name, const char *worker, int64_t visibility_ms,
                      int64_t block_ms, arena_t *a, queue_job *job, floe_err *err) {
    rd_keys k;
    keys_of(name, &k);
    rd_args ra = {0};
    arg(&ra, k.stream);
    arg(&ra, k.delayed);
    arg(&ra, k.dead);
    arg(&ra, k.cursor);
    arg(&ra, worker);
    arg_i64(&ra, visibility_ms);
    arg_i64(&ra, r->ttl_s);
    arg(&ra, JOB_PREFIX);
    arg(&ra, name);
    redisReply *rep = eval(r, c, lua_reclaim, 4, &ra, err);
    if (!rep) return -1;
    bool got = take_lease(rep, name, worker, a, job);
    freeReplyObject(rep);
    if (got) return 1;
    char id[48];
    if (!read_new(r, c, &k, worker, block_ms, id, err)) return -1;
    if (!id[0]) return 0;
    rd_args ma = {0};
    arg(&ma, k.stream);
    arg(&ma, k.dead);
    arg(&ma, id);
    arg(&ma, worker);
    arg_i64(&ma, visibility_ms);
    arg_i64(&ma, r->ttl_s);
    arg(&ma, JOB_PREFIX);
    arg(&ma, name);
    rep = eval(r, c, lua_mark, 2, &ma, err);
    if (!rep) return -1;
    got = take_lease(rep, name, worker, a, job);
    freeReplyObject(rep);
    return got ? 1 : 0;
}

static int rd_lease(queue_t *q, const char *name, const char *worker, int64_t visibility_ms, int64_t wait_ms,
                    arena_t *a, queue_job *job, floe_err *err) {
    rd_queue *r = q->impl;
    redisContext *c = conn_get(r, err);
    if (!c) return -1;
    uint64_t end = time_mono_ns() + (uint64_t)wait_ms * 1000000;
    int got;
    for (;;) {
        uint64_t now = time_mono_ns();
        int64_t left_ms = now < end ? (int64_t)((end - now) / 1000000) : 0;
        int64_t block = left_ms < BLOCK_SLICE_MS ? left_ms : BLOCK_SLICE_MS;
        got = lease_once(r, c, name, worker, visibility_ms, block, a, job, err);
        if (got != 0 || time_mono_ns() >= end) break;
    }
    if (got < 0) floe_err_wrap(err, "lease from '%s'", name);
    conn_put(r, c);
    return got;
}

/* After a lease check failed: says why, naming the job. */
static bool lease_lost(rd_queue *r, redisContext *c, const queue_job *job, const char *op, floe_err *err) {
    redisReply *rep = redisCommand(c, "HMGET " JOB_PREFIX "%s state worker tries", job->id);
    const char *state = "unknown (its status key expired)", *worker = "-", *tries = "?";
    if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 3) {
        if (rep->element[0]->type == REDIS_REPLY_STRING) state = rep->element[0]->str;
        if (rep->element[1]->type == REDIS_REPLY_STRING) worker = rep->element[1]->str;
        if (rep->element[2]->type == REDIS_REPLY_STRING) tries = rep->element[2]->str;
    }
    floe_err_set(err, FLOE_ECONFLICT,
                 "%s job %s: the lease of try %d by worker '%s' is over (the job is now %s, try %s by '%s'); its "
                 "visibility timeout passed without a heartbeat, so another worker may have taken it: heartbeat "
                 "more often than the visibility timeout",
                 op, job->id, job->tries, job->worker, state, tries, worker);
    (void)r;
    if (rep) freeReplyObject(rep);
    return false;
}

/* Runs one of the owner-checked scripts: KEYS stream, job hash [, delayed,
 * dead]; ARGV entry, worker, count, then extra. */
static bool owned_call(queue_t *q, const queue_job *job, const char *op, const char *script, bool all_keys,
                       rd_args *extra, floe_err *err) {
    rd_queue *r = q->impl;
    redisContext *c = conn_get(r, err);
    if (!c) return false;
    rd_keys k;
    keys_of(job->queue, &k);
    char hkey[64];
    snprintf(hkey, sizeof hkey, JOB_PREFIX "%s", job->id);
    rd_args a = {0};
    arg(&a, k.stream);
    arg(&a, hkey);
    if (all_keys) {
        arg(&a, k.delayed);
        arg(&a, k.dead);
    }
    arg(&a, job->entry_id);
    arg(&a, job->worker);
    arg_i64(&a, job->lease_seq);
    for (int i = 0; i < extra->n; i++) {
        a.v[a.n] = extra->v[i];
        a.len[a.n++] = extra->len[i];
    }
    redisReply *rep = eval(r, c, script, all_keys ? 4 : 2, &a, err);
    bool ok = false;
    if (rep) {
        ok = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
        freeReplyObject(rep);
        if (!ok) lease_lost(r, c, job, op, err);
    } else {
        floe_err_wrap(err, "%s job %s", op, job->id);
    }
    conn_put(r, c);
    return ok;
}

static bool rd_heartbeat(queue_t *q, queue_job *job, int64_t extend_ms, floe_err *err) {
    rd_queue *r = q->impl;
    rd_args x = {0};
    arg_i64(&x, extend_ms);
    arg_i64(&x, r->ttl_s);
    if (!owned_call(q, job, "heartbeat", lua_heartbeat, false, &x, err)) return false;
    job->lease_deadline_ms = time_now_ms() + extend_ms;
    return true;
}

static bool rd_ack(queue_t *q, const queue_job *job, const char *result, floe_err *err) {
    rd_queue *r = q->impl;
    rd_args x = {0};
    arg(&x, result ? result : "");
    arg_i64(&x, r->ttl_s);
    arg_i64(&x, job->tries);
    return owned_call(q, job, "ack", lua_ack, false, &x, err);
}

static bool rd_nack(queue_t *q, const queue_job *job, const char *error, int64_t retry_delay_ms, floe_err *err) {
    rd_queue *r = q->impl;
    rd_args x = {0};
    arg(&x, error);
    arg_i64(&x, retry_delay_ms);
    arg_i64(&x, r->ttl_s);
    arg_i64(&x, job->tries);
    arg(&x, job->queue);
    return owned_call(q, job, "nack", lua_nack, true, &x, err);
}

static bool rd_release(queue_t *q, const queue_job *job, floe_err *err) {
    rd_queue *r = q->impl;
    rd_args x = {0};
    arg_i64(&x, r->ttl_s);
    arg_i64(&x, job->tries);
    arg(&x, job->queue);
    return owned_call(q, job, "release", lua_release, false, &x, err);
}

static bool rd_status(queue_t *q, const char *id, arena_t *a, queue_status *out, floe_err *err) {
    rd_queue *r = q->impl;
    redisContext *c = conn_get(r, err);
    if (!c) return false;
    redisReply *rep = redisCommand(c, "HGETALL " JOB_PREFIX "%s", id);
    bool ok = false;
    if (!rep) {
        floe_err_set(err, FLOE_EIO, "queue: Redis at %s:%d: %s", r->host, r->port, c->errstr);
    } else if (rep->type != REDIS_REPLY_ARRAY) {
        floe_err_set(err, FLOE_EIO, "queue: Redis at %s:%d: %s", r->host, r->port,
                     rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply to HGETALL");
    } else if (rep->elements == 0) {
        floe_err_set(err, FLOE_ENOENT,
                     "job %s: no such job in Redis at %s:%d (or its status expired, %lld s after its last change)", id,
                     r->host, r->port, (long long)r->ttl_s);
    } else {
        snprintf(out->id, sizeof out->id, "%s", id);
        for (size_t i = 0; i + 1 < rep->elements; i += 2) {
            const char *f = rep->element[i]->str;
            const char *v = arena_strndup(a, rep->element[i + 1]->str, rep->element[i + 1]->len);
            if (str_eq(f, "queue"))
                out->queue = v;
            else if (str_eq(f, "state"))
                queue_state_parse(v, &out->state);
            else if (str_eq(f, "tries"))
                out->tries = atoi(v);
            else if (str_eq(f, "max_tries"))
                out->max_tries = atoi(v);
            else if (str_eq(f, "worker"))
                out->worker = v;
            else if (str_eq(f, "result"))
                out->result = v;
            else if (str_eq(f, "error"))
                out->error = v;
            else if (str_eq(f, "history"))
                out->history = v;
            else if (str_eq(f, "created"))
                out->created_ms = atoll(v);
            else if (str_eq(f, "updated"))
                out->updated_ms = atoll(v);
            else if (str_eq(f, "deadline"))
                out->lease_deadline_ms = atoll(v);
        }
        if (out->state != QUEUE_LEASED) out->lease_deadline_ms = 0;
        ok = true;
    }
    if (rep) freeReplyObject(rep);
    conn_put(r, c);
    return ok;
}

const queue_backend_ops queue_redis_ops = {
    .name = "redis",
    .close = rd_close,
    .enqueue = rd_enqueue,
    .lease = rd_lease,
    .heartbeat = rd_heartbeat,
    .ack = rd_ack,
    .nack = rd_nack,
    .release = rd_release,
    .status = rd_status,
};
