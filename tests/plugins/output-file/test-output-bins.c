/* Integration tests for the output-file plugin: the built sluice-output-file.so is opened with
 * GModule (nothing of the core is linked), initialised with a minimal fake SluiceHost, and its
 * bins are run in real pipelines fed by real encoders. What they write is checked with ffprobe
 * and ffmpeg, and the playlists are read back as text.
 *
 * Environment: SLUICE_OUTPUT_FILE_PLUGIN, the path of the built plugin (set by meson).
 * The binary also serves as the child of the crash test: `test-output-bins --crash-child DIR`
 * records into DIR in real time until it is killed.
 */
#include <sluice/plugin.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------- */
/* The plugin, loaded once. */

static const SluicePluginDesc *desc;
static const SluiceOutputVTable *vtable;
static char *load_error;

static void fake_log(const SluiceHost *host, SluiceLogLevel level, const char *message)
{
  g_test_message("plugin log [%d]: %s", (int)level, message);
}

static gint64 fake_config_int(const SluiceHost *host, const char *key)
{
  g_assert_cmpstr(key, ==, "default_segment_duration");
  return 4;
}

static double fake_config_double(const SluiceHost *host, const char *key)
{
  g_assert_cmpstr(key, ==, "fragment_duration");
  return 1.0;
}

static gboolean fake_config_bool(const SluiceHost *host, const char *key)
{
  return FALSE;
}

static const char *fake_config_string(const SluiceHost *host, const char *key)
{
  return NULL;
}

static const char *const *fake_config_strv(const SluiceHost *host, const char *key)
{
  static const char *const empty[] = {NULL};
  return empty;
}

static gboolean fake_config_is_set(const SluiceHost *host, const char *key)
{
  return FALSE;
}

static SluiceMetric *fake_metric_register(const SluiceHost *host, SluiceMetricType type,
                                          const char *name, const char *help,
                                          const char *const *labels)
{
  return NULL;
}

static void fake_metric_value(SluiceMetric *metric, const char *const *labels, double value)
{
}

static void fake_emit_event(const SluiceHost *host, const char *event, const char *json)
{
}

static char *fake_redact(const char *secret)
{
  return g_strdup("{...}");
}

static void fake_register_secret(const SluiceHost *host, const char *secret)
{
}

static const SluiceHost fake_host = {
    .size = sizeof(SluiceHost),
    .abi_major = SLUICE_ABI_MAJOR,
    .abi_minor = SLUICE_ABI_MINOR,
    .plugin = "output-file",
    .node_id = "test-node",
    .process = "handler",
    .log = fake_log,
    .config_bool = fake_config_bool,
    .config_int = fake_config_int,
    .config_double = fake_config_double,
    .config_string = fake_config_string,
    .config_strv = fake_config_strv,
    .config_is_set = fake_config_is_set,
    .metric_register = fake_metric_register,
    .metric_set = fake_metric_value,
    .metric_add = fake_metric_value,
    .emit_event = fake_emit_event,
    .redact = fake_redact,
    .register_secret = fake_register_secret,
};

static gboolean load_plugin(void)
{
  const char *path = g_getenv("SLUICE_OUTPUT_FILE_PLUGIN");
  g_autoptr(GError) err = NULL;
  SluicePluginEntryFunc entry = NULL;
  GModule *module;

  if (path == NULL) {
    load_error = g_strdup("SLUICE_OUTPUT_FILE_PLUGIN is not set");
    return FALSE;
  }
  module = g_module_open(path, G_MODULE_BIND_LOCAL);
  if (module == NULL) {
    load_error = g_strdup_printf("cannot open %s: %s", path, g_module_error());
    return FALSE;
  }
  g_module_make_resident(module);
  if (!g_module_symbol(module, SLUICE_PLUGIN_ENTRY_SYMBOL, (gpointer *)&entry) || !entry) {
    load_error = g_strdup_printf("%s has no %s", path, SLUICE_PLUGIN_ENTRY_SYMBOL);
    return FALSE;
  }
  desc = entry();
  vtable = desc->vtable;
  if (!desc->init(&fake_host, &err)) {
    load_error = g_strdup_printf("init failed: %s", err->message);
    return FALSE;
  }
  return TRUE;
}

#define REQUIRE_PLUGIN()                                                                           \
  do {                                                                                             \
    if (desc == NULL) {                                                                            \
      g_test_fail_printf("plugin not loaded: %s", load_error);                                     \
      return;                                                                                      \
    }                                                                                              \
  } while (0)

/* ---------------------------------------------------------------------------------------- */
/* Encoders and programs this machine has. */

static const char *h264_factory; /* x264enc or openh264enc */
static const char *aac_factory;  /* avenc_aac, fdkaacenc or voaacenc */
static char *ffprobe_path;
static char *ffmpeg_path;

static const char *first_factory(const char *const *names)
{
  for (guint i = 0; names[i] != NULL; i++) {
    g_autoptr(GstElementFactory) f = gst_element_factory_find(names[i]);
    if (f != NULL)
      return names[i];
  }
  return NULL;
}

static void find_tools(void)
{
  static const char *const h264[] = {"x264enc", "openh264enc", NULL};
  static const char *const aac[] = {"avenc_aac", "fdkaacenc", "voaacenc", NULL};
  h264_factory = first_factory(h264);
  aac_factory = first_factory(aac);
  ffprobe_path = g_find_program_in_path("ffprobe");
  ffmpeg_path = g_find_program_in_path("ffmpeg");
}

static gboolean have_factory(const char *name)
{
  g_autoptr(GstElementFactory) f = gst_element_factory_find(name);
  return f != NULL;
}

/* Skips the test (returning TRUE) when something it needs is not installed. */
static gboolean skip_without(gboolean video, gboolean aac)
{
  if (video && h264_factory == NULL) {
    g_test_skip("no H.264 encoder (x264enc or openh264enc)");
    return TRUE;
  }
  if (aac && aac_factory == NULL) {
    g_test_skip("no AAC encoder (avenc_aac, fdkaacenc or voaacenc)");
    return TRUE;
  }
  if (ffprobe_path == NULL || ffmpeg_path == NULL) {
    g_test_skip("ffprobe / ffmpeg not installed");
    return TRUE;
  }
  return FALSE;
}

/* "videotestsrc ... ! <H.264 encoder with a keyframe every `gop` frames> ! h264parse". */
static char *h264_source(guint frames, guint gop, gboolean live)
{
  g_autofree char *enc = NULL;
  if (g_strcmp0(h264_factory, "x264enc") == 0)
    enc = g_strdup_printf("x264enc key-int-max=%u tune=zerolatency speed-preset=ultrafast", gop);
  else
    enc = g_strdup_printf("openh264enc gop-size=%u", gop);
  return g_strdup_printf("videotestsrc num-buffers=%u is-live=%s pattern=ball ! "
                         "video/x-raw,width=320,height=240,framerate=30/1 ! %s ! h264parse",
                         frames, live ? "true" : "false", enc);
}

/* Audio of `seconds` at 48 kHz stereo in 1024-sample buffers, through `encoder` and `parser`. */
static char *audio_source(double seconds, const char *encoder, const char *parser, gboolean live)
{
  guint buffers = (guint)(seconds * 48000 / 1024 + 0.5);
  return g_strdup_printf("audiotestsrc num-buffers=%u samplesperbuffer=1024 is-live=%s ! "
                         "audio/x-raw,rate=48000,channels=2 ! audioconvert ! audioresample ! "
                         "%s ! %s",
                         buffers, live ? "true" : "false", encoder, parser);
}

/* ---------------------------------------------------------------------------------------- */
/* Pipelines. */

/* Feeds `out`'s "video" and "audio" pads from the given source descriptions through plain
 * queues (the handler uses leaky ones; these tests want every buffer). */
