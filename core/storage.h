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
 * GCP's `credentials` becomes `credentials_json`; lowerCamel JSON names are accepted too). As in
 * proto3, an empty string or a `false` in a request is the same as leaving the field out, so the
 * plugin's own default applies (force_path_style: on with a custom endpoint). What a request
 * cannot say (max_retries, min_retry_delay, max_retry_delay) comes from the node's `storage:`
 * section of the same scheme or its defaults, as LiveKit copies them.
 *
 * Which storage an output goes to: the output's own (a request's `s3`/`azure`/`gcp`/`aliOSS`
 * member, or the v2 `Output.storage`), then the request's (`StartEgressRequest.storage`), then
 * the node's (`storage:`, else the top-level sections); for a static ingress, the output's
 * section in YAML (`ingresses[].outputs.file.s3`, ...), then the node's. With none, the output
 * stays in output_dir.
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
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define SL_STORAGE_ERROR (g_quark_from_static_string("sl-storage-error"))
typedef enum {
  SL_STORAGE_ERROR_NO_PLUGIN = 1, /* no loaded storage plugin serves the target's scheme */
  SL_STORAGE_ERROR_AMBIGUOUS,     /* a section names more than one backend */
  SL_STORAGE_ERROR_INVALID,       /* a request's storage has a field of the wrong type or name */
} SlStorageError;

/* The schemes a storage section may hold, in the order they are looked for. */
extern const char *const sl_storage_schemes[];

/* The target configured under `section`: "storage", "backup", or "" for the older top-level
 * s3:/azure:/gcp:/alioss: sections. Returns NULL without an error when the section configures no
 * backend; NULL with `error` when it names more than one. */
GstStructure *sl_storage_target_from_config(const SlConfig *cfg, const char *section,
                                            GError **error);

/* The target for the backend `holder` names: its `s3`, `azure`, `gcp` or `aliOSS` member (also
 * spelled `alioss`, `ali_oss`), as an API request or a StorageConfig carries them. Returns NULL
 * without an error when `holder` (may be NULL) names none; NULL with `error` when it names more
 * than one or a field is unknown or of the wrong type. `cfg` (may be NULL) supplies the retry
 * settings and, for S3, LiveKit's s3_assume_role_*: a request without assume_role_arn takes
 * s3_assume_role_arn / _external_id; one with a role but no access_key gets s3_assume_role_key /
 * _secret as the credentials that assume it, and is refused when the config has none. */
GstStructure *sl_storage_target_from_json(const SlConfig *cfg, JsonObject *holder, GError **error);

/* The same for one backend's object (`obj` is the S3Upload, AzureBlobUpload, ...). */
GstStructure *sl_storage_target_from_json_scheme(const SlConfig *cfg, const char *scheme,
                                                 JsonObject *obj, GError **error);

/* The storage an egress output asks for: the output's own, else its v2 `storage`, else the
 * request's `storage`, as a new object holding that one backend member (`{"s3": {...}}`,
 * transfer full), checked with sl_storage_target_from_json. NULL without an error when neither
 * names one (the node's config then decides); NULL with `error` when the one chosen is invalid. */
JsonObject *sl_storage_request_storage(JsonObject *output, JsonObject *request, GError **error);

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
