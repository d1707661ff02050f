/* upload-gcp: resumable-upload arithmetic — the 308 Range header, Content-Range values, chunk
 * planning, and whole sessions against simulated servers that keep less than they are sent. */
#include "gcs-range.h"

#define KIB ((gint64)1024)
#define MIB (1024 * KIB)

static void test_range_parse_valid(void)
{
  static const struct {
    const char *header;
    gint64 persisted;
  } cases[] = {
      {"bytes=0-0", 1},
      {"bytes=0-262143", 262144},
      {"bytes=0-8388607", 8388608},
      {"Bytes=0-99", 100},
      {"bytes = 0 - 99", 100},
      {" bytes=0-99 ", 100},
      {"bytes=0-67108863", 64 * MIB},
      {"bytes=0-9223372036854775806", G_MAXINT64},
  };
  gint64 v = -1;
  g_assert_true(gcs_range_parse(NULL, &v)); /* no header: nothing stored */
  g_assert_cmpint(v, ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    v = -1;
    g_assert_true(gcs_range_parse(cases[i].header, &v));
    g_assert_cmpint(v, ==, cases[i].persisted);
  }
}

static void test_range_parse_invalid(void)
{
  static const char *const bad[] = {
      "",
      "bytes",
      "bytes=",
      "bytes=0",
      "bytes=0-",
      "bytes=-5",
      "bytes=1-5", /* GCS always reports from 0 */
      "bytes=0-5,7-9",
      "bytes=0-5x",
      "bytes=0--5",
      "bytes=0-+5",
      "bytes 0-5",
      "items=0-5",
      "0-5",
      "bytes=0-9223372036854775807",  /* N+1 would overflow */
      "bytes=0-99999999999999999999", /* N itself overflows */
  };
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    gint64 v = 42;
    if (gcs_range_parse(bad[i], &v))
      g_error("accepted Range \"%s\" as %" G_GINT64_FORMAT, bad[i], v);
    g_assert_cmpint(v, ==, 42);
  }
}

static void test_content_range(void)
{
  GcsChunk first = {.start = 0, .len = 8 * MIB, .last = FALSE};
  GcsChunk middle = {.start = 8 * MIB, .len = 8 * MIB, .last = FALSE};
  GcsChunk last = {.start = 16 * MIB, .len = 5, .last = TRUE};
  GcsChunk query = {.start = 100, .len = 0, .last = FALSE};
  g_autofree char *a = gcs_content_range(&first, 16 * MIB + 5);
  g_autofree char *b = gcs_content_range(&middle, 16 * MIB + 5);
  g_autofree char *c = gcs_content_range(&last, 16 * MIB + 5);
  g_autofree char *d = gcs_content_range(&query, 16 * MIB + 5);
  g_autofree char *e = gcs_content_range_query(64 * MIB);
  g_assert_cmpstr(a, ==, "bytes 0-8388607/*");
  g_assert_cmpstr(b, ==, "bytes 8388608-16777215/*");
  g_assert_cmpstr(c, ==, "bytes 16777216-16777220/16777221");
  g_assert_cmpstr(d, ==, "bytes */16777221");
  g_assert_cmpstr(e, ==, "bytes */67108864");
}

static void test_chunk_next(void)
{
  GcsChunk c = gcs_chunk_next(0, 20 * MIB, 8 * MIB);
  g_assert_cmpint(c.start, ==, 0);
  g_assert_cmpint(c.len, ==, 8 * MIB);
  g_assert_false(c.last);
  c = gcs_chunk_next(16 * MIB, 20 * MIB, 8 * MIB);
  g_assert_cmpint(c.len, ==, 4 * MIB);
  g_assert_true(c.last);
  /* Exactly one chunk left: it is the last and carries the total. */
  c = gcs_chunk_next(12 * MIB, 20 * MIB, 8 * MIB);
  g_assert_cmpint(c.len, ==, 8 * MIB);
  g_assert_true(c.last);
  /* After a short acceptance the next chunk starts where the server is. */
  c = gcs_chunk_next(8 * MIB - 256 * KIB, 20 * MIB, 8 * MIB);
  g_assert_cmpint(c.start, ==, 8 * MIB - 256 * KIB);
  g_assert_cmpint(c.len, ==, 8 * MIB);
  g_assert_false(c.last);
  /* Everything stored but unfinished: a zero-length "chunk", i.e. a status query. */
  c = gcs_chunk_next(20 * MIB, 20 * MIB, 8 * MIB);
  g_assert_cmpint(c.len, ==, 0);
  g_assert_true(c.last);
}

