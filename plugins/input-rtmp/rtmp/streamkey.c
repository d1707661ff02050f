/* rtmp/streamkey.c - stream key extraction; see streamkey.h for the rules. */
#include "rtmp/streamkey.h"

#include <string.h>

/* The last '/'-separated component of s before any '?', or NULL when that component is empty. */
static gchar *last_component(const gchar *s)
{
  if (s == NULL)
    return NULL;
  gsize end = strcspn(s, "?");
  gsize start = end;
  while (start > 0 && s[start - 1] != '/')
    start--;
  if (start == end)
    return NULL;
  return g_strndup(s + start, end - start);
}

gchar *rtmp_stream_key_extract(const gchar *app, const gchar *publish_name)
{
  gchar *key = last_component(publish_name);
  if (key != NULL)
    return key;
  /* Only an app with a path separator can carry a key: app "live" alone is just the app. */
  if (app == NULL)
    return NULL;
  gsize app_len = strcspn(app, "?");
  if (memchr(app, '/', app_len) == NULL)
    return NULL;
  return last_component(app);
}
