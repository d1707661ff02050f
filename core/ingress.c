/* Ingresses and their state. See ingress.h. */
#include "ingress.h"

#include "ids.h"
#include "log.h"

#include <string.h>

struct _SlIngressStore {
  GPtrArray *all;     /* SlIngress*, owned */
  GHashTable *by_key; /* stream key → SlIngress* */
  GHashTable *by_id;  /* id → SlIngress* */
};

static const char id_alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

void sl_ingress_free(SlIngress *ing)
{
  if (ing == NULL)
    return;
  if (ing->video)
    json_object_unref(ing->video);
  if (ing->audio)
    json_object_unref(ing->audio);
  g_free(ing->participant_metadata);
  g_free(ing->id);
  g_free(ing->name);
  g_free(ing->stream_key);
  g_free(ing->input_type);
  g_free(ing->room_name);
  g_free(ing->participant_identity);
  g_free(ing->participant_name);
  g_free(ing->error);
  g_free(ing->resource_id);
  g_free(ing->owner);
  if (ing->outputs)
    json_object_unref(ing->outputs);
  g_free(ing);
}

static void ingress_free(gpointer p)
{
  sl_ingress_free(p);
}

SlIngressStore *sl_ingress_store_new(void)
{
  SlIngressStore *s = g_new0(SlIngressStore, 1);
  s->all = g_ptr_array_new_with_free_func(ingress_free);
  s->by_key = g_hash_table_new(g_str_hash, g_str_equal);
  s->by_id = g_hash_table_new(g_str_hash, g_str_equal);
  return s;
}

void sl_ingress_store_free(SlIngressStore *s)
{
  if (s == NULL)
    return;
  g_hash_table_unref(s->by_key);
  g_hash_table_unref(s->by_id);
  g_ptr_array_unref(s->all);
  g_free(s);
}

/* A stable id for a configured ingress: the same name gives the same id on every start, so logs,
 * webhooks and file names stay comparable across restarts. */
static char *derive_id(const char *name)
{
  g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize len = sizeof digest;
  GString *id = g_string_new("IN_");
  g_checksum_update(sum, (const guchar *)"sluice-ingress:", -1);
  g_checksum_update(sum, (const guchar *)name, -1);
  g_checksum_get_digest(sum, digest, &len);
  for (int i = 0; i < 12; i++)
    g_string_append_c(id, id_alphabet[digest[i] % (sizeof id_alphabet - 1)]);
  return g_string_free(id, FALSE);
}

/* Stream keys are secrets: 20 characters from the kernel's random source (~117 bits). */
static char *random_key(void)
{
  return sl_id_random(NULL, 20);
}

