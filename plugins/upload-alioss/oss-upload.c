/* upload-alioss — PutObject and multipart upload of a local file. See oss-upload.h. */
#include "oss-upload.h"

#include "oss-error.h"
#include "oss-xml.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

guint64 oss_part_size_for(guint64 size, guint64 wanted)
{
  const guint64 mib = 1024 * 1024;
  guint64 part = MAX(wanted, (guint64)OSS_MIN_PART_SIZE);
  if ((size + part - 1) / part > OSS_MAX_PARTS) {
    part = (size + OSS_MAX_PARTS - 1) / OSS_MAX_PARTS;
    part = (part + mib - 1) / mib * mib;
  }
  return part;
}

/* Reads exactly `len` bytes at `offset`. */
static gboolean read_at(int fd, const char *path, guint8 *buf, gsize len, guint64 offset,
                        GError **error)
{
  gsize done = 0;
  while (done < len) {
    ssize_t n = pread(fd, buf + done, len - done, (off_t)(offset + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      g_set_error(error, OSS_ERROR, OSS_ERROR_FILE, "reading %s: %s", path, g_strerror(e));
      return FALSE;
    }
    if (n == 0) {
      g_set_error(error, OSS_ERROR, OSS_ERROR_FILE,
                  "%s became shorter while it was being uploaded (%" G_GUINT64_FORMAT
                  " bytes expected)",
                  path, offset + len);
      return FALSE;
    }
    done += (gsize)n;
  }
  return TRUE;
}

static gboolean put_object(const OssTarget *t, const OssUploadOptions *o, int fd, const char *path,
                           guint64 size, const char *key, const char *content_type, GError **error)
{
  g_autoptr(OssClient) c = oss_client_new(t, &o->retry, o->log, o->log_data);
  g_autofree guint8 *buf = g_malloc(size > 0 ? size : 1);
  g_autoptr(GBytes) body = NULL;
  OssResponse resp;
  OssCall call = {
      .op = "PutObject", .method = "PUT", .key = key, .content_type = content_type, .body = NULL};
  gboolean ok;

  if (!read_at(fd, path, buf, size, 0, error))
    return FALSE;
  body = g_bytes_new_static(buf, size);
  call.body = body;
  ok = oss_client_call(c, &call, &resp, NULL, error);
  oss_response_clear(&resp);
  return ok;
}

/* ---- multipart --------------------------------------------------------------------------- */

typedef struct {
  const OssTarget *t;
  const OssUploadOptions *o;
  int fd;
  const char *path;
  const char *key;
  const char *upload_id;
  guint64 size;
  guint64 part_size;
  guint n_parts;
  gint next;   /* atomic: the last part number handed out */
  gint failed; /* atomic: set once a part failed for good */
  GMutex lock; /* guards error */
  GError *error;
  char **etags; /* [n_parts]; each slot written by the one thread that sent that part */
} Multipart;

static void multipart_fail(Multipart *mp, GError *err)
{
  g_mutex_lock(&mp->lock);
  if (mp->error == NULL)
    mp->error = err;
  else
    g_error_free(err);
  g_mutex_unlock(&mp->lock);
  g_atomic_int_set(&mp->failed, 1);
}

/* One part thread: its own client and buffer; takes part numbers until none are left or a part
 * has failed. */
static gpointer part_worker(gpointer data)
{
  Multipart *mp = data;
  g_autoptr(OssClient) c = oss_client_new(mp->t, &mp->o->retry, mp->o->log, mp->o->log_data);
  g_autofree guint8 *buf = g_malloc(mp->part_size);

  for (;;) {
    guint n = (guint)g_atomic_int_add(&mp->next, 1) + 1;
    guint64 offset = (guint64)(n - 1) * mp->part_size;
    gsize len;
    g_autofree char *number = NULL;
    g_autofree char *detail = NULL;
    g_autoptr(GBytes) body = NULL;
    GError *err = NULL;
    OssResponse resp;
    OssPair query[2];
    OssCall call = {0};

    if (n > mp->n_parts || g_atomic_int_get(&mp->failed))
      break;
    len = (gsize)MIN(mp->part_size, mp->size - offset);
    if (!read_at(mp->fd, mp->path, buf, len, offset, &err)) {
      multipart_fail(mp, err);
      break;
    }
    number = g_strdup_printf("%u", n);
    detail = g_strdup_printf("part %u of %u", n, mp->n_parts);
    query[0] = (OssPair){"partNumber", number};
    query[1] = (OssPair){"uploadId", mp->upload_id};
    body = g_bytes_new_static(buf, len);
    call = (OssCall){.op = "UploadPart",
                     .detail = detail,
                     .method = "PUT",
                     .key = mp->key,
                     .query = query,
                     .n_query = 2,
                     .body = body};
    if (!oss_client_call(c, &call, &resp, NULL, &err)) {
      multipart_fail(mp, err);
      break;
    }
    if (resp.etag == NULL) {
      oss_response_clear(&resp);
      multipart_fail(mp, g_error_new(OSS_ERROR, OSS_ERROR_PROTOCOL,
                                     "OSS UploadPart of \"%s\" %s: the answer has no ETag", mp->key,
                                     detail));
      break;
    }
    mp->etags[n - 1] = g_steal_pointer(&resp.etag);
    oss_response_clear(&resp);
  }
  return NULL;
}

static char *initiate(OssClient *c, const char *key, const char *content_type, GError **error)
{
  const OssPair query[] = {{"uploads", NULL}};
  OssCall call = {.op = "InitiateMultipartUpload",
                  .method = "POST",
                  .key = key,
                  .query = query,
                  .n_query = 1,
                  .content_type = content_type};
  OssResponse resp;
  gsize len = 0;
  const char *data;
  g_autoptr(GError) err = NULL;
  char *id;

  if (!oss_client_call(c, &call, &resp, NULL, error))
    return NULL;
  data = g_bytes_get_data(resp.body, &len);
  id = oss_xml_parse_upload_id(data, (gssize)len, &err);
  if (id == NULL)
    g_set_error(error, OSS_ERROR, OSS_ERROR_PROTOCOL, "OSS InitiateMultipartUpload of \"%s\": %s",
                key, err->message);
  oss_response_clear(&resp);
  return id;
}

static gboolean abort_upload(OssClient *c, const char *key, const char *upload_id, GError **error)
{
  const OssPair query[] = {{"uploadId", upload_id}};
  OssCall call = {
      .op = "AbortMultipartUpload", .method = "DELETE", .key = key, .query = query, .n_query = 1};
  OssResponse resp;
  gboolean ok = oss_client_call(c, &call, &resp, NULL, error);
  oss_response_clear(&resp);
  return ok;
}

/* After a retried CompleteMultipartUpload answers NoSuchUpload, an earlier attempt may have
 * completed it and only the answer was lost: the object is there with the right size. */
static gboolean object_has_size(OssClient *c, const char *key, guint64 size)
{
  OssCall call = {.op = "HeadObject", .method = "HEAD", .key = key};
  OssResponse resp;
  gboolean ok = oss_client_call(c, &call, &resp, NULL, NULL) && resp.length >= 0 &&
                (guint64)resp.length == size;
  oss_response_clear(&resp);
  return ok;
}

static gboolean complete(OssClient *c, Multipart *mp, GError **error)
{
  const OssPair query[] = {{"uploadId", mp->upload_id}};
  char *xml = oss_xml_complete_body((const char *const *)mp->etags, mp->n_parts);
  gsize xml_len = strlen(xml);
  g_autoptr(GBytes) body = g_bytes_new_take(xml, xml_len);
  OssCall call = {.op = "CompleteMultipartUpload",
                  .method = "POST",
                  .key = mp->key,
                  .query = query,
                  .n_query = 1,
                  .content_type = "application/xml",
                  .body = body};
  OssResponse resp;
  OssErrorInfo info;
  g_autofree char *code = NULL;
  gsize len = 0;
  const char *data;

  if (!oss_client_call(c, &call, &resp, &code, error)) {
    if (g_strcmp0(code, "NoSuchUpload") == 0 && object_has_size(c, mp->key, mp->size)) {
      g_clear_error(error);
      return TRUE;
    }
    return FALSE;
  }
  /* A 200 answer can still carry an <Error> (S3 does this; OSS documents the same shape). */
  data = g_bytes_get_data(resp.body, &len);
  if (oss_xml_parse_error(data, (gssize)len, &info)) {
    g_set_error(error, OSS_ERROR, OSS_ERROR_HTTP,
                "OSS CompleteMultipartUpload of \"%s\" failed: HTTP %u %s: %s", mp->key,
                resp.status, info.code ? info.code : "(no code)",
                info.message ? info.message : "(no message)");
    oss_error_info_clear(&info);
    oss_response_clear(&resp);
    return FALSE;
  }
  oss_response_clear(&resp);
  return TRUE;
}

static gboolean multipart_upload(const OssTarget *t, const OssUploadOptions *o, int fd,
                                 const char *path, guint64 size, const char *key,
                                 const char *content_type, guint *parts, GError **error)
{
  g_autoptr(OssClient) c = oss_client_new(t, &o->retry, o->log, o->log_data);
  g_autofree char *upload_id = NULL;
  g_autoptr(GPtrArray) threads = g_ptr_array_new();
  Multipart mp = {0};
  guint workers;
  gboolean ok = FALSE;

  upload_id = initiate(c, key, content_type, error);
  if (upload_id == NULL)
    return FALSE;

  mp.t = t;
  mp.o = o;
  mp.fd = fd;
  mp.path = path;
  mp.key = key;
  mp.upload_id = upload_id;
  mp.size = size;
  mp.part_size = oss_part_size_for(size, o->part_size);
  mp.n_parts = (guint)((size + mp.part_size - 1) / mp.part_size);
  mp.etags = g_new0(char *, mp.n_parts + 1);
  g_mutex_init(&mp.lock);

  /* This thread is one of the workers; the others are started here and joined below. */
  workers = MIN(MAX(o->parallel_parts, 1u), mp.n_parts);
  for (guint i = 1; i < workers; i++) {
    GThread *th = g_thread_try_new("oss-part", part_worker, &mp, NULL);
    if (th == NULL)
      break; /* fewer parts in flight, same result */
    g_ptr_array_add(threads, th);
  }
  part_worker(&mp);
  for (guint i = 0; i < threads->len; i++)
    g_thread_join(g_ptr_array_index(threads, i));

  if (!g_atomic_int_get(&mp.failed))
    ok = complete(c, &mp, &mp.error);
  if (!ok) {
    g_autoptr(GError) abort_error = NULL;
    g_autoptr(GError) e = mp.error ? g_steal_pointer(&mp.error)
                                   : g_error_new(OSS_ERROR, OSS_ERROR_PROTOCOL,
                                                 "OSS multipart upload of \"%s\" failed", key);
    if (abort_upload(c, key, upload_id, &abort_error))
      g_set_error(error, e->domain, e->code, "%s; the multipart upload was aborted", e->message);
    else
      g_set_error(error, e->domain, e->code, "%s; aborting the multipart upload failed too: %s",
                  e->message, abort_error->message);
  }
  *parts = mp.n_parts;
  g_strfreev(mp.etags);
  g_mutex_clear(&mp.lock);
  g_clear_error(&mp.error);
  return ok;
}

gboolean oss_upload_file(const OssTarget *t, const OssUploadOptions *o, const char *path,
                         const char *key, const char *content_type, OssUploadResult *result,
                         GError **error)
{
  struct stat st;
  int fd;
  gboolean ok;
  guint parts = 0;

  memset(result, 0, sizeof *result);
  fd = g_open(path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    int e = errno;
    g_set_error(error, OSS_ERROR, OSS_ERROR_FILE, "opening %s: %s", path, g_strerror(e));
    return FALSE;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    g_set_error(error, OSS_ERROR, OSS_ERROR_FILE, "%s is not a regular file", path);
    close(fd);
    return FALSE;
  }
  if ((guint64)st.st_size <= MAX(o->part_size, (guint64)OSS_MIN_PART_SIZE))
    ok = put_object(t, o, fd, path, (guint64)st.st_size, key, content_type, error);
  else
    ok = multipart_upload(t, o, fd, path, (guint64)st.st_size, key, content_type, &parts, error);
  close(fd);
  if (ok) {
    result->size = (guint64)st.st_size;
    result->parts = parts;
  }
  return ok;
}
