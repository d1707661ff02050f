/* upload-gcp: putting one local file into a bucket.
 *
 * Files up to GCS_SIMPLE_UPLOAD_MAX bytes go in one request (uploadType=media), streamed from the
 * file. Larger ones use a resumable session (uploadType=resumable): chunks of GCS_CHUNK_SIZE
 * bytes are read from disk into one buffer at a time and PUT with a Content-Range; after every
 * 308 the upload goes on from the byte count the server reports in its Range header, which may be
 * less than was sent. A chunk that fails (connection lost, 408, 429, 5xx) is followed by a status
 * query and continues from what the server has; a session the server has forgotten (404, 410)
 * starts over. Memory stays at one chunk whatever the file size.
 *
 * Ownership: arguments are transfer none. Threading: runs on the calling (upload worker) thread
 * and blocks; several uploads may run at once, each with its own session and buffer.
 */
#ifndef GCS_UPLOAD_H
#define GCS_UPLOAD_H

#include "gcs-target.h"

G_BEGIN_DECLS

/* Files up to this size are sent with a simple upload. */
#define GCS_SIMPLE_UPLOAD_MAX ((gint64)8 * 1024 * 1024)
/* Resumable chunk size: a multiple of 256 KiB, as the protocol requires. */
#define GCS_CHUNK_SIZE ((gint64)8 * 1024 * 1024)

/* Uploads `local_path` to `target` as object `name` with `content_type`. FALSE with `error`
 * (GCS_ERROR) when the object was not stored. */
gboolean gcs_upload_file(const GcsTarget *target, const char *local_path, const char *name,
                         const char *content_type, GError **error);

G_END_DECLS

#endif /* GCS_UPLOAD_H */
