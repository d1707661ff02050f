/* The local bus backend: the store and the messages of a cluster that lives in one process.
 *
 * Buses made with sl_bus_new_local_peer share a hub: the store (records, indexes, claims, the
 * worker registry, expiring keys) and a delivery queue standing in for pub/sub. The hub does
 * what a Redis server does for the other backend, with the same rules, so the protocol in bus.c
 * cannot tell them apart: every operation's effect is applied at once, its answer and every
 * message it sends arrive from the main loop later, a heartbeat left unrefreshed expires on a
 * timer and is announced to every bus, and a reap lock is held by one survivor.
 */
#define SL_BUS_INTERNAL
#include "bus.h"

#include <string.h>

typedef struct _SlLocalHub SlLocalHub;

typedef struct {
  char *json;
  char *room;
  char *stream_key;
  gboolean active;
} LocalRecord;

typedef struct {
  char *worker;
  char *session;
} LocalOwner;

typedef struct {
  SlLocalHub *hub;
  char *id;
  char *info;
  gboolean alive; /* the heartbeat "key" exists */
  guint expire_id;
  char *reaper; /* the reap lock's holder */
  guint lock_id;
} LocalWorker;

typedef struct {
  SlLocalHub *hub;
  char *key;
  char *value;
  gint64 expires_us; /* monotonic */
} LocalKv;

typedef struct {
  SlLocalHub *hub;
  SlBus *bus;
  guint up_id;
} LocalBus;

typedef struct {
  LocalBus *to;
  char *channel; /* NULL: `payload` is a worker whose heartbeat expired */
  char *payload;
} Delivery;

struct _SlLocalHub {
  int refs;
  GHashTable *records[2];  /* per SlBusKind: id → LocalRecord */
  GHashTable *stream_keys; /* stream key → ingress id */
  GHashTable *owners;      /* "kind:id" → LocalOwner */
  GHashTable *workers;     /* worker id → LocalWorker: the registry */
  GHashTable *kv;          /* expiring keys (job owners) */
  GList *buses;            /* LocalBus* */
  GQueue deliveries;
  guint deliver_id;
  guint kv_sweep_id; /* frees expired keys while there are any */
};

static void record_free(gpointer p)
{
  LocalRecord *r = p;
  g_free(r->json);
  g_free(r->room);
  g_free(r->stream_key);
  g_free(r);
}

static void owner_free(gpointer p)
{
  LocalOwner *o = p;
  g_free(o->worker);
  g_free(o->session);
  g_free(o);
}

static void worker_free(gpointer p)
{
  LocalWorker *w = p;
  if (w->expire_id != 0)
    g_source_remove(w->expire_id);
  if (w->lock_id != 0)
    g_source_remove(w->lock_id);
  g_free(w->id);
  g_free(w->info);
  g_free(w->reaper);
  g_free(w);
}

static void kv_free(gpointer p)
{
  LocalKv *kv = p;
  g_free(kv->key);
  g_free(kv->value);
  g_free(kv);
}

static void delivery_free(gpointer p)
{
  Delivery *d = p;
  g_free(d->channel);
  g_free(d->payload);
  g_free(d);
}

static SlLocalHub *hub_new(void)
{
  SlLocalHub *hub = g_new0(SlLocalHub, 1);
  hub->refs = 1;
  for (guint i = 0; i < G_N_ELEMENTS(hub->records); i++)
    hub->records[i] = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, record_free);
  hub->stream_keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  hub->owners = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, owner_free);
  hub->workers = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, worker_free);
  hub->kv = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, kv_free);
  g_queue_init(&hub->deliveries);
  return hub;
}

static void hub_unref(SlLocalHub *hub)
{
  if (--hub->refs > 0)
    return;
  g_clear_handle_id(&hub->deliver_id, g_source_remove);
  g_clear_handle_id(&hub->kv_sweep_id, g_source_remove);
  g_queue_clear_full(&hub->deliveries, delivery_free);
  for (guint i = 0; i < G_N_ELEMENTS(hub->records); i++)
    g_hash_table_unref(hub->records[i]);
  g_hash_table_unref(hub->stream_keys);
  g_hash_table_unref(hub->owners);
  g_hash_table_unref(hub->workers);
  g_hash_table_unref(hub->kv);
  g_free(hub);
}

static SlLocalHub *hub_of(SlBus *bus)
{
  return ((LocalBus *)bus->impl)->hub;
}