static GstElement *build_pipeline(GstElement *out, const char *video_desc, const char *audio_desc)
{
  GstElement *pipeline = gst_pipeline_new(NULL);
  const char *descs[2] = {video_desc, audio_desc};
  const char *pads[2] = {"video", "audio"};

  gst_bin_add(GST_BIN(pipeline), out);
  for (guint i = 0; i < 2; i++) {
    g_autoptr(GError) err = NULL;
    g_autoptr(GstPad) src_pad = NULL;
    g_autoptr(GstPad) sink_pad = NULL;
    GstElement *src, *queue;
    if (descs[i] == NULL)
      continue;
    src = gst_parse_bin_from_description(descs[i], TRUE, &err);
    g_assert_no_error(err);
    queue = gst_element_factory_make("queue", NULL);
    gst_bin_add_many(GST_BIN(pipeline), src, queue, NULL);
    g_assert_true(gst_element_link(src, queue));
    src_pad = gst_element_get_static_pad(queue, "src");
    sink_pad = gst_element_get_static_pad(out, pads[i]);
    g_assert_nonnull(sink_pad);
    g_assert_cmpint(gst_pad_link(src_pad, sink_pad), ==, GST_PAD_LINK_OK);
  }
  return pipeline;
}

typedef struct {
  GPtrArray *reports; /* GstStructure: every "sluice-output" message, in bus order */
  guint reports_at_eos;
} RunResult;

static void run_result_clear(RunResult *r)
{
  g_clear_pointer(&r->reports, g_ptr_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(RunResult, run_result_clear)

static void collect_report(RunResult *r, GstMessage *msg)
{
  const GstStructure *s = gst_message_get_structure(msg);
  if (s != NULL && gst_structure_has_name(s, "sluice-output"))
    g_ptr_array_add(r->reports, gst_structure_copy(s));
}

/* Runs `pipeline` to EOS, failing on an error or after `timeout_s`. */
static void run_to_eos(GstElement *pipeline, RunResult *r, guint timeout_s)
{
  g_autoptr(GstBus) bus = gst_element_get_bus(pipeline);
  gint64 deadline = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;
  gboolean done = FALSE;

  r->reports = g_ptr_array_new_with_free_func((GDestroyNotify)gst_structure_free);
  g_assert_cmpint(gst_element_set_state(pipeline, GST_STATE_PLAYING), !=, GST_STATE_CHANGE_FAILURE);
  while (!done) {
    GstMessage *msg = gst_bus_timed_pop_filtered(
        bus, 100 * GST_MSECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT);
    if (msg == NULL) {
      g_assert_cmpint(g_get_monotonic_time(), <, deadline);
      continue;
    }
    switch (GST_MESSAGE_TYPE(msg)) {
    case GST_MESSAGE_ERROR: {
      g_autoptr(GError) err = NULL;
      g_autofree char *debug = NULL;
      gst_message_parse_error(msg, &err, &debug);
      g_test_message("error from %s: %s", GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), debug);
      g_assert_no_error(err);
      break;
    }
    case GST_MESSAGE_ELEMENT:
      collect_report(r, msg);
      break;
    case GST_MESSAGE_EOS:
      r->reports_at_eos = r->reports->len;
      done = TRUE;
      break;
    default:
      break;
    }
    gst_message_unref(msg);
  }
  g_assert_cmpint(gst_element_set_state(pipeline, GST_STATE_NULL), ==, GST_STATE_CHANGE_SUCCESS);
}

static const GstStructure *find_report(const RunResult *r, const char *event, guint nth)
{
  for (guint i = 0; i < r->reports->len; i++) {
    const GstStructure *s = g_ptr_array_index(r->reports, i);
    if (g_strcmp0(gst_structure_get_string(s, "event"), event) == 0 && nth-- == 0)
      return s;
  }
  return NULL;
}

static guint count_reports(const RunResult *r, const char *event)
{
  guint n = 0;
  while (find_report(r, event, n) != NULL)
    n++;
  return n;
}

static guint64 report_u64(const GstStructure *s, const char *field)
{
  guint64 v = 0;
  g_assert_true(gst_structure_get_uint64(s, field, &v));
  return v;
}

static GstStructure *options_new(const char *video_caps, const char *audio_caps)
{
  GstStructure *o = gst_structure_new_empty("options");
  if (video_caps != NULL) {
    g_autoptr(GstCaps) caps = gst_caps_from_string(video_caps);
    gst_structure_set(o, "video-caps", GST_TYPE_CAPS, caps, NULL);
  }
  if (audio_caps != NULL) {
    g_autoptr(GstCaps) caps = gst_caps_from_string(audio_caps);
    gst_structure_set(o, "audio-caps", GST_TYPE_CAPS, caps, NULL);
  }
  return o;
}

#define H264_CAPS "video/x-h264"
#define AAC_CAPS  "audio/mpeg,mpegversion=4"
#define OPUS_CAPS "audio/x-opus"
#define VP8_CAPS  "video/x-vp8"

static GstElement *make_bin(const char *type, const GstStructure *options, const char *dir)
{
  g_autoptr(GError) err = NULL;
  GstElement *bin = vtable->make_bin(type, options, dir, &err);
  g_assert_no_error(err);
  g_assert_nonnull(bin);
  g_assert_true(g_object_is_floating(bin));
  return bin;
}

/* ---------------------------------------------------------------------------------------- */
/* ffprobe / ffmpeg. */

static JsonNode *ffprobe(const char *path)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(JsonParser) parser = json_parser_new();
  g_autofree char *out = NULL, *errout = NULL;

  proc = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &err,
                          ffprobe_path, "-v", "error", "-of", "json", "-show_format",
                          "-show_streams", path, NULL);
  g_assert_no_error(err);
  g_assert_true(g_subprocess_communicate_utf8(proc, NULL, NULL, &out, &errout, &err));
  g_assert_no_error(err);
  if (!g_subprocess_get_successful(proc))
    g_test_message("ffprobe %s: %s", path, errout);
  g_assert_true(g_subprocess_get_successful(proc));
  g_assert_true(json_parser_load_from_data(parser, out, -1, &err));
  g_assert_no_error(err);
  return json_node_copy(json_parser_get_root(parser));
}

static JsonObject *probe_stream(JsonNode *root, const char *codec_type)
{
  JsonArray *streams = json_object_get_array_member(json_node_get_object(root), "streams");
  for (guint i = 0; i < json_array_get_length(streams); i++) {
    JsonObject *s = json_array_get_object_element(streams, i);
    if (g_strcmp0(json_object_get_string_member_with_default(s, "codec_type", ""), codec_type) == 0)
      return s;
  }
  return NULL;
}

static guint probe_stream_count(JsonNode *root)
{
  return json_array_get_length(json_object_get_array_member(json_node_get_object(root), "streams"));
}

static double probe_duration(JsonNode *root)
{
  JsonObject *format = json_object_get_object_member(json_node_get_object(root), "format");
  const char *d = json_object_get_string_member_with_default(format, "duration", "0");
  return g_ascii_strtod(d, NULL);
}

static const char *probe_format_name(JsonNode *root)
{
  JsonObject *format = json_object_get_object_member(json_node_get_object(root), "format");
  return json_object_get_string_member_with_default(format, "format_name", "");
}

/* Decodes every stream of `path` with ffmpeg: it must succeed and print no error. */
static void assert_decodes(const char *path)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autofree char *errout = NULL;

  proc =
      g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &err,
                       ffmpeg_path, "-nostdin", "-v", "error", "-i", path, "-f", "null", "-", NULL);
  g_assert_no_error(err);
  g_assert_true(g_subprocess_communicate_utf8(proc, NULL, NULL, NULL, &errout, &err));
  g_assert_no_error(err);
  if (errout != NULL && errout[0] != '\0')
    g_test_message("ffmpeg decoding %s said: %s", path, errout);
  g_assert_true(g_subprocess_get_successful(proc));
  g_assert_cmpstr(errout, ==, "");
}

