/* output-file — the plugin entry: descriptor, config keys and the output vtable.
 *
 * Builds the "file" output (file-bin.h) and the "segments" output (segments-bin.h), both for
 * passthrough of already encoded media. The same shared object is loaded by the service (which
 * only runs init()) and by each session's handler (which also builds bins); nothing here touches
 * GStreamer before the first make_bin().
 */
#include <sluice/plugin.h>
#include <string.h>

#include "file-bin.h"
#include "output-file.h"
#include "segments-bin.h"

/* Written by init() on the main thread before any bin is built; read-only afterwards. Without
 * init() (a test that builds bins directly) the declared defaults apply. */
static OfConfig of_config = {
    .host = NULL,
    .fragment_duration_ms = OF_DEFAULT_FRAGMENT_DURATION_MS,
    .default_segment_duration = OF_DEFAULT_SEGMENT_DURATION,
};

void of_log(const OfConfig *config, SluiceLogLevel level, const char *fmt, ...)
{
  g_autofree char *msg = NULL;
  va_list ap;
  va_start(ap, fmt);
  msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  if (config != NULL && config->host != NULL && config->host->log != NULL)
    config->host->log(config->host, level, msg);
  else
    g_log("sluice-output-file",
          level <= SLUICE_LOG_WARNING ? G_LOG_LEVEL_WARNING : G_LOG_LEVEL_DEBUG, "%s", msg);
}

static gboolean of_init(const SluiceHost *host, GError **error)
{
  double fragment = host->config_double(host, "fragment_duration");
  gint64 segment = host->config_int(host, "default_segment_duration");

  /* The core validated both against the declared ranges; the clamps only guard against a host
   * that returns 0 for a key it could not read (it logs that itself). */
  of_config.host = host;
  of_config.fragment_duration_ms = fragment > 0 ? (guint)CLAMP(fragment * 1000.0 + 0.5, 100, 10000)
                                                : OF_DEFAULT_FRAGMENT_DURATION_MS;
  of_config.default_segment_duration =
      segment > 0 ? (guint)CLAMP(segment, 1, 60) : OF_DEFAULT_SEGMENT_DURATION;
  sluice_log(host, SLUICE_LOG_DEBUG, "mp4 fragments of %u ms, segments of %u s by default",
             of_config.fragment_duration_ms, of_config.default_segment_duration);
  return TRUE;
}

/* Handler process, main thread. */
static GstElement *of_make_bin(const char *output_type, const GstStructure *options,
                               const char *dir, GError **error)
{
  if (output_type == NULL || options == NULL || dir == NULL || !g_path_is_absolute(dir)) {
    g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_OPTIONS,
                "make_bin needs an output type, options and an absolute directory");
    return NULL;
  }
  if (strcmp(output_type, "file") == 0)
    return of_file_bin_new(options, dir, &of_config, error);
  if (strcmp(output_type, "segments") == 0)
    return of_segments_bin_new(options, dir, &of_config, error);
  g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_OPTIONS,
              "output-file builds \"file\" and \"segments\" outputs, not \"%s\"", output_type);
  return NULL;
}

static const char *const of_output_types[] = {"file", "segments", NULL};

static const SluiceOutputVTable of_vtable = {
    .size = sizeof(SluiceOutputVTable),
    .output_types = of_output_types,
    .make_bin = of_make_bin,
};

static const SluiceConfigKey of_keys[] = {
    {"fragment_duration", SLUICE_CONFIG_DURATION, "1s", 0.1, 10,
     "length of an MP4 fragment: at most this much of a recording is lost when its handler is "
     "killed",
     0},
    {"default_segment_duration", SLUICE_CONFIG_INT, "4", 1, 60,
     "HLS segment length in seconds when the request gives none", 0},
    SLUICE_CONFIG_KEY_END,
};

static const SluicePluginDesc of_desc =
    SLUICE_PLUGIN_DESC_INIT(.kind = SLUICE_PLUGIN_KIND_OUTPUT, .name = "output-file",
                            .version = "0.1.0",
                            .description = "MP4/WebM/Ogg files and HLS segments (passthrough)",
                            .config_keys = of_keys, .init = of_init, .vtable = &of_vtable);

SLUICE_PLUGIN_DEFINE(of_desc)
