/* TLS to Redis through an in-process tunnel; see redis-tls.h for the shape and the rules.
 *
 * A tunnel's life, each step asynchronous on the main context:
 *   connect    GSocketClient to host:port (no proxy: Redis is not HTTP), TCP_NODELAY and the
 *              keepalive hiredis would have set on a socket of its own
 *   handshake  GTlsClientConnection with the loaded trust and client certificate; on failure the
 *              peer-certificate errors say why in words
 *   accept     a unix socket in a fresh 0700 directory; `ready` hands its path to the client,
 *              which connects at once; the one connection accepted must come from this process
 *              (SO_PEERCRED), then the socket file and its directory are removed
 *   splice     g_io_stream_splice_async both ways until either side ends; then `down`
 *
 * Every asynchronous step holds a reference on the tunnel, the owner holds one more. Freeing
 * marks the tunnel, cancels what is pending and drops the owner's reference; callbacks that come
 * back to a freed tunnel only drop theirs. The last reference closes the streams: the TLS one
 * asynchronously (close_notify is a write), the local one at once.
 */
#include "redis-tls.h"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

/* hiredis's own keepalive on its TCP sockets (REDIS_KEEPALIVE_INTERVAL): probes after 15 s of
 * silence, every 5 s, 3 of them. */
#define KEEPALIVE_IDLE_S     15
#define KEEPALIVE_INTERVAL_S 5
#define KEEPALIVE_COUNT      3

GQuark sl_redis_tls_error_quark(void)
{
  return g_quark_from_static_string("sl-redis-tls-error");
}

struct _SlRedisTls {
  char *host;
  guint16 port;
  char *name;  /* verified, and sent as SNI: server_name or the host */
  char *trust; /* for messages */
  gboolean insecure;
  GTlsDatabase *database;       /* NULL: the backend's default (system roots) */
  GTlsCertificate *certificate; /* NULL: none presented */
};

struct _SlRedisTunnel {
  guint refs;
  SlRedisTls *tls; /* borrowed */
  GCancellable *cancel;
  GSocketClient *client;
  GIOStream *tcp;
  GIOStream *conn; /* the GTlsClientConnection over tcp */
  GSocketListener *listener;
  GIOStream *local; /* hiredis's end, accepted */
  char *dir;
  char *path;
  gboolean freed; /* the owner let go: no more callbacks */
  gboolean ended; /* `down` was called */
  SlRedisTunnelReadyFunc ready;
  SlRedisTunnelDownFunc down;
  gpointer user_data;
};

/* ---- Settings ------------------------------------------------------------------------------- */

const char *sl_redis_tls_error_key(const GError *error)
{
  if (error == NULL || error->domain != SL_REDIS_TLS_ERROR)
    return NULL;
  switch ((SlRedisTlsError)error->code) {
  case SL_REDIS_TLS_ERROR_CA_CERT_FILE:
    return "ca_cert_file";
  case SL_REDIS_TLS_ERROR_CLIENT_CERT_FILE:
    return "client_cert_file";
  case SL_REDIS_TLS_ERROR_CLIENT_KEY_FILE:
    return "client_key_file";
  case SL_REDIS_TLS_ERROR_UNSUPPORTED:
    break;
  }
  return NULL;
}

static gboolean is_set(const char *s)
{
  return s != NULL && *s != '\0';
}

/* GIO's message names the file when it could not open it, not when it could not parse it. */
static void file_error(GError **error, SlRedisTlsError code, const char *file, const GError *why)
{
  if (strstr(why->message, file) != NULL)
    g_set_error(error, SL_REDIS_TLS_ERROR, code, "%s", why->message);
  else
    g_set_error(error, SL_REDIS_TLS_ERROR, code, "%s: %s", file, why->message);
}

static GTlsDatabase *load_roots(const char *file, GError **error)
{
  g_autoptr(GError) local = NULL;
  GList *certs = g_tls_certificate_list_new_from_file(file, &local);
  GTlsDatabase *db;

  if (local != NULL) {
    file_error(error, SL_REDIS_TLS_ERROR_CA_CERT_FILE, file, local);
    return NULL;
  }
  if (certs == NULL) {
    g_set_error(error, SL_REDIS_TLS_ERROR, SL_REDIS_TLS_ERROR_CA_CERT_FILE,
                "%s holds no PEM certificate", file);
    return NULL;
  }
  g_list_free_full(certs, g_object_unref);
  db = g_tls_file_database_new(file, &local);
  if (db == NULL)
    file_error(error, SL_REDIS_TLS_ERROR_CA_CERT_FILE, file, local);
  return db;
}

