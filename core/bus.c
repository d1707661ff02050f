/* The job bus: what both backends share. See bus.h.
 *
 * The backends know how to store and how to move a message from one bus to the others; the
 * protocol built on that lives here, once: offers, bids and the claim that picks one runner,
 * control requests and their answers, events and waits, heartbeats, resync after a reconnect,
 * and reaping dead workers. A local cluster and a Redis cluster therefore behave alike, and the
 * same tests hold both to it.
 *
 * A user callback may free the bus. Every entry point from the main loop (an op completing, a
 * message arriving, a timer) brackets its work with bus_enter/bus_leave: sl_bus_free tears the
 * bus down at once but leaves the small common struct for the frames still on the stack, which
 * check `freed` after each callback and stop.
 */
#define SL_BUS_INTERNAL
#include "bus.h"
#include "log.h"

#include <json-glib/json-glib.h>
#include <stdarg.h>
#include <string.h>

#define LOG "bus"

GQuark sl_bus_error_quark(void)
{
  return g_quark_from_static_string("sl-bus-error");
}

const char *sl_bus_kind_name(SlBusKind kind)
{
  return kind == SL_BUS_EGRESS ? "egress" : "ingress";
}

/* ---- Names ---------------------------------------------------------------------------------- */

char *sl_bus_key_prefix(const char *cluster_id)
{
  if (cluster_id == NULL || *cluster_id == '\0')
    return g_strdup("sluice:");
  return g_strdup_printf("sluice:%s:", cluster_id);
}

char *sl_bus_key(const char *prefix, const char *first, ...)
{
  GString *s = g_string_new(prefix);
  va_list ap;
  const char *part = first;
  gboolean sep = FALSE;

  va_start(ap, first);
  while (part != NULL) {
    if (sep)
      g_string_append_c(s, ':');
    g_string_append(s, part);
    sep = TRUE;
    part = va_arg(ap, const char *);
  }
  va_end(ap);
  return g_string_free(s, FALSE);
}

char *sl_bus_event_channel(const char *prefix, const char *topic)
{
  return g_strconcat(prefix, "ev:", topic, NULL);
}

const char *sl_bus_event_topic(const char *prefix, const char *channel)
{
  size_t n = strlen(prefix);
  if (strncmp(channel, prefix, n) != 0 || strncmp(channel + n, "ev:", 3) != 0)
    return NULL;
  return channel + n + 3;
}

char *sl_bus_expired_key_worker(const char *prefix, const char *key)
{
  static const char *const kinds[] = {"hb:", "reap:"};
  size_t n = strlen(prefix);

  if (strncmp(key, prefix, n) != 0)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS(kinds); i++) {
    size_t k = strlen(kinds[i]);
    if (strncmp(key + n, kinds[i], k) == 0 && key[n + k] != '\0')
      return g_strdup(key + n + k);
  }
  return NULL;
}

char *sl_bus_glob_escape(const char *s)
{
  GString *out = g_string_new(NULL);
  for (; *s; s++) {
    if (strchr("*?[]\\", *s))
      g_string_append_c(out, '\\');
    g_string_append_c(out, *s);
  }
  return g_string_free(out, FALSE);
}

gboolean sl_bus_topic_matches(const char *pattern, const char *topic)
{
  size_t n = strlen(pattern);
  if (n > 0 && pattern[n - 1] == '*')
    return strncmp(pattern, topic, n - 1) == 0;
  return strcmp(pattern, topic) == 0;
}

char *sl_bus_keyspace_flags_merge(const char *current)
{
  const char *cur = current ? current : "";
  gboolean has_e = strchr(cur, 'E') != NULL;
  gboolean has_x = strchr(cur, 'x') != NULL || strchr(cur, 'A') != NULL;

  if (has_e && has_x)
    return NULL;
  return g_strconcat(cur, has_e ? "" : "E", has_x ? "" : "x", NULL);
}

gboolean sl_bus_parse_address(const char *address, char **host, int *port, GError **error)
{
  g_autofree char *h = NULL;
  const char *port_str = NULL;
  guint64 p = 6379;

  if (address == NULL || *address == '\0') {
    g_set_error(error, SL_BUS_ERROR, SL_BUS_ERROR_INVALID, "redis address is empty");
    return FALSE;
  }
  if (address[0] == '[') {
    const char *end = strchr(address, ']');
    if (end == NULL || end == address + 1 || (end[1] != '\0' && end[1] != ':')) {
      g_set_error(error, SL_BUS_ERROR, SL_BUS_ERROR_INVALID,
                  "redis address '%s' is not [ipv6]:port", address);
      return FALSE;
    }
    h = g_strndup(address + 1, (gsize)(end - address - 1));
    if (end[1] == ':')
      port_str = end + 2;
  } else {
    const char *colon = strrchr(address, ':');
    if (colon != NULL && strchr(address, ':') != colon) {
      g_set_error(error, SL_BUS_ERROR, SL_BUS_ERROR_INVALID,
                  "redis address '%s': write an IPv6 address as [addr]:port", address);
      return FALSE;
    }
    h = colon ? g_strndup(address, (gsize)(colon - address)) : g_strdup(address);
    if (colon)
      port_str = colon + 1;
  }
  if (*h == '\0') {
    g_set_error(error, SL_BUS_ERROR, SL_BUS_ERROR_INVALID, "redis address '%s' has no host",
                address);
    return FALSE;
  }
  if (port_str != NULL && (!g_ascii_string_to_unsigned(port_str, 10, 1, 65535, &p, NULL))) {
    g_set_error(error, SL_BUS_ERROR, SL_BUS_ERROR_INVALID,
                "redis address '%s': '%s' is not a port number (1-65535)", address, port_str);
    return FALSE;
  }
  *host = g_steal_pointer(&h);
  *port = (int)p;
  return TRUE;
}

/* ---- Frames --------------------------------------------------------------------------------- */

char *sl_bus_frame_encode(const SlBusFrame *f)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  g_autoptr(JsonGenerator) gen = json_generator_new();
  g_autoptr(JsonNode) root = NULL;
  const struct {
    const char *name;
    const char *value;
  } strs[] = {{"t", f->type}, {"req", f->req},   {"from", f->from},
              {"id", f->id},  {"body", f->body}, {"msg", f->msg}};

  json_builder_begin_object(b);
  for (guint i = 0; i < G_N_ELEMENTS(strs); i++) {
    if (strs[i].value == NULL)
      continue;
    json_builder_set_member_name(b, strs[i].name);
    json_builder_add_string_value(b, strs[i].value);
  }
  if (f->ttl > 0) {
    json_builder_set_member_name(b, "ttl");
    json_builder_add_int_value(b, f->ttl);
  }
  if (f->code != 0) {
    json_builder_set_member_name(b, "code");
    json_builder_add_int_value(b, f->code);
  }
  json_builder_end_object(b);
  root = json_builder_get_root(b);
  json_generator_set_root(gen, root);
  return json_generator_to_data(gen, NULL);
}

static char *member_string(JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member(o, name);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
    return NULL;
  return g_strdup(json_node_get_string(n));
}

