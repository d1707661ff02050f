/* upload-gcp: the built plugin, loaded as the core loads it, against gcs_server.mjs.
 *
 * Covers what the CLI tests cannot reach: several uploads at once on worker threads sharing one
 * access token (the cache and its locks), proxy_config with credentials (a nested structure),
 * unauthenticated requests to a custom endpoint, and the log lines the plugin writes.
 *
 * Environment (set by meson): SLUICE_UPLOAD_GCP_PLUGIN (the .so), GCS_TEST_NODE (node),
 * GCS_TEST_SERVER (gcs_server.mjs).
 */
#include <sluice/plugin.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <signal.h>
#include <string.h>

#define EMAIL      "worker@sluice-test.iam.gserviceaccount.com"
#define BUCKET     "rec"
#define PROXY_USER "proxyuser"
#define PROXY_PASS "p@ss:w/rd"
#define MIB        (1024 * 1024)

static const SluicePluginDesc *desc;
static const SluiceStorageVTable *vt;
static GSubprocess *server;
static char *base;  /* http://127.0.0.1:port */
static char *creds; /* service account JSON */
static char *workdir;
static char *private_pem;

static GMutex log_lock;
static GPtrArray *log_lines;

static void host_log(const SluiceHost *h, SluiceLogLevel level, const char *message)
{
  g_mutex_lock(&log_lock);
  g_ptr_array_add(log_lines, g_strdup(message));
  g_mutex_unlock(&log_lock);
}

static SluiceHost host = {
    .size = sizeof(SluiceHost),
    .abi_major = SLUICE_ABI_MAJOR,
    .abi_minor = SLUICE_ABI_MINOR,
    .plugin = "upload-gcp",
    .node_id = "test",
    .process = "handler",
    .log = host_log,
};

/* ---- the server -------------------------------------------------------------------------- */

static JsonObject *server_call(const char *path, const char *post_body)
{
  g_autoptr(SoupSession) s = soup_session_new();
  g_autofree char *url = g_strconcat(base, path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new(post_body ? "POST" : "GET", url);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonParser) parser = json_parser_new();
  gsize len;
  const char *data;
  if (post_body != NULL) {
    g_autoptr(GBytes) b = g_bytes_new(post_body, strlen(post_body));
    soup_message_set_request_body_from_bytes(msg, "application/json", b);
  }
  body = soup_session_send_and_read(s, msg, NULL, NULL);
  g_assert_nonnull(body);
  g_assert_cmpuint(soup_message_get_status(msg), ==, 200);
  data = g_bytes_get_data(body, &len);
  g_assert_true(json_parser_load_from_data(parser, data, (gssize)len, NULL));
  return json_object_ref(json_node_get_object(json_parser_get_root(parser)));
}

static gint64 counter(const char *name)
{
  g_autoptr(JsonObject) st = server_call("/_debug/state", NULL);
  return json_object_get_int_member(json_object_get_object_member(st, "counters"), name);
}

/* The server's SHA-256 of a stored object, or NULL. */
static char *stored_sha256(const char *name)
{
  g_autoptr(JsonObject) st = server_call("/_debug/state", NULL);
  JsonObject *objects = json_object_get_object_member(st, "objects");
  g_autofree char *key = g_strconcat(BUCKET "/", name, NULL);
  JsonObject *o =
      json_object_has_member(objects, key) ? json_object_get_object_member(objects, key) : NULL;
  return o ? g_strdup(json_object_get_string_member(o, "sha256")) : NULL;
}

static void server_reset(void)
{
  json_object_unref(server_call("/_debug/reset", "{}"));
}

