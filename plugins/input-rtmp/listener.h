/* input-rtmp, service side: the RTMP and RTMPS listeners and their connections.
 *
 * Each accepted connection gets an RtmpServerConn (rtmp/server.h) fed from asynchronous reads on
 * the GLib main loop; plain TCP and TLS (RTMPS) differ only in the GIOStream underneath. When a
 * publisher presents a stream key the listener asks the host for a session
 * (SluiceHost.session_start); once accepted, audio, video and metadata are written as an FLV
 * byte stream into the session's media fd. When that fd is full the listener stops reading from
 * the publisher (TCP pushes back) instead of buffering without bound.
 *
 * Hardening: a connection must be publishing within handshake_timeout; a publishing connection
 * that sends nothing for idle_timeout is closed; at most max_pending_connections connections may
 * be unauthenticated at once; each connection buffers at most max_buffered_bytes. Malformed input
 * costs a log line and that connection, never the process.
 *
 * Ownership: RtmpListener owns its connections. Main thread only.
 */
#ifndef RTMP_LISTENER_H
#define RTMP_LISTENER_H

#include <gio/gio.h>
#include <sluice/host.h>

G_BEGIN_DECLS

typedef struct {
  const SluiceHost *host;
  const char *bind_address;
  gint rtmp_port;                   /* <= 0: off */
  gint rtmps_port;                  /* <= 0: off */
  GTlsCertificate *tls_certificate; /* for RTMPS (transfer none, borrowed) */
  guint handshake_timeout_ms;
  guint idle_timeout_ms;
  guint max_pending;
  gsize max_buffered;
} RtmpListenerConfig;

typedef struct _RtmpListener RtmpListener;

RtmpListener *rtmp_listener_new(const RtmpListenerConfig *config, GError **error);
/* Stop accepting; connections already publishing go on. */
void rtmp_listener_stop_accepting(RtmpListener *l);
/* The host ends a session: close its publisher's connection. */
void rtmp_listener_stop_session(RtmpListener *l, SluiceSession *session, const char *reason);

G_END_DECLS

#endif /* RTMP_LISTENER_H */
