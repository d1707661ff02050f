/* Sessions: one live run of a publisher, each in its own handler process.
 *
 * An input plugin's service side asks for a session when a publisher presents a stream key
 * (SluiceHost.session_start). The manager checks the key against the ingresses, refuses a second
 * publisher on a live ingress, reserves the admission cost, expands the ingress's default
 * outputs into paths under output_dir, and spawns `sluice handler` with:
 *   fd 3  the read end of a pipe the plugin writes the media into (FLV for RTMP),
 *   fd 4  one end of a socketpair carrying length-prefixed JSON control messages (ipc.h),
 * and the session description in the environment. The handler reports its state; the manager
 * keeps the ingress's state, the metrics and the admission hold in step, and notices a handler
 * that dies (signal or exit status) without disturbing any other session.
 *
 * Why a pipe of FLV rather than the socket itself: the RTMP connection's state (handshake, chunk
 * sizes, TLS for RTMPS) lives in the service; handing a TLS socket to another process is not
 * possible, and FLV is what GStreamer's flvdemux reads.
 *
 * A session ends when both sides are done: the publisher side (session_end from the plugin) and
 * the handler side (the process exited). Ownership: SluiceSession is owned by the manager.
 * Main thread only.
 */
#ifndef SL_SESSION_H
#define SL_SESSION_H

#include "admission.h"
#include "config.h"
#include "cpu.h"
#include "ingress.h"
#include "loader.h"
#include "metrics.h"

#include <sluice/host.h>

G_BEGIN_DECLS

typedef struct _SlSessions SlSessions;

typedef struct {
  SlConfig *config;
  SlIngressStore *ingresses;
  SlAdmission *admission;
  SlCpuMonitor *cpu;
  SlMetrics *metrics;
  const char *node_id;
  const char *const *plugin_path; /* handed to handlers so they find the same plugins */
  void (*on_count_changed)(guint active, gpointer user_data);
  /* Output reports from a handler ("output", "output-added", "output-removed" messages, transfer
   * none) and the end of a session, for the egresses running on it. Main thread. */
  void (*on_output_message)(const char *session_id, JsonObject *msg, gpointer user_data);
  void (*on_session_ended)(const char *session_id, SlIngressStatus status, const char *error,
                           gpointer user_data);
  /* An ingress changed state (transfer none). Main thread. */
  void (*on_ingress_changed)(SlIngress *ing, gpointer user_data);
  gpointer user_data;
} SlSessionsEnv;

SlSessions *sl_sessions_new(const SlSessionsEnv *env, GError **error);
void sl_sessions_free(SlSessions *mgr);

/* SluiceHost.session_start for `plugin`. */
SluiceSession *sl_sessions_start(SlSessions *mgr, SlPlugin *plugin, const SluiceSessionRequest *req,
                                 int *media_fd, GError **error);
/* SluiceHost.session_end. */
void sl_sessions_publisher_ended(SlSessions *mgr, SluiceSession *s, const char *error);
/* SluiceHost.session_add_bytes. */
void sl_sessions_add_bytes(SlSessions *mgr, SluiceSession *s, guint64 bytes);

/* The live session of `ingress_id`, or NULL. Its id is the ingress's resource_id. */
SluiceSession *sl_sessions_get(SlSessions *mgr, const char *session_id);
const char *sl_session_id(SluiceSession *s);
const char *sl_session_ingress_id(SluiceSession *s);

/* Ask the session's handler to add an output (`options` with paths relative to the output
 * directory; transfer none) or to finalise and remove one. The answer comes back through
 * on_output_message ("output-added" / "output-removed", with "error" on failure). FALSE when the
 * session's handler is gone. */
gboolean sl_session_add_output(SluiceSession *s, const char *output_id, const char *output_type,
                               JsonObject *options);
gboolean sl_session_remove_output(SluiceSession *s, const char *output_id);

/* End one session: its handler finalises and its publisher is disconnected with `reason`. */
void sl_session_stop(SluiceSession *s, const char *reason);

/* The output directory outputs write into (absolute). */
const char *sl_sessions_output_dir(SlSessions *mgr);

/* Ask every handler to finalise now and every publisher to go (SIGINT). */
void sl_sessions_stop_all(SlSessions *mgr, const char *reason);

/* Sessions whose handler is still running. */
guint sl_sessions_active(SlSessions *mgr);

/* Called every CPU sample: per-handler usage into admission. */
void sl_sessions_sample(SlSessions *mgr);

G_END_DECLS

#endif /* SL_SESSION_H */
