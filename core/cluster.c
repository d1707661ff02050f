/* The cluster over the job bus. See cluster.h. */
#include "cluster.h"

#include "log.h"
#include "pbjson.h"
#include "redis-tls.h"

#include <string.h>

/* How long a request to another worker may take before the caller is told so. */
#define REQUEST_TIMEOUT_MS 10000

struct _SlCluster {
  SlClusterEnv env;
  SlBus *bus;
  GHashTable *claimed_ingress; /* ingress id → session id this worker claimed */
  GHashTable *claimed_egress;  /* egress ids this worker claimed */
  GHashTable *authored;        /* ingress ids created through this worker's API */
  GHashTable *remote_egress;   /* egress id → JsonObject* info, egresses run elsewhere */
  char *info;                  /* registration info (JSON text) */
  gboolean started;
};

static JsonObject *parse_object(const char *text)
{
  g_autoptr(JsonParser) p = json_parser_new();
  JsonNode *root;
  if (text == NULL || !json_parser_load_from_data(p, text, -1, NULL))
    return NULL;
  root = json_parser_get_root(p);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root))
    return NULL;
  return json_object_ref(json_node_get_object(root));
}

static char *to_text(JsonObject *o)
{
  g_autoptr(JsonNode) n = json_node_new(JSON_NODE_OBJECT);
  json_node_set_object(n, o);
  return json_to_string(n, FALSE);
}

static gboolean ingress_live(SlIngress *ing)
{
  return ing->status == SL_INGRESS_BUFFERING || ing->status == SL_INGRESS_PUBLISHING;
}

/* The ingress's session runs in a handler of this worker. */
static gboolean live_here(SlCluster *cl, SlIngress *ing)
{
  return ing->owner != NULL && strcmp(ing->owner, cl->env.node_id) == 0 &&
         ing->resource_id != NULL && sl_sessions_get(cl->env.sessions, ing->resource_id) != NULL;
}

static gboolean egress_final(JsonObject *info)
{
  return json_object_get_int_member_with_default(info, "status", 0) >= SL_EGRESS_COMPLETE;
}

static gint64 now_ns(void)
{
  return g_get_real_time() * 1000;
}

/* ---- putting records ---------------------------------------------------------------------- */

static void on_put(SlBus *bus, const GError *error, gpointer user_data)
{
  g_autofree char *what = user_data;
  if (error == NULL)
    return;
  if (g_error_matches(error, SL_BUS_ERROR, SL_BUS_ERROR_UNAVAILABLE))
    sl_warn("cluster", "%s not shared: %s; it is put again when the bus is back", what,
            error->message);
  else
    sl_error("cluster", "%s not shared: %s", what, error->message);
}

static void put_ingress(SlCluster *cl, SlIngress *ing)
{
  g_autoptr(JsonObject) rec = sl_ingress_to_record(ing);
  g_autofree char *text = NULL;
  SlBusRecord r = {0};
  if (!ingress_live(ing)) {
    json_object_remove_member(rec, "owner");
    json_object_remove_member(rec, "resource_id");
  }
  json_object_set_string_member(rec, "writer", cl->env.node_id);
  if (g_hash_table_contains(cl->authored, ing->id))
    json_object_set_string_member(rec, "created_by", cl->env.node_id);
  text = to_text(rec);
  r.id = ing->id;
  r.json = text;
  r.room = ing->room_name;
  r.stream_key = ing->stream_key;
  sl_bus_put(cl->bus, SL_BUS_INGRESS, &r, on_put, g_strdup_printf("ingress %s", ing->id));
}

static void put_egress(SlCluster *cl, JsonObject *info)
{
  g_autoptr(JsonObject) rec = sl_json_object_copy(info);
  g_autofree char *text = NULL;
  const char *id = json_object_get_string_member_with_default(info, "egress_id", "");
  SlBusRecord r = {0};
  json_object_set_string_member(rec, "writer", cl->env.node_id);
  text = to_text(rec);
  r.id = id;
  r.json = text;
  r.room = json_object_get_string_member_with_default(info, "room_name", "");
  r.active = !egress_final(info);
  sl_bus_put(cl->bus, SL_BUS_EGRESS, &r, on_put, g_strdup_printf("egress %s", id));
}

/* ---- ownership ----------------------------------------------------------------------------- */

