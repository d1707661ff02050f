/* upload-gcp: URL building. See gcs-url.h. */
#include "gcs-url.h"

#include <string.h>

char *gcs_url_encode(const char *s, gboolean keep_slash)
{
  /* GLib escapes every byte outside RFC 3986's unreserved set unless told otherwise, which is
   * exactly GCS's rule; UTF-8 is escaped byte by byte (allow_utf8 FALSE). */
  return g_uri_escape_string(s, keep_slash ? "/" : NULL, FALSE);
}

char *gcs_url_normalize_base(const char *endpoint)
{
  g_autofree char *trimmed = NULL;
  gsize len;
  if (endpoint == NULL)
    return NULL;
  trimmed = g_strstrip(g_strdup(endpoint));
  len = strlen(trimmed);
  while (len > 0 && trimmed[len - 1] == '/')
    trimmed[--len] = '\0';
  if (len == 0)
    return NULL;
  if (strstr(trimmed, "://") == NULL)
    return g_strconcat("http://", trimmed, NULL);
  return g_steal_pointer(&trimmed);
}

static char *upload_url(const char *base, const char *bucket, const char *name, const char *type)
{
  g_autofree char *b = gcs_url_encode(bucket, FALSE);
  g_autofree char *n = gcs_url_encode(name, FALSE);
  return g_strdup_printf("%s/upload/storage/v1/b/%s/o?uploadType=%s&name=%s", base, b, type, n);
}

char *gcs_url_media_upload(const char *base, const char *bucket, const char *name)
{
  return upload_url(base, bucket, name, "media");
}

char *gcs_url_resumable_start(const char *base, const char *bucket, const char *name)
{
  return upload_url(base, bucket, name, "resumable");
}

char *gcs_url_object(const char *base, const char *bucket, const char *name)
{
  g_autofree char *b = gcs_url_encode(bucket, FALSE);
  g_autofree char *n = gcs_url_encode(name, FALSE);
  return g_strdup_printf("%s/storage/v1/b/%s/o/%s", base, b, n);
}

char *gcs_url_location(const char *custom_base, const char *bucket, const char *name)
{
  g_autofree char *n = gcs_url_encode(name, TRUE);
  if (custom_base != NULL) {
    g_autofree char *b = gcs_url_encode(bucket, FALSE);
    return g_strdup_printf("%s/%s/%s", custom_base, b, n);
  }
  /* Bucket names are DNS-like ([a-z0-9._-]), so they go into the host as they are. */
  return g_strdup_printf("https://%s.storage.googleapis.com/%s", bucket, n);
}