/* GIO pairs any key with any certificate; the server would only answer the handshake with a
 * "decrypt error". Checked here instead, as LiveKit's tls.LoadX509KeyPair does. Files that
 * OpenSSL cannot read were already accepted by GIO: they are not judged here. */
static gboolean key_matches(const char *cert_file, const char *key_file)
{
  BIO *cb = BIO_new_file(cert_file, "r");
  BIO *kb = BIO_new_file(key_file, "r");
  X509 *x = cb != NULL ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
  EVP_PKEY *key = kb != NULL ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
  gboolean ok = x == NULL || key == NULL || X509_check_private_key(x, key) == 1;

  EVP_PKEY_free(key);
  X509_free(x);
  BIO_free(kb);
  BIO_free(cb);
  ERR_clear_error();
  return ok;
}

static GTlsCertificate *load_client(const char *cert_file, const char *key_file, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(GTlsCertificate) alone = NULL;
  GTlsCertificate *cert;

  if (!is_set(key_file)) {
    g_set_error(error, SL_REDIS_TLS_ERROR, SL_REDIS_TLS_ERROR_CLIENT_CERT_FILE,
                "client_key_file is not set: a client certificate needs its key");
    return NULL;
  }
  if (!is_set(cert_file)) {
    g_set_error(error, SL_REDIS_TLS_ERROR, SL_REDIS_TLS_ERROR_CLIENT_KEY_FILE,
                "client_cert_file is not set: a client key needs its certificate");
    return NULL;
  }
  /* The certificate alone first, so that an error is put on the file that caused it. */
  alone = g_tls_certificate_new_from_file(cert_file, &local);
  if (alone == NULL) {
    file_error(error, SL_REDIS_TLS_ERROR_CLIENT_CERT_FILE, cert_file, local);
    return NULL;
  }
  cert = g_tls_certificate_new_from_files(cert_file, key_file, &local);
  if (cert == NULL) {
    file_error(error, SL_REDIS_TLS_ERROR_CLIENT_KEY_FILE, key_file, local);
    return NULL;
  }
  if (!key_matches(cert_file, key_file)) {
    g_set_error(error, SL_REDIS_TLS_ERROR, SL_REDIS_TLS_ERROR_CLIENT_KEY_FILE,
                "the key in %s does not belong to the certificate in %s", key_file, cert_file);
    g_object_unref(cert);
    return NULL;
  }
  return cert;
}

SlRedisTls *sl_redis_tls_new(const SlRedisTlsConfig *config, const char *host, int port,
                             GError **error)
{
  g_autoptr(SlRedisTls) tls = g_new0(SlRedisTls, 1);

  g_return_val_if_fail(config != NULL && host != NULL, NULL);
  if (!g_tls_backend_supports_tls(g_tls_backend_get_default())) {
    g_set_error(error, SL_REDIS_TLS_ERROR, SL_REDIS_TLS_ERROR_UNSUPPORTED,
                "GIO has no TLS backend here (install glib-networking)");
    return NULL;
  }
  tls->host = g_strdup(host);
  tls->port = (guint16)port;
  tls->name = g_strdup(is_set(config->server_name) ? config->server_name : host);
  tls->insecure = config->insecure;
  /* Files are loaded even when `insecure` makes them moot: a wrong path is still wrong. */
  if (is_set(config->ca_cert_file)) {
    tls->database = load_roots(config->ca_cert_file, error);
    if (tls->database == NULL)
      return NULL;
    tls->trust = g_strdup_printf("ca_cert_file %s", config->ca_cert_file);
  } else {
    tls->trust = g_strdup("system roots");
  }
  if (is_set(config->client_cert_file) || is_set(config->client_key_file)) {
    tls->certificate = load_client(config->client_cert_file, config->client_key_file, error);
    if (tls->certificate == NULL)
      return NULL;
  }
  return g_steal_pointer(&tls);
}

void sl_redis_tls_free(SlRedisTls *tls)
{
  if (tls == NULL)
    return;
  g_free(tls->host);
  g_free(tls->name);
  g_free(tls->trust);
  g_clear_object(&tls->database);
  g_clear_object(&tls->certificate);
  g_free(tls);
}

