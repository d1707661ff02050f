/* upload-azure — Blob service requests as data. See request.h. */
#include "request.h"

static void header_clear(gpointer p)
{
  AzHeader *h = p;
  g_free(h->name);
  g_free(h->value);
}

AzRequest *az_request_new(const char *method, const char *origin, const char *path,
                          const char *query)
{
  AzRequest *req = g_new0(AzRequest, 1);
  req->method = g_strdup(method);
  req->origin = g_strdup(origin);
  req->path = g_strdup(path);
  req->query = g_strdup(query);
  req->headers = g_array_new(FALSE, TRUE, sizeof(AzHeader));
  g_array_set_clear_func(req->headers, header_clear);
  return req;
}

void az_request_free(AzRequest *req)
{
  if (req == NULL)
    return;
  g_free(req->method);
  g_free(req->origin);
  g_free(req->path);
  g_free(req->query);
  g_array_unref(req->headers);
  g_free(req);
}

static gint find(const AzRequest *req, const char *name)
{
  for (guint i = 0; i < req->headers->len; i++)
    if (g_ascii_strcasecmp(g_array_index(req->headers, AzHeader, i).name, name) == 0)
      return (gint)i;
  return -1;
}

void az_request_set_header(AzRequest *req, const char *name, const char *value)
{
  gint i = find(req, name);
  if (i >= 0) {
    AzHeader *h = &g_array_index(req->headers, AzHeader, i);
    g_free(h->value);
    h->value = g_strdup(value);
  } else {
    AzHeader h = {g_strdup(name), g_strdup(value)};
    g_array_append_val(req->headers, h);
  }
}

void az_request_remove_header(AzRequest *req, const char *name)
{
  gint i = find(req, name);
  if (i >= 0)
    g_array_remove_index(req->headers, (guint)i);
}

const char *az_request_get_header(const AzRequest *req, const char *name)
{
  gint i = find(req, name);
  return i >= 0 ? g_array_index(req->headers, AzHeader, i).value : NULL;
}

char *az_request_url(const AzRequest *req)
{
  return g_strconcat(req->origin, req->path, req->query ? "?" : "", req->query, NULL);
}

char *az_http_date(GDateTime *when)
{
  /* strftime's %a and %b follow the locale; HTTP dates are always in English. */
  static const char *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  g_autoptr(GDateTime) utc = g_date_time_to_utc(when);
  return g_strdup_printf("%s, %02d %s %04d %02d:%02d:%02d GMT",
                         days[g_date_time_get_day_of_week(utc) - 1],
                         g_date_time_get_day_of_month(utc), months[g_date_time_get_month(utc) - 1],
                         g_date_time_get_year(utc), g_date_time_get_hour(utc),
                         g_date_time_get_minute(utc), g_date_time_get_second(utc));
}
