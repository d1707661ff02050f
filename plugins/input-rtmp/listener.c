/* input-rtmp, service side. See listener.h. */
#include "listener.h"

#include "rtmp/amf0.h"
#include "rtmp/flv.h"
#include "rtmp/server.h"

#include <errno.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

#define READ_SIZE (64 * 1024)

/* How long the last media of a session may take to reach its handler. */
#define DRAIN_TIMEOUT_S 10

/* After the client unpublishes it usually closes the socket itself; wait this long for it. */
#define UNPUBLISH_LINGER_MS 5000

typedef struct _Peer Peer;

struct _RtmpListener {
  RtmpListenerConfig cfg;
  GSocketService *plain;
  GSocketService *tls;
  GHashTable *peers; /* Peer* set */
  guint pending;     /* connections not yet publishing */
  gboolean accepting;
};

struct _Peer {
  gint refs;
  RtmpListener *l;
  GIOStream *stream;
  GCancellable *cancel;
  RtmpServerConn *rtmp;
  char *remote;
  gboolean tls;
  gboolean counted_pending;
  gboolean closed;

  guint8 *readbuf;
  gboolean reading;     /* a read is in flight (TLS) */
  int plain_fd;         /* the socket, for plain TCP; -1 for TLS */
  guint fd_watch;       /* the read watch on plain_fd */
  gboolean read_paused; /* waiting for the media fd to drain */

  GByteArray *sock_out;  /* bytes for the publisher; frozen while a write is in flight */
  GByteArray *sock_next; /* output produced during that write */
  gboolean writing;
  gboolean close_after_write;

  SluiceSession *session;
  int media_fd;
  GByteArray *media_out; /* FLV bytes the pipe did not take yet */
  guint media_watch;
  gboolean media_broken;
  gboolean draining; /* the publisher left; the rest of media_out is on its way */
  guint drain_timer;
  char *end_error; /* why the session ends, handed to session_end once drained */
  gboolean header_written;
  GByteArray *metadata_tag; /* onMetaData tag kept until the header is written */
  gboolean meta_audio, meta_video, meta_seen;

  guint timer;
  gboolean idle_phase; /* past the handshake deadline: the timer checks for silence */
  gint64 last_read_us;
};

static void peer_close(Peer *p, const char *error);
static void schedule_read(Peer *p);
static void finish_session(Peer *p);

static Peer *peer_ref(Peer *p)
{
  g_atomic_int_inc(&p->refs);
  return p;
}

static void peer_unref(Peer *p)
{
  if (!g_atomic_int_dec_and_test(&p->refs))
    return;
  g_clear_object(&p->stream);
  g_clear_object(&p->cancel);
  g_clear_pointer(&p->rtmp, rtmp_server_conn_free);
  g_byte_array_unref(p->sock_out);
  g_byte_array_unref(p->sock_next);
  g_byte_array_unref(p->media_out);
  if (p->metadata_tag)
    g_byte_array_unref(p->metadata_tag);
  g_free(p->readbuf);
  g_free(p->remote);
  g_free(p->end_error);
  g_free(p);
}

static void plog(Peer *p, SluiceLogLevel level, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void plog(Peer *p, SluiceLogLevel level, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;
  va_start(ap, fmt);
  msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  sluice_log(p->l->cfg.host, level, "%s%s: %s", p->tls ? "rtmps " : "", p->remote, msg);
}

/* ---- writing to the publisher ------------------------------------------------------------ */

static void flush_socket(Peer *p);

static void on_written(GObject *src, GAsyncResult *res, gpointer data)
{
  Peer *p = data;
  g_autoptr(GError) err = NULL;
  p->writing = FALSE;
  if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(src), res, NULL, &err)) {
    if (!p->closed)
      peer_close(p, NULL);
    peer_unref(p);
    return;
  }
  /* write_all either wrote everything or failed: the frozen buffer is done. */
  g_byte_array_set_size(p->sock_out, 0);
  if (p->sock_next->len > 0) {
    GByteArray *t = p->sock_out;
    p->sock_out = p->sock_next;
    p->sock_next = t;
  }
  if (!p->closed) {
    if (p->sock_out->len > 0)
      flush_socket(p);
    else if (p->close_after_write)
      peer_close(p, NULL);
  }
  peer_unref(p);
}

