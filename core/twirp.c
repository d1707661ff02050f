/* Twirp JSON over libsoup 3. See twirp.h. */
#include "twirp.h"

#include "log.h"
#include "pbbin.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#define LOG_COMPONENT "api"
#define TWIRP_PREFIX  "/twirp"

/* Request bodies are gathered here instead of in the SoupMessageBody, so that no more than
 * SL_TWIRP_MAX_BODY bytes of any request are ever held. */
#define BODY_KEY "sl-twirp-body"

typedef struct {
  GByteArray *data;
  gboolean too_large;
} Body;

typedef struct {
  char *name;
  const SlTwirpMethod *methods;
  gpointer user_data;
} Service;

struct _SlTwirp {
  SlJwtKeyLookup lookup;
  gpointer lookup_data;
  GHashTable *services; /* name → Service* */
  SoupServer *server;
  SlPbjsonFlags out_flags;
};

struct _SlTwirpCall {
  SoupServerMessage *msg;
  char *service;
  const SlTwirpMethod *method;
  JsonObject *request;
  JsonObject *claims;
  SlPbjsonFlags out_flags;
  gboolean protobuf; /* the request was application/protobuf, so the answer is too */
  gint64 started_us;
  gboolean paused;       /* the handler returned without answering */
  gboolean disconnected; /* libsoup dropped the connection; the message is dead */
  gboolean peer_closed;  /* the client closed its end while the message was paused */
  gulong disconnected_id;
  GSource *watch; /* on the client's socket while paused */
};

static const struct {
  const char *name;
  guint status;
} codes[] = {
    [SL_TWIRP_CANCELED] = {"canceled", 408},
    [SL_TWIRP_UNKNOWN] = {"unknown", 500},
    [SL_TWIRP_INVALID_ARGUMENT] = {"invalid_argument", 400},
    [SL_TWIRP_MALFORMED] = {"malformed", 400},
    [SL_TWIRP_DEADLINE_EXCEEDED] = {"deadline_exceeded", 408},
    [SL_TWIRP_NOT_FOUND] = {"not_found", 404},
    [SL_TWIRP_BAD_ROUTE] = {"bad_route", 404},
    [SL_TWIRP_ALREADY_EXISTS] = {"already_exists", 409},
    [SL_TWIRP_PERMISSION_DENIED] = {"permission_denied", 403},
    [SL_TWIRP_UNAUTHENTICATED] = {"unauthenticated", 401},
    [SL_TWIRP_RESOURCE_EXHAUSTED] = {"resource_exhausted", 429},
    [SL_TWIRP_FAILED_PRECONDITION] = {"failed_precondition", 412},
    [SL_TWIRP_ABORTED] = {"aborted", 409},
    [SL_TWIRP_OUT_OF_RANGE] = {"out_of_range", 400},
    [SL_TWIRP_UNIMPLEMENTED] = {"unimplemented", 501},
    [SL_TWIRP_INTERNAL] = {"internal", 500},
    [SL_TWIRP_UNAVAILABLE] = {"unavailable", 503},
    [SL_TWIRP_DATALOSS] = {"dataloss", 500},
};

const char *sl_twirp_code_name(SlTwirpCode code)
{
  if ((guint)code >= G_N_ELEMENTS(codes))
    return "unknown";
  return codes[code].name;
}

guint sl_twirp_code_status(SlTwirpCode code)
{
  if ((guint)code >= G_N_ELEMENTS(codes))
    return 500;
  return codes[code].status;
}

gboolean sl_twirp_code_from_name(const char *name, SlTwirpCode *out)
{
  for (guint i = 0; name != NULL && i < G_N_ELEMENTS(codes); i++) {
    if (strcmp(codes[i].name, name) == 0) {
      *out = (SlTwirpCode)i;
      return TRUE;
    }
  }
  return FALSE;
}

static void body_free(gpointer p)
{
  Body *b = p;
  g_byte_array_unref(b->data);
  g_free(b);
}

static void service_free(gpointer p)
{
  Service *s = p;
  g_free(s->name);
  g_free(s);
}

/* ---- answering -------------------------------------------------------------------------- */

static void log_answer(SoupServerMessage *msg, guint status, const char *code, const char *text,
                       gint64 started_us)
{
  const char *path = g_uri_get_path(soup_server_message_get_uri(msg));
  double ms = (double)(g_get_monotonic_time() - started_us) / 1000.0;
  SluiceLogLevel level = SLUICE_LOG_DEBUG;
  if (status >= 500 && status != 501)
    level = SLUICE_LOG_WARNING;
  else if (status == 401 || status == 403)
    level = SLUICE_LOG_INFO;
  if (code == NULL)
    sl_log(level, LOG_COMPONENT, "%s %s: %u (%.1f ms)", soup_server_message_get_method(msg), path,
           status, ms);
  else
    sl_log(level, LOG_COMPONENT, "%s %s: %u %s: %s (%.1f ms)", soup_server_message_get_method(msg),
           path, status, code, text, ms);
}