static void start_server(void)
{
  const char *node = g_getenv("GCS_TEST_NODE");
  const char *script = g_getenv("GCS_TEST_SERVER");
  g_autofree char *pub_path = g_build_filename(workdir, "pub.pem", NULL);
  g_autofree char *data_dir = g_build_filename(workdir, "server", NULL);
  g_autofree char *account = g_strconcat(EMAIL "=", pub_path, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(JsonParser) parser = json_parser_new();
  g_autofree char *line = NULL;
  EVP_PKEY *key = EVP_RSA_gen(2048);
  BIO *bio;
  char *pem;
  long len;
  g_autoptr(JsonBuilder) b = json_builder_new();
  g_autoptr(JsonGenerator) gen = json_generator_new();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *token_uri = NULL;

  g_assert_nonnull(node);
  g_assert_nonnull(script);
  g_assert_nonnull(key);
  bio = BIO_new(BIO_s_mem());
  g_assert_cmpint(PEM_write_bio_PUBKEY(bio, key), ==, 1);
  len = BIO_get_mem_data(bio, &pem);
  g_assert_true(g_file_set_contents(pub_path, pem, len, NULL));
  BIO_free(bio);
  bio = BIO_new(BIO_s_mem());
  g_assert_cmpint(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL), ==, 1);
  len = BIO_get_mem_data(bio, &pem);
  private_pem = g_strndup(pem, (gsize)len);
  BIO_free(bio);
  EVP_PKEY_free(key);

  /* stdin is a pipe: the server exits when this process does, however it ends. */
  server = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDIN_PIPE, &error,
                            node, script, "--dir", data_dir, "--account", account, "--bucket",
                            BUCKET, "--proxy-user", PROXY_USER ":" PROXY_PASS, NULL);
  g_assert_no_error(error);
  out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(server));
  line = g_data_input_stream_read_line(out, NULL, NULL, &error);
  g_assert_no_error(error);
  g_assert_nonnull(line);
  g_assert_true(json_parser_load_from_data(parser, line, -1, NULL));
  base = g_strdup_printf(
      "http://127.0.0.1:%" G_GINT64_FORMAT,
      json_object_get_int_member(json_node_get_object(json_parser_get_root(parser)), "port"));

  token_uri = g_strconcat(base, "/token", NULL);
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "type");
  json_builder_add_string_value(b, "service_account");
  json_builder_set_member_name(b, "private_key_id");
  json_builder_add_string_value(b, "kid-7");
  json_builder_set_member_name(b, "private_key");
  json_builder_add_string_value(b, private_pem);
  json_builder_set_member_name(b, "client_email");
  json_builder_add_string_value(b, EMAIL);
  json_builder_set_member_name(b, "token_uri");
  json_builder_add_string_value(b, token_uri);
  json_builder_end_object(b);
  root = json_builder_get_root(b);
  json_generator_set_root(gen, root);
  creds = json_generator_to_data(gen, NULL);
}

/* ---- helpers ----------------------------------------------------------------------------- */

static GstStructure *target(gboolean with_creds)
{
  GstStructure *st = gst_structure_new("gcp", "bucket", G_TYPE_STRING, BUCKET, "endpoint",
                                       G_TYPE_STRING, base, NULL);
  if (with_creds)
    gst_structure_set(st, "credentials_json", G_TYPE_STRING, creds, NULL);
  return st;
}

/* A file of `size` pseudo-random bytes; `*sha` its SHA-256. Transfer full. */
static char *make_file(const char *name, gsize size, char **sha)
{
  char *path = g_build_filename(workdir, name, NULL);
  g_autofree guint8 *data = g_malloc(size);
  GRand *r = g_rand_new_with_seed((guint32)size);
  for (gsize i = 0; i < size; i++)
    data[i] = (guint8)g_rand_int(r);
  g_rand_free(r);
  g_assert_true(g_file_set_contents(path, (const char *)data, (gssize)size, NULL));
  *sha = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, size);
  return path;
}

