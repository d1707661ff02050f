/* upload-azure — retry policy. See retry.h. */
#include "retry.h"

#include <gio/gio.h>

gboolean az_retry_status(guint status)
{
  switch (status) {
  case 408:
  case 500:
  case 502:
  case 503:
  case 504:
    return TRUE;
  default:
    return FALSE;
  }
}

gboolean az_retry_transport_error(const GError *error)
{
  if (error == NULL)
    return FALSE;
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return FALSE;
  /* Certificate and handshake failures are configuration, not weather. */
  if (error->domain == G_TLS_ERROR)
    return FALSE;
  /* Refused, reset, timed out, host unreachable, a resolver hiccup, a malformed or truncated
   * answer (SOUP_SESSION_ERROR): all may go away on the next try. */
  return TRUE;
}

guint az_retry_delay_ms(guint retry, guint base_ms, guint max_ms, double fraction)
{
  guint64 nominal = base_ms;
  for (guint i = 1; i < retry && nominal < max_ms; i++)
    nominal *= 2;
  if (nominal > max_ms)
    nominal = max_ms;
  if (fraction < 0)
    fraction = 0;
  if (fraction >= 1)
    fraction = 0.999999;
  return (guint)(nominal / 2 + (guint64)((double)(nominal - nominal / 2) * fraction));
}
