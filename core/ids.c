/* Identifiers and generated secrets. See ids.h. */
#include "ids.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/* Fills `buf` from the kernel's CSPRNG; getrandom() only fails early at boot or on EINTR. */
static void fill_random(guint8 *buf, gsize len)
{
  gsize done = 0;
  while (done < len) {
    ssize_t n = getrandom(buf + done, len - done, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      g_error("getrandom failed: %s", g_strerror(errno));
    }
    done += (gsize)n;
  }
}

char *sl_id_random(const char *prefix, guint n)
{
  const guint range = sizeof alphabet - 1; /* 57 */
  /* Bytes at or above the largest multiple of 57 are thrown away so that every character is
   * equally likely. */
  const guint limit = 256 - (256 % range);
  GString *s = g_string_new(prefix ? prefix : "");
  guint8 buf[64];
  while (n > 0) {
    fill_random(buf, sizeof buf);
    for (gsize i = 0; i < sizeof buf && n > 0; i++) {
      if (buf[i] >= limit)
        continue;
      g_string_append_c(s, alphabet[buf[i] % range]);
      n--;
    }
  }
  return g_string_free(s, FALSE);
}

char *sl_id_track(const char *session_id, char kind)
{
  const char *tail = g_str_has_prefix(session_id, "RT_") ? session_id + 3 : session_id;
  return g_strdup_printf("TR_%s%c", tail, kind);
}
