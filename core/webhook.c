/* Webhooks. See webhook.h. */
#include "webhook.h"

#include "ids.h"
#include "jwt.h"
#include "log.h"

#include <libsoup/soup.h>
#include <string.h>

#define QUEUE_CAP    1000
#define MAX_ATTEMPTS 6
#define FIRST_DELAY  1
#define MAX_DELAY    30

typedef struct {
  char *body;
  char *event;
  guint attempts;
} Event;

typedef struct {
  SlWebhooks *wh;
  char *url;
  GQueue queue; /* Event* */
  gboolean sending;
  guint retry_source;
} Target;

struct _SlWebhooks {
  SoupSession *session;
  char *api_key;
  char *api_secret;
  GPtrArray *targets; /* Target* */
};

static void event_free(Event *e)
{
  g_free(e->body);
  g_free(e->event);
  g_free(e);
}

static void target_free(gpointer p)
{
  Target *t = p;
  if (t->retry_source)
    g_source_remove(t->retry_source);
  g_queue_clear_full(&t->queue, (GDestroyNotify)event_free);
  g_free(t->url);
  g_free(t);
}

SlWebhooks *sl_webhooks_new(SlConfig *config, GError **error)
{
  const char *const *urls = sl_config_get_strv(config, "webhook.urls");
  const char *key = sl_config_get_string(config, "webhook.api_key");
  SlWebhooks *wh;
  if (urls == NULL || urls[0] == NULL)
    return NULL;
  if (key == NULL)
    key = sl_config_get_string(config, "api_key");
  if (key == NULL || sl_config_get_string(config, "api_secret") == NULL ||
      g_strcmp0(key, sl_config_get_string(config, "api_key")) != 0) {
    g_set_error(error, SL_CONFIG_ERROR, SL_CONFIG_ERROR_INVALID,
                "webhook.urls is set but webhooks cannot be signed: webhook.api_key must be the "
                "api_key whose api_secret is configured");
    return NULL;
  }
  wh = g_new0(SlWebhooks, 1);
  wh->session = soup_session_new_with_options("timeout", 10, "user-agent", "sluice", NULL);
  wh->api_key = g_strdup(key);
  wh->api_secret = g_strdup(sl_config_get_string(config, "api_secret"));
  wh->targets = g_ptr_array_new_with_free_func(target_free);
  for (guint i = 0; urls[i]; i++) {
    Target *t = g_new0(Target, 1);
    t->wh = wh;
    t->url = g_strdup(urls[i]);
    g_queue_init(&t->queue);
    g_ptr_array_add(wh->targets, t);
  }
  sl_info("webhook", "%u webhook URL%s", wh->targets->len, wh->targets->len == 1 ? "" : "s");
  return wh;
}

void sl_webhooks_free(SlWebhooks *wh)
{
  if (wh == NULL)
    return;
  g_ptr_array_unref(wh->targets);
  soup_session_abort(wh->session);
  g_object_unref(wh->session);
  g_free(wh->api_key);
  g_free(wh->api_secret);
  g_free(wh);
}

static void send_next(Target *t);

static gboolean retry_now(gpointer data)
{
  Target *t = data;
  t->retry_source = 0;
  send_next(t);
  return G_SOURCE_REMOVE;
}