static gint64 member_int(JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member(o, name);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64)
    return 0;
  return json_node_get_int(n);
}

gboolean sl_bus_frame_decode(const char *text, SlBusFrame *f, GError **error)
{
  g_autoptr(JsonParser) p = json_parser_new();
  JsonNode *root;
  JsonObject *o;

  memset(f, 0, sizeof *f);
  if (text == NULL || !json_parser_load_from_data(p, text, -1, NULL)) {
    g_set_error(error, SL_BUS_ERROR, SL_BUS_ERROR_INVALID, "frame is not JSON");
    return FALSE;
  }
  root = json_parser_get_root(p);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
    g_set_error(error, SL_BUS_ERROR, SL_BUS_ERROR_INVALID, "frame is not a JSON object");
    return FALSE;
  }
  o = json_node_get_object(root);
  f->type = member_string(o, "t");
  f->req = member_string(o, "req");
  f->from = member_string(o, "from");
  f->id = member_string(o, "id");
  f->body = member_string(o, "body");
  f->msg = member_string(o, "msg");
  f->ttl = member_int(o, "ttl");
  f->code = (int)member_int(o, "code");
  if (f->type == NULL || f->req == NULL || f->from == NULL) {
    sl_bus_frame_clear(f);
    g_set_error(error, SL_BUS_ERROR, SL_BUS_ERROR_INVALID, "frame lacks t, req or from");
    return FALSE;
  }
  return TRUE;
}

void sl_bus_frame_clear(SlBusFrame *f)
{
  g_clear_pointer(&f->type, g_free);
  g_clear_pointer(&f->req, g_free);
  g_clear_pointer(&f->from, g_free);
  g_clear_pointer(&f->id, g_free);
  g_clear_pointer(&f->body, g_free);
  g_clear_pointer(&f->msg, g_free);
  f->ttl = 0;
  f->code = 0;
}

gboolean sl_bus_job_parse(const char *job_json, char **id, char **target_worker, GError **error)
{
  g_autoptr(JsonParser) p = json_parser_new();
  JsonNode *root;
  JsonObject *o;
  JsonNode *target;
  g_autofree char *job_id = NULL;

  if (job_json == NULL || !json_parser_load_from_data(p, job_json, -1, NULL) ||
      (root = json_parser_get_root(p)) == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
    g_set_error(error, SL_BUS_ERROR, SL_BUS_ERROR_INVALID, "job is not a JSON object");
    return FALSE;
  }
  o = json_node_get_object(root);
  job_id = member_string(o, "id");
  if (job_id == NULL || *job_id == '\0') {
    g_set_error(error, SL_BUS_ERROR, SL_BUS_ERROR_INVALID, "job has no string \"id\"");
    return FALSE;
  }
  target = json_object_get_member(o, "target_worker");
  if (target != NULL && !JSON_NODE_HOLDS_NULL(target) &&
      (!JSON_NODE_HOLDS_VALUE(target) || json_node_get_value_type(target) != G_TYPE_STRING)) {
    g_set_error(error, SL_BUS_ERROR, SL_BUS_ERROR_INVALID,
                "job's \"target_worker\" is neither a string nor null");
    return FALSE;
  }
  *target_worker = NULL;
  if (target != NULL && JSON_NODE_HOLDS_VALUE(target) && *json_node_get_string(target) != '\0')
    *target_worker = g_strdup(json_node_get_string(target));
  *id = g_steal_pointer(&job_id);
  return TRUE;
}

/* ---- Items ---------------------------------------------------------------------------------- */

SlBusItem *sl_bus_item_new(const char *id, const char *json)
{
  SlBusItem *it = g_new0(SlBusItem, 1);
  it->id = g_strdup(id);
  it->json = g_strdup(json);
  return it;
}

void sl_bus_item_free(gpointer p)
{
  SlBusItem *it = p;
  if (it == NULL)
    return;
  g_free(it->id);
  g_free(it->json);
  g_free(it);
}

SlBusClaim *sl_bus_claim_new(SlBusKind kind, const char *id, const char *session_id)
{
  SlBusClaim *c = g_new0(SlBusClaim, 1);
  c->kind = kind;
  c->id = g_strdup(id);
  c->session_id = g_strdup(session_id ? session_id : "");
  return c;
}

void sl_bus_claim_free(gpointer p)
{
  SlBusClaim *c = p;
  if (c == NULL)
    return;
  g_free(c->id);
  g_free(c->session_id);
  g_free(c);
}

/* "kind:id", the name of a claim in the bus's own table and in the store. */
static char *claim_name(SlBusKind kind, const char *id)
{
  return g_strconcat(sl_bus_kind_name(kind), ":", id, NULL);
}

/* ---- Lifetime of the common struct ---------------------------------------------------------- */

typedef struct {
  guint id;
  char *topic;
  SlBusEventFunc func;
  gpointer user_data;
  GDestroyNotify destroy;
  gboolean removed;
} SlBusSub;

static void sub_free(SlBusSub *s)
{
  if (s->destroy != NULL)
    s->destroy(s->user_data);
  g_free(s->topic);
  g_free(s);
}

static void bus_finalize(SlBus *bus)
{
  g_list_free_full(bus->subs, (GDestroyNotify)sub_free);
  g_hash_table_unref(bus->claims);
  g_hash_table_unref(bus->requests);
  g_hash_table_unref(bus->responders);
  g_hash_table_unref(bus->reaping);
  g_free(bus->worker_info);
  g_free(bus->worker_id);
  g_free(bus->prefix);
  g_free(bus->ch_offers);
  g_free(bus->ch_inbox);
  g_free(bus->ch_event_glob);
  g_free(bus);
}

static void bus_enter(SlBus *bus)
{
  bus->busy++;
}

/* After this the caller must not touch `bus`. */
static void bus_leave(SlBus *bus)
{
  if (--bus->busy == 0 && bus->freed)
    bus_finalize(bus);
}

/* ---- Operations ----------------------------------------------------------------------------- */

SlBusOp *sl_bus_op_new(SlBus *bus, SlBusOpFunc complete, gpointer func, gpointer user_data)
{
  SlBusOp *op = g_new0(SlBusOp, 1);
  op->bus = bus;
  op->complete = complete;
  op->func = func;
  op->user_data = user_data;
  op->link.data = op;
  g_queue_push_tail_link(&bus->ops, &op->link);
  return op;
}

static void op_free(SlBusOp *op)
{
  if (op->data_free != NULL && op->data != NULL)
    op->data_free(op->data);
  g_clear_error(&op->error);
  g_free(op->value);
  g_free(op->value2);
  g_free(op->subject);
  if (op->items != NULL)
    g_ptr_array_unref(op->items);
  g_free(op);
}

void sl_bus_op_finish(SlBusOp *op)
{
  SlBus *bus = op->bus;

  if (op->idle_id != 0) {
    g_source_remove(op->idle_id);
    op->idle_id = 0;
  }
  if (bus != NULL) {
    g_queue_unlink(&bus->ops, &op->link);
    if (op->complete != NULL) {
      bus_enter(bus);
      op->complete(op);
      bus_leave(bus);
    }
  }
  op_free(op);
}

