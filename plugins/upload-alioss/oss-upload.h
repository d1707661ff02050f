/* upload-alioss — storing one local file as one object: PutObject for a file that fits in one
 * part, multipart upload otherwise.
 *
 * Memory is bounded by the part size: the file is read from disk a part at a time (pread), one
 * part buffer per part in flight, never the whole file. A small file is one part sent with
 * PutObject. A larger one is InitiateMultipartUpload, then UploadPart from `parallel_parts`
 * threads (each with its own HTTP client and buffer) taking the next part number in turn, then
 * CompleteMultipartUpload with every part's ETag; when a part fails for good the upload is
 * aborted (AbortMultipartUpload) so OSS does not keep, and bill, its parts. Every request carries
 * Content-MD5, so OSS checks what it received.
 *
 * Threading: oss_upload_file blocks its caller and is reentrant; it starts and joins its own
 * part threads. Ownership: arguments are transfer none.
 */
#ifndef OSS_UPLOAD_H
#define OSS_UPLOAD_H

#include "oss-http.h"

G_BEGIN_DECLS

#define OSS_MIN_PART_SIZE     (100 * 1024) /* OSS refuses smaller parts, except the last */
#define OSS_DEFAULT_PART_SIZE (8 * 1024 * 1024)
#define OSS_MAX_PARTS         10000

typedef struct {
  guint64 part_size;    /* bytes per part, >= OSS_MIN_PART_SIZE; files up to this use PutObject */
  guint parallel_parts; /* parts in flight at once, >= 1 */
  OssRetryPolicy retry; /* per request */
  OssLogFunc log;       /* may be NULL */
  gpointer log_data;
} OssUploadOptions;

typedef struct {
  guint64 size; /* bytes stored */
  guint parts;  /* parts of the multipart upload; 0 when PutObject stored it */
} OssUploadResult;

/* The part size used for a file of `size` bytes: `wanted`, raised (to a whole MiB) when the
 * file would otherwise need more than OSS_MAX_PARTS parts. */
guint64 oss_part_size_for(guint64 size, guint64 wanted);

/* Stores `path` as `key` (already checked with oss_object_key) in `t`. */
gboolean oss_upload_file(const OssTarget *t, const OssUploadOptions *o, const char *path,
                         const char *key, const char *content_type, OssUploadResult *result,
                         GError **error);

G_END_DECLS

#endif /* OSS_UPLOAD_H */
