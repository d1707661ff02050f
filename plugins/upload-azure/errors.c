/* upload-azure — reading the Blob service's error answers. See errors.h. */
#include "errors.h"

#include <string.h>

typedef struct {
  guint depth;       /* element depth, the root is 1 */
  gboolean is_error; /* the root element is <Error> */
  const char *in;    /* "Code" or "Message" while inside one directly under the root */
  GString *code;
  GString *message;
} ParseState;

static void on_start(GMarkupParseContext *ctx, const char *name, const char **attr_names,
                     const char **attr_values, gpointer data, GError **error)
{
  ParseState *st = data;
  st->depth++;
  if (st->depth == 1)
    st->is_error = strcmp(name, "Error") == 0;
  else if (st->depth == 2 && st->is_error && strcmp(name, "Code") == 0)
    st->in = "Code";
  else if (st->depth == 2 && st->is_error && strcmp(name, "Message") == 0)
    st->in = "Message";
}

static void on_end(GMarkupParseContext *ctx, const char *name, gpointer data, GError **error)
{
  ParseState *st = data;
  if (st->depth == 2)
    st->in = NULL;
  st->depth--;
}

static void on_text(GMarkupParseContext *ctx, const char *text, gsize len, gpointer data,
                    GError **error)
{
  ParseState *st = data;
  if (st->in == NULL)
    return;
  if (strcmp(st->in, "Code") == 0) {
    if (st->code == NULL)
      st->code = g_string_new(NULL);
    g_string_append_len(st->code, text, (gssize)len);
  } else {
    if (st->message == NULL)
      st->message = g_string_new(NULL);
    g_string_append_len(st->message, text, (gssize)len);
  }
}

static char *take_trimmed(GString *s)
{
  char *out;
  if (s == NULL)
    return NULL;
  out = g_strstrip(g_string_free(s, FALSE));
  if (*out == '\0') {
    g_free(out);
    return NULL;
  }
  return out;
}

gboolean az_error_parse(const char *body, gsize len, char **code, char **message)
{
  static const GMarkupParser parser = {on_start, on_end, on_text, NULL, NULL};
  ParseState st = {0};
  GMarkupParseContext *ctx;
  gboolean ok;
  char *c, *m;

  if (code)
    *code = NULL;
  if (message)
    *message = NULL;
  if (body == NULL)
    return FALSE;
  /* The service starts its XML with a byte order mark, which GMarkup does not accept. */
  if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0) {
    body += 3;
    len -= 3;
  }
  ctx = g_markup_parse_context_new(&parser, 0, &st, NULL);
  ok = g_markup_parse_context_parse(ctx, body, (gssize)len, NULL) &&
       g_markup_parse_context_end_parse(ctx, NULL);
  g_markup_parse_context_free(ctx);
  c = take_trimmed(st.code);
  m = take_trimmed(st.message);
  ok = ok && st.is_error && (c != NULL || m != NULL);
  if (ok && code)
    *code = g_steal_pointer(&c);
  if (ok && message)
    *message = g_steal_pointer(&m);
  g_free(c);
  g_free(m);
  return ok;
}

static const char *reason(guint status)
{
  switch (status) {
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 408:
    return "Request Timeout";
  case 409:
    return "Conflict";
  case 411:
    return "Length Required";
  case 412:
    return "Precondition Failed";
  case 413:
    return "Request Entity Too Large";
  case 500:
    return "Internal Server Error";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  default:
    return NULL;
  }
}

char *az_error_describe(guint status, const char *header_code, const char *body, gsize len)
{
  g_autofree char *code = NULL;
  g_autofree char *message = NULL;
  const char *what;
  GString *s = g_string_new(NULL);

  az_error_parse(body, len, &code, &message);
  what = code ? code : (header_code && *header_code ? header_code : reason(status));
  g_string_printf(s, "HTTP %u", status);
  if (what)
    g_string_append_printf(s, " %s", what);
  if (message) {
    /* The message's later lines are the request id and the time; the first says what is wrong. */
    char *nl = strpbrk(message, "\r\n");
    if (nl)
      *nl = '\0';
    g_string_append_printf(s, ": %s", message);
  }
  return g_string_free(s, FALSE);
}
