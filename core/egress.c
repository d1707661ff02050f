/* Egresses on live sessions. See egress.h. */
#include "egress.h"

#include "ids.h"
#include "log.h"
#include "outputs.h"
#include "pbjson.h"
#include "redact.h"
#include "storage.h"

#include <string.h>

typedef struct {
  char *id;   /* "<egress id>/<n>" */
  char *type; /* "file" or "segments" */
  gboolean added;
  gboolean done;
  char *error;
  JsonObject *result;  /* FileInfo or SegmentsInfo (proto field names) */
  gint64 segment_size; /* bytes of the segments closed so far */
  char *upload_error;  /* a file of it could not be stored: it stays on local disk */
} EgressOutput;

typedef struct {
  char *id;
  char *session_id;
  char *kind;       /* request kind: "room_composite", ... */
  gboolean legacy;  /* the request used the single `file` / `segments` field */
  JsonObject *info; /* EgressInfo */
  GPtrArray *outputs;
} Egress;

struct _SlEgresses {
  SlSessions *sessions;
  SlIngressStore *ingresses;
  GHashTable *all;  /* id → Egress* */
  GPtrArray *order; /* Egress*, creation order (borrowed from `all`) */
  SlEgressChanged changed;
  gpointer changed_data;
};

GQuark sl_egress_error_quark(void)
{
  return g_quark_from_static_string("sl-egress-error");
}

const char *sl_egress_status_name(SlEgressStatus status)
{
  static const char *names[] = {"EGRESS_STARTING",     "EGRESS_ACTIVE", "EGRESS_ENDING",
                                "EGRESS_COMPLETE",     "EGRESS_FAILED", "EGRESS_ABORTED",
                                "EGRESS_LIMIT_REACHED"};
  return (guint)status < G_N_ELEMENTS(names) ? names[status] : "EGRESS_FAILED";
}

static gint64 now_ns(void)
{
  return g_get_real_time() * 1000;
}

static void output_free(gpointer p)
{
  EgressOutput *o = p;
  g_free(o->id);
  g_free(o->type);
  g_free(o->error);
  g_free(o->upload_error);
  if (o->result)
    json_object_unref(o->result);
  g_free(o);
}

static void egress_free(gpointer p)
{
  Egress *e = p;
  g_free(e->id);
  g_free(e->session_id);
  g_free(e->kind);
  json_object_unref(e->info);
  g_ptr_array_unref(e->outputs);
  g_free(e);
}

SlEgresses *sl_egresses_new(SlSessions *sessions, SlIngressStore *ingresses)
{
  SlEgresses *eg = g_new0(SlEgresses, 1);
  eg->sessions = sessions;
  eg->ingresses = ingresses;
  eg->all = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, egress_free);
  eg->order = g_ptr_array_new();
  return eg;
}

void sl_egresses_free(SlEgresses *eg)
{
  if (eg == NULL)
    return;
  g_ptr_array_unref(eg->order);
  g_hash_table_unref(eg->all);
  g_free(eg);
}

void sl_egresses_set_listener(SlEgresses *eg, SlEgressChanged fn, gpointer user_data)
{
  eg->changed = fn;
  eg->changed_data = user_data;
}

static SlEgressStatus status_of(Egress *e)
{
  return (SlEgressStatus)json_object_get_int_member_with_default(e->info, "status", 0);
}

static gboolean is_final(SlEgressStatus st)
{
  return st == SL_EGRESS_COMPLETE || st == SL_EGRESS_FAILED || st == SL_EGRESS_ABORTED ||
         st == SL_EGRESS_LIMIT_REACHED;
}

