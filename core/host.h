/* The host-services table (SluiceHost) each plugin receives, and plugin initialisation.
 *
 * One table per loaded plugin: the table knows which plugin it serves, so config accessors
 * resolve that plugin's declared keys (plugins.<name>.<key>, or the root for TOP_LEVEL keys) and
 * log lines carry "plugin:<name>".
 *
 * Ownership: tables are allocated by sl_host_attach() and live until the process exits (a plugin
 * may keep the pointer forever). The SlConfig and SlMetrics passed in must outlive them.
 * Main thread, except the table's own members, which document their threads in host.h.
 */
#ifndef SL_HOST_H
#define SL_HOST_H

#include "config.h"
#include "loader.h"
#include "metrics.h"
#include "session.h"

#include <sluice/host.h>

G_BEGIN_DECLS

/* Optional sink for emit_event: the service forwards events to its bus and webhooks. */
typedef void (*SlEventFunc)(const char *plugin, const char *event, const char *json_body,
                            gpointer user_data);

typedef struct {
  SlConfig *config;
  SlMetrics *metrics;
  const char *node_id;
  const char *process; /* "service" or "handler" */
  SlEventFunc on_event;
  gpointer on_event_data;
  SlSessions *sessions; /* service process only; NULL in handlers */
} SlHostEnv;

/* Build `plugin`'s table (stored in plugin->host) from `env` (copied, pointers borrowed). */
const SluiceHost *sl_host_attach(SlPlugin *plugin, const SlHostEnv *env);

/* Add every loaded plugin's declared keys to the config schema. */
gboolean sl_host_declare_keys(SlPluginSet *set, SlConfig *config, GError **error);

/* Call init() of every loaded plugin in path order; the first failure stops with a message that
 * names the plugin. */
gboolean sl_host_init_plugins(SlPluginSet *set, const SlHostEnv *env, GError **error);

/* Call shutdown() (ABI 1.1) of every initialised plugin, in reverse order. */
void sl_host_shutdown_plugins(SlPluginSet *set);

G_END_DECLS

#endif /* SL_HOST_H */
