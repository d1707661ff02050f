/* input-rtmp: an RTMP and RTMPS server for publishers (OBS, ffmpeg, GStreamer's rtmp2sink).
 *
 * The protocol is implemented by hand in rtmp/ because no library on the platform serves RTMP
 * (librtmp and GStreamer's rtmp2 are clients); the engine there does no I/O so it can be tested
 * byte by byte and fuzzed. listener.c owns the sockets (service process); source.c builds the
 * handler's GStreamer source from the FLV stream the listener forwards.
 */
#include "listener.h"
#include "source.h"

#include <sluice/plugin.h>

static const SluiceHost *host;
static RtmpListener *listener;
static GTlsCertificate *certificate;

static const SluiceConfigKey rtmp_keys[] = {
    {"rtmp_port", SLUICE_CONFIG_PORT, "1935", 0, 0, "RTMP listener (-1 = off)",
     SLUICE_CONFIG_FLAG_TOP_LEVEL},
    {"rtmps_port", SLUICE_CONFIG_PORT, "0", 0, 0, "RTMPS (TLS) listener (0 = off)",
     SLUICE_CONFIG_FLAG_TOP_LEVEL},
    {"rtmps_cert_file", SLUICE_CONFIG_STRING, NULL, 0, 0, "PEM certificate (chain) for RTMPS",
     SLUICE_CONFIG_FLAG_TOP_LEVEL},
    {"rtmps_key_file", SLUICE_CONFIG_STRING, NULL, 0, 0, "PEM private key for RTMPS",
     SLUICE_CONFIG_FLAG_TOP_LEVEL},
    {"bind_address", SLUICE_CONFIG_STRING, "0.0.0.0", 0, 0, "address the listeners bind",
     SLUICE_CONFIG_FLAG_TOP_LEVEL},
    {"handshake_timeout", SLUICE_CONFIG_DURATION, "10s", 0.1, 300,
     "time from connecting to publishing", 0},
    {"idle_timeout", SLUICE_CONFIG_DURATION, "30s", 1, 3600,
     "a publisher silent this long is disconnected", 0},
    {"max_pending_connections", SLUICE_CONFIG_INT, "64", 1, 100000,
     "connections allowed at once before they publish", 0},
    {"max_buffered_bytes", SLUICE_CONFIG_INT, "8388608", 65536, 1073741824,
     "media a connection may hold while its session catches up", 0},
    SLUICE_CONFIG_KEY_END,
};

static gboolean rtmp_init(const SluiceHost *h, GError **error)
{
  host = h;
  return TRUE;
}

static gboolean rtmp_start(GError **error)
{
  RtmpListenerConfig cfg = {
      .host = host,
      .bind_address = host->config_string(host, "bind_address"),
      .rtmp_port = (gint)host->config_int(host, "rtmp_port"),
      .rtmps_port = (gint)host->config_int(host, "rtmps_port"),
      .handshake_timeout_ms = (guint)(host->config_double(host, "handshake_timeout") * 1000),
      .idle_timeout_ms = (guint)(host->config_double(host, "idle_timeout") * 1000),
      .max_pending = (guint)host->config_int(host, "max_pending_connections"),
      .max_buffered = (gsize)host->config_int(host, "max_buffered_bytes"),
  };
  if (cfg.rtmps_port > 0) {
    const char *cert = host->config_string(host, "rtmps_cert_file");
    const char *key = host->config_string(host, "rtmps_key_file");
    if (cert == NULL || key == NULL) {
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                  "rtmps_port is set but rtmps_cert_file and rtmps_key_file are not");
      return FALSE;
    }
    if (!g_tls_backend_supports_tls(g_tls_backend_get_default())) {
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                  "RTMPS needs GLib's TLS backend (Debian package glib-networking)");
      return FALSE;
    }
    certificate = g_tls_certificate_new_from_files(cert, key, error);
    if (certificate == NULL) {
      g_prefix_error(error, "RTMPS certificate: ");
      return FALSE;
    }
    cfg.tls_certificate = certificate;
  }
  listener = rtmp_listener_new(&cfg, error);
  if (listener == NULL)
    return FALSE;
  if (cfg.rtmp_port > 0)
    sluice_log(host, SLUICE_LOG_INFO, "RTMP listening on %s:%d", cfg.bind_address, cfg.rtmp_port);
  if (cfg.rtmps_port > 0)
    sluice_log(host, SLUICE_LOG_INFO, "RTMPS listening on %s:%d", cfg.bind_address, cfg.rtmps_port);
  return TRUE;
}

static void rtmp_stop_accepting(void)
{
  if (listener != NULL)
    rtmp_listener_stop_accepting(listener);
}

static void rtmp_stop_session(SluiceSession *session, const char *reason)
{
  if (listener != NULL)
    rtmp_listener_stop_session(listener, session, reason);
}

static GstElement *rtmp_make_source(const GstStructure *session, int media_fd, GError **error)
{
  return rtmp_source_make(session, media_fd, error);
}

static const SluiceInputVTable rtmp_input = {
    .size = sizeof(SluiceInputVTable),
    .input_type = "rtmp",
    .start = rtmp_start,
    .stop_accepting = rtmp_stop_accepting,
    .stop_session = rtmp_stop_session,
    .make_source = rtmp_make_source,
};

static const SluicePluginDesc rtmp_desc =
    SLUICE_PLUGIN_DESC_INIT(.kind = SLUICE_PLUGIN_KIND_INPUT, .name = "input-rtmp",
                            .version = "0.1.0",
                            .description = "RTMP and RTMPS server for publishers",
                            .config_keys = rtmp_keys, .init = rtmp_init, .vtable = &rtmp_input);

SLUICE_PLUGIN_DEFINE(rtmp_desc)
