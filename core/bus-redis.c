/* The Redis bus backend: hiredis's asynchronous API on the GLib main loop.
 *
 * Two connections per bus, because a connection that subscribes can issue nothing else:
 *   commands      every store operation, as one Lua script each so that an update and its
 *                 indexes change together; PUBLISH; the heartbeat
 *   subscriptions "<p>offers" (broadcast job offers), "<p>inbox:<worker>" (offers for this worker,
 *                 control requests, answers), the pattern "<p>ev:*" (events; buses filter their
 *                 topics locally, so a subscription is live the moment it is made), and
 *                 "__keyevent@<db>__:expired" (heartbeats that lapsed)
 *
 * Keys (<p> is "sluice:" or "sluice:<cluster_id>:"; see sl_bus_key):
 *   <p>ingress:<id>           hash {json, room, stream_key}
 *   <p>ingress_ids            set of ids;  <p>ingress_room:<room>  set of ids in a room
 *   <p>ingress_stream_keys    hash stream key → id (the unique index)
 *   <p>egress:<id>, <p>egress_ids, <p>egress_room:<room>, <p>egress_active
 *   <p>owner:<kind>:<id>      hash {worker, session}: the claim
 *   <p>claims:<worker>        set of "<kind>:<id>" a worker claimed (what reaping finds)
 *   <p>workers                set of registered worker ids
 *   <p>worker:<worker>        the worker's info JSON
 *   <p>hb:<worker>            heartbeat, SET with PX = TTL, refreshed with SET XX
 *   <p>reap:<worker>          reap lock, SET NX PX by the survivor that reaps
 *   <p>job:<id>:owner         a job's runner, SET NX PX by the winning bidder
 *
 * The connections are one unit: if either fails, both are closed, every operation waiting on
 * them fails with UNAVAILABLE, and both are made again after a backoff that doubles from 100 ms
 * to 5 s. Before the first connection, operations wait in a bounded queue (start-up order should
 * not matter); after it, an operation issued while disconnected fails at once, so nothing piles
 * up behind an outage.
 *
 * The hiredis GLib adapter supplies the source type and its read/write hooks; its dispatch
 * function is replaced. The adapter's dispatch runs the write handler and then the read handler
 * on the same context, but a failed write frees the context (hiredis 0.14 frees on error), so the
 * read would touch freed memory when a server dies with both directions pending. Ours stops when
 * the context is gone, and also wakes on HUP/ERR alone so a dead socket cannot spin the loop.
 *
 * TLS (redis.use_tls, or redis.tls with enabled) goes through an in-process tunnel, because the
 * hiredis 0.14 packaged here has no TLS of its own (hiredis_ssl came with 1.0): each of the two
 * connections first gets a tunnel (redis-tls.h: TCP, the TLS handshake, then a private unix
 * socket), and hiredis connects to the tunnel's socket once the handshake is done. Everything
 * that ends a tunnel (a refused connect, an untrusted certificate, the server closing or dying)
 * is reported as this connection lost, with the tunnel's reason, and the backoff above applies
 * unchanged. hiredis's TCP keepalive is not set on the unix socket (it would fail there and poison
 * the context); the tunnel sets the same keepalive on its TCP socket.
 */
#define SL_BUS_INTERNAL
#include "bus.h"
#include "log.h"
#include "redis-tls.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <string.h>

/* The adapter's functions are static in its header; the ones replaced below go unused. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include <hiredis/adapters/glib.h>
#pragma GCC diagnostic pop

#define LOG                "bus"
#define BACKOFF_MIN_MS     100
#define BACKOFF_MAX_MS     5000
#define CONNECT_TIMEOUT_MS 5000
/* A server that accepts commands and answers none (stopped, or cut off without a reset) is taken
 * for lost after this long without a reply; LiveKit's read_timeout default. */
#define REPLY_TIMEOUT_MS 3000

typedef struct _RedisBus RedisBus;
typedef struct _RedisConn RedisConn;

typedef struct {
  RedisSource rs; /* the adapter's source: its hooks work on this part */
  RedisConn *conn;
} SlRedisSource;

struct _RedisConn {
  RedisBus *self;
  gboolean is_sub;
  redisAsyncContext *ac;
  SlRedisTunnel *tunnel; /* with TLS: what hiredis connects through, made before it */
  int handshake_pending;
  gboolean ready;
};

typedef enum {
  STATE_DOWN,
  STATE_CONNECTING,
  STATE_UP,
} RedisState;

typedef struct {
  char *cmd;
  int len;
  SlBusOp *op;
} Queued;

struct _RedisBus {
  SlBus *bus;
  char *host;
  int port;
  char *username;
  char *password;
  int db;
  SlRedisTls *tls; /* NULL: plain TCP */
  char *ch_expired;
  RedisConn cmd;
  RedisConn sub;
  RedisState state;
  gboolean queueing; /* before the first connection: operations wait */
  GQueue queued;
  gboolean ever_up;
  gboolean warned_connect;
  gboolean warned_config;
  guint backoff_ms;
  guint reconnect_id;
  guint connect_timeout_id;
  guint down_id;
  guint up_id;
  char *last_error;
  guint inflight; /* commands sent on the command connection and not answered */
  GSource *stall; /* fires REPLY_TIMEOUT_MS after the last reply while commands are in flight */
};

/* ---- Scripts ---------------------------------------------------------------------------------
 * Each runs atomically on the server. Keys whose names depend on stored data (the old room of a
 * record, the owner key of each member of a claims set) are built inside from prefixes passed in
 * ARGV: the bus does not support Redis Cluster, where that would be refused. */

/* KEYS: record, ids, stream keys, egress active. ARGV: id, json, room, stream key, active,
 * room key prefix, event channel, is egress. */
static const char script_put[] =
    "local id, room, skey = ARGV[1], ARGV[3], ARGV[4]\n"
    "if skey ~= '' then\n"
    "  local holder = redis.call('HGET', KEYS[3], skey)\n"
    "  if holder and holder ~= id then return {0, holder} end\n"
    "end\n"
    "local old = redis.call('HMGET', KEYS[1], 'room', 'stream_key')\n"
    "if old[1] and old[1] ~= '' and old[1] ~= room then\n"
    "  redis.call('SREM', ARGV[6] .. old[1], id)\n"
    "end\n"
    "if old[2] and old[2] ~= '' and old[2] ~= skey\n"
    "    and redis.call('HGET', KEYS[3], old[2]) == id then\n"
    "  redis.call('HDEL', KEYS[3], old[2])\n"
    "end\n"
    "if room ~= '' then redis.call('SADD', ARGV[6] .. room, id) end\n"
    "if skey ~= '' then redis.call('HSET', KEYS[3], skey, id) end\n"
    "if ARGV[8] == '1' and ARGV[5] == '1' then redis.call('SADD', KEYS[4], id)\n"
    "elseif ARGV[8] == '1' then redis.call('SREM', KEYS[4], id) end\n"
    "redis.call('HSET', KEYS[1], 'json', ARGV[2], 'room', room, 'stream_key', skey)\n"
    "redis.call('SADD', KEYS[2], id)\n"
    "redis.call('PUBLISH', ARGV[7], ARGV[2])\n"
    "return {1}\n";