static gboolean op_idle(gpointer data)
{
  SlBusOp *op = data;
  op->idle_id = 0;
  sl_bus_op_finish(op);
  return G_SOURCE_REMOVE;
}

void sl_bus_op_finish_later(SlBusOp *op)
{
  if (op->bus == NULL) {
    op_free(op);
    return;
  }
  if (op->idle_id == 0)
    op->idle_id = g_idle_add_full(G_PRIORITY_DEFAULT, op_idle, op, NULL);
}

static void op_set_error_va(SlBusOp *op, SlBusError code, const char *format, va_list ap)
{
  g_clear_error(&op->error);
  op->error = g_error_new_valist(SL_BUS_ERROR, (gint)code, format, ap);
}

void sl_bus_op_set_error(SlBusOp *op, SlBusError code, const char *format, ...)
{
  va_list ap;
  va_start(ap, format);
  op_set_error_va(op, code, format, ap);
  va_end(ap);
}

void sl_bus_op_fail_later(SlBusOp *op, SlBusError code, const char *format, ...)
{
  va_list ap;
  va_start(ap, format);
  op_set_error_va(op, code, format, ap);
  va_end(ap);
  sl_bus_op_finish_later(op);
}

/* How results reach the caller's typed callback. */
static void done_complete(SlBusOp *op)
{
  SlBusDoneFunc f = (SlBusDoneFunc)op->func;
  if (f != NULL)
    f(op->bus, op->error, op->user_data);
}

static void value_complete(SlBusOp *op)
{
  SlBusValueFunc f = (SlBusValueFunc)op->func;
  if (f != NULL)
    f(op->bus, op->error ? NULL : op->value, op->error, op->user_data);
}

static gint item_cmp(gconstpointer a, gconstpointer b)
{
  const SlBusItem *x = *(SlBusItem *const *)a;
  const SlBusItem *y = *(SlBusItem *const *)b;
  return strcmp(x->id, y->id);
}

static void list_complete(SlBusOp *op)
{
  SlBusListFunc f = (SlBusListFunc)op->func;
  if (op->error == NULL && op->items == NULL)
    op->items = g_ptr_array_new_with_free_func(sl_bus_item_free);
  if (op->items != NULL)
    g_ptr_array_sort(op->items, item_cmp);
  if (f != NULL)
    f(op->bus, op->error ? NULL : op->items, op->error, op->user_data);
}

static void owner_complete(SlBusOp *op)
{
  SlBusOwnerFunc f = (SlBusOwnerFunc)op->func;
  if (f != NULL)
    f(op->bus, op->error ? NULL : op->value, op->error ? NULL : op->value2, op->error,
      op->user_data);
}

/* Fails the op (from an idle) when `value` is empty; returns whether it was fine. */
static gboolean check_arg(SlBusOp *op, const char *what, const char *value)
{
  if (value != NULL && *value != '\0')
    return TRUE;
  sl_bus_op_fail_later(op, SL_BUS_ERROR_INVALID, "%s is empty", what);
  return FALSE;
}

/* ---- Requests in flight: dispatches, control requests, waits ------------------------------ */

typedef enum {
  REQ_DISPATCH,
  REQ_CONTROL,
  REQ_WAIT,
} ReqKind;

typedef struct {
  SlBus *bus;
  ReqKind kind;
  char *id;
  char *job_id;
  char *target;
  char *topic;
  guint timeout_ms;
  guint timeout_id;
  gint64 receivers; /* how many buses got the offer; -1 until PUBLISH answers */
  gint64 declines;
  gboolean cancelling;
  SlBusPredicate predicate;
  guint sub_id;
  SlBusValueFunc func;
  gpointer user_data;
} SlBusRequest;

static void unsubscribe(SlBus *bus, guint id);

static void request_free(gpointer p)
{
  SlBusRequest *r = p;
  if (r->timeout_id != 0)
    g_source_remove(r->timeout_id);
  if (r->sub_id != 0)
    unsubscribe(r->bus, r->sub_id);
  g_free(r->id);
  g_free(r->job_id);
  g_free(r->target);
  g_free(r->topic);
  g_free(r);
}

static gboolean request_timeout(gpointer data);

static SlBusRequest *request_new(SlBus *bus, ReqKind kind, guint timeout_ms, SlBusValueFunc func,
                                 gpointer user_data)
{
  SlBusRequest *r = g_new0(SlBusRequest, 1);
  r->bus = bus;
  r->kind = kind;
  r->id = g_uuid_string_random();
  r->timeout_ms = timeout_ms;
  r->receivers = -1;
  r->func = func;
  r->user_data = user_data;
  r->timeout_id = g_timeout_add_full(G_PRIORITY_DEFAULT, timeout_ms, request_timeout, r, NULL);
  g_hash_table_insert(bus->requests, r->id, r);
  return r;
}

/* Ends a request with its answer; the caller is inside bus_enter. */
static void request_finish(SlBusRequest *r, const char *json, const GError *error)
{
  SlBus *bus = r->bus;
  SlBusValueFunc func = r->func;
  gpointer user_data = r->user_data;

  g_hash_table_steal(bus->requests, r->id);
  request_free(r);
  if (func != NULL)
    func(bus, error ? NULL : json, error, user_data);
}

static void request_fail(SlBusRequest *r, SlBusError code, const char *format, ...)
    G_GNUC_PRINTF(3, 4);
static void request_fail(SlBusRequest *r, SlBusError code, const char *format, ...)
{
  va_list ap;
  g_autoptr(GError) err = NULL;
  va_start(ap, format);
  err = g_error_new_valist(SL_BUS_ERROR, (gint)code, format, ap);
  va_end(ap);
  request_finish(r, NULL, err);
}

static SlBusRequest *request_lookup(SlBus *bus, const char *id)
{
  return id ? g_hash_table_lookup(bus->requests, id) : NULL;
}

/* ---- Sending frames ------------------------------------------------------------------------- */

static char *inbox_of(SlBus *bus, const char *worker_id)
{
  return sl_bus_key(bus->prefix, "inbox", worker_id, NULL);
}

/* Fire and forget: a lost answer shows up as the requester's timeout. */
static void send_frame(SlBus *bus, const char *channel, const SlBusFrame *f)
{
  g_autofree char *text = sl_bus_frame_encode(f);
  SlBusOp *op = sl_bus_op_new(bus, NULL, NULL, NULL);
  bus->backend->publish(bus, channel, text, op);
}

static void send_decline(SlBus *bus, const SlBusFrame *offer)
{
  g_autofree char *to = inbox_of(bus, offer->from);
  SlBusFrame f = {.type = "decline", .req = offer->req, .from = bus->worker_id};
  send_frame(bus, to, &f);
}

/* ---- Responders ----------------------------------------------------------------------------- */

struct _SlBusResponder {
  SlBus *bus; /* NULL once the bus is freed */
  char *req;
  char *to;
};

static SlBusResponder *responder_new(SlBus *bus, const SlBusFrame *request)
{
  SlBusResponder *r = g_new0(SlBusResponder, 1);
  r->bus = bus;
  r->req = g_strdup(request->req);
  r->to = g_strdup(request->from);
  g_hash_table_add(bus->responders, r);
  return r;
}

