/* upload-gcp: simple and resumable uploads. See gcs-upload.h. */
#include "gcs-upload.h"

#include "gcs-error.h"
#include "gcs-http.h"
#include "gcs-log.h"
#include "gcs-range.h"
#include "gcs-response.h"
#include "gcs-retry.h"
#include "gcs-token.h"
#include "gcs-url.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Times a resumable upload starts over with a new session after the server forgot one. */
#define GCS_MAX_SESSION_RESTARTS 2

/* The one chunk buffer of a resumable upload. It is lent to libsoup as the body of each PUT
 * (a GBytes whose free function gives it back) and only refilled once returned; should libsoup
 * still hold it, that chunk gets a buffer of its own. Reference-counted so that it outlives the
 * upload if a message does. */
typedef struct {
  guint8 *data;
  gint lent; /* atomic: a GBytes over `data` is alive */
} ChunkBuffer;

static void chunk_buffer_clear(gpointer p)
{
  g_free(((ChunkBuffer *)p)->data);
}

static void chunk_buffer_returned(gpointer p)
{
  ChunkBuffer *cb = p;
  g_atomic_int_set(&cb->lent, 0);
  g_rc_box_release_full(cb, chunk_buffer_clear);
}

typedef struct {
  const GcsTarget *target;
  SoupSession *session;
  const char *local_path;
  const char *name;
  const char *content_type;
  char *what; /* "upload of gs://bucket/name", for messages */
  int fd;
  gint64 size;
  ChunkBuffer *buffer; /* resumable uploads only */
  /* counts for the closing log line */
  guint chunks, short_acceptances, retries;
} Upload;

/* The error for a finished exchange that did not store the object. */
static void set_http_error(GError **error, const Upload *u, SoupMessage *msg, GBytes *body)
{
  guint status = soup_message_get_status(msg);
  g_autofree char *desc = gcs_http_describe(msg, body);
  g_set_error(error, GCS_ERROR, (status == 401 || status == 403) ? GCS_ERROR_AUTH : GCS_ERROR_HTTP,
              "%s failed: %s", u->what, desc);
}

/* The object resource of a finished upload must say it holds every byte of the file. */
static gboolean check_object(const Upload *u, GBytes *body, GError **error)
{
  gint64 stored = -1;
  if (!gcs_response_object_size(body, &stored, error)) {
    g_prefix_error(error, "%s: ", u->what);
    return FALSE;
  }
  if (stored != u->size) {
    g_set_error(error, GCS_ERROR, GCS_ERROR_PROTOCOL,
                "%s: the server stored %" G_GINT64_FORMAT " bytes of %" G_GINT64_FORMAT, u->what,
                stored, u->size);
    return FALSE;
  }
  return TRUE;
}

/* ---- simple upload ------------------------------------------------------------------------ */

static SoupMessage *build_simple(gpointer data, GError **error)
{
  Upload *u = data;
  g_autofree char *url = gcs_url_media_upload(u->target->base_url, u->target->bucket, u->name);
  g_autoptr(GFile) file = g_file_new_for_path(u->local_path);
  g_autoptr(GFileInputStream) in = NULL;
  g_autoptr(GError) err = NULL;
  SoupMessage *msg = soup_message_new("POST", url);
  if (msg == NULL) {
    g_set_error(error, GCS_ERROR, GCS_ERROR_CONFIG, "%s: cannot make a URL of the endpoint",
                u->what);
    return NULL;
  }
  /* A fresh stream per attempt: libsoup reads it to the end while sending. */
  in = g_file_read(file, NULL, &err);
  if (in == NULL) {
    g_set_error(error, GCS_ERROR, GCS_ERROR_IO, "%s: %s", u->what, err->message);
    g_object_unref(msg);
    return NULL;
  }
  soup_message_set_request_body(msg, u->content_type, G_INPUT_STREAM(in), (gssize)u->size);
  if (u->size > 0)
    soup_message_headers_set_expectations(soup_message_get_request_headers(msg),
                                          SOUP_EXPECTATION_CONTINUE);
  return msg;
}

static gboolean upload_simple(Upload *u, GError **error)
{
  g_autoptr(GBytes) body = NULL;
  g_autoptr(SoupMessage) msg =
      gcs_http_send(u->session, u->target->account, u->what, build_simple, u, &body, error);
  if (msg == NULL)
    return FALSE;
  if (!SOUP_STATUS_IS_SUCCESSFUL(soup_message_get_status(msg))) {
    set_http_error(error, u, msg, body);
    return FALSE;
  }
  return check_object(u, body, error);
}

/* ---- resumable upload --------------------------------------------------------------------- */

