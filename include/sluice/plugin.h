/* sluice plugin ABI — the one header a plugin includes.
 *
 * A plugin is a shared object loaded with GModule (G_MODULE_BIND_LOCAL, made resident, never
 * unloaded). It exports exactly one symbol, SLUICE_PLUGIN_ENTRY_SYMBOL, a function returning a
 * pointer to a const SluicePluginDesc that lives as long as the process. The plugin links against
 * GLib and GStreamer (and its own dependencies) and never against the core: everything the core
 * offers reaches it through the SluiceHost table passed to init().
 *
 * Versioning rules (checked by the host at load time):
 *   - abi_major must equal SLUICE_ABI_MAJOR of the host;
 *   - abi_minor must be <= the host's SLUICE_ABI_MINOR (a plugin may be older, never newer);
 *   - size is sizeof(SluicePluginDesc) as the plugin was compiled; the host copies
 *     min(size, sizeof) into a zeroed struct, so fields added in later minors read as NULL/0,
 *     and refuses a size larger than its own (the plugin knows fields the host does not);
 *   - the mandatory callbacks (init, and the kind's own, see input.h / output.h / storage.h) must
 *     be set; the host names the missing one when it refuses a plugin.
 * Structs in this ABI only ever grow at their end; each growth bumps SLUICE_ABI_MINOR.
 *
 * ABI history:
 *   1.0  SluicePluginDesc up to `vtable`; SluiceHost up to `emit_event`; the kind vtables up to
 *        their 1.0 members.
 *   1.1  SluicePluginDesc.shutdown; SluiceHost.redact and SluiceHost.register_secret.
 *   1.2  Sessions: SluiceHost.session_start / session_end / session_add_bytes;
 *        SluiceInputVTable.stop_session and .make_source (the handler-side source).
 *
 * Threading: the descriptor is read on the main thread. init() and shutdown() run on the main
 * thread of whichever process loaded the plugin (the service, or a per-session handler).
 *
 * Third-party plugins build against the installed headers with `pkg-config --cflags sluice-plugin`.
 */
#ifndef SLUICE_PLUGIN_H
#define SLUICE_PLUGIN_H

#include <glib.h>
#include <gmodule.h>

#include <sluice/config-schema.h>
#include <sluice/host.h>
#include <sluice/input.h>
#include <sluice/output.h>
#include <sluice/storage.h>

G_BEGIN_DECLS

#define SLUICE_ABI_MAJOR 1
#define SLUICE_ABI_MINOR 2

/* Name of the exported entry function. */
#define SLUICE_PLUGIN_ENTRY_SYMBOL "sluice_plugin_describe"

/* File names the loader looks for: "sluice-<name>.so" in each directory of the plugin path. */
#define SLUICE_PLUGIN_FILE_PREFIX "sluice-"

typedef enum {
  SLUICE_PLUGIN_KIND_INPUT = 1,   /* protocols that bring media in (RTMP, WHIP, SRT, URL) */
  SLUICE_PLUGIN_KIND_OUTPUT = 2,  /* outputs that take media out (files, segments, streams) */
  SLUICE_PLUGIN_KIND_STORAGE = 3, /* upload backends for what outputs write (S3, Azure, ...) */
} SluicePluginKind;

typedef struct _SluicePluginDesc SluicePluginDesc;

struct _SluicePluginDesc {
  /* --- ABI 1.0 --- */
  guint32 abi_major; /* SLUICE_ABI_MAJOR the plugin was built with */
  guint32 abi_minor; /* SLUICE_ABI_MINOR the plugin was built with */
  guint32 size;      /* sizeof(SluicePluginDesc) the plugin was built with */
  SluicePluginKind kind;
  const char *name;        /* unique, [a-z0-9-]+, equal to the file's "sluice-<name>.so" */
  const char *version;     /* the plugin's own version string, free form */
  const char *description; /* one line for `sluice plugins` */

  /* Config keys the plugin reads, terminated by an entry whose name is NULL; may be NULL.
   * The core validates YAML against them before init() runs (see config-schema.h). */
  const SluiceConfigKey *config_keys;

  /* Mandatory. Called once after the config has been validated, on the main thread.
   * `host` (transfer none) stays valid for the life of the process; keep the pointer.
   * Return FALSE with `error` set to refuse to start: the process stops with that message. */
  gboolean (*init)(const SluiceHost *host, GError **error);

  /* Mandatory. The kind's vtable: a `const SluiceInputVTable *`, `const SluiceOutputVTable *` or
   * `const SluiceStorageVTable *` matching `kind`. Each vtable starts with its own size field and
   * follows the same copy rule as this descriptor. */
  const void *vtable;

  /* --- ABI 1.1 --- */
  /* Optional. Called once on the main thread when the process exits cleanly, after every session
   * has ended. Release what init() acquired. */
  void (*shutdown)(void);
};

typedef const SluicePluginDesc *(*SluicePluginEntryFunc)(void);

/* Designated-initializer helper: fills in the ABI fields; every callback not named stays NULL.
 *
 *   static const SluicePluginDesc desc = SLUICE_PLUGIN_DESC_INIT(
 *       .kind = SLUICE_PLUGIN_KIND_INPUT, .name = "hello", .version = "1.0",
 *       .init = hello_init, .vtable = &hello_input);
 */
#define SLUICE_PLUGIN_DESC_INIT(...)                                                               \
  {                                                                                                \
    .abi_major = SLUICE_ABI_MAJOR, .abi_minor = SLUICE_ABI_MINOR,                                  \
    .size = (guint32)sizeof(SluicePluginDesc), __VA_ARGS__                                         \
  }

/* Exports the entry symbol returning `desc_var` (a static const SluicePluginDesc). */
#define SLUICE_PLUGIN_DEFINE(desc_var)                                                             \
  G_MODULE_EXPORT const SluicePluginDesc *sluice_plugin_describe(void);                            \
  G_MODULE_EXPORT const SluicePluginDesc *sluice_plugin_describe(void)                             \
  {                                                                                                \
    return &(desc_var);                                                                            \
  }

G_END_DECLS

#endif /* SLUICE_PLUGIN_H */