void sl_bus_respond(SlBusResponder *r, const char *reply_json, const GError *error)
{
  g_return_if_fail(r != NULL);
  if (r->bus != NULL && !r->bus->freed) {
    SlBus *bus = r->bus;
    g_autofree char *to = inbox_of(bus, r->to);
    SlBusFrame f = {.type = "result", .req = r->req, .from = bus->worker_id};
    g_hash_table_remove(bus->responders, r);
    if (error != NULL) {
      f.code = 1 + (error->domain == SL_BUS_ERROR ? error->code : SL_BUS_ERROR_INTERNAL);
      f.msg = error->message;
    } else {
      f.body = (char *)(reply_json ? reply_json : "null");
    }
    send_frame(bus, to, &f);
  }
  g_free(r->req);
  g_free(r->to);
  g_free(r);
}

/* ---- Construction --------------------------------------------------------------------------- */

void sl_bus_init(SlBus *bus, const SlBusBackend *backend, const char *worker_id,
                 const char *cluster_id)
{
  g_autofree char *glob_prefix = NULL;

  bus->backend = backend;
  bus->worker_id = g_strdup(worker_id);
  bus->prefix = sl_bus_key_prefix(cluster_id);
  bus->ch_offers = sl_bus_key(bus->prefix, "offers", NULL);
  bus->ch_inbox = inbox_of(bus, worker_id);
  glob_prefix = sl_bus_glob_escape(bus->prefix);
  bus->ch_event_glob = g_strconcat(glob_prefix, "ev:*", NULL);
  bus->ttl_ms = 5000;
  bus->claims = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  bus->requests = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, request_free);
  bus->responders = g_hash_table_new(NULL, NULL);
  bus->reaping = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  bus->next_sub_id = 1;
  g_queue_init(&bus->ops);
}

void sl_bus_free(SlBus *bus)
{
  GHashTableIter it;
  gpointer key;

  if (bus == NULL || bus->freed)
    return;
  bus->freed = TRUE;
  g_clear_handle_id(&bus->heartbeat_id, g_source_remove);
  g_clear_handle_id(&bus->scan_id, g_source_remove);

  /* Operations still in flight are dropped: those waiting on an idle go now, those the backend
   * holds are freed when it lets go of them (below, as it closes). */
  for (GList *l = bus->ops.head, *next; l != NULL; l = next) {
    SlBusOp *op = l->data;
    next = l->next;
    op->bus = NULL;
    l->prev = l->next = NULL;
    if (op->idle_id != 0) {
      g_source_remove(op->idle_id);
      op->idle_id = 0;
      op_free(op);
    }
  }
  g_queue_init(&bus->ops);

  g_hash_table_iter_init(&it, bus->responders);
  while (g_hash_table_iter_next(&it, &key, NULL))
    ((SlBusResponder *)key)->bus = NULL;
  g_hash_table_remove_all(bus->responders);
  g_hash_table_remove_all(bus->requests);

  bus->backend->destroy(bus);
  bus->impl = NULL;
  if (bus->busy == 0)
    bus_finalize(bus);
}

const char *sl_bus_worker_id(SlBus *bus)
{
  g_return_val_if_fail(bus != NULL, NULL);
  return bus->worker_id;
}

const char *sl_bus_backend_name(SlBus *bus)
{
  g_return_val_if_fail(bus != NULL, NULL);
  return bus->backend->name;
}

gboolean sl_bus_is_connected(SlBus *bus)
{
  g_return_val_if_fail(bus != NULL, FALSE);
  return bus->backend->is_connected(bus);
}

void sl_bus_set_heartbeat_ttl(SlBus *bus, guint ttl_ms)
{
  g_return_if_fail(bus != NULL);
  bus->ttl_ms = MAX(ttl_ms, 300);
}

void sl_bus_set_handlers(SlBus *bus, const SlBusHandlers *handlers, gpointer user_data)
{
  g_return_if_fail(bus != NULL);
  if (handlers != NULL)
    bus->handlers = *handlers;
  else
    memset(&bus->handlers, 0, sizeof bus->handlers);
  bus->handlers_data = user_data;
}

/* ---- Store ---------------------------------------------------------------------------------- */

void sl_bus_put(SlBus *bus, SlBusKind kind, const SlBusRecord *record, SlBusDoneFunc func,
                gpointer user_data)
{
  SlBusOp *op;
  SlBusRecord r;

  g_return_if_fail(bus != NULL && record != NULL);
  op = sl_bus_op_new(bus, done_complete, func, user_data);
  if (!check_arg(op, "record id", record->id))
    return;
  if (record->json == NULL) {
    sl_bus_op_fail_later(op, SL_BUS_ERROR_INVALID, "record %s has no JSON", record->id);
    return;
  }
  r = *record;
  if (r.room == NULL)
    r.room = "";
  if (r.stream_key == NULL || kind != SL_BUS_INGRESS)
    r.stream_key = "";
  if (kind != SL_BUS_EGRESS)
    r.active = FALSE;
  bus->backend->put(bus, kind, &r, op);
}

void sl_bus_get(SlBus *bus, SlBusKind kind, const char *id, SlBusValueFunc func, gpointer user_data)
{
  SlBusOp *op;
  g_return_if_fail(bus != NULL);
  op = sl_bus_op_new(bus, value_complete, func, user_data);
  if (check_arg(op, "id", id))
    bus->backend->get(bus, kind, id, op);
}

void sl_bus_get_by_stream_key(SlBus *bus, const char *stream_key, SlBusValueFunc func,
                              gpointer user_data)
{
  SlBusOp *op;
  g_return_if_fail(bus != NULL);
  op = sl_bus_op_new(bus, value_complete, func, user_data);
  if (check_arg(op, "stream key", stream_key))
    bus->backend->get_by_stream_key(bus, stream_key, op);
}

void sl_bus_list(SlBus *bus, SlBusKind kind, const char *room, gboolean active_only,
                 SlBusListFunc func, gpointer user_data)
{
  SlBusOp *op;
  g_return_if_fail(bus != NULL);
  op = sl_bus_op_new(bus, list_complete, func, user_data);
  if (room != NULL && *room == '\0')
    room = NULL;
  bus->backend->list(bus, kind, room, kind == SL_BUS_EGRESS && active_only, op);
}

void sl_bus_delete(SlBus *bus, SlBusKind kind, const char *id, SlBusDoneFunc func,
                   gpointer user_data)
{
  SlBusOp *op;
  g_return_if_fail(bus != NULL);
  op = sl_bus_op_new(bus, done_complete, func, user_data);
  if (check_arg(op, "id", id))
    bus->backend->remove(bus, kind, id, op);
}

/* ---- Ownership ------------------------------------------------------------------------------ */

typedef struct {
  SlBusKind kind;
  char *id;
  char *session;
} ClaimData;

static void claim_data_free(gpointer p)
{
  ClaimData *d = p;
  g_free(d->id);
  g_free(d->session);
  g_free(d);
}