static void assert_stream(JsonNode *root, const char *type, const char *codec, int width,
                          int height)
{
  JsonObject *s = probe_stream(root, type);
  g_assert_nonnull(s);
  g_assert_cmpstr(json_object_get_string_member(s, "codec_name"), ==, codec);
  if (width > 0) {
    g_assert_cmpint(json_object_get_int_member(s, "width"), ==, width);
    g_assert_cmpint(json_object_get_int_member(s, "height"), ==, height);
  }
}

static char *make_tmp_dir(void)
{
  g_autoptr(GError) err = NULL;
  char *dir = g_dir_make_tmp("sluice-output-file-XXXXXX", &err);
  g_assert_no_error(err);
  return dir;
}

static void remove_tree(const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path(path);
  g_autoptr(GFileEnumerator) children = g_file_enumerate_children(
      file, G_FILE_ATTRIBUTE_STANDARD_NAME, G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  GFileInfo *info;
  if (g_getenv("SLUICE_TEST_KEEP") != NULL)
    return;
  while (children != NULL && (info = g_file_enumerator_next_file(children, NULL, NULL)) != NULL) {
    g_autofree char *child = g_build_filename(path, g_file_info_get_name(info), NULL);
    if (g_file_info_get_file_type(info) == G_FILE_TYPE_DIRECTORY)
      remove_tree(child);
    else
      g_unlink(child);
    g_object_unref(info);
  }
  g_rmdir(path);
}

static guint64 file_size(const char *path)
{
  GStatBuf st;
  g_assert_cmpint(g_stat(path, &st), ==, 0);
  return (guint64)st.st_size;
}

#define assert_near(value, want, tolerance)                                                        \
  do {                                                                                             \
    double v_ = (value), w_ = (want), t_ = (tolerance);                                            \
    if (v_ < w_ - t_ || v_ > w_ + t_)                                                              \
      g_error("%s = %.3f, expected %.3f +- %.3f", #value, v_, w_, t_);                             \
  } while (0)

/* ---------------------------------------------------------------------------------------- */
/* Descriptor. */

static void test_descriptor(void)
{
  const SluiceConfigKey *k;
  gboolean file = FALSE, segments = FALSE;
  REQUIRE_PLUGIN();
  g_assert_cmpuint(desc->abi_major, ==, SLUICE_ABI_MAJOR);
  g_assert_cmpuint(desc->abi_minor, <=, SLUICE_ABI_MINOR);
  g_assert_cmpuint(desc->size, ==, sizeof(SluicePluginDesc));
  g_assert_cmpint(desc->kind, ==, SLUICE_PLUGIN_KIND_OUTPUT);
  g_assert_cmpstr(desc->name, ==, "output-file");
  g_assert_cmpuint(vtable->size, ==, sizeof(SluiceOutputVTable));
  g_assert_nonnull(vtable->make_bin);
  for (guint i = 0; vtable->output_types[i] != NULL; i++) {
    file = file || g_strcmp0(vtable->output_types[i], "file") == 0;
    segments = segments || g_strcmp0(vtable->output_types[i], "segments") == 0;
  }
  g_assert_true(file && segments);
  k = desc->config_keys;
  g_assert_cmpstr(k[0].name, ==, "fragment_duration");
  g_assert_cmpint(k[0].type, ==, SLUICE_CONFIG_DURATION);
  g_assert_cmpstr(k[0].default_value, ==, "1s");
  g_assert_cmpstr(k[1].name, ==, "default_segment_duration");
  g_assert_cmpint(k[1].type, ==, SLUICE_CONFIG_INT);
  g_assert_cmpstr(k[1].default_value, ==, "4");
  g_assert_null(k[2].name);
}

/* ---------------------------------------------------------------------------------------- */
/* "file" */

static void test_file_mp4(void)
{
  g_autofree char *dir = NULL, *video = NULL, *audio = NULL, *path = NULL, *prop = NULL;
  g_autoptr(GstStructure) options = NULL;
  g_autoptr(JsonNode) probe = NULL;
  g_auto(RunResult) r = {0};
  const GstStructure *closed;
  GstElement *pipeline, *bin;
  gint64 start_time = 0;

  REQUIRE_PLUGIN();
  if (skip_without(TRUE, TRUE))
    return;
  dir = make_tmp_dir();
  options = options_new(H264_CAPS, AAC_CAPS);
  /* No extension: ".mp4" is appended; the directory is created. */
  gst_structure_set(options, "filepath", G_TYPE_STRING, "rec/room/out", NULL);
  bin = make_bin("file", options, dir);
  g_object_get(bin, "filename", &prop, NULL);
  g_assert_cmpstr(prop, ==, "rec/room/out.mp4");

  video = h264_source(150, 30, FALSE);
  audio = audio_source(5.0, aac_factory, "aacparse", FALSE);
  pipeline = build_pipeline(bin, video, audio);
  run_to_eos(pipeline, &r, 60);
  gst_object_unref(pipeline);

  g_assert_cmpuint(count_reports(&r, "file-closed"), ==, 1);
  closed = find_report(&r, "file-closed", 0);
  /* The report is on the bus before the EOS that ends the pipeline. */
  g_assert_cmpuint(r.reports_at_eos, ==, r.reports->len);
  g_assert_cmpstr(gst_structure_get_string(closed, "output-type"), ==, "file");
  g_assert_cmpstr(gst_structure_get_string(closed, "filename"), ==, "rec/room/out.mp4");
  path = g_build_filename(dir, "rec/room/out.mp4", NULL);
  g_assert_cmpuint(report_u64(closed, "size"), ==, file_size(path));
  assert_near(report_u64(closed, "duration") / 1e9, 5.0, 0.3);
  g_assert_true(gst_structure_get_int64(closed, "start-time", &start_time));
  assert_near((double)(g_get_real_time() * 1000 - start_time) / 1e9, 5.0, 5.0);

  probe = ffprobe(path);
  g_assert_nonnull(strstr(probe_format_name(probe), "mp4"));
  g_assert_cmpuint(probe_stream_count(probe), ==, 2);
  assert_stream(probe, "video", "h264", 320, 240);
  assert_stream(probe, "audio", "aac", 0, 0);
  assert_near(probe_duration(probe), 5.0, 0.3);
  assert_decodes(path);
  remove_tree(dir);
}

static void test_file_mp4_audio_only(void)
{
  g_autofree char *dir = NULL, *audio = NULL, *path = NULL;
  g_autoptr(GstStructure) options = NULL;
  g_autoptr(JsonNode) probe = NULL;
  g_auto(RunResult) r = {0};
  GstElement *pipeline;

  REQUIRE_PLUGIN();
  if (skip_without(FALSE, TRUE))
    return;
  dir = make_tmp_dir();
  options = options_new(NULL, AAC_CAPS);
  /* A wrong known extension is replaced: AAC does not go into Ogg. */
  gst_structure_set(options, "filepath", G_TYPE_STRING, "talk.ogg", NULL);
  audio = audio_source(3.0, aac_factory, "aacparse", FALSE);
  pipeline = build_pipeline(make_bin("file", options, dir), NULL, audio);
  run_to_eos(pipeline, &r, 60);
  gst_object_unref(pipeline);

  g_assert_cmpstr(gst_structure_get_string(find_report(&r, "file-closed", 0), "filename"), ==,
                  "talk.mp4");
  path = g_build_filename(dir, "talk.mp4", NULL);
  probe = ffprobe(path);
  g_assert_cmpuint(probe_stream_count(probe), ==, 1);
  assert_stream(probe, "audio", "aac", 0, 0);
  assert_near(probe_duration(probe), 3.0, 0.3);
  assert_decodes(path);
  remove_tree(dir);
}

static void test_file_ogg_opus(void)
{
  g_autofree char *dir = NULL, *audio = NULL, *path = NULL;
  g_autoptr(GstStructure) options = NULL;
  g_autoptr(JsonNode) probe = NULL;
  g_auto(RunResult) r = {0};
  GstElement *pipeline;

  REQUIRE_PLUGIN();
  if (skip_without(FALSE, FALSE))
    return;
  if (!have_factory("opusenc")) {
    g_test_skip("no opusenc");
    return;
  }
  dir = make_tmp_dir();
  options = options_new(NULL, OPUS_CAPS);
  gst_structure_set(options, "filepath", G_TYPE_STRING, "voice", NULL);
  audio = audio_source(3.0, "opusenc", "opusparse", FALSE);
  pipeline = build_pipeline(make_bin("file", options, dir), NULL, audio);
  run_to_eos(pipeline, &r, 60);
  gst_object_unref(pipeline);

  g_assert_cmpstr(gst_structure_get_string(find_report(&r, "file-closed", 0), "filename"), ==,
                  "voice.ogg");
  path = g_build_filename(dir, "voice.ogg", NULL);
  probe = ffprobe(path);
  g_assert_cmpstr(probe_format_name(probe), ==, "ogg");
  assert_stream(probe, "audio", "opus", 0, 0);
  assert_near(probe_duration(probe), 3.0, 0.3);
  assert_decodes(path);
  remove_tree(dir);
}

static void test_file_webm(void)
{
  g_autofree char *dir = NULL, *audio = NULL, *path = NULL;
  g_autoptr(GstStructure) options = NULL;
  g_autoptr(JsonNode) probe = NULL;
  g_auto(RunResult) r = {0};
  GstElement *pipeline;
  const char *video = "videotestsrc num-buffers=90 ! "
                      "video/x-raw,width=320,height=240,framerate=30/1 ! "
                      "vp8enc deadline=1 keyframe-max-dist=30";

  REQUIRE_PLUGIN();
  if (skip_without(FALSE, FALSE))
    return;
  if (!have_factory("vp8enc") || !have_factory("opusenc")) {
    g_test_skip("no vp8enc / opusenc");
    return;
  }
  dir = make_tmp_dir();
  options = options_new(VP8_CAPS, OPUS_CAPS);
  gst_structure_set(options, "filepath", G_TYPE_STRING, "clip.mp4", NULL);
  audio = audio_source(3.0, "opusenc", "opusparse", FALSE);
  pipeline = build_pipeline(make_bin("file", options, dir), video, audio);
  run_to_eos(pipeline, &r, 60);
  gst_object_unref(pipeline);

  g_assert_cmpstr(gst_structure_get_string(find_report(&r, "file-closed", 0), "filename"), ==,
                  "clip.webm");
  path = g_build_filename(dir, "clip.webm", NULL);
  probe = ffprobe(path);
  g_assert_nonnull(strstr(probe_format_name(probe), "webm"));
  assert_stream(probe, "video", "vp8", 320, 240);
  assert_stream(probe, "audio", "opus", 0, 0);
  assert_near(probe_duration(probe), 3.0, 0.3);
  assert_decodes(path);
  remove_tree(dir);
}

static void assert_refused(const char *type, GstStructure *options, int code, const char *named)
{
  g_autoptr(GError) err = NULL;
  GstElement *bin = vtable->make_bin(type, options, "/tmp", &err);
  g_assert_null(bin);
  g_assert_error(err, SLUICE_OUTPUT_ERROR, code);
  if (strstr(err->message, named) == NULL)
    g_error("'%s' does not name '%s'", err->message, named);
  gst_structure_free(options);
}

static GstStructure *file_options(const char *video, const char *audio, const char *filepath)
{
  GstStructure *o = options_new(video, audio);
  if (filepath != NULL)
    gst_structure_set(o, "filepath", G_TYPE_STRING, filepath, NULL);
  return o;
}

static void test_file_refused(void)
{
  REQUIRE_PLUGIN();
  assert_refused("file", file_options(H264_CAPS, OPUS_CAPS, "a.mp4"), SLUICE_OUTPUT_ERROR_CAPS,
                 "Opus");
  assert_refused("file", file_options("video/x-h265", AAC_CAPS, "a.mp4"), SLUICE_OUTPUT_ERROR_CAPS,
                 "H.265");
  assert_refused("file", file_options(VP8_CAPS, AAC_CAPS, "a.webm"), SLUICE_OUTPUT_ERROR_CAPS,
                 "AAC");
  assert_refused("file", file_options("video/x-raw", NULL, "a.mp4"), SLUICE_OUTPUT_ERROR_CAPS,
                 "video/x-raw");
  assert_refused("file", file_options(AAC_CAPS, NULL, "a.mp4"), SLUICE_OUTPUT_ERROR_CAPS,
                 "video-caps");
  assert_refused("file", file_options(H264_CAPS, NULL, "../escape.mp4"),
                 SLUICE_OUTPUT_ERROR_OPTIONS, "filepath");
  assert_refused("file", file_options(H264_CAPS, NULL, "/abs.mp4"), SLUICE_OUTPUT_ERROR_OPTIONS,
                 "filepath");
  assert_refused("file", file_options(H264_CAPS, NULL, NULL), SLUICE_OUTPUT_ERROR_OPTIONS,
                 "filepath");
  assert_refused("file", file_options(NULL, NULL, "a.mp4"), SLUICE_OUTPUT_ERROR_OPTIONS, "caps");
  assert_refused("images", file_options(H264_CAPS, NULL, "a.mp4"), SLUICE_OUTPUT_ERROR_OPTIONS,
                 "images");
}

/* ---------------------------------------------------------------------------------------- */
/* "segments" */

static char *read_text(const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename(dir, name, NULL);
  g_autoptr(GError) err = NULL;
  char *text = NULL;
  g_assert_true(g_file_get_contents(path, &text, NULL, &err));
  g_assert_no_error(err);
  return text;
}

static guint count_prefix(const char *text, const char *prefix)
{
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  guint n = 0;
  for (guint i = 0; lines[i] != NULL; i++)
    n += g_str_has_prefix(lines[i], prefix);
  return n;
}

static guint tag_uint(const char *text, const char *tag)
{
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix(lines[i], tag) && lines[i][strlen(tag)] == ':')
      return (guint)g_ascii_strtoull(lines[i] + strlen(tag) + 1, NULL, 10);
  g_error("no %s in:\n%s", tag, text);
  return 0;
}

/* RFC 8216 §4.3.3.1, checked on the text: each EXTINF rounded <= TARGETDURATION. Returns the
 * largest rounded EXTINF. */
static guint assert_target_rule(const char *text)
{
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  guint target = tag_uint(text, "#EXT-X-TARGETDURATION"), largest = 0;
  for (guint i = 0; lines[i] != NULL; i++) {
    if (g_str_has_prefix(lines[i], "#EXTINF:")) {
      guint rounded = (guint)(g_ascii_strtod(lines[i] + 8, NULL) + 0.5);
      g_assert_cmpuint(rounded, <=, target);
      largest = MAX(largest, rounded);
    }
  }
  return largest;
}

/* The URIs (non-tag lines) of a playlist. */
static GPtrArray *playlist_uris(const char *text)
{
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  GPtrArray *uris = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; lines[i] != NULL; i++)
    if (lines[i][0] != '\0' && lines[i][0] != '#')
      g_ptr_array_add(uris, g_strdup(lines[i]));
  return uris;
}