const char *sl_redis_tls_describe(const SlRedisTls *tls)
{
  return tls->insecure ? "insecure" : tls->trust;
}

/* ---- Tunnel life ---------------------------------------------------------------------------- */

static SlRedisTunnel *tunnel_ref(SlRedisTunnel *t)
{
  t->refs++;
  return t;
}

static void on_closed(GObject *source, GAsyncResult *res, gpointer data)
{
  g_io_stream_close_finish(G_IO_STREAM(source), res, NULL);
  g_object_unref(source);
}

static void remove_files(SlRedisTunnel *t)
{
  if (t->path != NULL)
    g_unlink(t->path);
  if (t->dir != NULL)
    g_rmdir(t->dir);
  g_clear_pointer(&t->path, g_free);
  g_clear_pointer(&t->dir, g_free);
}

static void tunnel_unref(SlRedisTunnel *t)
{
  if (--t->refs > 0)
    return;
  remove_files(t);
  if (t->listener != NULL)
    g_socket_listener_close(t->listener);
  g_clear_object(&t->listener);
  if (t->local != NULL)
    g_io_stream_close(t->local, NULL, NULL); /* a unix socket: close(2) does not wait */
  g_clear_object(&t->local);
  /* The TLS connection says goodbye (close_notify) and closes its TCP stream, in the background;
   * a connection that never got that far is just dropped with its socket. */
  if (t->conn != NULL)
    g_io_stream_close_async(g_steal_pointer(&t->conn), G_PRIORITY_DEFAULT, NULL, on_closed, NULL);
  g_clear_object(&t->tcp);
  g_clear_object(&t->client);
  g_clear_object(&t->cancel);
  g_free(t);
}

void sl_redis_tunnel_free(SlRedisTunnel *t)
{
  if (t == NULL)
    return;
  t->freed = TRUE;
  g_cancellable_cancel(t->cancel);
  remove_files(t);
  tunnel_unref(t);
}

/* Reports the end, once, unless the owner has let go. The callback may free the tunnel. */
static void tunnel_fail(SlRedisTunnel *t, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void tunnel_fail(SlRedisTunnel *t, const char *fmt, ...)
{
  g_autofree char *why = NULL;
  va_list ap;

  if (t->freed || t->ended)
    return;
  t->ended = TRUE;
  g_cancellable_cancel(t->cancel);
  remove_files(t);
  va_start(ap, fmt);
  why = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  tunnel_ref(t);
  t->down(why, t->user_data);
  tunnel_unref(t);
}

/* ---- Steps ---------------------------------------------------------------------------------- */

/* Why the splice ended, in words. */
static void splice_ended(SlRedisTunnel *t, const GError *error)
{
  if (error == NULL)
    tunnel_fail(t, "redis TLS: the server closed the connection");
  else if (g_error_matches(error, G_TLS_ERROR, G_TLS_ERROR_CERTIFICATE_REQUIRED) ||
           (t->tls->certificate == NULL && strstr(error->message, "ertificate") != NULL))
    /* TLS 1.3 finishes the client's handshake before the server has looked at its
     * certificate: a missing one shows up as an alert on the first read. */
    tunnel_fail(t,
                "redis TLS: the server wants a client certificate (set redis.tls."
                "client_cert_file and client_key_file): %s",
                error->message);
  else
    tunnel_fail(t, "redis TLS: the connection to the server ended: %s", error->message);
}

static void on_spliced(GObject *source, GAsyncResult *res, gpointer data)
{
  SlRedisTunnel *t = data;
  g_autoptr(GError) error = NULL;

  g_io_stream_splice_finish(res, &error);
  if (!t->freed && !t->ended) /* else `t->tls` may be gone with the owner */
    splice_ended(t, error);
  tunnel_unref(t);
}

static void on_accepted(GObject *source, GAsyncResult *res, gpointer data)
{
  SlRedisTunnel *t = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) local =
      g_socket_listener_accept_finish(G_SOCKET_LISTENER(source), res, NULL, &error);
  g_autoptr(GCredentials) peer = NULL;
  pid_t pid = -1;

  if (t->freed || t->ended) {
    tunnel_unref(t);
    return;
  }
  /* One connection per tunnel: nothing else may reach it from here on. */
  remove_files(t);
  g_socket_listener_close(t->listener);
  if (local == NULL) {
    tunnel_fail(t, "redis TLS: the local socket accepted nothing: %s", error->message);
    tunnel_unref(t);
    return;
  }
  peer = g_socket_get_credentials(g_socket_connection_get_socket(local), &error);
  if (peer != NULL)
    pid = g_credentials_get_unix_pid(peer, &error);
  if (pid != getpid()) {
    tunnel_fail(t, "redis TLS: the local socket was reached by another process (%s)",
                error != NULL ? error->message : "not this one");
    tunnel_unref(t);
    return;
  }
  t->local = G_IO_STREAM(g_steal_pointer(&local));
  g_io_stream_splice_async(t->local, t->conn, G_IO_STREAM_SPLICE_NONE, G_PRIORITY_DEFAULT,
                           t->cancel, on_spliced, t); /* passes our reference on */
}

