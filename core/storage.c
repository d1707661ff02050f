/* Storage targets from config and the hand-off to storage plugins. See storage.h. */
#include "storage.h"

#include <string.h>

const char *const sl_storage_schemes[] = {"s3", "azure", "gcp", "alioss", NULL};

/* Copies every key declared under `prefix` ("storage.s3.", "ingresses.0.outputs.file.s3.") that
 * has a value into `st`. Children of sub-sections go into a nested structure. */
static void fill_fields(const SlConfig *cfg, const char *prefix, GstStructure *st)
{
  g_autofree char *sprefix = sl_config_schema_path(prefix);
  gsize plen = strlen(sprefix);
  for (const SlKeyDef *k = sl_core_keys; k->path != NULL; k++) {
    g_autofree char *path = NULL;
    const char *name;
    GValue v = G_VALUE_INIT;
    if (!g_str_has_prefix(k->path, sprefix))
      continue;
    name = k->path + plen;
    if (*name == '\0' || strchr(name, '.') != NULL || strchr(name, '[') != NULL)
      continue;
    path = g_strconcat(prefix, name, NULL);
    /* Absent unless written or defaulted, so a plugin can tell "unset" apart (force_path_style
     * defaults by endpoint). */
    if (k->def == NULL && !sl_config_is_set(cfg, path))
      continue;
    switch (k->type) {
    case SL_KEY_STRING: {
      const char *s = sl_config_get_string(cfg, path);
      if (s == NULL)
        continue;
      g_value_init(&v, G_TYPE_STRING);
      g_value_set_string(&v, s);
      break;
    }
    case SL_KEY_BOOL:
      g_value_init(&v, G_TYPE_BOOLEAN);
      g_value_set_boolean(&v, sl_config_get_bool(cfg, path));
      break;
    case SL_KEY_INT:
      g_value_init(&v, G_TYPE_INT64);
      g_value_set_int64(&v, sl_config_get_int(cfg, path));
      break;
    case SL_KEY_DURATION:
    case SL_KEY_DOUBLE:
      g_value_init(&v, G_TYPE_DOUBLE);
      g_value_set_double(&v, sl_config_get_double(cfg, path));
      break;
    case SL_KEY_FREEMAP: {
      const char *const *pairs = sl_config_get_map_pairs(cfg, path);
      if (pairs[0] == NULL)
        continue;
      g_value_init(&v, G_TYPE_STRV);
      g_value_set_boxed(&v, pairs);
      break;
    }
    case SL_KEY_SECTION: {
      g_autofree char *sub = g_strconcat(path, ".", NULL);
      GstStructure *nested;
      if (!sl_config_is_set(cfg, path))
        continue;
      nested = gst_structure_new_empty(name);
      fill_fields(cfg, sub, nested);
      g_value_init(&v, GST_TYPE_STRUCTURE);
      g_value_take_boxed(&v, nested);
      break;
    }
    default:
      continue;
    }
    gst_structure_take_value(st, name, &v);
  }
}

/* Targets nest GstStructures (proxy_config), whose type needs GStreamer initialised; a caller
 * that only builds targets (`sluice upload`) may not have done it yet. */
static void ensure_gst(void)
{
  if (!gst_is_initialized())
    gst_init(NULL, NULL);
}

GstStructure *sl_storage_target_from_config(const SlConfig *cfg, const char *section,
                                            GError **error)
{
  GstStructure *found = NULL;
  ensure_gst();
  for (guint i = 0; sl_storage_schemes[i]; i++) {
    const char *scheme = sl_storage_schemes[i];
    g_autofree char *path = *section ? g_strdup_printf("%s.%s", section, scheme) : g_strdup(scheme);
    g_autofree char *prefix = g_strconcat(path, ".", NULL);
    if (!sl_config_is_set(cfg, path))
      continue;
    if (found != NULL) {
      g_set_error(error, SL_STORAGE_ERROR, SL_STORAGE_ERROR_AMBIGUOUS,
                  "%s%sconfigures both %s and %s; keep one", section, *section ? ": " : "",
                  gst_structure_get_name(found), scheme);
      gst_structure_free(found);
      return NULL;
    }
    found = gst_structure_new_empty(scheme);
    fill_fields(cfg, prefix, found);
  }
  return found;
}

