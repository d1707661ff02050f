/* upload-azure — the plugin entry: descriptor and the storage vtable for the "azure" scheme.
 *
 * Stores finished files in Azure Blob storage (or Azurite) as block blobs, authorised with the
 * account's SharedKey. The target (account, key, container, endpoint) comes with every upload
 * (target.h), so the plugin declares no config keys of its own and keeps no state but the host
 * table: uploads share nothing and may run on any number of threads at once.
 *
 *   target.h    the "azure" target, blob names and URLs
 *   ops.h       Put Blob / Put Block / Put Block List as requests   (pure)
 *   sharedkey.h SharedKey signing                                    (pure)
 *   blocks.h    block plan, ids, the block list XML                  (pure)
 *   errors.h    the error domain, reading the service's error XML    (pure)
 *   retry.h     what is retried and the back-off                     (pure)
 *   http.h      one signed request over libsoup, with retries        (I/O)
 *   upload.h    one file: a single Put Blob, or blocks in parallel   (I/O)
 */
#include <sluice/plugin.h>

#include "target.h"
#include "upload.h"

/* Written once by init() on the main thread before any upload; read-only afterwards. */
static const SluiceHost *az_host;

static gboolean az_init(const SluiceHost *host, GError **error)
{
  az_host = host;
  return TRUE;
}

/* Any upload worker thread; blocks until the blob is stored or the upload has failed. */
static gboolean az_upload(const GstStructure *target, const char *local_path, const char *key,
                          const char *content_type, char **location, GError **error)
{
  g_autoptr(AzTarget) t = az_target_from_structure(target, error);
  if (t == NULL)
    return FALSE;
  if (!az_upload_file(t, local_path, key,
                      content_type != NULL ? content_type : "application/octet-stream", az_host,
                      location, error))
    return FALSE;
  if (az_host != NULL)
    sluice_log(az_host, SLUICE_LOG_DEBUG, "azure: stored %s as %s", local_path, *location);
  return TRUE;
}

static const SluiceStorageVTable az_storage = {
    .size = sizeof(SluiceStorageVTable),
    .scheme = "azure",
    .upload = az_upload,
};

static const SluicePluginDesc az_desc =
    SLUICE_PLUGIN_DESC_INIT(.kind = SLUICE_PLUGIN_KIND_STORAGE, .name = "upload-azure",
                            .version = "1.0.0",
                            .description =
                                "Azure Blob storage uploads (SharedKey; Azurite-compatible)",
                            .init = az_init, .vtable = &az_storage);

SLUICE_PLUGIN_DEFINE(az_desc)
