/* upload-s3 — S3's and STS's XML answers and the CompleteMultipartUpload body. See s3-xml.h. */
#include "s3-xml.h"

#include "s3-error.h"

#include <string.h>

S3XmlDoc *s3_xml_parse(const char *body, gsize len, GError **error)
{
  g_autoptr(GHashTable) paths = s3_xml_parse_paths(body, len, error);
  S3XmlDoc *doc;
  GHashTableIter it;
  gpointer key, value;

  if (paths == NULL)
    return NULL;
  doc = g_new0(S3XmlDoc, 1);
  doc->fields = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  /* Every path starts with the document element; those of one more name are its text-only
   * children. */
  g_hash_table_iter_init(&it, paths);
  while (g_hash_table_iter_next(&it, &key, &value)) {
    const char *slash = strchr(key, '/');
    if (doc->root == NULL)
      doc->root = slash ? g_strndup(key, (gsize)(slash - (const char *)key)) : g_strdup(key);
    if (slash != NULL && strchr(slash + 1, '/') == NULL)
      g_hash_table_insert(doc->fields, g_strdup(slash + 1), g_strdup(value));
  }
  if (doc->root == NULL) {
    g_set_error(error, S3_ERROR, S3_ERROR_PROTOCOL, "the XML document has no element");
    s3_xml_doc_free(doc);
    return NULL;
  }
  return doc;
}

void s3_xml_doc_free(S3XmlDoc *doc)
{
  if (doc == NULL)
    return;
  g_free(doc->root);
  g_hash_table_unref(doc->fields);
  g_free(doc);
}

const char *s3_xml_doc_get(const S3XmlDoc *doc, const char *name)
{
  return g_hash_table_lookup(doc->fields, name);
}

gboolean s3_xml_parse_error(const char *body, gsize len, S3XmlError *out)
{
  g_autoptr(S3XmlDoc) doc = s3_xml_parse(body, len, NULL);
  memset(out, 0, sizeof *out);
  if (doc == NULL || strcmp(doc->root, "Error") != 0)
    return FALSE;
  out->code = g_strdup(s3_xml_doc_get(doc, "Code"));
  out->message = g_strdup(s3_xml_doc_get(doc, "Message"));
  out->region = g_strdup(s3_xml_doc_get(doc, "Region"));
  out->server_time = g_strdup(s3_xml_doc_get(doc, "ServerTime"));
  if (out->code == NULL || *out->code == '\0') {
    g_free(out->code);
    out->code = g_strdup("UnknownError");
  }
  return TRUE;
}

void s3_xml_error_clear(S3XmlError *err)
{
  g_clear_pointer(&err->code, g_free);
  g_clear_pointer(&err->message, g_free);
  g_clear_pointer(&err->region, g_free);
  g_clear_pointer(&err->server_time, g_free);
  g_clear_pointer(&err->type, g_free);
}

/* ---- documents read by path (STS) ---------------------------------------------------------- */

typedef struct {
  GHashTable *paths;
  GString *path;  /* names from the document element to the open one, '/'-separated */
  GArray *opened; /* per open element: path->len before its name was appended */
  GArray *leaf;   /* per open element: no element child seen yet */
  GString *text;  /* text since the innermost element opened */
} PathState;

static void on_path_start(GMarkupParseContext *ctx, const char *name, const char **attr_names,
                          const char **attr_values, gpointer user_data, GError **error)
{
  PathState *st = user_data;
  gsize len = st->path->len;
  gboolean leaf = TRUE;
  if (st->leaf->len > 0)
    g_array_index(st->leaf, gboolean, st->leaf->len - 1) = FALSE;
  g_array_append_val(st->opened, len);
  g_array_append_val(st->leaf, leaf);
  if (len > 0)
    g_string_append_c(st->path, '/');
  g_string_append(st->path, name);
  g_string_truncate(st->text, 0);
}

