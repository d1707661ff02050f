/* Storage targets: where a finished file is uploaded, and the hand-off to storage plugins.
 *
 * A target is a GstStructure named after the storage scheme ("s3", "azure", "gcp", "alioss") —
 * the `scheme` a storage plugin declares — whose fields are that backend's settings with the
 * names LiveKit's YAML uses (config-keys.c, STORAGE_KEYS), typed:
 *   string keys   -> G_TYPE_STRING             (bucket, region, endpoint, secret, ...)
 *   bool keys     -> G_TYPE_BOOLEAN            (force_path_style)
 *   int keys      -> G_TYPE_INT64              (max_retries)
 *   duration keys -> G_TYPE_DOUBLE, seconds    (min_retry_delay, max_retry_delay)
 *   map keys      -> G_TYPE_STRV of key, value, key, value, ...   (metadata)
 *   sub-sections  -> GST_TYPE_STRUCTURE named after the key       (proxy_config: url, ...)
 * Keys with a default carry it; keys never written and without a default are absent. A target
 * built from an API request uses the same names (the request's `proxy` becomes `proxy_config`,
 * GCP's `credentials` becomes `credentials_json`).
 *
 * Ownership: targets are transfer full (gst_structure_free). Threading: building targets and
 * finding plugins happen on the main thread; sl_storage_upload runs on any thread (the plugin's
 * upload callback is reentrant by contract).
 */
#ifndef SL_STORAGE_H
#define SL_STORAGE_H

#include "config.h"
#include "loader.h"

#include <gst/gst.h>

G_BEGIN_DECLS

#define SL_STORAGE_ERROR (g_quark_from_static_string("sl-storage-error"))
typedef enum {
  SL_STORAGE_ERROR_NO_PLUGIN = 1, /* no loaded storage plugin serves the target's scheme */
  SL_STORAGE_ERROR_AMBIGUOUS,     /* a section names more than one backend */
} SlStorageError;

/* The schemes a storage section may hold, in the order they are looked for. */
extern const char *const sl_storage_schemes[];

/* The target configured under `section`: "storage", "backup", or "" for the older top-level
 * s3:/azure:/gcp:/alioss: sections. Returns NULL without an error when the section configures no
 * backend; NULL with `error` when it names more than one. */
GstStructure *sl_storage_target_from_config(const SlConfig *cfg, const char *section,
                                            GError **error);

/* The target uploads go to by default: `storage:` when it names a backend, else the top-level
 * one; NULL when neither does. */
GstStructure *sl_storage_default_target(const SlConfig *cfg, GError **error);

/* The loaded, enabled storage plugin whose scheme is `scheme`, or NULL. */
SlPlugin *sl_storage_find_plugin(SlPluginSet *set, const char *scheme);

/* Upload `local_path` as `key` to `target` through the plugin that serves its scheme. On success
 * sets `*location` (transfer full). Any thread. */
gboolean sl_storage_upload(SlPluginSet *set, const GstStructure *target, const char *local_path,
                           const char *key, char **location, GError **error);

/* The Content-Type for a file name by its extension ("video/mp4", "application/x-mpegurl", ...;
 * "application/octet-stream" when unknown). Static string. */
const char *sl_storage_content_type(const char *filename);

G_END_DECLS

#endif /* SL_STORAGE_H */