static void flush_socket(Peer *p)
{
  if (p->writing || p->sock_out->len == 0 || p->closed)
    return;
  p->writing = TRUE;
  g_output_stream_write_all_async(g_io_stream_get_output_stream(p->stream), p->sock_out->data,
                                  p->sock_out->len, G_PRIORITY_DEFAULT, p->cancel, on_written,
                                  peer_ref(p));
}

static void drain_engine(Peer *p)
{
  rtmp_server_conn_append_output(p->rtmp, p->writing ? p->sock_next : p->sock_out);
  flush_socket(p);
}

/* ---- writing into the session ------------------------------------------------------------ */

static gboolean on_media_writable(gint fd, GIOCondition cond, gpointer data);

/* Writes what the pipe takes now; the rest waits for the fd to become writable. */
static void flush_media(Peer *p)
{
  while (p->media_out->len > 0 && !p->media_broken) {
    ssize_t n = write(p->media_fd, p->media_out->data, p->media_out->len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      break;
    if (n <= 0) {
      /* The handler went away; the host will end the session and tell us. */
      p->media_broken = TRUE;
      g_byte_array_set_size(p->media_out, 0);
      break;
    }
    g_byte_array_remove_range(p->media_out, 0, (guint)n);
  }
  if (p->media_out->len > 0 && p->media_watch == 0 && !p->media_broken)
    p->media_watch = g_unix_fd_add(p->media_fd, G_IO_OUT | G_IO_ERR, on_media_writable, p);
  if (p->draining && (p->media_out->len == 0 || p->media_broken)) {
    finish_session(p);
    return;
  }
  if (p->read_paused && p->media_out->len < p->l->cfg.max_buffered / 2) {
    p->read_paused = FALSE;
    schedule_read(p);
  }
}

static gboolean on_media_writable(gint fd, GIOCondition cond, gpointer data)
{
  Peer *p = data;
  p->media_watch = 0;
  flush_media(p);
  return G_SOURCE_REMOVE;
}

static void media_append_tag(Peer *p, guint8 type, guint32 ts, const guint8 *data, gsize len)
{
  if (p->media_fd < 0 || p->media_broken)
    return;
  if (!p->header_written) {
    /* The FLV header says which streams follow; flvdemux waits for every announced stream
     * before it reports its pads, so announce only what the metadata promises. */
    gboolean audio = p->meta_seen ? p->meta_audio : TRUE;
    gboolean video = p->meta_seen ? p->meta_video : TRUE;
    rtmp_flv_write_header(p->media_out, audio || type == RTMP_FLV_TAG_AUDIO,
                          video || type == RTMP_FLV_TAG_VIDEO);
    p->header_written = TRUE;
    if (p->metadata_tag != NULL) {
      g_byte_array_append(p->media_out, p->metadata_tag->data, p->metadata_tag->len);
      g_clear_pointer(&p->metadata_tag, g_byte_array_unref);
    }
  }
  rtmp_flv_write_tag(p->media_out, type, ts, data, len);
}

/* ---- engine callbacks -------------------------------------------------------------------- */

static void on_publish(RtmpServerConn *conn, const gchar *app, const gchar *publish_name,
                       const gchar *stream_key, gpointer data)
{
  Peer *p = data;
  const SluiceHost *host = p->l->cfg.host;
  g_autoptr(GError) err = NULL;
  g_autofree char *shown = host->redact(stream_key);
  SluiceSessionRequest req = {
      .size = sizeof req,
      .input_type = "rtmp",
      .stream_key = stream_key,
      .remote_addr = p->remote,
      .media_format = "flv",
      .tls = p->tls,
  };
  int fd = -1;

  if (!p->l->accepting) {
    rtmp_server_conn_reject_publish(conn, "NetStream.Publish.Rejected",
                                    "this node is shutting down and takes no new publishers");
    plog(p, SLUICE_LOG_INFO, "publish refused: draining");
    return;
  }
  p->session = host->session_start(host, &req, &fd, &err);
  if (p->session == NULL) {
    const char *code = "NetStream.Publish.Rejected";
    if (err && err->domain == SLUICE_SESSION_ERROR &&
        (err->code == SLUICE_SESSION_ERROR_UNKNOWN_KEY ||
         err->code == SLUICE_SESSION_ERROR_ALREADY_LIVE))
      code = "NetStream.Publish.BadName";
    rtmp_server_conn_reject_publish(conn, code, err ? err->message : "refused");
    plog(p, SLUICE_LOG_WARNING, "publish with key %s refused: %s", shown,
         err ? err->message : "refused");
    return;
  }
  p->media_fd = fd;
  rtmp_server_conn_accept_publish(conn);
  if (p->counted_pending) {
    p->counted_pending = FALSE;
    p->l->pending--;
  }
  plog(p, SLUICE_LOG_INFO, "publishing with key %s", shown);
}

/* Hands the session back to the host once everything the publisher sent is in the pipe. */
static void finish_session(Peer *p)
{
  const SluiceHost *host = p->l->cfg.host;
  SluiceSession *session = p->session;
  g_autofree char *error = g_steal_pointer(&p->end_error);
  if (session == NULL)
    return;
  if (p->media_watch) {
    g_source_remove(p->media_watch);
    p->media_watch = 0;
  }
  if (p->drain_timer) {
    g_source_remove(p->drain_timer);
    p->drain_timer = 0;
  }
  close(p->media_fd);
  p->media_fd = -1;
  p->session = NULL;
  host->session_end(host, session, error);
  if (p->draining) {
    p->draining = FALSE;
    peer_unref(p); /* the reference the drain held */
  }
}

static gboolean drain_timeout(gpointer data)
{
  Peer *p = data;
  p->drain_timer = 0;
  plog(p, SLUICE_LOG_WARNING, "the session did not take the last %u bytes within %d s; dropped",
       p->media_out->len, DRAIN_TIMEOUT_S);
  g_byte_array_set_size(p->media_out, 0);
  finish_session(p);
  return G_SOURCE_REMOVE;
}

/* The publisher is gone. What the pipe has not taken yet is the end of the recording, so it is
 * still delivered, asynchronously: the service never blocks on one session's handler. */
static void end_session(Peer *p, const char *error)
{
  if (p->session == NULL || p->draining)
    return;
  if (error != NULL && p->end_error == NULL)
    p->end_error = g_strdup(error);
  flush_media(p);
  if (p->media_out->len > 0 && !p->media_broken) {
    p->draining = TRUE;
    peer_ref(p);
    p->drain_timer = g_timeout_add_seconds(DRAIN_TIMEOUT_S, drain_timeout, p);
    return; /* flush_media finishes the session once the pipe took everything */
  }
  finish_session(p);
}

static void on_unpublish(RtmpServerConn *conn, gpointer data)
{
  Peer *p = data;
  plog(p, SLUICE_LOG_INFO, "unpublished");
  end_session(p, NULL);
}

static void on_metadata(RtmpServerConn *conn, const RtmpAmfValue *meta, const guint8 *body,
                        gsize len, gpointer data)
{
  Peer *p = data;
  if (!p->header_written) {
    p->meta_seen = TRUE;
    p->meta_audio = rtmp_amf_object_get(meta, "audiocodecid") != NULL ||
                    rtmp_amf_object_get(meta, "audiosamplerate") != NULL;
    p->meta_video = rtmp_amf_object_get(meta, "videocodecid") != NULL ||
                    rtmp_amf_object_get(meta, "width") != NULL;
    if (!p->meta_audio && !p->meta_video)
      p->meta_seen = FALSE;
    if (p->metadata_tag != NULL)
      g_byte_array_unref(p->metadata_tag);
    p->metadata_tag = g_byte_array_new();
    rtmp_flv_write_tag(p->metadata_tag, RTMP_FLV_TAG_SCRIPT, 0, body, len);
  }
  /* Some muxers (flvmux) repeat onMetaData every few frames; the stream only needs the first. */
}

static void on_media(RtmpServerConn *conn, RtmpMediaType type, guint32 ts, const guint8 *payload,
                     gsize len, gpointer data)
{
  Peer *p = data;
  media_append_tag(p, type == RTMP_MEDIA_AUDIO ? RTMP_FLV_TAG_AUDIO : RTMP_FLV_TAG_VIDEO, ts,
                   payload, len);
}

static void on_engine_log(RtmpServerConn *conn, GLogLevelFlags level, const gchar *message,
                          gpointer data)
{
  Peer *p = data;
  plog(p, level & G_LOG_LEVEL_WARNING ? SLUICE_LOG_WARNING : SLUICE_LOG_DEBUG, "%s", message);
}

/* ---- reading from the publisher ---------------------------------------------------------- */

/* Handles one read result: `n` bytes in readbuf, 0 at EOF, < 0 on error (`err`). Returns TRUE
 * when the caller should go on reading. */
static gboolean handle_input(Peer *p, gssize n, const GError *err)
{
  g_autoptr(GError) perr = NULL;
  if (p->closed)
    return FALSE;
  if (n <= 0) {
    if (n < 0)
      plog(p, SLUICE_LOG_INFO, "connection lost: %s", err ? err->message : g_strerror(errno));
    /* A publisher that disappears mid-stream ends its session normally: what arrived is kept. */
    peer_close(p, NULL);
    return FALSE;
  }
  p->last_read_us = g_get_monotonic_time();
  if (p->session != NULL)
    p->l->cfg.host->session_add_bytes(p->l->cfg.host, p->session, (guint64)n);
  if (!rtmp_server_conn_feed(p->rtmp, p->readbuf, (gsize)n, &perr)) {
    plog(p, SLUICE_LOG_WARNING, "protocol error, closing: %s", perr->message);
    drain_engine(p);
    peer_close(p, perr->message);
    return FALSE;
  }
  drain_engine(p);
  flush_media(p);
  if (rtmp_server_conn_is_finished(p->rtmp)) {
    /* A refusal: let the client read its onStatus, then close. */
    p->close_after_write = TRUE;
    if (!p->writing && p->sock_out->len == 0)
      peer_close(p, NULL);
    return FALSE;
  }
  if (p->media_out->len > p->l->cfg.max_buffered) {
    p->read_paused = TRUE;
    return FALSE;
  }
  return TRUE;
}

/* TLS connections read through the GIOStream (the TLS layer owns the socket). */
static void on_read(GObject *src, GAsyncResult *res, gpointer data)
{
  Peer *p = data;
  g_autoptr(GError) err = NULL;
  gssize n = g_input_stream_read_finish(G_INPUT_STREAM(src), res, &err);
  p->reading = FALSE;
  if (handle_input(p, n, err))
    schedule_read(p);
  peer_unref(p);
}

/* Plain TCP reads the socket directly from a main-loop fd watch: one watch for the life of the
 * connection, drained until the kernel has nothing more, rather than one asynchronous read
 * (with its own source and wake-up) per chunk. On a busy node that is most of the service's
 * CPU. A cap on reads per wake-up keeps one fast publisher from starving the others. */
static gboolean on_fd_readable(gint fd, GIOCondition cond, gpointer data)
{
  Peer *p = data;
  gboolean go_on = TRUE;
  peer_ref(p);
  for (int i = 0; i < 8 && go_on; i++) {
    gssize n = recv(fd, p->readbuf, READ_SIZE, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    if (n < 0 && errno == EINTR)
      continue;
    go_on = handle_input(p, n, NULL);
    if (n > 0 && n < READ_SIZE)
      break; /* the kernel had no more */
  }
  if (!go_on)
    p->fd_watch = 0;
  peer_unref(p);
  return go_on ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void schedule_read(Peer *p)
{
  if (p->closed || p->read_paused)
    return;
  if (p->plain_fd >= 0) {
    if (p->fd_watch == 0)
      p->fd_watch = g_unix_fd_add(p->plain_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_fd_readable, p);
    return;
  }
  if (p->reading)
    return;
  p->reading = TRUE;
  g_input_stream_read_async(g_io_stream_get_input_stream(p->stream), p->readbuf, READ_SIZE,
                            G_PRIORITY_DEFAULT, p->cancel, on_read, peer_ref(p));
}

/* ---- life cycle -------------------------------------------------------------------------- */

static gboolean on_timer(gpointer data)
{
  Peer *p = data;
  gint64 now = g_get_monotonic_time();
  RtmpServerState st = rtmp_server_conn_get_state(p->rtmp);
  if (st == RTMP_SERVER_STATE_UNPUBLISHED) {
    peer_close(p, NULL);
    p->timer = 0;
    return G_SOURCE_REMOVE;
  }
  if (!rtmp_server_conn_is_publishing(p->rtmp)) {
    plog(p, SLUICE_LOG_WARNING, "closed: not publishing within %u ms of connecting",
         p->l->cfg.handshake_timeout_ms);
    p->timer = 0;
    peer_close(p, NULL);
    return G_SOURCE_REMOVE;
  }
  if (!p->idle_phase) {
    p->idle_phase = TRUE;
    p->timer = g_timeout_add(1000, on_timer, p);
    return G_SOURCE_REMOVE;
  }
  if (!p->read_paused && now - p->last_read_us > (gint64)p->l->cfg.idle_timeout_ms * 1000) {
    plog(p, SLUICE_LOG_WARNING, "closed: no data for %u ms", p->l->cfg.idle_timeout_ms);
    p->timer = 0;
    peer_close(p, "the publisher stopped sending data");
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

static void peer_close(Peer *p, const char *error)
{
  if (p->closed)
    return;
  p->closed = TRUE;
  if (p->session != NULL)
    end_session(p, error);
  if (p->timer) {
    g_source_remove(p->timer);
    p->timer = 0;
  }
  if (p->media_watch && !p->draining) {
    g_source_remove(p->media_watch);
    p->media_watch = 0;
  }
  if (p->fd_watch) {
    g_source_remove(p->fd_watch);
    p->fd_watch = 0;
  }
  if (p->counted_pending) {
    p->counted_pending = FALSE;
    p->l->pending--;
  }
  g_cancellable_cancel(p->cancel);
  g_io_stream_close_async(p->stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  if (g_hash_table_remove(p->l->peers, p))
    peer_unref(p);
}

static const RtmpServerCallbacks engine_callbacks = {
    .on_publish = on_publish,
    .on_unpublish = on_unpublish,
    .on_metadata = on_metadata,
    .on_media = on_media,
    .on_log = on_engine_log,
};

static gboolean on_incoming(GSocketService *service, GSocketConnection *conn, GObject *source,
                            gpointer data)
{
  RtmpListener *l = data;
  gboolean tls = service == l->tls;
  g_autoptr(GSocketAddress) addr = g_socket_connection_get_remote_address(conn, NULL);
  g_autofree char *remote = NULL;
  Peer *p;

  if (addr != NULL && G_IS_INET_SOCKET_ADDRESS(addr)) {
    g_autofree char *ip =
        g_inet_address_to_string(g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(addr)));
    remote =
        g_strdup_printf("%s:%u", ip, g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(addr)));
  } else {
    remote = g_strdup("?");
  }
  if (!l->accepting) {
    g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
    return TRUE;
  }
  if (l->pending >= l->cfg.max_pending) {
    sluice_log(
        l->cfg.host, SLUICE_LOG_WARNING,
        "%s: refused: %u connections are already waiting to publish (max_pending_connections)",
        remote, l->pending);
    g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
    return TRUE;
  }

  p = g_new0(Peer, 1);
  p->refs = 1;
  p->l = l;
  p->tls = tls;
  p->remote = g_steal_pointer(&remote);
  p->cancel = g_cancellable_new();
  p->readbuf = g_malloc(READ_SIZE);
  p->sock_out = g_byte_array_new();
  p->sock_next = g_byte_array_new();
  p->media_out = g_byte_array_new();
  p->media_fd = -1;
  p->plain_fd = -1;
  p->last_read_us = g_get_monotonic_time();
  g_socket_set_option(g_socket_connection_get_socket(conn), IPPROTO_TCP, TCP_NODELAY, 1, NULL);

  if (tls) {
    g_autoptr(GError) err = NULL;
    GIOStream *t = g_tls_server_connection_new(G_IO_STREAM(conn), l->cfg.tls_certificate, &err);
    if (t == NULL) {
      plog(p, SLUICE_LOG_WARNING, "TLS: %s", err->message);
      g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
      peer_unref(p);
      return TRUE;
    }
    p->stream = t;
  } else {
    p->stream = G_IO_STREAM(g_object_ref(conn));
    p->plain_fd = g_socket_get_fd(g_socket_connection_get_socket(conn));
  }
  p->rtmp = rtmp_server_conn_new(&engine_callbacks, p);
  p->counted_pending = TRUE;
  l->pending++;
  g_hash_table_add(l->peers, p);
  /* One timer does both jobs: the handshake deadline first, then idle checks every second. */
  p->timer = g_timeout_add(l->cfg.handshake_timeout_ms, on_timer, p);
  plog(p, SLUICE_LOG_DEBUG, "connected");
  schedule_read(p);
  return TRUE;
}

static GSocketService *listen_on(RtmpListener *l, gint port, GError **error)
{
  GSocketService *svc = g_socket_service_new();
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string(l->cfg.bind_address);
  g_autoptr(GSocketAddress) addr = NULL;
  if (inet == NULL) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "bind_address '%s' is not an IP address", l->cfg.bind_address);
    g_object_unref(svc);
    return NULL;
  }
  addr = g_inet_socket_address_new(inet, (guint16)port);
  if (!g_socket_listener_add_address(G_SOCKET_LISTENER(svc), addr, G_SOCKET_TYPE_STREAM,
                                     G_SOCKET_PROTOCOL_TCP, NULL, NULL, error)) {
    g_prefix_error(error, "cannot listen on %s:%d: ", l->cfg.bind_address, port);
    g_object_unref(svc);
    return NULL;
  }
  g_signal_connect(svc, "incoming", G_CALLBACK(on_incoming), l);
  g_socket_service_start(svc);
  return svc;
}

RtmpListener *rtmp_listener_new(const RtmpListenerConfig *config, GError **error)
{
  RtmpListener *l = g_new0(RtmpListener, 1);
  l->cfg = *config;
  l->peers = g_hash_table_new(NULL, NULL);
  l->accepting = TRUE;
  if (config->rtmp_port > 0 && (l->plain = listen_on(l, config->rtmp_port, error)) == NULL)
    goto fail;
  if (config->rtmps_port > 0 && (l->tls = listen_on(l, config->rtmps_port, error)) == NULL)
    goto fail;
  return l;
fail:
  if (l->plain) {
    g_socket_service_stop(l->plain);
    g_socket_listener_close(G_SOCKET_LISTENER(l->plain));
    g_object_unref(l->plain);
  }
  g_hash_table_unref(l->peers);
  g_free(l);
  return NULL;
}

void rtmp_listener_stop_accepting(RtmpListener *l)
{
  GSocketService *svcs[] = {l->plain, l->tls};
  GHashTableIter it;
  gpointer k;
  g_autoptr(GPtrArray) idle = g_ptr_array_new();
  l->accepting = FALSE;
  for (guint i = 0; i < G_N_ELEMENTS(svcs); i++) {
    if (svcs[i] == NULL)
      continue;
    g_socket_service_stop(svcs[i]);
    g_socket_listener_close(G_SOCKET_LISTENER(svcs[i]));
  }
  /* Connections that are not publishing yet have nothing to finish. */
  g_hash_table_iter_init(&it, l->peers);
  while (g_hash_table_iter_next(&it, &k, NULL))
    if (((Peer *)k)->session == NULL)
      g_ptr_array_add(idle, k);
  for (guint i = 0; i < idle->len; i++)
    peer_close(g_ptr_array_index(idle, i), NULL);
}

void rtmp_listener_stop_session(RtmpListener *l, SluiceSession *session, const char *reason)
{
  GHashTableIter it;
  gpointer k;
  g_hash_table_iter_init(&it, l->peers);
  while (g_hash_table_iter_next(&it, &k, NULL)) {
    Peer *p = k;
    if (p->session == session) {
      plog(p, SLUICE_LOG_INFO, "closing: %s", reason ? reason : "session ended");
      peer_close(p, NULL);
      return;
    }
  }
}
