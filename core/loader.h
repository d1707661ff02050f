/* Plugin discovery, ABI checks and loading.
 *
 * A plugin is the file "sluice-<name>.so" in one of the plugin path's directories (config, then
 * SLUICE_PLUGIN_PATH, then the install dir; the first directory holding the file wins). Only
 * enabled plugins are opened by the service; `sluice plugins` opens every file it finds in order
 * to describe it.
 *
 * The checks (sl_plugin_check_desc) are separate from GModule so they can be tested on
 * descriptors built in memory: major equal, minor not newer, descriptor and vtable sizes not
 * larger than the host's, mandatory callbacks present, name matching the file. Each refusal has
 * its own message.
 *
 * Ownership: an SlPluginSet owns its SlPlugin records; records live until the set is freed, and
 * opened modules are made resident (never unloaded). Main thread only.
 */
#ifndef SL_LOADER_H
#define SL_LOADER_H

#include <glib.h>
#include <gmodule.h>
#include <sluice/plugin.h>

G_BEGIN_DECLS

#define SL_LOADER_ERROR (sl_loader_error_quark())
GQuark sl_loader_error_quark(void);

typedef enum {
  SL_LOADER_ERROR_OPEN,      /* not a loadable shared object */
  SL_LOADER_ERROR_NO_ENTRY,  /* no sluice_plugin_describe symbol */
  SL_LOADER_ERROR_NULL_DESC, /* the entry returned NULL */
  SL_LOADER_ERROR_MAJOR,     /* another ABI major */
  SL_LOADER_ERROR_MINOR,     /* a newer ABI minor */
  SL_LOADER_ERROR_SIZE,      /* a larger descriptor or vtable than the host knows */
  SL_LOADER_ERROR_MANDATORY, /* a mandatory callback or field is missing */
  SL_LOADER_ERROR_NAME,      /* the name does not match the file, or is malformed */
  SL_LOADER_ERROR_KIND,      /* an unknown kind */
  SL_LOADER_ERROR_NOT_FOUND, /* an enabled plugin's file is on no directory of the path */
} SlLoaderError;

typedef enum {
  SL_PLUGIN_FOUND,   /* seen on the path, not opened */
  SL_PLUGIN_LOADED,  /* opened and accepted */
  SL_PLUGIN_REFUSED, /* opened and refused: see `refusal` */
} SlPluginState;

typedef struct {
  char *file; /* absolute path of the shared object */
  char *name; /* from the descriptor, or the file name when refused early */
  SlPluginState state;
  gboolean enabled;
  char *refusal;              /* why it was refused (REFUSED only) */
  SlLoaderError refusal_code; /* which check refused it (REFUSED only) */
  GModule *module;            /* resident; NULL unless LOADED */

  /* Host copies, zero-filled beyond what the plugin's struct sizes cover (LOADED only). */
  SluicePluginDesc desc;
  guint32 plugin_desc_size; /* the size the plugin declared */
  SluiceInputVTable input;
  SluiceOutputVTable output;
  SluiceStorageVTable storage;

  gpointer host; /* the SluiceHost built for it (host.c), owned by the host module */
} SlPlugin;

/* Check `desc` (as found in a module) and copy it and its vtable into `out`. `expected_name`
 * (may be NULL) is the name taken from the file name. */
gboolean sl_plugin_check_desc(const SluicePluginDesc *desc, const char *expected_name,
                              SlPlugin *out, GError **error);

typedef struct _SlPluginSet SlPluginSet;

/* Scan `dirs` for plugin files. Nothing is opened. */
SlPluginSet *sl_plugin_set_scan(const char *const *dirs);
void sl_plugin_set_free(SlPluginSet *set);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SlPluginSet, sl_plugin_set_free)

/* Plugins found, in path order (SlPlugin*, transfer none). */
GPtrArray *sl_plugin_set_list(SlPluginSet *set);

/* Open and check every plugin found (for `sluice plugins`); refusals are recorded, not fatal. */
void sl_plugin_set_inspect_all(SlPluginSet *set);

/* Open and check each plugin in `enable`. Fails on the first one missing or refused, with a
 * message naming it, its file and the reason. Plugins not in `enable` are not opened. */
gboolean sl_plugin_set_load(SlPluginSet *set, const char *const *enable, GError **error);

/* The loaded plugin called `name`, or NULL. */
SlPlugin *sl_plugin_set_get(SlPluginSet *set, const char *name);

const char *sl_plugin_kind_name(SluicePluginKind kind);

G_END_DECLS

#endif /* SL_LOADER_H */
