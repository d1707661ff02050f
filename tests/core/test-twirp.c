/* Unit tests for core/twirp.c: a SoupServer on a loopback port and a SoupSession client, both on
 * the test's main loop. */
#include "twirp.h"

#include "pbbin.h"

#include <string.h>

#define API_KEY    "APItwirpTest"
#define API_SECRET "twirp-secret-0123456789abcdefghijklmn"

typedef struct {
  SoupServer *server;
  SlTwirp *twirp;
  SoupSession *session;
  char *base;        /* "http://127.0.0.1:PORT" */
  SlTwirpCall *held; /* a call a handler left unanswered on purpose */
  gboolean held_gone;
} Fixture;

static const char *lookup(const char *api_key, gpointer data)
{
  return strcmp(api_key, API_KEY) == 0 ? API_SECRET : NULL;
}

/* ---- handlers --------------------------------------------------------------------------- */

/* Answers at once with an IngressInfo made from the request. */
static void create_ingress(SlTwirpCall *call, JsonObject *req, gpointer user_data)
{
  g_autoptr(JsonObject) info = json_object_new();
  g_autoptr(JsonObject) state = json_object_new();
  json_object_set_string_member(info, "ingress_id", "IN_1");
  json_object_set_string_member(info, "room_name",
                                json_object_get_string_member_with_default(req, "room_name", ""));
  json_object_set_int_member(info, "input_type",
                             json_object_get_int_member_with_default(req, "input_type", 0));
  json_object_set_string_member(state, "status", "ENDPOINT_INACTIVE");
  json_object_set_int_member(state, "updated_at", G_GINT64_CONSTANT(1700000000000000001));
  json_object_set_object_member(info, "state", json_object_ref(state));
  g_assert_cmpstr(sl_twirp_call_get_service(call), ==, "livekit.Ingress");
  g_assert_cmpstr(sl_twirp_call_get_method(call), ==, "CreateIngress");
  g_assert_true(sl_jwt_has_video_grant(sl_twirp_call_get_claims(call), "ingressAdmin"));
  g_assert_true(sl_twirp_call_get_request(call) == req);
  sl_twirp_reply(call, info);
}

static gboolean answer_list_later(gpointer data)
{
  SlTwirpCall *call = data;
  g_autoptr(JsonNode) resp =
      json_from_string("{\"items\":[{\"ingress_id\":\"IN_1\",\"input_type\":1}]}", NULL);
  sl_twirp_reply(call, json_node_get_object(resp));
  return G_SOURCE_REMOVE;
}

/* Answers from a timer, well after the handler returned. */
static void list_ingress(SlTwirpCall *call, JsonObject *req, gpointer user_data)
{
  g_timeout_add(80, answer_list_later, call);
}

/* Answers with the Twirp error whose code name is the request's `name`. */
static void update_ingress(SlTwirpCall *call, JsonObject *req, gpointer user_data)
{
  SlTwirpCode code;
  const char *name = json_object_get_string_member_with_default(req, "name", "");
  if (strcmp(name, "bad-response") == 0) {
    g_autoptr(JsonObject) bad = json_object_new();
    json_object_set_string_member(bad, "no_such_field", "x");
    sl_twirp_reply(call, bad);
    return;
  }
  if (strcmp(name, "with-meta") == 0) {
    g_autoptr(JsonObject) meta = json_object_new();
    json_object_set_string_member(meta, "argument", "room_name");
    sl_twirp_error_with_meta(call, SL_TWIRP_INVALID_ARGUMENT, "room_name is required", meta);
    return;
  }
  g_assert_true(sl_twirp_code_from_name(name, &code));
  sl_twirp_error(call, code, "as asked");
}

/* Keeps the call for the test to answer. */
static void delete_ingress(SlTwirpCall *call, JsonObject *req, gpointer user_data)
{
  Fixture *f = user_data;
  f->held = call;
}

static void stop_egress(SlTwirpCall *call, JsonObject *req, gpointer user_data)
{
  g_autoptr(JsonObject) info = json_object_new();
  json_object_set_string_member(info, "egress_id",
                                json_object_get_string_member_with_default(req, "egress_id", ""));
  json_object_set_string_member(info, "status", "EGRESS_ENDING");
  sl_twirp_reply(call, info);
}