/* KEYS: stream keys. ARGV: record key prefix, stream key. */
static const char script_get_by_stream_key[] = "local id = redis.call('HGET', KEYS[1], ARGV[2])\n"
                                               "if not id then return false end\n"
                                               "return redis.call('HGET', ARGV[1] .. id, 'json')\n";

/* KEYS: id set [, active set]. ARGV: record key prefix. Returns id, json, id, json, ... */
static const char script_list[] = "local ids\n"
                                  "if KEYS[2] then ids = redis.call('SINTER', KEYS[1], KEYS[2])\n"
                                  "else ids = redis.call('SMEMBERS', KEYS[1]) end\n"
                                  "local out = {}\n"
                                  "for _, id in ipairs(ids) do\n"
                                  "  local j = redis.call('HGET', ARGV[1] .. id, 'json')\n"
                                  "  if j then out[#out + 1] = id; out[#out + 1] = j end\n"
                                  "end\n"
                                  "return out\n";

/* KEYS: record, ids, stream keys, egress active. ARGV: id, room key prefix, event channel. */
static const char script_delete[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "local old = redis.call('HMGET', KEYS[1], 'room', 'stream_key')\n"
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('SREM', KEYS[2], ARGV[1])\n"
    "if old[1] and old[1] ~= '' then redis.call('SREM', ARGV[2] .. old[1], ARGV[1]) end\n"
    "if old[2] and old[2] ~= '' and redis.call('HGET', KEYS[3], old[2]) == ARGV[1] then\n"
    "  redis.call('HDEL', KEYS[3], old[2])\n"
    "end\n"
    "redis.call('SREM', KEYS[4], ARGV[1])\n"
    "redis.call('PUBLISH', ARGV[3], 'null')\n"
    "return 1\n";

/* KEYS: owner, this worker's claims. ARGV: worker, session, member, heartbeat key prefix. */
static const char script_claim[] =
    "local cur = redis.call('HGET', KEYS[1], 'worker')\n"
    "if cur and cur ~= ARGV[1] then\n"
    "  local session = redis.call('HGET', KEYS[1], 'session') or ''\n"
    "  return {0, cur, session, redis.call('EXISTS', ARGV[4] .. cur)}\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'worker', ARGV[1], 'session', ARGV[2])\n"
    "redis.call('SADD', KEYS[2], ARGV[3])\n"
    "return {1}\n";

/* KEYS: owner, this worker's claims. ARGV: worker, member. */
static const char script_release[] = "redis.call('SREM', KEYS[2], ARGV[2])\n"
                                     "local cur = redis.call('HGET', KEYS[1], 'worker')\n"
                                     "if not cur then return {0, ''} end\n"
                                     "if cur ~= ARGV[1] then return {0, cur} end\n"
                                     "redis.call('DEL', KEYS[1])\n"
                                     "return {1}\n";

/* KEYS: heartbeat, info, workers. ARGV: worker, info, ttl ms, event channel. */
static const char script_register[] = "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])\n"
                                      "redis.call('SET', KEYS[2], ARGV[2])\n"
                                      "redis.call('SADD', KEYS[3], ARGV[1])\n"
                                      "redis.call('PUBLISH', ARGV[4], ARGV[2])\n"
                                      "return 1\n";

/* KEYS: heartbeat, info, workers, claims. ARGV: worker, owner key prefix, event channel. */
static const char script_unregister[] =
    "for _, m in ipairs(redis.call('SMEMBERS', KEYS[4])) do\n"
    "  local k = ARGV[2] .. m\n"
    "  if redis.call('HGET', k, 'worker') == ARGV[1] then redis.call('DEL', k) end\n"
    "end\n"
    "redis.call('DEL', KEYS[1], KEYS[2], KEYS[4])\n"
    "redis.call('SREM', KEYS[3], ARGV[1])\n"
    "redis.call('PUBLISH', ARGV[3], 'null')\n"
    "return 1\n";

/* KEYS: workers. ARGV: heartbeat key prefix, info key prefix. Returns id, info, ... */
static const char script_list_workers[] =
    "local out = {}\n"
    "for _, w in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
    "  if redis.call('EXISTS', ARGV[1] .. w) == 1 then\n"
    "    out[#out + 1] = w; out[#out + 1] = redis.call('GET', ARGV[2] .. w) or '{}'\n"
    "  end\n"
    "end\n"
    "return out\n";

/* KEYS: key. ARGV: value, ttl ms. Returns {1} or {0, holder}. */
static const char script_set_nx[] =
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1} end\n"
    "return {0, redis.call('GET', KEYS[1]) or ''}\n";

/* KEYS: dead worker's heartbeat, workers, reap lock, dead worker's claims. ARGV: dead worker,
 * this worker, lock ms, owner key prefix. Returns {0} or {1, member, session, ...}. */
