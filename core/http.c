/* Health and metrics HTTP surfaces. See http.h. */
#include "http.h"

#include <gio/gio.h>
#include <libsoup/soup.h>
#include <string.h>

typedef struct {
  gint port;
  SoupServer *server;
} Listener;

struct _SlHttp {
  GArray *listeners; /* Listener */
  SlAvailabilityFunc availability;
  gpointer availability_data;
  SlMetrics *metrics;
};

SlHttp *sl_http_new(void)
{
  SlHttp *http = g_new0(SlHttp, 1);
  http->listeners = g_array_new(FALSE, TRUE, sizeof(Listener));
  return http;
}

void sl_http_close(SlHttp *http)
{
  for (guint i = 0; i < http->listeners->len; i++) {
    Listener *l = &g_array_index(http->listeners, Listener, i);
    if (l->server != NULL) {
      soup_server_disconnect(l->server);
      g_clear_object(&l->server);
    }
  }
  g_array_set_size(http->listeners, 0);
}

void sl_http_free(SlHttp *http)
{
  if (http == NULL)
    return;
  sl_http_close(http);
  g_array_unref(http->listeners);
  g_free(http);
}

static void reply_text(SoupServerMessage *msg, guint status, const char *body)
{
  soup_server_message_set_status(msg, status, NULL);
  soup_server_message_set_response(msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, body,
                                   strlen(body));
}

static void health_cb(SoupServer *server, SoupServerMessage *msg, const char *path,
                      GHashTable *query, gpointer user_data)
{
  SlHttp *http = user_data;
  const char *method = soup_server_message_get_method(msg);
  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
    reply_text(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "GET only\n");
    return;
  }
  if (strcmp(path, "/") == 0 || strcmp(path, "/health") == 0) {
    reply_text(msg, SOUP_STATUS_OK, "Healthy\n");
  } else if (strcmp(path, "/availability") == 0) {
    g_autofree char *why = NULL;
    if (http->availability(http->availability_data, &why)) {
      reply_text(msg, SOUP_STATUS_OK, "Available\n");
    } else {
      g_autofree char *body = g_strdup_printf("No availability: %s\n", why ? why : "unknown");
      reply_text(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, body);
    }
  } else {
    reply_text(msg, SOUP_STATUS_NOT_FOUND, "Not found: this port serves / and /availability\n");
  }
}

static void metrics_cb(SoupServer *server, SoupServerMessage *msg, const char *path,
                       GHashTable *query, gpointer user_data)
{
  SlHttp *http = user_data;
  const char *method = soup_server_message_get_method(msg);
  char *text;
  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
    reply_text(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "GET only\n");
    return;
  }
  if (strcmp(path, "/metrics") != 0) {
    /* When health shares this port its handler owns the other paths. */
    reply_text(msg, SOUP_STATUS_NOT_FOUND, "Not found: metrics are at /metrics\n");
    return;
  }
  text = sl_metrics_render(http->metrics);
  soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response(msg, "text/plain; version=0.0.4; charset=utf-8",
                                   SOUP_MEMORY_TAKE, text, strlen(text));
}

/* Returns the server listening on `port`, creating and binding it on first use. */
static SoupServer *listener_for(SlHttp *http, const char *address, gint port, GError **error)
{
  g_autoptr(SoupServer) server = NULL;
  g_autoptr(GInetAddress) inet = NULL;
  g_autoptr(GSocketAddress) sa = NULL;
  Listener l;

  for (guint i = 0; i < http->listeners->len; i++) {
    Listener *existing = &g_array_index(http->listeners, Listener, i);
    if (existing->port == port)
      return existing->server;
  }
  inet = g_inet_address_new_from_string(address ? address : "0.0.0.0");
  if (inet == NULL) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "bind_address '%s' is not an IP address", address);
    return NULL;
  }
  sa = g_inet_socket_address_new(inet, (guint16)port);
  server = soup_server_new("server-header", "sluice", NULL);
  if (!soup_server_listen(server, sa, 0, error))
    return NULL;
  l.port = port;
  l.server = g_steal_pointer(&server);
  g_array_append_val(http->listeners, l);
  return l.server;
}

gboolean sl_http_serve_health(SlHttp *http, const char *address, gint port,
                              SlAvailabilityFunc availability, gpointer user_data, GError **error)
{
  SoupServer *server;
  if (port <= 0)
    return TRUE;
  server = listener_for(http, address, port, error);
  if (server == NULL)
    return FALSE;
  http->availability = availability;
  http->availability_data = user_data;
  soup_server_add_handler(server, NULL, health_cb, http, NULL);
  return TRUE;
}

gboolean sl_http_serve_metrics(SlHttp *http, const char *address, gint port, SlMetrics *metrics,
                               GError **error)
{
  SoupServer *server;
  if (port <= 0)
    return TRUE;
  server = listener_for(http, address, port, error);
  if (server == NULL)
    return FALSE;
  http->metrics = metrics;
  soup_server_add_handler(server, "/metrics", metrics_cb, http, NULL);
  /* Without a health handler on this port, every other path still needs an answer. */
  if (http->availability == NULL)
    soup_server_add_handler(server, NULL, metrics_cb, http, NULL);
  return TRUE;
}
