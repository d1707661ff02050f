/* Logging for the service and handler processes.
 *
 * One writer for everything: sluice's own lines, GLib's g_message()/g_warning() (from libraries
 * and plugins alike) and plugin lines from SluiceHost.log. Each line is scrubbed of every
 * registered secret before it is written, so a secret that reaches a format string by mistake
 * still never reaches the log. Output goes to stderr, as text or as one JSON object per line.
 *
 * Thread-safety: every function may be called from any thread.
 */
#ifndef SL_LOG_H
#define SL_LOG_H

#include <glib.h>
#include <sluice/host.h>

G_BEGIN_DECLS

/* Installs the GLib log writer. Call once, first thing in main(). */
void sl_log_init(void);

/* Sets the threshold and the format. `level_name` is one of debug, info, warn, warning, error
 * (case-insensitive); returns FALSE for another name. */
gboolean sl_log_parse_level(const char *level_name, SluiceLogLevel *out);
void sl_log_configure(SluiceLogLevel level, gboolean json);
SluiceLogLevel sl_log_get_level(void);

/* Writes one line from `component` (e.g. "config", "plugin:hello"). */
void sl_log(SluiceLogLevel level, const char *component, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Remember `secret` (copied); later lines show it as sl_redact_secret() would. Secrets shorter
 * than 4 characters are ignored: they would mangle ordinary words. */
void sl_log_register_secret(const char *secret);

/* `text` with every registered secret redacted (transfer full). */
char *sl_log_scrub(const char *text);

#define sl_error(comp, ...) sl_log(SLUICE_LOG_ERROR, comp, __VA_ARGS__)
#define sl_warn(comp, ...)  sl_log(SLUICE_LOG_WARNING, comp, __VA_ARGS__)
#define sl_info(comp, ...)  sl_log(SLUICE_LOG_INFO, comp, __VA_ARGS__)
#define sl_debug(comp, ...) sl_log(SLUICE_LOG_DEBUG, comp, __VA_ARGS__)

G_END_DECLS

#endif /* SL_LOG_H */