static gboolean do_upload(const GstStructure *t, const char *path, const char *key, char **location,
                          GError **error)
{
  return vt->upload(t, path, key, "video/mp4", location, error);
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_descriptor(void)
{
  g_assert_cmpuint(desc->abi_major, ==, SLUICE_ABI_MAJOR);
  g_assert_cmpuint(desc->size, ==, sizeof(SluicePluginDesc));
  g_assert_cmpint(desc->kind, ==, SLUICE_PLUGIN_KIND_STORAGE);
  g_assert_cmpstr(desc->name, ==, "upload-gcp");
  g_assert_cmpuint(vt->size, ==, sizeof(SluiceStorageVTable));
  g_assert_cmpstr(vt->scheme, ==, "gcp");
  g_assert_nonnull(vt->upload);
}

typedef struct {
  const GstStructure *target;
  char *path, *key, *sha;
  char *location;
  GError *error;
  gboolean ok;
} Job;

static gpointer run_job(gpointer data)
{
  Job *j = data;
  j->ok = do_upload(j->target, j->path, j->key, &j->location, &j->error);
  return NULL;
}

/* Eight uploads at once, simple and resumable: one token between them, every object whole. */
static void test_concurrent_uploads_share_one_token(void)
{
  g_autoptr(GstStructure) t = target(TRUE);
  Job jobs[8] = {0};
  GThread *threads[8];
  server_reset();
  for (guint i = 0; i < G_N_ELEMENTS(jobs); i++) {
    gsize size = i < 6 ? (gsize)(MIB + i * 1000) : (gsize)(9 * MIB + i); /* 2 resumable */
    g_autofree char *name = g_strdup_printf("par-%u.bin", i);
    jobs[i].target = t;
    jobs[i].path = make_file(name, size, &jobs[i].sha);
    jobs[i].key = g_strdup_printf("parallel/%u file.mp4", i);
  }
  for (guint i = 0; i < G_N_ELEMENTS(jobs); i++)
    threads[i] = g_thread_new("upload", run_job, &jobs[i]);
  for (guint i = 0; i < G_N_ELEMENTS(jobs); i++)
    g_thread_join(threads[i]);
  for (guint i = 0; i < G_N_ELEMENTS(jobs); i++) {
    g_autofree char *stored = stored_sha256(jobs[i].key);
    g_autofree char *want = g_strdup_printf("%s/" BUCKET "/parallel/%u%%20file.mp4", base, i);
    g_assert_no_error(jobs[i].error);
    g_assert_true(jobs[i].ok);
    g_assert_cmpstr(jobs[i].location, ==, want);
    g_assert_cmpstr(stored, ==, jobs[i].sha);
    g_unlink(jobs[i].path);
    g_free(jobs[i].path);
    g_free(jobs[i].key);
    g_free(jobs[i].sha);
    g_free(jobs[i].location);
  }
  g_assert_cmpint(counter("tokens_issued"), ==, 1);
  g_assert_cmpint(counter("simple_uploads"), ==, 6);
  g_assert_cmpint(counter("sessions_started"), ==, 2);
  g_assert_cmpint(counter("unauthorized"), ==, 0);
}

static GstStructure *proxied_target(const char *password)
{
  GstStructure *t = target(TRUE);
  GstStructure *pc =
      gst_structure_new("proxy_config", "url", G_TYPE_STRING, base, "username", G_TYPE_STRING,
                        PROXY_USER, "password", G_TYPE_STRING, password, NULL);
  gst_structure_set(t, "proxy_config", GST_TYPE_STRUCTURE, pc, NULL);
  gst_structure_free(pc);
  return t;
}

static void test_proxy_with_credentials(void)
{
  g_autoptr(GstStructure) t = proxied_target(PROXY_PASS);
  g_autoptr(GError) error = NULL;
  g_autofree char *sha_small = NULL, *sha_big = NULL, *loc = NULL, *loc2 = NULL;
  g_autofree char *small = make_file("proxy-small.bin", 200000, &sha_small);
  g_autofree char *big = make_file("proxy-big.bin", 10 * MIB, &sha_big);
  g_autofree char *stored_small = NULL, *stored_big = NULL;
  gboolean ok;
  server_reset();
  ok = do_upload(t, small, "via-proxy/small.mp4", &loc, &error);
  g_assert_no_error(error);
  g_assert_true(ok);
  ok = do_upload(t, big, "via-proxy/big.mp4", &loc2, &error);
  g_assert_no_error(error);
  g_assert_true(ok);
  stored_small = stored_sha256("via-proxy/small.mp4");
  stored_big = stored_sha256("via-proxy/big.mp4");
  g_assert_cmpstr(stored_small, ==, sha_small);
  g_assert_cmpstr(stored_big, ==, sha_big);
  /* Everything went through the proxy, which let only requests with the right credentials pass
   * (libsoup sends them when challenged, so the first request of a connection sees a 407). */
  g_assert_cmpint(counter("proxied_requests") + counter("proxy_connects"), >=, 5);
  g_unlink(small);
  g_unlink(big);
}

static void test_proxy_wrong_password(void)
{
  g_autoptr(GstStructure) t = proxied_target("not-the-password");
  g_autoptr(GError) error = NULL;
  g_autofree char *sha = NULL, *loc = NULL;
  g_autofree char *path = make_file("proxy-bad.bin", 1000, &sha);
  server_reset();
  g_assert_false(do_upload(t, path, "never.mp4", &loc, &error));
  g_assert_nonnull(error);
  g_test_message("wrong proxy password: %s", error->message);
  g_assert_nonnull(strstr(error->message, "407"));
  g_assert_null(strstr(error->message, "not-the-password"));
  g_assert_null(loc);
  g_assert_cmpint(counter("proxy_auth_refusals"), >, 0);
  g_assert_null(stored_sha256("never.mp4"));
  g_unlink(path);
}

/* Without credentials against a custom endpoint requests go unauthenticated (as Google's clients
 * do with an emulator); this server then says who may not write. */
static void test_anonymous_refused(void)
{
  g_autoptr(GstStructure) t = target(FALSE);
  g_autoptr(GError) error = NULL;
  g_autofree char *sha = NULL, *loc = NULL;
  g_autofree char *path = make_file("anon.bin", 1000, &sha);
  server_reset();
  g_assert_false(do_upload(t, path, "anon.mp4", &loc, &error));
  g_assert_nonnull(error);
  g_assert_cmpstr(error->message, ==,
                  "upload of gs://" BUCKET "/anon.mp4 failed: HTTP 401 Unauthorized: Anonymous "
                  "caller does not have storage.objects.create access to the Google Cloud "
                  "Storage object.");
  g_assert_cmpint(counter("tokens_issued"), ==, 0);
  g_unlink(path);
}

static void test_missing_file(void)
{
  g_autoptr(GstStructure) t = target(TRUE);
  g_autoptr(GError) error = NULL;
  g_autofree char *loc = NULL;
  g_assert_false(do_upload(t, "/nonexistent/file.mp4", "x.mp4", &loc, &error));
  g_assert_nonnull(strstr(error->message, "/nonexistent/file.mp4"));
  g_assert_nonnull(strstr(error->message, "No such file"));
}

/* Whatever was logged in this run carries no key and no token. */
static void test_logs_carry_no_secret(void)
{
  g_autoptr(JsonObject) st = server_call("/_debug/state", NULL);
  JsonArray *tokens = json_object_get_array_member(st, "tokens");
  g_auto(GStrv) pem_lines = g_strsplit(private_pem, "\n", -1);
  g_mutex_lock(&log_lock);
  for (guint i = 0; i < log_lines->len; i++) {
    const char *line = g_ptr_array_index(log_lines, i);
    g_assert_null(strstr(line, "PRIVATE KEY"));
    g_assert_null(strstr(line, "eyJ"));
    g_assert_null(strstr(line, PROXY_PASS));
    for (guint k = 0; pem_lines[k]; k++)
      if (*pem_lines[k] && !g_str_has_prefix(pem_lines[k], "-----"))
        g_assert_null(strstr(line, pem_lines[k]));
    for (guint k = 0; k < json_array_get_length(tokens); k++)
      g_assert_null(strstr(line, json_array_get_string_element(tokens, k)));
  }
  g_mutex_unlock(&log_lock);
}

int main(int argc, char **argv)
{
  const char *so = g_getenv("SLUICE_UPLOAD_GCP_PLUGIN");
  g_autoptr(GError) error = NULL;
  GModule *mod;
  SluicePluginEntryFunc entry = NULL;
  int rc;

  g_test_init(&argc, &argv, NULL);
  gst_init(NULL, NULL);
  log_lines = g_ptr_array_new_with_free_func(g_free);
  workdir = g_dir_make_tmp("sluice-gcp-plugin-XXXXXX", &error);
  g_assert_no_error(error);
  g_assert_nonnull(so);
  mod = g_module_open(so, G_MODULE_BIND_LOCAL);
  g_assert_nonnull(mod);
  g_assert_true(g_module_symbol(mod, SLUICE_PLUGIN_ENTRY_SYMBOL, (gpointer *)&entry));
  desc = entry();
  vt = desc->vtable;
  g_assert_true(desc->init(&host, &error));
  start_server();

  g_test_add_func("/upload-gcp/plugin/descriptor", test_descriptor);
  g_test_add_func("/upload-gcp/plugin/concurrent-uploads-share-one-token",
                  test_concurrent_uploads_share_one_token);
  g_test_add_func("/upload-gcp/plugin/proxy-with-credentials", test_proxy_with_credentials);
  g_test_add_func("/upload-gcp/plugin/proxy-wrong-password", test_proxy_wrong_password);
  g_test_add_func("/upload-gcp/plugin/anonymous-refused", test_anonymous_refused);
  g_test_add_func("/upload-gcp/plugin/missing-file", test_missing_file);
  g_test_add_func("/upload-gcp/plugin/logs-carry-no-secret", test_logs_carry_no_secret);
  rc = g_test_run();

  desc->shutdown();
  server_reset(); /* the server deletes the objects and sessions it holds */
  g_subprocess_send_signal(server, SIGTERM);
  g_subprocess_wait(server, NULL, NULL);
  g_object_unref(server);
  {
    g_autofree char *data_dir = g_build_filename(workdir, "server", NULL);
    g_autofree char *objects = g_build_filename(data_dir, "objects", NULL);
    g_autofree char *sessions = g_build_filename(data_dir, "sessions", NULL);
    g_autofree char *pub = g_build_filename(workdir, "pub.pem", NULL);
    g_rmdir(objects);
    g_rmdir(sessions);
    g_rmdir(data_dir);
    g_unlink(pub);
    g_rmdir(workdir);
  }
  g_ptr_array_unref(log_lines);
  g_free(base);
  g_free(creds);
  g_free(private_pem);
  g_free(workdir);
  return rc;
}
