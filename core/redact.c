/* Redaction helpers. See redact.h. */
#include "redact.h"

#include <string.h>

char *sl_redact_secret(const char *secret)
{
  glong chars;
  const char *head_end;
  const char *tail;
  if (secret == NULL)
    return g_strdup("{...}");
  /* Count and cut in characters, not bytes, so a multi-byte character is never split. */
  if (!g_utf8_validate(secret, -1, NULL)) {
    gsize len = strlen(secret);
    if (len < 10)
      return g_strdup("{...}");
    return g_strdup_printf("{%.3s...%s}", secret, secret + len - 3);
  }
  chars = g_utf8_strlen(secret, -1);
  if (chars < 10)
    return g_strdup("{...}");
  head_end = g_utf8_offset_to_pointer(secret, 3);
  tail = g_utf8_offset_to_pointer(secret, chars - 3);
  return g_strdup_printf("{%.*s...%s}", (int)(head_end - secret), secret, tail);
}

/* Rewrites "a=1&b=2" into "a={...}&b={...}", keeping parameter names (they help debugging and
 * carry no secret). */
static void append_redacted_query(GString *out, const char *query)
{
  g_auto(GStrv) parts = g_strsplit(query, "&", -1);
  for (guint i = 0; parts[i] != NULL; i++) {
    const char *eq = strchr(parts[i], '=');
    if (i > 0)
      g_string_append_c(out, '&');
    if (eq != NULL) {
      g_string_append_len(out, parts[i], eq - parts[i] + 1);
      g_string_append(out, "{...}");
    } else {
      g_string_append(out, parts[i]);
    }
  }
}

char *sl_redact_url(const char *url, gboolean last_segment_is_key)
{
  const char *scheme_end;
  const char *authority;
  const char *path;
  const char *query;
  const char *at;
  GString *out;

  if (url == NULL)
    return g_strdup("{...}");
  scheme_end = strstr(url, "://");
  if (scheme_end == NULL)
    return sl_redact_secret(url);

  out = g_string_new(NULL);
  g_string_append_len(out, url, scheme_end + 3 - url);
  authority = scheme_end + 3;
  path = authority + strcspn(authority, "/?#");
  query = strchr(path, '?');

  /* userinfo: keep the user name, hide the password. The last '@' ends it: a password may
   * contain an unescaped '@', and the host never does. */
  at = g_strrstr_len(authority, path - authority, "@");
  if (at != NULL) {
    const char *colon = memchr(authority, ':', at - authority);
    if (colon != NULL) {
      g_string_append_len(out, authority, colon - authority + 1);
      g_string_append(out, "{...}");
    } else {
      g_string_append_len(out, authority, at - authority);
    }
    g_string_append_len(out, at, path - at);
  } else {
    g_string_append_len(out, authority, path - authority);
  }

  {
    const char *path_end = query ? query : path + strlen(path);
    g_autofree char *p = g_strndup(path, path_end - path);
    char *last = strrchr(p, '/');
    if (last_segment_is_key && last != NULL && last[1] != '\0') {
      g_autofree char *key = sl_redact_secret(last + 1);
      last[1] = '\0';
      g_string_append(out, p);
      g_string_append(out, key);
    } else {
      g_string_append(out, p);
    }
  }
  if (query != NULL) {
    g_string_append_c(out, '?');
    append_redacted_query(out, query + 1);
  }
  return g_string_free(out, FALSE);
}