static const char script_reap_begin[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end\n"
    "if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return {0} end\n"
    "if not redis.call('SET', KEYS[3], ARGV[2], 'NX', 'PX', ARGV[3]) then return {0} end\n"
    "local out = {1}\n"
    "for _, m in ipairs(redis.call('SMEMBERS', KEYS[4])) do\n"
    "  local o = redis.call('HMGET', ARGV[4] .. m, 'worker', 'session')\n"
    "  if o[1] == ARGV[1] then out[#out + 1] = m; out[#out + 1] = o[2] or '' end\n"
    "end\n"
    "return out\n";

/* KEYS: reap lock, dead worker's claims, heartbeat, info, workers. ARGV: dead worker, this
 * worker, owner key prefix, event channel. */
static const char script_reap_end[] =
    "if redis.call('GET', KEYS[1]) ~= ARGV[2] then return 0 end\n"
    "for _, m in ipairs(redis.call('SMEMBERS', KEYS[2])) do\n"
    "  local k = ARGV[3] .. m\n"
    "  if redis.call('HGET', k, 'worker') == ARGV[1] then redis.call('DEL', k) end\n"
    "end\n"
    "redis.call('DEL', KEYS[2], KEYS[1])\n"
    "if redis.call('EXISTS', KEYS[3]) == 0 then\n"
    "  redis.call('DEL', KEYS[4])\n"
    "  redis.call('SREM', KEYS[5], ARGV[1])\n"
    "  redis.call('PUBLISH', ARGV[4], 'null')\n"
    "end\n"
    "return 1\n";

/* KEYS: workers. ARGV: heartbeat key prefix, reap lock prefix. */
static const char script_dead_workers[] =
    "local out = {}\n"
    "for _, w in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
    "  local live = redis.call('EXISTS', ARGV[1] .. w) == 1\n"
    "  if not live and redis.call('EXISTS', ARGV[2] .. w) == 0 then\n"
    "    out[#out + 1] = w\n"
    "  end\n"
    "end\n"
    "return out\n";

/* ---- Commands ------------------------------------------------------------------------------- */

typedef void (*ReplyFunc)(SlBusOp *op, redisReply *reply);

/* The stall deadline moves with every reply: it is a timeout on silence, not a poll. */
static void stall_arm(RedisBus *self)
{
  g_source_set_ready_time(
      self->stall, self->inflight > 0 ? g_get_monotonic_time() + REPLY_TIMEOUT_MS * 1000 : -1);
}

static void sent_one(RedisBus *self)
{
  if (self->inflight++ == 0)
    stall_arm(self);
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
  SlBusOp *op = privdata;
  redisReply *reply = r;
  RedisBus *self;

  if (op->bus == NULL) {
    sl_bus_op_finish(op); /* the bus is gone: just drop it */
    return;
  }
  self = op->bus->impl;
  if (reply != NULL && self->inflight > 0) {
    self->inflight--;
    stall_arm(self);
  }
  if (reply == NULL) {
    /* hiredis is tearing the context down: answer from the main loop, not from inside it. */
    sl_bus_op_fail_later(op, SL_BUS_ERROR_UNAVAILABLE, "lost the connection to redis");
    return;
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    sl_bus_op_set_error(op, SL_BUS_ERROR_INTERNAL, "redis: %s", reply->str);
    sl_bus_op_finish(op);
    return;
  }
  ((ReplyFunc)op->backend_func)(op, reply);
}

static void send_argv(SlBus *bus, SlBusOp *op, ReplyFunc fn, GPtrArray *args)
{
  RedisBus *self = bus->impl;
  int argc = (int)args->len;
  const char **argv = (const char **)args->pdata;

  op->backend_func = fn;
  if (self->state == STATE_UP && self->cmd.ac != NULL) {
    if (redisAsyncCommandArgv(self->cmd.ac, on_reply, op, argc, argv, NULL) != REDIS_OK)
      sl_bus_op_fail_later(op, SL_BUS_ERROR_UNAVAILABLE, "lost the connection to redis");
    else
      sent_one(self);
    return;
  }
  if (self->queueing && self->queued.length < SL_BUS_MAX_QUEUED) {
    Queued *q = g_new0(Queued, 1);
    q->len = redisFormatCommandArgv(&q->cmd, argc, argv, NULL);
    q->op = op;
    if (q->len < 0) {
      g_free(q);
      sl_bus_op_fail_later(op, SL_BUS_ERROR_INTERNAL, "cannot format a redis command");
      return;
    }
    g_queue_push_tail(&self->queued, q);
    return;
  }
  sl_bus_op_fail_later(op, SL_BUS_ERROR_UNAVAILABLE, "not connected to redis at %s:%d%s%s",
                       self->host, self->port, self->last_error ? ": " : "",
                       self->last_error ? self->last_error : "");
}

/* A command from a NULL-terminated list of strings (copied). */
static void send_cmd(SlBus *bus, SlBusOp *op, ReplyFunc fn, const char *first, ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
  va_list ap;

  va_start(ap, first);
  for (const char *a = first; a != NULL; a = va_arg(ap, const char *))
    g_ptr_array_add(args, g_strdup(a));
  va_end(ap);
  send_argv(bus, op, fn, args);
}

/* EVAL `script` with `nkeys` keys followed by arguments (all strings, NULL-terminated). */
static void eval(SlBus *bus, SlBusOp *op, ReplyFunc fn, const char *script, int nkeys, ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
  va_list ap;

  g_ptr_array_add(args, g_strdup("EVAL"));
  g_ptr_array_add(args, g_strdup(script));
  g_ptr_array_add(args, g_strdup_printf("%d", nkeys));
  va_start(ap, nkeys);
  for (const char *a = va_arg(ap, const char *); a != NULL; a = va_arg(ap, const char *))
    g_ptr_array_add(args, g_strdup(a));
  va_end(ap);
  send_argv(bus, op, fn, args);
}

/* ---- Reply shapes --------------------------------------------------------------------------- */

static const char *reply_str(const redisReply *r)
{
  if (r != NULL && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS))
    return r->str;
  return NULL;
}

static const redisReply *reply_elem(const redisReply *r, size_t i)
{
  if (r == NULL || r->type != REDIS_REPLY_ARRAY || i >= r->elements)
    return NULL;
  return r->element[i];
}

static long long reply_int_at(const redisReply *r, size_t i)
{
  const redisReply *e = reply_elem(r, i);
  return e != NULL && e->type == REDIS_REPLY_INTEGER ? e->integer : -1;
}

static const char *reply_str_at(const redisReply *r, size_t i)
{
  return reply_str(reply_elem(r, i));
}

static void bad_reply(SlBusOp *op)
{
  sl_bus_op_set_error(op, SL_BUS_ERROR_INTERNAL, "unexpected reply from redis");
  sl_bus_op_finish(op);
}

static void ok_reply(SlBusOp *op, redisReply *reply)
{
  sl_bus_op_finish(op);
}

static void value_reply(SlBusOp *op, redisReply *reply)
{
  if (reply->type == REDIS_REPLY_NIL) {
    sl_bus_op_set_error(op, SL_BUS_ERROR_NOT_FOUND, "%s not found", op->subject);
  } else if (reply_str(reply) != NULL) {
    op->value = g_strdup(reply->str);
  } else {
    bad_reply(op);
    return;
  }
  sl_bus_op_finish(op);
}

/* id, json, id, json, ... → SlBusItem*. */
static void pairs_reply(SlBusOp *op, redisReply *reply)
{
  if (reply->type != REDIS_REPLY_ARRAY) {
    bad_reply(op);
    return;
  }
  op->items = g_ptr_array_new_with_free_func(sl_bus_item_free);
  for (size_t i = 0; i + 1 < reply->elements; i += 2) {
    const char *id = reply_str_at(reply, i);
    const char *json = reply_str_at(reply, i + 1);
    if (id != NULL && json != NULL)
      g_ptr_array_add(op->items, sl_bus_item_new(id, json));
  }
  sl_bus_op_finish(op);
}

static void count_reply(SlBusOp *op, redisReply *reply)
{
  if (reply->type != REDIS_REPLY_INTEGER) {
    bad_reply(op);
    return;
  }
  op->num = reply->integer;
  sl_bus_op_finish(op);
}

/* ---- Key names ------------------------------------------------------------------------------ */

static char *key_of(SlBus *bus, const char *what, const char *name)
{
  return sl_bus_key(bus->prefix, what, name, NULL);
}

static char *kind_key(SlBus *bus, SlBusKind kind, const char *suffix)
{
  g_autofree char *k = g_strconcat(sl_bus_kind_name(kind), suffix, NULL);
  return sl_bus_key(bus->prefix, k, NULL);
}

static char *member_of(SlBusKind kind, const char *id)
{
  return g_strconcat(sl_bus_kind_name(kind), ":", id, NULL);
}

static char *kind_topic_channel(SlBus *bus, SlBusKind kind, const char *id)
{
  g_autofree char *topic = g_strconcat(sl_bus_kind_name(kind), "/", id, NULL);
  return sl_bus_event_channel(bus->prefix, topic);
}