/* ---- Deliveries: the hub's pub/sub ---------------------------------------------------------- */

static gboolean deliver_idle(gpointer data)
{
  SlLocalHub *hub = data;
  guint n = hub->deliveries.length;

  hub->deliver_id = 0;
  hub->refs++;
  /* Only what was queued before this pass: messages sent by the receivers wait for the next one,
   * as they would on a network, and two buses talking cannot starve the main loop. */
  while (n-- > 0 && hub->deliveries.length > 0) {
    Delivery *d = g_queue_pop_head(&hub->deliveries);
    if (d->channel != NULL)
      sl_bus_receive(d->to->bus, d->channel, d->payload);
    else
      sl_bus_worker_expired(d->to->bus, d->payload);
    delivery_free(d);
  }
  if (hub->deliveries.length > 0 && hub->deliver_id == 0 && hub->refs > 1)
    hub->deliver_id = g_idle_add_full(G_PRIORITY_DEFAULT, deliver_idle, hub, NULL);
  hub_unref(hub);
  return G_SOURCE_REMOVE;
}

static void enqueue(SlLocalHub *hub, LocalBus *to, const char *channel, const char *payload)
{
  Delivery *d = g_new0(Delivery, 1);
  d->to = to;
  d->channel = g_strdup(channel);
  d->payload = g_strdup(payload);
  g_queue_push_tail(&hub->deliveries, d);
  if (hub->deliver_id == 0)
    hub->deliver_id = g_idle_add_full(G_PRIORITY_DEFAULT, deliver_idle, hub, NULL);
}

/* Every bus listens on the offers channel, its own inbox and every event channel. */
static gboolean listens(SlBus *bus, const char *channel)
{
  return strcmp(channel, bus->ch_offers) == 0 || strcmp(channel, bus->ch_inbox) == 0 ||
         sl_bus_event_topic(bus->prefix, channel) != NULL;
}

static guint hub_publish(SlLocalHub *hub, const char *channel, const char *payload)
{
  guint n = 0;
  for (GList *l = hub->buses; l != NULL; l = l->next) {
    LocalBus *lb = l->data;
    if (listens(lb->bus, channel)) {
      enqueue(hub, lb, channel, payload);
      n++;
    }
  }
  return n;
}

static void publish_event(SlBus *bus, const char *topic, const char *json)
{
  g_autofree char *channel = sl_bus_event_channel(bus->prefix, topic);
  hub_publish(hub_of(bus), channel, json);
}

static void announce_expired(SlLocalHub *hub, const char *worker_id)
{
  for (GList *l = hub->buses; l != NULL; l = l->next)
    enqueue(hub, l->data, NULL, worker_id);
}

/* ---- Store ---------------------------------------------------------------------------------- */

static void local_put(SlBus *bus, SlBusKind kind, const SlBusRecord *rec, SlBusOp *op)
{
  SlLocalHub *hub = hub_of(bus);
  LocalRecord *old = g_hash_table_lookup(hub->records[kind], rec->id);
  LocalRecord *r;
  g_autofree char *topic = NULL;

  if (*rec->stream_key != '\0') {
    const char *holder = g_hash_table_lookup(hub->stream_keys, rec->stream_key);
    if (holder != NULL && strcmp(holder, rec->id) != 0) {
      sl_bus_op_fail_later(op, SL_BUS_ERROR_ALREADY_EXISTS,
                           "the stream key is already used by ingress %s", holder);
      return;
    }
  }
  if (old != NULL && *old->stream_key != '\0' && strcmp(old->stream_key, rec->stream_key) != 0 &&
      g_strcmp0(g_hash_table_lookup(hub->stream_keys, old->stream_key), rec->id) == 0)
    g_hash_table_remove(hub->stream_keys, old->stream_key);
  if (*rec->stream_key != '\0')
    g_hash_table_replace(hub->stream_keys, g_strdup(rec->stream_key), g_strdup(rec->id));
  r = g_new0(LocalRecord, 1);
  r->json = g_strdup(rec->json);
  r->room = g_strdup(rec->room);
  r->stream_key = g_strdup(rec->stream_key);
  r->active = rec->active;
  g_hash_table_replace(hub->records[kind], g_strdup(rec->id), r);
  topic = g_strconcat(sl_bus_kind_name(kind), "/", rec->id, NULL);
  publish_event(bus, topic, rec->json);
  sl_bus_op_finish_later(op);
}