/* Rebuilds the result lists from the outputs and tells the listener. */
static void changed(SlEgresses *eg, Egress *e)
{
  JsonArray *files = json_array_new();
  JsonArray *segs = json_array_new();
  for (guint i = 0; i < e->outputs->len; i++) {
    EgressOutput *o = g_ptr_array_index(e->outputs, i);
    if (o->result == NULL)
      continue;
    if (strcmp(o->type, "file") == 0)
      json_array_add_object_element(files, sl_json_object_copy(o->result));
    else
      json_array_add_object_element(segs, sl_json_object_copy(o->result));
  }
  if (e->legacy && json_array_get_length(files) > 0)
    json_object_set_object_member(e->info, "file",
                                  sl_json_object_copy(json_array_get_object_element(files, 0)));
  if (e->legacy && json_array_get_length(segs) > 0)
    json_object_set_object_member(e->info, "segments",
                                  sl_json_object_copy(json_array_get_object_element(segs, 0)));
  json_object_set_array_member(e->info, "file_results", files);
  json_object_set_array_member(e->info, "segment_results", segs);
  json_object_set_int_member(e->info, "updated_at", now_ns());
  if (eg->changed)
    eg->changed(e->info, eg->changed_data);
}

static void set_status(SlEgresses *eg, Egress *e, SlEgressStatus st, const char *error)
{
  SlEgressStatus old = status_of(e);
  if (is_final(old))
    return;
  json_object_set_int_member(e->info, "status", st);
  if (st == SL_EGRESS_ACTIVE &&
      json_object_get_int_member_with_default(e->info, "started_at", 0) == 0)
    json_object_set_int_member(e->info, "started_at", now_ns());
  if (is_final(st))
    json_object_set_int_member(e->info, "ended_at", now_ns());
  if (error != NULL && !json_object_has_member(e->info, "error"))
    json_object_set_string_member(e->info, "error", error);
  if (st == SL_EGRESS_FAILED && !json_object_has_member(e->info, "error_code"))
    json_object_set_int_member(e->info, "error_code", 500);
  sl_info("egress", "%s: %s%s%s", e->id, sl_egress_status_name(st), error ? ": " : "",
          error ? error : "");
  changed(eg, e);
}

/* ---- starting ---------------------------------------------------------------------------- */

static gboolean is_live(SlIngress *ing)
{
  return ing->resource_id != NULL &&
         (ing->status == SL_INGRESS_BUFFERING || ing->status == SL_INGRESS_PUBLISHING);
}

/* The live ingress session in `room` (and of `identity` when given). */
static SlIngress *find_live(SlEgresses *eg, const char *room, const char *identity)
{
  GPtrArray *all = sl_ingress_store_list(eg->ingresses);
  for (guint i = 0; i < all->len; i++) {
    SlIngress *ing = g_ptr_array_index(all, i);
    if (is_live(ing) && g_strcmp0(ing->room_name, room) == 0 &&
        (identity == NULL || g_strcmp0(ing->participant_identity, identity) == 0))
      return ing;
  }
  return NULL;
}

static SlIngress *find_live_track(SlEgresses *eg, const char *room, const char *track,
                                  char *kind_out)
{
  GPtrArray *all = sl_ingress_store_list(eg->ingresses);
  for (guint i = 0; i < all->len; i++) {
    SlIngress *ing = g_ptr_array_index(all, i);
    g_autofree char *v = NULL;
    g_autofree char *a = NULL;
    if (!is_live(ing) || g_strcmp0(ing->room_name, room) != 0)
      continue;
    v = sl_id_track(ing->resource_id, 'V');
    a = sl_id_track(ing->resource_id, 'A');
    if (g_strcmp0(track, v) == 0 || g_strcmp0(track, a) == 0) {
      *kind_out = g_strcmp0(track, v) == 0 ? 'V' : 'A';
      return ing;
    }
  }
  return NULL;
}

/* The storage an output asks for (its own, else the request's) is one the handler can use. */
static gboolean storage_valid(JsonObject *out, JsonObject *request, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(JsonObject) storage = sl_storage_request_storage(out, request, &local);
  if (local != NULL) {
    g_set_error(error, SL_EGRESS_ERROR, SL_EGRESS_ERROR_INVALID, "invalid storage: %s",
                local->message);
    return FALSE;
  }
  return TRUE;
}

/* Tells the handler where the output's files go (uploader.h): {"storage", "disable_manifest"}.
 * Without a storage in the request, the handler uses the node's. */