static SoupMessage *build_session_start(gpointer data, GError **error)
{
  Upload *u = data;
  g_autofree char *url = gcs_url_resumable_start(u->target->base_url, u->target->bucket, u->name);
  g_autofree char *length = g_strdup_printf("%" G_GINT64_FORMAT, u->size);
  g_autoptr(JsonBuilder) b = json_builder_new();
  g_autoptr(JsonGenerator) gen = json_generator_new();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *json = NULL;
  g_autoptr(GBytes) body = NULL;
  SoupMessageHeaders *h;
  SoupMessage *msg = soup_message_new("POST", url);
  if (msg == NULL) {
    g_set_error(error, GCS_ERROR, GCS_ERROR_CONFIG, "%s: cannot make a URL of the endpoint",
                u->what);
    return NULL;
  }
  /* The object's metadata; the name travels in the query. */
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "contentType");
  json_builder_add_string_value(b, u->content_type);
  json_builder_end_object(b);
  root = json_builder_get_root(b);
  json_generator_set_root(gen, root);
  json = json_generator_to_data(gen, NULL);
  body = g_bytes_new(json, strlen(json));
  soup_message_set_request_body_from_bytes(msg, "application/json; charset=UTF-8", body);
  h = soup_message_get_request_headers(msg);
  soup_message_headers_replace(h, "X-Upload-Content-Type", u->content_type);
  soup_message_headers_replace(h, "X-Upload-Content-Length", length);
  return msg;
}

/* Starts a session; returns its URI (transfer full). */
static char *start_session(Upload *u, GError **error)
{
  g_autoptr(GBytes) body = NULL;
  g_autoptr(SoupMessage) msg =
      gcs_http_send(u->session, u->target->account, u->what, build_session_start, u, &body, error);
  const char *location;
  g_autoptr(GUri) resolved = NULL;
  if (msg == NULL)
    return NULL;
  if (!SOUP_STATUS_IS_SUCCESSFUL(soup_message_get_status(msg))) {
    set_http_error(error, u, msg, body);
    g_prefix_error(error, "starting a resumable session: ");
    return NULL;
  }
  location = soup_message_headers_get_one(soup_message_get_response_headers(msg), "Location");
  if (location == NULL || *location == '\0') {
    g_set_error(error, GCS_ERROR, GCS_ERROR_PROTOCOL,
                "%s: the resumable session start was answered without a Location", u->what);
    return NULL;
  }
  /* Google answers with an absolute URI; resolve a relative one against the request. */
  resolved = g_uri_parse_relative(soup_message_get_uri(msg), location, G_URI_FLAGS_ENCODED, NULL);
  if (resolved == NULL) {
    g_set_error(error, GCS_ERROR, GCS_ERROR_PROTOCOL,
                "%s: the resumable session's Location is not a URI", u->what);
    return NULL;
  }
  return g_uri_to_string(resolved);
}

