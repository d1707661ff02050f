/* upload-gcp: target and credentials parsing. See gcs-target.h. */
#include "gcs-target.h"

#include "gcs-error.h"
#include "gcs-url.h"

#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

void gcs_env_from_process(GcsEnv *env)
{
  env->storage_emulator_host = g_getenv("STORAGE_EMULATOR_HOST");
  env->cloud_storage_emulator_host = g_getenv("CLOUD_STORAGE_EMULATOR_HOST");
  env->application_credentials = g_getenv("GOOGLE_APPLICATION_CREDENTIALS");
}

void gcs_service_account_free(GcsServiceAccount *sa)
{
  if (sa == NULL)
    return;
  g_free(sa->client_email);
  if (sa->private_key != NULL) {
    /* Do not leave the key in freed heap memory. */
    memset(sa->private_key, 0, strlen(sa->private_key));
    g_free(sa->private_key);
  }
  g_free(sa->private_key_id);
  g_free(sa->token_uri);
  g_free(sa->cache_key);
  g_free(sa);
}

static const char *string_member(JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member(o, name);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string(n);
}

GcsServiceAccount *gcs_service_account_parse(const char *json, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new();
  g_autoptr(GcsServiceAccount) sa = NULL;
  g_autoptr(GChecksum) sum = NULL;
  JsonNode *root;
  JsonObject *o;
  const char *type, *email, *key, *key_id, *token_uri;

  /* The parser's own message could quote the text around a syntax error: say where only. */
  if (!json_parser_load_from_data(parser, json, -1, NULL)) {
    g_set_error(error, GCS_ERROR, GCS_ERROR_CREDENTIALS,
                "credentials_json is not valid JSON (it should hold the service account key "
                "file's text)");
    return NULL;
  }
  root = json_parser_get_root(parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
    g_set_error(error, GCS_ERROR, GCS_ERROR_CREDENTIALS,
                "credentials_json is not a JSON object (it should hold the service account key "
                "file's text)");
    return NULL;
  }
  o = json_node_get_object(root);
  type = string_member(o, "type");
  if (type != NULL && strcmp(type, "service_account") != 0) {
    g_set_error(error, GCS_ERROR, GCS_ERROR_CREDENTIALS,
                "credentials_json holds \"%s\" credentials; only service account keys "
                "(\"type\": \"service_account\") are supported",
                type);
    return NULL;
  }
  email = string_member(o, "client_email");
  key = string_member(o, "private_key");
  key_id = string_member(o, "private_key_id");
  token_uri = string_member(o, "token_uri");
  if (email == NULL || *email == '\0') {
    g_set_error(error, GCS_ERROR, GCS_ERROR_CREDENTIALS, "credentials_json has no client_email");
    return NULL;
  }
  if (key == NULL || strstr(key, "PRIVATE KEY") == NULL) {
    g_set_error(error, GCS_ERROR, GCS_ERROR_CREDENTIALS, "credentials_json has no PEM private_key");
    return NULL;
  }
  sa = g_new0(GcsServiceAccount, 1);
  sa->client_email = g_strdup(email);
  sa->private_key = g_strdup(key);
  sa->private_key_id = (key_id && *key_id) ? g_strdup(key_id) : NULL;
  sa->token_uri = g_strdup((token_uri && *token_uri) ? token_uri : GCS_DEFAULT_TOKEN_URI);
  sum = g_checksum_new(G_CHECKSUM_SHA256);
  g_checksum_update(sum, (const guchar *)sa->token_uri, -1);
  g_checksum_update(sum, (const guchar *)"\n", 1);
  g_checksum_update(sum, (const guchar *)sa->client_email, -1);
  g_checksum_update(sum, (const guchar *)"\n", 1);
  g_checksum_update(sum, (const guchar *)sa->private_key, -1);
  sa->cache_key = g_strdup(g_checksum_get_string(sum));
  return g_steal_pointer(&sa);
}

void gcs_target_free(GcsTarget *t)
{
  if (t == NULL)
    return;
  g_free(t->bucket);
  g_free(t->base_url);
  gcs_service_account_free(t->account);
  g_free(t->proxy_url);
  g_free(t->proxy_username);
  if (t->proxy_password != NULL) {
    memset(t->proxy_password, 0, strlen(t->proxy_password));
    g_free(t->proxy_password);
  }
  g_free(t);
}

/* A non-empty string field, or NULL. */
static const char *field_string(const GstStructure *st, const char *name)
{
  const char *s = gst_structure_has_field_typed(st, name, G_TYPE_STRING)
                      ? gst_structure_get_string(st, name)
                      : NULL;
  return (s != NULL && *s != '\0') ? s : NULL;
}

/* proxy_config { url, username, password }. The credentials stay apart from the URL: libsoup
 * answers a proxy's challenge with them through the message's "authenticate" signal
 * (gcs-http.c), since credentials inside the proxy URL make libsoup 3.2 re-send the request to
 * the wrong URL. */
