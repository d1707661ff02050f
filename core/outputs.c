/* Output requests → handler options. See outputs.h. */
#include "outputs.h"

#include <string.h>

static JsonObject *resolve_file(const char *dir, JsonObject *req, const char *identifier,
                                const SlTemplateVars *vars, GError **error)
{
  const char *tmpl = json_object_get_string_member_with_default(req, "filepath", "");
  g_autofree char *name = sl_template_default_name(tmpl, identifier, vars);
  g_autofree char *rel = sl_path_resolve(dir, name, NULL, error);
  JsonObject *opts;
  if (rel == NULL)
    return NULL;
  opts = json_object_new();
  json_object_set_string_member(opts, "filepath", rel);
  return opts;
}

static JsonObject *resolve_segments(const char *dir, JsonObject *req, const char *identifier,
                                    const SlTemplateVars *vars, GError **error)
{
  const char *tmpl = json_object_get_string_member_with_default(req, "filename_prefix", "");
  g_autofree char *prefix_t = sl_template_default_name(tmpl, identifier, vars);
  g_autofree char *prefix = sl_path_resolve(dir, prefix_t, NULL, error);
  g_autofree char *prefix_dir = NULL;
  g_autoptr(JsonObject) opts = json_object_new();
  const char *suffix;
  if (prefix == NULL)
    return NULL;
  prefix_dir = g_path_get_dirname(prefix);
  json_object_set_string_member(opts, "filename_prefix", prefix);
  /* A playlist name without a directory sits next to the segments. */
  for (int i = 0; i < 2; i++) {
    const char *key = i == 0 ? "playlist_name" : "live_playlist_name";
    const char *v = json_object_get_string_member_with_default(req, key, NULL);
    g_autofree char *expanded = NULL;
    g_autofree char *joined = NULL;
    g_autofree char *rel = NULL;
    if (v == NULL || *v == '\0')
      continue;
    expanded = sl_template_expand(v, vars);
    joined = strchr(expanded, '/') == NULL && strcmp(prefix_dir, ".") != 0
                 ? g_build_filename(prefix_dir, expanded, NULL)
                 : g_strdup(expanded);
    rel = sl_path_resolve(dir, joined, NULL, error);
    if (rel == NULL)
      return NULL;
    json_object_set_string_member(opts, key, rel);
  }
  if (json_object_has_member(req, "segment_duration"))
    json_object_set_int_member(opts, "segment_duration",
                               json_object_get_int_member(req, "segment_duration"));
  /* LiveKit's SegmentedFileSuffix: INDEX = 0, TIMESTAMP = 1 (by name or number). */
  suffix =
      json_object_has_member(req, "filename_suffix") &&
              JSON_NODE_HOLDS_VALUE(json_object_get_member(req, "filename_suffix")) &&
              json_node_get_value_type(json_object_get_member(req, "filename_suffix")) ==
                  G_TYPE_STRING
          ? json_object_get_string_member(req, "filename_suffix")
          : (json_object_get_int_member_with_default(req, "filename_suffix", 0) == 1 ? "TIMESTAMP"
                                                                                     : "INDEX");
  json_object_set_string_member(opts, "filename_suffix", suffix);
  return g_steal_pointer(&opts);
}

JsonObject *sl_outputs_resolve(const char *output_dir, const char *type, JsonObject *request,
                               const char *identifier, const SlTemplateVars *vars, GError **error)
{
  if (g_strcmp0(type, "file") == 0)
    return resolve_file(output_dir, request, identifier, vars, error);
  if (g_strcmp0(type, "segments") == 0)
    return resolve_segments(output_dir, request, identifier, vars, error);
  g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "output type '%s' is not supported",
              type);
  return NULL;
}