static void add_upload_options(JsonObject *opts, JsonObject *out, JsonObject *request)
{
  JsonObject *upload = json_object_new();
  JsonObject *storage = sl_storage_request_storage(out, request, NULL);
  if (storage != NULL)
    json_object_set_object_member(upload, "storage", storage);
  json_object_set_boolean_member(
      upload, "disable_manifest",
      json_object_get_boolean_member_with_default(out, "disable_manifest", FALSE));
  json_object_set_object_member(opts, "upload", upload);
}

/* Storage credentials never leave in an echo of the request. */
static void redact_request(JsonNode *node)
{
  static const char *secret_keys[] = {"secret",      "access_key",  "session_token",
                                      "account_key", "credentials", "credentials_json",
                                      "password"};
  if (JSON_NODE_HOLDS_ARRAY(node)) {
    JsonArray *a = json_node_get_array(node);
    for (guint i = 0; i < json_array_get_length(a); i++)
      redact_request(json_array_get_element(a, i));
  } else if (JSON_NODE_HOLDS_OBJECT(node)) {
    JsonObject *o = json_node_get_object(node);
    GList *members = json_object_get_members(o);
    for (GList *m = members; m; m = m->next) {
      JsonNode *child = json_object_get_member(o, m->data);
      gboolean secret = FALSE;
      for (guint k = 0; k < G_N_ELEMENTS(secret_keys); k++)
        secret = secret || strcmp(m->data, secret_keys[k]) == 0;
      if (secret && JSON_NODE_HOLDS_VALUE(child) &&
          json_node_get_value_type(child) == G_TYPE_STRING) {
        g_autofree char *red = sl_redact_secret(json_node_get_string(child));
        json_object_set_string_member(o, m->data, red);
      } else {
        redact_request(child);
      }
    }
    g_list_free(members);
  }
}

typedef struct {
  const char *type;
  JsonObject *req;
} OutputReq;

/* Collects the outputs a request asks for, refusing what cannot run yet. */
static gboolean collect_outputs(JsonObject *request, gboolean *legacy, GPtrArray *out,
                                GError **error)
{
  static const struct {
    const char *field;
    const char *type;
    gboolean list;
  } fields[] = {
      {"file", "file", FALSE},
      {"segments", "segments", FALSE},
      {"file_outputs", "file", TRUE},
      {"segment_outputs", "segments", TRUE},
  };
  static const char *unsupported[] = {"stream", "stream_outputs", "image_outputs", "websocket_url"};

  for (guint i = 0; i < G_N_ELEMENTS(unsupported); i++) {
    JsonNode *n = json_object_get_member(request, unsupported[i]);
    if (n != NULL &&
        !(JSON_NODE_HOLDS_ARRAY(n) && json_array_get_length(json_node_get_array(n)) == 0)) {
      g_set_error(error, SL_EGRESS_ERROR, SL_EGRESS_ERROR_UNIMPLEMENTED,
                  "%s outputs are not available on this node yet", unsupported[i]);
      return FALSE;
    }
  }
  for (guint i = 0; i < G_N_ELEMENTS(fields); i++) {
    JsonNode *n = json_object_get_member(request, fields[i].field);
    if (n == NULL)
      continue;
    if (fields[i].list && JSON_NODE_HOLDS_ARRAY(n)) {
      JsonArray *a = json_node_get_array(n);
      for (guint k = 0; k < json_array_get_length(a); k++) {
        OutputReq *r = g_new0(OutputReq, 1);
        r->type = fields[i].type;
        r->req = json_array_get_object_element(a, k);
        g_ptr_array_add(out, r);
      }
    } else if (!fields[i].list && JSON_NODE_HOLDS_OBJECT(n)) {
      OutputReq *r = g_new0(OutputReq, 1);
      r->type = fields[i].type;
      r->req = json_node_get_object(n);
      g_ptr_array_add(out, r);
      *legacy = TRUE;
    }
  }
  for (guint i = 0; i < out->len; i++) {
    OutputReq *r = g_ptr_array_index(out, i);
    if (!storage_valid(r->req, request, error))
      return FALSE;
  }
  if (out->len == 0) {
    g_set_error(error, SL_EGRESS_ERROR, SL_EGRESS_ERROR_INVALID,
                "no outputs: the request needs a file or segments output");
    return FALSE;
  }
  return TRUE;
}