/* Reads `len` bytes at `offset` of the file into the chunk buffer. Transfer full. */
static GBytes *read_chunk(Upload *u, gint64 offset, gint64 len, GError **error)
{
  gboolean own = g_atomic_int_get(&u->buffer->lent) != 0;
  guint8 *buf = own ? g_malloc((gsize)len) : u->buffer->data;
  gint64 done = 0;
  g_assert(len <= GCS_CHUNK_SIZE);
  while (done < len) {
    ssize_t n = pread(u->fd, buf + done, (size_t)(len - done), (off_t)(offset + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int e = n < 0 ? errno : 0;
      g_set_error(error, GCS_ERROR, GCS_ERROR_IO, "%s: reading %s at %" G_GINT64_FORMAT ": %s",
                  u->what, u->local_path, offset + done,
                  e ? g_strerror(e) : "the file is shorter than when the upload began");
      if (own)
        g_free(buf);
      return NULL;
    }
    done += n;
  }
  if (own)
    return g_bytes_new_take(buf, (gsize)len);
  g_atomic_int_set(&u->buffer->lent, 1);
  return g_bytes_new_with_free_func(buf, (gsize)len, chunk_buffer_returned,
                                    g_rc_box_acquire(u->buffer));
}

/* One PUT to the session: a chunk, or the status query when `chunk->len` is 0. */
static SoupMessage *build_put(const char *session_uri, const GcsChunk *chunk, gint64 total,
                              GBytes *data)
{
  g_autofree char *range = gcs_content_range(chunk, total);
  SoupMessage *msg = soup_message_new("PUT", session_uri);
  SoupMessageHeaders *h;
  if (msg == NULL)
    return NULL;
  h = soup_message_get_request_headers(msg);
  /* Google answers a non-final chunk with 308 Resume Incomplete, which is no redirect here. */
  soup_message_add_flags(msg, SOUP_MESSAGE_NO_REDIRECT);
  soup_message_headers_replace(h, "Content-Range", range);
  if (data != NULL && g_bytes_get_size(data) > 0) {
    soup_message_set_request_body_from_bytes(msg, NULL, data);
    /* An auth or session error then costs a round trip, not a whole chunk. */
    soup_message_headers_set_expectations(h, SOUP_EXPECTATION_CONTINUE);
  } else {
    g_autoptr(GBytes) empty = g_bytes_new_static("", 0);
    soup_message_set_request_body_from_bytes(msg, NULL, empty);
  }
  return msg;
}

typedef enum { SESSION_DONE, SESSION_FAILED, SESSION_LOST } SessionResult;

/* Sends the file through one session. SESSION_LOST: the server forgot the session (404/410). */
static SessionResult run_session(Upload *u, const char *session_uri, GError **error)
{
  gint64 persisted = 0;
  guint failures = 0;
  gboolean reauthorized = FALSE;
  gboolean query = FALSE; /* the next request asks where to go on instead of sending */

  for (;;) {
    GcsChunk chunk = query ? (GcsChunk){.start = persisted, .len = 0, .last = FALSE}
                           : gcs_chunk_next(persisted, u->size, GCS_CHUNK_SIZE);
    g_autoptr(GBytes) data = NULL;
    g_autoptr(SoupMessage) msg = NULL;
    g_autoptr(GBytes) answer = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *token = NULL;
    g_autofree char *desc = NULL;
    gint64 reported = 0;
    guint status;

    if (chunk.len > 0) {
      data = read_chunk(u, chunk.start, chunk.len, error);
      if (data == NULL)
        return SESSION_FAILED;
    }
    msg = build_put(session_uri, &chunk, u->size, data);
    if (msg == NULL) {
      g_set_error(error, GCS_ERROR, GCS_ERROR_PROTOCOL, "%s: the session URI is not a URL",
                  u->what);
      return SESSION_FAILED;
    }
    /* Fetched per request: a long upload moves to a fresh token before the old one expires. */
    if (!gcs_http_authorize(u->session, u->target->account, msg, &token, error))
      return SESSION_FAILED;
    if (chunk.len > 0)
      u->chunks++;
    answer = gcs_http_exchange(u->session, msg, &err);
    g_clear_pointer(&data, g_bytes_unref);

    if (answer == NULL) {
      /* Some of the chunk may have been stored: ask before sending more. */
      if (!gcs_transport_retriable(err) || ++failures >= GCS_RETRY_MAX_ATTEMPTS) {
        g_set_error(error, GCS_ERROR, GCS_ERROR_TRANSPORT,
                    "%s failed at byte %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT ": %s", u->what,
                    persisted, u->size, err->message);
        return SESSION_FAILED;
      }
      u->retries++;
      gcs_http_backoff(u->what, failures, err->message);
      query = TRUE;
      continue;
    }

    status = soup_message_get_status(msg);
    if (status == 308) {
      const char *range =
          soup_message_headers_get_one(soup_message_get_response_headers(msg), "Range");
      if (!gcs_range_parse(range, &reported) || reported > u->size) {
        g_set_error(error, GCS_ERROR, GCS_ERROR_PROTOCOL,
                    "%s: the server's 308 carries an unusable Range header (%s)", u->what,
                    range ? range : "none");
        return SESSION_FAILED;
      }
      if (chunk.len == 0) {
        gboolean asked = query;
        /* A status query's answer: go on from there. */
        persisted = reported;
        query = FALSE;
        if (!asked) {
          /* Every byte was stored, yet the server did not finish the object: ask again, a
           * bounded number of times. */
          if (++failures >= GCS_RETRY_MAX_ATTEMPTS) {
            g_set_error(error, GCS_ERROR, GCS_ERROR_PROTOCOL,
                        "%s: the server holds all %" G_GINT64_FORMAT
                        " bytes but does not finish the object",
                        u->what, u->size);
            return SESSION_FAILED;
          }
          u->retries++;
          gcs_http_backoff(u->what, failures, "the server has every byte but no object yet");
        }
        continue;
      }
      switch (gcs_resume_classify(&chunk, persisted, reported, u->size)) {
      case GCS_RESUME_INVALID:
        g_set_error(error, GCS_ERROR, GCS_ERROR_PROTOCOL,
                    "%s: the server reports %" G_GINT64_FORMAT
                    " bytes stored after bytes %" G_GINT64_FORMAT "-%" G_GINT64_FORMAT " were sent",
                    u->what, reported, chunk.start, chunk.start + chunk.len - 1);
        return SESSION_FAILED;
      case GCS_RESUME_NO_PROGRESS:
        if (++failures >= GCS_RETRY_MAX_ATTEMPTS) {
          g_set_error(
              error, GCS_ERROR, GCS_ERROR_PROTOCOL,
              "%s: the server stored nothing of %u chunks in a row at byte %" G_GINT64_FORMAT,
              u->what, failures, persisted);
          return SESSION_FAILED;
        }
        u->retries++;
        gcs_http_backoff(u->what, failures, "the server stored none of the chunk");
        break;
      case GCS_RESUME_PROGRESS:
        failures = 0;
        reauthorized = FALSE;
        if (reported < chunk.start + chunk.len) {
          /* Allowed by the protocol: the rest of the chunk is sent again from `reported`. */
          u->short_acceptances++;
          gcs_log_debug("gcp: %s: the server kept %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
                        " bytes sent; going on from byte %" G_GINT64_FORMAT,
                        u->what, reported - chunk.start, chunk.len, reported);
        }
        break;
      }
      persisted = MAX(reported, 0);
      continue;
    }
    if (status == 200 || status == 201) {
      if (chunk.len > 0 && !chunk.last) {
        g_set_error(error, GCS_ERROR, GCS_ERROR_PROTOCOL,
                    "%s: the server finished the object at byte %" G_GINT64_FORMAT
                    " of %" G_GINT64_FORMAT,
                    u->what, chunk.start + chunk.len, u->size);
        return SESSION_FAILED;
      }
      return check_object(u, answer, error) ? SESSION_DONE : SESSION_FAILED;
    }
    if (status == 401 && token != NULL && !reauthorized) {
      gcs_log_info("gcp: %s: the access token was refused; fetching a new one", u->what);
      gcs_token_invalidate(u->target->account, token);
      reauthorized = TRUE;
      query = TRUE;
      continue;
    }
    if (status == 404 || status == 410) {
      desc = gcs_http_describe(msg, answer);
      gcs_log_warning("gcp: %s: the resumable session is gone (%s)", u->what, desc);
      g_set_error(error, GCS_ERROR, GCS_ERROR_HTTP, "%s failed: the resumable session is gone: %s",
                  u->what, desc);
      return SESSION_LOST;
    }
    if (gcs_status_retriable(status) && ++failures < GCS_RETRY_MAX_ATTEMPTS) {
      desc = gcs_http_describe(msg, answer);
      u->retries++;
      gcs_http_backoff(u->what, failures, desc);
      query = TRUE;
      continue;
    }
    set_http_error(error, u, msg, answer);
    return SESSION_FAILED;
  }
}

static gboolean upload_resumable(Upload *u, GError **error)
{
  u->buffer = g_rc_box_new0(ChunkBuffer);
  u->buffer->data = g_malloc(GCS_CHUNK_SIZE);
  for (guint restarts = 0;; restarts++) {
    g_autofree char *session_uri = start_session(u, error);
    g_autoptr(GError) err = NULL;
    SessionResult r;
    if (session_uri == NULL)
      return FALSE;
    r = run_session(u, session_uri, &err);
    if (r == SESSION_DONE)
      return TRUE;
    if (r == SESSION_FAILED || restarts >= GCS_MAX_SESSION_RESTARTS) {
      g_propagate_error(error, g_steal_pointer(&err));
      return FALSE;
    }
    gcs_log_warning("gcp: %s: starting over with a new session", u->what);
  }
}

/* ---- entry -------------------------------------------------------------------------------- */

gboolean gcs_upload_file(const GcsTarget *target, const char *local_path, const char *name,
                         const char *content_type, GError **error)
{
  Upload u = {
      .target = target,
      .local_path = local_path,
      .name = name,
      .content_type = content_type ? content_type : "application/octet-stream",
      .fd = -1,
  };
  struct stat st;
  gboolean ok = FALSE;

  u.what = g_strdup_printf("upload of gs://%s/%s", target->bucket, name);
  u.fd = open(local_path, O_RDONLY | O_CLOEXEC);
  if (u.fd < 0 || fstat(u.fd, &st) != 0) {
    g_set_error(error, GCS_ERROR, GCS_ERROR_IO, "%s: %s: %s", u.what, local_path,
                g_strerror(errno));
    goto out;
  }
  if (!S_ISREG(st.st_mode)) {
    g_set_error(error, GCS_ERROR, GCS_ERROR_IO, "%s: %s is not a regular file", u.what, local_path);
    goto out;
  }
  u.size = (gint64)st.st_size;
  u.session = gcs_http_session_new(target);
  if (u.size <= GCS_SIMPLE_UPLOAD_MAX)
    ok = upload_simple(&u, error);
  else
    ok = upload_resumable(&u, error);
  if (ok)
    gcs_log_debug("gcp: stored gs://%s/%s (%" G_GINT64_FORMAT " bytes, %u chunks, %u kept short, "
                  "%u retries)",
                  target->bucket, name, u.size, u.chunks, u.short_acceptances, u.retries);

out:
  if (u.fd >= 0)
    close(u.fd);
  g_clear_object(&u.session);
  if (u.buffer != NULL)
    g_rc_box_release_full(u.buffer, chunk_buffer_clear);
  g_free(u.what);
  return ok;
}
