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
#include <gst/gst.h>
#include <sluice/host.h>

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

  /* --- ABI 1.2 --- */
  /* Optional (mandatory for plugins that call session_start). Service process, main thread: the
   * host ends `session` (the handler died, the node stops, the ingress was deleted). Close the
   * publisher's connection, telling it `reason` where the protocol can, then call session_end()
   * for it (now or later). `reason` is transfer none. */
  void (*stop_session)(SluiceSession *session, const char *reason);

  /* Optional (mandatory for plugins that call session_start). Handler process, main thread:
   * build the session's source. `media_fd` (transfer full) reads what the service side wrote
   * (`session` field "media-format" says in which format). `session` (transfer none) carries
   * "session-id", "ingress-id", "stream-key", "room-name", "participant-identity". The element
   * exposes sometimes src pads whose caps say what they carry (video/x-h264, audio/mpeg, ...) and
   * signals no-more-pads once it knows them all; it posts EOS when the publisher has gone.
   * Returns a floating reference, or NULL with `error` set. */
  GstElement *(*make_source)(const GstStructure *session, int media_fd, GError **error);
} SluiceInputVTable;

G_END_DECLS

#endif /* SLUICE_INPUT_H */
