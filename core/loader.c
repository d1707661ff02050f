/* Plugin discovery, ABI checks and loading. See loader.h. */
#include "loader.h"

#include <string.h>

struct _SlPluginSet {
  GPtrArray *plugins; /* SlPlugin*, path order */
  GStrv dirs;
};

GQuark sl_loader_error_quark(void)
{
  return g_quark_from_static_string("sl-loader-error");
}

const char *sl_plugin_kind_name(SluicePluginKind kind)
{
  switch (kind) {
  case SLUICE_PLUGIN_KIND_INPUT:
    return "input";
  case SLUICE_PLUGIN_KIND_OUTPUT:
    return "output";
  case SLUICE_PLUGIN_KIND_STORAGE:
    return "storage";
  }
  return "unknown";
}

static gboolean valid_name(const char *name)
{
  if (name == NULL || *name == '\0' || strlen(name) > 64)
    return FALSE;
  for (const char *c = name; *c; c++)
    if (!(g_ascii_islower(*c) || g_ascii_isdigit(*c) || *c == '-' || *c == '_'))
      return FALSE;
  return TRUE;
}

/* Copies a kind vtable the way the descriptor is copied: the plugin's struct may be older
 * (smaller: the tail stays zero) but never newer (larger: refused, the plugin would rely on
 * fields this host does not know). */
static gboolean copy_vtable(const void *src, void *dst, gsize host_size, const char *kind,
                            GError **error)
{
  guint32 size;
  memcpy(&size, src, sizeof size);
  if (size < sizeof(guint32)) {
    g_set_error(error, SL_LOADER_ERROR, SL_LOADER_ERROR_SIZE,
                "%s vtable declares size %u, too small to be valid", kind, size);
    return FALSE;
  }
  if (size > host_size) {
    g_set_error(error, SL_LOADER_ERROR, SL_LOADER_ERROR_SIZE,
                "%s vtable is %u bytes, larger than the %zu this sluice knows: it was built "
                "against newer headers",
                kind, size, host_size);
    return FALSE;
  }
  memset(dst, 0, host_size);
  memcpy(dst, src, size);
  return TRUE;
}

static gboolean missing(GError **error, const char *what)
{
  g_set_error(error, SL_LOADER_ERROR, SL_LOADER_ERROR_MANDATORY, "missing mandatory %s", what);
  return FALSE;
}

