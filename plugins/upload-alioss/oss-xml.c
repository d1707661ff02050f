/* upload-alioss — OSS's XML documents. See oss-xml.h. */
#include "oss-xml.h"

#include "oss-error.h"

#include <string.h>

typedef struct {
  guint depth;
  char *root;
  char *child; /* name of the depth-2 element being read, or NULL */
  GString *text;
  GHashTable *fields;
} ParseState;

static void on_start(GMarkupParseContext *ctx, const char *name, const char **attr_names,
                     const char **attr_values, gpointer user_data, GError **error)
{
  ParseState *st = user_data;
  st->depth++;
  if (st->depth == 1) {
    st->root = g_strdup(name);
  } else if (st->depth == 2) {
    g_free(st->child);
    st->child = g_strdup(name);
    g_string_truncate(st->text, 0);
  }
}

static void on_end(GMarkupParseContext *ctx, const char *name, gpointer user_data, GError **error)
{
  ParseState *st = user_data;
  if (st->depth == 2 && st->child != NULL) {
    if (!g_hash_table_contains(st->fields, st->child))
      g_hash_table_insert(st->fields, g_steal_pointer(&st->child), g_strdup(st->text->str));
    g_clear_pointer(&st->child, g_free);
  }
  st->depth--;
}

static void on_text(GMarkupParseContext *ctx, const char *text, gsize len, gpointer user_data,
                    GError **error)
{
  ParseState *st = user_data;
  if (st->depth == 2 && st->child != NULL)
    g_string_append_len(st->text, text, (gssize)len);
}

gboolean oss_xml_parse(const char *body, gssize len, char **root, GHashTable **fields,
                       GError **error)
{
  static const GMarkupParser parser = {on_start, on_end, on_text, NULL, NULL};
  ParseState st = {0};
  GMarkupParseContext *ctx;
  gboolean ok;

  if (body == NULL) {
    g_set_error(error, OSS_ERROR, OSS_ERROR_PROTOCOL, "empty body where XML was expected");
    return FALSE;
  }
  st.text = g_string_new(NULL);
  st.fields = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  ctx = g_markup_parse_context_new(&parser, G_MARKUP_PREFIX_ERROR_POSITION, &st, NULL);
  ok = g_markup_parse_context_parse(ctx, body, len, error) &&
       g_markup_parse_context_end_parse(ctx, error);
  g_markup_parse_context_free(ctx);
  if (ok && st.root == NULL) {
    g_set_error(error, OSS_ERROR, OSS_ERROR_PROTOCOL, "empty XML document");
    ok = FALSE;
  }
  g_string_free(st.text, TRUE);
  g_free(st.child);
  if (!ok) {
    g_free(st.root);
    g_hash_table_unref(st.fields);
    return FALSE;
  }
  *root = st.root;
  *fields = st.fields;
  return TRUE;
}

static char *take_field(GHashTable *fields, const char *name)
{
  char *key = NULL, *value = NULL;
  if (!g_hash_table_steal_extended(fields, name, (gpointer *)&key, (gpointer *)&value))
    return NULL;
  g_free(key);
  if (value != NULL && *value == '\0')
    g_clear_pointer(&value, g_free);
  return value;
}

gboolean oss_xml_parse_error(const char *body, gssize len, OssErrorInfo *info)
{
  g_autofree char *root = NULL;
  g_autoptr(GHashTable) fields = NULL;

  memset(info, 0, sizeof *info);
  if (!oss_xml_parse(body, len, &root, &fields, NULL) || strcmp(root, "Error") != 0)
    return FALSE;
  info->code = take_field(fields, "Code");
  info->message = take_field(fields, "Message");
  info->request_id = take_field(fields, "RequestId");
  info->ec = take_field(fields, "EC");
  info->server_time = take_field(fields, "ServerTime");
  return TRUE;
}

void oss_error_info_clear(OssErrorInfo *info)
{
  g_clear_pointer(&info->code, g_free);
  g_clear_pointer(&info->message, g_free);
  g_clear_pointer(&info->request_id, g_free);
  g_clear_pointer(&info->ec, g_free);
  g_clear_pointer(&info->server_time, g_free);
}

char *oss_xml_parse_upload_id(const char *body, gssize len, GError **error)
{
  g_autofree char *root = NULL;
  g_autoptr(GHashTable) fields = NULL;
  char *id;

  if (!oss_xml_parse(body, len, &root, &fields, error))
    return NULL;
  if (strcmp(root, "InitiateMultipartUploadResult") != 0) {
    g_set_error(error, OSS_ERROR, OSS_ERROR_PROTOCOL,
                "expected <InitiateMultipartUploadResult>, got <%s>", root);
    return NULL;
  }
  id = take_field(fields, "UploadId");
  if (id == NULL)
    g_set_error(error, OSS_ERROR, OSS_ERROR_PROTOCOL,
                "<InitiateMultipartUploadResult> without an UploadId");
  return id;
}

char *oss_xml_complete_body(const char *const *etags, guint n)
{
  GString *s = g_string_new("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                            "<CompleteMultipartUpload>\n");
  for (guint i = 0; i < n; i++) {
    g_autofree char *etag = g_markup_escape_text(etags[i] ? etags[i] : "", -1);
    g_string_append_printf(s, "<Part><PartNumber>%u</PartNumber><ETag>%s</ETag></Part>\n", i + 1,
                           etag);
  }
  g_string_append(s, "</CompleteMultipartUpload>\n");
  return g_string_free(s, FALSE);
}