/* Writes a Twirp error answer on `msg`: {"code","msg"[,"meta"]} with the code's HTTP status. The
 * Content-Type is exactly "application/json": LiveKit's Node SDK compares it verbatim before it
 * reads an error body. */
static void set_error(SoupServerMessage *msg, SlTwirpCode code, const char *text, JsonObject *meta,
                      gint64 started_us)
{
  g_autoptr(JsonBuilder) b = json_builder_new_immutable();
  g_autoptr(JsonNode) root = NULL;
  char *body;
  guint status = sl_twirp_code_status(code);

  json_builder_begin_object(b);
  json_builder_set_member_name(b, "code");
  json_builder_add_string_value(b, sl_twirp_code_name(code));
  json_builder_set_member_name(b, "msg");
  json_builder_add_string_value(b, text != NULL ? text : "");
  if (meta != NULL && json_object_get_size(meta) > 0) {
    json_builder_set_member_name(b, "meta");
    json_builder_add_value(b, json_node_init_object(json_node_alloc(), meta));
  }
  json_builder_end_object(b);
  root = json_builder_get_root(b);
  body = json_to_string(root, FALSE);
  soup_server_message_set_status(msg, status, NULL);
  soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_TAKE, body, strlen(body));
  log_answer(msg, status, sl_twirp_code_name(code), text, started_us);
}

static JsonObject *meta1(const char *key, const char *value)
{
  JsonObject *meta = json_object_new();
  json_object_set_string_member(meta, key, value);
  return meta;
}

static void set_bad_route(SoupServerMessage *msg, const char *text, gint64 started_us)
{
  const char *method = soup_server_message_get_method(msg);
  const char *path = g_uri_get_path(soup_server_message_get_uri(msg));
  g_autofree char *route = g_strdup_printf("%s %s", method, path);
  g_autoptr(JsonObject) meta = meta1("twirp_invalid_route", route);
  set_error(msg, SL_TWIRP_BAD_ROUTE, text, meta, started_us);
}

static void on_disconnected(SoupServerMessage *msg, gpointer data)
{
  SlTwirpCall *call = data;
  call->disconnected = TRUE;
}

#define CALL_KEY "sl-twirp-call"

static void call_free(SlTwirpCall *call)
{
  if (call->watch != NULL) {
    g_source_destroy(call->watch);
    g_source_unref(call->watch);
  }
  g_object_set_data(G_OBJECT(call->msg), CALL_KEY, NULL);
  if (call->disconnected_id != 0)
    g_signal_handler_disconnect(call->msg, call->disconnected_id);
  g_object_unref(call->msg);
  g_free(call->service);
  if (call->request != NULL)
    json_object_unref(call->request);
  if (call->claims != NULL)
    json_object_unref(call->claims);
  g_free(call);
}

/* The response is on the message: let libsoup send it. After the client closed its end the
 * write fails, and that is how libsoup learns to let go of the connection. */
static void call_finish(SlTwirpCall *call)
{
  if (call->paused && !call->disconnected)
    soup_server_message_unpause(call->msg);
  call_free(call);
}

void sl_twirp_reply(SlTwirpCall *call, JsonObject *response)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *body = NULL;
  gsize len;

  g_return_if_fail(call != NULL);
  if (call->disconnected) {
    sl_debug(LOG_COMPONENT, "%s/%s: client left before the answer", call->service,
             call->method->name);
    call_free(call);
    return;
  }
  if (response != NULL && call->protobuf)
    bytes = sl_pbbin_encode(call->method->response, response, &error);
  else if (response != NULL)
    body = sl_pbjson_to_string(call->method->response, response, call->out_flags, &error);
  if (body == NULL && bytes == NULL) {
    sl_warn(LOG_COMPONENT, "%s/%s: response does not fit %s: %s", call->service, call->method->name,
            call->method->response->full_name, error != NULL ? error->message : "no response");
    set_error(call->msg, SL_TWIRP_INTERNAL,
              call->protobuf ? "failed to marshal proto response"
                             : "failed to marshal json response",
              NULL, call->started_us);
    call_finish(call);
    return;
  }
  soup_server_message_set_status(call->msg, SOUP_STATUS_OK, NULL);
  if (bytes != NULL) {
    soup_message_headers_set_content_type(soup_server_message_get_response_headers(call->msg),
                                          "application/protobuf", NULL);
    soup_message_body_append_bytes(soup_server_message_get_response_body(call->msg), bytes);
  } else {
    len = strlen(body);
    soup_server_message_set_response(call->msg, "application/json", SOUP_MEMORY_TAKE,
                                     g_steal_pointer(&body), len);
  }
  log_answer(call->msg, SOUP_STATUS_OK, NULL, NULL, call->started_us);
  call_finish(call);
}