typedef struct {
  SlCluster *cl;
  char *id;
  char *session_id;
} ClaimCtx;

static void claim_ctx_free(ClaimCtx *c)
{
  g_free(c->id);
  g_free(c->session_id);
  g_free(c);
}

static void on_ingress_claimed(SlBus *bus, const GError *error, gpointer user_data)
{
  ClaimCtx *c = user_data;
  if (error != NULL && g_error_matches(error, SL_BUS_ERROR, SL_BUS_ERROR_ALREADY_EXISTS)) {
    /* Another worker took a publisher of this ingress at the same moment and claimed it first. */
    SluiceSession *s = sl_sessions_get(c->cl->env.sessions, c->session_id);
    g_autofree char *why =
        g_strdup_printf("ingress %s is already live on another worker (%s)", c->id, error->message);
    sl_warn("cluster", "%s; ending session %s", why, c->session_id);
    g_hash_table_remove(c->cl->claimed_ingress, c->id);
    if (s != NULL)
      sl_session_stop(s, why);
  } else if (error != NULL) {
    sl_warn("cluster", "ingress %s: claim not recorded (%s); it is made again when the bus is back",
            c->id, error->message);
  }
  claim_ctx_free(c);
}

static void on_released(SlBus *bus, const GError *error, gpointer user_data)
{
  g_autofree char *what = user_data;
  if (error != NULL && !g_error_matches(error, SL_BUS_ERROR, SL_BUS_ERROR_NOT_FOUND))
    sl_debug("cluster", "%s: release: %s", what, error->message);
}

static void ingress_changed(SlCluster *cl, SlIngress *ing)
{
  const char *claimed = g_hash_table_lookup(cl->claimed_ingress, ing->id);
  gboolean had_claim = claimed != NULL;
  if (ingress_live(ing) && live_here(cl, ing)) {
    if (g_strcmp0(claimed, ing->resource_id) != 0) {
      ClaimCtx *c = g_new0(ClaimCtx, 1);
      c->cl = cl;
      c->id = g_strdup(ing->id);
      c->session_id = g_strdup(ing->resource_id);
      g_hash_table_replace(cl->claimed_ingress, g_strdup(ing->id), g_strdup(ing->resource_id));
      sl_bus_claim(cl->bus, SL_BUS_INGRESS, ing->id, ing->resource_id, on_ingress_claimed, c);
    }
  }
  put_ingress(cl, ing);
  if (!ingress_live(ing) && had_claim) {
    g_hash_table_remove(cl->claimed_ingress, ing->id);
    sl_bus_release(cl->bus, SL_BUS_INGRESS, ing->id, on_released,
                   g_strdup_printf("ingress %s", ing->id));
  }
}

static void ingress_created(SlCluster *cl, SlIngress *ing)
{
  g_hash_table_add(cl->authored, g_strdup(ing->id));
  put_ingress(cl, ing);
}

static void ingress_deleted(SlCluster *cl, SlIngress *ing)
{
  g_hash_table_remove(cl->authored, ing->id);
  sl_bus_delete(cl->bus, SL_BUS_INGRESS, ing->id, on_put,
                g_strdup_printf("deletion of ingress %s", ing->id));
}

static void egress_changed(SlCluster *cl, JsonObject *info)
{
  const char *id = json_object_get_string_member_with_default(info, "egress_id", "");
  gboolean final = egress_final(info);
  if (!final && !g_hash_table_contains(cl->claimed_egress, id)) {
    g_hash_table_add(cl->claimed_egress, g_strdup(id));
    sl_bus_claim(cl->bus, SL_BUS_EGRESS, id,
                 json_object_get_string_member_with_default(info, "room_name", ""), on_put,
                 g_strdup_printf("claim of egress %s", id));
  }
  put_egress(cl, info);
  if (final && g_hash_table_remove(cl->claimed_egress, id))
    sl_bus_release(cl->bus, SL_BUS_EGRESS, id, on_released, g_strdup_printf("egress %s", id));
}

/* ---- records written elsewhere ------------------------------------------------------------- */

static gboolean written_here(SlCluster *cl, JsonObject *rec)
{
  return g_strcmp0(json_object_get_string_member_with_default(rec, "writer", NULL),
                   cl->env.node_id) == 0;
}

