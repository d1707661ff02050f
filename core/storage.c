/* Storage targets from config and the hand-off to storage plugins. See storage.h. */
#include "storage.h"

#include <string.h>

const char *const sl_storage_schemes[] = {"s3", "azure", "gcp", "alioss", NULL};

/* Copies every key declared under `prefix` ("storage.s3.") that has a value into `st`. Children
 * of sub-sections go into a nested structure. */
static void fill_fields(const SlConfig *cfg, const char *prefix, GstStructure *st)
{
  gsize plen = strlen(prefix);
  for (const SlKeyDef *k = sl_core_keys; k->path != NULL; k++) {
    const char *name;
    GValue v = G_VALUE_INIT;
    if (!g_str_has_prefix(k->path, prefix))
      continue;
    name = k->path + plen;
    if (*name == '\0' || strchr(name, '.') != NULL || strchr(name, '[') != NULL)
      continue;
    /* Absent unless written or defaulted, so a plugin can tell "unset" apart (force_path_style
     * defaults by endpoint). */
    if (k->def == NULL && !sl_config_is_set(cfg, k->path))
      continue;
    switch (k->type) {
    case SL_KEY_STRING: {
      const char *s = sl_config_get_string(cfg, k->path);
      if (s == NULL)
        continue;
      g_value_init(&v, G_TYPE_STRING);
      g_value_set_string(&v, s);
      break;
    }
    case SL_KEY_BOOL:
      g_value_init(&v, G_TYPE_BOOLEAN);
      g_value_set_boolean(&v, sl_config_get_bool(cfg, k->path));
      break;
    case SL_KEY_INT:
      g_value_init(&v, G_TYPE_INT64);
      g_value_set_int64(&v, sl_config_get_int(cfg, k->path));
      break;
    case SL_KEY_DURATION:
    case SL_KEY_DOUBLE:
      g_value_init(&v, G_TYPE_DOUBLE);
      g_value_set_double(&v, sl_config_get_double(cfg, k->path));
      break;
    case SL_KEY_FREEMAP: {
      const char *const *pairs = sl_config_get_map_pairs(cfg, k->path);
      if (pairs[0] == NULL)
        continue;
      g_value_init(&v, G_TYPE_STRV);
      g_value_set_boxed(&v, pairs);
      break;
    }
    case SL_KEY_SECTION: {
      g_autofree char *sub = g_strconcat(k->path, ".", NULL);
      GstStructure *nested;
      if (!sl_config_is_set(cfg, k->path))
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

GstStructure *sl_storage_target_from_config(const SlConfig *cfg, const char *section,
                                            GError **error)
{
  GstStructure *found = NULL;
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