static gboolean proxy_from_structure(const GstStructure *pc, GcsTarget *t, GError **error)
{
  const char *url = field_string(pc, "url");
  const char *user = field_string(pc, "username");
  const char *pass = field_string(pc, "password");
  g_autoptr(GUri) uri = NULL;
  g_autofree char *withscheme = NULL;
  if (url == NULL)
    return TRUE; /* an empty proxy_config: no proxy */
  withscheme = strstr(url, "://") ? g_strdup(url) : g_strconcat("http://", url, NULL);
  uri = g_uri_parse(withscheme, G_URI_FLAGS_HAS_PASSWORD, NULL);
  if (uri == NULL || g_uri_get_host(uri) == NULL || *g_uri_get_host(uri) == '\0') {
    /* Not quoted: the URL may carry a password. */
    g_set_error(error, GCS_ERROR, GCS_ERROR_CONFIG, "gcp: proxy_config.url is not a URL");
    return FALSE;
  }
  /* user:password@ written into the URL count as the username and password. */
  if (user == NULL && g_uri_get_user(uri) != NULL) {
    user = g_uri_get_user(uri);
    pass = g_uri_get_password(uri);
  }
  t->proxy_username = g_strdup(user);
  t->proxy_password = user ? g_strdup(pass ? pass : "") : NULL;
  t->proxy_url = g_uri_join(G_URI_FLAGS_NONE, g_uri_get_scheme(uri), NULL, g_uri_get_host(uri),
                            g_uri_get_port(uri), "", NULL, NULL);
  return TRUE;
}

static char *read_adc_file(const char *path, GError **error)
{
  g_autoptr(GError) err = NULL;
  char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, &err)) {
    g_set_error(error, GCS_ERROR, GCS_ERROR_CREDENTIALS,
                "credentials_json is not set and GOOGLE_APPLICATION_CREDENTIALS cannot be read: "
                "%s",
                err->message);
    return NULL;
  }
  return text;
}

GcsTarget *gcs_target_new(const GstStructure *st, const GcsEnv *env, GError **error)
{
  g_autoptr(GcsTarget) t = g_new0(GcsTarget, 1);
  const char *bucket = field_string(st, "bucket");
  const char *creds = field_string(st, "credentials_json");
  const char *endpoint = field_string(st, "endpoint");

  if (bucket == NULL) {
    g_set_error(error, GCS_ERROR, GCS_ERROR_CONFIG, "gcp: bucket is not set");
    return NULL;
  }
  t->bucket = g_strdup(bucket);

  if (endpoint != NULL)
    t->base_url = gcs_url_normalize_base(endpoint);
  if (t->base_url == NULL)
    t->base_url = gcs_url_normalize_base(env->storage_emulator_host);
  if (t->base_url == NULL)
    t->base_url = gcs_url_normalize_base(env->cloud_storage_emulator_host);
  t->custom_base = t->base_url != NULL;
  if (t->base_url == NULL)
    t->base_url = g_strdup(GCS_DEFAULT_BASE_URL);
  if (!g_str_has_prefix(t->base_url, "http://") && !g_str_has_prefix(t->base_url, "https://")) {
    g_set_error(error, GCS_ERROR, GCS_ERROR_CONFIG,
                "gcp: endpoint \"%s\" is neither an http:// nor an https:// URL", t->base_url);
    return NULL;
  }

  if (creds != NULL) {
    t->account = gcs_service_account_parse(creds, error);
    if (t->account == NULL)
      return NULL;
  } else if (!t->custom_base) {
    g_autofree char *text = NULL;
    if (env->application_credentials == NULL || *env->application_credentials == '\0') {
      g_set_error(error, GCS_ERROR, GCS_ERROR_CREDENTIALS,
                  "gcp: credentials_json is not set (and GOOGLE_APPLICATION_CREDENTIALS names no "
                  "key file); put the service account key file's JSON text there");
      return NULL;
    }
    text = read_adc_file(env->application_credentials, error);
    if (text == NULL)
      return NULL;
    t->account = gcs_service_account_parse(text, error);
    memset(text, 0, strlen(text));
    if (t->account == NULL) {
      g_prefix_error(error, "GOOGLE_APPLICATION_CREDENTIALS: ");
      return NULL;
    }
  }

  /* gst_structure_get_type() rather than GST_TYPE_STRUCTURE: the macro reads a variable that
   * gst_init() fills in, and reading a target must not depend on who called gst_init() when. */
  if (gst_structure_has_field_typed(st, "proxy_config", gst_structure_get_type())) {
    const GstStructure *pc = g_value_get_boxed(gst_structure_get_value(st, "proxy_config"));
    if (pc != NULL && !proxy_from_structure(pc, t, error))
      return NULL;
  }
  return g_steal_pointer(&t);
}