/* Takes an ingress record into the local store. */
static void apply_ingress(SlCluster *cl, JsonObject *rec)
{
  const char *id = json_object_get_string_member_with_default(rec, "ingress_id", "");
  SlIngress *ing = sl_ingress_store_by_id(cl->env.ingresses, id);
  if (ing != NULL) {
    sl_ingress_apply_record(cl->env.ingresses, ing, rec, !live_here(cl, ing));
    return;
  }
  ing = sl_ingress_from_record(rec);
  if (ing == NULL)
    return;
  {
    g_autoptr(GError) err = NULL;
    g_autofree char *name = g_strdup(ing->id);
    if (!sl_ingress_store_add(cl->env.ingresses, ing, &err)) /* frees ing on failure */
      sl_warn("cluster", "ingress %s from the cluster not taken: %s", name, err->message);
  }
}

static void drop_ingress(SlCluster *cl, const char *id)
{
  SlIngress *ing = sl_ingress_store_by_id(cl->env.ingresses, id);
  if (ing == NULL)
    return;
  if (live_here(cl, ing))
    sl_session_stop(sl_sessions_get(cl->env.sessions, ing->resource_id), "the ingress was deleted");
  g_hash_table_remove(cl->authored, id);
  sl_ingress_store_remove(cl->env.ingresses, ing);
}

static void on_record_event(SlBus *bus, const char *topic, const char *json, gpointer user_data)
{
  SlCluster *cl = user_data;
  gboolean is_ingress = g_str_has_prefix(topic, "ingress/");
  const char *id = strchr(topic, '/') + 1;
  g_autoptr(JsonObject) rec = NULL;

  if (g_strcmp0(json, "null") == 0) {
    if (is_ingress)
      drop_ingress(cl, id);
    else
      g_hash_table_remove(cl->remote_egress, id);
    return;
  }
  rec = parse_object(json);
  if (rec == NULL || written_here(cl, rec))
    return;
  if (is_ingress) {
    apply_ingress(cl, rec);
  } else {
    /* An egress another worker reports on (or a reaper's final word on one of ours, after a
     * lost heartbeat: then it is no longer ours to report). */
    json_object_remove_member(rec, "writer");
    g_hash_table_replace(cl->remote_egress, g_strdup(id), json_object_ref(rec));
  }
}

/* ---- joining and resync -------------------------------------------------------------------- */

static void on_ingress_list(SlBus *bus, GPtrArray *items, const GError *error, gpointer user_data)
{
  SlCluster *cl = user_data;
  g_autoptr(GHashTable) stored = g_hash_table_new(g_str_hash, g_str_equal);
  GPtrArray *all;
  if (error != NULL) {
    sl_warn("cluster", "could not read the ingresses from the bus: %s", error->message);
    return;
  }
  for (guint i = 0; i < items->len; i++) {
    SlBusItem *it = g_ptr_array_index(items, i);
    g_autoptr(JsonObject) rec = parse_object(it->json);
    g_hash_table_add(stored, it->id);
    if (rec == NULL)
      continue;
    if (written_here(cl, rec) && sl_ingress_store_by_id(cl->env.ingresses, it->id) != NULL)
      continue; /* ours, and what we hold is at least as new */
    {
      SlIngress *ing = sl_ingress_store_by_id(cl->env.ingresses, it->id);
      if (ing != NULL && ing->from_config && ing->key_generated &&
          g_strcmp0(ing->stream_key,
                    json_object_get_string_member_with_default(rec, "stream_key", "")) != 0)
        sl_info("cluster", "ingress '%s' (%s) takes the stream key the cluster already has",
                ing->name, ing->id);
    }
    apply_ingress(cl, rec);
  }
  /* What the store does not have and this worker is the source of: put it. After a Redis restart
   * that lost the data, this is how it comes back. */
  all = sl_ingress_store_list(cl->env.ingresses);
  for (guint i = 0; i < all->len; i++) {
    SlIngress *ing = g_ptr_array_index(all, i);
    if (live_here(cl, ing) || (!g_hash_table_contains(stored, ing->id) &&
                               (ing->from_config || g_hash_table_contains(cl->authored, ing->id))))
      put_ingress(cl, ing);
  }
}

