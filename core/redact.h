/* The one redaction helper. Every place that shows a secret-bearing value to a person (log lines,
 * API answers, `sluice plugins`, error messages) goes through these functions, so that stream keys
 * and credentials never leave the process in the clear.
 *
 * All functions are pure, thread-safe, and return newly allocated strings (transfer full).
 */
#ifndef SL_REDACT_H
#define SL_REDACT_H

#include <glib.h>

G_BEGIN_DECLS

/* "{abc...xyz}" for 10 or more characters (first and last three kept, so two keys can be told
 * apart), "{...}" for shorter or NULL input. */
char *sl_redact_secret(const char *secret);

/* A URL with its password, every query value and, when `last_segment_is_key` is TRUE, its last
 * path segment redacted: rtmp://u:pw@host/live/abcdefghijkl?token=xyz →
 * rtmp://u:{...}@host/live/{abc...jkl}?token={...}. Text that is not a URL is returned as
 * sl_redact_secret() would. */
char *sl_redact_url(const char *url, gboolean last_segment_is_key);

G_END_DECLS

#endif /* SL_REDACT_H */
