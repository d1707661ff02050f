/* upload-gcp: the arithmetic of GCS resumable uploads (no I/O, unit-tested).
 *
 * A resumable session receives the object in chunks: `PUT <session>` with
 * `Content-Range: bytes START-END/TOTAL` (TOTAL is `*` until the last chunk). Every chunk but the
 * last is a multiple of 256 KiB. A non-final chunk is answered with 308 and `Range: bytes=0-N`:
 * the server has persisted N+1 bytes — possibly FEWER than the chunk carried — and the next
 * chunk starts at N+1. No Range header means nothing is persisted yet. After a failed request the
 * client asks with an empty `PUT` and `Content-Range: bytes * /TOTAL` (written without the space)
 * where to go on.
 *
 * Offsets are byte counts (gint64, >= 0). Any thread.
 */
#ifndef GCS_RANGE_H
#define GCS_RANGE_H

#include <glib.h>

G_BEGIN_DECLS

/* Chunks other than the last must be multiples of this (256 KiB). */
#define GCS_CHUNK_QUANTUM ((gint64)256 * 1024)

/* One chunk to send: bytes [start, start + len) of a `total`-byte object. */
typedef struct {
  gint64 start;
  gint64 len;    /* 0 only when everything is persisted but the session is not finished */
  gboolean last; /* the chunk reaches the end: its Content-Range carries the total */
} GcsChunk;

/* The chunk after `persisted` bytes: at most `chunk_size` (a positive multiple of
 * GCS_CHUNK_QUANTUM) bytes. `persisted` must be in [0, total]. */
GcsChunk gcs_chunk_next(gint64 persisted, gint64 total, gint64 chunk_size);

/* The Content-Range value for `chunk`: "bytes S-E/TOTAL" for the last chunk, "bytes S-E/ *"
 * (no space) otherwise, and the status-query form "bytes * /TOTAL" (no space) when `len` is 0.
 * Transfer full. */
char *gcs_content_range(const GcsChunk *chunk, gint64 total);

/* The Content-Range of a status query: "bytes * /TOTAL" (no space). Transfer full. */
char *gcs_content_range_query(gint64 total);

/* Parses a 308's Range header into the number of persisted bytes. NULL (no header) means 0.
 * Accepts "bytes=0-N" (whitespace around tokens tolerated); anything else — another start than
 * 0, a missing or negative N, trailing junk, several ranges — returns FALSE. */
gboolean gcs_range_parse(const char *header, gint64 *persisted);

/* What a 308 after sending `chunk` means. */
typedef enum {
  GCS_RESUME_PROGRESS,    /* the server persisted more than before: go on from `persisted` */
  GCS_RESUME_NO_PROGRESS, /* nothing new persisted: count it as a failed attempt */
  GCS_RESUME_INVALID,     /* more than was ever sent, or beyond the total: a protocol error */
} GcsResume;

/* Classifies the `persisted` byte count a server reports after `chunk`, given the count known
 * before (`before`). A report below `before` (the server lost data) is NO_PROGRESS: resuming
 * from what the server says is always correct, only slower. */
GcsResume gcs_resume_classify(const GcsChunk *chunk, gint64 before, gint64 persisted, gint64 total);

G_END_DECLS

#endif /* GCS_RANGE_H */