gboolean sl_plugin_check_desc(const SluicePluginDesc *desc, const char *expected_name,
                              SlPlugin *out, GError **error)
{
  SluicePluginDesc d;

  if (desc == NULL) {
    g_set_error(error, SL_LOADER_ERROR, SL_LOADER_ERROR_NULL_DESC, "%s() returned no descriptor",
                SLUICE_PLUGIN_ENTRY_SYMBOL);
    return FALSE;
  }
  /* The first three fields are the same in every ABI version, so they are safe to read before
   * anything else is known. */
  if (desc->abi_major != SLUICE_ABI_MAJOR) {
    g_set_error(error, SL_LOADER_ERROR, SL_LOADER_ERROR_MAJOR,
                "built for ABI %u.%u; this sluice speaks ABI %d.%d and the major version must "
                "match: rebuild the plugin against these headers",
                desc->abi_major, desc->abi_minor, SLUICE_ABI_MAJOR, SLUICE_ABI_MINOR);
    return FALSE;
  }
  if (desc->abi_minor > SLUICE_ABI_MINOR) {
    g_set_error(error, SL_LOADER_ERROR, SL_LOADER_ERROR_MINOR,
                "built for ABI %u.%u, newer than this sluice's ABI %d.%d: upgrade sluice or "
                "rebuild the plugin against these headers",
                desc->abi_major, desc->abi_minor, SLUICE_ABI_MAJOR, SLUICE_ABI_MINOR);
    return FALSE;
  }
  if (desc->size > sizeof(SluicePluginDesc)) {
    g_set_error(error, SL_LOADER_ERROR, SL_LOADER_ERROR_SIZE,
                "descriptor is %u bytes, larger than the %zu this sluice knows: it was built "
                "against newer headers than its ABI %u.%u claims",
                desc->size, sizeof(SluicePluginDesc), desc->abi_major, desc->abi_minor);
    return FALSE;
  }
  if (desc->size < G_STRUCT_OFFSET(SluicePluginDesc, vtable) + sizeof(gpointer)) {
    g_set_error(error, SL_LOADER_ERROR, SL_LOADER_ERROR_SIZE,
                "descriptor is %u bytes, smaller than any ABI %d version", desc->size,
                SLUICE_ABI_MAJOR);
    return FALSE;
  }

  memset(&d, 0, sizeof d);
  memcpy(&d, desc, desc->size);

  if (!valid_name(d.name)) {
    g_set_error(error, SL_LOADER_ERROR, SL_LOADER_ERROR_NAME,
                "plugin name %s%s%s is not made of a-z, 0-9, '-' and '_'", d.name ? "'" : "",
                d.name ? d.name : "(none)", d.name ? "'" : "");
    return FALSE;
  }
  if (expected_name != NULL && strcmp(d.name, expected_name) != 0) {
    g_set_error(error, SL_LOADER_ERROR, SL_LOADER_ERROR_NAME,
                "calls itself '%s' but its file is named for '%s'", d.name, expected_name);
    return FALSE;
  }
  if (d.version == NULL)
    return missing(error, "field version");
  if (d.init == NULL)
    return missing(error, "callback init");
  if (d.vtable == NULL)
    return missing(error, "field vtable");

  out->plugin_desc_size = desc->size;
  switch (d.kind) {
  case SLUICE_PLUGIN_KIND_INPUT:
    if (!copy_vtable(d.vtable, &out->input, sizeof out->input, "input", error))
      return FALSE;
    if (out->input.input_type == NULL)
      return missing(error, "input field input_type");
    if (out->input.start == NULL)
      return missing(error, "input callback start");
    if (out->input.stop_accepting == NULL)
      return missing(error, "input callback stop_accepting");
    break;
  case SLUICE_PLUGIN_KIND_OUTPUT:
    if (!copy_vtable(d.vtable, &out->output, sizeof out->output, "output", error))
      return FALSE;
    if (out->output.output_types == NULL || out->output.output_types[0] == NULL)
      return missing(error, "output field output_types");
    if (out->output.make_bin == NULL)
      return missing(error, "output callback make_bin");
    break;
  case SLUICE_PLUGIN_KIND_STORAGE:
    if (!copy_vtable(d.vtable, &out->storage, sizeof out->storage, "storage", error))
      return FALSE;
    if (out->storage.scheme == NULL)
      return missing(error, "storage field scheme");
    if (out->storage.upload == NULL)
      return missing(error, "storage callback upload");
    break;
  default:
    g_set_error(error, SL_LOADER_ERROR, SL_LOADER_ERROR_KIND,
                "unknown kind %d (expected input, output or storage)", (int)d.kind);
    return FALSE;
  }
  out->desc = d;
  return TRUE;
}

static void plugin_free(gpointer p)
{
  SlPlugin *pl = p;
  g_free(pl->file);
  g_free(pl->name);
  g_free(pl->refusal);
  g_free(pl);
}

/* "sluice-foo.so" → "foo", or NULL when the name does not follow the convention. */
static char *name_from_file(const char *basename)
{
  gsize plen = strlen(SLUICE_PLUGIN_FILE_PREFIX);
  gsize len = strlen(basename);
  if (len <= plen + 3 || strncmp(basename, SLUICE_PLUGIN_FILE_PREFIX, plen) != 0 ||
      !g_str_has_suffix(basename, ".so"))
    return NULL;
  return g_strndup(basename + plen, len - plen - 3);
}