/* A fresh 0700 directory holding one listening socket. */
static gboolean listen_local(SlRedisTunnel *t, GError **error)
{
  g_autoptr(GSocketAddress) addr = NULL;

  t->dir = g_dir_make_tmp("sluice-redis-tls-XXXXXX", error);
  if (t->dir == NULL)
    return FALSE;
  t->path = g_build_filename(t->dir, "redis.sock", NULL);
  if (strlen(t->path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG,
                "%s is too long for a unix socket (set TMPDIR to a shorter directory)", t->path);
    return FALSE;
  }
  addr = g_unix_socket_address_new(t->path);
  t->listener = g_socket_listener_new();
  g_socket_listener_set_backlog(t->listener, 1);
  return g_socket_listener_add_address(t->listener, addr, G_SOCKET_TYPE_STREAM,
                                       G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, error);
}

static void certificate_problems(GString *out, GTlsCertificateFlags flags, const SlRedisTls *tls)
{
  static const struct {
    GTlsCertificateFlags flag;
    const char *what;
  } words[] = {
      {G_TLS_CERTIFICATE_UNKNOWN_CA, "is not trusted"},
      {G_TLS_CERTIFICATE_BAD_IDENTITY, "was issued for another name"},
      {G_TLS_CERTIFICATE_NOT_ACTIVATED, "is not valid yet"},
      {G_TLS_CERTIFICATE_EXPIRED, "has expired"},
      {G_TLS_CERTIFICATE_REVOKED, "has been revoked"},
      {G_TLS_CERTIFICATE_INSECURE, "uses an insecure algorithm"},
      {G_TLS_CERTIFICATE_GENERIC_ERROR, "is not valid"},
  };
  gboolean first = TRUE;

  g_string_append_printf(out, "certificate for %s ", tls->name);
  for (guint i = 0; i < G_N_ELEMENTS(words); i++) {
    if (!(flags & words[i].flag))
      continue;
    g_string_append_printf(out, "%s%s", first ? "" : ", ", words[i].what);
    first = FALSE;
  }
  g_string_append_printf(out, " (%s)", tls->trust);
  if (flags & G_TLS_CERTIFICATE_BAD_IDENTITY)
    g_string_append(out, "; redis.tls.server_name sets the name checked");
}

/* The name of a protocol below LiveKit's floor (TLS 1.2), else NULL. */
static const char *too_old(GTlsProtocolVersion version)
{
  switch (version) {
  case G_TLS_PROTOCOL_VERSION_SSL_3_0:
    return "SSL 3.0";
  case G_TLS_PROTOCOL_VERSION_TLS_1_0:
    return "TLS 1.0";
  case G_TLS_PROTOCOL_VERSION_TLS_1_1:
    return "TLS 1.1";
  default:
    return NULL;
  }
}