static void local_get(SlBus *bus, SlBusKind kind, const char *id, SlBusOp *op)
{
  LocalRecord *r = g_hash_table_lookup(hub_of(bus)->records[kind], id);
  if (r == NULL) {
    sl_bus_op_fail_later(op, SL_BUS_ERROR_NOT_FOUND, "%s %s not found", sl_bus_kind_name(kind), id);
    return;
  }
  op->value = g_strdup(r->json);
  sl_bus_op_finish_later(op);
}

static void local_get_by_stream_key(SlBus *bus, const char *stream_key, SlBusOp *op)
{
  SlLocalHub *hub = hub_of(bus);
  const char *id = g_hash_table_lookup(hub->stream_keys, stream_key);
  LocalRecord *r = id ? g_hash_table_lookup(hub->records[SL_BUS_INGRESS], id) : NULL;
  if (r == NULL) {
    sl_bus_op_fail_later(op, SL_BUS_ERROR_NOT_FOUND, "no ingress has this stream key");
    return;
  }
  op->value = g_strdup(r->json);
  sl_bus_op_finish_later(op);
}

static void local_list(SlBus *bus, SlBusKind kind, const char *room, gboolean active_only,
                       SlBusOp *op)
{
  GHashTableIter it;
  gpointer key, value;

  op->items = g_ptr_array_new_with_free_func(sl_bus_item_free);
  g_hash_table_iter_init(&it, hub_of(bus)->records[kind]);
  while (g_hash_table_iter_next(&it, &key, &value)) {
    LocalRecord *r = value;
    if (room != NULL && strcmp(r->room, room) != 0)
      continue;
    if (active_only && !r->active)
      continue;
    g_ptr_array_add(op->items, sl_bus_item_new(key, r->json));
  }
  sl_bus_op_finish_later(op);
}

static void local_remove(SlBus *bus, SlBusKind kind, const char *id, SlBusOp *op)
{
  SlLocalHub *hub = hub_of(bus);
  LocalRecord *r = g_hash_table_lookup(hub->records[kind], id);
  g_autofree char *topic = NULL;

  if (r == NULL) {
    sl_bus_op_fail_later(op, SL_BUS_ERROR_NOT_FOUND, "%s %s not found", sl_bus_kind_name(kind), id);
    return;
  }
  if (*r->stream_key != '\0' &&
      g_strcmp0(g_hash_table_lookup(hub->stream_keys, r->stream_key), id) == 0)
    g_hash_table_remove(hub->stream_keys, r->stream_key);
  g_hash_table_remove(hub->records[kind], id);
  topic = g_strconcat(sl_bus_kind_name(kind), "/", id, NULL);
  publish_event(bus, topic, "null");
  sl_bus_op_finish_later(op);
}

/* ---- Ownership ------------------------------------------------------------------------------ */

static char *owner_name(SlBusKind kind, const char *id)
{
  return g_strconcat(sl_bus_kind_name(kind), ":", id, NULL);
}

static gboolean worker_alive(SlLocalHub *hub, const char *worker_id)
{
  LocalWorker *w = g_hash_table_lookup(hub->workers, worker_id);
  return w != NULL && w->alive;
}

static void local_claim(SlBus *bus, SlBusKind kind, const char *id, const char *session_id,
                        SlBusOp *op)
{
  SlLocalHub *hub = hub_of(bus);
  g_autofree char *name = owner_name(kind, id);
  LocalOwner *o = g_hash_table_lookup(hub->owners, name);

  if (o != NULL && strcmp(o->worker, bus->worker_id) != 0) {
    op->value = g_strdup(o->worker);
    op->value2 = g_strdup(o->session);
    op->num = worker_alive(hub, o->worker);
    sl_bus_op_fail_later(op, SL_BUS_ERROR_ALREADY_EXISTS, "%s %s is owned by worker %s",
                         sl_bus_kind_name(kind), id, o->worker);
    return;
  }
  o = g_new0(LocalOwner, 1);
  o->worker = g_strdup(bus->worker_id);
  o->session = g_strdup(session_id);
  g_hash_table_replace(hub->owners, g_steal_pointer(&name), o);
  sl_bus_op_finish_later(op);
}