static gboolean fail(GError **error, SlConfig *cfg, const char *path, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
static gboolean fail(GError **error, SlConfig *cfg, const char *path, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;
  g_auto(GStrv) parts = g_strsplit(path, ".", 3);
  g_autofree char *disp = parts[1] && parts[2]
                              ? g_strdup_printf("%s[%s].%s", parts[0], parts[1], parts[2])
                              : g_strdup(path);
  va_start(ap, fmt);
  msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(error, SL_CONFIG_ERROR, SL_CONFIG_ERROR_INVALID, "%s:%u: %s: %s",
              sl_config_source(cfg), sl_config_line(cfg, path), disp, msg);
  return FALSE;
}

/* Copies one configured output section into JSON, keeping only the keys that were written plus
 * the defaults the handler needs. */
static JsonObject *output_section(SlConfig *cfg, const char *base, const char *const *str_keys,
                                  const char *const *int_keys)
{
  JsonObject *o = json_object_new();
  for (guint i = 0; str_keys && str_keys[i]; i++) {
    g_autofree char *p = g_strdup_printf("%s.%s", base, str_keys[i]);
    const char *v = sl_config_get_string(cfg, p);
    if (v != NULL)
      json_object_set_string_member(o, str_keys[i], v);
  }
  for (guint i = 0; int_keys && int_keys[i]; i++) {
    g_autofree char *p = g_strdup_printf("%s.%s", base, int_keys[i]);
    json_object_set_int_member(o, int_keys[i], sl_config_get_int(cfg, p));
  }
  return o;
}

gboolean sl_ingress_store_load_config(SlIngressStore *store, SlConfig *cfg, GError **error)
{
  guint n = sl_config_list_len(cfg, "ingresses");
  g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);

  for (guint i = 0; i < n; i++) {
    g_autofree char *base = g_strdup_printf("ingresses.%u", i);
#define P(key) (g_strdup_printf("%s.%s", base, key))
    g_autofree char *p_name = P("name");
    g_autofree char *p_key = P("stream_key");
    g_autofree char *p_type = P("input_type");
    g_autofree char *p_id = P("ingress_id");
    g_autofree char *p_room = P("room_name");
    g_autofree char *p_ident = P("participant_identity");
    g_autofree char *p_pname = P("participant_name");
    g_autofree char *p_enabled = P("enabled");
    g_autofree char *p_tx = P("enable_transcoding");
    g_autofree char *p_file = P("outputs.file");
    g_autofree char *p_seg = P("outputs.segments");
    g_autofree char *p_suffix = P("outputs.segments.filename_suffix");
#undef P
    const char *name = sl_config_get_string(cfg, p_name);
    const char *key = sl_config_get_string(cfg, p_key);
    const char *type = sl_config_get_string(cfg, p_type);
    SlIngress *ing;

    if (name == NULL || *name == '\0')
      return fail(error, cfg, p_name, "an ingress needs a name");
    if (g_hash_table_contains(names, name))
      return fail(error, cfg, p_name, "another ingress is already called '%s'", name);
    if (g_ascii_strcasecmp(type, "rtmp") != 0 && g_ascii_strcasecmp(type, "RTMP_INPUT") != 0 &&
        strcmp(type, "0") != 0)
      return fail(error, cfg, p_type, "'%s' is not an input type this node takes (rtmp)", type);
    if (key != NULL && (strlen(key) < 4 || strchr(key, '/') || strchr(key, '?')))
      return fail(error, cfg, p_key, "a stream key needs at least 4 characters and no '/' or '?'");
    if (key != NULL && sl_ingress_store_by_key(store, key) != NULL)
      return fail(error, cfg, p_key, "another ingress already uses this stream key");
    if (sl_config_is_set(cfg, p_suffix)) {
      const char *suffix = sl_config_get_string(cfg, p_suffix);
      if (g_ascii_strcasecmp(suffix, "INDEX") != 0 && g_ascii_strcasecmp(suffix, "TIMESTAMP") != 0)
        return fail(error, cfg, p_suffix, "'%s' is not INDEX or TIMESTAMP", suffix);
    }

    ing = g_new0(SlIngress, 1);
    ing->name = g_strdup(name);
    ing->id = sl_config_get_string(cfg, p_id) ? g_strdup(sl_config_get_string(cfg, p_id))
                                              : derive_id(name);
    ing->key_generated = key == NULL;
    ing->stream_key = key ? g_strdup(key) : random_key();
    sl_log_register_secret(ing->stream_key);
    ing->input_type = g_strdup("rtmp");
    ing->room_name =
        g_strdup(sl_config_get_string(cfg, p_room) ? sl_config_get_string(cfg, p_room) : name);
    ing->participant_identity =
        g_strdup(sl_config_get_string(cfg, p_ident) ? sl_config_get_string(cfg, p_ident) : name);
    ing->participant_name = g_strdup(sl_config_get_string(cfg, p_pname));
    ing->enabled = sl_config_get_bool(cfg, p_enabled);
    ing->transcoding = sl_config_get_bool(cfg, p_tx);
    ing->reusable = TRUE;
    ing->from_config = TRUE;
    if (sl_config_is_set(cfg, p_file) || sl_config_is_set(cfg, p_seg)) {
      static const char *const file_str[] = {"filepath", NULL};
      static const char *const seg_str[] = {"filename_prefix", "playlist_name",
                                            "live_playlist_name", "filename_suffix", NULL};
      static const char *const seg_int[] = {"segment_duration", NULL};
      ing->outputs = json_object_new();
      if (sl_config_is_set(cfg, p_file))
        json_object_set_object_member(ing->outputs, "file",
                                      output_section(cfg, p_file, file_str, NULL));
      if (sl_config_is_set(cfg, p_seg))
        json_object_set_object_member(ing->outputs, "segments",
                                      output_section(cfg, p_seg, seg_str, seg_int));
    }
    g_ptr_array_add(store->all, ing);
    g_hash_table_add(names, ing->name);
    g_hash_table_insert(store->by_key, ing->stream_key, ing);
    g_hash_table_insert(store->by_id, ing->id, ing);
  }
  return TRUE;
}