void sl_twirp_error_with_meta(SlTwirpCall *call, SlTwirpCode code, const char *msg,
                              JsonObject *meta)
{
  g_return_if_fail(call != NULL);
  if (call->disconnected) {
    call_free(call);
    return;
  }
  set_error(call->msg, code, msg, meta, call->started_us);
  call_finish(call);
}

void sl_twirp_error(SlTwirpCall *call, SlTwirpCode code, const char *msg)
{
  sl_twirp_error_with_meta(call, code, msg, NULL);
}

static SlTwirpCode code_for_gerror(const GError *error)
{
  if (error->domain == SL_PBJSON_ERROR)
    return error->code == SL_PBJSON_ERROR_MALFORMED ? SL_TWIRP_MALFORMED
                                                    : SL_TWIRP_INVALID_ARGUMENT;
  if (error->domain == SL_JWT_ERROR)
    return error->code == SL_JWT_ERROR_PERMISSION_DENIED ? SL_TWIRP_PERMISSION_DENIED
                                                         : SL_TWIRP_UNAUTHENTICATED;
  return SL_TWIRP_INTERNAL;
}

void sl_twirp_error_from_gerror(SlTwirpCall *call, const GError *error)
{
  g_return_if_fail(error != NULL);
  sl_twirp_error(call, code_for_gerror(error), error->message);
}

const char *sl_twirp_call_get_service(SlTwirpCall *call)
{
  return call->service;
}

const char *sl_twirp_call_get_method(SlTwirpCall *call)
{
  return call->method->name;
}

JsonObject *sl_twirp_call_get_request(SlTwirpCall *call)
{
  return call->request;
}

JsonObject *sl_twirp_call_get_claims(SlTwirpCall *call)
{
  return call->claims;
}

gboolean sl_twirp_call_client_gone(SlTwirpCall *call)
{
  return call->disconnected || call->peer_closed;
}

/* While a message is paused libsoup does not read its connection, so it would not notice the
 * client leaving; a peek at the socket does. Data from the client (a pipelined request, TLS
 * records) ends the watch without a verdict. */
