/* upload-alioss — the plugin entry: descriptor, config keys and the storage vtable for the
 * "alioss" scheme (Alibaba Cloud OSS).
 *
 * The target comes from the alioss: section of storage:, backup: or the top level
 * (core/storage.h); how it is read, which signature version and which addressing it gets are in
 * oss-target.h. The upload itself is oss-upload.h; one signed, retried request is oss-http.h.
 *
 * Threading: init() runs on the main thread before any upload and writes `config`; upload()
 * runs on any upload thread, only reads `config`, and keeps everything else on its stack.
 */
#include <sluice/plugin.h>

#include "oss-error.h"
#include "oss-target.h"
#include "oss-upload.h"

typedef struct {
  const SluiceHost *host; /* NULL until init() */
  guint64 part_size;
  guint parallel_parts;
  guint max_retries;
} AliossConfig;

static AliossConfig config = {
    .host = NULL,
    .part_size = OSS_DEFAULT_PART_SIZE,
    .parallel_parts = 3,
    .max_retries = 5,
};

/* Any thread: host->log is thread-safe. */
static void alioss_log(SluiceLogLevel level, const char *message, gpointer user_data)
{
  if (config.host != NULL)
    config.host->log(config.host, level, message);
  else
    g_log("sluice-upload-alioss",
          level <= SLUICE_LOG_WARNING ? G_LOG_LEVEL_WARNING : G_LOG_LEVEL_DEBUG, "%s", message);
}

static gboolean alioss_init(const SluiceHost *host, GError **error)
{
  gint64 part = host->config_int(host, "part_size");
  gint64 parallel = host->config_int(host, "parallel_parts");
  gint64 retries = host->config_int(host, "max_retries");

  config.host = host;
  /* The core validated the ranges; these only guard against a host that returned 0. */
  if (part >= OSS_MIN_PART_SIZE)
    config.part_size = (guint64)part;
  if (parallel >= 1)
    config.parallel_parts = (guint)MIN(parallel, 16);
  if (retries >= 0)
    config.max_retries = (guint)MIN(retries, 20);
  return TRUE;
}

/* Any upload thread; blocks. */
static gboolean alioss_upload(const GstStructure *target, const char *local_path, const char *key,
                              const char *content_type, char **location, GError **error)
{
  g_autoptr(OssTarget) t = NULL;
  g_autofree char *object = NULL;
  OssUploadOptions opts = {
      .part_size = config.part_size,
      .parallel_parts = config.parallel_parts,
      .retry = OSS_RETRY_POLICY_DEFAULT,
      .log = alioss_log,
  };
  OssUploadResult result;

  t = oss_target_from_structure(target, error);
  if (t == NULL)
    return FALSE;
  object = oss_object_key(key, error);
  if (object == NULL)
    return FALSE;
  opts.retry.max_retries = config.max_retries;
  if (!oss_upload_file(t, &opts, local_path, object,
                       content_type ? content_type : "application/octet-stream", &result, error))
    return FALSE;
  *location = oss_target_location(t, object);
  if (config.host != NULL)
    sluice_log(config.host, SLUICE_LOG_DEBUG,
               "stored %s as \"%s\" in bucket \"%s\" (%" G_GUINT64_FORMAT
               " bytes, %u parts, signature v%d)",
               local_path, object, t->bucket, result.size, MAX(result.parts, 1u), (int)t->sign);
  return TRUE;
}

static const SluiceStorageVTable alioss_vtable = {
    .size = sizeof(SluiceStorageVTable),
    .scheme = "alioss",
    .upload = alioss_upload,
};

static const SluiceConfigKey alioss_keys[] = {
    {"part_size", SLUICE_CONFIG_INT, "8388608", OSS_MIN_PART_SIZE, 5368709120.0,
     "bytes per multipart part (files up to this size go up in one PutObject)", 0},
    {"parallel_parts", SLUICE_CONFIG_INT, "3", 1, 16,
     "parts of one file in flight at once (each holds one part in memory)", 0},
    {"max_retries", SLUICE_CONFIG_INT, "5", 0, 20,
     "retries of one request after a 5xx answer or a connection failure", 0},
    SLUICE_CONFIG_KEY_END,
};

static const SluicePluginDesc alioss_desc =
    SLUICE_PLUGIN_DESC_INIT(.kind = SLUICE_PLUGIN_KIND_STORAGE, .name = "upload-alioss",
                            .version = "0.1.0",
                            .description =
                                "Alibaba Cloud OSS uploads (v4 and v1 signing, multipart)",
                            .config_keys = alioss_keys, .init = alioss_init,
                            .vtable = &alioss_vtable);

SLUICE_PLUGIN_DEFINE(alioss_desc)