static char *worker_channel(SlBus *bus, const char *worker_id)
{
  g_autofree char *topic = g_strconcat("worker/", worker_id, NULL);
  return sl_bus_event_channel(bus->prefix, topic);
}

/* ---- Store ---------------------------------------------------------------------------------- */

static void put_reply(SlBusOp *op, redisReply *reply)
{
  long long ok = reply_int_at(reply, 0);
  if (ok == 0)
    sl_bus_op_set_error(op, SL_BUS_ERROR_ALREADY_EXISTS,
                        "the stream key is already used by ingress %s",
                        reply_str_at(reply, 1) ? reply_str_at(reply, 1) : "?");
  else if (ok != 1) {
    bad_reply(op);
    return;
  }
  sl_bus_op_finish(op);
}

static void redis_put(SlBus *bus, SlBusKind kind, const SlBusRecord *rec, SlBusOp *op)
{
  g_autofree char *record = key_of(bus, sl_bus_kind_name(kind), rec->id);
  g_autofree char *ids = kind_key(bus, kind, "_ids");
  g_autofree char *room_prefix = kind_key(bus, kind, "_room:");
  g_autofree char *skeys = kind_key(bus, SL_BUS_INGRESS, "_stream_keys");
  g_autofree char *active = kind_key(bus, SL_BUS_EGRESS, "_active");
  g_autofree char *channel = kind_topic_channel(bus, kind, rec->id);

  eval(bus, op, put_reply, script_put, 4, record, ids, skeys, active, rec->id, rec->json, rec->room,
       rec->stream_key, rec->active ? "1" : "0", room_prefix, channel,
       kind == SL_BUS_EGRESS ? "1" : "0", NULL);
}

static void redis_get(SlBus *bus, SlBusKind kind, const char *id, SlBusOp *op)
{
  g_autofree char *record = key_of(bus, sl_bus_kind_name(kind), id);
  op->subject = g_strdup_printf("%s %s", sl_bus_kind_name(kind), id);
  send_cmd(bus, op, value_reply, "HGET", record, "json", NULL);
}

static void redis_get_by_stream_key(SlBus *bus, const char *stream_key, SlBusOp *op)
{
  g_autofree char *skeys = kind_key(bus, SL_BUS_INGRESS, "_stream_keys");
  g_autofree char *record_prefix = key_of(bus, "ingress", "");
  op->subject = g_strdup("the ingress with this stream key");
  eval(bus, op, value_reply, script_get_by_stream_key, 1, skeys, record_prefix, stream_key, NULL);
}

static void redis_list(SlBus *bus, SlBusKind kind, const char *room, gboolean active_only,
                       SlBusOp *op)
{
  g_autofree char *set = NULL;
  g_autofree char *active = kind_key(bus, SL_BUS_EGRESS, "_active");
  g_autofree char *record_prefix = key_of(bus, sl_bus_kind_name(kind), "");

  if (room != NULL) {
    g_autofree char *room_prefix = kind_key(bus, kind, "_room:");
    set = g_strconcat(room_prefix, room, NULL);
  } else {
    set = kind_key(bus, kind, "_ids");
  }
  if (active_only)
    eval(bus, op, pairs_reply, script_list, 2, set, active, record_prefix, NULL);
  else
    eval(bus, op, pairs_reply, script_list, 1, set, record_prefix, NULL);
}

static void remove_reply(SlBusOp *op, redisReply *reply)
{
  if (reply->type != REDIS_REPLY_INTEGER) {
    bad_reply(op);
    return;
  }
  if (reply->integer == 0)
    sl_bus_op_set_error(op, SL_BUS_ERROR_NOT_FOUND, "%s not found", op->subject);
  sl_bus_op_finish(op);
}

static void redis_remove(SlBus *bus, SlBusKind kind, const char *id, SlBusOp *op)
{
  g_autofree char *record = key_of(bus, sl_bus_kind_name(kind), id);
  g_autofree char *ids = kind_key(bus, kind, "_ids");
  g_autofree char *room_prefix = kind_key(bus, kind, "_room:");
  g_autofree char *skeys = kind_key(bus, SL_BUS_INGRESS, "_stream_keys");
  g_autofree char *active = kind_key(bus, SL_BUS_EGRESS, "_active");
  g_autofree char *channel = kind_topic_channel(bus, kind, id);

  op->subject = g_strdup_printf("%s %s", sl_bus_kind_name(kind), id);
  eval(bus, op, remove_reply, script_delete, 4, record, ids, skeys, active, id, room_prefix,
       channel, NULL);
}

/* ---- Ownership ------------------------------------------------------------------------------ */

static void claim_reply(SlBusOp *op, redisReply *reply)
{
  long long ok = reply_int_at(reply, 0);
  if (ok == 0) {
    op->value = g_strdup(reply_str_at(reply, 1) ? reply_str_at(reply, 1) : "?");
    op->value2 = g_strdup(reply_str_at(reply, 2) ? reply_str_at(reply, 2) : "");
    op->num = reply_int_at(reply, 3) == 1;
    sl_bus_op_set_error(op, SL_BUS_ERROR_ALREADY_EXISTS, "%s is owned by worker %s", op->subject,
                        op->value);
  } else if (ok != 1) {
    bad_reply(op);
    return;
  }
  sl_bus_op_finish(op);
}

static void redis_claim(SlBus *bus, SlBusKind kind, const char *id, const char *session_id,
                        SlBusOp *op)
{
  g_autofree char *member = member_of(kind, id);
  g_autofree char *owner = key_of(bus, "owner", member);
  g_autofree char *claims = key_of(bus, "claims", bus->worker_id);
  g_autofree char *hb_prefix = key_of(bus, "hb", "");

  op->subject = g_strdup_printf("%s %s", sl_bus_kind_name(kind), id);
  eval(bus, op, claim_reply, script_claim, 2, owner, claims, bus->worker_id, session_id, member,
       hb_prefix, NULL);
}

static void release_reply(SlBusOp *op, redisReply *reply)
{
  long long ok = reply_int_at(reply, 0);
  const char *cur = reply_str_at(reply, 1);

  if (ok == 0 && (cur == NULL || *cur == '\0'))
    sl_bus_op_set_error(op, SL_BUS_ERROR_NOT_FOUND, "%s is not claimed", op->subject);
  else if (ok == 0)
    sl_bus_op_set_error(op, SL_BUS_ERROR_NOT_FOUND, "%s is owned by worker %s, not %s", op->subject,
                        cur, op->bus->worker_id);
  else if (ok != 1) {
    bad_reply(op);
    return;
  }
  sl_bus_op_finish(op);
}

static void redis_release(SlBus *bus, SlBusKind kind, const char *id, SlBusOp *op)
{
  g_autofree char *member = member_of(kind, id);
  g_autofree char *owner = key_of(bus, "owner", member);
  g_autofree char *claims = key_of(bus, "claims", bus->worker_id);

  op->subject = g_strdup_printf("%s %s", sl_bus_kind_name(kind), id);
  eval(bus, op, release_reply, script_release, 2, owner, claims, bus->worker_id, member, NULL);
}

