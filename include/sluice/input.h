/* sluice plugin ABI — input plugins (protocols that bring media in).
 *
 * An input plugin has a service-side part (listeners that accept publishers and authenticate
 * them) and, in later minors, a handler-side part (the GStreamer source it builds for a session).
 * The same shared object serves both processes; SluiceHost.process says which one loaded it.
 *
 * Copy rule as for the descriptor: the host copies min(size, sizeof) into a zeroed struct.
 */
#ifndef SLUICE_INPUT_H
#define SLUICE_INPUT_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  /* --- ABI 1.0 --- */
  guint32 size;           /* sizeof(SluiceInputVTable) the plugin was built with */
  const char *input_type; /* mandatory: "rtmp", "whip", "srt", "url", ... */

  /* Mandatory. Service process, main thread, once after init(): open listeners and start
   * accepting. Return FALSE with `error` set (e.g. the port is taken) to stop start-up. */
  gboolean (*start)(GError **error);

  /* Mandatory. Service process, main thread: stop accepting new publishers (drain). Sessions
   * already running continue. Called at most once, before shutdown(). */
  void (*stop_accepting)(void);
} SluiceInputVTable;

G_END_DECLS

#endif /* SLUICE_INPUT_H */