static void test_resume_classify(void)
{
  GcsChunk c = {.start = 8 * MIB, .len = 8 * MIB, .last = FALSE};
  gint64 total = 64 * MIB;
  g_assert_cmpint(gcs_resume_classify(&c, 8 * MIB, 16 * MIB, total), ==, GCS_RESUME_PROGRESS);
  g_assert_cmpint(gcs_resume_classify(&c, 8 * MIB, 16 * MIB - 256 * KIB, total), ==,
                  GCS_RESUME_PROGRESS);
  g_assert_cmpint(gcs_resume_classify(&c, 8 * MIB, 8 * MIB, total), ==, GCS_RESUME_NO_PROGRESS);
  g_assert_cmpint(gcs_resume_classify(&c, 8 * MIB, 4 * MIB, total), ==, GCS_RESUME_NO_PROGRESS);
  g_assert_cmpint(gcs_resume_classify(&c, 8 * MIB, 0, total), ==, GCS_RESUME_NO_PROGRESS);
  g_assert_cmpint(gcs_resume_classify(&c, 8 * MIB, 16 * MIB + 1, total), ==, GCS_RESUME_INVALID);
  c.start = 60 * MIB;
  c.len = 4 * MIB;
  g_assert_cmpint(gcs_resume_classify(&c, 60 * MIB, 64 * MIB + 1, total), ==, GCS_RESUME_INVALID);
}

/* How much a simulated server keeps of a chunk [start, start+len) when it already has
 * `persisted`: everything, or all but the last 256 KiB rounded down to 256 KiB. */
typedef gint64 (*KeepFunc)(gint64 persisted, const GcsChunk *c, gint64 total, guint step);

static gint64 keep_all(gint64 persisted, const GcsChunk *c, gint64 total, guint step)
{
  return c->start + c->len;
}

static gint64 keep_short(gint64 persisted, const GcsChunk *c, gint64 total, guint step)
{
  gint64 end = c->start + c->len;
  gint64 kept = (end - GCS_CHUNK_QUANTUM) / GCS_CHUNK_QUANTUM * GCS_CHUNK_QUANTUM;
  return kept > persisted ? kept : end;
}

/* Keeps nothing every third chunk and an arbitrary unaligned amount otherwise. */
static gint64 keep_erratic(gint64 persisted, const GcsChunk *c, gint64 total, guint step)
{
  if (step % 3 == 2)
    return persisted;
  if (c->last)
    return c->start + c->len;
  return persisted + 1 + (c->len - 1) * (gint64)(step % 5 + 1) / 6;
}

/* Runs a whole session with the client's arithmetic; checks that every byte is sent in order,
 * non-final chunks are 256 KiB multiples, and the end is reached. Returns the chunks sent. */
static guint simulate(gint64 total, gint64 chunk_size, KeepFunc keep)
{
  gint64 persisted = 0;
  guint sent = 0, steps = 0;
  for (;;) {
    GcsChunk c = gcs_chunk_next(persisted, total, chunk_size);
    gint64 now;
    g_assert_cmpint(c.start, ==, persisted);
    g_assert_cmpint(c.len, >, 0);
    if (!c.last)
      g_assert_cmpint(c.len % GCS_CHUNK_QUANTUM, ==, 0);
    sent++;
    now = keep(persisted, &c, total, steps++);
    g_assert_cmpint(now, <=, c.start + c.len);
    switch (gcs_resume_classify(&c, persisted, now, total)) {
    case GCS_RESUME_INVALID:
      g_assert_not_reached();
      break;
    case GCS_RESUME_NO_PROGRESS:
      g_assert_cmpint(now, <=, persisted);
      break;
    case GCS_RESUME_PROGRESS:
      g_assert_cmpint(now, >, persisted);
      break;
    }
    persisted = now;
    if (c.last && persisted == total)
      return sent;
    g_assert_cmpuint(steps, <, 10000);
  }
}

static void test_sessions(void)
{
  /* 64 MiB in 8 MiB chunks: 8 PUTs when everything is kept. */
  g_assert_cmpuint(simulate(64 * MIB, 8 * MIB, keep_all), ==, 8);
  /* Keeping 256 KiB less each time needs more PUTs but still ends. */
  /* 8 chunks keep 62 MiB; the 2 MiB tail loses 256 KiB once more, then goes whole. */
  g_assert_cmpuint(simulate(64 * MIB, 8 * MIB, keep_short), ==, 10);
  g_assert_cmpuint(simulate(64 * MIB + 12345, 8 * MIB, keep_short), >=, 10);
  g_assert_cmpuint(simulate(8 * MIB + 1, 8 * MIB, keep_short), >=, 2);
  g_assert_cmpuint(simulate(3 * MIB + 7, 256 * KIB, keep_all), ==, 13);
  simulate(64 * MIB + 1, 8 * MIB, keep_erratic);
  simulate(9 * MIB - 3, 512 * KIB, keep_erratic);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/upload-gcp/range/parse-valid", test_range_parse_valid);
  g_test_add_func("/upload-gcp/range/parse-invalid", test_range_parse_invalid);
  g_test_add_func("/upload-gcp/range/content-range", test_content_range);
  g_test_add_func("/upload-gcp/range/chunk-next", test_chunk_next);
  g_test_add_func("/upload-gcp/range/resume-classify", test_resume_classify);
  g_test_add_func("/upload-gcp/range/sessions", test_sessions);
  return g_test_run();
}