static void owner_reply(SlBusOp *op, redisReply *reply)
{
  const char *worker = reply_str_at(reply, 0);
  if (reply->type != REDIS_REPLY_ARRAY) {
    bad_reply(op);
    return;
  }
  if (worker == NULL) {
    sl_bus_op_set_error(op, SL_BUS_ERROR_NOT_FOUND, "%s is not claimed", op->subject);
  } else {
    op->value = g_strdup(worker);
    op->value2 = g_strdup(reply_str_at(reply, 1) ? reply_str_at(reply, 1) : "");
  }
  sl_bus_op_finish(op);
}

static void redis_owner(SlBus *bus, SlBusKind kind, const char *id, SlBusOp *op)
{
  g_autofree char *member = member_of(kind, id);
  g_autofree char *owner = key_of(bus, "owner", member);

  op->subject = g_strdup_printf("%s %s", sl_bus_kind_name(kind), id);
  send_cmd(bus, op, owner_reply, "HMGET", owner, "worker", "session", NULL);
}

/* ---- Workers -------------------------------------------------------------------------------- */

static void redis_register(SlBus *bus, const char *info, guint ttl_ms, SlBusOp *op)
{
  g_autofree char *hb = key_of(bus, "hb", bus->worker_id);
  g_autofree char *info_key = key_of(bus, "worker", bus->worker_id);
  g_autofree char *workers = sl_bus_key(bus->prefix, "workers", NULL);
  g_autofree char *ttl = g_strdup_printf("%u", ttl_ms);
  g_autofree char *channel = worker_channel(bus, bus->worker_id);

  eval(bus, op, ok_reply, script_register, 3, hb, info_key, workers, bus->worker_id, info, ttl,
       channel, NULL);
}

static void heartbeat_reply(SlBusOp *op, redisReply *reply)
{
  op->num = reply->type == REDIS_REPLY_STATUS;
  sl_bus_op_finish(op);
}

static void redis_heartbeat(SlBus *bus, guint ttl_ms, SlBusOp *op)
{
  g_autofree char *hb = key_of(bus, "hb", bus->worker_id);
  g_autofree char *ttl = g_strdup_printf("%u", ttl_ms);

  /* XX: refresh only. A key that has expired means survivors may be reaping this worker; the
   * common code registers again and puts its claims back rather than silently resurrect it. */
  send_cmd(bus, op, heartbeat_reply, "SET", hb, bus->worker_id, "XX", "PX", ttl, NULL);
}

static void redis_unregister(SlBus *bus, SlBusOp *op)
{
  g_autofree char *hb = key_of(bus, "hb", bus->worker_id);
  g_autofree char *info_key = key_of(bus, "worker", bus->worker_id);
  g_autofree char *workers = sl_bus_key(bus->prefix, "workers", NULL);
  g_autofree char *claims = key_of(bus, "claims", bus->worker_id);
  g_autofree char *owner_prefix = key_of(bus, "owner", "");
  g_autofree char *channel = worker_channel(bus, bus->worker_id);

  eval(bus, op, ok_reply, script_unregister, 4, hb, info_key, workers, claims, bus->worker_id,
       owner_prefix, channel, NULL);
}

static void redis_list_workers(SlBus *bus, SlBusOp *op)
{
  g_autofree char *workers = sl_bus_key(bus->prefix, "workers", NULL);
  g_autofree char *hb_prefix = key_of(bus, "hb", "");
  g_autofree char *info_prefix = key_of(bus, "worker", "");

  eval(bus, op, pairs_reply, script_list_workers, 1, workers, hb_prefix, info_prefix, NULL);
}

/* ---- Messages and expiring keys ------------------------------------------------------------- */

static void redis_publish(SlBus *bus, const char *channel, const char *payload, SlBusOp *op)
{
  send_cmd(bus, op, count_reply, "PUBLISH", channel, payload, NULL);
}

static void set_nx_reply(SlBusOp *op, redisReply *reply)
{
  long long ok = reply_int_at(reply, 0);
  if (ok != 0 && ok != 1) {
    bad_reply(op);
    return;
  }
  op->num = ok;
  if (ok == 0)
    op->value = g_strdup(reply_str_at(reply, 1) ? reply_str_at(reply, 1) : "");
  sl_bus_op_finish(op);
}

static void redis_set_nx(SlBus *bus, const char *key, const char *value, guint ttl_ms, SlBusOp *op)
{
  g_autofree char *ttl = g_strdup_printf("%u", ttl_ms);
  eval(bus, op, set_nx_reply, script_set_nx, 1, key, value, ttl, NULL);
}

/* ---- Reaping -------------------------------------------------------------------------------- */

static void reap_begin_reply(SlBusOp *op, redisReply *reply)
{
  long long ok = reply_int_at(reply, 0);
  if (ok != 0 && ok != 1) {
    bad_reply(op);
    return;
  }
  op->num = ok;
  if (ok == 1) {
    op->items = g_ptr_array_new_with_free_func(sl_bus_claim_free);
    for (size_t i = 1; i + 1 < reply->elements; i += 2) {
      const char *member = reply_str_at(reply, i);
      const char *colon = member ? strchr(member, ':') : NULL;
      if (colon == NULL)
        continue;
      g_ptr_array_add(
          op->items,
          sl_bus_claim_new(strncmp(member, "egress:", 7) == 0 ? SL_BUS_EGRESS : SL_BUS_INGRESS,
                           colon + 1, reply_str_at(reply, i + 1)));
    }
  }
  sl_bus_op_finish(op);
}

static void redis_reap_begin(SlBus *bus, const char *worker_id, guint lock_ms, SlBusOp *op)
{
  g_autofree char *hb = key_of(bus, "hb", worker_id);
  g_autofree char *workers = sl_bus_key(bus->prefix, "workers", NULL);
  g_autofree char *lock = key_of(bus, "reap", worker_id);
  g_autofree char *claims = key_of(bus, "claims", worker_id);
  g_autofree char *owner_prefix = key_of(bus, "owner", "");
  g_autofree char *ms = g_strdup_printf("%u", lock_ms);

  eval(bus, op, reap_begin_reply, script_reap_begin, 4, hb, workers, lock, claims, worker_id,
       bus->worker_id, ms, owner_prefix, NULL);
}

static void redis_reap_end(SlBus *bus, const char *worker_id, SlBusOp *op)
{
  g_autofree char *lock = key_of(bus, "reap", worker_id);
  g_autofree char *claims = key_of(bus, "claims", worker_id);
  g_autofree char *hb = key_of(bus, "hb", worker_id);
  g_autofree char *info_key = key_of(bus, "worker", worker_id);
  g_autofree char *workers = sl_bus_key(bus->prefix, "workers", NULL);
  g_autofree char *owner_prefix = key_of(bus, "owner", "");
  g_autofree char *channel = worker_channel(bus, worker_id);

  eval(bus, op, ok_reply, script_reap_end, 5, lock, claims, hb, info_key, workers, worker_id,
       bus->worker_id, owner_prefix, channel, NULL);
}

