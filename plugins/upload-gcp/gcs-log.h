/* upload-gcp: logging from the plugin's modules through the host's logger.
 *
 * Implemented in upload-gcp.c on top of SluiceHost.log (any thread; the host redacts registered
 * secrets). Before init(), or in a unit test that links only pure modules, nothing is logged.
 * Callers never pass keys, assertions or tokens.
 */
#ifndef GCS_LOG_H
#define GCS_LOG_H

#include <glib.h>

G_BEGIN_DECLS

void gcs_log_warning(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void gcs_log_info(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void gcs_log_debug(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

G_END_DECLS

#endif /* GCS_LOG_H */