static void on_path_end(GMarkupParseContext *ctx, const char *name, gpointer user_data,
                        GError **error)
{
  PathState *st = user_data;
  guint top = st->opened->len - 1;
  if (g_array_index(st->leaf, gboolean, top) && !g_hash_table_contains(st->paths, st->path->str))
    g_hash_table_insert(st->paths, g_strdup(st->path->str), g_strdup(st->text->str));
  g_string_truncate(st->path, g_array_index(st->opened, gsize, top));
  g_array_set_size(st->opened, top);
  g_array_set_size(st->leaf, top);
}

static void on_path_text(GMarkupParseContext *ctx, const char *text, gsize len, gpointer user_data,
                         GError **error)
{
  PathState *st = user_data;
  g_string_append_len(st->text, text, (gssize)len);
}

/* Values may be secrets (an AssumeRole answer's key and token): overwritten before they are
 * freed. */
static void free_wiped(gpointer text)
{
  memset(text, 0, strlen(text));
  g_free(text);
}

GHashTable *s3_xml_parse_paths(const char *body, gsize len, GError **error)
{
  static const GMarkupParser parser = {on_path_start, on_path_end, on_path_text, NULL, NULL};
  PathState st = {0};
  GMarkupParseContext *ctx;
  gboolean ok;

  st.paths = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, free_wiped);
  st.path = g_string_new(NULL);
  st.opened = g_array_new(FALSE, FALSE, sizeof(gsize));
  st.leaf = g_array_new(FALSE, FALSE, sizeof(gboolean));
  st.text = g_string_new(NULL);
  ctx = g_markup_parse_context_new(&parser, 0, &st, NULL);
  ok = body != NULL && len > 0 && g_markup_parse_context_parse(ctx, body, (gssize)len, error) &&
       g_markup_parse_context_end_parse(ctx, error);
  g_markup_parse_context_free(ctx);
  g_string_free(st.path, TRUE);
  g_array_unref(st.opened);
  g_array_unref(st.leaf);
  g_string_free(st.text, TRUE);
  if (!ok && (body == NULL || len == 0))
    g_set_error(error, S3_ERROR, S3_ERROR_PROTOCOL, "empty body where XML was expected");
  if (!ok) {
    g_hash_table_unref(st.paths);
    return NULL;
  }
  return st.paths;
}

gboolean s3_xml_parse_sts_error(const char *body, gsize len, S3XmlError *out)
{
  /* AWS STS: ErrorResponse/Error; moto: ErrorResponse/Errors/Error; some S3-compatible
   * servers: a bare Error. */
  static const char *const prefixes[] = {"ErrorResponse/Error/", "ErrorResponse/Errors/Error/",
                                         "Error/"};
  g_autoptr(GHashTable) paths = s3_xml_parse_paths(body, len, NULL);
  const char *prefix = NULL;
  memset(out, 0, sizeof *out);
  if (paths == NULL)
    return FALSE;
  for (guint i = 0; prefix == NULL && i < G_N_ELEMENTS(prefixes); i++) {
    g_autofree char *code = g_strconcat(prefixes[i], "Code", NULL);
    g_autofree char *message = g_strconcat(prefixes[i], "Message", NULL);
    if (g_hash_table_contains(paths, code) || g_hash_table_contains(paths, message))
      prefix = prefixes[i];
  }
  if (prefix == NULL)
    return FALSE;
  {
    g_autofree char *code = g_strconcat(prefix, "Code", NULL);
    g_autofree char *message = g_strconcat(prefix, "Message", NULL);
    g_autofree char *type = g_strconcat(prefix, "Type", NULL);
    const char *c = g_hash_table_lookup(paths, code);
    out->code = g_strdup(c != NULL && *c != '\0' ? c : "UnknownError");
    out->message = g_strdup(g_hash_table_lookup(paths, message));
    out->type = g_strdup(g_hash_table_lookup(paths, type));
  }
  return TRUE;
}