static const SlTwirpMethod ingress_methods[] = {
    {"CreateIngress", &sl_pb_livekit_CreateIngressRequest, &sl_pb_livekit_IngressInfo,
     "ingressAdmin", create_ingress},
    {"ListIngress", &sl_pb_livekit_ListIngressRequest, &sl_pb_livekit_ListIngressResponse,
     "ingressAdmin", list_ingress},
    {"UpdateIngress", &sl_pb_livekit_UpdateIngressRequest, &sl_pb_livekit_IngressInfo,
     "ingressAdmin", update_ingress},
    {"DeleteIngress", &sl_pb_livekit_DeleteIngressRequest, &sl_pb_livekit_IngressInfo,
     "ingressAdmin", delete_ingress},
    {NULL},
};

static const SlTwirpMethod egress_methods[] = {
    {"StopEgress", &sl_pb_livekit_StopEgressRequest, &sl_pb_livekit_EgressInfo, "roomRecord",
     stop_egress},
    {NULL},
};

/* ---- fixture and client ----------------------------------------------------------------- */

static void setup(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  GSList *uris;
  f->server = soup_server_new("server-header", "sluice-test", NULL);
  g_assert_true(soup_server_listen_local(f->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  g_assert_no_error(error);
  uris = soup_server_get_uris(f->server);
  f->base = g_strdup_printf("http://127.0.0.1:%d", g_uri_get_port(uris->data));
  g_slist_free_full(uris, (GDestroyNotify)g_uri_unref);
  f->twirp = sl_twirp_new(lookup, NULL);
  sl_twirp_add_service(f->twirp, "livekit.Ingress", ingress_methods, f);
  sl_twirp_add_service(f->twirp, "livekit.Egress", egress_methods, f);
  sl_twirp_attach(f->twirp, f->server);
  f->session = soup_session_new();
}

static void teardown(Fixture *f, gconstpointer data)
{
  g_clear_object(&f->session);
  sl_twirp_free(f->twirp);
  soup_server_disconnect(f->server);
  g_clear_object(&f->server);
  g_free(f->base);
  /* Let libsoup finish closing what it closed. */
  while (g_main_context_iteration(NULL, FALSE))
    ;
}

typedef struct {
  GMainLoop *loop;
  GBytes *body;
  GError *error;
} Pending;

static void sent(GObject *source, GAsyncResult *res, gpointer data)
{
  Pending *p = data;
  p->body = soup_session_send_and_read_finish(SOUP_SESSION(source), res, &p->error);
  g_main_loop_quit(p->loop);
}

typedef struct {
  guint status;
  char *content_type;
  char *body;
  GBytes *raw;      /* the body as sent */
  JsonObject *json; /* the body, when it is a JSON object */
} Answer;

static void answer_clear(Answer *a)
{
  g_free(a->content_type);
  g_free(a->body);
  if (a->raw != NULL)
    g_bytes_unref(a->raw);
  if (a->json != NULL)
    json_object_unref(a->json);
}

static char *token_with(const char *grant, gint64 exp_offset, const char *key, const char *secret)
{
  g_autoptr(JsonObject) claims = json_object_new();
  gint64 now = g_get_real_time() / G_USEC_PER_SEC;
  if (grant != NULL) {
    JsonObject *video = json_object_new();
    json_object_set_boolean_member(video, grant, TRUE);
    json_object_set_object_member(claims, "video", video);
  }
  json_object_set_int_member(claims, "nbf", now - 600);
  json_object_set_int_member(claims, "exp", now + exp_offset);
  return sl_jwt_sign(claims, key, secret, NULL);
}

static char *admin_token(void)
{
  return token_with("ingressAdmin", 600, API_KEY, API_SECRET);
}

/* Sends one request and waits for the answer. `auth` NULL sends no Authorization header;
 * `content_type` NULL sends no body type; `chunked` sends the body without a length. */
static void request_full(Fixture *f, const char *method, const char *path, const char *content_type,
                         const char *auth, const char *body, gsize body_len, gboolean chunked,
                         GCancellable *cancel, Answer *out)
{
  g_autofree char *url = g_strconcat(f->base, path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new(method, url);
  Pending p = {g_main_loop_new(NULL, FALSE), NULL, NULL};
  SoupMessageHeaders *hdrs = soup_message_get_request_headers(msg);

  memset(out, 0, sizeof *out);
  if (auth != NULL)
    soup_message_headers_replace(hdrs, "Authorization", auth);
  if (body != NULL) {
    g_autoptr(GBytes) bytes = g_bytes_new(body, body_len);
    if (chunked) {
      g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_bytes(bytes);
      soup_message_set_request_body(msg, content_type, stream, -1);
    } else {
      soup_message_set_request_body_from_bytes(msg, content_type, bytes);
    }
  } else if (content_type != NULL) {
    soup_message_headers_replace(hdrs, "Content-Type", content_type);
  }
  soup_session_send_and_read_async(f->session, msg, G_PRIORITY_DEFAULT, cancel, sent, &p);
  g_main_loop_run(p.loop);
  g_main_loop_unref(p.loop);
  if (p.error != NULL) {
    out->status = 0;
    out->body = g_strdup(p.error->message);
    g_error_free(p.error);
    return;
  }
  out->status = soup_message_get_status(msg);
  out->content_type = g_strdup(
      soup_message_headers_get_one(soup_message_get_response_headers(msg), "Content-Type"));
  out->body = g_strndup(g_bytes_get_size(p.body) > 0 ? g_bytes_get_data(p.body, NULL) : "",
                        g_bytes_get_size(p.body));
  out->raw = p.body;
  {
    g_autoptr(JsonParser) parser = json_parser_new();
    if (json_parser_load_from_data(parser, out->body, -1, NULL) &&
        json_parser_get_root(parser) != NULL &&
        JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)))
      out->json = json_object_ref(json_node_get_object(json_parser_get_root(parser)));
  }
}

static void post(Fixture *f, const char *path, const char *auth, const char *body, Answer *out)
{
  g_autofree char *header = auth != NULL ? g_strconcat("Bearer ", auth, NULL) : NULL;
  request_full(f, "POST", path, "application/json", header, body, strlen(body), FALSE, NULL, out);
}

/* A Twirp error answer with this status and code; returns its msg. */
static const char *expect_error(Answer *a, guint status, const char *code)
{
  if (a->status != status || a->json == NULL)
    g_error("expected %u %s, got %u: %s", status, code, a->status, a->body);
  g_assert_cmpstr(a->content_type, ==, "application/json");
  g_assert_cmpstr(json_object_get_string_member(a->json, "code"), ==, code);
  g_assert_true(json_object_has_member(a->json, "msg"));
  return json_object_get_string_member(a->json, "msg");
}

static void assert_contains(const char *haystack, const char *needle)
{
  if (haystack == NULL || strstr(haystack, needle) == NULL)
    g_error("expected \"%s\" in \"%s\"", needle, haystack != NULL ? haystack : "(null)");
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_reply_sync(Fixture *f, gconstpointer data)
{
  g_autofree char *tok = admin_token();
  Answer a;
  /* Both name styles, an enum by name, and a field this schema has never heard of. */
  post(f, "/twirp/livekit.Ingress/CreateIngress", tok,
       "{\"room_name\":\"demo\",\"inputType\":\"WHIP_INPUT\",\"someFutureField\":[1]}", &a);
  g_assert_cmpuint(a.status, ==, 200);
  g_assert_cmpstr(a.content_type, ==, "application/json");
  g_assert_cmpstr(a.body, ==,
                  "{\"ingressId\":\"IN_1\",\"inputType\":\"WHIP_INPUT\",\"roomName\":\"demo\","
                  "\"state\":{\"updatedAt\":\"1700000000000000001\"}}");
  answer_clear(&a);
}

static void test_reply_async(Fixture *f, gconstpointer data)
{
  g_autofree char *tok = admin_token();
  Answer a;
  gint64 t0 = g_get_monotonic_time();
  post(f, "/twirp/livekit.Ingress/ListIngress", tok, "{}", &a);
  g_assert_cmpuint(a.status, ==, 200);
  g_assert_cmpint(g_get_monotonic_time() - t0, >=, 70 * 1000);
  g_assert_cmpstr(a.body, ==,
                  "{\"items\":[{\"ingressId\":\"IN_1\",\"inputType\":\"WHIP_INPUT\"}]}");
  answer_clear(&a);
  /* The connection is still good for the next call. */
  post(f, "/twirp/livekit.Ingress/ListIngress", tok, "{\"room_name\":\"x\"}", &a);
  g_assert_cmpuint(a.status, ==, 200);
  answer_clear(&a);
}

static void test_error_codes(Fixture *f, gconstpointer data)
{
  static const struct {
    const char *code;
    guint status;
  } cases[] = {
      {"canceled", 408},
      {"unknown", 500},
      {"invalid_argument", 400},
      {"malformed", 400},
      {"deadline_exceeded", 408},
      {"not_found", 404},
      {"bad_route", 404},
      {"already_exists", 409},
      {"permission_denied", 403},
      {"unauthenticated", 401},
      {"resource_exhausted", 429},
      {"failed_precondition", 412},
      {"aborted", 409},
      {"out_of_range", 400},
      {"unimplemented", 501},
      {"internal", 500},
      {"unavailable", 503},
      {"dataloss", 500},
  };
  g_autofree char *tok = admin_token();
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *body = g_strdup_printf("{\"name\":\"%s\"}", cases[i].code);
    SlTwirpCode code;
    Answer a;
    g_assert_true(sl_twirp_code_from_name(cases[i].code, &code));
    g_assert_cmpuint(sl_twirp_code_status(code), ==, cases[i].status);
    g_assert_cmpstr(sl_twirp_code_name(code), ==, cases[i].code);
    post(f, "/twirp/livekit.Ingress/UpdateIngress", tok, body, &a);
    g_assert_cmpstr(expect_error(&a, cases[i].status, cases[i].code), ==, "as asked");
    g_assert_false(json_object_has_member(a.json, "meta"));
    answer_clear(&a);
  }
  {
    Answer a;
    JsonObject *meta;
    post(f, "/twirp/livekit.Ingress/UpdateIngress", tok, "{\"name\":\"with-meta\"}", &a);
    expect_error(&a, 400, "invalid_argument");
    meta = json_object_get_object_member(a.json, "meta");
    g_assert_cmpstr(json_object_get_string_member(meta, "argument"), ==, "room_name");
    answer_clear(&a);
  }
}

static void test_auth(Fixture *f, gconstpointer data)
{
  g_autofree char *expired = token_with("ingressAdmin", -60, API_KEY, API_SECRET);
  g_autofree char *wrong_secret = token_with("ingressAdmin", 600, API_KEY, "not-the-secret-1234");
  g_autofree char *unknown_key = token_with("ingressAdmin", 600, "APIunknown", API_SECRET);
  g_autofree char *recorder = token_with("roomRecord", 600, API_KEY, API_SECRET);
  g_autofree char *no_grant = token_with(NULL, 600, API_KEY, API_SECRET);
  const char *path = "/twirp/livekit.Ingress/CreateIngress";
  Answer a;

  request_full(f, "POST", path, "application/json", NULL, "{}", 2, FALSE, NULL, &a);
  assert_contains(expect_error(&a, 401, "unauthenticated"), "Authorization");
  answer_clear(&a);
  request_full(f, "POST", path, "application/json", "Basic dXNlcjpwYXNz", "{}", 2, FALSE, NULL, &a);
  expect_error(&a, 401, "unauthenticated");
  answer_clear(&a);
  post(f, path, "garbage", "{}", &a);
  expect_error(&a, 401, "unauthenticated");
  answer_clear(&a);
  post(f, path, expired, "{}", &a);
  assert_contains(expect_error(&a, 401, "unauthenticated"), "expired");
  answer_clear(&a);
  post(f, path, wrong_secret, "{}", &a);
  assert_contains(expect_error(&a, 401, "unauthenticated"), "signature");
  answer_clear(&a);
  post(f, path, unknown_key, "{}", &a);
  assert_contains(expect_error(&a, 401, "unauthenticated"), "unknown API key");
  answer_clear(&a);
  /* A token for another service's grant, or none. */
  post(f, path, recorder, "{}", &a);
  assert_contains(expect_error(&a, 403, "permission_denied"), "ingressAdmin");
  answer_clear(&a);
  post(f, path, no_grant, "{}", &a);
  expect_error(&a, 403, "permission_denied");
  answer_clear(&a);
  /* Authorisation comes before the body is read. */
  post(f, path, recorder, "{not json", &a);
  expect_error(&a, 403, "permission_denied");
  answer_clear(&a);
  /* Each service its own grant. */
  post(f, "/twirp/livekit.Egress/StopEgress", recorder, "{\"egressId\":\"EG_1\"}", &a);
  g_assert_cmpuint(a.status, ==, 200);
  g_assert_cmpstr(a.body, ==, "{\"egressId\":\"EG_1\",\"status\":\"EGRESS_ENDING\"}");
  answer_clear(&a);
  {
    g_autofree char *admin = admin_token();
    post(f, "/twirp/livekit.Egress/StopEgress", admin, "{}", &a);
    assert_contains(expect_error(&a, 403, "permission_denied"), "roomRecord");
    answer_clear(&a);
  }
}

static void test_bad_bodies(Fixture *f, gconstpointer data)
{
  g_autofree char *tok = admin_token();
  const char *path = "/twirp/livekit.Ingress/CreateIngress";
  Answer a;

  post(f, path, tok, "{\"room_name\":", &a);
  g_assert_cmpstr(expect_error(&a, 400, "malformed"), ==, "the json request could not be decoded");
  g_assert_true(json_object_has_member(json_object_get_object_member(a.json, "meta"), "cause"));
  answer_clear(&a);
  post(f, path, tok, "", &a);
  expect_error(&a, 400, "malformed");
  answer_clear(&a);
  post(f, path, tok, "[1,2]", &a);
  expect_error(&a, 400, "malformed");
  answer_clear(&a);
  post(f, path, tok, "{\"room_name\":42}", &a);
  assert_contains(expect_error(&a, 400, "invalid_argument"), "room_name: expected a string");
  answer_clear(&a);
  post(f, path, tok, "{\"video\":{\"preset\":\"H264_720P_30FPS_3_LAYERS\",\"options\":{}}}", &a);
  assert_contains(expect_error(&a, 400, "invalid_argument"), "oneof encoding_options");
  answer_clear(&a);
  post(f, path, tok, "{\"inputType\":\"SMOKE_SIGNALS\"}", &a);
  assert_contains(expect_error(&a, 400, "invalid_argument"), "input_type");
  answer_clear(&a);
}

static void test_body_limit(Fixture *f, gconstpointer data)
{
  g_autofree char *tok = admin_token();
  g_autofree char *auth = g_strconcat("Bearer ", tok, NULL);
  gsize n = SL_TWIRP_MAX_BODY + 1;
  g_autofree char *big = g_malloc(n);
  const char *path = "/twirp/livekit.Ingress/CreateIngress";
  Answer a;
  JsonObject *meta;

  /* Valid JSON, one byte too long: {"name":"xxxx...x"} */
  memset(big, 'x', n);
  memcpy(big, "{\"name\":\"", 9);
  memcpy(big + n - 2, "\"}", 2);
  for (int chunked = 0; chunked <= 1; chunked++) {
    request_full(f, "POST", path, "application/json", auth, big, n, chunked, NULL, &a);
    expect_error(&a, 400, "malformed");
    meta = json_object_get_object_member(a.json, "meta");
    assert_contains(json_object_get_string_member(meta, "cause"), "larger than");
    answer_clear(&a);
  }
  /* Exactly at the limit is read (and is a fine request). */
  request_full(f, "POST", path, "application/json", auth, big, n - 1, TRUE, NULL, &a);
  expect_error(&a, 400, "malformed"); /* n - 1 bytes cut the closing brace off */
  assert_contains(
      json_object_get_string_member(json_object_get_object_member(a.json, "meta"), "cause"),
      "byte");
  answer_clear(&a);
  memcpy(big + n - 3, "\"}", 2);
  request_full(f, "POST", path, "application/json", auth, big, n - 1, FALSE, NULL, &a);
  g_assert_cmpuint(a.status, ==, 200);
  answer_clear(&a);
}

static void test_routing(Fixture *f, gconstpointer data)
{
  g_autofree char *tok = admin_token();
  g_autofree char *auth = g_strconcat("Bearer ", tok, NULL);
  Answer a;

  request_full(f, "GET", "/twirp/livekit.Ingress/CreateIngress", NULL, auth, NULL, 0, FALSE, NULL,
               &a);
  assert_contains(expect_error(&a, 404, "bad_route"), "only POST is allowed");
  g_assert_cmpstr(json_object_get_string_member(json_object_get_object_member(a.json, "meta"),
                                                "twirp_invalid_route"),
                  ==, "GET /twirp/livekit.Ingress/CreateIngress");
  answer_clear(&a);
  post(f, "/twirp/livekit.Ingress/NoSuchMethod", tok, "{}", &a);
  assert_contains(expect_error(&a, 404, "bad_route"), "no handler for path");
  answer_clear(&a);
  post(f, "/twirp/livekit.Nothing/CreateIngress", tok, "{}", &a);
  expect_error(&a, 404, "bad_route");
  answer_clear(&a);
  post(f, "/twirp/livekit.Ingress/CreateIngress/extra", tok, "{}", &a);
  expect_error(&a, 404, "bad_route");
  answer_clear(&a);
  post(f, "/twirp", tok, "{}", &a);
  expect_error(&a, 404, "bad_route");
  answer_clear(&a);
  request_full(f, "POST", "/twirp/livekit.Ingress/CreateIngress", "text/plain", auth, "{}", 2,
               FALSE, NULL, &a);
  assert_contains(expect_error(&a, 404, "bad_route"), "unexpected Content-Type");
  answer_clear(&a);
  /* Binary that is not a CreateIngressRequest: refused as Twirp JSON. */
  request_full(f, "POST", "/twirp/livekit.Ingress/CreateIngress", "application/protobuf", auth,
               "\x1a\x05", 2, FALSE, NULL, &a);
  assert_contains(expect_error(&a, 400, "malformed"), "protobuf request could not be decoded");
  assert_contains(
      json_object_get_string_member(json_object_get_object_member(a.json, "meta"), "cause"),
      "room_name: length 5 past the end");
  answer_clear(&a);
  /* What the Node SDK sends. */
  request_full(f, "POST", "/twirp/livekit.Ingress/CreateIngress", "application/json;charset=UTF-8",
               auth, "{}", 2, FALSE, NULL, &a);
  g_assert_cmpuint(a.status, ==, 200);
  answer_clear(&a);
}

/* A binary request reaches the handler as the same normalised object, and is answered in kind. */
static void test_protobuf(Fixture *f, gconstpointer data)
{
  g_autofree char *tok = admin_token();
  g_autofree char *auth = g_strconcat("Bearer ", tok, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) info = NULL;
  JsonObject *state;
  Answer a;
  /* input_type WHIP_INPUT (1), room_name "room" */
  request_full(f, "POST", "/twirp/livekit.Ingress/CreateIngress", "application/protobuf", auth,
               "\x08\x01\x1a\x04room", 8, FALSE, NULL, &a);
  g_assert_cmpuint(a.status, ==, 200);
  g_assert_cmpstr(a.content_type, ==, "application/protobuf");
  info = sl_pbbin_decode(&sl_pb_livekit_IngressInfo, g_bytes_get_data(a.raw, NULL),
                         g_bytes_get_size(a.raw), &error);
  g_assert_no_error(error);
  g_assert_cmpstr(json_object_get_string_member(info, "ingress_id"), ==, "IN_1");
  g_assert_cmpstr(json_object_get_string_member(info, "room_name"), ==, "room");
  g_assert_cmpint(json_object_get_int_member(info, "input_type"), ==, 1);
  state = json_object_get_object_member(info, "state");
  g_assert_cmpint(json_object_get_int_member(state, "updated_at"), ==,
                  G_GINT64_CONSTANT(1700000000000000001));
  answer_clear(&a);
  /* Errors stay Twirp JSON. */
  request_full(f, "POST", "/twirp/livekit.Ingress/UpdateIngress", "application/protobuf", auth,
               "\x12\x09not_found", 11, FALSE, NULL, &a);
  g_assert_cmpstr(expect_error(&a, 404, "not_found"), ==, "as asked");
  answer_clear(&a);
  /* A response the handler got wrong cannot be encoded either. */
  request_full(f, "POST", "/twirp/livekit.Ingress/UpdateIngress", "application/protobuf", auth,
               "\x12\x0c"
               "bad-response",
               14, FALSE, NULL, &a);
  g_assert_cmpstr(expect_error(&a, 500, "internal"), ==, "failed to marshal proto response");
  answer_clear(&a);
}

static void test_bad_response(Fixture *f, gconstpointer data)
{
  g_autofree char *tok = admin_token();
  Answer a;
  post(f, "/twirp/livekit.Ingress/UpdateIngress", tok, "{\"name\":\"bad-response\"}", &a);
  g_assert_cmpstr(expect_error(&a, 500, "internal"), ==, "failed to marshal json response");
  answer_clear(&a);
}

static gboolean cancel_later(gpointer data)
{
  g_cancellable_cancel(data);
  return G_SOURCE_REMOVE;
}

static gboolean quit_later(gpointer data)
{
  g_main_loop_quit(data);
  return G_SOURCE_REMOVE;
}

static void wait_ms(guint ms)
{
  GMainLoop *loop = g_main_loop_new(NULL, FALSE);
  g_timeout_add(ms, quit_later, loop);
  g_main_loop_run(loop);
  g_main_loop_unref(loop);
}

static void test_client_gone(Fixture *f, gconstpointer data)
{
  g_autofree char *tok = admin_token();
  g_autofree char *auth = g_strconcat("Bearer ", tok, NULL);
  g_autoptr(GCancellable) cancel = g_cancellable_new();
  Answer a;

  /* The client gives up while the handler still holds the call; the late answer goes nowhere. */
  g_timeout_add(50, cancel_later, cancel);
  request_full(f, "POST", "/twirp/livekit.Ingress/DeleteIngress", "application/json", auth,
               "{\"ingress_id\":\"IN_1\"}", strlen("{\"ingress_id\":\"IN_1\"}"), FALSE, cancel, &a);
  g_assert_cmpuint(a.status, ==, 0);
  answer_clear(&a);
  g_assert_nonnull(f->held);
  wait_ms(50);
  g_assert_true(sl_twirp_call_client_gone(f->held));
  sl_twirp_error(f->held, SL_TWIRP_NOT_FOUND, "too late");
  f->held = NULL;

  /* And the server goes on serving. */
  post(f, "/twirp/livekit.Ingress/CreateIngress", tok, "{}", &a);
  g_assert_cmpuint(a.status, ==, 200);
  answer_clear(&a);
}

static gboolean answer_held(gpointer data)
{
  Fixture *f = data;
  g_autoptr(JsonObject) info = json_object_new();
  g_assert_false(sl_twirp_call_client_gone(f->held));
  json_object_set_string_member(info, "ingress_id", "IN_9");
  /* The SlTwirp is gone by now; the call still answers. */
  sl_twirp_reply(f->held, info);
  f->held = NULL;
  return G_SOURCE_REMOVE;
}

static gboolean free_twirp(gpointer data)
{
  Fixture *f = data;
  g_assert_nonnull(f->held);
  sl_twirp_free(f->twirp);
  f->twirp = NULL;
  g_timeout_add(30, answer_held, f);
  return G_SOURCE_REMOVE;
}

static void test_answer_after_free(Fixture *f, gconstpointer data)
{
  g_autofree char *tok = admin_token();
  Answer a;
  g_timeout_add(30, free_twirp, f);
  post(f, "/twirp/livekit.Ingress/DeleteIngress", tok, "{\"ingress_id\":\"IN_9\"}", &a);
  g_assert_cmpuint(a.status, ==, 200);
  g_assert_cmpstr(a.body, ==, "{\"ingressId\":\"IN_9\"}");
  answer_clear(&a);
  /* Without the SlTwirp nobody serves /twirp any more. */
  post(f, "/twirp/livekit.Ingress/CreateIngress", tok, "{}", &a);
  g_assert_cmpuint(a.status, ==, 404);
  answer_clear(&a);
}

static void test_output_flags(Fixture *f, gconstpointer data)
{
  g_autofree char *tok = token_with("roomRecord", 600, API_KEY, API_SECRET);
  Answer a;
  sl_twirp_set_output_flags(f->twirp, SL_PBJSON_PROTO_NAMES | SL_PBJSON_EMIT_DEFAULTS);
  post(f, "/twirp/livekit.Egress/StopEgress", tok, "{\"egress_id\":\"EG_2\"}", &a);
  g_assert_cmpuint(a.status, ==, 200);
  g_assert_true(g_str_has_prefix(a.body, "{\"egress_id\":\"EG_2\",\"room_id\":\"\",\"status\":"
                                         "\"EGRESS_ENDING\",\"error\":\"\","));
  answer_clear(&a);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add("/twirp/" name, Fixture, NULL, setup, fn, teardown)
  ADD("reply-sync", test_reply_sync);
  ADD("reply-async", test_reply_async);
  ADD("error-codes", test_error_codes);
  ADD("auth", test_auth);
  ADD("bad-bodies", test_bad_bodies);
  ADD("body-limit", test_body_limit);
  ADD("routing", test_routing);
  ADD("protobuf", test_protobuf);
  ADD("bad-response", test_bad_response);
  ADD("client-gone", test_client_gone);
  ADD("answer-after-free", test_answer_after_free);
  ADD("output-flags", test_output_flags);
#undef ADD
  return g_test_run();
}
