/* sluice plugin ABI — the host-services table.
 *
 * The core hands each plugin one SluiceHost at init(). It is the only way a plugin reaches the
 * core: plugins are opened with G_MODULE_BIND_LOCAL and never link against core symbols.
 *
 * Lifetime: the table and everything reachable from it stay valid until the process exits.
 * Growth: fields are only appended. A plugin that needs a field added after the minor it was
 * built against checks for it with SLUICE_HOST_HAS(host, field) before calling it.
 *
 * Threading is stated per member. "any thread" means the core serialises internally.
 */
#ifndef SLUICE_HOST_H
#define SLUICE_HOST_H

#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

typedef enum {
  SLUICE_LOG_ERROR = 0,
  SLUICE_LOG_WARNING = 1,
  SLUICE_LOG_INFO = 2,
  SLUICE_LOG_DEBUG = 3,
} SluiceLogLevel;

typedef enum {
  SLUICE_METRIC_COUNTER = 1, /* only goes up; name it with a _total suffix */
  SLUICE_METRIC_GAUGE = 2,
} SluiceMetricType;

/* Opaque handle to a registered metric family. Owned by the host, valid until exit. */
typedef struct _SluiceMetric SluiceMetric;

typedef struct _SluiceHost SluiceHost;

/* A live session as the service side of an input plugin sees it. Opaque, owned by the host; valid
 * from session_start() until the plugin calls session_end(). */
typedef struct _SluiceSession SluiceSession;

/* What an input plugin asks for when a publisher wants to start (ABI 1.2). */
typedef struct {
  guint32 size;             /* sizeof(SluiceSessionRequest) the plugin was built with */
  const char *input_type;   /* "rtmp", "whip", "srt", ... */
  const char *stream_key;   /* as the publisher sent it (the host redacts it in logs) */
  const char *remote_addr;  /* "ip:port" of the publisher, for logs */
  const char *media_format; /* what the plugin writes into the media fd: "flv" */
  gboolean tls;             /* the publisher connected over TLS */
} SluiceSessionRequest;

/* Errors session_start() sets, in the domain SLUICE_SESSION_ERROR. The message is meant for the
 * publisher: input plugins pass it on in their protocol's refusal (an RTMP onStatus error, ...). */
#define SLUICE_SESSION_ERROR (g_quark_from_static_string("sluice-session-error"))
typedef enum {
  SLUICE_SESSION_ERROR_UNKNOWN_KEY = 1, /* no ingress has this stream key */
  SLUICE_SESSION_ERROR_ALREADY_LIVE,    /* the ingress already has a live publisher */
  SLUICE_SESSION_ERROR_DISABLED,        /* the ingress is disabled */
  SLUICE_SESSION_ERROR_WRONG_TYPE,      /* the ingress is for another input type */
  SLUICE_SESSION_ERROR_NO_CAPACITY,     /* admission refused: the node is full or draining */
  SLUICE_SESSION_ERROR_INTERNAL,        /* the handler could not be started */
} SluiceSessionError;

struct _SluiceHost {
  /* --- ABI 1.0 --- */
  guint32 size;        /* sizeof(SluiceHost) in the host; see SLUICE_HOST_HAS */
  guint32 abi_major;   /* the host's SLUICE_ABI_MAJOR */
  guint32 abi_minor;   /* the host's SLUICE_ABI_MINOR */
  const char *plugin;  /* this plugin's name (transfer none) */
  const char *node_id; /* this worker's node id (transfer none) */
  const char *process; /* "service" or "handler": which side of sluice loaded the plugin */

  /* Log one line at `level`. `message` (transfer none) is copied; registered secrets in it are
   * redacted before it is written. Any thread. */
  void (*log)(const SluiceHost *host, SluiceLogLevel level, const char *message);