JsonObject *sl_egresses_start(SlEgresses *eg, const char *kind, JsonObject *request, GError **error)
{
  const char *room = json_object_get_string_member_with_default(request, "room_name", "");
  const char *identity = NULL;
  const char *only = NULL;
  const char *identifier;
  SlIngress *ing = NULL;
  SluiceSession *session;
  g_autoptr(GPtrArray) reqs = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc();
  gboolean legacy = FALSE;
  Egress *e;

  if (g_strcmp0(kind, "web") == 0) {
    g_set_error(error, SL_EGRESS_ERROR, SL_EGRESS_ERROR_UNIMPLEMENTED,
                "web egress needs a browser, which this node does not run");
    return NULL;
  }
  if (*room == '\0') {
    g_set_error(error, SL_EGRESS_ERROR, SL_EGRESS_ERROR_INVALID, "room_name is required");
    return NULL;
  }
  if (json_object_has_member(request, "preset") || json_object_has_member(request, "advanced")) {
    g_set_error(error, SL_EGRESS_ERROR, SL_EGRESS_ERROR_UNIMPLEMENTED,
                "encoding options need transcoding, which this node does not do yet; leave "
                "preset and advanced out to record the source as it is");
    return NULL;
  }

  if (g_strcmp0(kind, "room_composite") == 0) {
    ing = find_live(eg, room, NULL);
    if (json_object_get_boolean_member_with_default(request, "audio_only", FALSE))
      only = "audio";
    else if (json_object_get_boolean_member_with_default(request, "video_only", FALSE))
      only = "video";
  } else if (g_strcmp0(kind, "participant") == 0) {
    identity = json_object_get_string_member_with_default(request, "identity", "");
    if (*identity == '\0') {
      g_set_error(error, SL_EGRESS_ERROR, SL_EGRESS_ERROR_INVALID, "identity is required");
      return NULL;
    }
    ing = find_live(eg, room, identity);
  } else if (g_strcmp0(kind, "track_composite") == 0 || g_strcmp0(kind, "track") == 0) {
    const char *v = json_object_get_string_member_with_default(
        request, g_strcmp0(kind, "track") == 0 ? "track_id" : "video_track_id", "");
    const char *a = json_object_get_string_member_with_default(request, "audio_track_id", "");
    char k = 0;
    ing = *v ? find_live_track(eg, room, v, &k) : NULL;
    if (ing == NULL && *a)
      ing = find_live_track(eg, room, a, &k);
    if (ing != NULL && !(*v && *a))
      only = k == 'V' ? "video" : "audio";
  } else {
    g_set_error(error, SL_EGRESS_ERROR, SL_EGRESS_ERROR_INVALID, "unknown egress kind %s", kind);
    return NULL;
  }
  if (ing == NULL) {
    if (identity != NULL)
      g_set_error(error, SL_EGRESS_ERROR, SL_EGRESS_ERROR_NOT_FOUND,
                  "participant %s is not publishing in room %s", identity, room);
    else
      g_set_error(error, SL_EGRESS_ERROR, SL_EGRESS_ERROR_NOT_FOUND,
                  "room %s has no live session%s", room,
                  g_str_has_prefix(kind, "track") ? " with that track" : "");
    return NULL;
  }
  session = sl_sessions_get(eg->sessions, ing->resource_id);
  if (session == NULL && ing->owner != NULL) {
    /* Live on another worker of the cluster: the caller routes the request there. */
    g_set_error_literal(error, SL_EGRESS_ERROR, SL_EGRESS_ERROR_REMOTE, ing->owner);
    return NULL;
  }
  if (session == NULL) {
    g_set_error(error, SL_EGRESS_ERROR, SL_EGRESS_ERROR_NOT_FOUND,
                "room %s has no live session on this node", room);
    return NULL;
  }
  if (g_strcmp0(kind, "track") == 0 && json_object_has_member(request, "file")) {
    /* A track egress writes one track as it is (DirectFileOutput). */
    OutputReq *r = g_new0(OutputReq, 1);
    r->type = "file";
    r->req = json_object_get_object_member(request, "file");
    if (!storage_valid(r->req, request, error)) {
      g_free(r);
      return NULL;
    }
    g_ptr_array_add(reqs, r);
    legacy = TRUE;
  } else if (!collect_outputs(request, &legacy, reqs, error)) {
    return NULL;
  }

  e = g_new0(Egress, 1);
  e->id = sl_id_random("EG_", 12);
  e->session_id = g_strdup(ing->resource_id);
  e->kind = g_strdup(kind);
  e->legacy = legacy;
  e->outputs = g_ptr_array_new_with_free_func(output_free);
  e->info = json_object_new();
  json_object_set_string_member(e->info, "egress_id", e->id);
  json_object_set_string_member(e->info, "room_id", "");
  json_object_set_string_member(e->info, "room_name", room);
  json_object_set_int_member(e->info, "status", SL_EGRESS_STARTING);
  json_object_set_int_member(e->info, "updated_at", now_ns());
  {
    /* a deep copy: the request's own storage credentials must reach the handler unredacted */
    JsonNode *c = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(c, sl_json_object_copy(request));
    redact_request(c);
    json_object_set_member(e->info, kind, c);
  }

  identifier = identity ? identity : room;
  for (guint i = 0; i < reqs->len; i++) {
    OutputReq *r = g_ptr_array_index(reqs, i);
    SlTemplateVars vars = {.room_name = room,
                           .room_id = "",
                           .publisher_identity = ing->participant_identity,
                           .ingress_id = ing->id,
                           .now = now};
    g_autoptr(GError) local = NULL;
    JsonObject *opts = sl_outputs_resolve(sl_sessions_output_dir(eg->sessions), r->type, r->req,
                                          identifier, &vars, &local);
    EgressOutput *o = g_new0(EgressOutput, 1);
    o->id = g_strdup_printf("%s/%u", e->id, i);
    o->type = g_strdup(r->type);
    g_ptr_array_add(e->outputs, o);
    if (opts == NULL) {
      g_set_error(error, SL_EGRESS_ERROR, SL_EGRESS_ERROR_INVALID, "%s", local->message);
      egress_free(e);
      return NULL;
    }
    if (only != NULL)
      json_object_set_string_member(opts, "only", only);
    add_upload_options(opts, r->req, request);
    if (!sl_session_add_output(session, o->id, o->type, opts)) {
      json_object_unref(opts);
      g_set_error(error, SL_EGRESS_ERROR, SL_EGRESS_ERROR_NOT_FOUND, "the session of room %s ended",
                  room);
      egress_free(e);
      return NULL;
    }
    json_object_unref(opts);
  }
  g_hash_table_insert(eg->all, e->id, e);
  g_ptr_array_add(eg->order, e);
  sl_info("egress", "%s: %s egress of room %s on session %s, %u output%s", e->id, kind, room,
          e->session_id, e->outputs->len, e->outputs->len == 1 ? "" : "s");
  changed(eg, e);
  return sl_json_object_copy(e->info);
}