static ClaimData *claim_data_new(SlBusKind kind, const char *id, const char *session)
{
  ClaimData *d = g_new0(ClaimData, 1);
  d->kind = kind;
  d->id = g_strdup(id);
  d->session = g_strdup(session ? session : "");
  return d;
}

static void try_reap(SlBus *bus, const char *worker_id);

static void claim_complete(SlBusOp *op)
{
  SlBus *bus = op->bus;
  ClaimData *d = op->data;

  if (op->error == NULL) {
    g_hash_table_replace(bus->claims, claim_name(d->kind, d->id), g_strdup(d->session));
  } else if (g_error_matches(op->error, SL_BUS_ERROR, SL_BUS_ERROR_ALREADY_EXISTS) &&
             op->num == 0 && op->value != NULL) {
    /* The owner's heartbeat is gone but nobody has reaped it yet (no survivor saw it expire):
     * start now, so the claim frees up for a retry. */
    try_reap(bus, op->value);
  }
  if (!bus->freed)
    done_complete(op);
}

void sl_bus_claim(SlBus *bus, SlBusKind kind, const char *id, const char *session_id,
                  SlBusDoneFunc func, gpointer user_data)
{
  SlBusOp *op;
  g_return_if_fail(bus != NULL);
  op = sl_bus_op_new(bus, claim_complete, func, user_data);
  op->data = claim_data_new(kind, id, session_id);
  op->data_free = claim_data_free;
  if (check_arg(op, "id", id))
    bus->backend->claim(bus, kind, id, session_id ? session_id : "", op);
}

static void release_complete(SlBusOp *op)
{
  ClaimData *d = op->data;
  g_autofree char *name = claim_name(d->kind, d->id);
  g_hash_table_remove(op->bus->claims, name);
  done_complete(op);
}

void sl_bus_release(SlBus *bus, SlBusKind kind, const char *id, SlBusDoneFunc func,
                    gpointer user_data)
{
  SlBusOp *op;
  g_return_if_fail(bus != NULL);
  op = sl_bus_op_new(bus, release_complete, func, user_data);
  op->data = claim_data_new(kind, id, NULL);
  op->data_free = claim_data_free;
  if (check_arg(op, "id", id))
    bus->backend->release(bus, kind, id, op);
}

void sl_bus_owner(SlBus *bus, SlBusKind kind, const char *id, SlBusOwnerFunc func,
                  gpointer user_data)
{
  SlBusOp *op;
  g_return_if_fail(bus != NULL);
  op = sl_bus_op_new(bus, owner_complete, func, user_data);
  if (check_arg(op, "id", id))
    bus->backend->owner(bus, kind, id, op);
}

/* ---- Workers, heartbeat, resync ------------------------------------------------------------- */

static void resync_finished(SlBus *bus)
{
  if (!bus->resync_notify)
    return;
  bus->resync_notify = FALSE;
  if (bus->handlers.on_resync != NULL)
    bus->handlers.on_resync(bus, bus->handlers_data);
}

static void resync_step_done(SlBusOp *op)
{
  SlBus *bus = op->bus;
  if (op->error != NULL && op->data != NULL) {
    ClaimData *d = op->data;
    g_autofree char *name = claim_name(d->kind, d->id);
    if (g_error_matches(op->error, SL_BUS_ERROR, SL_BUS_ERROR_ALREADY_EXISTS)) {
      /* Another worker claimed it while this one was cut off (it was reaped): the session here
       * is no longer the one the cluster knows. */
      sl_warn(LOG, "worker %s lost its claim on %s: %s", bus->worker_id, name, op->error->message);
      g_hash_table_remove(bus->claims, name);
    }
  }
  if (bus->resync_pending > 0 && --bus->resync_pending == 0)
    resync_finished(bus);
}

/* Puts back what this worker holds: its registration and its claims. `notify` calls on_resync
 * once they are written. */
static void resync(SlBus *bus, gboolean notify)
{
  GHashTableIter it;
  gpointer key, value;

  bus->resync_notify |= notify;
  if (bus->worker_info != NULL) {
    SlBusOp *op = sl_bus_op_new(bus, resync_step_done, NULL, NULL);
    bus->resync_pending++;
    bus->backend->register_worker(bus, bus->worker_info, bus->ttl_ms, op);
  }
  g_hash_table_iter_init(&it, bus->claims);
  while (g_hash_table_iter_next(&it, &key, &value)) {
    const char *name = key;
    const char *colon = strchr(name, ':');
    SlBusKind kind = strncmp(name, "egress:", 7) == 0 ? SL_BUS_EGRESS : SL_BUS_INGRESS;
    SlBusOp *op = sl_bus_op_new(bus, resync_step_done, NULL, NULL);
    op->data = claim_data_new(kind, colon + 1, value);
    op->data_free = claim_data_free;
    bus->resync_pending++;
    bus->backend->claim(bus, kind, colon + 1, value, op);
  }
  if (bus->resync_pending == 0)
    resync_finished(bus);
}

static void heartbeat_done(SlBusOp *op)
{
  SlBus *bus = op->bus;
  bus->heartbeat_inflight = FALSE;
  if (op->error == NULL && op->num == 0 && bus->worker_info != NULL) {
    /* The key had expired: this worker was stalled or cut off for a whole TTL, and survivors
     * may have reaped it. Register again so it is live from now on. */
    sl_warn(LOG, "worker %s: heartbeat lease had lapsed; registering again", bus->worker_id);
    resync(bus, TRUE);
  }
}

static gboolean heartbeat_tick(gpointer data)
{
  SlBus *bus = data;
  SlBusOp *op;

  if (bus->heartbeat_inflight || bus->worker_info == NULL || !bus->backend->is_connected(bus))
    return G_SOURCE_CONTINUE;
  bus->heartbeat_inflight = TRUE;
  op = sl_bus_op_new(bus, heartbeat_done, NULL, NULL);
  bus->backend->heartbeat(bus, bus->ttl_ms, op);
  return G_SOURCE_CONTINUE;
}

void sl_bus_register(SlBus *bus, const char *info_json, SlBusDoneFunc func, gpointer user_data)
{
  SlBusOp *op;

  g_return_if_fail(bus != NULL);
  op = sl_bus_op_new(bus, done_complete, func, user_data);
  g_free(bus->worker_info);
  bus->worker_info = g_strdup(info_json ? info_json : "{}");
  g_clear_handle_id(&bus->heartbeat_id, g_source_remove);
  bus->heartbeat_id =
      g_timeout_add_full(G_PRIORITY_DEFAULT, MAX(bus->ttl_ms / 3, 1), heartbeat_tick, bus, NULL);
  bus->backend->register_worker(bus, bus->worker_info, bus->ttl_ms, op);
}

void sl_bus_unregister(SlBus *bus, SlBusDoneFunc func, gpointer user_data)
{
  SlBusOp *op;

  g_return_if_fail(bus != NULL);
  op = sl_bus_op_new(bus, done_complete, func, user_data);
  g_clear_handle_id(&bus->heartbeat_id, g_source_remove);
  g_clear_pointer(&bus->worker_info, g_free);
  g_hash_table_remove_all(bus->claims);
  bus->backend->unregister_worker(bus, op);
}