static void test_segments_hls(void)
{
  g_autofree char *dir = NULL, *video = NULL, *audio = NULL, *main_text = NULL;
  g_autofree char *live_text = NULL, *playlist_path = NULL;
  g_autoptr(GstStructure) options = NULL;
  g_autoptr(JsonNode) whole = NULL;
  g_autoptr(GPtrArray) uris = NULL;
  g_auto(RunResult) r = {0};
  const GstStructure *last_main = NULL, *last_live = NULL;
  GstElement *pipeline;
  const double want[3] = {4.0, 4.0, 2.0};
  guint n_updates;

  REQUIRE_PLUGIN();
  if (skip_without(TRUE, TRUE))
    return;
  dir = make_tmp_dir();
  options = options_new(H264_CAPS, AAC_CAPS);
  gst_structure_set(options, "filename_prefix", G_TYPE_STRING, "hls/seg", "live_playlist_name",
                    G_TYPE_STRING, "hls/live.m3u8", "segment_duration", G_TYPE_INT, 4,
                    "filename_suffix", G_TYPE_STRING, "INDEX", NULL);
  video = h264_source(300, 30, FALSE);
  audio = audio_source(10.0, aac_factory, "aacparse", FALSE);
  pipeline = build_pipeline(make_bin("segments", options, dir), video, audio);
  run_to_eos(pipeline, &r, 90);
  gst_object_unref(pipeline);

  /* Segments: three of 4 + 4 + 2 s, named by index, each playable on its own. */
  g_assert_cmpuint(count_reports(&r, "segment-closed"), ==, 3);
  for (guint i = 0; i < 3; i++) {
    const GstStructure *s = find_report(&r, "segment-closed", i);
    g_autofree char *name = g_strdup_printf("hls/seg_%05u.ts", i);
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autoptr(JsonNode) probe = NULL;
    g_assert_cmpstr(gst_structure_get_string(s, "output-type"), ==, "segments");
    g_assert_cmpstr(gst_structure_get_string(s, "filename"), ==, name);
    g_assert_cmpuint(report_u64(s, "size"), ==, file_size(path));
    assert_near(report_u64(s, "duration") / 1e9, want[i], 0.15);
    g_assert_true(gst_structure_has_field(s, "start-time"));
    probe = ffprobe(path);
    g_assert_cmpstr(probe_format_name(probe), ==, "mpegts");
    assert_stream(probe, "video", "h264", 320, 240);
    assert_stream(probe, "audio", "aac", 0, 0);
    assert_decodes(path);
  }

  /* Playlist reports: one per playlist per segment, plus the final ones with ENDLIST, all
   * before the EOS. */
  n_updates = count_reports(&r, "playlist-updated");
  g_assert_cmpuint(n_updates, ==, 8);
  g_assert_cmpuint(r.reports_at_eos, ==, r.reports->len);
  for (guint i = 0; i < n_updates; i++) {
    const GstStructure *s = find_report(&r, "playlist-updated", i);
    gboolean live = FALSE;
    g_assert_true(gst_structure_get_boolean(s, "live", &live));
    if (live)
      last_live = s;
    else
      last_main = s;
  }
  {
    gboolean ended = FALSE;
    guint count = 0;
    g_assert_cmpstr(gst_structure_get_string(last_main, "filename"), ==, "hls/playlist.m3u8");
    g_assert_true(gst_structure_get_boolean(last_main, "ended", &ended) && ended);
    g_assert_true(gst_structure_get_uint(last_main, "segment-count", &count));
    g_assert_cmpuint(count, ==, 3);
    assert_near(report_u64(last_main, "duration") / 1e9, 10.0, 0.2);
    g_assert_cmpstr(gst_structure_get_string(last_live, "filename"), ==, "hls/live.m3u8");
  }

  /* The main playlist as a player reads it. */
  main_text = read_text(dir, "hls/playlist.m3u8");
  g_test_message("playlist:\n%s", main_text);
  g_assert_true(g_str_has_prefix(main_text, "#EXTM3U\n"));
  g_assert_nonnull(strstr(main_text, "#EXT-X-PLAYLIST-TYPE:EVENT\n"));
  g_assert_true(g_str_has_suffix(main_text, "#EXT-X-ENDLIST\n"));
  g_assert_cmpuint(count_prefix(main_text, "#EXTINF:"), ==, 3);
  g_assert_cmpuint(count_prefix(main_text, "#EXT-X-PROGRAM-DATE-TIME:"), ==, 3);
  g_assert_cmpuint(tag_uint(main_text, "#EXT-X-MEDIA-SEQUENCE"), ==, 0);
  g_assert_cmpuint(tag_uint(main_text, "#EXT-X-TARGETDURATION"), ==, 4);
  g_assert_cmpuint(assert_target_rule(main_text), ==, 4);
  uris = playlist_uris(main_text);
  g_assert_cmpuint(uris->len, ==, 3);
  g_assert_cmpstr(g_ptr_array_index(uris, 0), ==, "seg_00000.ts");
  g_assert_cmpstr(g_ptr_array_index(uris, 2), ==, "seg_00002.ts");

  live_text = read_text(dir, "hls/live.m3u8");
  g_assert_null(strstr(live_text, "PLAYLIST-TYPE"));
  g_assert_true(g_str_has_suffix(live_text, "#EXT-X-ENDLIST\n"));
  g_assert_cmpuint(count_prefix(live_text, "#EXTINF:"), ==, 3);
  assert_target_rule(live_text);

  /* ffprobe follows the playlist through all segments. */
  playlist_path = g_build_filename(dir, "hls/playlist.m3u8", NULL);
  whole = ffprobe(playlist_path);
  assert_near(probe_duration(whole), 10.0, 0.3);
  remove_tree(dir);
}

