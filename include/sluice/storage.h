/* sluice plugin ABI — storage plugins (upload backends for what outputs write).
 *
 * Copy rule as for the descriptor: the host copies min(size, sizeof) into a zeroed struct.
 */
#ifndef SLUICE_STORAGE_H
#define SLUICE_STORAGE_H

#include <glib.h>
#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct {
  /* --- ABI 1.0 --- */
  guint32 size;       /* sizeof(SluiceStorageVTable) the plugin was built with */
  const char *scheme; /* mandatory: the config section it serves: "s3", "azure", "gcp", ... */

  /* Mandatory. Upload one finished file. Called on an upload worker thread, may block; several
   * uploads may run at once, so it must be reentrant.
   * `target` (transfer none): the storage settings for this upload (bucket, credentials, ...).
   * `local_path`, `key`, `content_type` (transfer none): the file, the object name, its type.
   * On success returns TRUE and sets `*location` (transfer full) to where the object now lives.
   * On failure returns FALSE with `error` set; the core then tries backup storage. */
  gboolean (*upload)(const GstStructure *target, const char *local_path, const char *key,
                     const char *content_type, char **location, GError **error);
} SluiceStorageVTable;

G_END_DECLS

#endif /* SLUICE_STORAGE_H */