static void on_egress_list(SlBus *bus, GPtrArray *items, const GError *error, gpointer user_data)
{
  SlCluster *cl = user_data;
  if (error != NULL) {
    sl_warn("cluster", "could not read the egresses from the bus: %s", error->message);
    return;
  }
  for (guint i = 0; i < items->len; i++) {
    SlBusItem *it = g_ptr_array_index(items, i);
    JsonObject *rec = parse_object(it->json);
    if (rec == NULL)
      continue;
    if (written_here(cl, rec) || sl_egresses_get(cl->env.egresses, it->id) != NULL) {
      json_object_unref(rec);
      continue;
    }
    json_object_remove_member(rec, "writer");
    g_hash_table_replace(cl->remote_egress, g_strdup(it->id), rec);
  }
}

static void sync_all(SlCluster *cl)
{
  g_autoptr(JsonArray) mine = sl_egresses_list(cl->env.egresses, NULL, NULL, FALSE);
  sl_bus_list(cl->bus, SL_BUS_INGRESS, NULL, FALSE, on_ingress_list, cl);
  sl_bus_list(cl->bus, SL_BUS_EGRESS, NULL, FALSE, on_egress_list, cl);
  for (guint i = 0; i < json_array_get_length(mine); i++)
    put_egress(cl, json_array_get_object_element(mine, i));
}

static void on_resync(SlBus *bus, gpointer user_data)
{
  SlCluster *cl = user_data;
  sl_info("cluster", "bus %s back: sharing this worker's ingresses and egresses again",
          sl_bus_backend_name(bus));
  sync_all(cl);
}

/* ---- reaping ------------------------------------------------------------------------------- */

typedef struct {
  SlCluster *cl;
  char *worker;
} ReapCtx;

static void reap_egress(SlBus *bus, const char *json, const GError *error, gpointer user_data)
{
  ReapCtx *r = user_data;
  g_autoptr(JsonObject) info = error == NULL ? parse_object(json) : NULL;
  if (info != NULL && !egress_final(info)) {
    g_autofree char *why = g_strdup_printf(
        "worker %s running this egress stopped responding (its heartbeat expired); the "
        "recording up to then stays where it was written",
        r->worker);
    const char *id = json_object_get_string_member_with_default(info, "egress_id", "");
    json_object_remove_member(info, "writer");
    json_object_set_int_member(info, "status", SL_EGRESS_FAILED);
    json_object_set_string_member(info, "error", why);
    json_object_set_int_member(info, "error_code", 500);
    json_object_set_int_member(info, "ended_at", now_ns());
    json_object_set_int_member(info, "updated_at", now_ns());
    sl_warn("cluster", "egress %s: EGRESS_FAILED: %s", id, why);
    g_hash_table_replace(r->cl->remote_egress, g_strdup(id), json_object_ref(info));
    put_egress(r->cl, info);
    if (r->cl->env.on_reaped_egress)
      r->cl->env.on_reaped_egress(info, r->cl->env.user_data);
  }
  g_free(r->worker);
  g_free(r);
}

static void on_worker_dead(SlBus *bus, const char *worker, GPtrArray *claims, gpointer user_data)
{
  SlCluster *cl = user_data;
  sl_warn("cluster", "worker %s stopped responding; ending its %u session%s and egress%s", worker,
          claims->len, claims->len == 1 ? "" : "s", claims->len == 1 ? "" : "es");
  for (guint i = 0; i < claims->len; i++) {
    SlBusClaim *c = g_ptr_array_index(claims, i);
    if (c->kind == SL_BUS_INGRESS) {
      SlIngress *ing = sl_ingress_store_by_id(cl->env.ingresses, c->id);
      g_autofree char *why = g_strdup_printf(
          "worker %s running this session stopped responding (its heartbeat expired)", worker);
      if (ing == NULL || !ingress_live(ing) || g_strcmp0(ing->owner, worker) != 0)
        continue;
      g_clear_pointer(&ing->error, g_free);
      sl_ingress_set_status(ing, SL_INGRESS_ERROR, why);
      g_clear_pointer(&ing->owner, g_free);
      sl_warn("cluster", "ingress %s: ENDPOINT_ERROR: %s", ing->id, why);
      put_ingress(cl, ing);
      if (cl->env.on_reaped_ingress)
        cl->env.on_reaped_ingress(ing, cl->env.user_data);
      g_clear_pointer(&ing->resource_id, g_free);
    } else {
      ReapCtx *r = g_new0(ReapCtx, 1);
      r->cl = cl;
      r->worker = g_strdup(worker);
      sl_bus_get(bus, SL_BUS_EGRESS, c->id, reap_egress, r);
    }
  }
}