void sl_bus_list_workers(SlBus *bus, SlBusListFunc func, gpointer user_data)
{
  SlBusOp *op;
  g_return_if_fail(bus != NULL);
  op = sl_bus_op_new(bus, list_complete, func, user_data);
  bus->backend->list_workers(bus, op);
}

/* ---- Reaping -------------------------------------------------------------------------------- */

static void reap_ended(SlBusOp *op)
{
  g_hash_table_remove(op->bus->reaping, op->data);
}

static void reap_begun(SlBusOp *op)
{
  SlBus *bus = op->bus;
  const char *worker_id = op->data;
  SlBusOp *end;

  if (op->error != NULL || op->num != 1) {
    g_hash_table_remove(bus->reaping, worker_id);
    return;
  }
  sl_info(LOG, "worker %s is gone (heartbeat expired); %s reaps its %u claim(s)", worker_id,
          bus->worker_id, op->items ? op->items->len : 0);
  if (op->items == NULL)
    op->items = g_ptr_array_new_with_free_func(sl_bus_claim_free);
  bus->handlers.on_worker_dead(bus, worker_id, op->items, bus->handlers_data);
  if (bus->freed)
    return; /* the lock expires and another survivor finishes the job */
  end = sl_bus_op_new(bus, reap_ended, NULL, NULL);
  end->data = g_strdup(worker_id);
  end->data_free = g_free;
  bus->backend->reap_end(bus, worker_id, end);
}

/* Tries to become the one survivor that reaps `worker_id`; the backend's lock decides. */
static void try_reap(SlBus *bus, const char *worker_id)
{
  SlBusOp *op;

  if (bus->handlers.on_worker_dead == NULL || strcmp(worker_id, bus->worker_id) == 0 ||
      g_hash_table_contains(bus->reaping, worker_id))
    return;
  g_hash_table_add(bus->reaping, g_strdup(worker_id));
  op = sl_bus_op_new(bus, reap_begun, NULL, NULL);
  op->data = g_strdup(worker_id);
  op->data_free = g_free;
  bus->backend->reap_begin(bus, worker_id, SL_BUS_REAP_LOCK_MS, op);
}

void sl_bus_worker_expired(SlBus *bus, const char *worker_id)
{
  /* Right after a reconnect, heartbeats expire that belong to live workers which have not
   * reconnected yet (the server was down or stalled longer than a TTL). Reaping those would fail
   * sessions that are fine; the look scan_dead takes one TTL later finds the truly dead. */
  if (g_get_monotonic_time() - bus->up_since < (gint64)bus->ttl_ms * 1000)
    return;
  bus_enter(bus);
  try_reap(bus, worker_id);
  bus_leave(bus);
}

static void scan_done(SlBusOp *op)
{
  SlBus *bus = op->bus;
  if (op->items == NULL)
    return;
  for (guint i = 0; i < op->items->len && !bus->freed; i++)
    try_reap(bus, ((SlBusItem *)op->items->pdata[i])->id);
}

/* One look, a while after connecting, for workers that died while nobody was listening (no
 * survivor at the time, or a server without expired-key events). */
static gboolean scan_dead(gpointer data)
{
  SlBus *bus = data;
  bus->scan_id = 0;
  if (bus->handlers.on_worker_dead != NULL && bus->backend->is_connected(bus))
    bus->backend->dead_workers(bus, sl_bus_op_new(bus, scan_done, NULL, NULL));
  return G_SOURCE_REMOVE;
}

/* ---- Connection state ----------------------------------------------------------------------- */

void sl_bus_backend_up(SlBus *bus)
{
  gboolean again = bus->connected_once;

  bus_enter(bus);
  bus->connected_once = TRUE;
  bus->up_since = g_get_monotonic_time();
  if (again)
    resync(bus, TRUE);
  /* Live workers need up to a TTL to put their heartbeats back after a server restart; looking
   * for dead ones before that would reap the living. */
  g_clear_handle_id(&bus->scan_id, g_source_remove);
  if (!bus->freed)
    bus->scan_id =
        g_timeout_add_full(G_PRIORITY_DEFAULT, bus->ttl_ms + bus->ttl_ms / 3, scan_dead, bus, NULL);
  bus_leave(bus);
}

void sl_bus_backend_down(SlBus *bus)
{
  GList *ids;

  bus_enter(bus);
  g_clear_handle_id(&bus->scan_id, g_source_remove);
  bus->heartbeat_inflight = FALSE;
  /* Answers to requests in flight would come over the lost connection: fail them now rather
   * than let them run into their timeouts. */
  ids = g_hash_table_get_keys(bus->requests);
  for (GList *l = ids; l != NULL && !bus->freed; l = l->next) {
    SlBusRequest *r = request_lookup(bus, l->data);
    if (r != NULL)
      request_fail(r, SL_BUS_ERROR_UNAVAILABLE, "lost the connection to the bus");
  }
  g_list_free(ids);
  bus_leave(bus);
}

/* ---- Events --------------------------------------------------------------------------------- */

static void deliver_event(SlBus *bus, const char *topic, const char *json)
{
  bus->delivering++;
  for (GList *l = bus->subs; l != NULL && !bus->freed; l = l->next) {
    SlBusSub *s = l->data;
    if (!s->removed && sl_bus_topic_matches(s->topic, topic))
      s->func(bus, topic, json, s->user_data);
  }
  bus->delivering--;
  if (bus->delivering == 0 && !bus->freed) {
    for (GList *l = bus->subs, *next; l != NULL; l = next) {
      SlBusSub *s = l->data;
      next = l->next;
      if (s->removed) {
        bus->subs = g_list_delete_link(bus->subs, l);
        sub_free(s);
      }
    }
  }
}

void sl_bus_publish(SlBus *bus, const char *topic, const char *json, SlBusDoneFunc func,
                    gpointer user_data)
{
  SlBusOp *op;
  g_autofree char *channel = NULL;

  g_return_if_fail(bus != NULL);
  op = sl_bus_op_new(bus, done_complete, func, user_data);
  if (!check_arg(op, "topic", topic))
    return;
  channel = sl_bus_event_channel(bus->prefix, topic);
  bus->backend->publish(bus, channel, json ? json : "null", op);
}

guint sl_bus_subscribe(SlBus *bus, const char *topic, SlBusEventFunc func, gpointer user_data,
                       GDestroyNotify destroy)
{
  SlBusSub *s;

  g_return_val_if_fail(bus != NULL && topic != NULL && func != NULL, 0);
  s = g_new0(SlBusSub, 1);
  s->id = bus->next_sub_id++;
  s->topic = g_strdup(topic);
  s->func = func;
  s->user_data = user_data;
  s->destroy = destroy;
  /* Prepended: a subscription made while an event is being delivered does not see that event. */
  bus->subs = g_list_prepend(bus->subs, s);
  return s->id;
}