GstStructure *sl_storage_default_target(const SlConfig *cfg, GError **error)
{
  GError *err = NULL;
  GstStructure *t = sl_storage_target_from_config(cfg, "storage", &err);
  if (t != NULL || err != NULL) {
    if (err != NULL)
      g_propagate_error(error, err);
    return t;
  }
  return sl_storage_target_from_config(cfg, "", error);
}

/* ---- targets from API requests ------------------------------------------------------------ */

/* The request members that name a backend, and the scheme each one is. */
static const struct {
  const char *member, *scheme;
} json_providers[] = {
    {"s3", "s3"},         {"azure", "azure"},   {"gcp", "gcp"},
    {"aliOSS", "alioss"}, {"alioss", "alioss"}, {"ali_oss", "alioss"},
};

/* "accessKey" → "access_key"; proto field names pass unchanged. */
static char *snake_case(const char *name)
{
  GString *out = g_string_new(NULL);
  for (const char *c = name; *c; c++) {
    if (g_ascii_isupper(*c)) {
      if (out->len > 0)
        g_string_append_c(out, '_');
      g_string_append_c(out, g_ascii_tolower(*c));
    } else {
      g_string_append_c(out, *c);
    }
  }
  return g_string_free(out, FALSE);
}

static const SlKeyDef *storage_key(const char *scheme, const char *name)
{
  g_autofree char *path = g_strdup_printf("storage.%s.%s", scheme, name);
  for (const SlKeyDef *k = sl_core_keys; k->path != NULL; k++)
    if (strcmp(k->path, path) == 0)
      return k;
  return NULL;
}

static gboolean json_is(JsonNode *n, GType type)
{
  return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == type;
}

/* Fills `st` from the members of `obj`; `scheme` names the schema section ("s3"), `section`
 * the nested one ("proxy_config") or NULL, and `where` the members' path for messages. */
