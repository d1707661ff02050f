/* upload-azure — storing one local file as a block blob.
 *
 * A file of at most one block (8 MiB) goes up in a single Put Blob. A larger one is read block by
 * block and sent as Put Block calls by up to AZ_UPLOAD_WORKERS threads at once, each with its own
 * SoupSession and one block-sized buffer, then committed with Put Block List (which also sets the
 * blob's Content-Type through x-ms-blob-content-type). Memory is therefore bounded by
 * AZ_UPLOAD_WORKERS blocks whatever the file's size; the file is never read whole. Each request
 * carries Content-MD5, so the service checks every byte it stores. When one block fails for good
 * the others are cancelled and nothing is committed: the blob keeps whatever it held before.
 *
 * Ownership: all arguments are borrowed; `*location` is transfer full.
 * Threading: blocks the calling thread until the upload ends; reentrant (no shared state), so
 * several uploads may run at once from different threads.
 */
#ifndef AZ_UPLOAD_H
#define AZ_UPLOAD_H

#include <sluice/host.h>

#include "target.h"

G_BEGIN_DECLS

#define AZ_UPLOAD_WORKERS 4

/* `host` may be NULL (no log lines). */
gboolean az_upload_file(const AzTarget *target, const char *local_path, const char *key,
                        const char *content_type, const SluiceHost *host, char **location,
                        GError **error);

G_END_DECLS

#endif /* AZ_UPLOAD_H */