static void local_release(SlBus *bus, SlBusKind kind, const char *id, SlBusOp *op)
{
  SlLocalHub *hub = hub_of(bus);
  g_autofree char *name = owner_name(kind, id);
  LocalOwner *o = g_hash_table_lookup(hub->owners, name);

  if (o == NULL) {
    sl_bus_op_fail_later(op, SL_BUS_ERROR_NOT_FOUND, "%s %s is not claimed", sl_bus_kind_name(kind),
                         id);
    return;
  }
  if (strcmp(o->worker, bus->worker_id) != 0) {
    sl_bus_op_fail_later(op, SL_BUS_ERROR_NOT_FOUND, "%s %s is owned by worker %s, not %s",
                         sl_bus_kind_name(kind), id, o->worker, bus->worker_id);
    return;
  }
  g_hash_table_remove(hub->owners, name);
  sl_bus_op_finish_later(op);
}

static void local_owner(SlBus *bus, SlBusKind kind, const char *id, SlBusOp *op)
{
  g_autofree char *name = owner_name(kind, id);
  LocalOwner *o = g_hash_table_lookup(hub_of(bus)->owners, name);

  if (o == NULL) {
    sl_bus_op_fail_later(op, SL_BUS_ERROR_NOT_FOUND, "%s %s is not claimed", sl_bus_kind_name(kind),
                         id);
    return;
  }
  op->value = g_strdup(o->worker);
  op->value2 = g_strdup(o->session);
  sl_bus_op_finish_later(op);
}

/* Drops every claim `worker_id` holds; with `out`, lists them first. */
static void drop_claims(SlLocalHub *hub, const char *worker_id, GPtrArray *out)
{
  GHashTableIter it;
  gpointer key, value;

  g_hash_table_iter_init(&it, hub->owners);
  while (g_hash_table_iter_next(&it, &key, &value)) {
    LocalOwner *o = value;
    const char *name = key;
    const char *colon = strchr(name, ':');
    if (strcmp(o->worker, worker_id) != 0)
      continue;
    if (out != NULL)
      g_ptr_array_add(
          out, sl_bus_claim_new(strncmp(name, "egress:", 7) == 0 ? SL_BUS_EGRESS : SL_BUS_INGRESS,
                                colon + 1, o->session));
    g_hash_table_iter_remove(&it);
  }
}

/* ---- Workers -------------------------------------------------------------------------------- */

static gboolean worker_expired(gpointer data)
{
  LocalWorker *w = data;
  w->expire_id = 0;
  w->alive = FALSE;
  announce_expired(w->hub, w->id);
  return G_SOURCE_REMOVE;
}

static void worker_refresh(LocalWorker *w, guint ttl_ms)
{
  if (w->expire_id != 0)
    g_source_remove(w->expire_id);
  w->alive = TRUE;
  w->expire_id = g_timeout_add_full(G_PRIORITY_DEFAULT, ttl_ms, worker_expired, w, NULL);
}

static void local_register(SlBus *bus, const char *info, guint ttl_ms, SlBusOp *op)
{
  SlLocalHub *hub = hub_of(bus);
  LocalWorker *w = g_hash_table_lookup(hub->workers, bus->worker_id);
  g_autofree char *topic = g_strconcat("worker/", bus->worker_id, NULL);

  if (w == NULL) {
    w = g_new0(LocalWorker, 1);
    w->hub = hub;
    w->id = g_strdup(bus->worker_id);
    g_hash_table_insert(hub->workers, w->id, w);
  }
  g_free(w->info);
  w->info = g_strdup(info);
  worker_refresh(w, ttl_ms);
  publish_event(bus, topic, info);
  sl_bus_op_finish_later(op);
}

static void local_heartbeat(SlBus *bus, guint ttl_ms, SlBusOp *op)
{
  LocalWorker *w = g_hash_table_lookup(hub_of(bus)->workers, bus->worker_id);
  op->num = w != NULL && w->alive;
  if (op->num)
    worker_refresh(w, ttl_ms);
  sl_bus_op_finish_later(op);
}

static void local_unregister(SlBus *bus, SlBusOp *op)
{
  SlLocalHub *hub = hub_of(bus);
  g_autofree char *topic = g_strconcat("worker/", bus->worker_id, NULL);

  drop_claims(hub, bus->worker_id, NULL);
  g_hash_table_remove(hub->workers, bus->worker_id);
  publish_event(bus, topic, "null");
  sl_bus_op_finish_later(op);
}