  /* Validated config values for keys this plugin declared (config-schema.h), or their defaults.
   * Asking for a key the plugin did not declare, or with the wrong type, logs an error and
   * returns FALSE / 0 / NULL. Strings and lists are owned by the host (transfer none) and stay
   * valid until exit; a list is NULL-terminated. Any thread. */
  gboolean (*config_bool)(const SluiceHost *host, const char *key);
  gint64 (*config_int)(const SluiceHost *host, const char *key);
  double (*config_double)(const SluiceHost *host, const char *key);
  const char *(*config_string)(const SluiceHost *host, const char *key);
  const char *const *(*config_strv)(const SluiceHost *host, const char *key);
  /* TRUE when the key was written in the YAML (as opposed to taking its default). */
  gboolean (*config_is_set)(const SluiceHost *host, const char *key);

  /* Register a Prometheus metric family. `name` must be a valid metric name and should start
   * with "sluice_"; `label_names` is NULL-terminated (may be NULL). Registering the same name
   * with the same type and labels again returns the same handle. Returns NULL (and logs why) on
   * an invalid or conflicting registration. Strings are copied. Main thread. */
  SluiceMetric *(*metric_register)(const SluiceHost *host, SluiceMetricType type, const char *name,
                                   const char *help, const char *const *label_names);
  /* Set a gauge, or add a non-negative delta to a counter / any delta to a gauge, for one label
   * set (`label_values` NULL-terminated, same count as the names; NULL when there are none).
   * Any thread. */
  void (*metric_set)(SluiceMetric *metric, const char *const *label_values, double value);
  void (*metric_add)(SluiceMetric *metric, const char *const *label_values, double delta);

  /* Publish an event on the node's event stream (webhooks, the bus, logs). `event` is a
   * dotted name such as "hello.greeted"; `json_body` (transfer none) is a JSON object text or
   * NULL. Any thread. */
  void (*emit_event)(const SluiceHost *host, const char *event, const char *json_body);

  /* --- ABI 1.1 --- */
  /* The one redaction helper: returns "{abc...xyz}" for a secret of 10 or more characters and
   * "{...}" for a shorter one, so a person can tell keys apart without learning them.
   * Transfer full (g_free). Any thread. */
  char *(*redact)(const char *secret);
  /* Ask the logger to redact every later occurrence of `secret` (copied) in every log line of
   * this process. For secrets that do not come from declared SECRET keys, e.g. stream keys
   * received on the wire. Any thread. */
  void (*register_secret)(const SluiceHost *host, const char *secret);

  /* --- ABI 1.2 --- */
  /* Service process, main thread. A publisher wants to start: the host checks the stream key
   * against the ingresses, refuses a second publisher on a live ingress, checks admission, and
   * starts the session's handler process. On success it returns the session and sets
   * `*media_fd` (transfer full) to the write end of the channel into the handler: the plugin
   * writes the publisher's media there in `media_format` and closes it when the publisher
   * leaves. The fd is non-blocking; when it is full, stop reading from the publisher rather than
   * buffering without bound. On refusal returns NULL with `error` set (SLUICE_SESSION_ERROR). */
  SluiceSession *(*session_start)(const SluiceHost *host, const SluiceSessionRequest *request,
                                  int *media_fd, GError **error);
  /* Service process, main thread. The publisher is gone: `error` NULL for a normal end (the
   * handler finalises the outputs from what it received), or a reason the session failed. The
   * plugin must close the media fd too. After this call `session` is invalid. */
  void (*session_end)(const SluiceHost *host, SluiceSession *session, const char *error);
  /* Service process, main thread. Count `bytes` received from the publisher (metrics). */
  void (*session_add_bytes)(const SluiceHost *host, SluiceSession *session, guint64 bytes);
};

/* TRUE when `host` has the member `field` (it was built with a minor that has it). */
#define SLUICE_HOST_HAS(host, field)                                                               \
  ((host) != NULL &&                                                                               \
   offsetof(SluiceHost, field) + sizeof(((SluiceHost *)0)->field) <= (host)->size &&               \
   (host)->field != NULL)

/* printf-style convenience over host->log. Formats in the plugin, then calls the host. */
static inline void sluice_log(const SluiceHost *host, SluiceLogLevel level, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static inline void sluice_log(const SluiceHost *host, SluiceLogLevel level, const char *fmt, ...)
{
  va_list ap;
  char *msg;
  va_start(ap, fmt);
  msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  host->log(host, level, msg);
  g_free(msg);
}

G_END_DECLS

#endif /* SLUICE_HOST_H */
