/* Unit tests for output-file's container choice (plugins/output-file/container.c). */
#include "container.h"

#include <sluice/output.h>
#include <string.h>

static void test_choose(void)
{
  struct {
    OfCodec video, audio;
    const char *asked, *want_path;
    OfContainer want;
  } cases[] = {
      /* The extension fits: kept. */
      {OF_CODEC_H264, OF_CODEC_AAC, "rec/a.mp4", "rec/a.mp4", OF_CONTAINER_MP4},
      {OF_CODEC_H264, OF_CODEC_AAC, "rec/a.MP4", "rec/a.MP4", OF_CONTAINER_MP4},
      {OF_CODEC_NONE, OF_CODEC_AAC, "a.mp4", "a.mp4", OF_CONTAINER_MP4},
      {OF_CODEC_H264, OF_CODEC_NONE, "a.mp4", "a.mp4", OF_CONTAINER_MP4},
      {OF_CODEC_VP8, OF_CODEC_OPUS, "a.webm", "a.webm", OF_CONTAINER_WEBM},
      {OF_CODEC_VP9, OF_CODEC_NONE, "a.webm", "a.webm", OF_CONTAINER_WEBM},
      {OF_CODEC_NONE, OF_CODEC_OPUS, "a.ogg", "a.ogg", OF_CONTAINER_OGG},
      {OF_CODEC_NONE, OF_CODEC_OPUS, "a.webm", "a.webm", OF_CONTAINER_WEBM},
      /* Missing: appended. */
      {OF_CODEC_H264, OF_CODEC_AAC, "rec/a", "rec/a.mp4", OF_CONTAINER_MP4},
      {OF_CODEC_NONE, OF_CODEC_OPUS, "a", "a.ogg", OF_CONTAINER_OGG},
      {OF_CODEC_VP8, OF_CODEC_OPUS, "a", "a.webm", OF_CONTAINER_WEBM},
      {OF_CODEC_H264, OF_CODEC_AAC, "room.2024-01-01", "room.2024-01-01.mp4", OF_CONTAINER_MP4},
      {OF_CODEC_H264, OF_CODEC_AAC, "d.x/a", "d.x/a.mp4", OF_CONTAINER_MP4},
      {OF_CODEC_H264, OF_CODEC_AAC, ".hidden", ".hidden.mp4", OF_CONTAINER_MP4},
      {OF_CODEC_H264, OF_CODEC_AAC, "a.", "a..mp4", OF_CONTAINER_MP4},
      /* Wrong: replaced. */
      {OF_CODEC_H264, OF_CODEC_AAC, "a.ogg", "a.mp4", OF_CONTAINER_MP4},
      {OF_CODEC_H264, OF_CODEC_AAC, "a.webm", "a.mp4", OF_CONTAINER_MP4},
      {OF_CODEC_NONE, OF_CODEC_OPUS, "a.mp4", "a.ogg", OF_CONTAINER_OGG},
      {OF_CODEC_VP8, OF_CODEC_OPUS, "a.mp4", "a.webm", OF_CONTAINER_WEBM},
      {OF_CODEC_VP8, OF_CODEC_NONE, "a.ogg", "a.webm", OF_CONTAINER_WEBM},
      {OF_CODEC_NONE, OF_CODEC_AAC, "a.ogg", "a.mp4", OF_CONTAINER_MP4},
      {OF_CODEC_H264, OF_CODEC_AAC, "a.mkv", "a.mp4", OF_CONTAINER_MP4},
      {OF_CODEC_H264, OF_CODEC_AAC, "a.m4a", "a.mp4", OF_CONTAINER_MP4},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) err = NULL;
    g_autofree char *path = NULL;
    OfContainer got =
        of_container_choose(cases[i].video, cases[i].audio, cases[i].asked, &path, &err);
    g_assert_no_error(err);
    g_assert_cmpint(got, ==, cases[i].want);
    g_assert_cmpstr(path, ==, cases[i].want_path);
  }
}

static void test_refuse(void)
{
  struct {
    OfCodec video, audio;
    int code;
    const char *named;
  } cases[] = {
      {OF_CODEC_H264, OF_CODEC_OPUS, SLUICE_OUTPUT_ERROR_CAPS, "Opus"},
      {OF_CODEC_VP8, OF_CODEC_AAC, SLUICE_OUTPUT_ERROR_CAPS, "AAC"},
      {OF_CODEC_H265, OF_CODEC_AAC, SLUICE_OUTPUT_ERROR_CAPS, "H.265"},
      {OF_CODEC_AV1, OF_CODEC_NONE, SLUICE_OUTPUT_ERROR_CAPS, "AV1"},
      {OF_CODEC_H264, OF_CODEC_MP3, SLUICE_OUTPUT_ERROR_CAPS, "MP3"},
      {OF_CODEC_NONE, OF_CODEC_NONE, SLUICE_OUTPUT_ERROR_OPTIONS, "audio-caps"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) err = NULL;
    char *path = NULL;
    OfContainer got = of_container_choose(cases[i].video, cases[i].audio, "a.mp4", &path, &err);
    g_assert_cmpint(got, ==, OF_CONTAINER_NONE);
    g_assert_null(path);
    g_assert_error(err, SLUICE_OUTPUT_ERROR, cases[i].code);
    g_assert_nonnull(strstr(err->message, cases[i].named));
  }
}

static void test_accepts(void)
{
  g_assert_true(of_container_accepts(OF_CONTAINER_MP4, OF_CODEC_H264, OF_CODEC_AAC));
  g_assert_false(of_container_accepts(OF_CONTAINER_MP4, OF_CODEC_NONE, OF_CODEC_NONE));
  g_assert_false(of_container_accepts(OF_CONTAINER_OGG, OF_CODEC_VP8, OF_CODEC_OPUS));
  g_assert_true(of_container_accepts(OF_CONTAINER_WEBM, OF_CODEC_VP9, OF_CODEC_OPUS));
  g_assert_cmpint(of_container_from_extension("x/y.WebM"), ==, OF_CONTAINER_WEBM);
  g_assert_cmpint(of_container_from_extension("x.y/z"), ==, OF_CONTAINER_NONE);
  g_assert_cmpstr(of_codec_name(OF_CODEC_H264), ==, "H.264");
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/output-file/container/choose", test_choose);
  g_test_add_func("/output-file/container/refuse", test_refuse);
  g_test_add_func("/output-file/container/accepts", test_accepts);
  return g_test_run();
}