/* ---- reports from the handler ------------------------------------------------------------ */

static EgressOutput *output_of(SlEgresses *eg, const char *output_id, Egress **out_e)
{
  g_autofree char *egress_id = NULL;
  const char *slash = output_id ? strchr(output_id, '/') : NULL;
  Egress *e;
  if (slash == NULL)
    return NULL;
  egress_id = g_strndup(output_id, slash - output_id);
  e = g_hash_table_lookup(eg->all, egress_id);
  if (e == NULL)
    return NULL;
  *out_e = e;
  for (guint i = 0; i < e->outputs->len; i++) {
    EgressOutput *o = g_ptr_array_index(e->outputs, i);
    if (strcmp(o->id, output_id) == 0)
      return o;
  }
  return NULL;
}

/* A file that could not be stored fails the egress at its end, as LiveKit's "upload failed"
 * does; the file stays on local disk and the error says where. */
static const char *upload_failure(Egress *e)
{
  for (guint i = 0; i < e->outputs->len; i++) {
    EgressOutput *o = g_ptr_array_index(e->outputs, i);
    if (o->upload_error != NULL)
      return o->upload_error;
  }
  return NULL;
}

static void check_progress(SlEgresses *eg, Egress *e)
{
  guint added = 0, done = 0, failed = 0;
  const char *first_error = NULL;
  SlEgressStatus st = status_of(e);
  for (guint i = 0; i < e->outputs->len; i++) {
    EgressOutput *o = g_ptr_array_index(e->outputs, i);
    added += o->added;
    done += o->done;
    if (o->error != NULL) {
      failed++;
      first_error = first_error ? first_error : o->error;
    }
  }
  if (failed == e->outputs->len) {
    set_status(eg, e, SL_EGRESS_FAILED, first_error);
  } else if (done == e->outputs->len) {
    set_status(eg, e, upload_failure(e) ? SL_EGRESS_FAILED : SL_EGRESS_COMPLETE, upload_failure(e));
  } else if (st == SL_EGRESS_STARTING && added > 0) {
    set_status(eg, e, SL_EGRESS_ACTIVE, NULL);
  } else {
    changed(eg, e);
  }
}