static void local_list_workers(SlBus *bus, SlBusOp *op)
{
  GHashTableIter it;
  gpointer value;

  op->items = g_ptr_array_new_with_free_func(sl_bus_item_free);
  g_hash_table_iter_init(&it, hub_of(bus)->workers);
  while (g_hash_table_iter_next(&it, NULL, &value)) {
    LocalWorker *w = value;
    if (w->alive)
      g_ptr_array_add(op->items, sl_bus_item_new(w->id, w->info));
  }
  sl_bus_op_finish_later(op);
}

/* ---- Messages and expiring keys ------------------------------------------------------------- */

static void local_publish(SlBus *bus, const char *channel, const char *payload, SlBusOp *op)
{
  op->num = hub_publish(hub_of(bus), channel, payload);
  sl_bus_op_finish_later(op);
}

/* Keys expire lazily (a lookup ignores an expired key) and one sweep timer per hub frees them:
 * a timer per key would make every main-loop iteration walk all the keys a busy node has
 * dispatched in the last minute. */
static gboolean kv_sweep(gpointer data)
{
  SlLocalHub *hub = data;
  GHashTableIter it;
  gpointer v;
  gint64 now = g_get_monotonic_time();
  g_hash_table_iter_init(&it, hub->kv);
  while (g_hash_table_iter_next(&it, NULL, &v))
    if (((LocalKv *)v)->expires_us <= now)
      g_hash_table_iter_remove(&it);
  if (g_hash_table_size(hub->kv) == 0) {
    hub->kv_sweep_id = 0;
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

static void local_set_nx(SlBus *bus, const char *key, const char *value, guint ttl_ms, SlBusOp *op)
{
  SlLocalHub *hub = hub_of(bus);
  LocalKv *kv = g_hash_table_lookup(hub->kv, key);
  gint64 now = g_get_monotonic_time();

  if (kv != NULL && kv->expires_us <= now) {
    g_hash_table_remove(hub->kv, key);
    kv = NULL;
  }
  if (kv != NULL) {
    op->num = 0;
    op->value = g_strdup(kv->value);
  } else {
    kv = g_new0(LocalKv, 1);
    kv->hub = hub;
    kv->key = g_strdup(key);
    kv->value = g_strdup(value);
    kv->expires_us = now + (gint64)ttl_ms * 1000;
    g_hash_table_insert(hub->kv, kv->key, kv);
    if (hub->kv_sweep_id == 0)
      hub->kv_sweep_id = g_timeout_add_seconds(1, kv_sweep, hub);
    op->num = 1;
  }
  sl_bus_op_finish_later(op);
}

/* ---- Reaping -------------------------------------------------------------------------------- */

static gboolean lock_expired(gpointer data)
{
  LocalWorker *w = data;
  w->lock_id = 0;
  g_clear_pointer(&w->reaper, g_free);
  /* As with Redis: the lapsed lock is announced, so a survivor takes over from a reaper that
   * died half-way. */
  announce_expired(w->hub, w->id);
  return G_SOURCE_REMOVE;
}

static void local_reap_begin(SlBus *bus, const char *worker_id, guint lock_ms, SlBusOp *op)
{
  SlLocalHub *hub = hub_of(bus);
  LocalWorker *w = g_hash_table_lookup(hub->workers, worker_id);

  op->num = 0;
  if (w != NULL && !w->alive && w->reaper == NULL) {
    GHashTableIter it;
    gpointer key, value;

    w->reaper = g_strdup(bus->worker_id);
    w->lock_id = g_timeout_add_full(G_PRIORITY_DEFAULT, lock_ms, lock_expired, w, NULL);
    op->num = 1;
    op->items = g_ptr_array_new_with_free_func(sl_bus_claim_free);
    g_hash_table_iter_init(&it, hub->owners);
    while (g_hash_table_iter_next(&it, &key, &value)) {
      LocalOwner *o = value;
      const char *name = key;
      if (strcmp(o->worker, worker_id) == 0)
        g_ptr_array_add(
            op->items,
            sl_bus_claim_new(strncmp(name, "egress:", 7) == 0 ? SL_BUS_EGRESS : SL_BUS_INGRESS,
                             strchr(name, ':') + 1, o->session));
    }
  }
  sl_bus_op_finish_later(op);
}

static void local_reap_end(SlBus *bus, const char *worker_id, SlBusOp *op)
{
  SlLocalHub *hub = hub_of(bus);
  LocalWorker *w = g_hash_table_lookup(hub->workers, worker_id);

  if (w != NULL && g_strcmp0(w->reaper, bus->worker_id) == 0) {
    drop_claims(hub, worker_id, NULL);
    if (!w->alive) {
      g_autofree char *topic = g_strconcat("worker/", worker_id, NULL);
      g_hash_table_remove(hub->workers, worker_id);
      publish_event(bus, topic, "null");
    } else {
      g_clear_handle_id(&w->lock_id, g_source_remove);
      g_clear_pointer(&w->reaper, g_free);
    }
  }
  sl_bus_op_finish_later(op);
}

static void local_dead_workers(SlBus *bus, SlBusOp *op)
{
  GHashTableIter it;
  gpointer value;

  op->items = g_ptr_array_new_with_free_func(sl_bus_item_free);
  g_hash_table_iter_init(&it, hub_of(bus)->workers);
  while (g_hash_table_iter_next(&it, NULL, &value)) {
    LocalWorker *w = value;
    if (!w->alive && w->reaper == NULL)
      g_ptr_array_add(op->items, sl_bus_item_new(w->id, NULL));
  }
  sl_bus_op_finish_later(op);
}

/* ---- Lifetime ------------------------------------------------------------------------------- */

static gboolean local_is_connected(SlBus *bus)
{
  return TRUE;
}

/* Leaves the hub as a crashed process would leave a cluster: its registration and claims stay
 * until its heartbeat expires and a survivor reaps them. */
static void local_destroy(SlBus *bus)
{
  LocalBus *lb = bus->impl;
  SlLocalHub *hub = lb->hub;

  g_clear_handle_id(&lb->up_id, g_source_remove);
  hub->buses = g_list_remove(hub->buses, lb);
  for (GList *l = hub->deliveries.head, *next; l != NULL; l = next) {
    Delivery *d = l->data;
    next = l->next;
    if (d->to == lb) {
      g_queue_delete_link(&hub->deliveries, l);
      delivery_free(d);
    }
  }
  g_free(lb);
  hub_unref(hub);
}

static const SlBusBackend local_backend = {
    .name = "local",
    .put = local_put,
    .get = local_get,
    .get_by_stream_key = local_get_by_stream_key,
    .list = local_list,
    .remove = local_remove,
    .claim = local_claim,
    .release = local_release,
    .owner = local_owner,
    .register_worker = local_register,
    .heartbeat = local_heartbeat,
    .unregister_worker = local_unregister,
    .list_workers = local_list_workers,
    .publish = local_publish,
    .set_nx = local_set_nx,
    .reap_begin = local_reap_begin,
    .reap_end = local_reap_end,
    .dead_workers = local_dead_workers,
    .is_connected = local_is_connected,
    .destroy = local_destroy,
};

/* A local bus is connected from the start; it says so from the main loop, like the other
 * backend, so the common code takes its look for dead workers. */
static gboolean local_up(gpointer data)
{
  LocalBus *lb = data;
  lb->up_id = 0;
  sl_bus_backend_up(lb->bus);
  return G_SOURCE_REMOVE;
}

static SlBus *local_new(SlLocalHub *hub, const char *worker_id)
{
  SlBus *bus = g_new0(SlBus, 1);
  LocalBus *lb = g_new0(LocalBus, 1);

  sl_bus_init(bus, &local_backend, worker_id, NULL);
  lb->hub = hub;
  lb->bus = bus;
  bus->impl = lb;
  hub->buses = g_list_append(hub->buses, lb);
  lb->up_id = g_idle_add_full(G_PRIORITY_DEFAULT, local_up, lb, NULL);
  return bus;
}

SlBus *sl_bus_new_local(const char *worker_id)
{
  g_return_val_if_fail(worker_id != NULL && *worker_id != '\0', NULL);
  return local_new(hub_new(), worker_id);
}

SlBus *sl_bus_new_local_peer(SlBus *peer, const char *worker_id)
{
  SlLocalHub *hub;

  g_return_val_if_fail(peer != NULL && peer->backend == &local_backend, NULL);
  g_return_val_if_fail(worker_id != NULL && *worker_id != '\0', NULL);
  hub = hub_of(peer);
  hub->refs++;
  return local_new(hub, worker_id);
}
