/* upload-azure — storing one local file as a block blob.
 *
 * A file of at most the target's max_put_blob (256 MiB unless configured) goes up in a single Put
 * Blob streamed from disk, as Microsoft's SDKs and LiveKit's egress do: memory stays small, and a
 * recording is one request. Its MD5 is computed on a second thread while it is sent and compared
 * with the Content-MD5 the service answers with; a blob that differs is sent again (up to 3 times),
 * then the upload fails. A larger file is read block by block (8 MiB) and sent as Put Block calls
 * by up to AZ_UPLOAD_WORKERS threads at once, each with its own SoupSession and one block-sized
 * buffer, then committed with Put Block List (which also sets the blob's Content-Type through
 * x-ms-blob-content-type); each block carries Content-MD5, which the service checks before it
 * keeps the block. Memory is therefore bounded by AZ_UPLOAD_WORKERS blocks whatever the file's
 * size; the file is never read whole into memory. When one block fails for good the others are
 * cancelled and nothing is committed: the blob keeps whatever it held before.
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
