/* upload-s3 — one file to one object. See s3-upload.h. */
#include "s3-upload.h"

#include "s3-client.h"
#include "s3-error.h"
#include "s3-xml.h"
#include "upload-s3.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static gboolean read_at(int fd, const char *path, guint8 *buf, gsize len, guint64 offset,
                        GError **error)
{
  gsize done = 0;
  while (done < len) {
    ssize_t n = pread(fd, buf + done, len - done, (off_t)(offset + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      g_set_error(error, S3_ERROR, S3_ERROR_FILE, "%s: %s", path,
                  n < 0 ? g_strerror(errno) : "the file became shorter during the upload");
      return FALSE;
    }
    done += (gsize)n;
  }
  return TRUE;
}

static GBytes *read_part(int fd, const char *path, guint64 offset, gsize len, GError **error)
{
  guint8 *buf = g_malloc(len ? len : 1);
  if (!read_at(fd, path, buf, len, offset, error)) {
    g_free(buf);
    return NULL;
  }
  return g_bytes_new_take(buf, len);
}

static gboolean put_object(S3Target *t, int fd, const char *path, guint64 size, const char *key,
                           const char *content_type, GError **error)
{
  g_autoptr(GBytes) body = read_part(fd, path, 0, (gsize)size, error);
  g_auto(GStrv) headers = s3_target_object_headers(t);
  g_autoptr(S3Client) client = NULL;
  S3Request req = {
      .method = "PUT",
      .key = key,
      .headers = (const char *const *)headers,
      .body = body,
      .content_type = content_type,
      .may_fix_region = TRUE,
  };
  if (body == NULL)
    return FALSE;
  client = s3_client_new(t);
  return s3_client_send(client, &req, NULL, error);
}

typedef struct {
  S3Target *target; /* read-only while workers run */
  const char *path;
  const char *key;
  const char *upload_id;
  int fd;
  guint64 size;
  guint64 part_size;
  guint nparts;

  GMutex lock;     /* guards the members below */
  guint next;      /* next part to send, 1-based */
  gboolean failed; /* stop taking parts */
  GError *error;   /* the first failure */
  char **etags;    /* [nparts]; etags[n - 1] written once by the worker that sent part n */
} Multipart;

static void multipart_fail(Multipart *mp, GError *err)
{
  g_mutex_lock(&mp->lock);
  mp->failed = TRUE;
  if (mp->error == NULL)
    mp->error = err;
  else
    g_error_free(err);
  g_mutex_unlock(&mp->lock);
}

/* A part worker: takes the next part number, reads that part, sends it; until none are left or
 * one failed. Each worker has its own client (one SoupSession per thread). */
static gpointer part_worker(gpointer data)
{
  Multipart *mp = data;
  g_autoptr(S3Client) client = s3_client_new(mp->target);
  /* One buffer for every part this worker sends, each sent and answered before the next is read
   * into it: a fresh 8 MiB allocation per part would be fresh pages for the kernel to zero. */
  g_autofree guint8 *buf = g_malloc(mp->part_size);
  for (;;) {
    g_autoptr(GBytes) body = NULL;
    g_autofree char *number = NULL;
    g_autofree char *what = NULL;
    GError *err = NULL;
    S3Response resp = {0};
    guint64 offset;
    gsize len;
    guint n;

    g_mutex_lock(&mp->lock);
    n = mp->failed || mp->next > mp->nparts ? 0 : mp->next++;
    g_mutex_unlock(&mp->lock);
    if (n == 0)
      break;

    offset = (guint64)(n - 1) * mp->part_size;
    len = (gsize)MIN(mp->part_size, mp->size - offset);
    if (!read_at(mp->fd, mp->path, buf, len, offset, &err)) {
      multipart_fail(mp, err);
      break;
    }
    body = g_bytes_new_static(buf, len);
    number = g_strdup_printf("%u", n);
    what = g_strdup_printf("part %u of %u", n, mp->nparts);
    {
      const char *query[] = {"partNumber", number, "uploadId", mp->upload_id, NULL};
      S3Request req = {
          .method = "PUT",
          .key = mp->key,
          .query = query,
          .body = body,
          .content_type = "application/octet-stream",
          .what = what,
      };
      if (s3_client_send(client, &req, &resp, &err) && resp.etag == NULL)
        g_set_error(&err, S3_ERROR, S3_ERROR_PROTOCOL,
                    "PUT s3://%s/%s (%s): the answer has no ETag", mp->target->bucket, mp->key,
                    what);
    }
    if (err != NULL) {
      s3_response_clear(&resp);
      multipart_fail(mp, err);
      break;
    }
    g_mutex_lock(&mp->lock);
    mp->etags[n - 1] = g_steal_pointer(&resp.etag);
    g_mutex_unlock(&mp->lock);
    s3_response_clear(&resp);
  }
  return NULL;
}

/* The ETag S3 gives a completed multipart object: the MD5 of the parts' binary MD5s, "-<count>".
 * NULL when a part's ETag is not a plain MD5 (encrypted buckets, some S3-compatible servers). */
static char *expected_etag(char **etags, guint n)
{
  g_autoptr(GChecksum) md5 = g_checksum_new(G_CHECKSUM_MD5);
  for (guint i = 0; i < n; i++) {
    const char *e = etags[i];
    guint8 bin[16];
    if (strlen(e) != 34 || e[0] != '"' || e[33] != '"')
      return NULL;
    for (guint j = 0; j < 16; j++) {
      int hi = g_ascii_xdigit_value(e[1 + 2 * j]), lo = g_ascii_xdigit_value(e[2 + 2 * j]);
      if (hi < 0 || lo < 0)
        return NULL;
      bin[j] = (guint8)(hi << 4 | lo);
    }
    g_checksum_update(md5, bin, sizeof bin);
  }
  return g_strdup_printf("\"%s-%u\"", g_checksum_get_string(md5), n);
}

/* A CompleteMultipartUpload was retried and S3 no longer knows the upload: an earlier attempt
 * may have completed it with its answer lost. TRUE when the object is there with the ETag this
 * upload's parts give. */
static gboolean completed_after_all(S3Client *client, Multipart *mp)
{
  g_autofree char *want = expected_etag(mp->etags, mp->nparts);
  g_autofree char *suffix = g_strdup_printf("-%u\"", mp->nparts);
  S3Request req = {.method = "HEAD", .key = mp->key, .what = "is it complete?"};
  S3Response resp = {0};
  gboolean done = FALSE;
  if (s3_client_send(client, &req, &resp, NULL) && resp.etag != NULL)
    done = want ? strcmp(resp.etag, want) == 0 : g_str_has_suffix(resp.etag, suffix);
  s3_response_clear(&resp);
  return done;
}

static void abort_upload(S3Client *client, Multipart *mp, GError **error)
{
  const char *query[] = {"uploadId", mp->upload_id, NULL};
  S3Request req = {
      .method = "DELETE",
      .key = mp->key,
      .query = query,
      .what = "AbortMultipartUpload",
      .max_attempts = MIN(mp->target->max_attempts, 3),
  };
  g_autoptr(GError) err = NULL;
  S3Response resp = {0};
  gboolean gone = s3_client_send(client, &req, &resp, &err) ||
                  g_strcmp0(resp.error_code, "NoSuchUpload") == 0; /* nothing left to abort */
  s3_response_clear(&resp);
  if (gone)
    return;
  s3_log(SLUICE_LOG_WARNING,
         "%s; multipart upload %s stays until a lifecycle rule "
         "(AbortIncompleteMultipartUpload) removes it",
         err->message, mp->upload_id);
  if (error != NULL && *error != NULL) {
    char *msg = g_strdup_printf("%s; and aborting the multipart upload failed: %s",
                                (*error)->message, err->message);
    g_free((*error)->message);
    (*error)->message = msg;
  }
}

static gboolean multipart(S3Target *t, int fd, const char *path, guint64 size, const char *key,
                          const char *content_type, GError **error)
{
  g_autoptr(S3Client) client = s3_client_new(t);
  g_auto(GStrv) headers = s3_target_object_headers(t);
  g_autoptr(GBytes) empty = g_bytes_new_static("", 0);
  g_autofree char *upload_id = NULL;
  g_autofree char *body = NULL;
  g_autoptr(GBytes) complete = NULL;
  GThread *threads[S3_PARALLEL_PARTS] = {NULL};
  guint nthreads = 0;
  Multipart mp = {0};
  S3Response resp = {0};
  gboolean ok;

  {
    const char *query[] = {"uploads", "", NULL};
    S3Request req = {
        .method = "POST",
        .key = key,
        .query = query,
        .headers = (const char *const *)headers,
        .body = empty,
        .content_type = content_type,
        .what = "CreateMultipartUpload",
        .may_fix_region = TRUE,
    };
    gsize len = 0;
    const char *data;
    if (!s3_client_send(client, &req, &resp, error))
      return FALSE;
    data = resp.body ? g_bytes_get_data(resp.body, &len) : NULL;
    upload_id = s3_xml_parse_upload_id(data, len, error);
    s3_response_clear(&resp);
    if (upload_id == NULL) {
      g_prefix_error(error, "POST s3://%s/%s (CreateMultipartUpload): ", t->bucket, key);
      return FALSE;
    }
  }

  mp.target = t;
  mp.path = path;
  mp.key = key;
  mp.upload_id = upload_id;
  mp.fd = fd;
  mp.size = size;
  mp.part_size = s3_upload_part_size(size);
  mp.nparts = (guint)((size + mp.part_size - 1) / mp.part_size);
  mp.next = 1;
  mp.etags = g_new0(char *, mp.nparts + 1);
  g_mutex_init(&mp.lock);

  for (guint i = 0; i < MIN(S3_PARALLEL_PARTS, mp.nparts); i++) {
    GThread *th = g_thread_try_new("s3-part", part_worker, &mp, NULL);
    if (th == NULL)
      break;
    threads[nthreads++] = th;
  }
  if (nthreads == 0) /* no thread to spare: send the parts from this one */
    part_worker(&mp);
  for (guint i = 0; i < nthreads; i++)
    g_thread_join(threads[i]);

  if (mp.failed) {
    g_propagate_error(error, g_steal_pointer(&mp.error));
    abort_upload(client, &mp, error);
    ok = FALSE;
    goto out;
  }

  body = s3_xml_complete_body((const char *const *)mp.etags, mp.nparts);
  {
    gsize len = strlen(body);
    const char *query[] = {"uploadId", upload_id, NULL};
    g_autoptr(GError) err = NULL;
    S3Request req = {
        .method = "POST",
        .key = key,
        .query = query,
        .body = NULL,
        .content_type = "application/xml",
        .what = "CompleteMultipartUpload",
        .body_may_hold_error = TRUE,
    };
    complete = g_bytes_new_take(g_steal_pointer(&body), len);
    req.body = complete;
    ok = s3_client_send(client, &req, &resp, &err);
    if (!ok && resp.attempts > 1 && g_strcmp0(resp.error_code, "NoSuchUpload") == 0 &&
        completed_after_all(client, &mp)) {
      s3_log(SLUICE_LOG_INFO,
             "s3://%s/%s: an earlier CompleteMultipartUpload "
             "succeeded though its answer was lost",
             t->bucket, key);
      ok = TRUE;
    }
    s3_response_clear(&resp);
    if (!ok) {
      g_propagate_error(error, g_steal_pointer(&err));
      abort_upload(client, &mp, error);
    }
  }
out:
  g_strfreev(mp.etags);
  g_mutex_clear(&mp.lock);
  return ok;
}

gboolean s3_upload_file(S3Target *t, const char *local_path, const char *key,
                        const char *content_type, char **location, GError **error)
{
  struct stat stbuf;
  gboolean ok;
  int fd;

  if (key == NULL || *key == '\0') {
    g_set_error(error, S3_ERROR, S3_ERROR_CONFIG, "s3://%s: the object key is empty", t->bucket);
    return FALSE;
  }
  fd = open(local_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    g_set_error(error, S3_ERROR, S3_ERROR_FILE, "%s: %s", local_path, g_strerror(errno));
    return FALSE;
  }
  if (fstat(fd, &stbuf) != 0 || !S_ISREG(stbuf.st_mode)) {
    int e = errno;
    g_set_error(error, S3_ERROR, S3_ERROR_FILE, "%s: %s", local_path,
                fstat(fd, &stbuf) != 0 ? g_strerror(e) : "not a regular file");
    close(fd);
    return FALSE;
  }
  if (content_type == NULL)
    content_type = "application/octet-stream";
  if ((guint64)stbuf.st_size <= S3_PART_SIZE)
    ok = put_object(t, fd, local_path, (guint64)stbuf.st_size, key, content_type, error);
  else
    ok = multipart(t, fd, local_path, (guint64)stbuf.st_size, key, content_type, error);
  close(fd);
  if (ok && location != NULL)
    *location = s3_target_object_url(t, key);
  return ok;
}