static void record_result(SlEgresses *eg, EgressOutput *o, JsonObject *msg)
{
  const char *event = json_object_get_string_member_with_default(msg, "event", "");
  const char *filename = json_object_get_string_member_with_default(msg, "filename", "");
  gint64 size = json_object_get_int_member_with_default(msg, "size", 0);
  gint64 duration = json_object_get_int_member_with_default(msg, "duration", 0);
  gint64 start = json_object_get_int_member_with_default(msg, "start_time", 0);
  /* where the handler stored it (uploader.h), else where the output wrote it */
  const char *stored = json_object_get_string_member_with_default(msg, "location", NULL);
  g_autofree char *location =
      stored ? g_strdup(stored)
             : g_build_filename(sl_sessions_output_dir(eg->sessions), filename, NULL);

  if (o->result == NULL) {
    o->result = json_object_new();
  }
  if (strcmp(event, "file-closed") == 0) {
    json_object_set_string_member(o->result, "filename", filename);
    json_object_set_string_member(o->result, "location", location);
    json_object_set_int_member(o->result, "size", size);
    json_object_set_int_member(o->result, "duration", duration);
    if (start > 0) {
      json_object_set_int_member(o->result, "started_at", start);
      json_object_set_int_member(o->result, "ended_at", start + duration);
    }
  } else if (strcmp(event, "segment-closed") == 0) {
    o->segment_size += size;
    json_object_set_int_member(o->result, "size", o->segment_size);
    if (start > 0 && !json_object_has_member(o->result, "started_at"))
      json_object_set_int_member(o->result, "started_at", start);
    if (start > 0)
      json_object_set_int_member(o->result, "ended_at", start + duration);
  } else if (strcmp(event, "playlist-updated") == 0) {
    gboolean live = json_object_get_boolean_member_with_default(msg, "live", FALSE);
    if (live) {
      json_object_set_string_member(o->result, "live_playlist_name", filename);
      json_object_set_string_member(o->result, "live_playlist_location", location);
    } else {
      json_object_set_string_member(o->result, "playlist_name", filename);
      json_object_set_string_member(o->result, "playlist_location", location);
      json_object_set_int_member(o->result, "duration", duration);
      json_object_set_int_member(o->result, "segment_count",
                                 json_object_get_int_member_with_default(msg, "segment_count", 0));
    }
  }
}

