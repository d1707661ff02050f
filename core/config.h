/* Configuration: where it comes from, the schema it is checked against, and typed access.
 *
 * Sources, first found wins: --config FILE, --config-body TEXT, SLUICE_CONFIG_FILE,
 * SLUICE_CONFIG_BODY, INGRESS_CONFIG_FILE, INGRESS_CONFIG_BODY, EGRESS_CONFIG_FILE,
 * EGRESS_CONFIG_BODY; with none, the embedded single-node default (every key at its default).
 * LIVEKIT_API_KEY / LIVEKIT_API_SECRET override api_key / api_secret.
 *
 * The schema is the core's table (config-keys.c: LiveKit's ingress and egress keys plus sluice's
 * own) plus the keys each loaded plugin declares. Validation reports every problem at once:
 * errors as "FILE:LINE: KEY: problem" (start-up stops), unknown keys as warnings naming the key
 * and its line, LiveKit keys that sluice does not use as one-line notes.
 *
 * Paths: keys are addressed by dotted paths ("redis.address", "plugins.hello.greeting"); items of
 * a list of sections by index ("ingresses.0.stream_key").
 *
 * Ownership: SlConfig owns everything it returns (transfer none) until sl_config_free().
 * Threading: built and validated on the main thread; after validation the getters are read-only
 * and may be called from any thread.
 */
#ifndef SL_CONFIG_H
#define SL_CONFIG_H

#include <glib.h>
#include <sluice/config-schema.h>

G_BEGIN_DECLS

#define SL_CONFIG_ERROR (sl_config_error_quark())
GQuark sl_config_error_quark(void);

typedef enum {
  SL_CONFIG_ERROR_SOURCE,  /* a file could not be read */
  SL_CONFIG_ERROR_PARSE,   /* malformed YAML */
  SL_CONFIG_ERROR_INVALID, /* a value does not fit the schema */
  SL_CONFIG_ERROR_SCHEMA,  /* a plugin's declared keys conflict with the core's */
} SlConfigError;

/* Key types: the plugin-visible ones (SluiceConfigType) plus structural ones for the core. */
typedef enum {
  SL_KEY_BOOL = SLUICE_CONFIG_BOOL,
  SL_KEY_INT = SLUICE_CONFIG_INT,
  SL_KEY_DOUBLE = SLUICE_CONFIG_DOUBLE,
  SL_KEY_STRING = SLUICE_CONFIG_STRING,
  SL_KEY_PORT = SLUICE_CONFIG_PORT,
  SL_KEY_DURATION = SLUICE_CONFIG_DURATION,
  SL_KEY_STRING_LIST = SLUICE_CONFIG_STRING_LIST,
  SL_KEY_SECTION = 100, /* a mapping whose children are declared */
  SL_KEY_FREEMAP,       /* a mapping of anything, kept as written (metadata, chrome_flags) */
  SL_KEY_ANY,           /* any value, not interpreted */
  SL_KEY_LIST,          /* a sequence of sections; children are declared as "path[].child" */
} SlKeyType;

typedef enum {
  SL_KEY_SECRET = SLUICE_CONFIG_FLAG_SECRET,
  SL_KEY_TOP_LEVEL = SLUICE_CONFIG_FLAG_TOP_LEVEL,
  SL_KEY_REQUIRED = SLUICE_CONFIG_FLAG_REQUIRED,
  SL_KEY_UNUSED = 1 << 8, /* a LiveKit key sluice accepts but does not use: a note is printed */
} SlKeyFlags;

typedef struct {
  const char *path; /* dotted; list children as "ingresses[].name" */
  SlKeyType type;
  const char *def; /* default as YAML scalar text, or NULL */
  double min, max; /* inclusive; ignored when both are 0 */
  const char *help;
  guint flags;          /* SlKeyFlags */
  const char *alias_of; /* legacy spelling: the value is stored under this canonical path */
} SlKeyDef;

/* The configuration used when no source is given (config-default.c). */
extern const char sl_embedded_default_config[];

/* The core's own table, terminated by a NULL path (config-keys.c). */
extern const SlKeyDef sl_core_keys[];

typedef enum {
  SL_DIAG_ERROR,
  SL_DIAG_WARNING,
  SL_DIAG_NOTE,
} SlDiagLevel;

