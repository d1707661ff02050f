/* upload-gcp: parsing Google's answers. See gcs-response.h. */
#include "gcs-response.h"

#include "gcs-error.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* The root object of a JSON body, or NULL (the parser is returned for the node's lifetime). */
static JsonObject *parse_object(GBytes *body, JsonParser **parser_out)
{
  JsonParser *parser;
  gsize len = 0;
  const char *data = body ? g_bytes_get_data(body, &len) : NULL;
  JsonNode *root;
  *parser_out = NULL;
  if (data == NULL || len == 0)
    return NULL;
  parser = json_parser_new();
  if (!json_parser_load_from_data(parser, data, (gssize)len, NULL)) {
    g_object_unref(parser);
    return NULL;
  }
  root = json_parser_get_root(parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
    g_object_unref(parser);
    return NULL;
  }
  *parser_out = parser;
  return json_node_get_object(root);
}

static const char *member_string(JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member(o, name) : NULL;
  if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string(n);
}

/* Google's message out of either error shape, or NULL. */
static char *json_error_message(JsonObject *o)
{
  JsonNode *err = json_object_get_member(o, "error");
  if (err != NULL && JSON_NODE_HOLDS_OBJECT(err)) {
    /* JSON API: {"error": {"code": 403, "message": "...", "errors": [{"reason": ...}]}} */
    const char *msg = member_string(json_node_get_object(err), "message");
    return msg ? g_strdup(msg) : NULL;
  }
  if (err != NULL && JSON_NODE_HOLDS_VALUE(err)) {
    /* OAuth: {"error": "invalid_grant", "error_description": "Invalid JWT Signature."} */
    const char *code = member_string(o, "error");
    const char *desc = member_string(o, "error_description");
    if (code && desc)
      return g_strdup_printf("%s: %s", code, desc);
    return code ? g_strdup(code) : NULL;
  }
  return NULL;
}

/* The first line of a non-JSON body, bounded and without control characters. */
static char *text_excerpt(GBytes *body)
{
  gsize len = 0;
  const char *data = body ? g_bytes_get_data(body, &len) : NULL;
  GString *out = g_string_new(NULL);
  for (gsize i = 0; data != NULL && i < len && out->len < 200; i++) {
    guchar c = (guchar)data[i];
    if (c == '\n' || c == '\r')
      break;
    if (c >= 0x20 && c != 0x7f)
      g_string_append_c(out, (char)c);
  }
  g_strstrip(out->str);
  out->len = strlen(out->str);
  if (out->len == 0) {
    g_string_free(out, TRUE);
    return NULL;
  }
  if (!g_utf8_validate(out->str, -1, NULL)) {
    char *valid = g_utf8_make_valid(out->str, -1);
    g_string_free(out, TRUE);
    return valid;
  }
  return g_string_free(out, FALSE);
}

char *gcs_response_describe(guint status, const char *reason, GBytes *body)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *o = parse_object(body, &parser);
  g_autofree char *detail = o ? json_error_message(o) : NULL;
  GString *out = g_string_new(NULL);
  if (detail == NULL && o == NULL)
    detail = text_excerpt(body);
  g_string_append_printf(out, "HTTP %u", status);
  if (reason != NULL && *reason != '\0')
    g_string_append_printf(out, " %s", reason);
  if (detail != NULL && *detail != '\0')
    g_string_append_printf(out, ": %s", detail);
  return g_string_free(out, FALSE);
}

gboolean gcs_response_token(GBytes *body, char **token, gint64 *expires_in, GError **error)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *o = parse_object(body, &parser);
  const char *tok = member_string(o, "access_token");
  const char *type = member_string(o, "token_type");
  JsonNode *exp = o ? json_object_get_member(o, "expires_in") : NULL;
  gint64 lifetime = 3600;
  if (tok == NULL || *tok == '\0') {
    g_set_error(error, GCS_ERROR, GCS_ERROR_AUTH,
                "the token endpoint's answer has no access_token");
    return FALSE;
  }
  if (type != NULL && g_ascii_strcasecmp(type, "Bearer") != 0) {
    g_set_error(error, GCS_ERROR, GCS_ERROR_AUTH,
                "the token endpoint issued a %s token, not a Bearer token", type);
    return FALSE;
  }
  if (exp != NULL && JSON_NODE_HOLDS_VALUE(exp)) {
    GType t = json_node_get_value_type(exp);
    if (t == G_TYPE_INT64)
      lifetime = json_node_get_int(exp);
    else if (t == G_TYPE_DOUBLE)
      lifetime = (gint64)json_node_get_double(exp);
    else if (t == G_TYPE_STRING)
      lifetime = g_ascii_strtoll(json_node_get_string(exp), NULL, 10);
  }
  if (lifetime <= 0) {
    g_set_error(error, GCS_ERROR, GCS_ERROR_AUTH,
                "the token endpoint issued a token that has already expired");
    return FALSE;
  }
  *token = g_strdup(tok);
  *expires_in = lifetime;
  return TRUE;
}

gint64 gcs_response_token_refresh_at(gint64 received_us, gint64 expires_in)
{
  gint64 lifetime = expires_in * G_USEC_PER_SEC;
  gint64 margin = MIN(lifetime / 4, 300 * G_USEC_PER_SEC);
  return received_us + lifetime - margin;
}

gboolean gcs_response_object_size(GBytes *body, gint64 *size, GError **error)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *o = parse_object(body, &parser);
  const char *s = member_string(o, "size");
  guint64 v;
  if (s == NULL || !g_ascii_string_to_unsigned(s, 10, 0, G_MAXINT64, &v, NULL)) {
    g_set_error(error, GCS_ERROR, GCS_ERROR_PROTOCOL,
                "the finished upload's answer is not an object resource with a size");
    return FALSE;
  }
  *size = (gint64)v;
  return TRUE;
}