/* ---- control ------------------------------------------------------------------------------- */

static void reply_egress(SlBusResponder *responder, JsonObject *info, const GError *err)
{
  g_autoptr(JsonObject) reply = json_object_new();
  g_autofree char *text = NULL;
  if (info != NULL) {
    json_object_set_object_member(reply, "info", json_object_ref(info));
  } else {
    json_object_set_int_member(
        reply, "error_code", err->domain == SL_EGRESS_ERROR ? err->code : SL_EGRESS_ERROR_INTERNAL);
    json_object_set_string_member(reply, "error", err->message);
  }
  text = to_text(reply);
  sl_bus_respond(responder, text, NULL);
}

static void on_control(SlBus *bus, const char *message, SlBusResponder *responder,
                       gpointer user_data)
{
  SlCluster *cl = user_data;
  g_autoptr(JsonObject) msg = parse_object(message);
  g_autoptr(GError) err = NULL;
  const char *op = msg ? json_object_get_string_member_with_default(msg, "op", "") : "";

  if (strcmp(op, "start_egress") == 0 && json_object_has_member(msg, "request")) {
    g_autoptr(JsonObject) info = sl_egresses_start(
        cl->env.egresses, json_object_get_string_member_with_default(msg, "kind", ""),
        json_object_get_object_member(msg, "request"), &err);
    reply_egress(responder, info, err);
  } else if (strcmp(op, "stop_egress") == 0) {
    g_autoptr(JsonObject) info = sl_egresses_stop(
        cl->env.egresses, json_object_get_string_member_with_default(msg, "egress_id", ""), &err);
    reply_egress(responder, info, err);
  } else if (strcmp(op, "stop_ingress") == 0) {
    SlIngress *ing = sl_ingress_store_by_id(
        cl->env.ingresses, json_object_get_string_member_with_default(msg, "ingress_id", ""));
    if (ing != NULL && live_here(cl, ing))
      sl_session_stop(sl_sessions_get(cl->env.sessions, ing->resource_id),
                      json_object_get_string_member_with_default(msg, "reason", "stopped"));
    sl_bus_respond(responder, "{}", NULL);
  } else {
    g_autoptr(GError) bad =
        g_error_new(SL_BUS_ERROR, SL_BUS_ERROR_INVALID, "unknown cluster request '%s'", op);
    sl_bus_respond(responder, NULL, bad);
  }
}

typedef struct {
  SlClusterReplyFunc func;
  gpointer user_data;
} RequestCtx;

static void on_request_answer(SlBus *bus, const char *json, const GError *error, gpointer user_data)
{
  RequestCtx *r = user_data;
  g_autoptr(JsonObject) reply = error == NULL ? parse_object(json) : NULL;
  if (error == NULL && reply == NULL) {
    g_autoptr(GError) bad = g_error_new(SL_BUS_ERROR, SL_BUS_ERROR_INTERNAL,
                                        "the owning worker's answer was not a JSON object");
    r->func(NULL, bad, r->user_data);
  } else {
    r->func(reply, error, r->user_data);
  }
  g_free(r);
}

void sl_cluster_request(SlCluster *cl, const char *worker, JsonObject *request,
                        SlClusterReplyFunc func, gpointer user_data)
{
  RequestCtx *r = g_new0(RequestCtx, 1);
  g_autofree char *text = to_text(request);
  r->func = func;
  r->user_data = user_data;
  sl_bus_control(cl->bus, worker, text, REQUEST_TIMEOUT_MS, on_request_answer, r);
}

void sl_cluster_request_egress_owner(SlCluster *cl, const char *egress_id, JsonObject *request,
                                     SlClusterReplyFunc func, gpointer user_data)
{
  RequestCtx *r = g_new0(RequestCtx, 1);
  g_autofree char *text = to_text(request);
  r->func = func;
  r->user_data = user_data;
  sl_bus_control_owner(cl->bus, SL_BUS_EGRESS, egress_id, text, REQUEST_TIMEOUT_MS,
                       on_request_answer, r);
}

/* ---- egress cache -------------------------------------------------------------------------- */