static gboolean is_timestamp_name(const char *name, const char *prefix)
{
  size_t n = strlen(prefix);
  if (strncmp(name, prefix, n) != 0 || name[n] != '_' || strlen(name) != n + 1 + 14 + 3)
    return FALSE;
  for (guint i = 0; i < 14; i++)
    if (!g_ascii_isdigit(name[n + 1 + i]))
      return FALSE;
  return g_str_has_suffix(name, ".ts");
}

static void test_segments_timestamp_long_gop(void)
{
  g_autofree char *dir = NULL, *video = NULL, *text = NULL;
  g_autoptr(GstStructure) options = NULL;
  g_auto(RunResult) r = {0};
  GstElement *pipeline;
  const char *prev = NULL;

  REQUIRE_PLUGIN();
  if (skip_without(TRUE, FALSE))
    return;
  dir = make_tmp_dir();
  options = options_new(H264_CAPS, NULL);
  /* Segments asked for 2 s, but keyframes only every 5 s: each segment is a whole GOP, and the
   * target duration follows the longest one. */
  gst_structure_set(options, "filename_prefix", G_TYPE_STRING, "ts/cam", "playlist_name",
                    G_TYPE_STRING, "ts/index", "segment_duration", G_TYPE_UINT, 2,
                    "filename_suffix", G_TYPE_STRING, "TIMESTAMP", NULL);
  video = h264_source(360, 150, FALSE);
  pipeline = build_pipeline(make_bin("segments", options, dir), video, NULL);
  run_to_eos(pipeline, &r, 60);
  gst_object_unref(pipeline);

  g_assert_cmpuint(count_reports(&r, "segment-closed"), ==, 3);
  for (guint i = 0; i < 3; i++) {
    const char *name = gst_structure_get_string(find_report(&r, "segment-closed", i), "filename");
    g_autofree char *path = g_build_filename(dir, name, NULL);
    if (!is_timestamp_name(name, "ts/cam"))
      g_error("segment name %s is not ts/cam_YYYYMMDDHHMMSS.ts", name);
    g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
    g_assert_cmpstr(name, !=, prev);
    prev = name;
  }
  text = read_text(dir, "ts/index.m3u8");
  g_test_message("playlist:\n%s", text);
  g_assert_cmpuint(tag_uint(text, "#EXT-X-TARGETDURATION"), ==, 5);
  g_assert_cmpuint(assert_target_rule(text), ==, 5);
  g_assert_true(g_str_has_suffix(text, "#EXT-X-ENDLIST\n"));
  remove_tree(dir);
}

static GstStructure *segment_options(const char *video, const char *audio)
{
  GstStructure *o = options_new(video, audio);
  gst_structure_set(o, "filename_prefix", G_TYPE_STRING, "s", NULL);
  return o;
}