static gboolean fill_from_json(const char *scheme, const char *section, JsonObject *obj,
                               GstStructure *st, const char *where, GError **error)
{
  g_autoptr(GList) members = json_object_get_members(obj);
  for (GList *m = members; m; m = m->next) {
    JsonNode *n = json_object_get_member(obj, m->data);
    g_autofree char *name = snake_case(m->data);
    g_autofree char *key = NULL;
    const SlKeyDef *def;
    GValue v = G_VALUE_INIT;

    const char *renamed = NULL;

    if (section == NULL && strcmp(name, "proxy") == 0)
      renamed = "proxy_config";
    else if (section == NULL && strcmp(name, "credentials") == 0)
      renamed = "credentials_json";
    if (renamed != NULL) {
      g_free(name);
      name = g_strdup(renamed);
    }
    key = section ? g_strdup_printf("%s.%s", section, name) : g_strdup(name);
    def = storage_key(scheme, key);
    if (def == NULL) {
      g_set_error(error, SL_STORAGE_ERROR, SL_STORAGE_ERROR_INVALID,
                  "%s.%s: not a field of %s storage", where, (char *)m->data, scheme);
      return FALSE;
    }
    if (JSON_NODE_HOLDS_NULL(n))
      continue;
    switch (def->type) {
    case SL_KEY_STRING:
      if (!json_is(n, G_TYPE_STRING))
        goto wrong;
      /* proto3: an empty string is the same as no value */
      if (*json_node_get_string(n) == '\0')
        continue;
      g_value_init(&v, G_TYPE_STRING);
      g_value_set_string(&v, json_node_get_string(n));
      break;
    case SL_KEY_BOOL:
      if (!json_is(n, G_TYPE_BOOLEAN))
        goto wrong;
      /* proto3: false is the same as unset, which lets the plugin pick its default */
      if (!json_node_get_boolean(n))
        continue;
      g_value_init(&v, G_TYPE_BOOLEAN);
      g_value_set_boolean(&v, TRUE);
      break;
    case SL_KEY_INT:
      if (!json_is(n, G_TYPE_INT64) && !json_is(n, G_TYPE_DOUBLE))
        goto wrong;
      g_value_init(&v, G_TYPE_INT64);
      g_value_set_int64(&v, json_is(n, G_TYPE_INT64) ? json_node_get_int(n)
                                                     : (gint64)json_node_get_double(n));
      break;
    case SL_KEY_DURATION:
    case SL_KEY_DOUBLE: {
      double d = 0;
      if (json_is(n, G_TYPE_INT64) || json_is(n, G_TYPE_DOUBLE))
        d = json_node_get_double(n);
      else if (!json_is(n, G_TYPE_STRING) || !sl_config_parse_duration(json_node_get_string(n), &d))
        goto wrong;
      g_value_init(&v, G_TYPE_DOUBLE);
      g_value_set_double(&v, d);
      break;
    }
    case SL_KEY_FREEMAP: {
      g_autoptr(GStrvBuilder) b = g_strv_builder_new();
      g_auto(GStrv) pairs = NULL;
      JsonObject *map;
      g_autoptr(GList) keys = NULL;
      if (!JSON_NODE_HOLDS_OBJECT(n))
        goto wrong;
      map = json_node_get_object(n);
      keys = json_object_get_members(map);
      for (GList *k = keys; k; k = k->next) {
        JsonNode *val = json_object_get_member(map, k->data);
        if (!json_is(val, G_TYPE_STRING))
          goto wrong;
        g_strv_builder_add(b, k->data);
        g_strv_builder_add(b, json_node_get_string(val));
      }
      pairs = g_strv_builder_end(b);
      if (pairs[0] == NULL)
        continue;
      g_value_init(&v, G_TYPE_STRV);
      g_value_set_boxed(&v, pairs);
      break;
    }
    case SL_KEY_SECTION: {
      g_autofree char *sub_where = g_strdup_printf("%s.%s", where, (char *)m->data);
      GstStructure *nested;
      if (section != NULL || !JSON_NODE_HOLDS_OBJECT(n))
        goto wrong;
      nested = gst_structure_new_empty(name);
      if (!fill_from_json(scheme, name, json_node_get_object(n), nested, sub_where, error)) {
        gst_structure_free(nested);
        return FALSE;
      }
      g_value_init(&v, GST_TYPE_STRUCTURE);
      g_value_take_boxed(&v, nested);
      break;
    }
    default:
      goto wrong;
    }
    gst_structure_take_value(st, name, &v);
    continue;
  wrong:
    g_set_error(error, SL_STORAGE_ERROR, SL_STORAGE_ERROR_INVALID, "%s.%s: expected %s", where,
                (char *)m->data,
                def->type == SL_KEY_STRING    ? "a string"
                : def->type == SL_KEY_BOOL    ? "true or false"
                : def->type == SL_KEY_FREEMAP ? "an object of strings"
                : def->type == SL_KEY_SECTION ? "an object"
                                              : "a number");
    return FALSE;
  }
  return TRUE;
}

static gboolean field_is_set(const GstStructure *st, const char *name)
{
  const char *s = gst_structure_get_string(st, name);
  return s != NULL && *s != '\0';
}

/* A request's S3 target and the node's s3_assume_role_* keys, as LiveKit's egress combines them:
 * without a role of its own the request takes the node's default (s3_assume_role_arn and its
 * external id); with a role but no access key, the role is assumed with the node's
 * s3_assume_role_key/secret. A role and no key anywhere is refused, so that a request cannot use
 * whatever credentials the node finds in its environment to assume a role of its choosing. */