#define CREDENTIALS_PATH "AssumeRoleResponse/AssumeRoleResult/Credentials/"

gboolean s3_xml_parse_assume_role(const char *body, gsize len, S3XmlCredentials *out,
                                  GError **error)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(GHashTable) paths = s3_xml_parse_paths(body, len, &err);
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
  g_autoptr(GDateTime) expiration = NULL;
  const char *key, *secret, *token, *expires;

  memset(out, 0, sizeof *out);
  if (paths == NULL) {
    g_set_error(error, S3_ERROR, S3_ERROR_PROTOCOL, "%s", err->message);
    return FALSE;
  }
  key = g_hash_table_lookup(paths, CREDENTIALS_PATH "AccessKeyId");
  secret = g_hash_table_lookup(paths, CREDENTIALS_PATH "SecretAccessKey");
  token = g_hash_table_lookup(paths, CREDENTIALS_PATH "SessionToken");
  expires = g_hash_table_lookup(paths, CREDENTIALS_PATH "Expiration");
  if (key == NULL || *key == '\0' || secret == NULL || *secret == '\0' || token == NULL ||
      *token == '\0') {
    g_set_error(error, S3_ERROR, S3_ERROR_PROTOCOL,
                "the answer has no " CREDENTIALS_PATH "{AccessKeyId,SecretAccessKey,SessionToken}");
    return FALSE;
  }
  if (expires != NULL) {
    g_autofree char *trimmed = g_strstrip(g_strdup(expires));
    expiration = g_date_time_new_from_iso8601(trimmed, utc);
  }
  if (expiration == NULL) {
    g_set_error(error, S3_ERROR, S3_ERROR_PROTOCOL,
                "the answer's Expiration \"%s\" is not an ISO 8601 time",
                expires ? expires : "(none)");
    return FALSE;
  }
  out->access_key_id = g_strstrip(g_strdup(key));
  out->secret_access_key = g_strstrip(g_strdup(secret));
  out->session_token = g_strstrip(g_strdup(token));
  out->expiration = g_date_time_to_unix(expiration);
  return TRUE;
}

void s3_xml_credentials_clear(S3XmlCredentials *creds)
{
  if (creds->secret_access_key != NULL)
    memset(creds->secret_access_key, 0, strlen(creds->secret_access_key));
  if (creds->session_token != NULL)
    memset(creds->session_token, 0, strlen(creds->session_token));
  g_clear_pointer(&creds->access_key_id, g_free);
  g_clear_pointer(&creds->secret_access_key, g_free);
  g_clear_pointer(&creds->session_token, g_free);
  creds->expiration = 0;
}

char *s3_xml_parse_upload_id(const char *body, gsize len, GError **error)
{
  g_autoptr(S3XmlDoc) doc = s3_xml_parse(body, len, error);
  const char *id;
  if (doc == NULL)
    return NULL;
  id = strcmp(doc->root, "InitiateMultipartUploadResult") == 0 ? s3_xml_doc_get(doc, "UploadId")
                                                               : NULL;
  if (id == NULL || *id == '\0') {
    g_set_error(error, S3_ERROR, S3_ERROR_PROTOCOL,
                "expected an InitiateMultipartUploadResult with an UploadId, got <%s>", doc->root);
    return NULL;
  }
  return g_strdup(id);
}

char *s3_xml_complete_body(const char *const *etags, guint n)
{
  GString *out = g_string_new("<CompleteMultipartUpload "
                              "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
  for (guint i = 0; i < n; i++) {
    g_autofree char *etag = g_markup_escape_text(etags[i], -1);
    g_string_append_printf(out, "<Part><PartNumber>%u</PartNumber><ETag>%s</ETag></Part>", i + 1,
                           etag);
  }
  g_string_append(out, "</CompleteMultipartUpload>");
  return g_string_free(out, FALSE);
}