static void test_segments_refused(void)
{
  GstStructure *o;
  REQUIRE_PLUGIN();
  assert_refused("segments", segment_options(VP8_CAPS, NULL), SLUICE_OUTPUT_ERROR_CAPS, "VP8");
  assert_refused("segments", segment_options(H264_CAPS, OPUS_CAPS), SLUICE_OUTPUT_ERROR_CAPS,
                 "Opus");
  assert_refused("segments", segment_options(NULL, NULL), SLUICE_OUTPUT_ERROR_OPTIONS, "caps");
  o = segment_options(H264_CAPS, NULL);
  gst_structure_set(o, "filename_suffix", G_TYPE_STRING, "RANDOM", NULL);
  assert_refused("segments", o, SLUICE_OUTPUT_ERROR_OPTIONS, "filename_suffix");
  o = segment_options(H264_CAPS, NULL);
  gst_structure_set(o, "segment_duration", G_TYPE_INT, -1, NULL);
  assert_refused("segments", o, SLUICE_OUTPUT_ERROR_OPTIONS, "segment_duration");
  o = segment_options(H264_CAPS, NULL);
  gst_structure_set(o, "playlist_name", G_TYPE_STRING, "p.m3u8", "live_playlist_name",
                    G_TYPE_STRING, "p", NULL);
  assert_refused("segments", o, SLUICE_OUTPUT_ERROR_OPTIONS, "live_playlist_name");
  o = segment_options(H264_CAPS, NULL);
  gst_structure_set(o, "filename_prefix", G_TYPE_STRING, "a/../../b", NULL);
  assert_refused("segments", o, SLUICE_OUTPUT_ERROR_OPTIONS, "filename_prefix");
}

/* ---------------------------------------------------------------------------------------- */
/* A bin attached to a running live pipeline and detached with EOS, as the handler does. */

typedef struct {
  GstElement *queue;
} Detach;

static GstPadProbeReturn detach_blocked(GstPad *tee_pad, GstPadProbeInfo *info, gpointer data)
{
  Detach *d = data;
  g_autoptr(GstPad) queue_sink = gst_element_get_static_pad(d->queue, "sink");
  gst_pad_unlink(tee_pad, queue_sink);
  gst_pad_send_event(queue_sink, gst_event_new_eos());
  return GST_PAD_PROBE_REMOVE;
}

/* Runs a live H.264 pipeline, attaches an output of `type` ("file" or "segments") from its tee
 * 1.5 s in (mid-GOP), detaches it with EOS 5 s later and waits for its final report, while the
 * rest of the pipeline goes on. */
static void test_attached_live(gconstpointer data)
{
  const char *type = data;
  gboolean is_file = g_strcmp0(type, "file") == 0;
  g_autofree char *dir = NULL, *video = NULL, *desc_text = NULL, *first = NULL;
  g_autoptr(GstStructure) options = NULL;
  g_autoptr(GError) err = NULL;
  g_autoptr(GstBus) bus = NULL;
  g_autoptr(GstPad) tee_pad = NULL;
  g_autoptr(GstPad) queue_src = NULL;
  g_autoptr(GstPad) ghost = NULL;
  g_autoptr(JsonNode) probe = NULL;
  GstElement *pipeline, *tee, *queue, *bin;
  gboolean finished = FALSE;
  gint64 deadline;
  Detach d;

  REQUIRE_PLUGIN();
  if (skip_without(TRUE, FALSE))
    return;
  dir = make_tmp_dir();
  video = h264_source(100000, 30, TRUE);
  desc_text = g_strdup_printf("%s ! tee name=t allow-not-linked=true ! queue ! fakesink", video);
  pipeline = gst_parse_launch(desc_text, &err);
  g_assert_no_error(err);
  bus = gst_element_get_bus(pipeline);
  g_assert_cmpint(gst_element_set_state(pipeline, GST_STATE_PLAYING), !=, GST_STATE_CHANGE_FAILURE);
  /* Join mid-GOP: 1.5 s in, half-way between two keyframes. */
  g_usleep(1500 * 1000);

  options = options_new(H264_CAPS, NULL);
  if (is_file)
    gst_structure_set(options, "filepath", G_TYPE_STRING, "live/rec.mp4", NULL);
  else
    gst_structure_set(options, "filename_prefix", G_TYPE_STRING, "live/seg", "segment_duration",
                      G_TYPE_INT, 2, NULL);
  bin = make_bin(type, options, dir);
  queue = gst_element_factory_make("queue", NULL);
  g_object_set(queue, "leaky", 2, "max-size-buffers", 0, "max-size-bytes", 0, "max-size-time",
               (guint64)2 * GST_SECOND, NULL);
  gst_bin_add_many(GST_BIN(pipeline), queue, bin, NULL);
  tee = gst_bin_get_by_name(GST_BIN(pipeline), "t");
  tee_pad = gst_element_request_pad_simple(tee, "src_%u");
  queue_src = gst_element_get_static_pad(queue, "src");
  ghost = gst_element_get_static_pad(bin, "video");
  g_assert_cmpint(gst_pad_link(queue_src, ghost), ==, GST_PAD_LINK_OK);
  g_assert_true(gst_element_sync_state_with_parent(bin));
  g_assert_true(gst_element_sync_state_with_parent(queue));
  {
    g_autoptr(GstPad) queue_sink = gst_element_get_static_pad(queue, "sink");
    g_assert_cmpint(gst_pad_link(tee_pad, queue_sink), ==, GST_PAD_LINK_OK);
  }

  g_usleep(5 * G_USEC_PER_SEC);
  d.queue = queue;
  gst_pad_add_probe(tee_pad, GST_PAD_PROBE_TYPE_BLOCK_DOWNSTREAM, detach_blocked, &d, NULL);

  /* The last report ("file-closed", or the playlist update with ENDLIST) says it is finished. */
  deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
  while (!finished) {
    GstMessage *msg =
        gst_bus_timed_pop_filtered(bus, 100 * GST_MSECOND, GST_MESSAGE_ELEMENT | GST_MESSAGE_ERROR);
    const GstStructure *s;
    g_assert_cmpint(g_get_monotonic_time(), <, deadline);
    if (msg == NULL)
      continue;
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      gst_message_parse_error(msg, &err, NULL);
      g_assert_no_error(err);
    }
    s = gst_message_get_structure(msg);
    if (gst_message_has_name(msg, "sluice-output")) {
      const char *event = gst_structure_get_string(s, "event");
      if (g_strcmp0(event, "file-closed") == 0)
        finished = TRUE;
      else if (g_strcmp0(event, "playlist-updated") == 0)
        gst_structure_get_boolean(s, "ended", &finished);
    }
    gst_message_unref(msg);
  }

  /* Detach the finished bin while the rest of the pipeline goes on. */
  gst_element_set_state(bin, GST_STATE_NULL);
  gst_element_set_state(queue, GST_STATE_NULL);
  gst_bin_remove_many(GST_BIN(pipeline), bin, queue, NULL);
  gst_element_release_request_pad(tee, tee_pad);
  gst_object_unref(tee);
  g_usleep(200 * 1000);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);

  if (is_file) {
    first = g_build_filename(dir, "live/rec.mp4", NULL);
    probe = ffprobe(first);
    /* Joined at 1.5 s, recording starts at the keyframe at 2 s; detached at 6.5 s. */
    assert_near(probe_duration(probe), 4.5, 1.0);
    assert_stream(probe, "video", "h264", 320, 240);
  } else {
    g_autofree char *text = read_text(dir, "live/playlist.m3u8");
    g_test_message("playlist:\n%s", text);
    g_assert_true(g_str_has_suffix(text, "#EXT-X-ENDLIST\n"));
    g_assert_cmpuint(count_prefix(text, "#EXTINF:"), >=, 2);
    assert_target_rule(text);
    first = g_build_filename(dir, "live/seg_00000.ts", NULL);
  }
  /* The output starts on a keyframe: it decodes from its first byte. */
  assert_decodes(first);
  remove_tree(dir);
}

/* ---------------------------------------------------------------------------------------- */
/* The handler's shape: parsers -> tees, output bins attached to the running tees through leaky
 * queues. Each EXTINF must be what its segment really holds. */