static gboolean assume_role_defaults(const SlConfig *cfg, GstStructure *st, GError **error)
{
  const char *arn = cfg ? sl_config_get_string(cfg, "s3_assume_role_arn") : NULL;
  const char *key = cfg ? sl_config_get_string(cfg, "s3_assume_role_key") : NULL;
  const char *secret;

  if (!field_is_set(st, "assume_role_arn") && arn != NULL && *arn != '\0') {
    const char *ext = sl_config_get_string(cfg, "s3_assume_role_external_id");
    gst_structure_set(st, "assume_role_arn", G_TYPE_STRING, arn, NULL);
    gst_structure_remove_field(st, "assume_role_external_id");
    if (ext != NULL && *ext != '\0')
      gst_structure_set(st, "assume_role_external_id", G_TYPE_STRING, ext, NULL);
  }
  if (!field_is_set(st, "assume_role_arn")) {
    gst_structure_remove_fields(st, "assume_role_arn", "assume_role_external_id", NULL);
    return TRUE;
  }
  if (field_is_set(st, "access_key"))
    return TRUE;
  if (key == NULL || *key == '\0') {
    g_set_error(error, SL_STORAGE_ERROR, SL_STORAGE_ERROR_INVALID,
                "s3.assume_role_arn: S3 upload using AssumeRole is disabled on this node "
                "(give access_key and secret in the request, or set s3_assume_role_key and "
                "s3_assume_role_secret in the config)");
    return FALSE;
  }
  secret = sl_config_get_string(cfg, "s3_assume_role_secret");
  if (secret == NULL || *secret == '\0') {
    g_set_error(error, SL_STORAGE_ERROR, SL_STORAGE_ERROR_INVALID,
                "s3.assume_role_arn: the config sets s3_assume_role_key but no "
                "s3_assume_role_secret");
    return FALSE;
  }
  gst_structure_set(st, "access_key", G_TYPE_STRING, key, "secret", G_TYPE_STRING, secret, NULL);
  gst_structure_remove_field(st, "session_token");
  return TRUE;
}

GstStructure *sl_storage_target_from_json_scheme(const SlConfig *cfg, const char *scheme,
                                                 JsonObject *obj, GError **error)
{
  g_autoptr(GstStructure) st = NULL;
  ensure_gst();
  st = gst_structure_new_empty(scheme);
  if (!fill_from_json(scheme, NULL, obj, st, scheme, error))
    return NULL;
  /* What a request cannot say (retries) comes from the node's config, as for LiveKit. */
  for (const SlKeyDef *k = sl_core_keys; cfg != NULL && k->path != NULL; k++) {
    g_autofree char *prefix = g_strdup_printf("storage.%s.", scheme);
    const char *name = k->path + strlen(prefix);
    if (!g_str_has_prefix(k->path, prefix) || k->def == NULL || strchr(name, '.') != NULL ||
        gst_structure_has_field(st, name))
      continue;
    if (k->type == SL_KEY_INT)
      gst_structure_set(st, name, G_TYPE_INT64, sl_config_get_int(cfg, k->path), NULL);
    else if (k->type == SL_KEY_DURATION || k->type == SL_KEY_DOUBLE)
      gst_structure_set(st, name, G_TYPE_DOUBLE, sl_config_get_double(cfg, k->path), NULL);
    else if (k->type == SL_KEY_BOOL)
      gst_structure_set(st, name, G_TYPE_BOOLEAN, sl_config_get_bool(cfg, k->path), NULL);
  }
  if (g_str_equal(scheme, "s3") && !assume_role_defaults(cfg, st, error))
    return NULL;
  return g_steal_pointer(&st);
}

GstStructure *sl_storage_target_from_json(const SlConfig *cfg, JsonObject *holder, GError **error)
{
  const char *found = NULL, *found_scheme = NULL;
  for (guint i = 0; holder != NULL && i < G_N_ELEMENTS(json_providers); i++) {
    JsonNode *n = json_object_get_member(holder, json_providers[i].member);
    if (n == NULL || JSON_NODE_HOLDS_NULL(n))
      continue;
    if (!JSON_NODE_HOLDS_OBJECT(n)) {
      g_set_error(error, SL_STORAGE_ERROR, SL_STORAGE_ERROR_INVALID, "%s: expected an object",
                  json_providers[i].member);
      return NULL;
    }
    if (found != NULL) {
      g_set_error(error, SL_STORAGE_ERROR, SL_STORAGE_ERROR_AMBIGUOUS,
                  "both %s and %s are given; an output goes to one storage", found,
                  json_providers[i].member);
      return NULL;
    }
    found = json_providers[i].member;
    found_scheme = json_providers[i].scheme;
  }
  if (found == NULL)
    return NULL;
  return sl_storage_target_from_json_scheme(cfg, found_scheme,
                                            json_object_get_object_member(holder, found), error);
}