static void unsubscribe(SlBus *bus, guint id)
{
  for (GList *l = bus->subs; l != NULL; l = l->next) {
    SlBusSub *s = l->data;
    if (s->id != id || s->removed)
      continue;
    if (bus->delivering > 0 || bus->freed) {
      s->removed = TRUE;
    } else {
      bus->subs = g_list_delete_link(bus->subs, l);
      sub_free(s);
    }
    return;
  }
}

void sl_bus_unsubscribe(SlBus *bus, guint subscription_id)
{
  g_return_if_fail(bus != NULL);
  unsubscribe(bus, subscription_id);
}

static void wait_event(SlBus *bus, const char *topic, const char *json, gpointer data)
{
  SlBusRequest *r = request_lookup(bus, data);
  if (r == NULL)
    return;
  if (r->predicate != NULL && !r->predicate(topic, json, r->user_data))
    return;
  request_finish(r, json, NULL);
}

void sl_bus_wait_for(SlBus *bus, const char *topic, SlBusPredicate predicate, guint timeout_ms,
                     SlBusValueFunc func, gpointer user_data)
{
  SlBusRequest *r;

  g_return_if_fail(bus != NULL);
  if (topic == NULL || *topic == '\0' || !bus->backend->is_connected(bus)) {
    SlBusOp *op = sl_bus_op_new(bus, value_complete, func, user_data);
    if (check_arg(op, "topic", topic))
      sl_bus_op_fail_later(op, SL_BUS_ERROR_UNAVAILABLE, "not connected to the bus");
    return;
  }
  r = request_new(bus, REQ_WAIT, timeout_ms, func, user_data);
  r->topic = g_strdup(topic);
  r->predicate = predicate;
  r->sub_id = sl_bus_subscribe(bus, topic, wait_event, g_strdup(r->id), g_free);
}

/* ---- Dispatch and control: the requester's side -------------------------------------------- */

static void maybe_all_declined(SlBusRequest *r)
{
  if (r->receivers < 0 || r->declines < r->receivers)
    return;
  if (r->target != NULL)
    request_fail(r, SL_BUS_ERROR_UNAVAILABLE, "worker %s cannot take the job", r->target);
  else
    request_fail(r, SL_BUS_ERROR_UNAVAILABLE,
                 "no worker can take it (%" G_GINT64_FORMAT " declined)", r->declines);
}

static void request_published(SlBusOp *op)
{
  SlBusRequest *r = request_lookup(op->bus, op->data);

  if (r == NULL)
    return;
  if (op->error != NULL) {
    request_fail(r, SL_BUS_ERROR_UNAVAILABLE, "%s", op->error->message);
    return;
  }
  r->receivers = op->num;
  if (op->num == 0) {
    if (r->target != NULL)
      request_fail(r, SL_BUS_ERROR_UNAVAILABLE, "worker %s is not connected", r->target);
    else
      request_fail(r, SL_BUS_ERROR_UNAVAILABLE, "no worker is connected");
    return;
  }
  if (r->kind == REQ_DISPATCH)
    maybe_all_declined(r);
}

static void publish_request(SlBus *bus, SlBusRequest *r, const char *channel, const SlBusFrame *f)
{
  g_autofree char *text = sl_bus_frame_encode(f);
  SlBusOp *op = sl_bus_op_new(bus, request_published, NULL, NULL);
  op->data = g_strdup(r->id);
  op->data_free = g_free;
  bus->backend->publish(bus, channel, text, op);
}

static gint64 job_key_ttl(guint timeout_ms)
{
  return MAX((gint64)SL_BUS_JOB_KEY_MIN_TTL_MS, (gint64)timeout_ms + 10000);
}

void sl_bus_dispatch(SlBus *bus, const char *job_json, guint timeout_ms, SlBusValueFunc func,
                     gpointer user_data)
{
  g_autoptr(GError) err = NULL;
  g_autofree char *job_id = NULL;
  g_autofree char *target = NULL;
  g_autofree char *channel = NULL;
  SlBusRequest *r;
  SlBusFrame f = {0};

  g_return_if_fail(bus != NULL);
  if (!sl_bus_job_parse(job_json, &job_id, &target, &err)) {
    SlBusOp *op = sl_bus_op_new(bus, value_complete, func, user_data);
    sl_bus_op_fail_later(op, SL_BUS_ERROR_INVALID, "%s", err->message);
    return;
  }
  r = request_new(bus, REQ_DISPATCH, timeout_ms, func, user_data);
  r->job_id = g_steal_pointer(&job_id);
  r->target = g_steal_pointer(&target);
  f.type = "offer";
  f.req = r->id;
  f.from = bus->worker_id;
  f.id = r->job_id;
  f.ttl = job_key_ttl(timeout_ms);
  f.body = (char *)job_json;
  channel = r->target ? inbox_of(bus, r->target) : g_strdup(bus->ch_offers);
  publish_request(bus, r, channel, &f);
}

void sl_bus_control(SlBus *bus, const char *worker_id, const char *message_json, guint timeout_ms,
                    SlBusValueFunc func, gpointer user_data)
{
  g_autofree char *channel = NULL;
  SlBusRequest *r;
  SlBusFrame f = {0};

  g_return_if_fail(bus != NULL);
  if (worker_id == NULL || *worker_id == '\0') {
    SlBusOp *op = sl_bus_op_new(bus, value_complete, func, user_data);
    check_arg(op, "worker id", worker_id);
    return;
  }
  r = request_new(bus, REQ_CONTROL, timeout_ms, func, user_data);
  r->target = g_strdup(worker_id);
  f.type = "control";
  f.req = r->id;
  f.from = bus->worker_id;
  f.body = (char *)(message_json ? message_json : "null");
  channel = inbox_of(bus, worker_id);
  publish_request(bus, r, channel, &f);
}

typedef struct {
  char *message;
  guint timeout_ms;
  SlBusValueFunc func;
  gpointer user_data;
} ControlOwnerData;

static void control_owner_data_free(gpointer p)
{
  ControlOwnerData *d = p;
  g_free(d->message);
  g_free(d);
}

static void control_owner_found(SlBusOp *op)
{
  ControlOwnerData *d = op->data;
  if (op->error != NULL) {
    if (d->func != NULL)
      d->func(op->bus, NULL, op->error, d->user_data);
    return;
  }
  sl_bus_control(op->bus, op->value, d->message, d->timeout_ms, d->func, d->user_data);
}

void sl_bus_control_owner(SlBus *bus, SlBusKind kind, const char *id, const char *message_json,
                          guint timeout_ms, SlBusValueFunc func, gpointer user_data)
{
  SlBusOp *op;
  ControlOwnerData *d;

  g_return_if_fail(bus != NULL);
  op = sl_bus_op_new(bus, control_owner_found, NULL, NULL);
  d = g_new0(ControlOwnerData, 1);
  d->message = g_strdup(message_json);
  d->timeout_ms = timeout_ms;
  d->func = func;
  d->user_data = user_data;
  op->data = d;
  op->data_free = control_owner_data_free;
  if (id == NULL || *id == '\0') {
    sl_bus_op_fail_later(op, SL_BUS_ERROR_INVALID, "id is empty");
    return;
  }
  bus->backend->owner(bus, kind, id, op);
}