void sl_cluster_remote_egresses(SlCluster *cl, const char *room, const char *egress_id,
                                gboolean active_only, JsonArray *into)
{
  g_autoptr(GList) keys =
      g_list_sort(g_hash_table_get_keys(cl->remote_egress), (GCompareFunc)strcmp);
  for (GList *l = keys; l; l = l->next) {
    JsonObject *info = g_hash_table_lookup(cl->remote_egress, l->data);
    if (room && *room &&
        g_strcmp0(json_object_get_string_member_with_default(info, "room_name", ""), room) != 0)
      continue;
    if (egress_id && *egress_id && g_strcmp0(l->data, egress_id) != 0)
      continue;
    if (active_only && egress_final(info))
      continue;
    if (sl_egresses_get(cl->env.egresses, l->data) != NULL)
      continue;
    json_array_add_object_element(into, sl_json_object_copy(info));
  }
}

JsonObject *sl_cluster_remote_egress(SlCluster *cl, const char *egress_id)
{
  JsonObject *info = egress_id ? g_hash_table_lookup(cl->remote_egress, egress_id) : NULL;
  return info ? sl_json_object_copy(info) : NULL;
}

/* ---- life cycle ---------------------------------------------------------------------------- */

/* "FILE:LINE: KEY: " before a Redis set-up error: a TLS file's key, or the address. */
static void prefix_redis_error(SlConfig *cfg, GError **error)
{
  const char *tls_key = sl_redis_tls_error_key(*error);

  if (tls_key != NULL) {
    /* The code names a key that was written (a file, or the half of a pair that was). */
    g_autofree char *path = g_strconcat("redis.tls.", tls_key, NULL);
    g_prefix_error(error, "%s:%u: %s: ", sl_config_source(cfg), sl_config_line(cfg, path), path);
    return;
  }
  if (g_error_matches(*error, SL_REDIS_TLS_ERROR, SL_REDIS_TLS_ERROR_UNSUPPORTED)) {
    const char *key =
        sl_config_get_bool(cfg, "redis.tls.enabled") ? "redis.tls.enabled" : "redis.use_tls";
    g_prefix_error(error, "%s:%u: %s: ", sl_config_source(cfg), sl_config_line(cfg, key), key);
    return;
  }
  g_prefix_error(error, "%s:%u: redis: ", sl_config_source(cfg),
                 sl_config_line(cfg, "redis.address"));
}

/* LiveKit reads redis.tls only when enabled is true; settings written beside enabled: false are
 * probably a mistake worth a line. */
static void warn_tls_ignored(SlConfig *cfg, const SlRedisConfig *rc)
{
  static const char *const keys[] = {"redis.tls.insecure",        "redis.tls.server_name",
                                     "redis.tls.ca_cert_file",    "redis.tls.client_cert_file",
                                     "redis.tls.client_key_file", NULL};
  if (rc->tls.enabled)
    return;
  for (const char *const *k = keys; *k != NULL; k++) {
    if (sl_config_line(cfg, *k) > 0) {
      sl_warn("cluster", "%s:%u: %s: ignored, redis.tls.enabled is not true%s",
              sl_config_source(cfg), sl_config_line(cfg, *k), *k,
              rc->use_tls ? " (use_tls applies: the system roots and the address's host)" : "");
      return;
    }
  }
}

SlCluster *sl_cluster_new(const SlClusterEnv *env, GError **error)
{
  g_autoptr(SlCluster) cl = g_new0(SlCluster, 1);
  SlConfig *cfg = env->config;
  cl->env = *env;
  if (sl_config_get_string(cfg, "redis.address") != NULL) {
    SlRedisConfig rc = {
        .address = sl_config_get_string(cfg, "redis.address"),
        .username = sl_config_get_string(cfg, "redis.username"),
        .password = sl_config_get_string(cfg, "redis.password"),
        .db = (int)sl_config_get_int(cfg, "redis.db"),
        .use_tls = sl_config_get_bool(cfg, "redis.use_tls"),
        .tls =
            {
                .enabled = sl_config_get_bool(cfg, "redis.tls.enabled"),
                .insecure = sl_config_get_bool(cfg, "redis.tls.insecure"),
                .server_name = sl_config_get_string(cfg, "redis.tls.server_name"),
                .ca_cert_file = sl_config_get_string(cfg, "redis.tls.ca_cert_file"),
                .client_cert_file = sl_config_get_string(cfg, "redis.tls.client_cert_file"),
                .client_key_file = sl_config_get_string(cfg, "redis.tls.client_key_file"),
            },
        .cluster_id = sl_config_get_string(cfg, "cluster_id"),
    };
    warn_tls_ignored(cfg, &rc);
    cl->bus = sl_bus_new_redis(&rc, env->node_id, error);
    if (cl->bus == NULL) {
      prefix_redis_error(cfg, error);
      return NULL;
    }
  } else {
    cl->bus = sl_bus_new_local(env->node_id);
  }
  cl->claimed_ingress = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  cl->claimed_egress = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  cl->authored = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  cl->remote_egress =
      g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)json_object_unref);
  return g_steal_pointer(&cl);
}