static gboolean names_storage(JsonObject *holder)
{
  for (guint i = 0; holder != NULL && i < G_N_ELEMENTS(json_providers); i++) {
    JsonNode *n = json_object_get_member(holder, json_providers[i].member);
    if (n != NULL && !JSON_NODE_HOLDS_NULL(n))
      return TRUE;
  }
  return FALSE;
}

static JsonObject *object_member(JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member(o, name) : NULL;
  return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

JsonObject *sl_storage_request_storage(JsonObject *output, JsonObject *request, GError **error)
{
  JsonObject *candidates[] = {output, object_member(output, "storage"),
                              object_member(request, "storage")};
  for (guint i = 0; i < G_N_ELEMENTS(candidates); i++) {
    g_autoptr(GstStructure) check = NULL;
    JsonObject *copy;
    GError *local = NULL;
    if (!names_storage(candidates[i]))
      continue;
    check = sl_storage_target_from_json(NULL, candidates[i], &local);
    if (check == NULL) {
      g_propagate_error(error, local);
      return NULL;
    }
    copy = json_object_new();
    for (guint k = 0; k < G_N_ELEMENTS(json_providers); k++) {
      JsonNode *n = json_object_get_member(candidates[i], json_providers[k].member);
      if (n != NULL && JSON_NODE_HOLDS_OBJECT(n))
        json_object_set_member(copy, json_providers[k].member, json_node_copy(n));
    }
    return copy;
  }
  return NULL;
}

SlPlugin *sl_storage_find_plugin(SlPluginSet *set, const char *scheme)
{
  GPtrArray *all = sl_plugin_set_list(set);
  for (guint i = 0; i < all->len; i++) {
    SlPlugin *pl = g_ptr_array_index(all, i);
    if (pl->state == SL_PLUGIN_LOADED && pl->enabled &&
        pl->desc.kind == SLUICE_PLUGIN_KIND_STORAGE && g_strcmp0(pl->storage.scheme, scheme) == 0)
      return pl;
  }
  return NULL;
}

gboolean sl_storage_upload(SlPluginSet *set, const GstStructure *target, const char *local_path,
                           const char *key, char **location, GError **error)
{
  const char *scheme = gst_structure_get_name(target);
  SlPlugin *pl = sl_storage_find_plugin(set, scheme);
  if (pl == NULL) {
    g_set_error(error, SL_STORAGE_ERROR, SL_STORAGE_ERROR_NO_PLUGIN,
                "no storage plugin for %s is loaded (enable upload-%s in plugins.enable)", scheme,
                scheme);
    return FALSE;
  }
  return pl->storage.upload(target, local_path, key, sl_storage_content_type(key), location, error);
}

const char *sl_storage_content_type(const char *filename)
{
  static const struct {
    const char *ext, *type;
  } types[] = {
      {".mp4", "video/mp4"},         {".m4a", "audio/mp4"},   {".ogg", "audio/ogg"},
      {".webm", "video/webm"},       {".ts", "video/MP2T"},   {".m3u8", "application/x-mpegurl"},
      {".jpg", "image/jpeg"},        {".jpeg", "image/jpeg"}, {".png", "image/png"},
      {".json", "application/json"}, {".txt", "text/plain"},
  };
  const char *dot = filename ? strrchr(filename, '.') : NULL;
  if (dot != NULL)
    for (guint i = 0; i < G_N_ELEMENTS(types); i++)
      if (g_ascii_strcasecmp(dot, types[i].ext) == 0)
        return types[i].type;
  return "application/octet-stream";
}