static void ids_reply(SlBusOp *op, redisReply *reply)
{
  if (reply->type != REDIS_REPLY_ARRAY) {
    bad_reply(op);
    return;
  }
  op->items = g_ptr_array_new_with_free_func(sl_bus_item_free);
  for (size_t i = 0; i < reply->elements; i++)
    if (reply_str_at(reply, i) != NULL)
      g_ptr_array_add(op->items, sl_bus_item_new(reply_str_at(reply, i), NULL));
  sl_bus_op_finish(op);
}

static void redis_dead_workers(SlBus *bus, SlBusOp *op)
{
  g_autofree char *workers = sl_bus_key(bus->prefix, "workers", NULL);
  g_autofree char *hb_prefix = key_of(bus, "hb", "");
  g_autofree char *lock_prefix = key_of(bus, "reap", "");

  eval(bus, op, ids_reply, script_dead_workers, 1, workers, hb_prefix, lock_prefix, NULL);
}

/* ---- The GLib source ------------------------------------------------------------------------ */

static void conn_lost(RedisConn *conn, const char *why);

static gboolean source_prepare(GSource *source, gint *timeout)
{
  *timeout = -1;
  return FALSE;
}

static gboolean source_check(GSource *source)
{
  SlRedisSource *src = (SlRedisSource *)source;
  GPollFD *pfd = &src->rs.poll_fd;
  return pfd->fd >= 0 && (pfd->revents & (pfd->events | G_IO_HUP | G_IO_ERR)) != 0;
}

static gboolean source_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
  SlRedisSource *src = (SlRedisSource *)source;
  gushort revents = src->rs.poll_fd.revents;

  src->rs.poll_fd.revents = 0;
  /* Each handler may free the context (and run our cleanup, which sets fd to -1); GLib holds a
   * reference on the source for the duration of the dispatch, so the check itself is safe. */
  if ((revents & G_IO_OUT) && src->rs.poll_fd.fd >= 0)
    redisAsyncHandleWrite(src->rs.ac);
  if ((revents & (G_IO_IN | G_IO_HUP | G_IO_ERR)) && src->rs.poll_fd.fd >= 0)
    redisAsyncHandleRead(src->rs.ac);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs source_funcs = {
    .prepare = source_prepare,
    .check = source_check,
    .dispatch = source_dispatch,
    .finalize = redis_source_finalize,
};

/* hiredis calls this once, as it frees the context for whatever reason. */
static void source_cleanup(gpointer data)
{
  SlRedisSource *src = data;
  RedisConn *conn = src->conn;
  redisAsyncContext *ac = src->rs.ac;

  redis_source_cleanup(data);
  src->conn = NULL;
  if (conn != NULL) {
    conn->ac = NULL;
    conn_lost(conn, ac->errstr != NULL && *ac->errstr ? ac->errstr : "connection closed");
  }
  g_source_destroy((GSource *)src);
  g_source_unref((GSource *)src);
}

static void source_attach(redisAsyncContext *ac, RedisConn *conn)
{
  SlRedisSource *src = (SlRedisSource *)g_source_new(&source_funcs, sizeof *src);

  src->rs.ac = ac;
  src->rs.poll_fd.fd = ac->c.fd;
  src->rs.poll_fd.events = 0;
  src->rs.poll_fd.revents = 0;
  src->conn = conn;
  g_source_add_poll((GSource *)src, &src->rs.poll_fd);
  ac->ev.addRead = redis_source_add_read;
  ac->ev.delRead = redis_source_del_read;
  ac->ev.addWrite = redis_source_add_write;
  ac->ev.delWrite = redis_source_del_write;
  ac->ev.cleanup = source_cleanup;
  ac->ev.data = src;
  g_source_set_name((GSource *)src, "sluice redis bus");
  g_source_attach((GSource *)src, NULL);
}

/* ---- Connections ---------------------------------------------------------------------------- */

static void schedule_reconnect(RedisBus *self);

static void set_last_error(RedisBus *self, const char *why)
{
  g_free(self->last_error);
  self->last_error = g_strdup(why);
}

/* Closes a connection without reporting it lost (we are the ones closing it). */
static void conn_close(RedisConn *conn)
{
  redisAsyncContext *ac = conn->ac;

  conn->ready = FALSE;
  conn->handshake_pending = 0;
  if (ac != NULL) {
    conn->ac = NULL;
    ac->data = NULL;
    if (ac->ev.data != NULL)
      ((SlRedisSource *)ac->ev.data)->conn = NULL;
    redisAsyncFree(ac);
  }
  g_clear_pointer(&conn->tunnel, sl_redis_tunnel_free);
}

static gboolean up_idle(gpointer data)
{
  RedisBus *self = data;
  self->up_id = 0;
  sl_bus_backend_up(self->bus); /* may free the bus */
  return G_SOURCE_REMOVE;
}

static gboolean down_idle(gpointer data)
{
  RedisBus *self = data;
  SlBus *bus = self->bus;
  gboolean was_up = self->state == STATE_UP;

  self->down_id = 0;
  self->state = STATE_DOWN;
  self->inflight = 0;
  stall_arm(self);
  g_clear_handle_id(&self->connect_timeout_id, g_source_remove);
  g_clear_handle_id(&self->up_id, g_source_remove);
  conn_close(&self->cmd);
  conn_close(&self->sub);
  if (self->queueing) {
    /* The first connection failed: what waited for it fails now, and from here on operations
     * fail at once until a connection is made. */
    self->queueing = FALSE;
    for (Queued *q; (q = g_queue_pop_head(&self->queued)) != NULL; g_free(q)) {
      redisFreeCommand(q->cmd);
      sl_bus_op_fail_later(q->op, SL_BUS_ERROR_UNAVAILABLE, "cannot connect to redis at %s:%d: %s",
                           self->host, self->port, self->last_error);
    }
  }
  if (was_up) {
    sl_warn(LOG, "lost the connection to redis at %s:%d (%s); reconnecting", self->host, self->port,
            self->last_error);
  } else if (!self->warned_connect) {
    sl_warn(LOG, "cannot connect to redis at %s:%d (%s); retrying with backoff", self->host,
            self->port, self->last_error);
    self->warned_connect = TRUE;
  }
  schedule_reconnect(self);
  if (was_up)
    sl_bus_backend_down(bus); /* may free the bus: last */
  return G_SOURCE_REMOVE;
}

/* Either connection failed: both go down together, from the main loop. */
static void conn_lost(RedisConn *conn, const char *why)
{
  RedisBus *self = conn->self;
  if (self->state == STATE_DOWN || self->down_id != 0)
    return;
  set_last_error(self, why);
  self->down_id = g_idle_add_full(G_PRIORITY_DEFAULT, down_idle, self, NULL);
}