void sl_cluster_free(SlCluster *cl)
{
  if (cl == NULL)
    return;
  g_clear_pointer(&cl->bus, sl_bus_free);
  g_clear_pointer(&cl->claimed_ingress, g_hash_table_unref);
  g_clear_pointer(&cl->claimed_egress, g_hash_table_unref);
  g_clear_pointer(&cl->authored, g_hash_table_unref);
  g_clear_pointer(&cl->remote_egress, g_hash_table_unref);
  g_free(cl->info);
  g_free(cl);
}

SlBus *sl_cluster_bus(SlCluster *cl)
{
  return cl->bus;
}

const char *sl_cluster_backend(SlCluster *cl)
{
  return sl_bus_backend_name(cl->bus);
}

static void on_registered(SlBus *bus, const GError *error, gpointer user_data)
{
  if (error != NULL)
    sl_warn("cluster", "worker not registered yet: %s; retried when the bus is back",
            error->message);
  else
    sl_info("cluster", "worker %s joined the %s bus", sl_bus_worker_id(bus),
            sl_bus_backend_name(bus));
}

void sl_cluster_start(SlCluster *cl, JsonObject *info)
{
  SlBusHandlers h = {
      .on_control = on_control,
      .on_worker_dead = on_worker_dead,
      .on_resync = on_resync,
  };
  g_free(cl->info);
  cl->info = to_text(info);
  sl_bus_set_handlers(cl->bus, &h, cl);
  sl_bus_subscribe(cl->bus, "ingress/*", on_record_event, cl, NULL);
  sl_bus_subscribe(cl->bus, "egress/*", on_record_event, cl, NULL);
  sl_bus_register(cl->bus, cl->info, on_registered, NULL);
  sync_all(cl);
  cl->started = TRUE;
}

static void on_left(SlBus *bus, const GError *error, gpointer user_data)
{
  gboolean *done = user_data;
  *done = TRUE;
}

static gboolean on_leave_timeout(gpointer user_data)
{
  gboolean *timed_out = user_data;
  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

void sl_cluster_leave(SlCluster *cl)
{
  gboolean done = FALSE, timed_out = FALSE;
  guint timer;
  if (!cl->started || !sl_bus_is_connected(cl->bus))
    return;
  /* A clean exit: the claims go with the registration, so nothing is reaped as failed. Waits up
   * to a second for Redis to confirm; the heartbeat would expire anyway. */
  sl_bus_unregister(cl->bus, on_left, &done);
  timer = g_timeout_add(1000, on_leave_timeout, &timed_out);
  while (!done && !timed_out)
    g_main_context_iteration(NULL, TRUE);
  if (!timed_out)
    g_source_remove(timer);
  else
    sl_bus_free(g_steal_pointer(&cl->bus)); /* drops the pending callback that points at `done` */
}

void sl_cluster_ingress_changed(SlCluster *cl, SlIngress *ing)
{
  if (cl->bus != NULL) /* NULL once the worker has left */
    ingress_changed(cl, ing);
}

void sl_cluster_ingress_created(SlCluster *cl, SlIngress *ing)
{
  if (cl->bus != NULL) /* NULL once the worker has left */
    ingress_created(cl, ing);
}

void sl_cluster_ingress_deleted(SlCluster *cl, SlIngress *ing)
{
  if (cl->bus != NULL) /* NULL once the worker has left */
    ingress_deleted(cl, ing);
}

void sl_cluster_egress_changed(SlCluster *cl, JsonObject *info)
{
  if (cl->bus != NULL) /* NULL once the worker has left */
    egress_changed(cl, info);
}