SlIngress *sl_ingress_new_random(void)
{
  SlIngress *ing = g_new0(SlIngress, 1);
  ing->id = sl_id_random("IN_", 12);
  ing->stream_key = random_key();
  sl_log_register_secret(ing->stream_key);
  ing->input_type = g_strdup("rtmp");
  ing->enabled = TRUE;
  ing->reusable = TRUE;
  return ing;
}

gboolean sl_ingress_store_add(SlIngressStore *store, SlIngress *ing, GError **error)
{
  if (g_hash_table_contains(store->by_id, ing->id) ||
      g_hash_table_contains(store->by_key, ing->stream_key)) {
    g_set_error(error, SL_CONFIG_ERROR, SL_CONFIG_ERROR_INVALID,
                "an ingress with this id or stream key exists already");
    sl_ingress_free(ing);
    return FALSE;
  }
  g_ptr_array_add(store->all, ing);
  g_hash_table_insert(store->by_key, ing->stream_key, ing);
  g_hash_table_insert(store->by_id, ing->id, ing);
  return TRUE;
}

void sl_ingress_store_remove(SlIngressStore *store, SlIngress *ing)
{
  g_hash_table_remove(store->by_key, ing->stream_key);
  g_hash_table_remove(store->by_id, ing->id);
  g_ptr_array_remove(store->all, ing);
}

SlIngress *sl_ingress_store_by_key(SlIngressStore *store, const char *stream_key)
{
  return stream_key ? g_hash_table_lookup(store->by_key, stream_key) : NULL;
}

SlIngress *sl_ingress_store_by_id(SlIngressStore *store, const char *id)
{
  return id ? g_hash_table_lookup(store->by_id, id) : NULL;
}

GPtrArray *sl_ingress_store_list(SlIngressStore *store)
{
  return store->all;
}

/* ---- bus records ------------------------------------------------------------------------- */

static void put_str(JsonObject *o, const char *key, const char *v)
{
  if (v != NULL)
    json_object_set_string_member(o, key, v);
}

static void take_str(char **field, JsonObject *o, const char *key)
{
  if (!json_object_has_member(o, key))
    return;
  g_free(*field);
  *field = json_object_get_null_member(o, key)
               ? NULL
               : g_strdup(json_object_get_string_member_with_default(o, key, ""));
}

static void take_obj(JsonObject **field, JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member(o, key);
  g_clear_pointer(field, json_object_unref);
  if (n != NULL && JSON_NODE_HOLDS_OBJECT(n))
    *field = json_object_ref(json_node_get_object(n));
}

JsonObject *sl_ingress_to_record(SlIngress *ing)
{
  JsonObject *o = json_object_new();
  put_str(o, "ingress_id", ing->id);
  put_str(o, "name", ing->name);
  put_str(o, "stream_key", ing->stream_key);
  put_str(o, "input_type", ing->input_type);
  put_str(o, "room_name", ing->room_name);
  put_str(o, "participant_identity", ing->participant_identity);
  put_str(o, "participant_name", ing->participant_name);
  put_str(o, "participant_metadata", ing->participant_metadata);
  json_object_set_boolean_member(o, "enabled", ing->enabled);
  json_object_set_boolean_member(o, "reusable", ing->reusable);
  json_object_set_boolean_member(o, "enable_transcoding", ing->transcoding);
  json_object_set_boolean_member(o, "key_generated", ing->key_generated);
  json_object_set_boolean_member(o, "from_config", ing->from_config);
  if (ing->outputs)
    json_object_set_object_member(o, "outputs", json_object_ref(ing->outputs));
  json_object_set_int_member(o, "status", ing->status);
  put_str(o, "error", ing->error);
  put_str(o, "resource_id", ing->resource_id);
  put_str(o, "owner", ing->owner);
  if (ing->video)
    json_object_set_object_member(o, "video", json_object_ref(ing->video));
  if (ing->audio)
    json_object_set_object_member(o, "audio", json_object_ref(ing->audio));
  json_object_set_int_member(o, "started_at", ing->started_at);
  json_object_set_int_member(o, "ended_at", ing->ended_at);
  json_object_set_int_member(o, "updated_at", ing->updated_at);
  return o;
}

