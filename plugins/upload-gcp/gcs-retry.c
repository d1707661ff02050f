/* upload-gcp: retry policy. See gcs-retry.h. */
#include "gcs-retry.h"

#include <gio/gio.h>

gboolean gcs_status_retriable(guint status)
{
  return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

gboolean gcs_transport_retriable(const GError *error)
{
  if (error == NULL)
    return FALSE;
  if (error->domain == G_TLS_ERROR)
    return FALSE; /* a refused certificate stays refused, as do refused proxy credentials */
  if (error->domain == G_IO_ERROR)
    return !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
           !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT) &&
           !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED) &&
           !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_PROXY_AUTH_FAILED) &&
           !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_PROXY_NEED_AUTH) &&
           !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_PROXY_NOT_ALLOWED);
  /* G_RESOLVER_ERROR (a DNS hiccup), SOUP_SESSION_ERROR (a connection closed while the
   * response was read) and the rest are worth another try; the attempt cap bounds them. */
  return TRUE;
}

gint64 gcs_backoff_us(guint failures, double jitter)
{
  gint64 delay = GCS_BACKOFF_INITIAL_US;
  if (failures == 0)
    return 0;
  for (guint i = 1; i < failures && delay < GCS_BACKOFF_MAX_US; i++)
    delay *= 2;
  delay = MIN(delay, GCS_BACKOFF_MAX_US);
  jitter = CLAMP(jitter, 0.0, 1.0);
  return delay / 2 + (gint64)((double)(delay / 2) * jitter);
}
