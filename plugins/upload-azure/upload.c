/* upload-azure — one file to one block blob. See upload.h. */
#include "upload.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blocks.h"
#include "errors.h"
#include "http.h"
#include "ops.h"

/* Reads exactly `len` bytes at `offset`. */
static gboolean read_at(int fd, const char *local_path, void *buf, gsize len, guint64 offset,
                        GError **error)
{
  gsize done = 0;
  while (done < len) {
    ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(offset + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      g_set_error(error, AZ_ERROR, AZ_ERROR_FILE, "reading %s: %s", local_path, g_strerror(e));
      return FALSE;
    }
    if (n == 0) {
      g_set_error(error, AZ_ERROR, AZ_ERROR_FILE, "%s became shorter while it was uploaded",
                  local_path);
      return FALSE;
    }
    done += (gsize)n;
  }
  return TRUE;
}

/* What every thread of one block upload shares. Fields above `lock` are read-only while the
 * workers run; the ones below it are guarded by it. */
typedef struct {
  const AzTarget *target;
  const SluiceHost *host;
  const char *local_path;
  const char *key;
  const char *path;
  int fd;
  guint64 size;
  guint64 block_size;
  guint n_blocks;
  guint32 token;
  GCancellable *cancel; /* fired by the first failure */

  GMutex lock;
  guint next;    /* the next block nobody has taken */
  GError *error; /* the first failure */
} Blocks;

static void blocks_fail(Blocks *b, GError *err)
{
  g_mutex_lock(&b->lock);
  /* A cancellation is the echo of the first failure, not news. */
  if (b->error == NULL && !g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    b->error = err;
    err = NULL;
    g_cancellable_cancel(b->cancel);
  }
  g_mutex_unlock(&b->lock);
  g_clear_error(&err);
}

static gpointer block_worker(gpointer data)
{
  Blocks *b = data;
  g_autoptr(SoupSession) session = az_http_session_new();
  g_autofree guchar *buf = g_malloc(b->block_size);

  for (;;) {
    g_autoptr(AzRequest) req = NULL;
    g_autoptr(GBytes) body = NULL;
    g_autofree char *id = NULL;
    g_autofree char *md5 = NULL;
    g_autofree char *what = NULL;
    GError *err = NULL;
    guint64 offset, len;
    guint index;

    g_mutex_lock(&b->lock);
    if (b->error != NULL || b->next >= b->n_blocks) {
      g_mutex_unlock(&b->lock);
      break;
    }
    index = b->next++;
    g_mutex_unlock(&b->lock);

    offset = (guint64)index * b->block_size;
    len = MIN(b->block_size, b->size - offset);
    if (!read_at(b->fd, b->local_path, buf, len, offset, &err)) {
      blocks_fail(b, err);
      break;
    }
    /* The buffer outlives every request that reads it: each is sent and answered before the
     * next read into the buffer. */
    body = g_bytes_new_static(buf, len);
    id = az_block_id(b->token, index);
    md5 = az_content_md5(buf, len);
    req = az_op_put_block(b->target, b->path, id, len, md5);
    what = g_strdup_printf("Put Block %u of %u of '%s'", index + 1, b->n_blocks, b->key);
    if (!az_http_send(session, b->target, req, &(AzBody){.bytes = body}, what, b->host, b->cancel,
                      NULL, &err)) {
      blocks_fail(b, err);
      break;
    }
  }
  return NULL;
}

static gboolean put_blocks(const AzTarget *t, const char *local_path, const char *key,
                           const char *path, int fd, guint64 size, const char *content_type,
                           const SluiceHost *host, GError **error)
{
  Blocks b = {0};
  GThread *threads[AZ_UPLOAD_WORKERS] = {0};
  guint n_threads, started = 0;
  gboolean ok;

  b.target = t;
  b.host = host;
  b.local_path = local_path;
  b.key = key;
  b.path = path;
  b.fd = fd;
  b.size = size;
  b.token = g_random_int();
  if (!az_block_plan(size, AZ_BLOCK_SIZE, &b.block_size, &b.n_blocks, error))
    return FALSE;
  b.cancel = g_cancellable_new();
  g_mutex_init(&b.lock);

  n_threads = MIN(AZ_UPLOAD_WORKERS, b.n_blocks);
  for (guint i = 0; i < n_threads; i++) {
    threads[i] = g_thread_try_new("sluice-azure", block_worker, &b, NULL);
    if (threads[i] != NULL)
      started++;
  }
  if (started == 0)
    block_worker(&b); /* no thread to be had: one at a time, on this one */
  for (guint i = 0; i < n_threads; i++)
    if (threads[i] != NULL)
      g_thread_join(threads[i]);

  ok = b.error == NULL;
  if (!ok)
    g_propagate_error(error, b.error);
  g_mutex_clear(&b.lock);
  g_object_unref(b.cancel);
  if (!ok)
    return FALSE;

  {
    g_autoptr(SoupSession) session = az_http_session_new();
    g_autofree char *xml = az_block_list_xml(b.token, b.n_blocks);
    gsize xml_len = strlen(xml);
    g_autofree char *md5 = az_content_md5(xml, xml_len);
    g_autoptr(AzRequest) req = az_op_put_block_list(t, path, xml_len, content_type, md5);
    g_autoptr(GBytes) body = g_bytes_new_take(g_steal_pointer(&xml), xml_len);
    g_autofree char *what = g_strdup_printf("Put Block List (%u blocks) of '%s'", b.n_blocks, key);
    return az_http_send(session, t, req, &(AzBody){.bytes = body}, what, host, NULL, NULL, error);
  }
}

