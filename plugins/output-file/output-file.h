/* output-file — what every part of the plugin shares: its settings and logging.
 *
 * The plugin entry (output-file.c) reads the plugin's config keys once in init() and hands each
 * bin a copy of OfConfig when it builds one, so the bins hold no reference to process globals.
 *
 * Ownership: `host` is the core's table (transfer none, valid until exit) or NULL when a bin is
 * built without init() having run (then logs go to GLib's log). Threading: OfConfig is written
 * once on the main thread before any bin exists and only read afterwards; of_log() may be
 * called from any thread (SluiceHost.log is).
 */
#ifndef OF_OUTPUT_FILE_H
#define OF_OUTPUT_FILE_H

#include <sluice/plugin.h>

G_BEGIN_DECLS

typedef struct {
  const SluiceHost *host;         /* may be NULL */
  guint fragment_duration_ms;     /* mp4 fragment length: what a crash can lose at most */
  guint default_segment_duration; /* seconds, when the request does not say */
} OfConfig;

/* Defaults, equal to the declared config keys' defaults. */
#define OF_DEFAULT_FRAGMENT_DURATION_MS 1000
#define OF_DEFAULT_SEGMENT_DURATION     4

void of_log(const OfConfig *config, SluiceLogLevel level, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

G_END_DECLS

#endif /* OF_OUTPUT_FILE_H */