static gboolean on_socket_ready(GSocket *socket, GIOCondition cond, gpointer data)
{
  SlTwirpCall *call = data;
  char byte;
  gssize n;
  if (cond & (G_IO_HUP | G_IO_ERR)) {
    call->peer_closed = TRUE;
  } else {
    n = recv(g_socket_get_fd(socket), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
      return G_SOURCE_CONTINUE;
    call->peer_closed = n <= 0;
  }
  g_source_unref(call->watch);
  call->watch = NULL;
  return G_SOURCE_REMOVE;
}

static void watch_client(SlTwirpCall *call)
{
  GSocket *socket = soup_server_message_get_socket(call->msg);
  if (socket == NULL)
    return;
  call->watch = g_socket_create_source(socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback(call->watch, (GSourceFunc)(void (*)(void))on_socket_ready, call, NULL);
  g_source_attach(call->watch, g_main_context_get_thread_default());
}

/* ---- request path ----------------------------------------------------------------------- */

static void on_got_chunk(SoupServerMessage *msg, GBytes *chunk, gpointer data)
{
  Body *body = data;
  gsize n = g_bytes_get_size(chunk);
  if (body->too_large)
    return;
  if (body->data->len + n > SL_TWIRP_MAX_BODY) {
    /* Keep reading (the connection stays usable) but stop keeping. */
    body->too_large = TRUE;
    g_byte_array_set_size(body->data, 0);
    return;
  }
  g_byte_array_append(body->data, g_bytes_get_data(chunk, NULL), (guint)n);
}

static gboolean is_protobuf_request(SoupServerMessage *msg)
{
  const char *type =
      soup_message_headers_get_content_type(soup_server_message_get_request_headers(msg), NULL);
  return type != NULL && g_ascii_strcasecmp(type, "application/protobuf") == 0;
}

/* What a Go Twirp server behind a body limit answers: its decoder fails, so `malformed`. */
static void set_too_large(SoupServerMessage *msg, gint64 started_us)
{
  g_autofree char *cause = g_strdup_printf("request body larger than %d bytes", SL_TWIRP_MAX_BODY);
  g_autoptr(JsonObject) meta = meta1("cause", cause);
  set_error(msg, SL_TWIRP_MALFORMED,
            is_protobuf_request(msg) ? "the protobuf request could not be decoded"
                                     : "the json request could not be decoded",
            meta, started_us);
}

/* Runs once the request headers are in, before libsoup reads the body. */
static void early_cb(SoupServer *server, SoupServerMessage *msg, const char *path,
                     GHashTable *query, gpointer data)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
  Body *body;
  /* libsoup keeps nothing of the body; on_got_chunk keeps what is allowed. */
  soup_message_body_set_accumulate(soup_server_message_get_request_body(msg), FALSE);
  if (soup_message_headers_get_encoding(headers) == SOUP_ENCODING_CONTENT_LENGTH &&
      soup_message_headers_get_content_length(headers) > SL_TWIRP_MAX_BODY) {
    /* Answered now, the handler is skipped; libsoup still reads (and drops) the body so the
     * connection stays in step, then sends this answer. */
    set_too_large(msg, g_get_monotonic_time());
    return;
  }
  body = g_new0(Body, 1);
  body->data = g_byte_array_new();
  g_object_set_data_full(G_OBJECT(msg), BODY_KEY, body, body_free);
  g_signal_connect(msg, "got-chunk", G_CALLBACK(on_got_chunk), body);
}

/* "/twirp/livekit.Ingress/CreateIngress" → its service and method, or NULL. */
static const SlTwirpMethod *route(SlTwirp *twirp, const char *path, Service **out_service)
{
  g_auto(GStrv) parts = NULL;
  Service *service;
  if (!g_str_has_prefix(path, TWIRP_PREFIX "/"))
    return NULL;
  parts = g_strsplit(path + strlen(TWIRP_PREFIX "/"), "/", -1);
  if (g_strv_length(parts) != 2)
    return NULL;
  service = g_hash_table_lookup(twirp->services, parts[0]);
  if (service == NULL)
    return NULL;
  for (const SlTwirpMethod *m = service->methods; m->name != NULL; m++) {
    if (strcmp(m->name, parts[1]) == 0) {
      *out_service = service;
      return m;
    }
  }
  return NULL;
}

static const char *bearer_token(SoupServerMessage *msg)
{
  const char *auth =
      soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Authorization");
  if (auth == NULL || g_ascii_strncasecmp(auth, "Bearer ", 7) != 0)
    return NULL;
  auth += 7;
  while (*auth == ' ')
    auth++;
  return auth;
}

static void handle_cb(SoupServer *server, SoupServerMessage *msg, const char *path,
                      GHashTable *query, gpointer data)
{
  SlTwirp *twirp = data;
  gint64 started_us = g_get_monotonic_time();
  const char *method = soup_server_message_get_method(msg);
  const SlTwirpMethod *m;
  Service *service = NULL;
  const char *content_type;
  gboolean protobuf;
  const char *token;
  Body *body;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) claims = NULL;
  g_autoptr(JsonObject) request = NULL;
  SlTwirpCall *call;

  if (strcmp(method, SOUP_METHOD_POST) != 0) {
    g_autofree char *text =
        g_strdup_printf("unsupported method \"%s\" (only POST is allowed)", method);
    set_bad_route(msg, text, started_us);
    return;
  }
  m = route(twirp, path, &service);
  if (m == NULL) {
    g_autofree char *text = g_strdup_printf("no handler for path \"%s\"", path);
    set_bad_route(msg, text, started_us);
    return;
  }

  content_type =
      soup_message_headers_get_content_type(soup_server_message_get_request_headers(msg), NULL);
  protobuf = is_protobuf_request(msg);
  if (!protobuf &&
      (content_type == NULL || g_ascii_strcasecmp(content_type, "application/json") != 0)) {
    g_autofree char *text = g_strdup_printf("unexpected Content-Type: \"%s\"",
                                            content_type != NULL ? content_type : "");
    set_bad_route(msg, text, started_us);
    return;
  }

  /* Who is asking is settled before the body is looked at. */
  token = bearer_token(msg);
  if (token == NULL) {
    set_error(msg, SL_TWIRP_UNAUTHENTICATED, "missing Authorization: Bearer <token>", NULL,
              started_us);
    return;
  }
  if (!sl_jwt_verify(token, twirp->lookup, twirp->lookup_data, g_get_real_time() / G_USEC_PER_SEC,
                     &claims, &error)) {
    set_error(msg, SL_TWIRP_UNAUTHENTICATED, error->message, NULL, started_us);
    return;
  }
  if (m->grant != NULL && !sl_jwt_has_video_grant(claims, m->grant)) {
    g_autofree char *text =
        g_strdup_printf("permissions denied: the token lacks the video.%s grant", m->grant);
    set_error(msg, SL_TWIRP_PERMISSION_DENIED, text, NULL, started_us);
    return;
  }

  body = g_object_get_data(G_OBJECT(msg), BODY_KEY);
  if (body == NULL || body->too_large) {
    set_too_large(msg, started_us);
    return;
  }
  /* Both encodings arrive at the same normalised request. */
  if (protobuf)
    request = sl_pbbin_decode(m->request, body->data->data, body->data->len, &error);
  else
    request = sl_pbjson_parse(m->request, (const char *)body->data->data, body->data->len,
                              SL_PBJSON_NONE, &error);
  if (request == NULL) {
    if (protobuf) {
      /* Go's proto.Unmarshal has one failure, and Twirp reports it as `malformed`. */
      g_autoptr(JsonObject) meta = meta1("cause", error->message);
      set_error(msg, SL_TWIRP_MALFORMED, "the protobuf request could not be decoded", meta,
                started_us);
    } else if (error->code == SL_PBJSON_ERROR_MALFORMED) {
      g_autoptr(JsonObject) meta = meta1("cause", error->message);
      set_error(msg, SL_TWIRP_MALFORMED, "the json request could not be decoded", meta, started_us);
    } else {
      set_error(msg, SL_TWIRP_INVALID_ARGUMENT, error->message, NULL, started_us);
    }
    return;
  }
  /* The body is parsed; free it now rather than with the message. */
  g_byte_array_set_size(body->data, 0);

  call = g_new0(SlTwirpCall, 1);
  call->msg = g_object_ref(msg);
  call->service = g_strdup(service->name);
  call->method = m;
  call->request = g_steal_pointer(&request);
  call->claims = g_steal_pointer(&claims);
  call->out_flags = twirp->out_flags;
  call->protobuf = protobuf;
  call->started_us = started_us;
  call->disconnected_id = g_signal_connect(msg, "disconnected", G_CALLBACK(on_disconnected), call);

  /* A handler may answer at once (and so free `call`) or keep it and answer later; the message
   * tells which, since `call` may be gone when the handler returns. */
  g_object_set_data(G_OBJECT(msg), CALL_KEY, call);
  m->handler(call, call->request, service->user_data);
  call = g_object_get_data(G_OBJECT(msg), CALL_KEY);
  if (call != NULL) {
    call->paused = TRUE;
    soup_server_message_pause(msg);
    watch_client(call);
  }
}

