/* hello — the smallest useful sluice plugin, built out of tree.
 *
 * It is an input plugin with a service-side part only: when sluice starts accepting it logs its
 * greeting `repeat` times and counts the greetings in a Prometheus counter. It shows the whole
 * contract a real plugin follows: one exported entry symbol, a const descriptor built with
 * SLUICE_PLUGIN_DESC_INIT, declared config keys that the core validates, and every service
 * reached through the SluiceHost table (no core symbols are linked).
 *
 * Build:  make            (uses nothing but `pkg-config sluice-plugin`)
 * Install: make install   (into the directory `pkg-config --variable=pluginsdir sluice-plugin`)
 * Enable in sluice's YAML:
 *   plugins:
 *     enable: [hello]
 *     hello:
 *       greeting: "hello from the plugin"
 *       repeat: 2
 */
#include <sluice/plugin.h>

static const SluiceHost *host;
static SluiceMetric *greetings;

static gboolean hello_init(const SluiceHost *h, GError **error)
{
  host = h;
  greetings = h->metric_register(h, SLUICE_METRIC_COUNTER, "sluice_hello_greetings_total",
                                 "Greetings logged by the hello example plugin", NULL);
  return TRUE;
}

/* Service process, main thread. */
static gboolean hello_start(GError **error)
{
  const char *greeting = host->config_string(host, "greeting");
  gint64 repeat = host->config_int(host, "repeat");
  for (gint64 i = 0; i < repeat; i++) {
    sluice_log(host, SLUICE_LOG_INFO, "%s (node %s)", greeting, host->node_id);
    host->metric_add(greetings, NULL, 1);
  }
  host->emit_event(host, "hello.greeted", NULL);
  return TRUE;
}

static void hello_stop_accepting(void)
{
  sluice_log(host, SLUICE_LOG_INFO, "goodbye");
}

static const SluiceInputVTable hello_input = {
    .size = sizeof(SluiceInputVTable),
    .input_type = "hello",
    .start = hello_start,
    .stop_accepting = hello_stop_accepting,
};

static const SluiceConfigKey hello_keys[] = {
    {"greeting", SLUICE_CONFIG_STRING, "hello", 0, 0, "what to say at start-up", 0},
    {"repeat", SLUICE_CONFIG_INT, "1", 1, 10, "how many times to say it (1-10)", 0},
    SLUICE_CONFIG_KEY_END,
};

static const SluicePluginDesc hello_desc =
    SLUICE_PLUGIN_DESC_INIT(.kind = SLUICE_PLUGIN_KIND_INPUT, .name = "hello", .version = "1.0.0",
                            .description = "example plugin: logs a greeting at start-up",
                            .config_keys = hello_keys, .init = hello_init, .vtable = &hello_input);

SLUICE_PLUGIN_DEFINE(hello_desc)
