/* upload-s3 — S3's XML answers and the CompleteMultipartUpload body. See s3-xml.h. */
#include "s3-xml.h"

#include "s3-error.h"

#include <string.h>

typedef struct {
  S3XmlDoc *doc;
  guint depth;     /* 1 inside the document element, 2 inside one of its children */
  char *child;     /* name of the child being read at depth 2 */
  GString *text;   /* its text so far */
  gboolean nested; /* the child has elements of its own: not a text field */
} ParseState;

static void on_start(GMarkupParseContext *ctx, const char *name, const char **attr_names,
                     const char **attr_values, gpointer user_data, GError **error)
{
  ParseState *st = user_data;
  st->depth++;
  if (st->depth == 1) {
    st->doc->root = g_strdup(name);
  } else if (st->depth == 2) {
    st->child = g_strdup(name);
    g_string_truncate(st->text, 0);
    st->nested = FALSE;
  } else {
    st->nested = TRUE;
  }
}

static void on_end(GMarkupParseContext *ctx, const char *name, gpointer user_data, GError **error)
{
  ParseState *st = user_data;
  if (st->depth == 2 && st->child != NULL) {
    if (!st->nested && !g_hash_table_contains(st->doc->fields, st->child))
      g_hash_table_insert(st->doc->fields, st->child, g_strdup(st->text->str));
    else
      g_free(st->child);
    st->child = NULL;
  }
  st->depth--;
}

static void on_text(GMarkupParseContext *ctx, const char *text, gsize len, gpointer user_data,
                    GError **error)
{
  ParseState *st = user_data;
  if (st->depth == 2)
    g_string_append_len(st->text, text, (gssize)len);
}

S3XmlDoc *s3_xml_parse(const char *body, gsize len, GError **error)
{
  static const GMarkupParser parser = {on_start, on_end, on_text, NULL, NULL};
  ParseState st = {0};
  GMarkupParseContext *ctx;
  gboolean ok;

  st.doc = g_new0(S3XmlDoc, 1);
  st.doc->fields = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  st.text = g_string_new(NULL);
  ctx = g_markup_parse_context_new(&parser, 0, &st, NULL);
  ok = body != NULL && len > 0 && g_markup_parse_context_parse(ctx, body, (gssize)len, error) &&
       g_markup_parse_context_end_parse(ctx, error);
  g_markup_parse_context_free(ctx);
  g_string_free(st.text, TRUE);
  g_free(st.child);
  if (ok && st.doc->root == NULL) {
    g_set_error(error, S3_ERROR, S3_ERROR_PROTOCOL, "the XML document has no element");
    ok = FALSE;
  } else if (!ok && (body == NULL || len == 0)) {
    g_set_error(error, S3_ERROR, S3_ERROR_PROTOCOL, "empty body where XML was expected");
  }
  if (!ok) {
    s3_xml_doc_free(st.doc);
    return NULL;
  }
  return st.doc;
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