/* ---- setup ------------------------------------------------------------------------------ */

SlTwirp *sl_twirp_new(SlJwtKeyLookup lookup, gpointer lookup_data)
{
  SlTwirp *twirp = g_new0(SlTwirp, 1);
  twirp->lookup = lookup;
  twirp->lookup_data = lookup_data;
  twirp->services = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, service_free);
  return twirp;
}

void sl_twirp_free(SlTwirp *twirp)
{
  if (twirp == NULL)
    return;
  if (twirp->server != NULL) {
    soup_server_remove_handler(twirp->server, TWIRP_PREFIX);
    g_object_unref(twirp->server);
  }
  g_hash_table_unref(twirp->services);
  g_free(twirp);
}

void sl_twirp_add_service(SlTwirp *twirp, const char *service, const SlTwirpMethod *methods,
                          gpointer user_data)
{
  Service *s = g_new0(Service, 1);
  s->name = g_strdup(service);
  s->methods = methods;
  s->user_data = user_data;
  g_hash_table_replace(twirp->services, s->name, s);
}

void sl_twirp_attach(SlTwirp *twirp, SoupServer *server)
{
  g_return_if_fail(twirp->server == NULL);
  twirp->server = g_object_ref(server);
  soup_server_add_early_handler(server, TWIRP_PREFIX, early_cb, twirp, NULL);
  soup_server_add_handler(server, TWIRP_PREFIX, handle_cb, twirp, NULL);
}

void sl_twirp_set_output_flags(SlTwirp *twirp, SlPbjsonFlags flags)
{
  twirp->out_flags = flags & (SL_PBJSON_PROTO_NAMES | SL_PBJSON_EMIT_DEFAULTS);
}
