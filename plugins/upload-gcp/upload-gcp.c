/* upload-gcp — the Google Cloud Storage storage plugin.
 *
 * Serves the "gcp" storage scheme: LiveKit's `gcp:` section (credentials_json, bucket,
 * proxy_config) plus sluice's `endpoint`, wherever it appears (storage:, backup:, top level, or a
 * request's GCPUpload). Talks to the GCS JSON API directly with libsoup: service-account OAuth
 * (gcs-jwt.c, gcs-token.c), simple and resumable uploads (gcs-upload.c), retries (gcs-retry.c).
 *
 * Files: gcs-target   the target structure and credentials
 *        gcs-url      API URLs and the reported location
 *        gcs-jwt      the signed assertion (RS256)
 *        gcs-token    the access-token cache
 *        gcs-http     sessions, authorisation, the retry loop
 *        gcs-range    resumable-upload arithmetic
 *        gcs-response Google's error, token and object answers
 *        gcs-retry    what to retry and the backoff
 *        gcs-upload   the two upload protocols
 *
 * Threading: init/shutdown on the main thread; upload() on any upload worker thread, several at
 * once. The plugin's only shared state is the host pointer (written once in init) and the token
 * cache (locked).
 */
#include "gcs-error.h"
#include "gcs-log.h"
#include "gcs-target.h"
#include "gcs-token.h"
#include "gcs-upload.h"
#include "gcs-url.h"

#include <sluice/plugin.h>

static const SluiceHost *host;

static void log_v(SluiceLogLevel level, const char *fmt, va_list ap)
{
  g_autofree char *msg = NULL;
  if (host == NULL)
    return;
  msg = g_strdup_vprintf(fmt, ap);
  host->log(host, level, msg);
}

void gcs_log_warning(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  log_v(SLUICE_LOG_WARNING, fmt, ap);
  va_end(ap);
}

void gcs_log_info(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  log_v(SLUICE_LOG_INFO, fmt, ap);
  va_end(ap);
}

void gcs_log_debug(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  log_v(SLUICE_LOG_DEBUG, fmt, ap);
  va_end(ap);
}

static gboolean gcp_init(const SluiceHost *h, GError **error)
{
  host = h;
  return TRUE;
}

static void gcp_shutdown(void)
{
  gcs_token_cache_clear();
}

/* Upload worker thread; reentrant. */
static gboolean gcp_upload(const GstStructure *target, const char *local_path, const char *key,
                           const char *content_type, char **location, GError **error)
{
  GcsEnv env;
  g_autoptr(GcsTarget) t = NULL;
  gcs_env_from_process(&env);
  t = gcs_target_new(target, &env, error);
  if (t == NULL)
    return FALSE;
  if (key == NULL || *key == '\0') {
    g_set_error(error, GCS_ERROR, GCS_ERROR_CONFIG, "gcp: the object name is empty");
    return FALSE;
  }
  if (!gcs_upload_file(t, local_path, key, content_type, error))
    return FALSE;
  *location = gcs_url_location(t->custom_base ? t->base_url : NULL, t->bucket, key);
  return TRUE;
}

static const SluiceStorageVTable gcp_vtable = {
    .size = sizeof(SluiceStorageVTable),
    .scheme = "gcp",
    .upload = gcp_upload,
};

static const SluicePluginDesc gcp_desc = SLUICE_PLUGIN_DESC_INIT(
        .kind = SLUICE_PLUGIN_KIND_STORAGE, .name = "upload-gcp",
        .version = SLUICE_UPLOAD_GCP_VERSION,
        .description = "Google Cloud Storage uploads (JSON API, service accounts, resumable)",
        .init = gcp_init, .vtable = &gcp_vtable, .shutdown = gcp_shutdown);

SLUICE_PLUGIN_DEFINE(gcp_desc)
