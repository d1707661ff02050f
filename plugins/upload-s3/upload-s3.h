/* upload-s3 — what the plugin's modules share: its log line helper.
 *
 * Threading: s3_log may be called from any thread (the host's log callback is thread-safe); before
 * init() (unit tests) it writes through g_log.
 */
#ifndef UPLOAD_S3_H
#define UPLOAD_S3_H

#include <sluice/host.h>

G_BEGIN_DECLS

void s3_log(SluiceLogLevel level, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

G_END_DECLS

#endif /* UPLOAD_S3_H */