typedef struct {
  SlDiagLevel level;
  char *text; /* "FILE:LINE: KEY: problem" */
} SlDiag;

typedef struct _SlConfig SlConfig;

/* Parse `text` as the configuration, naming it `source` in messages. Only YAML syntax is checked
 * here; call sl_config_validate() next. */
SlConfig *sl_config_new_from_text(const char *text, gsize len, const char *source, GError **error);

/* Resolve the sources listed above and parse the first one found. `cli_file` / `cli_body` may be
 * NULL. */
SlConfig *sl_config_load(const char *cli_file, const char *cli_body, GError **error);

void sl_config_free(SlConfig *cfg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SlConfig, sl_config_free)

/* "FILE" or "<SLUICE_CONFIG_BODY>" or "<embedded default>". */
const char *sl_config_source(const SlConfig *cfg);

/* The YAML text as read (transfer none): handler processes re-read the same config. */
const char *sl_config_text(const SlConfig *cfg);

/* Apply LIVEKIT_API_KEY / LIVEKIT_API_SECRET. Call before validation. */
void sl_config_apply_env(SlConfig *cfg);

/* Where to look for plugins (plugins.path, then SLUICE_PLUGIN_PATH, then `install_dir`) and
 * which to enable (plugins.enable, or `default_enable` when the key is absent). These read the
 * raw document because plugins must load before the full schema is known; a malformed value is
 * reported in `diags` (SlDiag*) and an empty list returned. Transfer full. */
GStrv sl_config_plugin_path(SlConfig *cfg, const char *install_dir, GPtrArray *diags);
GStrv sl_config_plugin_enable(SlConfig *cfg, const char *const *default_enable, GPtrArray *diags);

/* Add a loaded plugin's declared keys to the schema: they live under plugins.<plugin>, or at the
 * root when flagged TOP_LEVEL. Fails when a TOP_LEVEL key clashes in type with a core key. */
gboolean sl_config_add_plugin_keys(SlConfig *cfg, const char *plugin, const SluiceConfigKey *keys,
                                   GError **error);

/* Validate the whole document against the schema. Appends SlDiag* to `diags` (which owns them:
 * create it with sl_diag_array_new()). Returns FALSE when there is at least one error. Values of
 * SECRET keys are registered with the log scrubber. */
gboolean sl_config_validate(SlConfig *cfg, GPtrArray *diags);

GPtrArray *sl_diag_array_new(void);

/* Typed getters by path. A key that is not set yields its default; a key with no default yields
 * FALSE / 0 / NULL. Asking for a path the schema does not have is a programming error: it logs
 * and yields the zero value. DURATION reads as seconds through sl_config_get_double. */
gboolean sl_config_get_bool(const SlConfig *cfg, const char *path);
gint64 sl_config_get_int(const SlConfig *cfg, const char *path);
double sl_config_get_double(const SlConfig *cfg, const char *path);
const char *sl_config_get_string(const SlConfig *cfg, const char *path);
const char *const *sl_config_get_strv(const SlConfig *cfg, const char *path);
/* A FREEMAP key's scalar entries as written: key, value, key, value, ..., NULL (transfer none;
 * empty when unset). Entries whose value is not a scalar are left out. */
const char *const *sl_config_get_map_pairs(const SlConfig *cfg, const char *path);
gboolean sl_config_is_set(const SlConfig *cfg, const char *path);
/* Number of items in a LIST key (0 when absent). */
guint sl_config_list_len(const SlConfig *cfg, const char *path);
/* Line the value was written on, 0 when it was not written. */
guint sl_config_line(const SlConfig *cfg, const char *path);
/* The key's schema entry (after alias resolution), or NULL. */
const SlKeyDef *sl_config_key(const SlConfig *cfg, const char *path);

/* The schema's spelling of a concrete path: "ingresses.0.outputs.file" → "ingresses[].outputs.file"
 * (items of a list are read by index, declared with "[]"). Transfer full. */
char *sl_config_schema_path(const char *path);

/* Parse helpers shared with the tests. */
gboolean sl_config_parse_duration(const char *text, double *seconds);
gboolean sl_config_parse_bool(const char *text, gboolean *out);

G_END_DECLS

#endif /* SL_CONFIG_H */