static void maybe_up(RedisBus *self)
{
  if (!self->cmd.ready || !self->sub.ready || self->state != STATE_CONNECTING)
    return;
  self->state = STATE_UP;
  self->backoff_ms = BACKOFF_MIN_MS;
  self->warned_connect = FALSE;
  g_clear_handle_id(&self->connect_timeout_id, g_source_remove);
  if (self->ever_up)
    sl_info(LOG, "reconnected to redis at %s:%d", self->host, self->port);
  else if (self->tls != NULL)
    sl_info(LOG, "connected to redis at %s:%d over TLS (%s)", self->host, self->port,
            sl_redis_tls_describe(self->tls));
  self->ever_up = TRUE;
  g_clear_pointer(&self->last_error, g_free);
  /* Operations that waited for the first connection go out first, in order. */
  self->queueing = FALSE;
  for (Queued *q; (q = g_queue_pop_head(&self->queued)) != NULL; g_free(q)) {
    if (redisAsyncFormattedCommand(self->cmd.ac, on_reply, q->op, q->cmd, (size_t)q->len) !=
        REDIS_OK)
      sl_bus_op_fail_later(q->op, SL_BUS_ERROR_UNAVAILABLE, "lost the connection to redis");
    else
      sent_one(self);
    redisFreeCommand(q->cmd);
  }
  if (self->up_id == 0)
    self->up_id = g_idle_add_full(G_PRIORITY_DEFAULT, up_idle, self, NULL);
}

static void handshake_step(RedisConn *conn)
{
  if (conn->handshake_pending > 0 && --conn->handshake_pending == 0) {
    conn->ready = TRUE;
    maybe_up(conn->self);
  }
}

static void on_config_set(redisAsyncContext *ac, void *r, void *privdata)
{
  redisReply *reply = r;
  RedisConn *conn = privdata;

  if (reply == NULL)
    return; /* the context is going away; `conn` may be too */
  if (reply->type == REDIS_REPLY_ERROR && !conn->self->warned_config) {
    sl_warn(LOG,
            "redis refused CONFIG SET notify-keyspace-events (%s): dead workers are noticed only "
            "when a worker connects; set 'notify-keyspace-events Ex' in the server's config",
            reply->str);
    conn->self->warned_config = TRUE;
  }
  handshake_step(conn);
}

static void on_config_get(redisAsyncContext *ac, void *r, void *privdata)
{
  redisReply *reply = r;
  RedisConn *conn = privdata;
  g_autofree char *flags = NULL;

  if (reply == NULL)
    return;
  if (reply->type == REDIS_REPLY_ERROR && g_str_has_prefix(reply->str, "LOADING")) {
    /* A restarted server still reading its dump answers everything this way: try again later. */
    conn_lost(conn, reply->str);
    return;
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    /* Managed services often rename or forbid CONFIG; the bus works without expired-key events,
     * only slower to notice dead workers. */
    if (!conn->self->warned_config)
      sl_warn(LOG,
              "redis refused CONFIG GET notify-keyspace-events (%s): dead workers are noticed "
              "only when a worker connects; set 'notify-keyspace-events Ex' in the server's "
              "config",
              reply->str);
    conn->self->warned_config = TRUE;
  } else {
    flags = sl_bus_keyspace_flags_merge(reply_str_at(reply, 1));
    if (flags != NULL) {
      conn->handshake_pending++;
      redisAsyncCommand(ac, on_config_set, conn, "CONFIG SET notify-keyspace-events %s", flags);
    }
  }
  handshake_step(conn);
}

static void on_handshake(redisAsyncContext *ac, void *r, void *privdata)
{
  redisReply *reply = r;
  RedisConn *conn = privdata;

  if (reply == NULL)
    return;
  if (reply->type == REDIS_REPLY_ERROR) {
    /* AUTH or SELECT refused: a configuration problem, retried with backoff (and logged). */
    g_autofree char *why = g_strdup_printf("redis refused the connection set-up: %s", reply->str);
    conn_lost(conn, why);
    return;
  }
  handshake_step(conn);
}

static void on_sub_message(redisAsyncContext *ac, void *r, void *privdata)
{
  redisReply *reply = r;
  RedisConn *conn = privdata;
  const char *type;
  const char *channel = NULL;
  const char *payload = NULL;
  RedisBus *self;

  if (reply == NULL)
    return;
  self = conn->self;
  type = reply_str_at(reply, 0);
  if (type == NULL)
    return;
  if (strcmp(type, "subscribe") == 0 || strcmp(type, "psubscribe") == 0) {
    handshake_step(conn);
    return;
  }
  if (strcmp(type, "message") == 0) {
    channel = reply_str_at(reply, 1);
    payload = reply_str_at(reply, 2);
  } else if (strcmp(type, "pmessage") == 0) {
    channel = reply_str_at(reply, 2);
    payload = reply_str_at(reply, 3);
  }
  if (channel == NULL || payload == NULL)
    return;
  if (strcmp(channel, self->ch_expired) == 0) {
    g_autofree char *worker = sl_bus_expired_key_worker(self->bus->prefix, payload);
    if (worker != NULL)
      sl_bus_worker_expired(self->bus, worker); /* may free the bus */
    return;
  }
  sl_bus_receive(self->bus, channel, payload); /* may free the bus */
}

static void send_auth(RedisBus *self, RedisConn *conn)
{
  if (self->password == NULL)
    return;
  conn->handshake_pending++;
  if (self->username != NULL)
    redisAsyncCommand(conn->ac, on_handshake, conn, "AUTH %s %s", self->username, self->password);
  else
    redisAsyncCommand(conn->ac, on_handshake, conn, "AUTH %s", self->password);
}

static void on_connect(const redisAsyncContext *cac, int status)
{
  redisAsyncContext *ac = (redisAsyncContext *)cac;
  RedisConn *conn = ac->data;
  RedisBus *self;

  /* On failure hiredis frees the context after this returns; source_cleanup reports it. */
  if (conn == NULL || status != REDIS_OK)
    return;
  self = conn->self;
  if (conn->tunnel == NULL)
    redisEnableKeepAlive(&ac->c);
  conn->handshake_pending = 0;
  send_auth(self, conn);
  if (conn->is_sub) {
    const char *sub_argv[] = {"SUBSCRIBE", self->bus->ch_offers, self->bus->ch_inbox,
                              self->ch_expired};
    const char *psub_argv[] = {"PSUBSCRIBE", self->bus->ch_event_glob};
    /* One confirmation per channel or pattern. */
    conn->handshake_pending += 4;
    redisAsyncCommandArgv(ac, on_sub_message, conn, 4, sub_argv, NULL);
    redisAsyncCommandArgv(ac, on_sub_message, conn, 2, psub_argv, NULL);
  } else {
    if (self->db != 0) {
      conn->handshake_pending++;
      redisAsyncCommand(ac, on_handshake, conn, "SELECT %d", self->db);
    }
    conn->handshake_pending++;
    redisAsyncCommand(ac, on_config_get, conn, "CONFIG GET notify-keyspace-events");
  }
}

/* Puts a context that has started connecting on the main loop. */
static gboolean conn_attach(RedisConn *conn, redisAsyncContext *ac)
{
  if (ac == NULL) {
    conn_lost(conn, "out of memory");
    return FALSE;
  }
  if (ac->err) {
    conn_lost(conn, ac->errstr);
    redisAsyncFree(ac);
    return FALSE;
  }
  conn->ac = ac;
  conn->ready = FALSE;
  ac->data = conn;
  source_attach(ac, conn);
  redisAsyncSetConnectCallback(ac, on_connect);
  return TRUE;
}