/* The latest running time that went through a tee, for the test to join at a known point. */
typedef struct {
  GMutex lock;
  GCond cond;
  GstClockTime rt;
} TeeClock;

static GstPadProbeReturn note_tee_time(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  TeeClock *c = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  g_autoptr(GstEvent) event = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0);
  const GstSegment *segment;
  GstClockTime rt;
  if (event == NULL || !GST_BUFFER_PTS_IS_VALID(buf))
    return GST_PAD_PROBE_OK;
  gst_event_parse_segment(event, &segment);
  rt = gst_segment_to_running_time(segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
  g_mutex_lock(&c->lock);
  if (GST_CLOCK_TIME_IS_VALID(rt) && (!GST_CLOCK_TIME_IS_VALID(c->rt) || rt > c->rt))
    c->rt = rt;
  g_cond_broadcast(&c->cond);
  g_mutex_unlock(&c->lock);
  return GST_PAD_PROBE_OK;
}

/* A live H.264 source with a keyframe every `gop` frames and, with x264, B-frames (decode
 * times ahead of presentation times, as a publisher's usually are) but little latency. */
static char *h264_live_bframes_source(guint frames, guint gop)
{
  g_autofree char *enc = NULL;
  if (g_strcmp0(h264_factory, "x264enc") == 0)
    enc = g_strdup_printf("x264enc key-int-max=%u bframes=2 rc-lookahead=5 sync-lookahead=0 "
                          "speed-preset=ultrafast",
                          gop);
  else
    enc = g_strdup_printf("openh264enc gop-size=%u", gop);
  return g_strdup_printf("videotestsrc num-buffers=%u is-live=true pattern=ball ! "
                         "video/x-raw,width=320,height=240,framerate=30/1 ! %s ! h264parse",
                         frames, enc);
}

/* Links `tee` to `bin`'s pad `kind` through a leaky queue, as the handler does. */
static void attach_through_leaky_queue(GstElement *pipeline, GstElement *tee, GstElement *bin,
                                       const char *kind)
{
  GstElement *queue = gst_element_factory_make("queue", NULL);
  g_autoptr(GstPad) queue_src = NULL;
  g_autoptr(GstPad) queue_sink = NULL;
  g_autoptr(GstPad) bin_pad = NULL;
  g_autoptr(GstPad) tee_pad = NULL;
  g_object_set(queue, "leaky", 2, "max-size-buffers", 0, "max-size-bytes", 0, "max-size-time",
               (guint64)3 * GST_SECOND, NULL);
  gst_bin_add(GST_BIN(pipeline), queue);
  queue_src = gst_element_get_static_pad(queue, "src");
  bin_pad = gst_element_get_static_pad(bin, kind);
  g_assert_cmpint(gst_pad_link(queue_src, bin_pad), ==, GST_PAD_LINK_OK);
  g_assert_true(gst_element_sync_state_with_parent(queue));
  queue_sink = gst_element_get_static_pad(queue, "sink");
  tee_pad = gst_element_request_pad_simple(tee, "src_%u");
  g_assert_cmpint(gst_pad_link(tee_pad, queue_sink), ==, GST_PAD_LINK_OK);
}

/* The EXTINF durations (s) and program date times (µs since the epoch) of a playlist. */
static void playlist_entries(const char *text, GArray *extinfs, GArray *dates)
{
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    if (g_str_has_prefix(lines[i], "#EXTINF:")) {
      double d = g_ascii_strtod(lines[i] + strlen("#EXTINF:"), NULL);
      g_array_append_val(extinfs, d);
    } else if (g_str_has_prefix(lines[i], "#EXT-X-PROGRAM-DATE-TIME:")) {
      g_autoptr(GDateTime) t =
          g_date_time_new_from_iso8601(lines[i] + strlen("#EXT-X-PROGRAM-DATE-TIME:"), NULL);
      gint64 us;
      g_assert_nonnull(t);
      us = g_date_time_to_unix(t) * G_USEC_PER_SEC + g_date_time_get_microsecond(t);
      g_array_append_val(dates, us);
    }
  }
}

static double probe_start(JsonNode *root, const char *codec_type)
{
  JsonObject *s = codec_type ? probe_stream(root, codec_type)
                             : json_object_get_object_member(json_node_get_object(root), "format");
  g_assert_nonnull(s);
  return g_ascii_strtod(json_object_get_string_member_with_default(s, "start_time", "0"), NULL);
}

/* The segments output joins a running session as the handler attaches it: H.264 (B-frames) and
 * AAC through parsers into tees, a leaky queue per stream, the bin added while everything
 * plays, mid-GOP. Audio flows into it at once, video only from the next keyframe, so the first
 * segment holds audio from before its first keyframe. Every EXTINF must be what ffprobe finds
 * in its segment, the playlist must cover the media without gaps, and the target duration must
 * hold. The publisher then ends the stream (EOS from the sources). */