SlIngress *sl_ingress_from_record(JsonObject *rec)
{
  const char *id = json_object_get_string_member_with_default(rec, "ingress_id", NULL);
  const char *key = json_object_get_string_member_with_default(rec, "stream_key", NULL);
  SlIngress *ing;
  if (id == NULL || *id == '\0' || key == NULL || *key == '\0')
    return NULL;
  ing = g_new0(SlIngress, 1);
  ing->id = g_strdup(id);
  ing->stream_key = g_strdup(key);
  sl_log_register_secret(ing->stream_key);
  ing->input_type = g_strdup("rtmp");
  sl_ingress_apply_record(NULL, ing, rec, TRUE);
  return ing;
}

void sl_ingress_apply_record(SlIngressStore *store, SlIngress *ing, JsonObject *rec,
                             gboolean with_state)
{
  const char *key = json_object_get_string_member_with_default(rec, "stream_key", NULL);
  if (key != NULL && *key != '\0' && g_strcmp0(key, ing->stream_key) != 0) {
    if (store != NULL)
      g_hash_table_remove(store->by_key, ing->stream_key);
    g_free(ing->stream_key);
    ing->stream_key = g_strdup(key);
    sl_log_register_secret(ing->stream_key);
    if (store != NULL)
      g_hash_table_insert(store->by_key, ing->stream_key, ing);
  }
  take_str(&ing->name, rec, "name");
  take_str(&ing->input_type, rec, "input_type");
  take_str(&ing->room_name, rec, "room_name");
  take_str(&ing->participant_identity, rec, "participant_identity");
  take_str(&ing->participant_name, rec, "participant_name");
  take_str(&ing->participant_metadata, rec, "participant_metadata");
  ing->enabled = json_object_get_boolean_member_with_default(rec, "enabled", ing->enabled);
  ing->reusable = json_object_get_boolean_member_with_default(rec, "reusable", ing->reusable);
  ing->transcoding =
      json_object_get_boolean_member_with_default(rec, "enable_transcoding", ing->transcoding);
  ing->key_generated =
      json_object_get_boolean_member_with_default(rec, "key_generated", ing->key_generated);
  ing->from_config =
      json_object_get_boolean_member_with_default(rec, "from_config", ing->from_config);
  take_obj(&ing->outputs, rec, "outputs");
  if (!with_state)
    return;
  ing->status = (SlIngressStatus)json_object_get_int_member_with_default(rec, "status", 0);
  g_clear_pointer(&ing->error, g_free);
  g_clear_pointer(&ing->resource_id, g_free);
  g_clear_pointer(&ing->owner, g_free);
  take_str(&ing->error, rec, "error");
  take_str(&ing->resource_id, rec, "resource_id");
  take_str(&ing->owner, rec, "owner");
  take_obj(&ing->video, rec, "video");
  take_obj(&ing->audio, rec, "audio");
  ing->started_at = json_object_get_int_member_with_default(rec, "started_at", 0);
  ing->ended_at = json_object_get_int_member_with_default(rec, "ended_at", 0);
  ing->updated_at = json_object_get_int_member_with_default(rec, "updated_at", 0);
}

void sl_ingress_set_status(SlIngress *ing, SlIngressStatus status, const char *error)
{
  gint64 now = g_get_real_time() * 1000;
  if (status == SL_INGRESS_BUFFERING) {
    ing->started_at = now;
    ing->ended_at = 0;
    g_clear_pointer(&ing->error, g_free);
  }
  if (status == SL_INGRESS_INACTIVE || status == SL_INGRESS_COMPLETE || status == SL_INGRESS_ERROR)
    ing->ended_at = now;
  if (status == SL_INGRESS_ERROR && ing->error == NULL)
    ing->error = g_strdup(error ? error : "unknown error");
  ing->status = status;
  ing->updated_at = now;
}

const char *sl_ingress_status_name(SlIngressStatus status)
{
  switch (status) {
  case SL_INGRESS_INACTIVE:
    return "ENDPOINT_INACTIVE";
  case SL_INGRESS_BUFFERING:
    return "ENDPOINT_BUFFERING";
  case SL_INGRESS_PUBLISHING:
    return "ENDPOINT_PUBLISHING";
  case SL_INGRESS_ERROR:
    return "ENDPOINT_ERROR";
  case SL_INGRESS_COMPLETE:
    return "ENDPOINT_COMPLETE";
  }
  return "ENDPOINT_INACTIVE";
}