static void on_tunnel_ready(const char *path, gpointer data)
{
  RedisConn *conn = data;
  conn_attach(conn, redisAsyncConnectUnix(path));
}

static void on_tunnel_down(const char *why, gpointer data)
{
  conn_lost(data, why);
}

static gboolean conn_open(RedisBus *self, RedisConn *conn)
{
  if (self->tls == NULL)
    return conn_attach(conn, redisAsyncConnect(self->host, self->port));
  conn->ready = FALSE;
  conn->tunnel = sl_redis_tunnel_open(self->tls, on_tunnel_ready, on_tunnel_down, conn);
  return TRUE;
}

static gboolean stall_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
  return callback(user_data);
}

static GSourceFuncs stall_funcs = {.dispatch = stall_dispatch};

static gboolean stalled(gpointer data)
{
  RedisBus *self = data;
  g_autofree char *why =
      g_strdup_printf("no reply from redis within %u ms", (guint)REPLY_TIMEOUT_MS);
  g_source_set_ready_time(self->stall, -1);
  conn_lost(&self->cmd, why);
  return G_SOURCE_CONTINUE;
}

static gboolean connect_timeout(gpointer data)
{
  RedisBus *self = data;
  self->connect_timeout_id = 0;
  conn_lost(&self->cmd, "timed out connecting");
  return G_SOURCE_REMOVE;
}

static void connect_all(RedisBus *self)
{
  self->state = STATE_CONNECTING;
  self->connect_timeout_id =
      g_timeout_add_full(G_PRIORITY_DEFAULT, CONNECT_TIMEOUT_MS, connect_timeout, self, NULL);
  if (conn_open(self, &self->cmd))
    conn_open(self, &self->sub);
}

static gboolean reconnect(gpointer data)
{
  RedisBus *self = data;
  self->reconnect_id = 0;
  connect_all(self);
  return G_SOURCE_REMOVE;
}

static void schedule_reconnect(RedisBus *self)
{
  if (self->reconnect_id != 0)
    return;
  self->reconnect_id =
      g_timeout_add_full(G_PRIORITY_DEFAULT, self->backoff_ms, reconnect, self, NULL);
  self->backoff_ms = MIN(self->backoff_ms * 2, BACKOFF_MAX_MS);
}

/* ---- Lifetime ------------------------------------------------------------------------------- */

static gboolean redis_is_connected(SlBus *bus)
{
  return ((RedisBus *)bus->impl)->state == STATE_UP;
}

static void redis_destroy(SlBus *bus)
{
  RedisBus *self = bus->impl;

  g_clear_handle_id(&self->reconnect_id, g_source_remove);
  g_clear_handle_id(&self->connect_timeout_id, g_source_remove);
  g_clear_handle_id(&self->down_id, g_source_remove);
  g_clear_handle_id(&self->up_id, g_source_remove);
  g_source_destroy(self->stall);
  g_source_unref(self->stall);
  /* Closing runs the callbacks of commands in flight with no reply; their ops were already
   * detached from the bus, so they are only freed. */
  conn_close(&self->cmd);
  conn_close(&self->sub);
  for (Queued *q; (q = g_queue_pop_head(&self->queued)) != NULL; g_free(q)) {
    redisFreeCommand(q->cmd);
    sl_bus_op_finish(q->op);
  }
  sl_redis_tls_free(self->tls);
  g_free(self->host);
  g_free(self->username);
  if (self->password != NULL)
    memset(self->password, 0, strlen(self->password));
  g_free(self->password);
  g_free(self->ch_expired);
  g_free(self->last_error);
  g_free(self);
}

static const SlBusBackend redis_backend = {
    .name = "redis",
    .put = redis_put,
    .get = redis_get,
    .get_by_stream_key = redis_get_by_stream_key,
    .list = redis_list,
    .remove = redis_remove,
    .claim = redis_claim,
    .release = redis_release,
    .owner = redis_owner,
    .register_worker = redis_register,
    .heartbeat = redis_heartbeat,
    .unregister_worker = redis_unregister,
    .list_workers = redis_list_workers,
    .publish = redis_publish,
    .set_nx = redis_set_nx,
    .reap_begin = redis_reap_begin,
    .reap_end = redis_reap_end,
    .dead_workers = redis_dead_workers,
    .is_connected = redis_is_connected,
    .destroy = redis_destroy,
};

SlBus *sl_bus_new_redis(const SlRedisConfig *config, const char *worker_id, GError **error)
{
  g_autofree char *host = NULL;
  g_autoptr(SlRedisTls) tls = NULL;
  int port = 0;
  SlBus *bus;
  RedisBus *self;

  g_return_val_if_fail(config != NULL, NULL);
  if (worker_id == NULL || *worker_id == '\0') {
    g_set_error(error, SL_BUS_ERROR, SL_BUS_ERROR_INVALID, "worker id is empty");
    return NULL;
  }
  if (config->db < 0) {
    g_set_error(error, SL_BUS_ERROR, SL_BUS_ERROR_INVALID, "redis.db: %d is negative", config->db);
    return NULL;
  }
  if (!sl_bus_parse_address(config->address, &host, &port, error))
    return NULL;
  /* As LiveKit: tls.enabled takes the tls settings; use_tls alone means the defaults (TLS 1.2 or
   * later, the system roots, the address's host as the name). */
  if (config->tls.enabled || config->use_tls) {
    const SlRedisTlsConfig plain = {.enabled = TRUE};
    tls = sl_redis_tls_new(config->tls.enabled ? &config->tls : &plain, host, port, error);
    if (tls == NULL)
      return NULL;
    if (config->tls.enabled && config->tls.insecure)
      sl_warn(LOG, "redis.tls.insecure: the certificate of redis at %s:%d is not verified", host,
              port);
  }

  bus = g_new0(SlBus, 1);
  self = g_new0(RedisBus, 1);
  sl_bus_init(bus, &redis_backend, worker_id, config->cluster_id);
  bus->impl = self;
  self->bus = bus;
  self->host = g_steal_pointer(&host);
  self->port = port;
  self->username = config->username && *config->username ? g_strdup(config->username) : NULL;
  self->password = config->password && *config->password ? g_strdup(config->password) : NULL;
  self->db = config->db;
  self->tls = g_steal_pointer(&tls);
  self->ch_expired = g_strdup_printf("__keyevent@%d__:expired", config->db);
  self->cmd.self = self;
  self->sub.self = self;
  self->sub.is_sub = TRUE;
  self->backoff_ms = BACKOFF_MIN_MS;
  self->queueing = TRUE;
  g_queue_init(&self->queued);
  self->stall = g_source_new(&stall_funcs, sizeof(GSource));
  g_source_set_callback(self->stall, stalled, self, NULL);
  g_source_set_ready_time(self->stall, -1);
  g_source_set_name(self->stall, "sluice redis bus reply timeout");
  g_source_attach(self->stall, NULL);
  connect_all(self);
  return bus;
}
