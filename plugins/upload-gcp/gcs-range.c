/* upload-gcp: resumable-upload arithmetic. See gcs-range.h.
 *
 * The Range parser is hand-written: libsoup's soup_message_headers_get_ranges() parses a
 * *request's* Range against a known total and resolves suffix forms, while a 308's header is a
 * response-side report with one fixed shape that must be refused when it is anything else.
 */
#include "gcs-range.h"

#include <string.h>

GcsChunk gcs_chunk_next(gint64 persisted, gint64 total, gint64 chunk_size)
{
  GcsChunk c;
  gint64 left = total - persisted;
  g_return_val_if_fail(persisted >= 0 && persisted <= total, (GcsChunk){0});
  g_return_val_if_fail(chunk_size > 0 && chunk_size % GCS_CHUNK_QUANTUM == 0, (GcsChunk){0});
  c.start = persisted;
  c.len = MIN(left, chunk_size);
  c.last = c.start + c.len == total;
  return c;
}

char *gcs_content_range(const GcsChunk *chunk, gint64 total)
{
  gint64 end = chunk->start + chunk->len - 1;
  if (chunk->len == 0)
    return gcs_content_range_query(total);
  if (chunk->last)
    return g_strdup_printf("bytes %" G_GINT64_FORMAT "-%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT,
                           chunk->start, end, total);
  return g_strdup_printf("bytes %" G_GINT64_FORMAT "-%" G_GINT64_FORMAT "/*", chunk->start, end);
}

char *gcs_content_range_query(gint64 total)
{
  return g_strdup_printf("bytes */%" G_GINT64_FORMAT, total);
}

static const char *skip_ws(const char *p)
{
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

/* Reads a non-negative decimal without sign or overflow; returns the end or NULL. */
static const char *read_count(const char *p, gint64 *out)
{
  gint64 v = 0;
  const char *start = p;
  while (g_ascii_isdigit(*p)) {
    int d = *p - '0';
    if (v > (G_MAXINT64 - d) / 10)
      return NULL;
    v = v * 10 + d;
    p++;
  }
  if (p == start)
    return NULL;
  *out = v;
  return p;
}

gboolean gcs_range_parse(const char *header, gint64 *persisted)
{
  const char *p;
  gint64 first, last;
  if (header == NULL) {
    *persisted = 0;
    return TRUE;
  }
  p = skip_ws(header);
  if (g_ascii_strncasecmp(p, "bytes", 5) != 0)
    return FALSE;
  p = skip_ws(p + 5);
  if (*p++ != '=')
    return FALSE;
  p = read_count(skip_ws(p), &first);
  if (p == NULL || first != 0)
    return FALSE;
  p = skip_ws(p);
  if (*p++ != '-')
    return FALSE;
  p = read_count(skip_ws(p), &last);
  if (p == NULL || last == G_MAXINT64)
    return FALSE;
  if (*skip_ws(p) != '\0')
    return FALSE;
  *persisted = last + 1;
  return TRUE;
}

GcsResume gcs_resume_classify(const GcsChunk *chunk, gint64 before, gint64 persisted, gint64 total)
{
  if (persisted > chunk->start + chunk->len || persisted > total)
    return GCS_RESUME_INVALID;
  if (persisted <= before)
    return GCS_RESUME_NO_PROGRESS;
  return GCS_RESUME_PROGRESS;
}