/* The MD5 of a whole file, computed on a thread of its own while the file is being sent. */
typedef struct {
  const char *local_path;
  int fd;
  guint64 size;
  char *md5;     /* base64, as Content-MD5 carries it */
  GError *error; /* or why there is none */
} FileMd5;

static gpointer file_md5_thread(gpointer data)
{
  FileMd5 *job = data;
  const gsize chunk = 1024 * 1024;
  g_autofree guchar *buf = g_malloc(chunk);
  AzMd5 *md5 = az_md5_new();
  for (guint64 off = 0; off < job->size;) {
    gsize len = (gsize)MIN(chunk, job->size - off);
    if (!read_at(job->fd, job->local_path, buf, len, off, &job->error))
      break;
    az_md5_update(md5, buf, len);
    off += len;
  }
  job->md5 = az_md5_finish(md5);
  if (job->error != NULL)
    g_clear_pointer(&job->md5, g_free);
  return NULL;
}

/* A file of at most max_put_blob bytes: one Put Blob, streamed from disk. Content-MD5 would have
 * to be known before the first byte goes out, which means reading the file twice and waiting for
 * the hash; instead the hash is made alongside the upload and compared with the Content-MD5 the
 * service answers with (the MD5 of what it stored). A blob that differs is sent again, whole: Put
 * Blob replaces it. */
#define PUT_BLOB_SENDS 3

static gboolean put_blob(const AzTarget *t, const char *local_path, const char *key,
                         const char *path, int fd, guint64 size, const char *content_type,
                         const SluiceHost *host, GError **error)
{
  g_autoptr(SoupSession) session = az_http_session_new();
  g_autofree char *what = g_strdup_printf("Put Blob '%s'", key);
  FileMd5 job = {.local_path = local_path, .fd = fd, .size = size};
  GThread *hasher = g_thread_try_new("sluice-azure-md5", file_md5_thread, &job, NULL);
  const AzBody body = {.file = local_path, .size = size};
  gboolean ok = FALSE;

  if (hasher == NULL)
    file_md5_thread(&job); /* no thread to be had: hash first, then send */
  for (guint send = 1; send <= PUT_BLOB_SENDS; send++) {
    g_autoptr(AzRequest) req = az_op_put_blob(t, path, size, content_type, NULL);
    g_autofree char *stored = NULL;
    if (!az_http_send(session, t, req, &body, what, host, NULL, &stored, error))
      break;
    if (hasher != NULL) {
      g_thread_join(hasher);
      hasher = NULL;
    }
    if (job.error != NULL) {
      g_propagate_error(error, g_steal_pointer(&job.error));
      break;
    }
    if (stored == NULL) {
      az_log(host, SLUICE_LOG_DEBUG, "azure: %s: the service sent no Content-MD5 to compare", what);
      ok = TRUE;
      break;
    }
    if (strcmp(stored, job.md5) == 0) {
      ok = TRUE;
      break;
    }
    if (send == PUT_BLOB_SENDS) {
      g_set_error(error, AZ_ERROR, AZ_ERROR_HTTP,
                  "%s: the stored blob differs from the file (its MD5 %s, the file's %s) after %u "
                  "attempts",
                  what, stored, job.md5, send);
      break;
    }
    az_log(host, SLUICE_LOG_WARNING,
           "azure: %s: the stored blob differs from the file (its MD5 %s, the file's %s); "
           "sending it again",
           what, stored, job.md5);
  }
  if (hasher != NULL)
    g_thread_join(hasher);
  g_clear_error(&job.error);
  g_free(job.md5);
  return ok;
}

gboolean az_upload_file(const AzTarget *target, const char *local_path, const char *key,
                        const char *content_type, const SluiceHost *host, char **location,
                        GError **error)
{
  g_autofree char *path = NULL;
  struct stat st;
  gboolean ok;
  int fd;

  if (!az_target_blob_path(target, key, &path, error))
    return FALSE;
  fd = g_open(local_path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    int e = errno;
    g_set_error(error, AZ_ERROR, AZ_ERROR_FILE, "opening %s: %s", local_path, g_strerror(e));
    return FALSE;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    g_set_error(error, AZ_ERROR, AZ_ERROR_FILE, "%s is not a regular file", local_path);
    close(fd);
    return FALSE;
  }
  if ((guint64)st.st_size <= target->max_put_blob)
    ok =
        put_blob(target, local_path, key, path, fd, (guint64)st.st_size, content_type, host, error);
  else
    ok = put_blocks(target, local_path, key, path, fd, (guint64)st.st_size, content_type, host,
                    error);
  close(fd);
  if (ok)
    *location = az_target_url(target, path);
  return ok;
}
