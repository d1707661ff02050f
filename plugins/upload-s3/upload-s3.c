/* upload-s3 — the plugin entry: the "s3" storage backend (Amazon S3 and S3-compatible servers).
 *
 * The host hands each upload a target GstStructure (core/storage.h); this file turns it into an
 * S3Target (s3-target.h) and lets s3-upload.h move the file. The plugin declares no config keys
 * of its own: the s3: sections are the core's (config-keys.c, STORAGE_KEYS).
 *
 * Module map: sigv4 (request signing), s3-xml (S3's and STS's XML), s3-retry (retry policy),
 * s3-target (addressing and object headers), s3-sts (credentials, the AssumeRole request) are
 * pure and unit-tested; s3-client (one request over libsoup), s3-role (AssumeRole and the cache
 * of role credentials) and s3-upload (single PUT or multipart) do the I/O.
 *
 * Threading: init() on the main thread; upload() on any upload worker thread, concurrently with
 * others: every call builds its own target and clients; nothing is shared but `host` and
 * s3-role's credentials cache, which locks.
 */
#include <sluice/plugin.h>

#include "s3-error.h"
#include "s3-target.h"
#include "s3-upload.h"
#include "upload-s3.h"

/* Written once by init() before any upload runs; read-only afterwards. */
static const SluiceHost *s3_host;

void s3_log(SluiceLogLevel level, const char *fmt, ...)
{
  g_autofree char *msg = NULL;
  va_list ap;
  va_start(ap, fmt);
  msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  if (s3_host != NULL && s3_host->log != NULL)
    s3_host->log(s3_host, level, msg);
  else
    g_log("sluice-upload-s3", level <= SLUICE_LOG_WARNING ? G_LOG_LEVEL_WARNING : G_LOG_LEVEL_DEBUG,
          "%s", msg);
}

static gboolean s3_init(const SluiceHost *host, GError **error)
{
  s3_host = host;
  return TRUE;
}

/* Any upload worker thread. */
static gboolean s3_upload(const GstStructure *structure, const char *local_path, const char *key,
                          const char *content_type, char **location, GError **error)
{
  g_autoptr(S3Target) target = s3_target_new(structure, error);
  if (target == NULL)
    return FALSE;
  if (location != NULL)
    *location = NULL;
  return s3_upload_file(target, local_path, key, content_type, location, error);
}

static const SluiceStorageVTable s3_vtable = {
    .size = sizeof(SluiceStorageVTable),
    .scheme = "s3",
    .upload = s3_upload,
};

static const SluicePluginDesc s3_desc =
    SLUICE_PLUGIN_DESC_INIT(.kind = SLUICE_PLUGIN_KIND_STORAGE, .name = "upload-s3",
                            .version = "1.0.0",
                            .description = "Amazon S3 and S3-compatible storage (SigV4, multipart)",
                            .init = s3_init, .vtable = &s3_vtable);

SLUICE_PLUGIN_DEFINE(s3_desc)