static void cancel_done(SlBusOp *op)
{
  SlBusRequest *r = request_lookup(op->bus, op->data);

  if (r == NULL)
    return; /* the answer came in the meantime */
  if (op->error != NULL)
    request_fail(r, SL_BUS_ERROR_DEADLINE_EXCEEDED, "no answer within %u ms (%s)", r->timeout_ms,
                 op->error->message);
  else if (op->num == 1)
    request_fail(r, SL_BUS_ERROR_DEADLINE_EXCEEDED,
                 "no worker took the job within %u ms (%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
                 " declined)",
                 r->timeout_ms, r->declines, MAX(r->receivers, (gint64)0));
  else
    request_fail(r, SL_BUS_ERROR_DEADLINE_EXCEEDED,
                 "worker %s took the job but did not answer within %u ms", op->value,
                 r->timeout_ms);
}

static gboolean request_timeout(gpointer data)
{
  SlBusRequest *r = data;
  SlBus *bus = r->bus;

  r->timeout_id = 0;
  bus_enter(bus);
  if (r->kind == REQ_DISPATCH && !r->cancelling) {
    /* Take the job's claim ourselves: if it is still free, no worker can start the job any more
     * and the failure is certain; if a worker holds it, say which. */
    g_autofree char *key = sl_bus_key(bus->prefix, "job", r->job_id, "owner", NULL);
    g_autofree char *holder = g_strconcat("!", bus->worker_id, NULL);
    SlBusOp *op = sl_bus_op_new(bus, cancel_done, NULL, NULL);
    r->cancelling = TRUE;
    op->data = g_strdup(r->id);
    op->data_free = g_free;
    bus->backend->set_nx(bus, key, holder, (guint)job_key_ttl(r->timeout_ms), op);
  } else if (r->kind == REQ_CONTROL) {
    request_fail(r, SL_BUS_ERROR_DEADLINE_EXCEEDED, "worker %s did not answer within %u ms",
                 r->target, r->timeout_ms);
  } else if (r->kind == REQ_WAIT) {
    request_fail(r, SL_BUS_ERROR_DEADLINE_EXCEEDED, "no matching event on %s within %u ms",
                 r->topic, r->timeout_ms);
  }
  bus_leave(bus);
  return G_SOURCE_REMOVE;
}

static void handle_result(SlBus *bus, const SlBusFrame *f)
{
  SlBusRequest *r = request_lookup(bus, f->req);

  if (r == NULL || r->kind == REQ_WAIT)
    return; /* late: the requester already gave up */
  if (f->code != 0) {
    int code = f->code - 1;
    g_autoptr(GError) err = NULL;
    if (code < SL_BUS_ERROR_NOT_FOUND || code > SL_BUS_ERROR_INVALID)
      code = SL_BUS_ERROR_INTERNAL;
    err = g_error_new(SL_BUS_ERROR, code, "%s", f->msg ? f->msg : "worker failed");
    request_finish(r, NULL, err);
  } else {
    request_finish(r, f->body ? f->body : "null", NULL);
  }
}

/* ---- Dispatch and control: the worker's side ----------------------------------------------- */

typedef struct {
  SlBusFrame offer;
} OfferData;

static void offer_data_free(gpointer p)
{
  OfferData *d = p;
  sl_bus_frame_clear(&d->offer);
  g_free(d);
}

static void bid_done(SlBusOp *op)
{
  SlBus *bus = op->bus;
  OfferData *d = op->data;

  if (op->error == NULL && op->num == 1) {
    SlBusResponder *resp = responder_new(bus, &d->offer);
    if (bus->handlers.on_job != NULL) {
      bus->handlers.on_job(bus, d->offer.body, resp, bus->handlers_data);
    } else {
      g_autoptr(GError) err = g_error_new(SL_BUS_ERROR, SL_BUS_ERROR_INTERNAL,
                                          "worker %s has no job handler", bus->worker_id);
      sl_bus_respond(resp, NULL, err);
    }
  } else if (bus->handlers.on_offer_lost != NULL) {
    bus->handlers.on_offer_lost(bus, d->offer.body, bus->handlers_data);
  }
}

static void handle_offer(SlBus *bus, SlBusFrame *f)
{
  g_autofree char *key = NULL;
  OfferData *d;
  SlBusOp *op;

  if (bus->worker_info == NULL || bus->handlers.on_offer == NULL || f->id == NULL ||
      f->body == NULL) {
    send_decline(bus, f);
    return;
  }
  if (!bus->handlers.on_offer(bus, f->body, bus->handlers_data)) {
    if (!bus->freed)
      send_decline(bus, f);
    return;
  }
  if (bus->freed)
    return;
  /* The bid: whoever sets the job's owner key first runs it. */
  key = sl_bus_key(bus->prefix, "job", f->id, "owner", NULL);
  op = sl_bus_op_new(bus, bid_done, NULL, NULL);
  d = g_new0(OfferData, 1);
  d->offer = *f;
  memset(f, 0, sizeof *f);
  op->data = d;
  op->data_free = offer_data_free;
  bus->backend->set_nx(bus, key, bus->worker_id,
                       (guint)(d->offer.ttl > 0 ? d->offer.ttl : SL_BUS_JOB_KEY_MIN_TTL_MS), op);
}

static void handle_control(SlBus *bus, const SlBusFrame *f)
{
  SlBusResponder *resp = responder_new(bus, f);
  if (bus->handlers.on_control != NULL) {
    bus->handlers.on_control(bus, f->body ? f->body : "null", resp, bus->handlers_data);
  } else {
    g_autoptr(GError) err = g_error_new(SL_BUS_ERROR, SL_BUS_ERROR_UNAVAILABLE,
                                        "worker %s takes no control requests", bus->worker_id);
    sl_bus_respond(resp, NULL, err);
  }
}

static void handle_frame(SlBus *bus, const char *payload)
{
  SlBusFrame f;
  g_autoptr(GError) err = NULL;

  if (!sl_bus_frame_decode(payload, &f, &err)) {
    sl_debug(LOG, "ignoring a message: %s", err->message);
    return;
  }
  if (strcmp(f.type, "offer") == 0) {
    handle_offer(bus, &f);
  } else if (strcmp(f.type, "decline") == 0) {
    SlBusRequest *r = request_lookup(bus, f.req);
    if (r != NULL && r->kind == REQ_DISPATCH) {
      r->declines++;
      maybe_all_declined(r);
    }
  } else if (strcmp(f.type, "result") == 0) {
    handle_result(bus, &f);
  } else if (strcmp(f.type, "control") == 0) {
    handle_control(bus, &f);
  } else {
    sl_debug(LOG, "ignoring a message of type '%s'", f.type);
  }
  sl_bus_frame_clear(&f);
}

void sl_bus_receive(SlBus *bus, const char *channel, const char *payload)
{
  const char *topic;

  bus_enter(bus);
  if (strcmp(channel, bus->ch_offers) == 0 || strcmp(channel, bus->ch_inbox) == 0)
    handle_frame(bus, payload);
  else if ((topic = sl_bus_event_topic(bus->prefix, channel)) != NULL)
    deliver_event(bus, topic, payload);
  bus_leave(bus);
}