static void on_sent(GObject *src, GAsyncResult *res, gpointer data)
{
  Target *t = data;
  SoupMessage *msg = soup_session_get_async_result_message(SOUP_SESSION(src), res);
  g_autoptr(GError) err = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish(SOUP_SESSION(src), res, &err);
  Event *e = g_queue_peek_head(&t->queue);
  guint status = msg ? soup_message_get_status(msg) : 0;
  t->sending = FALSE;
  if (e == NULL)
    return;
  if (err == NULL && status >= 200 && status < 300) {
    sl_debug("webhook", "%s delivered to %s", e->event, t->url);
    event_free(g_queue_pop_head(&t->queue));
    send_next(t);
    return;
  }
  e->attempts++;
  if (e->attempts >= MAX_ATTEMPTS) {
    sl_warn("webhook", "%s to %s given up after %u attempts: %s", e->event, t->url, e->attempts,
            err ? err->message : soup_status_get_phrase(status));
    event_free(g_queue_pop_head(&t->queue));
    send_next(t);
    return;
  }
  {
    guint delay = MIN(MAX_DELAY, FIRST_DELAY << (e->attempts - 1));
    sl_debug("webhook", "%s to %s failed (%s); retrying in %u s", e->event, t->url,
             err ? err->message : soup_status_get_phrase(status), delay);
    t->retry_source = g_timeout_add_seconds(delay, retry_now, t);
  }
}

static void send_next(Target *t)
{
  Event *e = g_queue_peek_head(&t->queue);
  g_autoptr(JsonObject) claims = NULL;
  g_autoptr(GError) err = NULL;
  g_autofree char *sha = NULL;
  g_autofree char *token = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  if (e == NULL || t->sending || t->retry_source)
    return;
  msg = soup_message_new("POST", t->url);
  if (msg == NULL) {
    sl_warn("webhook", "'%s' is not a URL; dropping %s", t->url, e->event);
    event_free(g_queue_pop_head(&t->queue));
    send_next(t);
    return;
  }
  sha = sl_jwt_sha256_b64(e->body, strlen(e->body));
  claims = json_object_new();
  json_object_set_string_member(claims, "sha256", sha);
  json_object_set_int_member(claims, "exp", g_get_real_time() / G_USEC_PER_SEC + 300);
  token = sl_jwt_sign(claims, t->wh->api_key, t->wh->api_secret, &err);
  if (token == NULL) {
    sl_warn("webhook", "cannot sign %s: %s", e->event, err->message);
    event_free(g_queue_pop_head(&t->queue));
    return;
  }
  soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization", token);
  body = g_bytes_new(e->body, strlen(e->body));
  soup_message_set_request_body_from_bytes(msg, "application/webhook+json", body);
  t->sending = TRUE;
  soup_session_send_and_read_async(t->wh->session, msg, G_PRIORITY_DEFAULT, NULL, on_sent, t);
}

void sl_webhooks_send(SlWebhooks *wh, const char *event, const char *info_field,
                      const char *info_json)
{
  g_autofree char *id = NULL;
  g_autofree char *body = NULL;
  if (wh == NULL)
    return;
  id = sl_id_random("EV_", 12);
  /* The info is already canonical protobuf JSON; the envelope is built around it as text so it
   * is not re-encoded (and int64 strings stay strings). */
  body = g_strdup_printf(
      "{\"event\":\"%s\",\"%s\":%s,\"id\":\"%s\",\"createdAt\":\"%" G_GINT64_FORMAT "\"}", event,
      info_field, info_json, id, g_get_real_time() / G_USEC_PER_SEC);
  for (guint i = 0; i < wh->targets->len; i++) {
    Target *t = g_ptr_array_index(wh->targets, i);
    Event *e = g_new0(Event, 1);
    e->body = g_strdup(body);
    e->event = g_strdup(event);
    if (g_queue_get_length(&t->queue) >= QUEUE_CAP) {
      Event *old = g_queue_peek_nth(&t->queue, t->sending || t->retry_source ? 1 : 0);
      sl_warn("webhook", "%s: %u events waiting; dropping the oldest (%s)", t->url, QUEUE_CAP,
              old ? old->event : "?");
      if (old != NULL) {
        g_queue_remove(&t->queue, old);
        event_free(old);
      }
    }
    g_queue_push_tail(&t->queue, e);
    send_next(t);
  }
}

guint sl_webhooks_pending(SlWebhooks *wh)
{
  guint n = 0;
  for (guint i = 0; wh && i < wh->targets->len; i++)
    n += g_queue_get_length(&((Target *)g_ptr_array_index(wh->targets, i))->queue);
  return n;
}