static void on_handshake(GObject *source, GAsyncResult *res, gpointer data)
{
  SlRedisTunnel *t = data;
  g_autoptr(GError) error = NULL;
  GTlsConnection *conn = G_TLS_CONNECTION(source);
  GTlsProtocolVersion version;

  g_tls_connection_handshake_finish(conn, res, &error);
  if (t->freed || t->ended) {
    tunnel_unref(t);
    return;
  }
  if (error != NULL) {
    GTlsCertificateFlags flags = g_tls_connection_get_peer_certificate_errors(conn);
    g_autoptr(GString) why = g_string_new("redis TLS: ");
    if (g_error_matches(error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE) && flags != 0)
      certificate_problems(why, flags, t->tls);
    else
      g_string_append_printf(why, "handshake with %s:%u failed: %s", t->tls->host, t->tls->port,
                             error->message);
    tunnel_fail(t, "%s", why->str);
    tunnel_unref(t);
    return;
  }
  /* LiveKit's floor is TLS 1.2 (MinVersion); GIO has no setting for it, so it is checked
   * before a byte of Redis's protocol is sent. */
  version = g_tls_connection_get_protocol_version(conn);
  if (too_old(version) != NULL) {
    tunnel_fail(t, "redis TLS: %s:%u speaks %s; TLS 1.2 or later is required", t->tls->host,
                t->tls->port, too_old(version));
    tunnel_unref(t);
    return;
  }
  if (!listen_local(t, &error)) {
    tunnel_fail(t, "redis TLS: cannot make the local socket: %s", error->message);
    tunnel_unref(t);
    return;
  }
  /* Our reference goes to the accept; the client connects during `ready`. */
  g_socket_listener_accept_async(t->listener, t->cancel, on_accepted, t);
  tunnel_ref(t);
  t->ready(t->path, t->user_data);
  tunnel_unref(t);
}

static gboolean accept_any(GTlsConnection *conn, GTlsCertificate *cert, GTlsCertificateFlags errors,
                           gpointer data)
{
  return TRUE; /* insecure: LiveKit's InsecureSkipVerify */
}

/* The socket options hiredis sets on a TCP connection of its own. */
static void tune_socket(GSocket *sock)
{
  g_socket_set_option(sock, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  g_socket_set_keepalive(sock, TRUE);
  g_socket_set_option(sock, IPPROTO_TCP, TCP_KEEPIDLE, KEEPALIVE_IDLE_S, NULL);
  g_socket_set_option(sock, IPPROTO_TCP, TCP_KEEPINTVL, KEEPALIVE_INTERVAL_S, NULL);
  g_socket_set_option(sock, IPPROTO_TCP, TCP_KEEPCNT, KEEPALIVE_COUNT, NULL);
}

static void on_connected(GObject *source, GAsyncResult *res, gpointer data)
{
  SlRedisTunnel *t = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) tcp =
      g_socket_client_connect_finish(G_SOCKET_CLIENT(source), res, &error);
  g_autoptr(GSocketConnectable) identity = NULL;
  GIOStream *conn;

  if (t->freed || t->ended) {
    tunnel_unref(t);
    return;
  }
  if (tcp == NULL) {
    tunnel_fail(t, "%s", error->message);
    tunnel_unref(t);
    return;
  }
  tune_socket(g_socket_connection_get_socket(tcp));
  t->tcp = G_IO_STREAM(g_steal_pointer(&tcp));
  identity = g_network_address_new(t->tls->name, t->tls->port);
  conn = g_tls_client_connection_new(t->tcp, identity, &error);
  if (conn == NULL) {
    tunnel_fail(t, "redis TLS: %s", error->message);
    tunnel_unref(t);
    return;
  }
  t->conn = conn;
  if (t->tls->database != NULL)
    g_tls_connection_set_database(G_TLS_CONNECTION(conn), t->tls->database);
  if (t->tls->certificate != NULL)
    g_tls_connection_set_certificate(G_TLS_CONNECTION(conn), t->tls->certificate);
  if (t->tls->insecure)
    g_signal_connect(conn, "accept-certificate", G_CALLBACK(accept_any), NULL);
  g_tls_connection_handshake_async(G_TLS_CONNECTION(conn), G_PRIORITY_DEFAULT, t->cancel,
                                   on_handshake, t); /* passes our reference on */
}

SlRedisTunnel *sl_redis_tunnel_open(SlRedisTls *tls, SlRedisTunnelReadyFunc ready,
                                    SlRedisTunnelDownFunc down, gpointer user_data)
{
  SlRedisTunnel *t = g_new0(SlRedisTunnel, 1);
  g_autoptr(GSocketConnectable) addr = g_network_address_new(tls->host, tls->port);

  t->refs = 1;
  t->tls = tls;
  t->ready = ready;
  t->down = down;
  t->user_data = user_data;
  t->cancel = g_cancellable_new();
  t->client = g_socket_client_new();
  g_socket_client_set_enable_proxy(t->client, FALSE);
  g_socket_client_connect_async(t->client, addr, t->cancel, on_connected, tunnel_ref(t));
  return t;
}