static gint by_name(gconstpointer a, gconstpointer b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

SlPluginSet *sl_plugin_set_scan(const char *const *dirs)
{
  SlPluginSet *set = g_new0(SlPluginSet, 1);
  g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  set->plugins = g_ptr_array_new_with_free_func(plugin_free);
  set->dirs = g_strdupv((char **)dirs);

  for (guint i = 0; dirs != NULL && dirs[i] != NULL; i++) {
    g_autoptr(GDir) dir = g_dir_open(dirs[i], 0, NULL);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *entry;
    if (dir == NULL)
      continue;
    while ((entry = g_dir_read_name(dir)) != NULL)
      g_ptr_array_add(names, g_strdup(entry));
    g_ptr_array_sort(names, by_name);
    for (guint j = 0; j < names->len; j++) {
      const char *base = g_ptr_array_index(names, j);
      g_autofree char *name = name_from_file(base);
      SlPlugin *pl;
      if (name == NULL || g_hash_table_contains(seen, name))
        continue;
      pl = g_new0(SlPlugin, 1);
      pl->file = g_build_filename(dirs[i], base, NULL);
      pl->name = g_strdup(name);
      pl->state = SL_PLUGIN_FOUND;
      g_hash_table_add(seen, g_steal_pointer(&name));
      g_ptr_array_add(set->plugins, pl);
    }
  }
  return set;
}

void sl_plugin_set_free(SlPluginSet *set)
{
  if (set == NULL)
    return;
  g_ptr_array_unref(set->plugins);
  g_strfreev(set->dirs);
  g_free(set);
}

GPtrArray *sl_plugin_set_list(SlPluginSet *set)
{
  return set->plugins;
}

/* Opens one file and checks it. On refusal the module stays open but unused: a plugin's static
 * constructors may have registered types that must not be unmapped. */
static void open_plugin(SlPlugin *pl)
{
  g_autoptr(GError) err = NULL;
  SluicePluginEntryFunc entry = NULL;
  g_autofree char *expected = g_strdup(pl->name);
  GModule *module;

  if (pl->state != SL_PLUGIN_FOUND)
    return;
  module = g_module_open(pl->file, G_MODULE_BIND_LOCAL);
  if (module == NULL) {
    pl->state = SL_PLUGIN_REFUSED;
    pl->refusal_code = SL_LOADER_ERROR_OPEN;
    pl->refusal = g_strdup_printf("cannot be opened: %s", g_module_error());
    return;
  }
  if (!g_module_symbol(module, SLUICE_PLUGIN_ENTRY_SYMBOL, (gpointer *)&entry) || entry == NULL) {
    pl->state = SL_PLUGIN_REFUSED;
    pl->refusal_code = SL_LOADER_ERROR_NO_ENTRY;
    pl->refusal = g_strdup_printf("has no entry symbol %s(): not a sluice plugin",
                                  SLUICE_PLUGIN_ENTRY_SYMBOL);
    return;
  }
  if (!sl_plugin_check_desc(entry(), expected, pl, &err)) {
    pl->state = SL_PLUGIN_REFUSED;
    pl->refusal_code = (SlLoaderError)err->code;
    pl->refusal = g_strdup(err->message);
    return;
  }
  g_module_make_resident(module);
  pl->module = module;
  pl->state = SL_PLUGIN_LOADED;
}

void sl_plugin_set_inspect_all(SlPluginSet *set)
{
  for (guint i = 0; i < set->plugins->len; i++)
    open_plugin(g_ptr_array_index(set->plugins, i));
}

static SlPlugin *find(SlPluginSet *set, const char *name)
{
  for (guint i = 0; i < set->plugins->len; i++) {
    SlPlugin *pl = g_ptr_array_index(set->plugins, i);
    if (strcmp(pl->name, name) == 0)
      return pl;
  }
  return NULL;
}

gboolean sl_plugin_set_load(SlPluginSet *set, const char *const *enable, GError **error)
{
  for (guint i = 0; enable != NULL && enable[i] != NULL; i++) {
    SlPlugin *pl = find(set, enable[i]);
    if (pl == NULL) {
      g_autofree char *dirs = g_strjoinv(", ", set->dirs);
      g_set_error(error, SL_LOADER_ERROR, SL_LOADER_ERROR_NOT_FOUND,
                  "plugin '%s' is enabled but %s%s.so is in none of: %s", enable[i],
                  SLUICE_PLUGIN_FILE_PREFIX, enable[i], *dirs ? dirs : "(empty plugin path)");
      return FALSE;
    }
    pl->enabled = TRUE;
    open_plugin(pl);
    if (pl->state == SL_PLUGIN_REFUSED) {
      g_set_error(error, SL_LOADER_ERROR, pl->refusal_code, "plugin '%s' (%s) refused: %s",
                  pl->name, pl->file, pl->refusal);
      return FALSE;
    }
  }
  return TRUE;
}

SlPlugin *sl_plugin_set_get(SlPluginSet *set, const char *name)
{
  SlPlugin *pl = find(set, name);
  return pl && pl->state == SL_PLUGIN_LOADED ? pl : NULL;
}