static void test_segments_joined_session(void)
{
  g_autofree char *dir = NULL, *video = NULL, *audio = NULL, *desc_text = NULL, *text = NULL;
  g_autoptr(GstStructure) options = NULL;
  g_autoptr(GError) err = NULL;
  g_autoptr(GstBus) bus = NULL;
  g_autoptr(GstPad) vt_sink = NULL;
  g_autoptr(GPtrArray) uris = NULL;
  g_autoptr(GArray) extinfs = g_array_new(FALSE, FALSE, sizeof(double));
  g_autoptr(GArray) dates = g_array_new(FALSE, FALSE, sizeof(gint64));
  GstElement *pipeline, *vt, *at, *bin;
  TeeClock clock = {.rt = GST_CLOCK_TIME_NONE};
  gboolean eos = FALSE, ended = FALSE;
  double sum = 0, first_start = 0, last_end = 0;
  gint64 deadline;

  REQUIRE_PLUGIN();
  if (skip_without(TRUE, TRUE))
    return;
  dir = make_tmp_dir();
  g_mutex_init(&clock.lock);
  g_cond_init(&clock.cond);

  /* 10 s, keyframes every 2 s, 2 s segments. */
  video = h264_live_bframes_source(300, 60);
  audio = audio_source(10.0, aac_factory, "aacparse", TRUE);
  desc_text = g_strdup_printf("%s ! tee name=vt allow-not-linked=true "
                              "%s ! tee name=at allow-not-linked=true",
                              video, audio);
  pipeline = gst_parse_launch(desc_text, &err);
  g_assert_no_error(err);
  bus = gst_element_get_bus(pipeline);
  vt = gst_bin_get_by_name(GST_BIN(pipeline), "vt");
  at = gst_bin_get_by_name(GST_BIN(pipeline), "at");
  vt_sink = gst_element_get_static_pad(vt, "sink");
  gst_pad_add_probe(vt_sink, GST_PAD_PROBE_TYPE_BUFFER, note_tee_time, &clock, NULL);
  g_assert_cmpint(gst_element_set_state(pipeline, GST_STATE_PLAYING), !=, GST_STATE_CHANGE_FAILURE);

  /* Join once video is 1 s in: half-way to the keyframe at 2 s. */
  deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
  g_mutex_lock(&clock.lock);
  while (!GST_CLOCK_TIME_IS_VALID(clock.rt) || clock.rt < GST_SECOND)
    g_assert_true(g_cond_wait_until(&clock.cond, &clock.lock, deadline));
  g_mutex_unlock(&clock.lock);

  options = options_new(H264_CAPS, AAC_CAPS);
  gst_structure_set(options, "filename_prefix", G_TYPE_STRING, "hls/demo", "playlist_name",
                    G_TYPE_STRING, "hls/index.m3u8", "segment_duration", G_TYPE_INT, 2, NULL);
  bin = make_bin("segments", options, dir);
  gst_bin_add(GST_BIN(pipeline), bin);
  g_assert_true(gst_element_sync_state_with_parent(bin));
  attach_through_leaky_queue(pipeline, vt, bin, "video");
  attach_through_leaky_queue(pipeline, at, bin, "audio");

  /* The sources end: the playlist is ended before the pipeline's EOS. */
  while (!eos) {
    GstMessage *msg = gst_bus_timed_pop_filtered(
        bus, 100 * GST_MSECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT);
    g_assert_cmpint(g_get_monotonic_time(), <, deadline);
    if (msg == NULL)
      continue;
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      gst_message_parse_error(msg, &err, NULL);
      g_assert_no_error(err);
    } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS) {
      eos = TRUE;
    } else if (gst_message_has_name(msg, "sluice-output")) {
      const GstStructure *s = gst_message_get_structure(msg);
      if (g_strcmp0(gst_structure_get_string(s, "event"), "playlist-updated") == 0)
        gst_structure_get_boolean(s, "ended", &ended);
    }
    gst_message_unref(msg);
  }
  g_assert_true(ended);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(vt);
  gst_object_unref(at);
  gst_object_unref(pipeline);
  g_mutex_clear(&clock.lock);
  g_cond_clear(&clock.cond);

  text = read_text(dir, "hls/index.m3u8");
  g_test_message("playlist:\n%s", text);
  g_assert_true(g_str_has_suffix(text, "#EXT-X-ENDLIST\n"));
  uris = playlist_uris(text);
  playlist_entries(text, extinfs, dates);
  g_assert_cmpuint(uris->len, >=, 3);
  g_assert_cmpuint(extinfs->len, ==, uris->len);
  g_assert_cmpuint(dates->len, ==, uris->len);
  assert_target_rule(text);

  for (guint i = 0; i < uris->len; i++) {
    g_autofree char *path = g_build_filename(dir, "hls", g_ptr_array_index(uris, i), NULL);
    g_autoptr(JsonNode) probe = ffprobe(path);
    double extinf = g_array_index(extinfs, double, i);
    double start = probe_start(probe, NULL), duration = probe_duration(probe);
    g_test_message("%s: EXTINF %.3f, ffprobe start %.3f duration %.3f",
                   (const char *)g_ptr_array_index(uris, i), extinf, start, duration);
    /* What the playlist says the segment lasts is what it holds. */
    assert_near(extinf, duration, 0.1);
    if (i == 0) {
      /* The shape this test is about: audio from before the first keyframe. */
      double audio_start = probe_start(probe, "audio"), video_start = probe_start(probe, "video");
      g_assert_cmpfloat(audio_start, <, video_start - 0.3);
      first_start = start;
    }
    if (i + 1 < uris->len) {
      /* Program date times advance by the EXTINFs (both written to the millisecond). */
      gint64 step = g_array_index(dates, gint64, i + 1) - g_array_index(dates, gint64, i);
      assert_near(step / 1e6, extinf, 0.0015);
    }
    sum += extinf;
    last_end = start + duration;
  }
  /* Together the segments cover the media from its first sample to its last. */
  assert_near(sum, last_end - first_start, 0.2);
  remove_tree(dir);
}

/* ---------------------------------------------------------------------------------------- */
/* Crash safety: a recording whose process is SIGKILLed plays up to the last second or two. */

static int crash_child(const char *dir)
{
  g_autoptr(GstStructure) options = NULL;
  g_autofree char *video = NULL, *audio = NULL;
  g_autoptr(GError) err = NULL;
  GstElement *pipeline, *bin;

  /* Never outlive the test that spawned us, even when it dies before it kills us. */
  alarm(120);
  gst_init(NULL, NULL);
  find_tools();
  if (!load_plugin()) {
    g_printerr("crash child: %s\n", load_error);
    return 2;
  }
  options = options_new(H264_CAPS, AAC_CAPS);
  gst_structure_set(options, "filepath", G_TYPE_STRING, "crash/rec.mp4", NULL);
  bin = vtable->make_bin("file", options, dir, &err);
  if (bin == NULL) {
    g_printerr("crash child: %s\n", err->message);
    return 2;
  }
  video = h264_source(100000, 30, TRUE);
  audio = audio_source(1000.0, aac_factory, "aacparse", TRUE);
  pipeline = build_pipeline(bin, video, audio);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  gst_element_get_state(pipeline, NULL, NULL, 10 * GST_SECOND);
  g_print("recording\n");
  fflush(stdout);
  for (;;)
    g_usleep(G_USEC_PER_SEC);
  return 0;
}

static void test_file_crash(void)
{
  g_autofree char *dir = NULL, *path = NULL, *line = NULL, *exe = NULL;
  g_autoptr(GSubprocess) child = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(JsonNode) probe = NULL;
  g_autoptr(GError) err = NULL;
  double seconds;

  REQUIRE_PLUGIN();
  if (skip_without(TRUE, TRUE))
    return;
  dir = make_tmp_dir();
  exe = g_file_read_link("/proc/self/exe", &err);
  g_assert_no_error(err);
  child = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE, &err, exe, "--crash-child", dir, NULL);
  g_assert_no_error(err);
  out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(child));
  /* The child's plugin logs go to stdout too; wait for the line that says it is recording. */
  while ((line = g_data_input_stream_read_line(out, NULL, NULL, &err)) != NULL &&
         strcmp(line, "recording") != 0)
    g_free(line);
  g_assert_no_error(err);
  g_assert_cmpstr(line, ==, "recording");

  /* Ten seconds of media in real time, then no chance to finalise anything. */
  g_usleep(10 * G_USEC_PER_SEC);
  g_subprocess_send_signal(child, SIGKILL);
  g_subprocess_wait(child, NULL, &err);
  g_assert_no_error(err);
  g_assert_true(g_subprocess_get_if_signaled(child));
  g_assert_cmpint(g_subprocess_get_term_sig(child), ==, SIGKILL);

  path = g_build_filename(dir, "crash/rec.mp4", NULL);
  probe = ffprobe(path);
  seconds = probe_duration(probe);
  g_test_message("after SIGKILL at 10 s: %s is %" G_GUINT64_FORMAT " bytes, ffprobe duration "
                 "%.3f s",
                 path, file_size(path), seconds);
  g_assert_cmpfloat(seconds, >=, 8.0);
  g_assert_cmpfloat(seconds, <=, 11.0);
  assert_stream(probe, "video", "h264", 320, 240);
  assert_stream(probe, "audio", "aac", 0, 0);
  assert_decodes(path);
  remove_tree(dir);
}

int main(int argc, char **argv)
{
  if (argc == 3 && strcmp(argv[1], "--crash-child") == 0)
    return crash_child(argv[2]);

  g_test_init(&argc, &argv, NULL);
  gst_init(NULL, NULL);
  find_tools();
  if (!load_plugin())
    g_test_message("plugin not loaded: %s", load_error);

  g_test_add_func("/output-file/plugin/descriptor", test_descriptor);
  g_test_add_func("/output-file/file/mp4", test_file_mp4);
  g_test_add_func("/output-file/file/mp4-audio-only", test_file_mp4_audio_only);
  g_test_add_func("/output-file/file/ogg-opus", test_file_ogg_opus);
  g_test_add_func("/output-file/file/webm-vp8-opus", test_file_webm);
  g_test_add_func("/output-file/file/refused", test_file_refused);
  g_test_add_func("/output-file/file/crash-sigkill", test_file_crash);
  g_test_add_func("/output-file/segments/hls", test_segments_hls);
  g_test_add_func("/output-file/segments/timestamp-long-gop", test_segments_timestamp_long_gop);
  g_test_add_func("/output-file/segments/refused", test_segments_refused);
  g_test_add_func("/output-file/segments/joined-session", test_segments_joined_session);
  g_test_add_data_func("/output-file/file/attached-to-live-pipeline", "file", test_attached_live);
  g_test_add_data_func("/output-file/segments/attached-to-live-pipeline", "segments",
                       test_attached_live);
  return g_test_run();
}