void sl_egresses_on_output_message(SlEgresses *eg, const char *session_id, JsonObject *msg)
{
  const char *type = json_object_get_string_member_with_default(msg, "type", "");
  const char *output_id = json_object_get_string_member_with_default(msg, "output_id", NULL);
  const char *error = json_object_get_string_member_with_default(msg, "error", NULL);
  Egress *e = NULL;
  EgressOutput *o = output_of(eg, output_id, &e);
  if (o == NULL || is_final(status_of(e)))
    return;
  if (strcmp(type, "output-added") == 0) {
    if (error != NULL) {
      o->error = g_strdup(error);
      o->done = TRUE;
    } else {
      o->added = TRUE;
    }
    check_progress(eg, e);
  } else if (strcmp(type, "output-removed") == 0) {
    if (error != NULL && o->error == NULL)
      o->error = g_strdup(error);
    o->done = TRUE;
    check_progress(eg, e);
  } else if (strcmp(type, "output") == 0) {
    const char *upload_error =
        json_object_get_string_member_with_default(msg, "upload_error", NULL);
    const char *manifest =
        json_object_get_string_member_with_default(msg, "manifest_location", NULL);
    record_result(eg, o, msg);
    if (json_object_get_boolean_member_with_default(msg, "backup_storage_used", FALSE))
      json_object_set_boolean_member(e->info, "backup_storage_used", TRUE);
    if (manifest != NULL)
      json_object_set_string_member(e->info, "manifest_location", manifest);
    if (upload_error != NULL && o->upload_error == NULL)
      o->upload_error = g_strdup(upload_error);
    if (json_object_get_boolean_member_with_default(msg, "ended", FALSE) ||
        g_strcmp0(json_object_get_string_member_with_default(msg, "event", ""), "file-closed") == 0)
      o->done = status_of(e) == SL_EGRESS_ENDING || o->done;
    changed(eg, e);
  }
}

void sl_egresses_on_session_ended(SlEgresses *eg, const char *session_id, SlIngressStatus status,
                                  const char *error)
{
  for (guint i = 0; i < eg->order->len; i++) {
    Egress *e = g_ptr_array_index(eg->order, i);
    if (g_strcmp0(e->session_id, session_id) != 0 || is_final(status_of(e)))
      continue;
    /* The source is gone: what the outputs finalised is the result. A handler that died
     * leaves the files as they were, but the egress did not end as asked. */
    if (status == SL_INGRESS_ERROR)
      set_status(eg, e, SL_EGRESS_FAILED, error ? error : "the session failed");
    else
      set_status(eg, e, upload_failure(e) ? SL_EGRESS_FAILED : SL_EGRESS_COMPLETE,
                 upload_failure(e));
  }
}

/* ---- stop, list -------------------------------------------------------------------------- */

JsonObject *sl_egresses_stop(SlEgresses *eg, const char *egress_id, GError **error)
{
  Egress *e = egress_id ? g_hash_table_lookup(eg->all, egress_id) : NULL;
  SluiceSession *session;
  if (e == NULL) {
    g_set_error(error, SL_EGRESS_ERROR, SL_EGRESS_ERROR_NOT_FOUND, "egress %s not found",
                egress_id ? egress_id : "(none)");
    return NULL;
  }
  if (is_final(status_of(e))) {
    g_set_error(error, SL_EGRESS_ERROR, SL_EGRESS_ERROR_PRECONDITION,
                "egress %s already ended (%s)", e->id, sl_egress_status_name(status_of(e)));
    return NULL;
  }
  if (status_of(e) == SL_EGRESS_ENDING)
    return sl_json_object_copy(e->info);
  session = sl_sessions_get(eg->sessions, e->session_id);
  set_status(eg, e, SL_EGRESS_ENDING, NULL);
  for (guint i = 0; i < e->outputs->len; i++) {
    EgressOutput *o = g_ptr_array_index(e->outputs, i);
    if (o->done)
      continue;
    if (session == NULL || !sl_session_remove_output(session, o->id))
      o->done = TRUE;
  }
  check_progress(eg, e);
  return sl_json_object_copy(e->info);
}

JsonObject *sl_egresses_get(SlEgresses *eg, const char *egress_id)
{
  Egress *e = egress_id ? g_hash_table_lookup(eg->all, egress_id) : NULL;
  return e ? sl_json_object_copy(e->info) : NULL;
}

JsonArray *sl_egresses_list(SlEgresses *eg, const char *room_name, const char *egress_id,
                            gboolean active_only)
{
  JsonArray *out = json_array_new();
  for (guint i = 0; i < eg->order->len; i++) {
    Egress *e = g_ptr_array_index(eg->order, i);
    if (room_name && *room_name &&
        g_strcmp0(json_object_get_string_member(e->info, "room_name"), room_name) != 0)
      continue;
    if (egress_id && *egress_id && strcmp(e->id, egress_id) != 0)
      continue;
    if (active_only && is_final(status_of(e)))
      continue;
    json_array_add_object_element(out, sl_json_object_copy(e->info));
  }
  return out;
}
