/* upload-s3 — one file to one object: a single PutObject for small files, a multipart upload
 * for the rest.
 *
 * Memory stays bounded whatever the file size: a file of up to S3_PART_SIZE bytes is read and
 * sent in one piece; a larger one is read part by part, with at most S3_PARALLEL_PARTS parts in
 * memory (and in flight) at once, each read with pread() by the worker that sends it. Parts are
 * S3_PART_SIZE bytes (more when the file would otherwise need over 10,000 parts, S3's limit);
 * the last one may be smaller. A multipart upload that fails is aborted (DELETE ?uploadId) so its
 * parts do not stay billed.
 *
 * Ownership: `target` transfer none (the upload may correct its region and clock skew);
 * `*location` transfer full. Threading: runs on the calling thread, which it blocks; it starts
 * and joins its own part workers. Reentrant: concurrent calls share nothing.
 */
#ifndef S3_UPLOAD_H
#define S3_UPLOAD_H

#include "s3-target.h"

G_BEGIN_DECLS

#define S3_PART_SIZE      (8 * 1024 * 1024)
#define S3_PARALLEL_PARTS 3
#define S3_MAX_PARTS      10000

/* The part size for a file of `size` bytes: S3_PART_SIZE, or the smallest whole number of MiB
 * that keeps the count within S3_MAX_PARTS. */
static inline guint64 s3_upload_part_size(guint64 size)
{
  const guint64 mib = 1024 * 1024;
  guint64 min = (size + S3_MAX_PARTS - 1) / S3_MAX_PARTS;
  min = (min + mib - 1) / mib * mib;
  return MAX((guint64)S3_PART_SIZE, min);
}

gboolean s3_upload_file(S3Target *target, const char *local_path, const char *key,
                        const char *content_type, char **location, GError **error);

G_END_DECLS

#endif /* S3_UPLOAD_H */
